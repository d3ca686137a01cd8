#!/bin/bash
# The host-PSI fallback: on a pure cgroup v1 host (no cgroup2 mount, so no
# per-cgroup memory.pressure) memreclaimd lets the host's
# /proc/pressure/memory stand in for a cgroup's stall.  These machines are
# hybrid, so the host is a FAKE TREE in real hosts' formats: the
# /proc/self/mountinfo of a cgroup v1 host (a "cgroup" mount with the
# memory controller, no cgroup2 line), the v1 memory files
# (memory.limit_in_bytes, memory.usage_in_bytes, memory.stat with its
# total_* lines, memory.failcnt, memory.oom_control), /proc/PID/cgroup of
# v1 (one line per hierarchy) and /proc/pressure/memory.  memreclaimd
# finds it all from proc_root.  A protocol client (fakeclient) holds
# 32 MiB idle in the fake cgroup /app, limited to 1 GiB with 300 MiB used.
# Asserted: the daemon reads the host figure from the fake file
# (memreclaimctl --json status, parsed), sends no TRIM while the host does
# not stall, and once the host's "some" total grows by 10% of the time,
# sheds the cgroup for "pressure" at that stall (not the total since boot
# counted as one interval's, as after a round without PSI it used to)
# and the client gets a TRIM.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
MIB=$((1 << 20))

F=$T/host
MEM=$F/sys/fs/cgroup/memory
mkdir -p "$F/proc/self" "$F/proc/pressure" "$MEM/app" || fail "fake tree"
# a cgroup v1 host (CentOS 7 style): no cgroup2 mount at all
cat > "$F/proc/self/mountinfo" <<EOF
18 61 0:17 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw
19 61 0:3 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:7 - tmpfs tmpfs ro,mode=755
25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
33 24 0:29 / $MEM rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
36 24 0:32 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,pids
61 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/centos-root rw,attr2,inode64,noquota
EOF
printf '9223372036854771712\n' > "$MEM/memory.limit_in_bytes"
printf '%s\n' $((2048 * MIB)) > "$MEM/memory.usage_in_bytes"
v1stat() { # RSS INACTIVE_FILE
	cat <<EOF
cache 16777216
rss $1
rss_huge 0
shmem 0
mapped_file 2097152
dirty 0
writeback 0
pgpgin 120000
pgpgout 40000
pgfault 150000
pgmajfault 12
inactive_anon 0
active_anon $1
inactive_file $2
active_file $((16 * MIB - $2))
unevictable 0
hierarchical_memory_limit 1073741824
total_cache 16777216
total_rss $1
total_rss_huge 0
total_shmem 0
total_mapped_file 2097152
total_dirty 0
total_writeback 0
total_pgpgin 120000
total_pgpgout 40000
total_pgfault 150000
total_pgmajfault 12
total_inactive_anon 0
total_active_anon $1
total_inactive_file $2
total_active_file $((16 * MIB - $2))
total_unevictable 0
EOF
}
v1stat $((1900 * MIB)) $((8 * MIB)) > "$MEM/memory.stat"
A=$MEM/app
printf '%s\n' $((1024 * MIB)) > "$A/memory.limit_in_bytes"
printf '%s\n' $((300 * MIB)) > "$A/memory.usage_in_bytes"
v1stat $((284 * MIB)) $((8 * MIB)) > "$A/memory.stat"
printf '0\n' > "$A/memory.failcnt"
printf 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n' > "$A/memory.oom_control"
: > "$A/cgroup.procs"
# host: 3.21 % avg10 (a figure only this file has), total fixed
# (written whole, by rename: the daemon never reads half a file)
host_psi() { # SOME_TOTAL_US
	printf 'some avg10=3.21 avg60=1.23 avg300=0.80 total=%s\nfull avg10=1.00 avg60=0.50 avg300=0.10 total=%s\n' \
		"$1" $(($1 / 3)) > "$F/proc/pressure/memory.new" &&
		mv -f "$F/proc/pressure/memory.new" "$F/proc/pressure/memory"
}
total=5000000
host_psi $total

# avg10 alone stands in when there is no previous sample: keep it under
# the target (5 %) until the totals move
start_daemon "tick_ms = 200
metrics =
cooldown_ms = 200
pressure_target = 5
pressure_urgent = 50
proc_root = $F/proc"
grep -q "memory cgroups at $MEM (v1), PSI from the host only" "$T/daemon.log" ||
	fail "the fake host was not taken as pure v1: $(grep 'memory cgroups' "$T/daemon.log")"
host_read() { # (the first round may not have run yet)
	"$CTL" -s "$SOCK" --json status | python3 -c '
import json, sys
o = json.load(sys.stdin)
sys.exit(not (abs(o["host_some_avg10"] - 3.21) < 0.005 and
	      abs(o["host_full_avg10"] - 1.00) < 0.005))'
}
wait_for 5 host_read ||
	fail "host PSI not read from the fake /proc: $("$CTL" -s "$SOCK" --json status)"

# the client, in /app per its fake /proc/PID/cgroup (v1: all hierarchies)
sh -c 'd=$1/$$; mkdir "$d" || exit 99
	for f in stat statm oom_score_adj status; do ln -s /proc/$$/$f "$d/$f"; done
	printf "11:pids:/app\n7:memory:/app\n4:cpu,cpuacct:/app\n1:name=systemd:/app\n" > "$d/cgroup"
	shift; exec "$@"' sh "$F/proc" \
	"$FAKE" -s "$SOCK" -m $((32 * MIB)) -e "$T/client.ev" -i 200 -d 60 &
PIDS="$PIDS $!"
wait_for 10 grep -q REGISTERED "$T/client.ev" || fail "client did not register"
in_app() {
	"$CTL" -s "$SOCK" --json clients | python3 -c '
import json, sys
cl = json.load(sys.stdin)
sys.exit(not any(c["cgroup"] == "/app" and c["idle_bytes"] > 0 for c in cl))'
}
wait_for 10 in_app || fail "the client is not in /app with idle memory: $("$CTL" -s "$SOCK" --json clients)"
# a few rounds with the host total still: nothing to do
sleep 1
grep -q '^TRIM' "$T/client.ev" && fail "TRIM with no host stall growing"
grep -q "cgroup /app: shed" "$T/daemon.log" && fail "shed with no host stall"

# the host stalls 10 % of the time (the cgroup itself has no PSI file)
trimmed() { grep -q '^TRIM' "$T/client.ev"; }
for i in $(seq 1 50); do
	total=$((total + 20000))
	host_psi $total
	trimmed && break
	sleep 0.2
done
trimmed || fail "no TRIM with the host stalling"
grep "cgroup /app: shed" "$T/daemon.log" | grep -q '(pressure,' ||
	fail "the shed was not for pressure: $(grep 'cgroup /app: shed' "$T/daemon.log")"
# the stall it acted on is the host's growth (at most 10 % of the time;
# never the total since boot as one interval's)
stall=$(grep -m1 "cgroup /app: shed" "$T/daemon.log" | sed -n 's/.*stall \([0-9.]*\)%.*/\1/p')
awk -v s="$stall" 'BEGIN { exit !(s > 5 && s <= 12) }' ||
	fail "the daemon acted on a host stall of '$stall'%"
# usage thresholds cannot be armed on a fake tree (no cgroup.event_control,
# as on a read-only cgroupfs): said once, not every round
n=$(grep -c "usage thresholds, polling on the tick" "$T/daemon.log")
[ "$n" = 1 ] || fail "'cannot arm usage thresholds' logged $n times, want once"
echo "PASS: pure-v1 fake host; host PSI stands in: $(grep -m1 'cgroup /app: shed' "$T/daemon.log" | sed 's/.*: shed/shed/')"
exit 0
