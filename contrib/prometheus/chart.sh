#!/bin/bash
# contrib/prometheus/chart.sh: draw the main metrics of a real run, as the
# README shows them (contrib/prometheus/chart.png), and capture a
# `memreclaimctl top` frame taken in the middle of it (chart-top.txt).
#
# Run as root from a built tree (../configure && make && make check, so
# the test programs exist), with prometheus and gnuplot installed
# (contrib/install-deps):
#	top_builddir=_build contrib/prometheus/chart.sh [OUTDIR]
#
# What it does, in about 90 seconds: a memory cgroup limited to 320 MiB;
# memreclaimd watching it, with metrics on a free loopback port; a real
# Prometheus scraping them every second (temporary directory, killed at
# the end); in the cgroup, e2e_holder preloaded with libmemreclaim, which
# allocates 192 MiB and frees all but 16 MiB (idle memory its allocator
# keeps); after 20 s, a plain mmap pressure generator (no allocator)
# fills the cgroup at 8 MiB/s towards 280 MiB and holds it (the top frame
# is taken 36 s into it, after the trims).  Then it asks
# Prometheus's HTTP API (query_range) for the series and draws them with
# gnuplot: the cgroup's usage and limit, the idle bytes its clients hold,
# the bytes they released on the daemon's trims, and the memory stall
# (PSI some, avg10).  Reuses the system tests' helpers (daemon_lib.sh).
set -u
export top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
export top_builddir=${top_builddir:-$top_srcdir/_build}
OUT=$(cd "${1:-$top_srcdir/contrib/prometheus}" && pwd)
. "$top_srcdir/tests/system/daemon_lib.sh"
command -v gnuplot >/dev/null || skip "gnuplot missing"
LIB=$B/lib/.libs/libmemreclaim.so
HOLDER=$B/tests/system/e2e_holder
PRESSURE=$B/tests/system/pressure
PQ="python3 $top_srcdir/tests/system/prom_query.py"
for f in "$LIB" "$HOLDER" "$PRESSURE"; do
	[ -x "$f" ] || [ -f "$f" ] || skip "$f missing (make check builds it)"
done

make_cgroup "mrd-chart-$$" $((320 << 20))
free_port
DPORT=$PORT
start_daemon "metrics = 127.0.0.1:$DPORT
tick_ms = 250"
start_prometheus "$DPORT" 300
t0=$(date +%s)

in_cgroup env LD_PRELOAD="$LIB" MEMRECLAIM_SOCKET="$SOCK" \
	MEMRECLAIM_RELEASE_DELAY_MS=3600000 MEMRECLAIM_GOAL_PERCENT=100000 \
	"$HOLDER" -o "$T/holder.status" -a 192 -k 16 -t 120
PIDS="$PIDS $!"
sleep 20
in_cgroup "$PRESSURE" -r 8M -t 40 280M
PPID_=$!
PIDS="$PIDS $PPID_"
sleep 36
"$CTL" -s "$SOCK" top -n 1 >"$OUT/chart-top.txt" || fail "memreclaimctl top"
wait "$PPID_" || echo "pressure exited $? (OOM-killed?)" >&2
sleep 5
t1=$(date +%s)

cg=$CG_PATH
python3 - "$URL" "$t0" "$t1" "$cg" >"$T/data" <<'EOPY' || fail "query_range"
import json, sys, urllib.parse, urllib.request
url, t0, t1, cg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sel = '{cgroup="%s"}' % cg
queries = [
    "memreclaim_cgroup_usage_bytes" + sel,
    "memreclaim_cgroup_limit_bytes" + sel,
    "sum(memreclaim_cgroup_client_idle_bytes%s)" % sel,
    "memreclaim_cgroup_trim_released_bytes_total" + sel,
    "memreclaim_cgroup_pressure_some_ratio" + sel,
]
cols = []
for q in queries:
    p = urllib.parse.urlencode({"query": q, "start": t0, "end": t1,
                                "step": 1})
    with urllib.request.urlopen(url + "/api/v1/query_range?" + p,
                                timeout=10) as r:
        res = json.load(r)["data"]["result"]
    cols.append({int(float(t)): float(v)
                 for t, v in (res[0]["values"] if res else [])})
print("# t usage limit idle released psi_some")
for t in range(t0, t1 + 1):
    row = [c.get(t) for c in cols]
    print(t - t0, " ".join("NaN" if v is None else repr(v) for v in row))
EOPY
cp "$T/data" "$OUT/chart.dat"
gnuplot <<EOG || fail "gnuplot"
set terminal pngcairo size 960,560 font "DejaVu Sans,10"
set output "$OUT/chart.png"
set title "memreclaimd under pressure: one cgroup (limit 320 MiB), scraped by Prometheus every second"
set xlabel "seconds"
set ylabel "MiB"
set y2label "memory stall, PSI some avg10 (%)"
set ytics nomirror
set y2tics
set y2range [0:5]
set yrange [0:*]
set key right center
set grid
M = 1048576.0
plot "$OUT/chart.dat" using 1:(\$2/M) with lines lw 2 title "cgroup usage", \
     "" using 1:(\$3/M) with lines lw 1 dt 2 title "limit", \
     "" using 1:(\$4/M) with lines lw 2 title "idle in libmemreclaim clients", \
     "" using 1:(\$5/M) with lines lw 2 title "released on trims (cumulative)", \
     "" using 1:(\$6*100) axes x1y2 with lines lw 1 title "PSI some (right axis)"
EOG
echo "chart: $OUT/chart.png, data $OUT/chart.dat, top frame $OUT/chart-top.txt"
