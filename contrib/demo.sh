#!/bin/bash
# demo.sh: memreclaim in three minutes, on a fresh Debian 12 machine, as root.
#
#   sudo contrib/demo.sh
#
# Installs the build dependencies, builds memreclaim in _build-demo/, starts
# memreclaimd with its built-in defaults (no config file), and runs a real
# service in a memory-limited child cgroup twice:
#
#   1. redis-server with libmemreclaim preloaded;
#   2. the same redis-server with its own allocator, for contrast.
#
# Each run fills redis (DEBUG POPULATE), deletes half of the keys (the memory
# is free inside the allocator but still resident), then a second process
# (tests/pressure) fills the rest of the cgroup, which only fits if redis
# gives memory back.  The table shows memory pressure (PSI), redis's RSS and
# the trims memreclaimd sent, before and after the pressure.
#
# Works on cgroup v2 (Debian 12's default) and on hybrid hosts (v1 memory
# controller plus v2 PSI).  Cleans up its cgroups and processes on exit or
# Ctrl-C.  Knobs (environment): DEMO_LIMIT_MIB (640), DEMO_KEYS (200000 per
# half, 1000-byte values), DEMO_PRESSURE_MIB (300), DEMO_RATE (100M per s),
# DEMO_SKIP_DEPS=1, DEMO_BUILD (build directory).
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${DEMO_BUILD:-$SRC/_build-demo}
LIMIT_MIB=${DEMO_LIMIT_MIB:-640}
KEYS=${DEMO_KEYS:-200000}
PRESSURE_MIB=${DEMO_PRESSURE_MIB:-300}
RATE=${DEMO_RATE:-100M}
HOLD_S=4
PORT=${DEMO_PORT:-16379}

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root: I create cgroups and start memreclaimd"

TMP=$(mktemp -d /tmp/memreclaim-demo.XXXXXX)
SOCK=$TMP/memreclaimd.sock
CGNAME=memreclaim-demo.$$
DPID='' RPID='' PPID_=''
CGDIRS=()

# ---- cleanup: on success, failure or Ctrl-C ------------------------------
cleanup() {
	trap - EXIT INT TERM
	local p d
	for p in $PPID_ $RPID $DPID; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for d in "${CGDIRS[@]}"; do
		[ -d "$d" ] || continue
		for _ in $(seq 50); do
			rmdir "$d" 2>/dev/null && break
			xargs -r kill -KILL < "$d/cgroup.procs" 2>/dev/null
			sleep 0.1
		done
		[ -d "$d" ] && say "demo: could not remove cgroup $d" >&2
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'say "demo: interrupted, cleaning up"; exit 130' INT TERM

# ---- dependencies ---------------------------------------------------------
step "dependencies"
if [ -n "${DEMO_SKIP_DEPS:-}" ]; then
	say "skipped (DEMO_SKIP_DEPS)"
elif [ -x "$SRC/contrib/install-deps" ]; then
	"$SRC/contrib/install-deps" || die "contrib/install-deps failed"
else
	PKGS="build-essential autoconf automake libtool pkg-config liburing-dev
	      libcgroup-dev libnuma-dev check libinih-dev libsystemd-dev
	      redis-server redis-tools"
	MISSING=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
	if [ -n "$MISSING" ]; then
		# shellcheck disable=SC2086
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $MISSING || die "apt-get install failed"
	else
		say "all installed"
	fi
fi
command -v redis-server >/dev/null || die "redis-server is missing"

# ---- build ------------------------------------------------------------
step "build ($BUILD)"
NPROC=$(nproc)
[ "$NPROC" -gt 2 ] && NPROC=2
(
	set -e
	cd "$SRC"
	[ -x configure ] || autoreconf -fi >/dev/null
	mkdir -p "$BUILD"
	cd "$BUILD"
	[ -f Makefile ] || "$SRC/configure" -q
	make -s -j"$NPROC" >/dev/null
	make -s -C tests pressure >/dev/null
) > "$TMP/build.log" 2>&1 || { tail -n 30 "$TMP/build.log"; die "build failed"; }
LIB=$BUILD/lib/.libs/libmemreclaim.so
DAEMON=$BUILD/daemon/memreclaimd
CTL=$BUILD/daemon/memreclaimctl
PRESSURE=$BUILD/tests/pressure
for f in "$LIB" "$DAEMON" "$CTL" "$PRESSURE"; do
	[ -e "$f" ] || die "$f was not built"
done
say "ok"

# ---- cgroups: v2, or hybrid (v1 memory + v2 PSI) ----------------------------
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	CGMODE=v2
	grep -qw memory /sys/fs/cgroup/cgroup.controllers ||
		die "the memory controller is not available in cgroup v2"
	grep -qw memory /sys/fs/cgroup/cgroup.subtree_control ||
		echo +memory > /sys/fs/cgroup/cgroup.subtree_control ||
		die "cannot enable the memory controller"
elif [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] &&
	[ -f /sys/fs/cgroup/unified/memory.pressure ]; then
	CGMODE=hybrid
else
	die "need cgroup v2, or v1 memory with v2 PSI at /sys/fs/cgroup/unified"
fi

# cg_create N: a fresh child cgroup with the memory limit; sets MEMCG (the
# limit) and PSICG (memory.pressure).
cg_create() {
	local name=$CGNAME.$1
	if [ $CGMODE = v2 ]; then
		MEMCG=/sys/fs/cgroup/$name
		PSICG=$MEMCG
		mkdir "$MEMCG" || die "cannot create $MEMCG"
		CGDIRS+=("$MEMCG")
		echo $((LIMIT_MIB << 20)) > "$MEMCG/memory.max"
		echo 0 > "$MEMCG/memory.swap.max" 2>/dev/null
	else
		MEMCG=/sys/fs/cgroup/memory/$name
		PSICG=/sys/fs/cgroup/unified/$name
		mkdir "$MEMCG" "$PSICG" || die "cannot create $name"
		CGDIRS+=("$MEMCG" "$PSICG")
		echo $((LIMIT_MIB << 20)) > "$MEMCG/memory.limit_in_bytes"
	fi
}
# cg_exec CMD...: run CMD inside the current cgroup(s).
cg_exec() {
	sh -c 'for d in "$1" "$2"; do echo $$ > "$d/cgroup.procs" || exit 126; done
	       shift 2; exec "$@"' sh "$MEMCG" "$PSICG" "$@"
}
psi() {	# some/full avg10, e.g. "3.52/1.10"
	awk '{ sub("avg10=", "", $2); v[$1] = $2 }
	     END { printf "%s/%s", v["some"], v["full"] }' "$PSICG/memory.pressure"
}
psi_some() { awk '$1 == "some" { sub("avg10=", "", $2); print $2 }' "$PSICG/memory.pressure"; }
oom_kills() {
	if [ $CGMODE = v2 ]; then
		awk '$1 == "oom_kill" { print $2 }' "$MEMCG/memory.events"
	else
		awk '$1 == "oom_kill" { print $2 }' "$MEMCG/memory.oom_control"
	fi
}
rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' /proc/"$1"/status 2>/dev/null || echo -; }
rcli() { redis-cli -p "$PORT" "$@"; }

# trims PID: TRIMs memreclaimd sent to PID and the bytes they released, as
# "N/MiB", from `memreclaimctl clients --json`; "-" when PID is no client.
trims() {
	MEMRECLAIM_SOCKET=$SOCK "$CTL" --json clients 2>/dev/null | awk -v pid="$1" '
		{ gsub(/[{}]/, "\n") ; print }' | awk -v pid="$1" '
		match($0, /"pid": *[0-9]+/) {
			p = substr($0, RSTART, RLENGTH); sub(/.*: */, "", p)
			if (p != pid) next
			t = r = 0
			if (match($0, /"trims": *[0-9]+/)) { t = substr($0, RSTART, RLENGTH); sub(/.*: */, "", t) }
			if (match($0, /"trim_bytes_released": *[0-9]+/)) { r = substr($0, RSTART, RLENGTH); sub(/.*: */, "", r) }
			printf "%d/%d", t, r / 1048576; found = 1
		}
		END { if (!found) printf "-" }'
}

# ---- memreclaimd, built-in defaults ------------------------------------------
step "memreclaimd (built-in defaults, socket $SOCK)"
MEMRECLAIM_SOCKET=$SOCK "$DAEMON" -d > "$TMP/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do
	[ -S "$SOCK" ] && break
	kill -0 $DPID 2>/dev/null || break
	sleep 0.1
done
[ -S "$SOCK" ] || { cat "$TMP/daemon.log"; die "memreclaimd did not start"; }
say "pid $DPID"

STOCK=glibc
ldd "$(command -v redis-server)" | grep -q jemalloc && STOCK=jemalloc

# run_case KEY PRELOAD: one full run; results into R[KEY.*].
declare -A R
run_case() {
	local key=$1 preload=$2 peak=0.00 s rc
	cg_create "$key"
	if [ -n "$preload" ]; then
		cg_exec env LD_PRELOAD="$preload" MEMRECLAIM_SOCKET="$SOCK" \
			MEMRECLAIM_RELEASE_DELAY_MS=60000 \
			redis-server --port "$PORT" --bind 127.0.0.1 --save '' \
			--appendonly no --enable-debug-command local \
			--loglevel warning > "$TMP/redis.$key.log" 2>&1 &
	else
		cg_exec redis-server --port "$PORT" --bind 127.0.0.1 --save '' \
			--appendonly no --enable-debug-command local \
			--loglevel warning > "$TMP/redis.$key.log" 2>&1 &
	fi
	RPID=$!
	for _ in $(seq 100); do
		[ "$(rcli ping 2>/dev/null)" = PONG ] && break
		sleep 0.1
	done
	[ "$(rcli ping 2>/dev/null)" = PONG ] ||
		{ cat "$TMP/redis.$key.log"; die "redis-server did not start"; }

	# Fill with two sets of keys, then delete the second set: the memory
	# is free inside the allocator but still resident.
	rcli debug populate "$KEYS" keep 1000 > /dev/null
	rcli debug populate "$KEYS" drop 1000 > /dev/null
	R[$key.full]=$(rss_mib $RPID)
	rcli eval "for i = 0, tonumber(ARGV[1]) - 1 do
		redis.call('DEL', 'drop:' .. i) end return 1" 0 "$KEYS" > /dev/null
	sleep 1
	R[$key.psi0]=$(psi)
	R[$key.rss0]=$(rss_mib $RPID)
	R[$key.trims0]=$(trims $RPID)

	# Pressure: fill the rest of the cgroup.  Its oom_score_adj is 1000,
	# so if memory runs out the OOM killer takes it, not redis.
	cg_exec sh -c 'echo 1000 > /proc/self/oom_score_adj; exec "$@"' sh \
		timeout -s KILL 60 "$PRESSURE" -r "$RATE" -t "$HOLD_S" \
		"${PRESSURE_MIB}M" > "$TMP/pressure.$key.log" 2>&1 &
	PPID_=$!
	while kill -0 $PPID_ 2>/dev/null; do
		s=$(psi_some)
		awk -v a="$s" -v b="$peak" 'BEGIN { exit !(a > b) }' && peak=$s
		sleep 0.5
	done
	wait $PPID_
	rc=$?
	PPID_=
	R[$key.peak]=$peak
	R[$key.psi1]=$(psi)
	R[$key.rss1]=$(rss_mib $RPID)
	R[$key.trims1]=$(trims $RPID)
	R[$key.oom]=$(oom_kills)
	if grep -q holding "$TMP/pressure.$key.log" && [ $rc = 0 ]; then
		R[$key.pressure]="got ${PRESSURE_MIB} MiB"
	elif [ $rc = 137 ]; then
		R[$key.pressure]="OOM-killed"
	else
		R[$key.pressure]="failed ($rc)"
	fi
	R[$key.keys]=$(rcli dbsize 2>/dev/null || echo "redis gone")

	rcli shutdown nosave > /dev/null 2>&1
	wait $RPID 2>/dev/null
	RPID=
}

step "run 1/2: redis-server with libmemreclaim (limit ${LIMIT_MIB} MiB)"
run_case mr "$LIB"
say "done"
step "run 2/2: redis-server with its own allocator ($STOCK), same limit"
run_case stock ""
say "done"

# ---- the table -------------------------------------------------------------
step "results"
say "cgroup: ${LIMIT_MIB} MiB limit ($CGMODE); redis filled with 2 x $KEYS"
say "keys of 1000 bytes, then half deleted; pressure then asks for"
say "${PRESSURE_MIB} MiB at ${RATE}/s.  PSI is memory.pressure avg10 (%)."
say ""
fmt='%-32s %-13s %-13s | %-13s %-13s\n'
printf "$fmt" "" "memreclaim" "" "$STOCK" ""
printf "$fmt" "" "before" "after" "before" "after"
printf "$fmt" "PSI some/full avg10 (%)" "${R[mr.psi0]}" "${R[mr.psi1]}" \
	"${R[stock.psi0]}" "${R[stock.psi1]}"
printf "$fmt" "PSI some avg10, peak (%)" "" "${R[mr.peak]}" "" "${R[stock.peak]}"
printf "$fmt" "redis RSS (MiB), full: ${R[mr.full]}/${R[stock.full]}" \
	"${R[mr.rss0]}" "${R[mr.rss1]}" "${R[stock.rss0]}" "${R[stock.rss1]}"
printf "$fmt" "trims sent / MiB released" "${R[mr.trims0]}" "${R[mr.trims1]}" \
	"${R[stock.trims0]}" "${R[stock.trims1]}"
printf "$fmt" "OOM kills in the cgroup" "" "${R[mr.oom]}" "" "${R[stock.oom]}"
printf "$fmt" "pressure process" "" "${R[mr.pressure]}" "" "${R[stock.pressure]}"
printf "$fmt" "redis keys left" "" "${R[mr.keys]}" "" "${R[stock.keys]}"
say ""
say "memreclaimd log: $(wc -l < "$TMP/daemon.log") lines; last ones:"
tail -n 5 "$TMP/daemon.log" | sed 's/^/  /'
