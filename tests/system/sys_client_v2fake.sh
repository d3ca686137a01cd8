#!/bin/bash
# sys_client_v2fake.sh: the daemon client end to end on a pure cgroup v2
# host -- which these machines are not (hybrid: v1 memory controller, v2
# for PSI only).  So the host is a FAKE TREE: /proc/self/mountinfo,
# /proc/PID/cgroup and the cgroup2 files (cgroup.controllers, memory.max,
# memory.high, memory.current, memory.stat, memory.events,
# memory.pressure) written in the formats copied from a real Debian 12
# host (kernel 6.1, systemd 252, pure v2: one cgroup2 mount with
# nsdelegate,memory_recursiveprot and "0::/PATH" cgroup lines), under a
# temporary folder.  memreclaimd finds everything itself from
# proc_root = FAKE/proc (common/cgpath: the cgroup2 mount from
# mountinfo, the client's "0::" path), and watches the fake cgroup.
#
# The client is real: e2e_holder preloaded with libmemreclaim, holding
# 48 MiB of free but backed heap.  Its fake /proc/PID holds the v2 cgroup
# line and links to its real stat, statm and oom_score_adj.  The test then
# plays the kernel: memory.current rises to memory.max with the stall
# (memory.pressure "some total=") growing.  Asserted: the daemon reads the
# fake host as v2, places the client in the fake cgroup, sends a TRIM for
# the cgroup nearing its limit, and the holder's Rss less LazyFree in its
# REAL /proc/PID/smaps_rollup falls by at least 3/4 of what the daemon
# asked.
# Then the limit goes back to "max" and only the stall grows: the daemon
# must shed for "pressure".
# Exits 77 in a sanitizer build (no preloading); bounded (about 20 s).
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"

B=$(cd "${top_builddir:-../..}" && pwd)
LIB=$B/lib/.libs/libmemreclaim.so
HOLDER=$B/tests/system/e2e_holder
MIB=$((1 << 20))
LIMIT=$((256 * MIB))

grep -q '^#define MR_SANITIZED' "$B/config.h" 2>/dev/null &&
	skip "sanitizer build: the preload library is not usable"
[ -f "$LIB" ] && [ -x "$HOLDER" ] || fail "library or e2e_holder not built"

F=$T/host
CGR=$F/sys/fs/cgroup
APP=/system.slice/app.service
CG=$CGR$APP
mkdir -p "$F/proc/self" "$CG" || fail "cannot create the fake tree"

# /proc/self/mountinfo of a pure v2 Debian 12 host; the mount points of
# the cgroup2 mount moved into the fake tree
cat > "$F/proc/self/mountinfo" <<EOF
21 26 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
22 26 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 26 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=12263516k,nr_inodes=3065879,mode=755,inode64
24 23 0:22 / /dev/pts rw,nosuid,noexec,relatime shared:3 - devpts devpts rw,gid=5,mode=620,ptmxmode=000
25 26 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=2457676k,mode=755,inode64
26 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
27 21 0:6 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:8 - securityfs securityfs rw
29 21 0:25 / $CGR rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
30 21 0:26 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
31 21 0:27 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:11 - bpf bpf rw,mode=700
EOF
printf 'cpuset cpu io memory hugetlb pids rdma misc\n' > "$CGR/cgroup.controllers"
printf 'cpu io memory pids\n' > "$CGR/cgroup.subtree_control"
printf 'some avg10=0.00 avg60=0.00 avg300=0.00 total=41270\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=30177\n' \
	> "$CGR/memory.pressure"
for d in "$CGR/system.slice" "$CG"; do
	printf 'cpu io memory pids\n' > "$d/cgroup.controllers"
	: > "$d/cgroup.procs"
	printf 'populated 1\nfrozen 0\n' > "$d/cgroup.events"
	printf 'max\n' > "$d/memory.max"
	printf 'max\n' > "$d/memory.high"
	printf '0\n' > "$d/memory.low"
	printf '0\n' > "$d/memory.min"
	printf 'max\n' > "$d/memory.swap.max"
done
printf '0\n' > "$CG/memory.swap.current"

# put FILE: stdin becomes FILE whole (by rename: the daemon never reads a
# half-written file)
put() { cat > "$1.new" && mv -f "$1.new" "$1"; }
# the kernel's part: write the cgroup's figures.
# set_cg CURRENT_BYTES SOME_TOTAL_US MAX
set_cg() {
	local anon=$(($1 - 6 * MIB))
	printf '%s\n' "$1" | put "$CG/memory.current"
	printf '%s\n' "$3" | put "$CG/memory.max"
	put "$CG/memory.stat" <<EOF
anon $anon
file 6291456
kernel 2408448
kernel_stack 98304
pagetables 552960
sec_pagetables 0
percpu 1440
sock 0
vmalloc 0
shmem 0
zswap 0
zswapped 0
file_mapped 2367488
file_dirty 0
file_writeback 0
swapcached 0
anon_thp 0
file_thp 0
shmem_thp 0
inactive_anon $anon
active_anon 0
inactive_file 4194304
active_file 2097152
unevictable 0
slab_reclaimable 577048
slab_unreclaimable 694040
slab 1271088
workingset_refault_anon 0
workingset_refault_file 0
workingset_activate_anon 0
workingset_activate_file 0
workingset_restore_anon 0
workingset_restore_file 0
workingset_nodereclaim 0
pgscan 0
pgsteal 0
pgscan_kswapd 0
pgscan_direct 0
pgsteal_kswapd 0
pgsteal_direct 0
pgfault 51402
pgmajfault 13
pgrefill 0
pgactivate 0
pgdeactivate 0
pglazyfree 0
pglazyfreed 0
thp_fault_alloc 0
thp_collapse_alloc 0
EOF
	printf 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n' |
		put "$CG/memory.events"
	printf 'some avg10=0.00 avg60=0.00 avg300=0.00 total=%s\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=%s\n' \
		"$2" $(($2 / 2)) | put "$CG/memory.pressure"
}
set_cg $((200 * MIB)) 0 $LIMIT

start_daemon "tick_ms = 200
metrics =
cooldown_ms = 500
soft_limits = no
proc_root = $F/proc"
grep -q "memory cgroups at $CGR (v2), PSI from $CGR" "$T/daemon.log" ||
	fail "memreclaimd did not take the fake host as pure v2: $(grep 'memory cgroups' "$T/daemon.log")"

# the holder: its fake /proc/PID first (the v2 line), then exec
sh -c 'd=$1/$$; mkdir "$d" || exit 99
	for f in stat statm oom_score_adj status; do ln -s /proc/$$/$f "$d/$f"; done
	printf "0::%s\n" "$2" > "$d/cgroup"
	echo $$ >> "$3/cgroup.procs"
	shift 3; exec "$@"' sh "$F/proc" "$APP" "$CG" \
	env LD_PRELOAD="$LIB" MEMRECLAIM_SOCKET="$SOCK" \
	MEMRECLAIM_RELEASE_DELAY_MS=3600000 MEMRECLAIM_GOAL_PERCENT=100000 \
	MEMRECLAIM_STATS_INTERVAL_MS=200 \
	"$HOLDER" -o "$T/holder.status" -a 176 -k 128 -t 60 &
HPID=$!
PIDS="$PIDS $HPID"

field() {
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$T/holder.status" 2>/dev/null
}
connected() { [ "$(field connected)" = 1 ]; }
client_json() {
	"$CTL" -s "$SOCK" --json clients | jobjects | grep "\"pid\":$HPID,"
}
has_idle() { client_json | grep -q '"idle_bytes":[1-9]'; }
shed_lines() { grep "cgroup $APP: shed" "$T/daemon.log"; }

wait_for 20 connected || fail "the preloaded holder did not register"
grep -q lib=none "$T/holder.status" && fail "libmemreclaim not loaded"
wait_for 10 has_idle || fail "the daemon has no idle figure for the holder"
cgpath=$(client_json | jfield cgroup)
[ "$cgpath" = "$APP" ] || fail "the daemon placed the holder in '$cgpath', not $APP"
cgj=$("$CTL" -s "$SOCK" --json cgroups | jobjects | grep "\"cgroup\":\"$APP\"")
[ "$(echo "$cgj" | jfield limit_bytes)" = $LIMIT ] ||
	fail "the daemon read no memory.max of $LIMIT: $cgj"
sleep 0.5
shed_lines && fail "the daemon shed memory well below the limit"

# (1) 16 MiB below memory.max (inside the 32 MiB headroom), no stall: a
# TRIM for the limit, and real pages back
rss0=$(smaps_kib $HPID lazy)
total=0
limit_trim() { shed_lines | grep -q '(near limit,'; }
for i in $(seq 1 50); do
	set_cg $((LIMIT - 16 * MIB)) $total $LIMIT
	limit_trim && break
	sleep 0.2
done
limit_trim || fail "no TRIM with memory.current 16 MiB below memory.max"
asked=$(first_shed "$APP")
[ "${asked:-0}" -ge $((4 * MIB)) ] || fail "the daemon asked only '$asked' bytes"
gave_back $HPID "$rss0" "$asked" lazy
rss1=$(smaps_kib $HPID lazy)

# (2) no limit ("max"), usage low, only the stall grows (10 % of the time)
set_cg $((100 * MIB)) $total max
n0=$(shed_lines | wc -l)
pressure_trim() { shed_lines | tail -n +$((n0 + 1)) | grep -q '(pressure,'; }
for i in $(seq 1 50); do
	total=$((total + 20000))
	set_cg $((100 * MIB)) $total max
	pressure_trim && break
	sleep 0.2
done
pressure_trim || fail "no pressure-caused shed with the stall growing: $(client_json)"
# the holder writes its status every tick: the second TRIM's count may
# land there after the daemon's shed line (a fresh-clone CI run read 1)
two_trims() { [ "$(field trims)" -ge 2 ]; }
wait_for 5 two_trims || fail "the holder saw $(field trims) trims, want 2"
kill -0 $HPID 2>/dev/null || fail "the holder died"
# memory.events cannot be polled on a fake tree: said once, not every round
n=$(grep -c "epoll on memory.events, polling" "$T/daemon.log")
[ "$n" -le 1 ] || fail "'cannot poll memory.events' logged $n times"
echo "PASS: fake pure-v2 host; client in $cgpath; $(shed_lines | head -n 1 | sed 's/.*: shed/shed/')"
echo "      holder smaps_rollup Rss-LazyFree $((rss0 >> 10)) -> $((rss1 >> 10)) MiB; then $(shed_lines | tail -n 1 | sed 's/.*: shed/shed/')"
exit 0
