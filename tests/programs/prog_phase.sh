#!/bin/sh
# A program that changes phase (prog_phase.c: medium sizes allocated and
# freed, then 8 MiB of 48-byte objects held): its peak, the kernel's
# VmHWM, is at most 4 MiB above that of the second phase run alone
# (medians of 3 runs each, interleaved).  The thread cache's GC gives the
# idle sizes' objects back, so the second phase reuses their pages: +2.8
# MiB here, +6.6 MiB without the GC.  The scavenger is off: whether it
# has released the first phase's free pages before the second phase
# faults its own in is a race (2 MiB either way), not what is tested.
. "${srcdir:-$(dirname "$0")}/prog_common.sh"

RUNS=3
LIMIT_KB=4096
NOSOCK=$PROG_TMP/no-daemon.sock

# ph_run TAG [ARG]: one preloaded run; its VmHWM (kB) added to TAG.values.
ph_run() {
	timeout -k 10 60 env -u MEMRECLAIM_TRACE -u LD_PRELOAD \
		MEMRECLAIM_SOCKET="$NOSOCK" MEMRECLAIM_SCAVENGER=0 \
		LD_PRELOAD="$MR_LIB" ./prog_phase ${2:-} >"$PROG_TMP/out" \
		2>"$PROG_TMP/err" || {
		prog_fail "prog_phase ${2:-} exits $?"
		prog_show "$PROG_TMP/err"
		return 1
	}
	prog_check_preload_err "$PROG_TMP/err"
	sed -n 's/^hwm //p' "$PROG_TMP/out" >>"$PROG_TMP/$1.values"
}

: >"$PROG_TMP/both.values"
: >"$PROG_TMP/second.values"
i=0
while [ "$i" -lt "$RUNS" ]; do
	ph_run both || prog_finish
	ph_run second second || prog_finish
	i=$((i + 1))
done
med_both=$(sort -n "$PROG_TMP/both.values" | sed -n "$(((RUNS + 1) / 2))p")
med_second=$(sort -n "$PROG_TMP/second.values" |
	sed -n "$(((RUNS + 1) / 2))p")
echo "phase change: VmHWM median $med_both kB, second phase alone" \
	"$med_second kB (+$((med_both - med_second)) kB; limit +$LIMIT_KB kB)"
[ "$med_both" -le $((med_second + LIMIT_KB)) ] ||
	prog_fail "phase change: VmHWM $med_both kB > the second phase's" \
		"$med_second kB + $LIMIT_KB kB: do idle size classes stay in" \
		"the thread cache?"
prog_finish
