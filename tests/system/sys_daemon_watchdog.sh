#!/bin/bash
# memreclaimd under systemd's watchdog (WatchdogSec=): with NOTIFY_SOCKET
# and WATCHDOG_USEC set as systemd sets them, READY=1 arrives and then
# WATCHDOG=1 at least every half of WATCHDOG_USEC, even when the daemon is
# idle and its tick is far longer than the timeout (the loop must wake up to
# ping); with no WATCHDOG_USEC no ping is sent.  notifysink stands in for
# systemd's notification socket.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"

# run_daemon NAME: the daemon for 3 s with an idle 10 s tick; NAME.out
# gets the notifications
run_daemon() {
	"$B/tests/system/notifysink" "$T/$1" 30 > "$T/$1.out" &
	NPID=$!
	PIDS="$PIDS $NPID"
	wait_for 5 test -S "$T/$1" || fail "notifysink did not start"
	NOTIFY_SOCKET=$T/$1 start_daemon "tick_ms = 10000
watch = no"
	sleep 3
	kill -TERM "$DPID"
	wait "$DPID"
	DPID=
	wait_for 5 grep -q '^STOPPING=1' "$T/$1.out" ||
		fail "$1: no STOPPING=1: $(cat "$T/$1.out")"
}

# 400 ms: a ping is due every 200 ms, so about 15 in 3 s; an epoll wait of
# the usual 1 s would give 3
WATCHDOG_USEC=400000 run_daemon wd
grep -q 'systemd watchdog: 400 ms' "$T/daemon.log" ||
	fail "the daemon did not log the watchdog"
[ "$(head -n 1 "$T/wd.out")" = READY=1 ] ||
	fail "READY=1 is not the first notification: $(head -n 3 "$T/wd.out")"
n=$(grep -c '^WATCHDOG=1$' "$T/wd.out")
echo "WATCHDOG=1 pings in 3 s with WATCHDOG_USEC=400000: $n"
[ "$n" -ge 10 ] || fail "only $n WATCHDOG=1 in 3 s (want >= 10)"

# no watchdog asked for: none sent
run_daemon plain
grep -q '^READY=1$' "$T/plain.out" || fail "no READY=1 without the watchdog"
if grep -q WATCHDOG "$T/plain.out"; then
	fail "WATCHDOG=1 sent with no WATCHDOG_USEC"
fi
echo "PASS: READY=1, then $n watchdog pings; none without WATCHDOG_USEC"
