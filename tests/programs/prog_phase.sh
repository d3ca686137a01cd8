#!/bin/sh
# A program that changes phase (prog_phase.c: medium sizes allocated and
# freed, then 8 MiB of 48-byte objects held) peaks, in the kernel's VmHWM,
# no higher preloaded than with glibc (medians of 3 runs each,
# interleaved): the thread cache's GC gives the idle sizes' objects back,
# so the second phase reuses their pages.  Without the GC the first
# phase's cached objects stay and the peak is 3-4 MiB (25-30%) higher;
# with it 1 MiB below glibc's here.
. "${srcdir:-$(dirname "$0")}/prog_common.sh"

RUNS=3
NOSOCK=$PROG_TMP/no-daemon.sock

# ph_run TAG PRELOAD: one run; its VmHWM (kB) added to TAG.values.
ph_run() {
	timeout -k 10 60 env -u MEMRECLAIM_TRACE -u LD_PRELOAD \
		MEMRECLAIM_SOCKET="$NOSOCK" ${2:+LD_PRELOAD="$2"} \
		./prog_phase >"$PROG_TMP/out" 2>"$PROG_TMP/err" || {
		prog_fail "prog_phase (${2:+preloaded}${2:-glibc}) exits $?"
		prog_show "$PROG_TMP/err"
		return 1
	}
	prog_check_preload_err "$PROG_TMP/err"
	sed -n 's/^hwm //p' "$PROG_TMP/out" >>"$PROG_TMP/$1.values"
}

: >"$PROG_TMP/glibc.values"
: >"$PROG_TMP/mr.values"
i=0
while [ "$i" -lt "$RUNS" ]; do
	ph_run glibc "" || prog_finish
	ph_run mr "$MR_LIB" || prog_finish
	i=$((i + 1))
done
med_glibc=$(sort -n "$PROG_TMP/glibc.values" | sed -n "$(((RUNS + 1) / 2))p")
med_mr=$(sort -n "$PROG_TMP/mr.values" | sed -n "$(((RUNS + 1) / 2))p")
echo "phase change: VmHWM median $med_mr kB preloaded, $med_glibc kB glibc"
[ "$med_mr" -le "$med_glibc" ] ||
	prog_fail "phase change: VmHWM $med_mr kB > glibc's $med_glibc kB:" \
		"do idle size classes stay in the thread cache?"
prog_finish
