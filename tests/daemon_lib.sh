# daemon_lib.sh: shared by the memreclaimd integration tests.
# Starts the real daemon on a temporary socket with a bounded run time,
# and cleans up processes (and the caller's cgroups) on any exit.

set -u
B=${top_builddir:-..}
MRD=$B/daemon/memreclaimd
CTL=$B/daemon/memreclaimctl
FAKE=$B/tests/fakeclient
T=$(mktemp -d /tmp/mrd-test.XXXXXX)
chmod 755 "$T"
SOCK=$T/mrd.sock
PIDS=
DPID=

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$T/daemon.log" ]; then
		echo "--- daemon log:" >&2
		tail -n 60 "$T/daemon.log" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# extra cleanup commands (cgroups) are appended to CLEANUP by the caller
CLEANUP=:
cleanup() {
	local p
	for p in $PIDS $DPID; do
		kill -9 "$p" 2>/dev/null
	done
	for p in $PIDS $DPID; do
		wait "$p" 2>/dev/null
	done
	eval "$CLEANUP"
	rm -rf "$T"
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
