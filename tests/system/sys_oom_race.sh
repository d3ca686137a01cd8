#!/bin/bash
# sys_oom_race.sh: the product's promise under fast pressure, on the real
# kernel.  A service (oom_service) in a memory cgroup limited to 512 MiB
# allocates 300 MiB in blocks of about 100 KiB, keeps 20 MiB and frees the
# rest; a neighbour in the same cgroup (pressure, plain mmap) then grows by
# 320 MiB at 40, 150, 600 MiB/s and at full speed.  There is no swap.
#
# With libmemreclaim preloaded (default settings, no daemon) the service
# must survive every rate: its freed memory is lazily freed within
# milliseconds and the kernel takes it before it would kill anyone.  With
# glibc's malloc the same service must be OOM-killed at every rate: that
# proves the scenario is tight (a test that both pass would prove nothing).
#
# Needs root and a memory cgroup we may create children in (v1 as on these
# hosts, or v2); exits 77 with the reason otherwise.  Removes its cgroups
# on every exit path.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$here/../..}
bdir=$(cd "$top_builddir" && pwd)
LIB=$bdir/lib/.libs/libmemreclaim.so
SVC=$bdir/tests/system/oom_service
PRESSURE=$bdir/tests/system/pressure
RATES=${OOM_RATES:-"40M 150M 600M 0"}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to create cgroups"
for f in "$LIB" "$SVC" "$PRESSURE"; do
	[ -e "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done

# Find where we may create a memory cgroup: v1 first (these hosts), else v2.
cgmode= cgdir=
v1own=$(sed -n 's/^[0-9]*:memory:\(.*\)$/\1/p' /proc/self/cgroup)
v1mnt=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ {print $5; exit}' \
	/proc/self/mountinfo)
if [ -n "$v1own" ] && [ -n "$v1mnt" ] && [ -w "$v1mnt$v1own" ]; then
	cgmode=v1
	cgdir=$v1mnt${v1own%/}/mr-oomrace.$$
else
	v2mnt=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
	v2own=$(sed -n 's/^0::\(.*\)$/\1/p' /proc/self/cgroup)
	if [ -n "$v2mnt" ] && grep -qw memory "$v2mnt$v2own/cgroup.controllers" \
		2>/dev/null; then
		cgmode=v2
		cgdir=$v2mnt${v2own%/}/mr-oomrace.$$
	fi
fi
[ -n "$cgmode" ] || skip "no memory cgroup we can create children in"

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -d "$cgdir" ] || return 0
	# move anything left to our own cgroup, then remove ours
	if [ -f "$cgdir/cgroup.procs" ]; then
		while read -r p; do
			echo "$p" >"$(dirname "$cgdir")/cgroup.procs" 2>/dev/null
		done <"$cgdir/cgroup.procs"
	fi
	rmdir "$cgdir" 2>/dev/null || sleep 0.5
	rmdir "$cgdir" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$cgdir" || skip "cannot create $cgdir"
if [ "$cgmode" = v1 ]; then
	echo 512M >"$cgdir/memory.limit_in_bytes" || skip "cannot set a limit"
	echo 0 >"$cgdir/memory.oom_control" 2>/dev/null
else
	echo 512M >"$cgdir/memory.max" || skip "cannot set a limit"
	echo 0 >"$cgdir/memory.swap.max" 2>/dev/null
fi

# run ALLOCATOR RATE: prints "survived" or "killed"; the time from the
# neighbour's start to its holding (or the kill) goes to stderr.
run() {
	local alloc=$1 rate=$2 out svc nb st line t0 t1
	out=$(mktemp)
	# A subshell joins the cgroup, then execs: the whole run is inside.
	if [ "$alloc" = memreclaim ]; then
		(echo $BASHPID >"$cgdir/cgroup.procs" &&
			MEMRECLAIM_DAEMON=0 LD_PRELOAD=$LIB exec "$SVC" -t 60) \
			>"$out" 2>&1 &
	else
		(echo $BASHPID >"$cgdir/cgroup.procs" &&
			MEMRECLAIM_DAEMON=0 exec "$SVC" -t 60) >"$out" 2>&1 &
	fi
	svc=$!
	pids+=("$svc")
	for _ in $(seq 200); do
		grep -q ready "$out" && break
		kill -0 "$svc" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q ready "$out"; then
		echo "FAIL: $alloc service did not get ready: $(cat "$out")" >&2
		rm -f "$out"
		echo error
		return
	fi
	t0=$(date +%s%N)
	(echo $BASHPID >"$cgdir/cgroup.procs" &&
		exec "$PRESSURE" -r "$rate" -t 1 320M) >/dev/null 2>&1 &
	nb=$!
	pids+=("$nb")
	wait "$nb" 2>/dev/null
	t1=$(date +%s%N)
	if kill -0 "$svc" 2>/dev/null; then
		kill -TERM "$svc"
		wait "$svc"
		st=$?
	else
		wait "$svc"
		st=$?
	fi
	line="$alloc rate=${rate:-0}/s: neighbour done after $(((t1 - t0) / 1000000)) ms, service exit $st"
	echo "  $line" >&2
	rm -f "$out"
	if [ "$st" = 0 ]; then echo survived; else echo killed; fi
}

fail=0
for rate in $RATES; do
	r=$(run memreclaim "$rate")
	if [ "$r" != survived ]; then
		echo "FAIL: memreclaim service $r at rate $rate"
		fail=1
	fi
	r=$(run glibc "$rate")
	if [ "$r" != killed ]; then
		echo "FAIL: glibc service $r at rate $rate (scenario not tight)"
		fail=1
	fi
done
[ $fail = 0 ] && echo "PASS: memreclaim survived every rate, glibc was killed at every rate"
exit $fail
