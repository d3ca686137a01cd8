#!/bin/bash
# sys_profile.sh: heap profiles read by the real tools.
#
# prof_hold keeps 64 MiB allocated from hold_big() and 8 MiB from
# hold_small() (and frees 32 MiB it allocated from churn()), preloaded with
# libmemreclaim, sampling at the default interval (512 KiB).  Its profile,
# written at exit (MEMRECLAIM_PROF_FILE) and taken from the running process
# through memreclaimd (memreclaimctl profile), must make `go tool pprof
# -top` (gzipped protobuf) and `google-pprof --text` (heap_v2 text) name
# hold_big and hold_small with in-use estimates within 20% of 64 and 8 MiB,
# and show nothing of churn; the program's mapping must carry its GNU build
# id (as readelf reads it).  Sampling switched on by memreclaimctl gives
# the same profile; switched off, it samples nothing more.  Exits 77 when a tool is missing (Debian
# golang-go, google-perftools: contrib/install-deps) or in a sanitizer
# build; kills what it started on every exit.
set -u

top_builddir=${top_builddir:-../..}
B=$(cd "$top_builddir" && pwd)
LIB=$B/lib/.libs/libmemreclaim.so
DAEMON=$B/daemon/memreclaimd
CTL=$B/ctl/memreclaimctl
PROG=$B/tests/system/prof_hold

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -f "$TMP/daemon.log" ] && tail -n 20 "$TMP/daemon.log"; exit 1; }
log() { echo "profile: $*"; }

command -v go >/dev/null || skip "go tool pprof missing (Debian golang-go)"
command -v google-pprof >/dev/null || skip "google-pprof missing (Debian google-perftools)"
grep -q '^#define MR_SANITIZED' "$B/config.h" 2>/dev/null &&
	skip "sanitizer build: the preload library is not usable"
[ -x "$PROG" ] || fail "$PROG not built"

TMP=$(mktemp -d /tmp/sys-profile.XXXXXX)
DPID='' HPID=''
cleanup() {
	trap - EXIT INT TERM
	for p in $HPID $DPID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export GOCACHE=$TMP/gocache HOME=$TMP

# mib TOOL_OUTPUT FUNCTION: the flat figure of FUNCTION in MiB (pprof's
# MB and google-pprof's MB are both 2^20 bytes).
mib() {
	awk -v f="$2" '$NF == f {
		v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
		if (u == "kB") v /= 1024; else if (u == "GB") v *= 1024
		else if (u == "B") v /= 1048576
		print v; exit }' "$1"
}
# check OUTPUT LABEL: both functions within 20%, churn absent.
check() {
	local big small
	big=$(mib "$1" hold_big) small=$(mib "$1" hold_small)
	log "$2: hold_big ${big:-?} MiB, hold_small ${small:-?} MiB"
	[ -n "$big" ] && [ -n "$small" ] || { cat "$1"; fail "$2: a function is missing"; }
	awk -v b="$big" -v s="$small" 'BEGIN { exit !(b >= 51.2 && b <= 76.8 && s >= 6.4 && s <= 9.6) }' ||
		{ cat "$1"; fail "$2: estimates not within 20% of 64 and 8 MiB"; }
	if awk '$NF == "churn" && $1 + 0 > 0 { found = 1 } END { exit !found }' "$1"; then
		cat "$1"; fail "$2: freed objects (churn) still in use"
	fi
}

# 1. At exit, both formats.
env LD_PRELOAD="$LIB" MEMRECLAIM_DAEMON=0 MEMRECLAIM_PROF=1 \
	MEMRECLAIM_PROF_FILE="$TMP/exit.pb.gz" "$PROG" || fail "prof_hold failed"
gzip -t "$TMP/exit.pb.gz" || fail "not a gzip file"
go tool pprof -top "$PROG" "$TMP/exit.pb.gz" > "$TMP/go.txt" 2>&1
check "$TMP/go.txt" "exit, go tool pprof"
# The program's mapping carries its GNU build id, as readelf reads it from
# the file, so that pprof can match symbol files.
want=$(LC_ALL=C readelf -n "$PROG" 2>/dev/null | awk '/Build ID:/ { print $3; exit }')
if [ -n "$want" ]; then
	go tool pprof -raw "$PROG" "$TMP/exit.pb.gz" 2>&1 |
		awk -v p="$PROG" '/^Mappings/ { m = 1 } m && $3 == p { print $4 }' > "$TMP/bid"
	log "build id of prof_hold: file $want, profile $(cat "$TMP/bid")"
	[ "$(cat "$TMP/bid")" = "$want" ] || fail "build id missing or wrong in the profile's mapping"
else
	log "readelf missing or no build id in $PROG: build id not checked"
fi
env LD_PRELOAD="$LIB" MEMRECLAIM_DAEMON=0 MEMRECLAIM_PROF=1 \
	MEMRECLAIM_PROF_FORMAT=text MEMRECLAIM_PROF_FILE="$TMP/exit.heap" \
	"$PROG" || fail "prof_hold failed"
google-pprof --text "$PROG" "$TMP/exit.heap" > "$TMP/gp.txt" 2>&1
check "$TMP/gp.txt" "exit, google-pprof"

# 2. From the running process, through memreclaimd.
[ -x "$DAEMON" ] || { log "no memreclaimd built: daemon part skipped"; exit 0; }
SOCK=$TMP/memreclaimd.sock
printf '[memreclaimd]\nsocket = %s\nmetrics =\n' "$SOCK" > "$TMP/conf"
"$DAEMON" -d -v -t 300 -f "$TMP/conf" >>"$TMP/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || fail "memreclaimd did not create $SOCK"
mkfifo "$TMP/in"
env LD_PRELOAD="$LIB" MEMRECLAIM_SOCKET="$SOCK" MEMRECLAIM_PROF=1 \
	MEMRECLAIM_STATS_INTERVAL_MS=100 "$PROG" wait < "$TMP/in" > "$TMP/out" &
HPID=$!
exec 3> "$TMP/in"
for _ in $(seq 100); do
	grep -q ready "$TMP/out" && "$CTL" -s "$SOCK" --json clients 2>/dev/null |
		grep -q "\"pid\":$HPID," && break
	sleep 0.1
done
"$CTL" -s "$SOCK" profile "$HPID" > "$TMP/ctl.pb.gz" 2> "$TMP/ctl.err" ||
	{ cat "$TMP/ctl.err"; fail "memreclaimctl profile failed"; }
log "memreclaimctl: $(cat "$TMP/ctl.err")"
go tool pprof -top "$PROG" "$TMP/ctl.pb.gz" > "$TMP/go2.txt" 2>&1
check "$TMP/go2.txt" "memreclaimctl, go tool pprof"
"$CTL" -s "$SOCK" profile text "$HPID" > "$TMP/ctl.heap" 2>/dev/null ||
	fail "memreclaimctl profile text failed"
google-pprof --text "$PROG" "$TMP/ctl.heap" > "$TMP/gp2.txt" 2>&1
check "$TMP/gp2.txt" "memreclaimctl, google-pprof"
exec 3>&-
wait "$HPID" || fail "prof_hold failed"
HPID=''

# 3. Sampling switched on, then off, at run time through memreclaimctl:
# prof_hold late starts without MEMRECLAIM_PROF and allocates only once
# the switch has reached it; what it allocates after the switch off
# (hold_more) must not be in the profile.
mkfifo "$TMP/in2"
env LD_PRELOAD="$LIB" MEMRECLAIM_SOCKET="$SOCK" \
	MEMRECLAIM_STATS_INTERVAL_MS=100 "$PROG" late < "$TMP/in2" > "$TMP/out2" &
HPID=$!
exec 4> "$TMP/in2"
for _ in $(seq 100); do
	"$CTL" -s "$SOCK" --json clients 2>/dev/null | grep -q "\"pid\":$HPID," && break
	sleep 0.1
done
"$CTL" -s "$SOCK" prof "$HPID" on > /dev/null || fail "prof on refused"
echo on >&4
for _ in $(seq 100); do grep -q ready "$TMP/out2" && break; sleep 0.1; done
grep -q ready "$TMP/out2" || fail "prof_hold late: $(cat "$TMP/out2")"
"$CTL" -s "$SOCK" profile "$HPID" > "$TMP/late.pb.gz" 2>/dev/null ||
	fail "memreclaimctl profile (switched on) failed"
go tool pprof -top "$PROG" "$TMP/late.pb.gz" > "$TMP/go3.txt" 2>&1
check "$TMP/go3.txt" "switched on by memreclaimctl"
"$CTL" -s "$SOCK" prof "$HPID" off > /dev/null || fail "prof off refused"
echo off >&4
for _ in $(seq 100); do [ "$(grep -c ready "$TMP/out2")" = 2 ] && break; sleep 0.1; done
[ "$(grep -c ready "$TMP/out2")" = 2 ] || fail "prof_hold late: $(cat "$TMP/out2")"
"$CTL" -s "$SOCK" profile "$HPID" > "$TMP/off.pb.gz" 2>/dev/null ||
	fail "memreclaimctl profile (switched off) failed"
go tool pprof -top "$PROG" "$TMP/off.pb.gz" > "$TMP/go4.txt" 2>&1
check "$TMP/go4.txt" "switched off by memreclaimctl"
if awk '$NF == "hold_more" { found = 1 } END { exit !found }' "$TMP/go4.txt"; then
	cat "$TMP/go4.txt"; fail "allocations after the switch off were sampled"
fi
log "switched off: hold_more (64 MiB) not sampled"
exec 4>&-
wait "$HPID" || fail "prof_hold late failed"
HPID=''
log "ok"
