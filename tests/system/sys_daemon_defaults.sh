#!/bin/bash
# memreclaimd as a plain `memreclaimd` starts it: no config file (the
# built-in defaults), detached (daemon(3): its own session, logging to
# syslog), on the default socket and the default metrics port.
#  - the default metrics port (127.0.0.1:9464) already taken: the daemon
#    warns (a syslog message of facility daemon, priority warning, naming
#    the port) and runs on without metrics; memreclaimctl reaches it on
#    the default socket, and its status shows the built-in tick (1000 ms);
#    its "ready" message reaches syslog with its pid;
#  - the port free: the same daemon (foreground) serves /metrics on it.
# So that nothing on this host is touched, the test runs in its own mount
# and network namespaces (unshare -mn): a tmpfs on /run (the default
# socket's folder), a tmpfs on /dev holding null/zero/urandom and a
# /dev/log socket of our own (a python3 listener standing in for the
# syslog daemon), and a loopback of its own for the port.
# Exits 77 without root, unshare, ip or python3, or when this host has an
# /etc/memreclaim.conf (the defaults could not be tested).
if [ -z "${MRD_DEFAULTS_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
	for c in unshare ip python3; do
		command -v $c >/dev/null || { echo "SKIP: $c missing"; exit 77; }
	done
	[ -e /etc/memreclaim.conf ] &&
		{ echo "SKIP: this host has /etc/memreclaim.conf"; exit 77; }
	MRD_DEFAULTS_NS=1 exec unshare -m -n --propagation private \
		"$BASH" "$0" "$@"
	echo "SKIP: unshare failed"
	exit 77
fi
# inside the namespaces: the new /dev first (daemon_lib needs /dev/null)
mount -t tmpfs -o mode=755 tmpfs /dev || { echo "SKIP: cannot mount /dev"; exit 77; }
mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 &&
	mknod -m 666 /dev/urandom c 1 9 || { echo "SKIP: mknod"; exit 77; }
mount -t tmpfs -o mode=755 tmpfs /run || { echo "SKIP: cannot mount /run"; exit 77; }
ip link set lo up || { echo "SKIP: no loopback in the namespace"; exit 77; }
unset MEMRECLAIM_SOCKET NOTIFY_SOCKET

. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"
PORT=9464
DEFSOCK=/run/memreclaim/memreclaimd.sock

# the syslog daemon: every datagram on /dev/log, one per line
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.settimeout(0.2)
out = open(sys.argv[1], "a")
end = time.time() + 60
while time.time() < end:
	try:
		out.write(s.recv(4096).decode(errors="replace").rstrip("\n\0") + "\n")
		out.flush()
	except socket.timeout:
		pass' "$T/syslog" &
PIDS="$PIDS $!"
# the port's squatter
python3 -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 9464))
s.listen(1)
open("/run/squat", "w").close()
time.sleep(60)' &
SQUAT=$!
PIDS="$PIDS $SQUAT"
wait_for 5 test -S /dev/log -a -e /run/squat || fail "helpers did not start"

# detached, no config: the parent returns at once, the daemon lives on
"$MRD" -t 20 || fail "memreclaimd (detached) exited with $?"
wait_for 10 test -S $DEFSOCK || fail "no socket at the default $DEFSOCK"
"$CTL" --json status > "$T/status.json" || fail "memreclaimctl on the default socket"
DET=$(python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["tick_ms"] == 1000, o   # the built-in default
print(o["pid"])' "$T/status.json") || fail "status: $(cat "$T/status.json")"
PIDS="$PIDS $DET"
# daemon(3): a session of its own, no terminal
sid=$(awk '{ print $6 }' "/proc/$DET/stat")
[ "$sid" = "$DET" ] || fail "the detached daemon is in session $sid, not its own"
ready() { grep -q "^<30>.*memreclaimd\[$DET\]: .*ready on $DEFSOCK" "$T/syslog"; }
wait_for 5 ready || fail "no 'ready' (daemon.info) in syslog: $(cat "$T/syslog")"
grep -q "built-in defaults" "$T/syslog" ||
	fail "syslog does not say the built-in defaults run: $(cat "$T/syslog")"
grep -q "^<28>.*memreclaimd\[$DET\]: .*127.0.0.1:$PORT" "$T/syslog" ||
	fail "no warning (daemon.warning) about the busy port $PORT: $(cat "$T/syslog")"
# and it runs on without metrics
"$CTL" status > /dev/null || fail "the daemon did not survive the busy port"
kill -TERM "$DET"
wait_for 5 sh -c "! kill -0 $DET 2>/dev/null" || fail "the detached daemon ignored SIGTERM"

# the port free: the defaults serve metrics there
kill -9 $SQUAT
wait $SQUAT 2>/dev/null
"$MRD" -d -t 20 2>"$T/daemon.log" &
DPID=$!
wait_for 10 sh -c "'$CTL' status >/dev/null 2>&1" || fail "foreground daemon not ready"
page() { http_get /metrics | tr -d '\r' | grep -q '^memreclaim_loop_cycles_total [0-9]'; }
wait_for 5 page || fail "no metrics on the default port $PORT: $(cat "$T/daemon.log")"
echo "PASS: detached pid $DET in its own session, syslog ready + busy-port warning, built-in tick 1000 ms; metrics on :$PORT once free"
exit 0
