#!/bin/bash
# memreclaimd against local users who try to take it over or wear it down
# (issue 10), each over the real socket:
#  - out of descriptors (hard RLIMIT_NOFILE 40, 60 connections): the
#    daemon pauses accepting instead of spinning on the listening socket
#    (CPU and log stay small) and serves again when they leave; it raises
#    its soft limit to the hard one at start;
#  - one user opening more than max_clients_per_uid is refused past it,
#    in a rate-limited log, while root's memreclaimctl is served;
#  - control: a socket_group member through a supplementary group is an
#    operator, a process with egid 0 alone is not; client_group limits
#    who may register, and the refused read their BYE, not a reset;
#  - STATUS or CLIENTS sent and the connection closed at once, 400 times:
#    the daemon keeps answering (the old use-after-free);
#  - TRIM_DONE repeated for one TRIM: counted once, the client dropped;
#  - a connection whose connecting process exited (a child kept it) is
#    dropped at HELLO, not attached to whatever now has that pid;
#  - a socket directory others may write: the daemon refuses to start.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"
POKE=$B/tests/system/mrdpoke
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
command -v setpriv >/dev/null || skip "setpriv missing"
[ "$(id -u)" = 0 ] || skip "needs root to act as other users"
GRP=adm
GID=$(getent group "$GRP" | cut -d: -f3)
[ -n "$GID" ] || skip "no group $GRP"

# cpu_ticks PID: utime + stime of a process, in clock ticks
cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# 1. Out of descriptors.  The daemon itself needs about 10; 60
#    connections on a hard limit of 40 leave many in the backlog.
printf '[memreclaimd]\nsocket = %s\nmetrics =\nsocket_mode = 0666\n' \
	"$SOCK" >"$T/mrd.conf"
prlimit --nofile=40:40 "$MRD" -d -v -f "$T/mrd.conf" -t 120 \
	2>"$T/daemon.log" &
DPID=$!
wait_for 10 "$CTL" -s "$SOCK" status >/dev/null 2>&1 || fail "daemon not ready"
"$POKE" -s "$SOCK" hold 60 6 >"$T/hold.out" &
HOLD=$!
PIDS="$PIDS $HOLD"
sleep 2
t0=$(cpu_ticks "$DPID")
l0=$(wc -l <"$T/daemon.log")
sleep 3
t1=$(cpu_ticks "$DPID")
l1=$(wc -l <"$T/daemon.log")
hz=$(getconf CLK_TCK)
echo "out of descriptors: $((t1 - t0)) ticks of CPU (of $((3 * hz))) and" \
	"$((l1 - l0)) log lines in 3 s"
[ $((t1 - t0)) -lt $((3 * hz / 5)) ] ||
	fail "spinning while out of descriptors: $((t1 - t0)) ticks in 3 s"
[ $((l1 - l0)) -lt 50 ] || fail "$((l1 - l0)) log lines in 3 s"
grep -q "not accepting for" "$T/daemon.log" || fail "no pause logged"
wait "$HOLD"
wait_for 10 "$CTL" -s "$SOCK" status >/dev/null 2>&1 ||
	fail "not serving after the connections left"
kill "$DPID"
wait "$DPID" 2>/dev/null
DPID=

#    and at start the soft limit is raised to the hard one
prlimit --nofile=100:2048 "$MRD" -d -f "$T/mrd.conf" -t 5 2>"$T/nofile.log" &
DPID=$!
wait_for 10 "$CTL" -s "$SOCK" status >/dev/null 2>&1 || fail "daemon not ready"
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$DPID/limits")
[ "$soft" = 2048 ] || fail "descriptor soft limit $soft, not raised to 2048"
kill "$DPID"
wait "$DPID" 2>/dev/null
DPID=

# 2-4: one daemon with fair-share and group settings
start_daemon "socket_mode = 0666
metrics =
max_clients_per_uid = 5
socket_group = $GRP
client_group = $GRP
tick_ms = 200
watch = no"

# 2. per-uid cap: nobody (in client_group) opens 12, gets 5
setpriv --reuid=65534 --regid=65534 --groups="$GID" "$POKE" -s "$SOCK" hold 12 3 >"$T/cap.out" &
CAP=$!
PIDS="$PIDS $CAP"
wait_for 5 grep -q open "$T/cap.out" || fail "hold did not report"
grep -qx "open 5 refused 7" "$T/cap.out" || fail "cap: $(cat "$T/cap.out")"
"$CTL" -s "$SOCK" status >/dev/null || fail "root refused while a user is capped"
n=$(grep -c "refused: max_clients_per_uid" "$T/daemon.log")
[ "$n" -le 2 ] || fail "$n refusal lines for 7 refusals: not rate-limited"
wait "$CAP"

# 3. control: supplementary group yes, egid 0 alone no, nobody no
setpriv --reuid=65534 --regid=65534 --groups="$GID" \
	"$CTL" -s "$SOCK" status >/dev/null 2>&1 ||
	fail "socket_group member (supplementary) refused control"
setpriv --reuid=65534 --regid=0 --clear-groups \
	"$CTL" -s "$SOCK" status >/dev/null 2>&1 &&
	fail "egid 0 alone was given control"
$NOBODY "$CTL" -s "$SOCK" status >/dev/null 2>&1 &&
	fail "nobody was given control"

#    registration: outside client_group refused at HELLO
touch "$T/out.ev" && chmod 666 "$T/out.ev"
timeout 10 $NOBODY "$FAKE" -s "$SOCK" -e "$T/out.ev" -d 2
grep -q "^BYE 5" "$T/out.ev" || fail "registration outside client_group: $(cat "$T/out.ev")"
#    and the BYE is readable: the daemon reads the frames sent with HELLO
#    before it closes (a close with frames unread resets the connection,
#    and the library, its STATS sent with its HELLO, read ECONNRESET)
r=$($NOBODY "$POKE" -s "$SOCK" refused 50)
[ "$r" = "bye 5 50 reset 0 other 0" ] || fail "refusal at HELLO: $r, want 50 BYE 5"
#    counted and said once, as a refusal (not as a misbehaving client)
grep -q "refused: not a member of client_group" "$T/daemon.log" ||
	fail "no log line for the client_group refusal"

# 4. control requests sent and closed at once
"$POKE" -s "$SOCK" ctlclose 400 >/dev/null
kill -0 "$DPID" 2>/dev/null || fail "daemon died after STATUS-and-close"
# The 400 connections are reaped at the end of the daemon's loop turns;
# until then they (root's, so operators') may hold every slot.
wait_for 10 "$CTL" -s "$SOCK" status >/dev/null 2>&1 ||
	fail "no answer after STATUS-and-close"

# 5. TRIM_DONE repeated
"$POKE" -s "$SOCK" trimdone 5 >"$T/td.out" &
TD=$!
PIDS="$PIDS $TD"
wait_for 5 sh -c "'$CTL' -s '$SOCK' --json clients | grep -q '\"pid\":$TD'" ||
	fail "trimdone client not registered"
"$CTL" -s "$SOCK" trim "$TD" 1MiB >/dev/null || fail "operator trim"
wait "$TD"
# dropped: a BYE PROTOCOL, or a reset when the repeats were still unread
grep -qxE "bye 2|closed" "$T/td.out" ||
	fail "repeated TRIM_DONE: $(cat "$T/td.out")"
st=$("$CTL" -s "$SOCK" --json status)
[ "$(echo "$st" | jfield trim_bytes_released)" = 1048576 ] ||
	fail "TRIM_DONE counted more than once: $st"

# 6. the connecting process exits and a child holding the connection
#    registers: the daemon must not look up the parent's pid
#    (it may be reused by anyone): it drops the connection
"$POKE" -s "$SOCK" orphan | cat >"$T/orphan.out"
grep -qx dropped "$T/orphan.out" || fail "orphaned connection: $(cat "$T/orphan.out")"

# 7. socket in a directory others may write
mkdir -m 0777 "$T/open"
chmod 0777 "$T/open"
printf '[memreclaimd]\nsocket = %s/open/s.sock\nmetrics =\n' "$T" >"$T/open.conf"
if timeout 10 "$MRD" -d -f "$T/open.conf" -t 2 2>"$T/open.log"; then
	fail "started with its socket in a world-writable directory"
fi
grep -q "not permitted" "$T/open.log" || fail "$(cat "$T/open.log")"

echo "PASS: descriptor pause, per-uid cap, operator groups, client_group," \
	"STATUS-and-close, single TRIM_DONE, orphaned connection, socket directory"
