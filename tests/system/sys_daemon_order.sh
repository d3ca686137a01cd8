#!/bin/bash
# memreclaimd asks the most expendable client first: two clients with the
# same idle memory in one limited cgroup, oom_score_adj 0 and 500.  When
# the second one pushes the working set past the headroom, the TRIM goes
# to the one with oom_score_adj 500, and the other is left alone because
# that one trim covered the excess.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"

MIB=$((1 << 20))
make_cgroup "mrd-order-$$" $((200 * MIB))
start_daemon "tick_ms = 200
metrics =
cooldown_ms = 1000
headroom_min = 64MiB
soft_limits = no"

# B first, alone: well under the limit minus headroom (136 MiB)
in_cgroup "$FAKE" -s "$SOCK" -a 0 -m $((80 * MIB)) -e "$T/b.ev" -i 200 -d 60
B=$!
PIDS="$PIDS $B"
touch "$T/a.ev"
wait_for 10 sh -c "'$CTL' -s '$SOCK' --json clients | grep -q '\"pid\":$B'" ||
	fail "client B not registered"
sleep 1
grep -q '^TRIM' "$T/b.ev" && fail "B trimmed while alone under the headroom"

# A, more expendable: together they are ~170 MiB, 34 MiB into the headroom
# A registers first and touches its memory 500 ms later, so the daemon
# knows it when the excess appears
in_cgroup "$FAKE" -s "$SOCK" -a 500 -m $((80 * MIB)) -w 500 -e "$T/a.ev" -i 200 -d 60
A=$!
PIDS="$PIDS $A"
wait_for 20 grep -q '^TRIM' "$T/a.ev" ||
	fail "A (oom_score_adj 500) got no TRIM: $("$CTL" -s "$SOCK" clients)"
first=$(grep -m1 -o 'TRIM [0-9]* bytes [a-z]* -> pid [0-9]*' "$T/daemon.log")
[ "${first##* }" = "$A" ] || fail "first TRIM went to ${first##* }, not A ($A)"
# the adj is what the daemon read from /proc, not a claim of the client
cl=$("$CTL" -s "$SOCK" --json clients | jobjects | grep "\"pid\":$A")
[ "$(echo "$cl" | jfield oom_score_adj)" = 500 ] || fail "adj: $cl"
sleep 3
grep -q '^TRIM' "$T/b.ev" && fail "B was asked too: $(cat "$T/b.ev")"
echo "PASS: $first (oom_score_adj 500); pid $B (0) not asked"
exit 0
