"""Threaded Python workload for prog_python.sh.

Builds dicts, lists, strings and JSON in a thread pool and hands results
across threads, with deterministic output: every task depends only on its
index, and results are printed in submission order.  Large strings and
growing bytearrays exercise large objects and realloc.
"""
import collections
import hashlib
import json
import queue
import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor


def task(i):
    rnd = random.Random(i)
    doc = {
        "id": i,
        "rows": [
            {
                "k": "key%d" % rnd.randrange(10000),
                "v": [rnd.random() for _ in range(rnd.randint(1, 40))],
                "s": "".join(rnd.choice("abcdefgh") for _ in range(rnd.randint(0, 200))),
            }
            for _ in range(200)
        ],
    }
    text = json.dumps(doc, sort_keys=True)
    back = json.loads(text)
    assert back == doc
    words = collections.Counter(re.findall(r"[a-h]{3}", text))
    buf = bytearray()
    for k in range(0, len(text), 97):
        buf += text[k:k + 97].encode()
    big = ("%d-" % i) * (20000 + 300 * i)
    rows = sorted(back["rows"], key=lambda r: (len(r["v"]), r["k"], r["s"]))
    h = hashlib.sha256()
    h.update(bytes(buf))
    h.update(big.encode())
    h.update(repr(rows[:5]).encode())
    return i, len(text), words.most_common(3), h.hexdigest()[:32]


def pipeline():
    """Producer/consumer threads: objects built here, freed there."""
    q = queue.Queue(maxsize=64)
    out = []

    def produce(p):
        for n in range(3000):
            q.put({"p": p, "n": n, "payload": "x" * ((n * 37) % 5000),
                   "list": list(range(n % 300))})
        q.put(None)

    def consume():
        done = 0
        total = 0
        while done < 4:
            item = q.get()
            if item is None:
                done += 1
                continue
            total += len(item["payload"]) + sum(item["list"])
        out.append(total)

    producers = [threading.Thread(target=produce, args=(p,)) for p in range(4)]
    consumer = threading.Thread(target=consume)
    consumer.start()
    for t in producers:
        t.start()
    for t in producers:
        t.join()
    consumer.join()
    return out[0]


def main():
    with ThreadPoolExecutor(max_workers=8) as ex:
        for result in ex.map(task, range(160)):
            print(*result)
    print("pipeline", pipeline())


if __name__ == "__main__":
    main()
