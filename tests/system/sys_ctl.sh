#!/bin/bash
# memreclaimctl against a real memreclaimd and a real program preloaded
# with libmemreclaim (e2e_holder: plain malloc/free, 56 MiB of it freed
# and kept idle), plus a protocol-speaking client whose command name
# carries a terminal escape sequence:
#  - `clients`: columns sized to the data (every row's columns start where
#    the heading's do), the command column, escapes never printed raw;
#  - `top` without a terminal: -n frames of plain text (on one, script(1),
#    each frame clears the screen); --json one object
#    a frame, sorted by idle (or by RSS with --sort rss);
#  - `trim --wait`: the bytes the holder released, matched against the
#    kernel's VmRSS drop; a second one releases nothing and exits 1;
#  - `reload` of a bad file prints each file:line error and exits 1;
#  - `config CGROUP` names the section that applies, or the defaults.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"
command -v python3 >/dev/null || skip "python3 missing (parses --json)"

start_daemon "metrics =
tick_ms = 200
[cgroup /mrd-ctl-test/*]
headroom_percent = 17"

start_holder 64 8 60
esc=$(printf 'fc\033[2J')
cp "$FAKE" "$T/$esc"
"$T/$esc" -s "$SOCK" -i 200 -d 60 &
PIDS="$PIDS $!"

py() { python3 -c "$@"; }
holder_idle() {
	"$CTL" -s "$SOCK" --json clients | py '
import json, sys
for c in json.load(sys.stdin):
    if c["pid"] == '"$HPID"' and c["idle_bytes"] >= 32 << 20:
        sys.exit(0)
sys.exit(1)'
}
two_clients() {
	[ "$("$CTL" -s "$SOCK" --json clients | py 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ]
}
wait_for 20 two_clients || fail "two clients did not register"
wait_for 20 holder_idle ||
	fail "holder has no idle memory: $("$CTL" -s "$SOCK" clients)"

# clients: a table whose columns line up, the command shown and safe
"$CTL" -s "$SOCK" clients >"$T/clients.out" || fail "clients"
grep -q "$(printf '\033')" "$T/clients.out" && fail "clients printed ESC"
grep -q "e2e_holder" "$T/clients.out" || fail "no command: $(cat "$T/clients.out")"
grep -qF 'fc_[2J' "$T/clients.out" ||
	fail "escape command not shown made safe: $(cat "$T/clients.out")"
py '
import sys
lines = open(sys.argv[1]).read().splitlines()
head = lines[0]
# right-aligned columns end where their heading ends; CGROUP, the last,
# starts where its heading starts
for name in ("RSS", "IDLE", "LAZYFREE", "TRIMS"):
    end = head.index(name) + len(name)
    for l in lines[1:]:
        assert l[end - 1] != " " and (end == len(l) or l[end] == " "), (name, l)
start = head.index("CGROUP")
for l in lines[1:]:
    assert l[start - 2:start] == "  " and l[start] == "/", l
' "$T/clients.out" || fail "columns out of line: $(cat "$T/clients.out")"

# top, no terminal: plain frames
"$CTL" -s "$SOCK" top -n 2 -d 0.3 >"$T/top.out" || fail "top"
[ "$(grep -c '^memreclaimd ' "$T/top.out")" = 2 ] ||
	fail "top printed $(grep -c '^memreclaimd ' "$T/top.out") frames, not 2"
grep -q "$(printf '\033')" "$T/top.out" && fail "top printed ESC without a tty"
grep -q "^ *$HPID  e2e_holder " "$T/top.out" ||
	fail "holder not in top: $(cat "$T/top.out")"
# on a terminal (script(1) gives it one) each frame clears the screen
if command -v script >/dev/null; then
	script -qec "'$CTL' -s '$SOCK' top -n 2 -d 0.2" /dev/null >"$T/tty.out" ||
		fail "top on a tty"
	[ "$(grep -o "$(printf '\033\\[H\033\\[2J')" "$T/tty.out" | wc -l)" = 2 ] ||
		fail "top on a tty did not redraw twice: $(od -c "$T/tty.out" | head)"
fi
for key in idle rss; do
	"$CTL" -s "$SOCK" --json top -n 1 --sort $key >"$T/top.json" ||
		fail "top --json"
	py '
import json, sys
f = json.loads(open(sys.argv[1]).read())
cl = f["clients"]
assert len(cl) == 2, cl
k = sys.argv[2] + "_bytes"
assert [c[k] for c in cl] == sorted((c[k] for c in cl), reverse=True), cl
h = [c for c in cl if c["pid"] == int(sys.argv[3])][0]
assert h["comm"] == "e2e_holder" and h["idle_bytes"] >= 32 << 20, h
for key in ("in_use_bytes", "lazy_freed_bytes", "released_bytes",
            "trims", "cgroup", "some_avg10", "full_avg10"):
    assert key in h, key
' "$T/top.json" $key "$HPID" || fail "top --json --sort $key: $(cat "$T/top.json")"
done

# trim --wait: what was released, against the kernel's RSS
rss0=$(rss_kib "$HPID")
"$CTL" -s "$SOCK" --json trim --wait --urgent "$HPID" 48MiB >"$T/trim.json" ||
	fail "trim --wait exited $?: $(cat "$T/trim.json")"
rss1=$(rss_kib "$HPID")
rel=$(py 'import json,sys; r=json.load(open(sys.argv[1])); print(r["released_bytes"])' "$T/trim.json")
drop=$(( (rss0 - rss1) << 10 ))
echo "trim --wait: released $rel bytes; VmRSS fell by $drop bytes"
[ "$rel" -ge $((32 << 20)) ] || fail "released only $rel bytes"
[ "$drop" -ge $((rel / 2)) ] ||
	fail "VmRSS fell by $drop bytes, far below the $rel reported"
# what is left idle, then nothing: exit 1
"$CTL" -s "$SOCK" trim --wait -u "$HPID" 1GiB >/dev/null 2>&1
"$CTL" -s "$SOCK" trim --wait -u "$HPID" 1GiB >"$T/trim2.out" 2>&1 &&
	fail "a trim releasing nothing exited 0: $(cat "$T/trim2.out")"
grep -q "released 0B" "$T/trim2.out" || fail "trim2: $(cat "$T/trim2.out")"
# without --wait: sent, no answer awaited
"$CTL" -s "$SOCK" trim "$HPID" 1MiB | grep -q "^asked 1 client$" ||
	fail "plain trim"

# config CGROUP
"$CTL" -s "$SOCK" config /mrd-ctl-test/a >"$T/config.out" || fail "config"
grep -q "section \[cgroup /mrd-ctl-test/\*\] at $T/mrd.conf:5" "$T/config.out" ||
	fail "config: $(cat "$T/config.out")"
grep -qx "headroom_percent = 17" "$T/config.out" || fail "config: no 17"
"$CTL" -s "$SOCK" --json config /elsewhere >"$T/config.json" || fail "config"
py '
import json, sys
r = json.load(open(sys.argv[1]))
assert any("no [cgroup] section matches" in l for l in r["lines"]), r
assert "headroom_percent = 10" in r["lines"], r
' "$T/config.json" || fail "config --json: $(cat "$T/config.json")"

# reload: the errors, with their lines
printf '[memreclaimd]\ntick_ms = 1\nbogus = 2\n' >>"$T/mrd.conf"
"$CTL" -s "$SOCK" reload >"$T/reload.out" 2>"$T/reload.err" &&
	fail "a bad reload exited 0"
grep -qx "$T/mrd.conf:8: bad value for tick_ms: '1'" "$T/reload.err" ||
	fail "reload errors: $(cat "$T/reload.err")"
grep -q "$T/mrd.conf:9: unknown key 'bogus'" "$T/reload.err" ||
	fail "reload errors: $(cat "$T/reload.err")"
grep -q "2 errors, old config kept" "$T/reload.out" || fail "reload: $(cat "$T/reload.out")"
"$CTL" -s "$SOCK" --json reload >"$T/reload.json" && fail "bad reload 0"
py '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] < 0 and len(r["errors"]) == 2, r
' "$T/reload.json" || fail "reload --json: $(cat "$T/reload.json")"
echo "PASS: clients aligned and safe, top frames and sorting, trim --wait" \
	"($rel bytes, VmRSS -$drop), config, reload errors"
