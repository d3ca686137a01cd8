#!/bin/bash
# systemd's memory pressure protocol, served by the library with no daemon
# (lib/client/sdpressure.c): a service started the way systemd 254+
# starts one with MemoryPressureWatch= on, i.e. with
#   MEMORY_PRESSURE_WATCH=<its cgroup's memory.pressure>
#   MEMORY_PRESSURE_WRITE=<base64 of "some 100000 2000000\0">
# set here by hand, gives its idle memory back when the kernel reports a
# stall in its cgroup, and does not without them.
#
# The service is e2e_holder preloaded with libmemreclaim: 192 MiB
# allocated, 128 MiB kept, the rest left idle in its heap (the release
# delay and goal are set so that its own scavenger keeps it; no daemon).
# Real pressure: a writer in the same cgroup fills the page cache with
# dirty pages past the cgroup's limit (hybrid here: the v1 memory
# controller holds the limit, the v2 cgroup of the same name gives PSI;
# reclaim waiting on writeback is a memory stall, about 150-300 ms per
# 384 MiB written here).  With the variables the holder's RSS (VmRSS from
# /proc/PID/status) must fall by at least 48 MiB and the library must
# count the event and the bytes (mr_stats_get); without them, under the
# same stall, RSS must stay within 8 MiB and nothing be counted.
# The trigger's window is 2 s: without CAP_SYS_RESOURCE (root here lacks
# it) the kernel refuses shorter ones.
#
# Exits 77 when not root, without the cgroup files, or when the writer
# causes no stall the trigger would see (said so); removes its cgroups,
# processes and files on every exit; about 20 s (at most about 60).
set -u

top_builddir=${top_builddir:-../..}
B=$(cd "$top_builddir" && pwd)
LIB=$B/lib/.libs/libmemreclaim.so
HOLDER=$B/tests/system/e2e_holder
LIMIT_MIB=320
ALLOC_MIB=192
KEEP_MIB=128
WRITE_MIB=384
TRIGGER='some 100000 2000000'
THRESHOLD_US=100000

log() { echo "sdpressure: $*"; }
# shellcheck source=tests/system/hybrid_lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/system/hybrid_lib.sh"
require_hybrid "$LIB" "$HOLDER"

# The page cache must be on a disk: tmpfs pages are not written back.
TMP=$(mktemp -d /var/tmp/sdpressure.XXXXXX)
CG=memreclaim-sdp.$$
MEMCG=$MEMROOT/$CG
UNICG=$UNIROOT/$CG
HPID=''

# shellcheck source=../../contrib/cleanup-lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/contrib/cleanup-lib.sh"
cleanup() {
	trap - EXIT INT TERM
	stop_pids "$HPID"
	remove_cgroups "$MEMCG" "$UNICG"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

diagnose() {
	log "--- diagnostics"
	[ -f "$TMP/holder.status" ] && log "holder: $(cat "$TMP/holder.status")"
	[ -f "$UNICG/memory.pressure" ] && log "psi: $(tr '\n' ' ' < "$UNICG/memory.pressure")"
	[ -f "$TMP/holder.err" ] && sed 's/^/holder stderr: /' "$TMP/holder.err"
}

field() {
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$TMP/holder.status" 2>/dev/null
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status 2>/dev/null; }
psi_total() { sed -n 's/^some .*total=\([0-9]*\)/\1/p' "$UNICG/memory.pressure"; }
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}
holder_ready() { [ "$(field idle)" -ge $((48 << 20)) ] 2>/dev/null; }
got_event() { [ "$(field psi_events)" -ge 1 ] 2>/dev/null; }

mkdir "$MEMCG" "$UNICG" || fail "cannot create cgroup $CG"
echo $((LIMIT_MIB << 20)) > "$MEMCG/memory.limit_in_bytes" ||
	fail "cannot set memory.limit_in_bytes"

# run_holder WITH_VARS: start the holder in the cgroup, wait until its
# idle memory is there; sets HPID and RSS0 (KiB).
run_holder() {
	local -a env=(LD_PRELOAD="$LIB" MEMRECLAIM_DAEMON=0
		MEMRECLAIM_LIMIT=1TiB MEMRECLAIM_RELEASE_DELAY_MS=3600000
		MEMRECLAIM_GOAL_PERCENT=100000 MEMRECLAIM_LAZY_FREE=0
		MEMRECLAIM_TRACE=1)
	if [ "$1" = 1 ]; then
		env+=(MEMORY_PRESSURE_WATCH="$UNICG/memory.pressure"
			MEMORY_PRESSURE_WRITE="$(printf '%s\0' "$TRIGGER" | base64)")
	fi
	rm -f "$TMP/holder.status"
	sh -c 'echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" && shift 2 && exec "$@"' \
		sh "$MEMCG" "$UNICG" env -u MEMORY_PRESSURE_WATCH \
		-u MEMORY_PRESSURE_WRITE "${env[@]}" \
		"$HOLDER" -o "$TMP/holder.status" -a $ALLOC_MIB -k $KEEP_MIB \
		-t 60 2>"$TMP/holder.err" &
	HPID=$!
	wait_for 20 holder_ready || fail "the holder did not start (idle $(field idle))"
	if [ "$1" = 1 ]; then
		wait_for 5 test "$(field psi_watching)" = 1 ||
			fail "the library is not watching $UNICG/memory.pressure"
	fi
	sleep 0.5
	RSS0=$(rss_kib $HPID)
}

# write_pressure: dirty page cache past the limit, from inside the cgroup.
write_pressure() {
	sh -c 'echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" && exec dd if=/dev/zero of="$3/fill" bs=1M count="$4" status=none' \
		sh "$MEMCG" "$UNICG" "$TMP" $WRITE_MIB || fail "the writer failed"
	rm -f "$TMP/fill"
}

# --- with the variables
run_holder 1
[ "$(field psi_events)" = 0 ] || fail "an event before any pressure"
t0=$(psi_total)
# unprivileged triggers are checked every 2 s: allow a few windows after
# each round of writing, and up to three rounds
for round in 1 2 3; do
	write_pressure
	wait_for 6 got_event && break
done
t1=$(psi_total)
stall_ms=$(((t1 - t0) / 1000))
rss1=$(rss_kib $HPID)
[ -n "$rss1" ] || fail "the holder died"
log "with MEMORY_PRESSURE_*: stall ${stall_ms} ms, RSS $((RSS0 >> 10)) -> $((rss1 >> 10)) MiB," \
	"events $(field psi_events), released $(($(field psi_released) >> 20)) MiB"
if ! got_event; then
	[ $((t1 - t0)) -ge $THRESHOLD_US ] ||
		skip "the writer caused a stall of ${stall_ms} ms, under the trigger's $((THRESHOLD_US / 1000)) ms: no event to expect"
	fail "a ${stall_ms} ms stall in 2 s windows (trigger '$TRIGGER') but no event"
fi
[ "$(field psi_released)" -ge $((48 << 20)) ] ||
	fail "the library released $(field psi_released) bytes for the event, want >= 48 MiB"
[ $((RSS0 - rss1)) -ge $((48 << 10)) ] ||
	fail "RSS fell by $(((RSS0 - rss1) >> 10)) MiB after the event, want >= 48 MiB"
grep -q "memory pressure event #1: released" "$TMP/holder.err" ||
	fail "no trace line for the event"
stop_pids "$HPID"
HPID=''

# --- without them: the same stall, nothing released
run_holder 0
t0=$(psi_total)
# at least twice the trigger's threshold of stall, in up to three rounds,
# then the time the trigger would have taken to fire
for round in 1 2 3; do
	write_pressure
	[ $(($(psi_total) - t0)) -ge $((2 * THRESHOLD_US)) ] && break
done
sleep 5
t1=$(psi_total)
stall_ms=$(((t1 - t0) / 1000))
rss1=$(rss_kib $HPID)
[ -n "$rss1" ] || fail "the holder died"
log "without: stall ${stall_ms} ms, RSS $((RSS0 >> 10)) -> $((rss1 >> 10)) MiB," \
	"events $(field psi_events)"
[ $((t1 - t0)) -ge $THRESHOLD_US ] ||
	skip "the control run's stall was ${stall_ms} ms, under the trigger's: it shows nothing"
[ "$(field psi_watching)" = 0 ] && [ "$(field psi_events)" = 0 ] ||
	fail "the library watched or counted events without the variables"
[ $((RSS0 - rss1)) -lt $((8 << 10)) ] ||
	fail "RSS fell by $(((RSS0 - rss1) >> 10)) MiB without the variables"
log "PASS"
exit 0
