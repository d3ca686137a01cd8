#!/bin/bash
# Soak: 100 real library clients (e2e_holder preloaded with
# libmemreclaim.so, each living 1 to 4 s, replaced as they exit) connect,
# report, are trimmed by an operator every 2 s, and leave, while
# memreclaimctl polls status, clients and cgroups twice a second.  The
# daemon's RSS and descriptor count must stay flat, and it must log
# nothing at warning level or above (it runs at log_level = warning).
#
# MR_SOAK_SECONDS sets the duration: 30 in `make check` and tests/run
# (CI time), 120 in `make soak` (the release check).
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"
SOAK=${MR_SOAK_SECONDS:-30}
NCLIENTS=${MR_SOAK_CLIENTS:-100}
MRLIB=$B/lib/.libs/libmemreclaim.so
HOLDER=$B/tests/system/e2e_holder
[ -f "$MRLIB" ] || fail "$MRLIB not built"

make_cgroup "mrd-soak-$$" $((4 << 30))
printf '[memreclaimd]\nsocket = %s\nmetrics =\nlog_level = warning\ntick_ms = 200\n' \
	"$SOCK" >"$T/mrd.conf"
"$MRD" -d -f "$T/mrd.conf" -t $((SOAK + 120)) 2>"$T/daemon.log" &
DPID=$!
wait_for 10 "$CTL" -s "$SOCK" status >/dev/null 2>&1 || fail "daemon not ready"

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }
nfd() { ls "/proc/$DPID/fd" | wc -l; }
fd0=$(nfd)
end=$((SECONDS + SOAK))

# one slot: a client after another until the end
slot() {
	while [ $SECONDS -lt $end ]; do
		MEMRECLAIM_SOCKET=$SOCK MEMRECLAIM_STATS_INTERVAL_MS=200 \
			LD_PRELOAD=$MRLIB "$HOLDER" -o "$T/h.$1" -a 4 -k 1 \
			-t $((1 + RANDOM % 4)) >/dev/null 2>&1
	done
}
i=0
while [ $i -lt "$NCLIENTS" ]; do
	in_cgroup bash -c "end=$end; SECONDS=$SECONDS; $(declare -f slot);
		SOCK='$SOCK' MRLIB='$MRLIB' HOLDER='$HOLDER' T='$T' slot $i"
	PIDS="$PIDS $!"
	i=$((i + 1))
done

: >"$T/samples"
polls=0
trims=0
while [ $SECONDS -lt $end ]; do
	"$CTL" -s "$SOCK" status >/dev/null || fail "status failed"
	"$CTL" -s "$SOCK" clients >/dev/null || fail "clients failed"
	"$CTL" -s "$SOCK" cgroups >/dev/null || fail "cgroups failed"
	polls=$((polls + 1))
	if [ $((polls % 4)) = 0 ]; then
		"$CTL" -s "$SOCK" trim "$CG_PATH" 64MiB >/dev/null 2>&1 &&
			trims=$((trims + 1))
		echo "$SECONDS $(rss) $(nfd)" >>"$T/samples"
	fi
	sleep 0.5
done
for p in $PIDS; do
	wait "$p" 2>/dev/null
done
PIDS=
gone() {
	[ "$("$CTL" -s "$SOCK" --json status | jfield clients)" = 0 ]
}
wait_for 15 gone || fail "clients left registered after the soak"
st=$("$CTL" -s "$SOCK" --json status)
fd1=$(nfd)

# flat: RSS from a third of the run to its end, descriptors back to the
# start once every client left (plus the idle cgroup's, kept 30 s)
n=$(wc -l <"$T/samples")
rss_a=$(sed -n "$((n / 3 + 1))p" "$T/samples" | cut -d' ' -f2)
rss_b=$(tail -n 1 "$T/samples" | cut -d' ' -f2)
fdmax=$(cut -d' ' -f3 "$T/samples" | sort -n | tail -n 1)
echo "soak: $SOAK s, $NCLIENTS slots, $polls polls, $trims operator trims;" \
	"daemon RSS ${rss_a} KiB at 1/3 -> ${rss_b} KiB at the end;" \
	"descriptors $fd0 before, $fdmax at most, $fd1 after;" \
	"trims sent $(echo "$st" | jfield trims_sent)"
cat "$T/samples" | sed 's/^/    t rss_kib fds: /'
[ "$rss_b" -le $((rss_a + 1024)) ] ||
	fail "daemon RSS grew from $rss_a to $rss_b KiB"
[ "$fd1" -le $((fd0 + 4)) ] || fail "descriptors: $fd0 before, $fd1 after"
[ "$(echo "$st" | jfield trims_sent)" -gt 0 ] || fail "no TRIM sent: $st"
if [ -s "$T/daemon.log" ]; then
	fail "warnings logged: $(head -n 5 "$T/daemon.log")"
fi
echo "PASS: soak flat, nothing logged at warning level"
