#!/bin/bash
# Heap profiles through memreclaimd with hostile peers, over its real
# socket.  prof_peer is a library client written against the protocol
# alone; each bad mode answers `memreclaimctl profile` with a malformed,
# oversized or out-of-order PROF_DATA/PROF_END (or none at all), after a
# valid first frame.  For each: the daemon drops that client only, the
# asker gets an error and no byte on stdout (never part of a profile), and
# a good client's profile still arrives whole.  Then who may ask: the
# process's owner (a non-root user, through setpriv) and root may, another
# user may not, for a dump or a switch.  Requests for a profile with a bad
# kind, pid or cgroup field drop the asker.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"

PEER=$B/tests/system/prof_peer
WANT="memreclaim test profile: every byte must arrive"
[ -x "$PEER" ] || fail "$PEER not built"
command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"

# pid_registered PID: memreclaimctl lists it
pid_registered() {
	"$CTL" -s "$SOCK" --json clients 2>/dev/null | grep -q "\"pid\":$1,"
}

start_daemon "socket_mode = 0666
watch = no"

# The good client, owned by nobody (65534), for the permission checks too.
setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$PEER" -s "$SOCK" -d 100 good > "$T/good.out" 2>&1 &
GOOD=$!
PIDS="$PIDS $GOOD"
wait_for 10 pid_registered "$GOOD" || fail "good peer not registered"

# good_profile: the good client's profile arrives whole
good_profile() {
	"$CTL" -s "$SOCK" profile text "$GOOD" > "$T/good.prof" 2> "$T/good.err" ||
		fail "$1: profile of the good client failed: $(cat "$T/good.err")"
	[ "$(cat "$T/good.prof")" = "$WANT" ] ||
		fail "$1: good profile is not whole: '$(cat "$T/good.prof")'"
}
good_profile "at start"

drops=0
for mode in zero long tail short big endbytes endstatus wrongtype twice \
    flood stall; do
	"$PEER" -s "$SOCK" -d 30 "$mode" > "$T/$mode.out" 2>&1 &
	BAD=$!
	PIDS="$PIDS $BAD"
	wait_for 10 pid_registered "$BAD" || fail "$mode: peer not registered"
	rc=0
	timeout 30 "$CTL" -s "$SOCK" profile text "$BAD" > "$T/$mode.prof" \
		2> "$T/$mode.err" || rc=$?
	echo "$mode: memreclaimctl exit $rc, $(wc -c < "$T/$mode.prof") bytes on stdout, stderr: $(tr '\n' ' ' < "$T/$mode.err")"
	if [ "$mode" = twice ]; then
		# the profile itself was whole; the second PROF_END is the
		# hostile frame, after it
		[ "$rc" = 0 ] || fail "twice: the whole profile was refused"
		[ "$(cat "$T/$mode.prof")" = "$WANT" ] || fail "twice: profile not whole"
	else
		[ "$rc" = 1 ] || fail "$mode: memreclaimctl exit $rc, not 1 (an error)"
		[ -s "$T/$mode.prof" ] && fail "$mode: bytes on stdout after an error"
		grep -q "memreclaimctl: profile" "$T/$mode.err" ||
			fail "$mode: no error message: $(cat "$T/$mode.err")"
	fi
	if [ "$mode" = flood ]; then
		# the daemon ends a dump past MR_PROTO_PROF_MAX (-EFBIG)
		# before memreclaimctl's own cap is reached
		grep -q "profile: File too large" "$T/$mode.err" ||
			fail "flood: the daemon did not end the oversized dump"
	fi
	if [ "$mode" = stall ]; then
		# a client that never answers is not dropped, only its dump
		# ends (-ETIMEDOUT); its late answer would then be dropped
		grep -q "profile: Connection timed out" "$T/$mode.err" ||
			fail "stall: the daemon did not end the dump"
		kill "$BAD" 2>/dev/null
		wait "$BAD" 2>/dev/null
		continue
	fi
	wait "$BAD" || fail "$mode: peer was not dropped: $(cat "$T/$mode.out")"
	grep -q dropped "$T/$mode.out" || fail "$mode: $(cat "$T/$mode.out")"
	drops=$((drops + 1))
	kill -0 "$DPID" || fail "$mode: daemon died"
	good_profile "after $mode"
done

# PROF_DATA nobody asked for
"$PEER" -s "$SOCK" -d 10 unasked > "$T/unasked.out" 2>&1 ||
	fail "unasked: peer was not dropped: $(cat "$T/unasked.out")"
drops=$((drops + 1))
good_profile "after unasked"

# Bad requests for a profile, as memreclaimctl would send them
for mode in askkind askpid askcgroup; do
	"$PEER" -s "$SOCK" -d 10 -p "$GOOD" "$mode" > "$T/$mode.out" 2>&1 ||
		fail "$mode: asker was not dropped: $(cat "$T/$mode.out")"
	drops=$((drops + 1))
	good_profile "after $mode"
done

st=$("$CTL" -s "$SOCK" --json status) || fail "status after attacks"
[ "$(echo "$st" | jfield clients)" = 1 ] || fail "clients left: $st"
[ "$(echo "$st" | jfield clients_dropped)" = "$drops" ] ||
	fail "$drops peers dropped, the daemon counted: $st"
echo "daemon: $st"

# Who may ask.  The owner (nobody) may, for a dump and a switch.
setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$CTL" -s "$SOCK" profile text "$GOOD" > "$T/owner.prof" 2> "$T/owner.err" ||
	fail "the owner was refused its profile: $(cat "$T/owner.err")"
[ "$(cat "$T/owner.prof")" = "$WANT" ] || fail "owner's profile not whole"
setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$CTL" -s "$SOCK" prof "$GOOD" off > "$T/owner.set" 2>&1 ||
	fail "the owner may not switch sampling: $(cat "$T/owner.set")"
# Another user may not (65533: not the owner, not an operator).
for req in "profile $GOOD" "profile text $GOOD" "prof $GOOD on"; do
	if setpriv --reuid=65533 --regid=65533 --clear-groups \
	    "$CTL" -s "$SOCK" $req > "$T/other.prof" 2> "$T/other.err"; then
		fail "another user was answered: $req"
	fi
	[ -s "$T/other.prof" ] && fail "another user got bytes: $req"
	grep -q "not allowed" "$T/other.err" || fail "$req: $(cat "$T/other.err")"
done
# Root (an operator) may.
"$CTL" -s "$SOCK" prof "$GOOD" on 262144 > /dev/null || fail "root may not switch"
good_profile "root"
kill -0 "$GOOD" || fail "the good client was dropped"
# the switches reached it: the owner's off, root's on at 256 KiB, no other
[ "$(grep '^set' "$T/good.out" | tr '\n' ' ')" = "set 0 set 262144 " ] ||
	fail "switches the good client got: $(cat "$T/good.out")"
echo "ok: $drops hostile peers dropped, the good one served throughout"
