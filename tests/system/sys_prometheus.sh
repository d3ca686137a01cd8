#!/bin/bash
# A real Prometheus (Debian's package; loopback, a temporary directory,
# killed at exit) scraping a real memreclaimd every second, with a real
# program preloaded with libmemreclaim and two protocol clients run as
# nobody, one of them refused (max_clients_per_uid = 1).  Its HTTP API
# must show, against the kernel's and memreclaimctl's own figures:
#  - memreclaim_build_info with the daemon's version; process_* of the
#    daemon (RSS, descriptors, start time, descriptor limit) matching
#    /proc/PID of the daemon;
#  - the cardinality rule: with metrics_top_clients = 1 one client's
#    series (the one holding the most idle, by command name) while the
#    per-cgroup sum counts both registered clients;
#  - the bytes a `trim --wait` released, as memreclaimctl reported them;
#  - the refusal counted by reason, and the MemreclaimClientsRefused alert
#    of contrib/prometheus/alerts.yml firing for it; every rule healthy;
#  - every expression of the Grafana dashboard accepted by the server,
#    naming only metrics the daemon exports.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"
S=${top_srcdir:-../..}
command -v python3 >/dev/null || skip "python3 missing"
command -v setpriv >/dev/null || skip "setpriv missing"
[ "$(id -u)" = 0 ] || skip "needs root to run clients as nobody"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
PQ="python3 $S/tests/system/prom_query.py"

free_port
start_daemon "metrics = 127.0.0.1:$PORT
socket_mode = 0666
metrics_top_clients = 1
max_clients_per_uid = 1
tick_ms = 200"
start_holder 64 8 90
touch "$T/n1.ev" "$T/n2.ev" && chmod 666 "$T/n1.ev" "$T/n2.ev"
$NOBODY "$FAKE" -s "$SOCK" -e "$T/n1.ev" -i 200 -d 90 &
PIDS="$PIDS $!"

cp "$S/contrib/prometheus/alerts.yml" "$T/alerts.yml"
start_prometheus "$PORT" 150 "$T/alerts.yml"
pfail() { fail "$* (prometheus log: $(tail -n 5 "$T/prometheus.log"))"; }
# query EXPR: the value of the one sample EXPR gives ("" if none)
query() { $PQ "$URL" query "$1" | awk 'NR == 1 { print $NF }'; }
is() { [ "$(query "$1")" = "$2" ]; }
wait_for 30 is 'up{job="memreclaimd"}' 1 || pfail "target not up"
wait_for 20 is 'sum(memreclaim_cgroup_clients)' 2 ||
	pfail "2 clients not counted: $($PQ "$URL" query memreclaim_cgroup_clients)"

# build_info and the daemon's process
ver=$("$CTL" -s "$SOCK" --json status | jfield daemon_version)
is "memreclaim_build_info{version=\"$ver\",protocol=\"1\"}" 1 ||
	fail "build_info: $($PQ "$URL" query memreclaim_build_info)"
rss=$(query process_resident_memory_bytes)
krss=$(($(rss_kib "$DPID") << 10))
py() { python3 -c "$@"; }
py "import sys; a, b = float('$rss'), $krss; sys.exit(abs(a - b) > 0.25 * b)" ||
	fail "process_resident_memory_bytes $rss, VmRSS $krss"
fds=$(query process_open_fds)
kfds=$(ls "/proc/$DPID/fd" | wc -l)
[ "${fds:-0}" -ge $((kfds - 4)) ] && [ "${fds:-0}" -le $((kfds + 4)) ] ||
	fail "process_open_fds $fds, /proc says $kfds"
kmax=$(awk '/^Max open files/ { print $4 }' "/proc/$DPID/limits")
is process_max_fds "$kmax" || fail "process_max_fds $(query process_max_fds), limit $kmax"
start=$(query process_start_time_seconds)
kstart=$(py "
import os
hz = os.sysconf('SC_CLK_TCK')
st = open('/proc/$DPID/stat').read().rsplit(')', 1)[1].split()
bt = [l for l in open('/proc/stat') if l.startswith('btime')][0].split()[1]
print(int(bt) + int(st[19]) / hz)")
py "import sys; sys.exit(abs($start - $kstart) > 2)" ||
	fail "process_start_time_seconds $start, /proc says $kstart"

# the cardinality rule: one client's series, the holder (most idle)
holder_top() {
	[ "$($PQ "$URL" query 'count(memreclaim_client_idle_bytes)' | awk '{ print $NF }')" = 1 ] &&
		[ -n "$(query "memreclaim_client_idle_bytes{comm=\"e2e_holder\",pid=\"$HPID\"} > 33554432")" ]
}
wait_for 20 holder_top ||
	fail "top client series: $($PQ "$URL" query memreclaim_client_idle_bytes)"
[ "$(query 'count(memreclaim_cgroup_info)')" -ge 1 ] || fail "no cgroup_info"

# a trim, as memreclaimctl saw it
"$CTL" -s "$SOCK" --json trim --wait --urgent "$HPID" 32MiB >"$T/trim.json" ||
	fail "trim --wait: $(cat "$T/trim.json")"
total=$("$CTL" -s "$SOCK" --json status | jfield trim_bytes_released)
[ "$total" -ge $((32 << 20)) ] || fail "released only $total bytes"
wait_for 20 is memreclaim_trim_released_bytes_total "$total" ||
	fail "prometheus has $(query memreclaim_trim_released_bytes_total) released, memreclaimctl $total"
wait_for 20 is "sum(memreclaim_cgroup_trim_released_bytes_total)" "$total" ||
	fail "per-cgroup released $(query 'sum(memreclaim_cgroup_trim_released_bytes_total)')"

# a refusal: counted by reason, and the alert fires
timeout 10 $NOBODY "$FAKE" -s "$SOCK" -e "$T/n2.ev" -d 2
grep -q "^BYE 3" "$T/n2.ev" || fail "second nobody client not refused: $(cat "$T/n2.ev")"
wait_for 20 is 'memreclaim_server_clients_refused_total{reason="max_clients_per_uid"}' 1 ||
	fail "refusal not counted: $($PQ "$URL" query memreclaim_server_clients_refused_total)"
firing() {
	$PQ "$URL" alerts | grep -q '^MemreclaimClientsRefused .*reason="max_clients_per_uid".* firing$'
}
wait_for 30 firing || pfail "alert not firing: $($PQ "$URL" alerts)"
$PQ "$URL" rules >"$T/rules"
[ "$(grep -c ' ok$' "$T/rules")" = "$(grep -c '^      - alert:' "$T/alerts.yml")" ] ||
	fail "rules not all healthy: $(cat "$T/rules")"

# the Grafana dashboard: every expression parses, every metric exists
http_get /metrics | tr -d '\r' >"$T/page" || fail "metrics unreachable"
py '
import json, re, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        e = t["expr"].replace("$instance", ".*").replace("$cgroup", ".*")
        print(e)
' "$S/contrib/grafana/memreclaim.json" >"$T/exprs" || fail "dashboard JSON"
n=0
while read -r e; do
	$PQ "$URL" valid "$e" || fail "dashboard expression refused: $e"
	for name in $(echo "$e" | grep -oE '\b(memreclaim|process)_[a-z_]+'); do
		grep -q "^# HELP $name " "$T/page" ||
			fail "dashboard names $name, which memreclaimd does not export"
	done
	n=$((n + 1))
done <"$T/exprs"
[ "$n" -ge 30 ] || fail "only $n dashboard expressions found"
echo "PASS: prometheus scraped memreclaimd: build_info $ver, process_*" \
	"as /proc says, 1 client series of 2 clients, $total bytes released," \
	"refusal alert firing, $n dashboard expressions valid"
