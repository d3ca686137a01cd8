# daemon_lib.sh: shared by the memreclaimd integration tests.
# Starts the real daemon on a temporary socket with a bounded run time,
# and cleans up processes (and the caller's cgroups) on any exit.

set -u
B=${top_builddir:-../..}
MRD=$B/daemon/memreclaimd
CTL=$B/ctl/memreclaimctl
FAKE=$B/tests/system/fakeclient
T=$(mktemp -d /tmp/mrd-test.XXXXXX)
chmod 755 "$T"
touch "$T/client.ev" "$T/good.ev"
SOCK=$T/mrd.sock
PIDS=
DPID=

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$T/daemon.log" ]; then
		echo "--- daemon log:" >&2
		grep -v -e "connection from" -e "disconnected$" "$T/daemon.log" | tail -n 40 >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# extra cleanup commands (cgroups) are appended to CLEANUP by the caller
CLEANUP=:
# The daemon is stopped with SIGTERM (then SIGKILL after 5 s) so that in a
# sanitizer build (tests/run's _build-asan) its exit runs LeakSanitizer; a
# sanitizer report in its log fails the test whatever the test said.
cleanup() {
	local rc=$? p i
	for p in $PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	if [ -n "$DPID" ]; then
		kill -TERM "$DPID" 2>/dev/null
		for i in $(seq 1 50); do
			kill -0 "$DPID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$DPID" 2>/dev/null
	fi
	for p in $PIDS $DPID; do
		wait "$p" 2>/dev/null
	done
	if [ -f "$T/daemon.log" ] && grep -qE \
	    'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/daemon.log"; then
		echo "FAIL: sanitizer report from memreclaimd:" >&2
		grep -A 30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
			"$T/daemon.log" | head -n 60 >&2
		rc=1
	fi
	eval "$CLEANUP"
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# start_daemon CONFIG-TEXT: writes $T/mrd.conf, starts it, waits for ready
start_daemon() {
	printf '[memreclaimd]\nsocket = %s\n%s\n' "$SOCK" "$1" > "$T/mrd.conf"
	"$MRD" -n -f "$T/mrd.conf" >/dev/null || fail "config rejected"
	"$MRD" -d -v -f "$T/mrd.conf" -t 120 2>"$T/daemon.log" &
	DPID=$!
	local i
	for i in $(seq 1 100); do
		if "$CTL" -s "$SOCK" status >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$DPID" 2>/dev/null || fail "daemon died at start"
		sleep 0.1
	done
	fail "daemon not ready"
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds
wait_for() {
	local n=$(( $1 * 10 ))
	shift
	while [ "$n" -gt 0 ]; do
		if "$@"; then
			return 0
		fi
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# jfield KEY: the first numeric/string value of "KEY" in the JSON on stdin
jfield() {
	grep -o "\"$1\":[^,}]*" | head -n 1 | cut -d: -f2- | tr -d '"'
}

# jobjects: one JSON object of an array per line
jobjects() {
	sed -e 's/^\[//' -e 's/\]$//' -e 's/},{/}\n{/g'
}

# cg_remove DIR: kill whatever is left in a test cgroup (grandchildren of
# killed shells too) and remove it, retrying while the kernel lets go
cg_remove() {
	local i p
	[ -d "$1" ] || return 0
	for i in $(seq 1 50); do
		for p in $(cat "$1/cgroup.procs" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
		rmdir "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "WARNING: could not remove $1" >&2
}

# make_cgroup NAME LIMIT_BYTES: a child cgroup with a memory limit.
# Hybrid (as on our machines): v1 memory child for the limit plus a v2
# child under the unified mount for PSI.  Pure v2: one child with
# memory.max.  Sets CG_MEM (v1 or v2 dir), CG_PSI (dir with
# memory.pressure), CG_PATH (path the daemon reports); removed at exit.
make_cgroup() {
	local name=$1 limit=$2
	[ "$(id -u)" = 0 ] || skip "needs root to create cgroups"
	if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		CG_MEM=/sys/fs/cgroup/memory/$name
		mkdir "$CG_MEM" || skip "cannot create a v1 memory cgroup"
		CLEANUP="$CLEANUP; cg_remove '$CG_MEM'"
		echo "$limit" > "$CG_MEM/memory.limit_in_bytes" ||
			fail "cannot set memory.limit_in_bytes"
		CG_PSI=
		if [ -f /sys/fs/cgroup/unified/cgroup.procs ]; then
			CG_PSI=/sys/fs/cgroup/unified/$name
			mkdir "$CG_PSI" || fail "cannot create the v2 twin"
			CLEANUP="$CLEANUP; cg_remove '$CG_PSI'"
		fi
	elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		CG_MEM=/sys/fs/cgroup/$name
		echo +memory > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
		mkdir "$CG_MEM" || skip "cannot create a v2 cgroup"
		CLEANUP="$CLEANUP; cg_remove '$CG_MEM'"
		echo "$limit" > "$CG_MEM/memory.max" || fail "cannot set memory.max"
		CG_PSI=$CG_MEM
	else
		skip "no cgroup memory controller mounted"
	fi
	CG_PATH=/$name
}

# in_cgroup CMD...: run CMD in the test cgroup, in the background; its pid
# is in $! (the subshell execs CMD, so the pid is CMD's)
in_cgroup() {
	(
		echo "$BASHPID" > "$CG_MEM/cgroup.procs" || exit 99
		if [ -n "$CG_PSI" ] && [ "$CG_PSI" != "$CG_MEM" ]; then
			echo "$BASHPID" > "$CG_PSI/cgroup.procs" || exit 99
		fi
		exec "$@"
	) &
}

# rss_kib PID: VmRSS of a process in KiB
rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# smaps_kib PID [lazy]: Rss of PID from /proc/PID/smaps_rollup in KiB, the
# kernel's figure; with "lazy", less LazyFree (lazily freed pages stay in
# Rss until the kernel needs them, but are no longer the process's)
smaps_kib() {
	awk -v lazy="${2:-}" '$1 == "Rss:" { r = $2 }
		$1 == "LazyFree:" && lazy != "" { l = $2 }
		END { if (r != "") print r - l }' "/proc/$1/smaps_rollup" 2>/dev/null
}

# gave_back PID FROM_KIB BYTES [lazy]: wait (10 s) until smaps_kib PID
# [lazy] is at least 3/4 of BYTES (what the daemon asked) below FROM_KIB;
# fails the test otherwise
gave_back() {
	local want=$(($3 * 3 / 4 / 1024))
	dropped() {
		local r
		r=$(smaps_kib "$1" "${4:-}")
		[ -n "$r" ] && [ $(($2 - r)) -ge "$want" ]
	}
	wait_for 10 dropped "$@" ||
		fail "pid $1: smaps_rollup Rss${4:+ less LazyFree} $2 -> $(smaps_kib "$1" "${4:-}") KiB, not 3/4 of the $3 bytes asked below"
}

# first_shed CGPATH: bytes of the daemon's first shed for CGPATH (its log)
first_shed() {
	grep -m1 "cgroup $1: shed" "$T/daemon.log" |
		sed -n 's/.*: shed \([0-9]*\) bytes.*/\1/p'
}

# free_port: set PORT to a loopback TCP port nothing listens on
free_port() {
	local p
	PORT=
	for p in $(seq $((20000 + $$ % 20000)) 7 65000); do
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			PORT=$p
			return 0
		fi
	done
	fail "no free port"
}

# rounds: the daemon's sample-decide-act rounds so far
# (memreclaim_loop_cycles_total on the metrics port $PORT)
rounds() {
	http_get /metrics | tr -d '\r' |
		sed -n 's/^memreclaim_loop_cycles_total \([0-9]*\)$/\1/p'
}
# wait_rounds N: until the daemon has run N more rounds (bounded, 30 s):
# a negative check ("nobody was asked") waits for decisions, not time
wait_rounds() {
	local want
	want=$(( $(rounds) + $1 ))
	rounds_reached() { [ "$(rounds)" -ge "$want" ]; }
	wait_for 30 rounds_reached
}

# http_get PATH: the daemon's answer on $PORT, head and body; plain bash
# /dev/tcp: no HTTP client needed on the test machine
http_get() {
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
	timeout 10 cat <&3
	exec 3<&-
}

# start_holder ALLOC_MIB KEEP_MIB MAX_S: e2e_holder preloaded with
# libmemreclaim, registered on $SOCK, allocating ALLOC_MIB and freeing all
# but KEEP_MIB, which its allocator keeps idle (no release of its own);
# skips when the library is not built.  Sets HPID; killed at exit.
start_holder() {
	local lib=$B/lib/.libs/libmemreclaim.so
	[ -f "$lib" ] || skip "no $lib (library not built)"
	env LD_PRELOAD="$lib" MEMRECLAIM_SOCKET="$SOCK" \
		MEMRECLAIM_RELEASE_DELAY_MS=3600000 \
		MEMRECLAIM_GOAL_PERCENT=100000 MEMRECLAIM_STATS_INTERVAL_MS=200 \
		"$B/tests/system/e2e_holder" -o "$T/holder.status" -a "$1" \
		-k "$2" -t "$3" &
	HPID=$!
	PIDS="$PIDS $HPID"
}

# start_prometheus DAEMON_PORT MAX_S [RULE_FILE]: a real Prometheus
# (Debian's package) on a free loopback port, its data in $T, scraping
# 127.0.0.1:DAEMON_PORT and evaluating RULE_FILE every second, stopped at
# exit (or after MAX_S).  Waits until it is ready; sets URL.  $PORT is
# left as it was.
start_prometheus() {
	local dport=$1 max=$2 rules=${3:-} keep=$PORT pid
	command -v prometheus >/dev/null ||
		skip "prometheus missing (Debian package prometheus; contrib/install-deps)"
	free_port
	URL=http://127.0.0.1:$PORT
	{
		printf 'global:\n  scrape_interval: 1s\n'
		printf '  evaluation_interval: 1s\n'
		[ -z "$rules" ] || printf 'rule_files: ["%s"]\n' "$rules"
		printf 'scrape_configs:\n  - job_name: memreclaimd\n'
		printf '    static_configs:\n'
		printf '      - targets: ["127.0.0.1:%s"]\n' "$dport"
	} >"$T/prometheus.yml"
	timeout "$max" prometheus --config.file="$T/prometheus.yml" \
		--storage.tsdb.path="$T/tsdb" \
		--web.listen-address="127.0.0.1:$PORT" --log.level=warn \
		>"$T/prometheus.log" 2>&1 &
	pid=$!
	PORT=$keep
	# timeout passes the TERM on to prometheus and waits for it
	CLEANUP="$CLEANUP; kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"
	wait_for 30 python3 "${top_srcdir:-../..}/tests/system/prom_query.py" \
		"$URL" ready || fail "prometheus not ready: $(tail -n 5 "$T/prometheus.log")"
}
