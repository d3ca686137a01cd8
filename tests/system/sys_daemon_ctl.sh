#!/bin/bash
# memreclaimctl's promises, checked against what the clients received and
# what the daemon publishes (JSON parsed with python3, never grepped):
#  - `trim /CGROUP BYTES` asks the cgroup's clients, in the daemon's order,
#    for BYTES in all, lazily (MADV_FREE); `--urgent` asks for MADV_DONTNEED;
#    `--json` gives a parseable {"status", "count", ...} for trim and reload;
#  - the per-cgroup metrics carry the values: the limit set on the cgroup,
#    the bytes asked (the sum of the TRIM frames the clients read) and the
#    bytes released (the sum they reported);
#  - a reload of a bad file is refused and counted (status config_errors);
#  - usage errors exit with status 2 (memreclaimctl and memreclaimd), an
#    unreachable daemon with 1;
#  - socket_group: a non-root user in the group (supplementary, setpriv)
#    reaches the daemon through the socket's 0660 mode, one outside it
#    does not.
# Two protocol clients (fakeclient) each hold 32 MiB idle in a cgroup
# limited to 1 GiB, far from any automatic trim.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"

MIB=$((1 << 20))
LIMIT=$((1024 * MIB))
command -v python3 >/dev/null || skip "python3 missing"
command -v setpriv >/dev/null || skip "setpriv missing"
GRP=adm
GID=$(getent group "$GRP" | cut -d: -f3)
[ -n "$GID" ] || skip "no group $GRP"

# ---- exit statuses (no daemon needed) ----
expect_rc() {
	local want=$1 rc
	shift
	"$@" >/dev/null 2>&1
	rc=$?
	[ $rc = "$want" ] || fail "'$*' exited with $rc, want $want"
}
expect_rc 2 "$CTL"
expect_rc 2 "$CTL" -s "$SOCK" frobnicate
expect_rc 2 "$CTL" -s "$SOCK" trim 1
expect_rc 2 "$CTL" -s "$SOCK" trim 1 nonsense
expect_rc 2 "$CTL" -s "$SOCK" trim notapid 1MiB
expect_rc 2 "$CTL" -s "$SOCK" status extra
expect_rc 2 "$CTL" --no-such-option status
expect_rc 1 "$CTL" -s "$T/nobody.sock" status
expect_rc 2 "$MRD" --no-such-option
expect_rc 2 "$MRD" -d extra-argument
expect_rc 0 "$CTL" --help

free_port
make_cgroup "mrd-ctl-$$" $LIMIT
start_daemon "tick_ms = 200
metrics = 127.0.0.1:$PORT
cooldown_ms = 100"

for c in a b; do
	in_cgroup "$FAKE" -s "$SOCK" -m $((32 * MIB)) -e "$T/$c.ev" -i 200 -d 60
	PIDS="$PIDS $!"
done
registered() {
	[ "$("$CTL" -s "$SOCK" --json clients | python3 -c '
import json, sys
print(sum(1 for c in json.load(sys.stdin) if c["cgroup"] == sys.argv[1]
	  and c["idle_bytes"] > 0))' "$CG_PATH")" = 2 ]
}
wait_for 10 registered || fail "the two clients did not register with idle memory"
cat "$T/a.ev" "$T/b.ev" | grep -q '^TRIM' && fail "TRIM before any operator trim"

# trim_json ARGS...: run memreclaimctl --json ARGS, check the answer is one
# JSON object with an integer status 0, print its count
trim_json() {
	"$CTL" -s "$SOCK" --json "$@" > "$T/out.json" ||
		fail "memreclaimctl $*: exit $?: $(cat "$T/out.json")"
	python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert isinstance(o, dict), o
assert o["status"] == 0, o
assert isinstance(o["count"], int), o
print(o["count"])' "$T/out.json" || fail "memreclaimctl --json $*: $(cat "$T/out.json")"
}
trims() { cat "$T/a.ev" "$T/b.ev" | grep '^TRIM'; }
ntrims() { [ "$(trims | grep -c .)" -ge "$1" ]; }

# lazy: 16 MiB from the cgroup (one client covers it)
n=$(trim_json trim "$CG_PATH" 16MiB)
[ "$n" -ge 1 ] || fail "trim $CG_PATH asked $n clients"
wait_for 5 ntrims 1 || fail "no client got the trim of $CG_PATH"
[ "$(trims | awk '{ s += $3 } END { print s }')" = $((16 * MIB)) ] ||
	fail "the clients were asked for other than 16 MiB: $(trims)"
trims | awk '$4 != "lazy" { exit 1 }' || fail "trim without --urgent was not lazy: $(trims)"

# --urgent: 40 MiB, more than either client holds idle now, so both give
k=$(trims | grep -c .)
n=$(trim_json --urgent trim "$CG_PATH" 40MiB)
[ "$n" -ge 2 ] || fail "urgent trim of 40 MiB asked $n clients"
wait_for 5 ntrims $((k + 2)) || fail "the urgent trim did not reach both clients: $(trims)"
trims | tail -n +$((k + 1)) | awk '$4 != "now" { exit 1 }' ||
	fail "--urgent trim was not MADV_DONTNEED: $(trims)"
asked=$(trims | awk '{ s += $3 } END { print s }')
released=$(trims | awk '{ s += $7 } END { print s }')

# per-cgroup metric values, parsed; TRIM_DONE is counted when it arrives
metric() {
	http_get /metrics | tr -d '\r' | python3 -c '
import sys
name, cg = sys.argv[1], sys.argv[2]
want = "%s{cgroup=\"%s\"}" % (name, cg)
for line in sys.stdin:
	if line.startswith(want + " "):
		print(int(float(line.split()[-1])))
		break' "$1" "$CG_PATH"
}
metrics_settled() {
	[ "$(metric memreclaim_cgroup_trim_released_bytes_total)" = "$released" ]
}
wait_for 5 metrics_settled ||
	fail "released metric $(metric memreclaim_cgroup_trim_released_bytes_total), clients reported $released"
[ "$(metric memreclaim_cgroup_trim_requested_bytes_total)" = "$asked" ] ||
	fail "requested metric $(metric memreclaim_cgroup_trim_requested_bytes_total), clients were asked $asked"
[ "$(metric memreclaim_cgroup_limit_bytes)" = $LIMIT ] ||
	fail "limit metric $(metric memreclaim_cgroup_limit_bytes), cgroup limit $LIMIT"
[ "$released" -ge $((40 * MIB)) ] || fail "clients released only $released bytes"

# reload: a good file, then a bad one (refused, counted, old one kept)
trim_json reload > /dev/null
printf '[memreclaimd]\nsocket = %s\ntick_ms = 0\n' "$SOCK" > "$T/mrd.conf"
"$CTL" -s "$SOCK" --json reload > "$T/bad.json"
rc=$?
python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert int(sys.argv[2]) != 0 or o["status"] != 0, o' "$T/bad.json" $rc ||
	fail "bad reload not refused: exit $rc, $(cat "$T/bad.json")"
"$CTL" -s "$SOCK" --json status | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o["config_reloads"] == 2 and o["config_errors"] == 1, o
assert o["tick_ms"] == 200, o' || fail "status after reloads: $("$CTL" -s "$SOCK" --json status)"

# socket-group access through the socket file's own permissions (default
# socket_mode 0660, group socket_group): a non-root member of the group
# (supplementary) is served, a non-member cannot even connect
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=
rm -f "$SOCK"
start_daemon "metrics =
socket_group = $GRP"
mode=$(stat -c '%a %G' "$SOCK")
[ "$mode" = "660 $GRP" ] || fail "socket is '$mode', want '660 $GRP'"
setpriv --reuid=65534 --regid=65534 --groups="$GID" \
	"$CTL" -s "$SOCK" --json status > "$T/grp.json" 2>&1 ||
	fail "a socket_group member was refused: $(cat "$T/grp.json")"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/grp.json" ||
	fail "status for the member: $(cat "$T/grp.json")"
setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$CTL" -s "$SOCK" status > "$T/nogrp.out" 2>&1 &&
	fail "a user outside socket_group was served"
grep -qi "permission denied" "$T/nogrp.out" ||
	fail "the non-member was not stopped by the socket's mode: $(cat "$T/nogrp.out")"
echo "PASS: exit statuses; trim $CG_PATH lazy and --urgent; metrics asked $asked released $released limit $LIMIT; reloads; socket_group $GRP member served, non-member refused"
exit 0
