#!/bin/bash
# A service that is not root and may not use the daemon's socket is told
# why, in one line, under MEMRECLAIM_TRACE and in mr_stats_get (read here
# from MEMRECLAIM_STATS=json): the real memreclaimd, its socket 0660
# root:nogroup, and python3 preloaded with libmemreclaim run as nobody
#  1. with no group of the socket's (gid 12345): EACCES, the line names
#     the socket's mode and group and the uid;
#  2. as nogroup (the socket's group): it registers, no error;
#  3. against a daemon whose socket anyone may open (0666) but that admits
#     only client_group = daemon (socket_group members would count too):
#     refused at HELLO, and the line says so;
#  4. against a stale socket (nobody listening): ECONNREFUSED.
# Needs root and setpriv; skips (77) otherwise.
. "$(dirname "$0")/daemon_lib.sh"

LIB=$B/lib/.libs/libmemreclaim.so
[ "$(id -u)" = 0 ] || skip "needs root (setpriv to nobody)"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
command -v python3 >/dev/null || skip "python3 not installed"
grep -q '^#define MR_SANITIZED' "$B/config.h" 2>/dev/null &&
	skip "sanitizer build: the preload library is not usable"
[ -f "$LIB" ] || fail "$LIB not built"
LIB=$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")
getent group nogroup >/dev/null || skip "no group nogroup"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no /usr/bin/python3"

# as_nobody TAG GID SOCKET: python3 sleeping 1 s (not sleep(1): coreutils
# close stderr at exit, before the summary) as uid 65534, gid GID, no other
# groups, the library preloaded; stderr in $T/TAG.err, the JSON line in
# $T/TAG.json.
as_nobody() {
	timeout 30 setpriv --reuid=65534 --regid="$2" --clear-groups \
		env LD_PRELOAD="$LIB" MEMRECLAIM_SOCKET="$3" MEMRECLAIM_TRACE=1 \
		MEMRECLAIM_STATS=json "$PY" -c 'import time; time.sleep(1)' \
		2>"$T/$1.err"
	grep '^{' "$T/$1.err" >"$T/$1.json"
	[ "$(wc -l <"$T/$1.json")" = 1 ] || fail "$1: want one JSON line: $(cat "$T/$1.err")"
}
# jq_daemon TAG EXPR: evaluate EXPR on the JSON's "daemon" object (d)
jq_daemon() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["daemon"]; print(eval(sys.argv[2]))' \
		"$T/$1.json" "$2"
}

start_daemon "socket_group = nogroup
metrics ="
mode=$(stat -c '%a %G' "$SOCK")
[ "$mode" = "660 nogroup" ] || fail "socket is $mode, want 660 nogroup"

# 1. not in the socket's group
as_nobody denied 12345 "$SOCK"
want="daemon: cannot connect to $SOCK: permission denied (socket 0660 gid 65534; uid 65534 is not in that group: add it, e.g. to group memreclaim)"
n=$(grep -cF "$want" "$T/denied.err")
[ "$n" = 1 ] || fail "denied: the reason was said $n times, want once: $(cat "$T/denied.err")"
grep -q "^memreclaim: python3[^ ]*\[[0-9]*\]: daemon: cannot connect" "$T/denied.err" ||
	fail "denied: the line does not name the process"
[ "$(jq_daemon denied 'd["error"]')" = -13 ] || fail "denied: daemon_error is not -EACCES"
[ "$(jq_daemon denied 'd["connected"]')" = False ] || fail "denied: connected"
jq_daemon denied '"permission denied" in d["error_msg"]' | grep -qx True ||
	fail "denied: error_msg: $(jq_daemon denied 'd["error_msg"]')"
echo "denied: $(grep -F 'daemon:' "$T/denied.err" | head -n 1)"

# 2. in the socket's group: registers
as_nobody allowed nogroup "$SOCK"
[ "$(jq_daemon allowed 'd["connects"] >= 1 and d["error"] == 0')" = True ] ||
	fail "allowed: not registered: $(cat "$T/allowed.err")"
grep -q 'daemon: connected to memreclaimd' "$T/allowed.err" ||
	fail "allowed: no trace of the registration"
echo "allowed: $(grep -F 'daemon:' "$T/allowed.err" | head -n 1)"

# 3. the daemon admits only client_group members
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=
rm -f "$SOCK"
start_daemon "socket_mode = 0666
client_group = daemon
metrics ="
as_nobody refused nogroup "$SOCK"
# the BYE's reason, also when the close broke the link first (the STATS
# sent after the daemon closed fails with EPIPE; a close with our STATS
# unread is reported as ECONNRESET ahead of the BYE): the library reads
# the BYE behind the break
grep -qF "daemon: memreclaimd refused this client (not a member of its client_group)" \
	"$T/refused.err" || fail "refused: no reason: $(cat "$T/refused.err")"
n=$(grep -c 'daemon: ' "$T/refused.err")
[ "$n" -le 3 ] || fail "refused: $n daemon lines for one refusal, retried: $(cat "$T/refused.err")"
[ "$(jq_daemon refused 'd["error"]')" = -104 ] || fail "refused: daemon_error is not -ECONNRESET"
echo "refused: $(grep -F "daemon: memreclaimd" "$T/refused.err" | head -n 1)"

# 4. a stale socket: nobody listens
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).bind(sys.argv[1])' \
	"$T/stale.sock"
chmod 666 "$T/stale.sock"
as_nobody stale nogroup "$T/stale.sock"
grep -qF "daemon: cannot connect to $T/stale.sock: connection refused (stale socket: memreclaimd not running)" \
	"$T/stale.err" || fail "stale: $(cat "$T/stale.err")"
[ "$(jq_daemon stale 'd["error"]')" = -111 ] || fail "stale: daemon_error is not -ECONNREFUSED"
echo "stale: $(grep -F 'daemon:' "$T/stale.err" | head -n 1)"
echo PASS
