#!/usr/bin/env python3
"""prom_query.py: ask a Prometheus server's HTTP API (loopback only).

  prom_query.py URL query EXPR    print each sample as: {labels} value
  prom_query.py URL ready         exit 0 when /-/ready answers 200
  prom_query.py URL valid EXPR    exit 0 when the server parses EXPR
  prom_query.py URL rules         print: name health, per rule
  prom_query.py URL alerts        print: alertname {labels} state

Standard library only (urllib); every call is bounded by a 5 s timeout.
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def get(url, path, params=None):
    q = "?" + urllib.parse.urlencode(params) if params else ""
    with urllib.request.urlopen(url + path + q, timeout=5) as r:
        return r.status, r.read()


def api(url, path, params=None):
    try:
        _, body = get(url, path, params)
    except urllib.error.HTTPError as e:
        body = e.read()
    return json.loads(body)


def main():
    url, cmd = sys.argv[1], sys.argv[2]
    if cmd == "ready":
        try:
            return 0 if get(url, "/-/ready")[0] == 200 else 1
        except (OSError, urllib.error.URLError):
            return 1
    if cmd in ("query", "valid"):
        r = api(url, "/api/v1/query", {"query": sys.argv[3]})
        if r.get("status") != "success":
            print(r.get("error", r), file=sys.stderr)
            return 1
        if cmd == "query":
            for s in r["data"]["result"]:
                labels = ",".join('%s="%s"' % kv
                                  for kv in sorted(s["metric"].items()))
                print("{%s} %s" % (labels, s["value"][1]))
        return 0
    if cmd == "rules":
        r = api(url, "/api/v1/rules")
        for g in r["data"]["groups"]:
            for rule in g["rules"]:
                print(rule["name"], rule["health"])
        return 0
    if cmd == "alerts":
        r = api(url, "/api/v1/alerts")
        for a in r["data"]["alerts"]:
            labels = ",".join('%s="%s"' % kv
                              for kv in sorted(a["labels"].items()))
            print(a["labels"]["alertname"], "{%s}" % labels, a["state"])
        return 0
    print("unknown command", cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
