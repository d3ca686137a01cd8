#!/bin/bash
# demo.sh: memreclaim in about a minute, on a fresh Debian 12 machine, as root.
#
#   sudo contrib/demo.sh
#
# Installs the build dependencies, builds memreclaim in _build-demo/, starts
# memreclaimd with its built-in defaults (no config file), and runs a real
# service in a memory-limited child cgroup three times:
#
#   1. redis-server with libmemreclaim preloaded;
#   2. the same redis-server on glibc's malloc, for contrast (Debian's
#      redis links jemalloc, so a small preloaded shim,
#      tests/programs/glibc_malloc.c, routes its malloc family to glibc);
#   3. the same redis-server with its own allocator (jemalloc).
#
# Each run fills redis (DEBUG POPULATE), deletes half of the keys (the memory
# is free inside the allocator but still resident), then a second process
# (tests/system/pressure) fills the rest of the cgroup, which only fits if
# redis gives memory back.  The table shows memory pressure (PSI), redis's RSS and
# the trims memreclaimd sent, before and after the pressure.
#
# Then the same under fast pressure: a service (tests/system/oom_service)
# in a cgroup limited to 512 MiB allocates 300 MiB in blocks of about
# 100 KiB, keeps 20 MiB and frees the rest; a neighbour in the same cgroup
# then grows by 320 MiB at DEMO_FAST_RATE (1G per second): with
# libmemreclaim the freed memory is lazily freed within milliseconds and the
# kernel takes it as the neighbour grows; on glibc and on jemalloc the
# service is OOM-killed.  The table gives the time from the neighbour's
# start to the service's RSS falling under 64 MiB.
#
# Works on cgroup v2 (Debian 12's default) and on hybrid hosts (v1 memory
# controller plus v2 PSI).  Cleans up its cgroups and processes on exit or
# Ctrl-C.  Knobs (environment): DEMO_LIMIT_MIB (640), DEMO_KEYS (200000 per
# half, 1000-byte values), DEMO_PRESSURE_MIB (380: the first
# DEMO_BURST_MIB=280 at once, as a process starting up, the rest at
# DEMO_RATE=30M per second),
# DEMO_SKIP_DEPS=1, DEMO_BUILD (build directory), DEMO_JOBS (make -j),
# DEMO_SOCKET (see below).
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${DEMO_BUILD:-$SRC/_build-demo}
LIMIT_MIB=${DEMO_LIMIT_MIB:-640}
KEYS=${DEMO_KEYS:-200000}
PRESSURE_MIB=${DEMO_PRESSURE_MIB:-380}
BURST_MIB=${DEMO_BURST_MIB:-280}
RATE=${DEMO_RATE:-30M}
HOLD_S=4
PORT=${DEMO_PORT:-16379}

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root: I create cgroups and start memreclaimd"

TMP=$(mktemp -d /tmp/memreclaim-demo.XXXXXX)
# memreclaimd's and the library's built-in default: no option needed.
# DEMO_SOCKET moves it (a shared host where other programs preloaded with
# libmemreclaim would otherwise register with the demo's daemon); the
# daemon then gets a one-line config file naming it, and nothing else.
SOCK=${DEMO_SOCKET:-/run/memreclaim/memreclaimd.sock}
export MEMRECLAIM_SOCKET=$SOCK
CGNAME=memreclaim-demo.$$
DPID='' RPID='' PPID_=''
CGDIRS=()

# ---- cleanup: on success, failure or Ctrl-C ------------------------------
# shellcheck source=cleanup-lib.sh
. "$SRC/contrib/cleanup-lib.sh"
cleanup() {
	trap - EXIT INT TERM
	stop_pids "$PPID_" "$RPID" "$DPID"
	remove_cgroups "${CGDIRS[@]}"
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
NPROC=${DEMO_JOBS:-$(nproc)}
(
	set -e
	cd "$SRC"
	[ -x configure ] || autoreconf -fi >/dev/null
	mkdir -p "$BUILD"
	cd "$BUILD"
	[ -f Makefile ] || "$SRC/configure" -q
	make -s -j"$NPROC" >/dev/null
	make -s -C tests/system pressure oom_service >/dev/null
	make -s -C tests/programs libglibc_malloc.la >/dev/null
) > "$TMP/build.log" 2>&1 || { tail -n 30 "$TMP/build.log"; die "build failed"; }
LIB=$BUILD/lib/.libs/libmemreclaim.so
DAEMON=$BUILD/daemon/memreclaimd
CTL=$BUILD/ctl/memreclaimctl
PRESSURE=$BUILD/tests/system/pressure
SERVICE=$BUILD/tests/system/oom_service
JEMALLOC=$(ls /usr/lib/*/libjemalloc.so.2 2>/dev/null | head -n 1)
FAST_RATE=${DEMO_FAST_RATE:-1G}
GLIBC_SHIM=$BUILD/tests/programs/.libs/libglibc_malloc.so
for f in "$LIB" "$DAEMON" "$CTL" "$PRESSURE" "$SERVICE"; do
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
	cg_enter_set
}
# "${ENTER[@]}" CMD... runs CMD inside the current cgroup(s).  An array,
# not a function, so that `... &` gives $! = the pid of CMD itself.
cg_enter_set() {
	ENTER=(sh -c 'for d in "$1" "$2"; do echo $$ > "$d/cgroup.procs" || exit 126; done
		shift 2; exec "$@"' sh "$MEMCG" "$PSICG")
}
psi() {	# some/full avg10, e.g. "3.52/1.10"
	awk '{ sub("avg10=", "", $2); v[$1] = $2 }
	     END { printf "%s/%s", v["some"], v["full"] }' "$PSICG/memory.pressure"
}
psi_some() { awk '$1 == "some" { sub("avg10=", "", $2); print $2 }' "$PSICG/memory.pressure"; }
psi_total_ms() {	# some stall total, ms
	awk '$1 == "some" { sub("total=", "", $5); printf "%d", $5 / 1000 }' "$PSICG/memory.pressure"
}
limit_hits() {	# times usage hit the limit
	if [ $CGMODE = v2 ]; then
		awk '$1 == "max" { print $2 }' "$MEMCG/memory.events"
	else
		cat "$MEMCG/memory.failcnt"
	fi
}
oom_kills() {
	if [ $CGMODE = v2 ]; then
		awk '$1 == "oom_kill" { print $2 }' "$MEMCG/memory.events"
	else
		awk '$1 == "oom_kill" { print $2 }' "$MEMCG/memory.oom_control"
	fi
}
rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' /proc/"$1"/status 2>/dev/null || echo -; }
rcli() { redis-cli -p "$PORT" "$@"; }

# status_field KEY: one number from `memreclaimctl --json status`.
status_field() {
	"$CTL" --json status 2>/dev/null |
		sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}
# is_client PID: memreclaimd lists PID as a registered client.
is_client() {
	"$CTL" --json clients 2>/dev/null | grep -q "\"pid\":$1,"
}
# soft_limit PID: the last LIMIT memreclaimd sent PID, in MiB ("-": none).
soft_limit() {
	"$CTL" --json clients 2>/dev/null |
		sed -n "s/.*\"pid\":$1,[^}]*\"soft_limit_bytes\":\([0-9]*\).*/\1/p" |
		awk '{ if ($1 > 0) printf "%d", $1 / 1048576; else printf "-" }'
}

# ---- memreclaimd, built-in defaults ------------------------------------------
step "memreclaimd (built-in defaults)"
if "$CTL" status >/dev/null 2>&1; then
	die "a memreclaimd already answers on $SOCK: stop it first"
fi
if [ -n "${DEMO_SOCKET:-}" ]; then
	printf '[memreclaimd]\nsocket = %s\nmetrics =\n' "$SOCK" > "$TMP/conf"
	"$DAEMON" -d -f "$TMP/conf" > "$TMP/daemon.log" 2>&1 &
else
	"$DAEMON" -d > "$TMP/daemon.log" 2>&1 &
fi
DPID=$!
for _ in $(seq 100); do
	"$CTL" status >/dev/null 2>&1 && break
	kill -0 $DPID 2>/dev/null || break
	sleep 0.1
done
"$CTL" status >/dev/null 2>&1 || { cat "$TMP/daemon.log"; die "memreclaimd did not start"; }
sed -n 's/.*\(ready on .*\)/\1/p' "$TMP/daemon.log"

STOCK=glibc
ldd "$(command -v redis-server)" | grep -q jemalloc && STOCK=jemalloc

# run_case KEY PRELOAD CLIENT: one full run; results into R[KEY.*].  CLIENT
# is 1 when the preload is libmemreclaim (a memreclaimd client).
declare -A R
run_case() {
	local key=$1 preload=$2 client=$3 peak=0.00 s t0 b0
	cg_create "$key"
	if [ "$client" = 1 ]; then
		# Freed memory is kept 60 s (a cache that refills soon would
		# want that): only memreclaimd gives it back earlier.
		"${ENTER[@]}" env LD_PRELOAD="$preload" \
			MEMRECLAIM_RELEASE_DELAY_MS=60000 \
			redis-server --port "$PORT" --bind 127.0.0.1 --save '' \
			--appendonly no --enable-debug-command local \
			--loglevel warning > "$TMP/redis.$key.log" 2>&1 &
	else
		"${ENTER[@]}" env ${preload:+LD_PRELOAD="$preload"} \
			redis-server --port "$PORT" --bind 127.0.0.1 --save '' \
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
	if [ "$client" = 1 ]; then
		for _ in $(seq 50); do
			is_client $RPID && break
			sleep 0.1
		done
		is_client $RPID || die "redis did not register with memreclaimd"
	fi

	# Fill with two sets of keys, then delete the second set: the memory
	# is free inside the allocator but (partly) still resident.
	rcli debug populate "$KEYS" keep 1000 > /dev/null
	rcli debug populate "$KEYS" drop 1000 > /dev/null
	R[$key.full]=$(rss_mib $RPID)
	rcli eval "for i = 0, tonumber(ARGV[1]) - 1 do
		redis.call('DEL', 'drop:' .. i) end return 1" 0 "$KEYS" > /dev/null
	sleep 1
	R[$key.psi0]=$(psi)
	R[$key.rss0]=$(rss_mib $RPID)
	R[$key.stall0]=$(psi_total_ms)
	R[$key.hits0]=$(limit_hits)
	t0=$(status_field trims_sent)
	b0=$(status_field trim_bytes_released)

	# Pressure: fill the rest of the cgroup.  Its oom_score_adj is 1000,
	# so if memory runs out the OOM killer takes it, not redis.
	"${ENTER[@]}" sh -c 'echo 1000 > /proc/self/oom_score_adj; exec "$@"' sh \
		timeout -s KILL 60 "$PRESSURE" -b "${BURST_MIB}M" -r "$RATE" -t "$HOLD_S" \
		"${PRESSURE_MIB}M" > "$TMP/pressure.$key.log" 2>&1 &
	PPID_=$!
	# Not our job to report: an OOM kill is read from the cgroup, not
	# announced by bash.
	disown $PPID_
	while kill -0 $PPID_ 2>/dev/null; do
		s=$(psi_some)
		awk -v a="$s" -v b="$peak" 'BEGIN { exit !(a > b) }' && peak=$s
		sleep 0.5
	done
	PPID_=
	R[$key.peak]=$peak
	R[$key.psi1]=$(psi)
	R[$key.rss1]=$(rss_mib $RPID)
	R[$key.stall1]=$(psi_total_ms)
	R[$key.hits1]=$(limit_hits)
	if [ "$client" = 1 ]; then
		R[$key.trims]=$(( $(status_field trims_sent) - t0 ))
		R[$key.trimmed]=$(( ($(status_field trim_bytes_released) - b0) >> 20 ))
		R[$key.limit]=$(soft_limit $RPID)
	else
		R[$key.trims]="-"
		R[$key.trimmed]="-"
		R[$key.limit]="-"
	fi
	R[$key.oom]=$(oom_kills)
	if grep -q "pressure: done" "$TMP/pressure.$key.log"; then
		R[$key.pressure]="got ${PRESSURE_MIB} MiB"
	elif [ "${R[$key.oom]}" -gt 0 ]; then
		R[$key.pressure]="OOM-killed"
	else
		R[$key.pressure]="failed"
	fi
	R[$key.keys]=$(rcli dbsize 2>/dev/null || echo "redis gone")

	rcli shutdown nosave > /dev/null 2>&1
	wait $RPID 2>/dev/null
	RPID=
}

NRUNS=2
[ "$STOCK" = jemalloc ] && [ -f "$GLIBC_SHIM" ] && NRUNS=3
step "run 1/$NRUNS: redis-server with libmemreclaim (limit ${LIMIT_MIB} MiB)"
run_case mr "$LIB" 1
say "done"
COLS="mr glibc"
if [ "$STOCK" = jemalloc ]; then
	# Debian's redis links jemalloc: the glibc run preloads a shim that
	# routes its malloc family to glibc's allocator.
	step "run 2/$NRUNS: redis-server on glibc malloc, same limit"
	run_case glibc "$GLIBC_SHIM" 0
	say "done"
	step "run 3/$NRUNS: redis-server with its own allocator (jemalloc), same limit"
	run_case jemalloc "" 0
	say "done"
	COLS="mr glibc jemalloc"
else
	step "run 2/$NRUNS: redis-server on glibc malloc, same limit"
	run_case glibc "" 0
	say "done"
fi

# ---- the table -------------------------------------------------------------
step "results"
say "Each run: redis in a cgroup limited to ${LIMIT_MIB} MiB ($CGMODE cgroups),"
say "filled with 2 x $KEYS keys of 1000 bytes, half of them deleted; then a"
say "second process in the same cgroup takes ${BURST_MIB} MiB at once, then grows to"
say "${PRESSURE_MIB} MiB at ${RATE}/s."
say "'before' is after the delete, 'after' when the pressure is done."
say ""
# row LABEL FIELD_BEFORE FIELD_AFTER: one line, a before/after pair per run
# (an empty field name prints nothing; a field starting with = is literal).
row() {
	local label=$1 fb=$2 fa=$3 k line
	line=$(printf '%-28s' "$label")
	for k in $COLS; do
		local b="" a=""
		case $fb in =*) b=${fb#=} ;; "") ;; *) b=${R[$k.$fb]} ;; esac
		case $fa in =*) a=${fa#=} ;; "") ;; *) a=${R[$k.$fa]} ;; esac
		line+=$(printf ' %10s %10s  ' "$b" "$a")
	done
	echo "$line"
}
hdr=$(printf '%-28s' "")
hdr2=$hdr
for k in $COLS; do
	case $k in mr) n=memreclaim ;; *) n=$k ;; esac
	hdr+=$(printf ' %21s  ' "$n")
	hdr2+=$(printf ' %10s %10s  ' before after)
done
echo "$hdr"
echo "$hdr2"
row "PSI some/full avg10 (%)" psi0 psi1
row "PSI some avg10, peak (%)" "" peak
row "PSI some total stall (ms)" stall0 stall1
row "times usage hit the limit" hits0 hits1
row "redis RSS (MiB)" rss0 rss1
row "  (full, before the delete)" full ""
row "trims memreclaimd sent" "" trims
row "  MiB they released" "" trimmed
row "soft limit sent (MiB)" "" limit
row "OOM kills in the cgroup" "" oom
row "pressure process" "" pressure
row "redis keys left" "" keys

# ---- fast pressure ----------------------------------------------------------
# fast_case NAME PRELOAD: oom_service in a fresh 512 MiB cgroup, then a
# neighbour growing by 320 MiB at FAST_RATE.  Prints one row.
fast_case() {
	local name=$1 preload=$2 svc nb out t0 t fell=- rss lazy fate
	LIMIT_MIB=512 cg_create "fast-$name"
	out=$TMP/fast.$name.out
	"${ENTER[@]}" env ${preload:+LD_PRELOAD="$preload"} \
		"$SERVICE" -a 300 -k 20 -t 30 > "$out" 2>&1 &
	svc=$!
	RPID=$svc
	# An OOM kill is read from the process, not announced by bash.
	disown $svc
	for _ in $(seq 200); do
		grep -q ready "$out" && break
		kill -0 $svc 2>/dev/null || break
		sleep 0.05
	done
	grep -q ready "$out" || { cat "$out"; die "$name: the service did not start"; }
	sleep 0.1
	rss=$(rss_mib $svc)
	lazy=$(awk '/^LazyFree:/ { printf "%d", $2 / 1024 }' \
		/proc/$svc/smaps_rollup 2>/dev/null)
	t0=$(date +%s%N)
	"${ENTER[@]}" timeout -s KILL 30 "$PRESSURE" -r "$FAST_RATE" -t 1 320M \
		> /dev/null 2>&1 &
	nb=$!
	PPID_=$nb
	disown $nb
	while kill -0 $nb 2>/dev/null; do
		t=$(rss_mib $svc)
		if [ "$fell" = - ] && [ -n "$t" ] && [ "$t" != - ] &&
			[ "$t" -lt 64 ]; then
			fell=$((($(date +%s%N) - t0) / 1000000))
		fi
		sleep 0.01
	done
	PPID_=
	if kill -0 $svc 2>/dev/null; then
		fate=survived
		kill -TERM $svc
	else
		fate="OOM-killed"
	fi
	while kill -0 $svc 2>/dev/null; do sleep 0.05; done
	RPID=
	[ "$fate" = survived ] || fell=-
	printf '%-12s %10s %14s %12s %26s\n' "$name" "$rss" "${lazy:-0}" \
		"$fate" "$fell"
}
step "fast pressure: a neighbour growing at ${FAST_RATE}/s"
say "A service in a 512 MiB cgroup allocated 300 MiB in ~100 KiB blocks, kept"
say "20 MiB and freed the rest; then a neighbour in the same cgroup grew by"
say "320 MiB at ${FAST_RATE}/s."
say ""
say "RSS and lazily freed (MADV_FREE, which the kernel may take) in MiB"
say "0.1 s after the free; then the time from the neighbour's start until"
say "the service's RSS fell under 64 MiB (the kernel took the memory back)."
printf '%-12s %10s %14s %12s %26s\n' allocator "RSS" "lazily freed" \
	service "RSS < 64 MiB after (ms)"
fast_case memreclaim "$LIB"
fast_case glibc ""
if [ -n "$JEMALLOC" ]; then
	fast_case jemalloc "$JEMALLOC"
fi

say ""
say "memreclaimd's log (last lines):"
tail -n 8 "$TMP/daemon.log" | sed 's/^/  /'
