#!/bin/bash
# sys_client_e2e.sh: the daemon client end to end, on the real kernel.
#
# A real memreclaimd, and a real program (e2e_holder: plain malloc/free)
# preloaded with libmemreclaim, in a child cgroup with a memory limit
# (hybrid here: the v1 memory controller holds the limit, the v2 cgroup of
# the same name gives PSI).  The holder keeps most of its heap free but
# backed; a second process (pressure) then fills the cgroup.  The test
# asserts that the daemon sent TRIMs, that the library released memory
# (mr_stats and the daemon's record of TRIM_DONE), that the holder's RSS
# fell, and that nobody was OOM-killed.  Then the holder forks, and the
# child must register as itself without disturbing the parent's
# connection.  Then memreclaimd is killed and restarted, and both must
# register again by themselves.
#
# The holder's own scavenger is told to keep free memory (a release delay
# of an hour, a huge goal), so what is released here was asked for by the
# daemon (the trims here come from the limit rule; sys_client_pressure.sh
# asserts a pressure-driven one).  Exits 77 when not root or when the
# cgroup files are missing; removes its cgroups and processes on every
# exit; bounded by deadlines.
set -u

top_builddir=${top_builddir:-../..}
B=$(cd "$top_builddir" && pwd)
LIB=$B/lib/.libs/libmemreclaim.so
DAEMON=$B/daemon/memreclaimd
CTL=$B/ctl/memreclaimctl
HOLDER=$B/tests/system/e2e_holder
PRESSURE=$B/tests/system/pressure

# The holder keeps KEEP of ALLOC MiB in use; the freed rest stays idle in
# the heap (the core releases at once only idle memory above max(64 MiB,
# in use / 4), so 64 MiB idle next to 128 MiB in use stays).  The pressure
# fits in the limit only if the holder gives back at least
# ALLOC + PRESSURE - LIMIT MiB of it.
LIMIT_MIB=256
ALLOC_MIB=192
KEEP_MIB=128
PRESSURE_MIB=100

log() { echo "client-e2e: $*"; }
# shellcheck source=tests/system/hybrid_lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/system/hybrid_lib.sh"
require_hybrid "$LIB" "$DAEMON" "$HOLDER" "$PRESSURE"

TMP=$(mktemp -d /tmp/client-e2e.XXXXXX)
SOCK=$TMP/memreclaimd.sock
CG=memreclaim-e2e.$$
MEMCG=$MEMROOT/$CG
UNICG=$UNIROOT/$CG
DPID='' HPID='' PPID_=''

# shellcheck source=../../contrib/cleanup-lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/contrib/cleanup-lib.sh"
cleanup() {
	trap - EXIT INT TERM
	stop_pids "$PPID_" "$HPID" "$DPID"
	remove_cgroups "$MEMCG" "$UNICG"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

diagnose() {
	log "--- diagnostics"
	[ -f "$TMP/holder.status" ] && log "holder: $(cat "$TMP/holder.status")"
	[ -f "$UNICG/memory.pressure" ] && log "psi: $(tr '\n' ' ' < "$UNICG/memory.pressure")"
	[ -f "$MEMCG/memory.oom_control" ] && log "oom: $(tr '\n' ' ' < "$MEMCG/memory.oom_control")"
	[ -f "$TMP/daemon.log" ] && tail -n 30 "$TMP/daemon.log" | sed 's/^/memreclaimd: /'
	[ -f "$TMP/pressure.out" ] && sed 's/^/pressure: /' "$TMP/pressure.out"
}

# field NAME: one value from the holder's status line.
field() {
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$TMP/holder.status" 2>/dev/null
}
# ctl_json KEY: KEY of our client in `memreclaimctl --json clients`.
ctl_json() {
	"$CTL" -s "$SOCK" --json clients 2>/dev/null |
		sed -n "s/.*\"pid\":$HPID,[^}]*\"$1\":\([0-9]*\).*/\1/p"
}
limit_is_ctl() { [ "$(field limit)" = "$(ctl_json soft_limit_bytes)" ]; }
ctl_lists() { "$CTL" -s "$SOCK" --json clients 2>/dev/null | grep -q "\"pid\":$1,"; }
child_connected_is() {
	grep -q " connected=$1 " "$TMP/holder.status.child" 2>/dev/null
}
connected_is() { [ "$(field connected)" = "$1" ]; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status 2>/dev/null; }
oom_kills() { awk '$1 == "oom_kill" { print $2 }' "$MEMCG/memory.oom_control"; }

# wait_for SECONDS COMMAND...: poll every 100 ms until COMMAND succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

# The daemon's defaults but its own socket and no metrics port, so the
# test never meets another memreclaimd on this host.
start_daemon() {
	printf '[memreclaimd]\nsocket = %s\nmetrics =\n' "$SOCK" > "$TMP/conf"
	"$DAEMON" -d -v -t 300 -f "$TMP/conf" >>"$TMP/daemon.log" 2>&1 &
	DPID=$!
	wait_for 10 test -S "$SOCK" || fail "memreclaimd did not create $SOCK"
}

mkdir "$MEMCG" "$UNICG" || fail "cannot create cgroup $CG"
echo $((LIMIT_MIB << 20)) > "$MEMCG/memory.limit_in_bytes" ||
	fail "cannot set memory.limit_in_bytes"

start_daemon
log "memreclaimd pid $DPID on $SOCK"

# The service: into both cgroups, then exec with the library preloaded.
sh -c 'echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" && shift 2 && exec "$@"' \
	sh "$MEMCG" "$UNICG" env LD_PRELOAD="$LIB" MEMRECLAIM_SOCKET="$SOCK" \
	MEMRECLAIM_RELEASE_DELAY_MS=3600000 MEMRECLAIM_GOAL_PERCENT=100000 \
	MEMRECLAIM_STATS_INTERVAL_MS=200 \
	"$HOLDER" -o "$TMP/holder.status" -a $ALLOC_MIB -k $KEEP_MIB -t 150 &
HPID=$!
wait_for 20 connected_is 1 ||
	fail "the preloaded holder did not register with memreclaimd"
grep -q lib=none "$TMP/holder.status" && fail "libmemreclaim not loaded"

rss0=$(rss_kib $HPID)
idle0=$(field idle)
released0=$(( $(field released) + $(field lazy) ))
log "holder pid $HPID registered: RSS $((rss0 >> 10)) MiB, idle $((idle0 >> 20)) MiB"
[ "$rss0" -ge $(((ALLOC_MIB - 8) << 10)) ] ||
	fail "holder RSS ${rss0} KiB: its free memory was released before any pressure"
[ "$(field trims)" = 0 ] || fail "trims before any pressure"

# Real pressure: fill the cgroup at 20 MiB/s; the pressure process is the
# OOM killer's first choice if the daemon is too slow.
sh -c 'echo 1000 > /proc/self/oom_score_adj && echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" && shift 2 && exec "$@"' \
	sh "$MEMCG" "$UNICG" timeout -s KILL 60 "$PRESSURE" -r 10M -t 3 ${PRESSURE_MIB}M \
	> "$TMP/pressure.out" 2>&1 &
PPID_=$!
wait $PPID_
prc=$?
PPID_=
[ $prc = 0 ] || fail "pressure exited with $prc (OOM-killed: the daemon did not make room)"
grep -q holding "$TMP/pressure.out" || fail "pressure never reached ${PRESSURE_MIB} MiB"

sleep 0.5
rss1=$(rss_kib $HPID)
trims=$(field trims)
released=$(( $(field released) + $(field lazy) - released0 ))
log "after pressure: holder RSS $((rss1 >> 10)) MiB, trims $trims," \
	"released+lazy $((released >> 20)) MiB, oom kills $(oom_kills)"
[ -n "$rss1" ] || fail "the holder died"
[ "$(oom_kills)" = 0 ] || fail "the OOM killer acted"
[ "$trims" -ge 1 ] || fail "memreclaimd sent no TRIM"
# The pressure needed (ALLOC + PRESSURE - LIMIT) MiB of the holder's idle
# memory; its RSS must have fallen by at least that.
need=$((ALLOC_MIB + PRESSURE_MIB - LIMIT_MIB))
[ $(((rss0 - rss1) >> 10)) -ge $need ] ||
	fail "holder RSS fell by $(((rss0 - rss1) >> 10)) MiB, expected >= $need"
[ $((released >> 20)) -ge $need ] ||
	fail "library reports $((released >> 20)) MiB released, expected >= $need"
if [ -x "$CTL" ]; then
	"$CTL" -s "$SOCK" clients > "$TMP/clients" 2>&1 ||
		fail "memreclaimctl clients: $(cat "$TMP/clients")"
	cat "$TMP/clients"
	grep -q "^ *$HPID " "$TMP/clients" || fail "memreclaimctl does not list pid $HPID"
	# The daemon's record of our TRIM_DONE: bytes actually released.
	got=$(ctl_json last_trim_released_bytes)
	want=$(ctl_json soft_limit_bytes)
	log "memreclaimd: last TRIM_DONE released ${got:-?} bytes; LIMIT sent ${want:-?}"
	[ "${got:-0}" -gt 0 ] || fail "memreclaimd recorded no bytes released by TRIM_DONE"
	# The LIMIT the daemon sent is the soft limit the library enforces.
	if [ "${want:-0}" -gt 0 ]; then
		wait_for 5 limit_is_ctl ||
			fail "library limit $(field limit) != LIMIT sent $(ctl_json soft_limit_bytes)"
	fi
fi

# The holder forks (a prefork worker): the child drops the parent's
# connection and registers as itself; the parent stays registered.
kill -USR1 $HPID
wait_for 10 test -s "$TMP/holder.status.child" || fail "the holder did not fork"
CPID=$(sed -n 's/^pid=\([0-9]*\).*/\1/p' "$TMP/holder.status.child")
[ -n "$CPID" ] && [ "$CPID" != "$HPID" ] || fail "bad child status"
wait_for 10 child_connected_is 1 ||
	fail "the forked child (pid $CPID) did not register as itself"
if [ -x "$CTL" ]; then
	wait_for 5 ctl_lists $CPID || fail "memreclaimctl does not list the child $CPID"
	ctl_lists $HPID || fail "the parent lost its registration when it forked"
fi
connected_is 1 || fail "the parent's connection dropped at fork"
log "holder forked: child $CPID registered as itself, parent still registered"

# The daemon dies and comes back: the client rejoins by itself.
kill -KILL $DPID
wait $DPID 2>/dev/null
DPID=
wait_for 10 connected_is 0 ||
	fail "the client did not notice memreclaimd's death"
wait_for 10 child_connected_is 0 ||
	fail "the forked child did not notice memreclaimd's death"
log "memreclaimd killed; client disconnected"
rm -f "$SOCK"
start_daemon
wait_for 20 connected_is 1 ||
	fail "the client did not rejoin the restarted memreclaimd"
wait_for 20 child_connected_is 1 ||
	fail "the forked child did not rejoin the restarted memreclaimd"
if [ -x "$CTL" ]; then
	wait_for 5 ctl_lists $HPID || fail "restarted memreclaimd does not list $HPID"
	ctl_lists $CPID || fail "restarted memreclaimd does not list the child $CPID"
fi
log "memreclaimd restarted (pid $DPID); parent and child registered again"
kill -0 $HPID 2>/dev/null || fail "the holder died"
log "PASS"
exit 0
