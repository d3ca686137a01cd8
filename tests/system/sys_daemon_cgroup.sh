#!/bin/bash
# memreclaimd on the real kernel: a client holding idle memory in a child
# cgroup with a memory limit (v1 memory controller + v2 PSI twin on these
# hybrid machines).  A hog in the same cgroup pushes the working set into
# the headroom and a reader churning page cache creates real memory stall.
# The daemon must see the cgroup's limit, usage and pressure, send TRIM to
# the client, and the client's RSS must fall.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"

MIB=$((1 << 20))
make_cgroup "mrd-test-$$" $((200 * MIB))

start_daemon "tick_ms = 200
metrics =
cooldown_ms = 1000
headroom_min = 64MiB
trim_deadline_ms = 2000"

in_cgroup "$FAKE" -s "$SOCK" -m $((120 * MIB)) -e "$T/client.ev" -i 200 -d 90
CLIENT=$!
PIDS="$PIDS $CLIENT"
wait_for 10 grep -q REGISTERED "$T/client.ev" || fail "client did not start"
wait_for 10 sh -c "'$CTL' -s '$SOCK' --json cgroups | grep -q '\"cgroup\":\"$CG_PATH\",.*\"limit_bytes\":[1-9]'" ||
	fail "daemon does not watch $CG_PATH: $("$CTL" -s "$SOCK" cgroups)"
cg=$("$CTL" -s "$SOCK" --json cgroups | jobjects | grep "\"cgroup\":\"$CG_PATH\"")
[ "$(echo "$cg" | jfield limit_bytes)" = $((200 * MIB)) ] ||
	fail "limit not seen: $cg"
if [ -n "$CG_PSI" ]; then
	[ "$(echo "$cg" | jfield psi)" = trigger ] ||
		fail "no PSI trigger on the cgroup: $cg"
fi
grep -q '^TRIM' "$T/client.ev" && fail "TRIM before any pressure"
before=$(rss_kib "$CLIENT")
[ "$before" -gt $((110 * 1024)) ] || fail "client RSS only $before KiB"

# pressure: 50 MiB more anon puts the working set within half the 64 MiB
# headroom of the limit (urgent: MADV_DONTNEED), and page cache churn
in_cgroup "$FAKE" -s - -m $((50 * MIB)) -d 60
PIDS="$PIDS $!"
# written with O_DIRECT so its pages are not cached (and charged) outside
# the test cgroup: the reader must bring them in, through the limit
dd if=/dev/urandom of="$T/big" bs=1M count=128 oflag=direct status=none ||
	dd if=/dev/urandom of="$T/big" bs=1M count=128 status=none
in_cgroup sh -c "while :; do cat '$T/big' > /dev/null; done"
PIDS="$PIDS $!"

wait_for 30 grep -q '^TRIM' "$T/client.ev" ||
	fail "no TRIM within 30 s: $("$CTL" -s "$SOCK" cgroups)"
# the client released what it was asked, and its RSS fell
line=$(grep -m1 '^TRIM' "$T/client.ev")
set -- $line
asked=$3 urgency=$4 released=$7
[ "$released" -gt 0 ] || fail "nothing released: $line"
wait_for 10 sh -c "[ \$(awk '/^VmRSS:/ { print \$2 }' /proc/$CLIENT/status) -lt $((before - released / 1024 + 4096)) ]" ||
	fail "client RSS did not fall: $before KiB -> $(rss_kib "$CLIENT") KiB after releasing $released bytes ($urgency)"
after=$(rss_kib "$CLIENT")

# the daemon saw real pressure and usage in that cgroup
cg=$("$CTL" -s "$SOCK" --json cgroups | jobjects | grep "\"cgroup\":\"$CG_PATH\"")
usage=$(echo "$cg" | jfield usage_bytes)
[ "$usage" -gt $((100 * MIB)) ] || fail "usage not seen: $cg"
if [ -n "$CG_PSI" ]; then
	wait_for 20 sh -c "'$CTL' -s '$SOCK' --json cgroups | grep -q '\"some_total_us\":[1-9]'" ||
		fail "no memory stall seen in the cgroup: $cg"
	stall=$("$CTL" -s "$SOCK" --json cgroups | jobjects | grep "\"cgroup\":\"$CG_PATH\"" | jfield some_total_us)
fi
cl=$("$CTL" -s "$SOCK" --json clients | jobjects | grep "\"pid\":$CLIENT")
[ "$(echo "$cl" | jfield trims)" -ge 1 ] || fail "ctl clients: $cl"
grep -q "TRIM_DONE pid $CLIENT" "$T/daemon.log" || fail "TRIM_DONE not logged"
echo "PASS: TRIM $asked bytes ($urgency), released $released, client RSS" \
    "$before KiB -> $after KiB, cgroup usage $usage, stall ${stall:-n/a} us"
exit 0
