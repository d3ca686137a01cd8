#!/bin/bash
# memreclaimd driven by events, not its tick: with the tick at 10 s, a v1
# memory cgroup whose working set crosses the headroom line must get a
# TRIM within 20 ms (median of several crossings).  A protocol client holds
# idle memory in a child of our memory cgroup with a limit; a hog in the
# same cgroup touches memory step by step and stamps (CLOCK_MONOTONIC) the
# moment the working set (usage - total_inactive_file) reaches the line;
# the client stamps when it reads the TRIM.  The daemon logs its own
# event -> TRIM figure, printed beside.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"

MIB=$((1 << 20))
LIMIT=$((512 * MIB))
HEADROOM=$((64 * MIB))
LINE=$((LIMIT - HEADROOM))
ROUNDS=7
BOUND_US=20000

[ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] ||
	skip "no v1 memory controller: usage thresholds are v1 (v2 uses memory.events)"
make_cgroup "mrd-events-$$" $LIMIT
[ -f "$CG_MEM/cgroup.event_control" ] || skip "no cgroup.event_control"

start_daemon "tick_ms = 10000
metrics =
cooldown_ms = 100
headroom_min = 64MiB
headroom_percent = 10
min_trim = 256KiB
trim_deadline_ms = 2000"

in_cgroup "$FAKE" -s "$SOCK" -m $((256 * MIB)) -e "$T/client.ev" -i 100 -d 100
CLIENT=$!
PIDS="$PIDS $CLIENT"
wait_for 10 grep -q REGISTERED "$T/client.ev" || fail "client did not start"
wait_for 10 grep -q "cgroup $CG_PATH: usage thresholds at" "$T/daemon.log" ||
	fail "no usage thresholds armed on $CG_PATH"
grep -q '^TRIM' "$T/client.ev" && fail "TRIM before any crossing"

ws() {
	local u c
	u=$(cat "$CG_MEM/memory.usage_in_bytes")
	c=$(awk '$1 == "total_inactive_file" { print $2 }' "$CG_MEM/memory.stat")
	echo $((u - c))
}

lat=()
for r in $(seq 1 $ROUNDS); do
	: > "$T/hog.ev"
	ntrim=$(grep -c '^TRIM' "$T/client.ev")
	w=$(ws)
	[ "$w" -lt $((LINE - 8 * MIB)) ] ||
		fail "round $r: working set $w already near the line $LINE"
	# a hog that goes 24 MiB past the line, holds 1 s, exits
	in_cgroup "$FAKE" -s - -m $((LINE - w + 24 * MIB)) -u "$CG_MEM" \
		-c $LINE -e "$T/hog.ev" -d 1
	HOG=$!
	PIDS="$PIDS $HOG"
	wait_for 5 grep -q CROSSED "$T/hog.ev" ||
		fail "round $r: hog did not cross: $(cat "$T/hog.ev")"
	wait_for 5 sh -c "[ \$(grep -c '^TRIM' '$T/client.ev') -gt $ntrim ]" ||
		fail "round $r: no TRIM within 5 s of crossing (tick is 10 s)"
	set -- $(grep CROSSED "$T/hog.ev")
	crossed=$2
	set -- $(grep '^TRIM' "$T/client.ev" | sed -n "$((ntrim + 1))p")
	got=$8
	[ -n "$got" ] || fail "round $r: TRIM line without a time: $*"
	us=$(( (got - crossed) / 1000 ))
	echo "round $r: crossed at ws=$(grep CROSSED "$T/hog.ev" | cut -d' ' -f3)," \
	    "TRIM $3 bytes $4 after $us us"
	lat+=("$us")
	wait "$HOG" 2>/dev/null
	# below the line again, past the cooldown and the client's next STATS
	wait_for 5 sh -c "[ \$(cat '$CG_MEM/memory.usage_in_bytes') -lt $((LINE - 16 * MIB)) ]" ||
		fail "round $r: usage did not fall after the hog"
	sleep 0.4
done

sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(( (ROUNDS + 1) / 2 ))p")
echo "crossing -> TRIM received (us): $(echo $sorted)"
echo "daemon, event -> TRIM sent (us):" $(grep -o 'event -> TRIM sent in [0-9]* us' "$T/daemon.log" | awk '{ print $(NF-1) }')
grep -e 'event' -e 'TRIM' "$T/daemon.log" | tail -n 12
[ "$median" -lt $BOUND_US ] ||
	fail "median crossing -> TRIM $median us, over $BOUND_US us: $(echo $sorted)"
echo "PASS: median headroom crossed -> TRIM received $median us" \
    "(tick 10 s, $ROUNDS crossings)"
exit 0
