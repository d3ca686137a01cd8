#!/bin/bash
# memreclaimd asks the most expendable client first: two clients with the
# same idle memory in one limited cgroup, oom_score_adj 0 and 500.  When
# the second one pushes the working set past the headroom, the TRIM goes
# to the one with oom_score_adj 500, and the other is left alone because
# that one trim covered the excess.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"

MIB=$((1 << 20))
free_port
make_cgroup "mrd-order-$$" $((200 * MIB))
start_daemon "tick_ms = 200
metrics = 127.0.0.1:$PORT
cooldown_ms = 1000
headroom_min = 64MiB
soft_limits = no"

# B first, alone: well under the limit minus headroom (136 MiB)
in_cgroup "$FAKE" -s "$SOCK" -a 0 -m $((80 * MIB)) -e "$T/b.ev" -i 200 -d 60
B=$!
PIDS="$PIDS $B"
touch "$T/a.ev"
# registered, its idle memory reported, and the cgroup's usage sampled
# with B's 80 MiB in it: then a few rounds of decisions
b_known() {
	"$CTL" -s "$SOCK" --json clients | jobjects | grep "\"pid\":$B," |
		grep -q '"idle_bytes":[1-9]' &&
	[ "$("$CTL" -s "$SOCK" --json cgroups | jobjects |
		grep "\"cgroup\":\"$CG_PATH\"" | jfield usage_bytes)" -ge $((80 * MIB)) ]
}
wait_for 10 b_known || fail "client B not registered, or its memory not seen"
wait_rounds 3 || fail "the daemon ran no rounds"
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
# past the cooldown (1 s: 5 rounds of 200 ms) and a few rounds more
wait_rounds 10 || fail "the daemon stopped its rounds"
grep -q '^TRIM' "$T/b.ev" && fail "B was asked too: $(cat "$T/b.ev")"
echo "PASS: $first (oom_score_adj 500); pid $B (0) not asked"
exit 0
