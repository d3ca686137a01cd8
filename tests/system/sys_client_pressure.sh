#!/bin/bash
# sys_client_pressure.sh: a trim caused by real memory pressure, with the
# real library, asserted against the kernel's own figures.
#
# A real memreclaimd and a real program (e2e_holder) preloaded with
# libmemreclaim, holding 48 MiB of free but backed heap, in a child cgroup
# with a limit far above its working set (so the daemon's limit rule never
# fires: working set + headroom stays below the limit).  A reader in the
# same cgroup then streams a file larger than the limit through the page
# cache, over and over: each read must reclaim the cgroup's own page cache
# at the limit, which the kernel counts as memory stall (PSI "some") of the
# cgroup.  Asserted:
#  - the cgroup's stall, read from its memory.pressure (v2, the unified
#    twin of the v1 memory cgroup on these hybrid hosts), rose;
#  - the daemon shed memory of this cgroup for "pressure" (its log gives
#    the reason: never "near limit" nor "near OOM" here), and its trim
#    reached the holder (the holder's trims count, the daemon's record of
#    its TRIM_DONE);
#  - the holder's Rss in /proc/PID/smaps_rollup fell by at least 3/4 of
#    what the daemon asked (the kernel's view: the library gave pages
#    back; the daemon's figure, not the library's).
# The holder's own scavenger keeps its free memory (a release delay of an
# hour, a huge goal), so what goes back was asked for by the daemon.
# Exits 77 when not root, without the cgroup files or PSI; removes its
# cgroups, processes and file on every exit; bounded (about 30 s at most).
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"

B=$(cd "${top_builddir:-../..}" && pwd)
LIB=$B/lib/.libs/libmemreclaim.so
HOLDER=$B/tests/system/e2e_holder
MIB=$((1 << 20))
LIMIT_MIB=320
ALLOC_MIB=176
KEEP_MIB=128
FILE_MIB=512

grep -q '^#define MR_SANITIZED' "$B/config.h" 2>/dev/null &&
	skip "sanitizer build: the preload library is not usable"
[ -f "$LIB" ] && [ -x "$HOLDER" ] || fail "library or e2e_holder not built"
make_cgroup "mrd-pressure-$$" $((LIMIT_MIB * MIB))
[ -n "$CG_PSI" ] && [ -r "$CG_PSI/memory.pressure" ] ||
	skip "no memory.pressure (PSI) for the test cgroup"

# The file is written around the page cache (O_DIRECT) outside the
# cgroup, so every read in the cgroup is a fresh page cache fill.
dd if=/dev/zero of="$T/big" bs=1M count=$FILE_MIB oflag=direct \
	status=none 2>/dev/null ||
	dd if=/dev/zero of="$T/big" bs=1M count=$FILE_MIB status=none ||
	skip "cannot write a $FILE_MIB MiB file in $T"

# Defaults but for a short tick: headroom 32 MiB, pressure_target 0.5%.
# No soft limits: a LIMIT computed while the holder is still growing may
# be below its heap and release the idle memory before any pressure; the
# memory released here must be the TRIM's.
start_daemon "tick_ms = 200
metrics =
cooldown_ms = 500
soft_limits = no"

in_cgroup env LD_PRELOAD="$LIB" MEMRECLAIM_SOCKET="$SOCK" \
	MEMRECLAIM_RELEASE_DELAY_MS=3600000 MEMRECLAIM_GOAL_PERCENT=100000 \
	MEMRECLAIM_STATS_INTERVAL_MS=200 \
	"$HOLDER" -o "$T/holder.status" -a $ALLOC_MIB -k $KEEP_MIB -t 60
HPID=$!
PIDS="$PIDS $HPID"

field() {
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$T/holder.status" 2>/dev/null
}
connected() { [ "$(field connected)" = 1 ]; }
some_total() {
	sed -n 's/^some .*total=\([0-9]*\)$/\1/p' "$CG_PSI/memory.pressure"
}
shed_lines() { grep "cgroup $CG_PATH: shed" "$T/daemon.log"; }

wait_for 20 connected || fail "the preloaded holder did not register"
grep -q lib=none "$T/holder.status" && fail "libmemreclaim not loaded"
# its stats (idle bytes) must have reached the daemon before the pressure
wait_for 10 sh -c "'$CTL' -s '$SOCK' --json clients |
	grep -q '\"pid\":$HPID,.*\"idle_bytes\":[1-9]'" ||
	fail "the daemon has no idle figure for the holder"

rss0=$(smaps_kib $HPID)
stall0=$(some_total)
[ "$rss0" -ge $(((ALLOC_MIB - 8) * 1024)) ] ||
	fail "holder Rss $rss0 KiB before pressure: free memory already gone"
[ "$(field trims)" = 0 ] || fail "trims before any pressure"
shed_lines && fail "the daemon shed memory before any pressure"

# The reader: page cache churn at the limit, for at most 20 s.
in_cgroup timeout -s KILL 20 sh -c "while :; do cat '$T/big' > /dev/null; done"
RPID=$!
PIDS="$PIDS $RPID"
pressure_trim() { shed_lines | grep -q '(pressure,' && [ "$(field trims)" -ge 1 ]; }
wait_for 20 pressure_trim ||
	fail "no pressure-caused trim within 20 s (stall $stall0 -> $(some_total) us, trims $(field trims))"
# the holder's Rss per the kernel (a lazy trim's pages go as the reader
# keeps reclaiming, so this may take a moment after the trim)
asked=$(first_shed "$CG_PATH")
[ "${asked:-0}" -ge $((4 * MIB)) ] || fail "the daemon asked only '$asked' bytes"
gave_back $HPID "$rss0" "$asked"
{ kill -9 $RPID && wait $RPID; } 2>/dev/null
rss1=$(smaps_kib $HPID)
stall1=$(some_total)

shed_lines | grep -v '(pressure,' &&
	fail "the daemon shed this cgroup for another reason than pressure"
[ "$stall1" -gt "$stall0" ] || fail "the cgroup's stall did not rise: $stall0 -> $stall1 us"
# the stall the daemon acted on is above its target (0.5 %); the log
# rounds it to two decimals, so a stall of 0.503 % reads 0.50 (a CI run
# failed on that); check_policy holds the rule itself (strictly above)
stall_pct=$(shed_lines | sed -n '1s/.*(pressure, stall \([0-9.]*\)%.*/\1/p')
awk -v s="$stall_pct" 'BEGIN { exit !(s >= 0.5) }' ||
	fail "the daemon acted on a stall of '$stall_pct'%, not above its target"
got=$("$CTL" -s "$SOCK" --json clients | jobjects | grep "\"pid\":$HPID," |
	jfield last_trim_released_bytes)
[ "${got:-0}" -gt 0 ] || fail "the daemon recorded no bytes released by TRIM_DONE"
kill -0 $HPID 2>/dev/null || fail "the holder died"
echo "PASS: cgroup stall $stall0 -> $stall1 us; daemon: $(shed_lines | head -n 1 | sed 's/.*: shed/shed/')"
echo "      holder trims $(field trims), TRIM_DONE released $((got >> 20)) MiB, smaps_rollup Rss $((rss0 >> 10)) -> $((rss1 >> 10)) MiB"
exit 0
