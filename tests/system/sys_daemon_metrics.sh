#!/bin/bash
# The metrics page and the control listings never break, whatever the
# number of clients: 320 registered clients in one container-style cgroup
# (a kubelet-length path, 190 characters) make a page far past the old
# fixed 256 KiB buffer; it must come out whole (Content-Length matches)
# and pass `promtool check metrics`, and `memreclaimctl clients` must
# list all 320 (replies queued and sent across EPOLLOUT, not dropped at
# the first full socket; also for a reader that waits a second before
# reading).  A cgroup whose name carries a terminal escape
# sequence is shown escaped by memreclaimctl.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"
command -v promtool >/dev/null ||
	skip "promtool missing (Debian package prometheus; contrib/install-deps)"
N=320
free_port
# kubepods.slice/.../cri-containerd-<64 hex>.scope, as one long name
long="kubepods-burstable-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0.slice-"
long="${long}cri-containerd-$(printf '%064d' 0).scope-$$"
long=${long:0:190}
make_cgroup "$long" $((1 << 30))
LONG_MEM=$CG_MEM LONG_PSI=$CG_PSI LONG_PATH=$CG_PATH
start_daemon "metrics = 127.0.0.1:$PORT
max_clients = 1000
metrics_top_clients = 1000
tick_ms = 500
watch = no"
i=0
while [ $i -lt $N ]; do
	in_cgroup "$FAKE" -s "$SOCK" -i 1000 -d 120
	PIDS="$PIDS $!"
	i=$((i + 1))
done
count_clients() {
	[ "$("$CTL" -s "$SOCK" --json clients | jobjects | grep -c '"pid"')" \
		-ge "$1" ]
}
wait_for 60 count_clients $N ||
	fail "memreclaimctl clients lists $("$CTL" -s "$SOCK" --json clients |
		jobjects | grep -c '"pid"') of $N"
# an operator slow to read gets the whole listing too (queued, sent on
# EPOLLOUT), not a drop at the first full socket buffer
"$B/tests/system/mrdpoke" -s "$SOCK" ctlslow >"$T/slow.out"
grep -qx "records $N done $N" "$T/slow.out" ||
	fail "slow reader got: $(cat "$T/slow.out") of $N"
sleep 2 # every client has sent STATS
http_get /metrics >"$T/resp" || fail "metrics unreachable"
tr -d '\r' <"$T/resp" | sed '1,/^$/d' >"$T/page"
len=$(tr -d '\r' <"$T/resp" | sed -n 's/^Content-Length: //p')
size=$(wc -c <"$T/page")
echo "metrics page: $size bytes, Content-Length $len, $N clients"
[ "$size" -gt $((256 * 1024)) ] || fail "page only $size bytes: test too small"
[ "$len" = "$size" ] || fail "page cut: $size bytes of $len"
n=$(grep -c "^memreclaim_client_rss_bytes{pid=\"[0-9]*\",comm=\"fakeclient\",cgroup=\"$LONG_PATH\",container=\"\",pod=\"\"}" \
	"$T/page")
[ "$n" = $N ] || fail "$n of $N clients on the page"
grep -q "^memreclaim_cgroup_clients{cgroup=\"$LONG_PATH\",container=\"\",pod=\"\"} $N\$" \
	"$T/page" || fail "memreclaim_cgroup_clients is not $N"
promtool check metrics <"$T/page" >"$T/promtool.out" 2>&1 ||
	fail "promtool: $(head -n 5 "$T/promtool.out")"

# a cgroup name with an escape sequence
esc=$(printf 'mrd-esc-\033[2J-%s' "$$")
make_cgroup "$esc" $((1 << 30))
in_cgroup "$FAKE" -s "$SOCK" -i 1000 -d 60
PIDS="$PIDS $!"
wait_for 10 count_clients $((N + 1)) || fail "escape client not registered"
"$CTL" -s "$SOCK" clients >"$T/clients.out" || fail "memreclaimctl clients"
if grep -q "$(printf '\033')" "$T/clients.out"; then
	fail "memreclaimctl printed an escape sequence"
fi
grep -qF 'mrd-esc-\x1b[2J' "$T/clients.out" ||
	fail "escaped name not shown: $(grep mrd-esc "$T/clients.out")"
echo "PASS: $N clients: page of $size bytes passes promtool, all listed;" \
	"cgroup names escaped"
