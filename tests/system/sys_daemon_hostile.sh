#!/bin/bash
# memreclaimd against hostile clients, over its real socket: garbage, a
# flood, a frame before HELLO, a silent connection and a control request
# without permission are each dropped and counted, while a good client
# keeps being served (it still gets an operator's TRIM).  Also: -n prints
# file:line errors,
# SIGHUP with a bad file keeps the old config, metrics count the drops,
# sd_notify readiness/reload/stop, SIGTERM says BYE and removes the socket.
. "${top_srcdir:-../..}/tests/system/daemon_lib.sh"

# a free loopback port for the metrics endpoint
free_port
# systemd's notification socket, to see READY/RELOADING/STOPPING
"$B/tests/system/notifysink" "$T/notify" 60 > "$T/notify.out" &
PIDS="$PIDS $!"
wait_for 5 test -S "$T/notify" || fail "notifysink did not start"
export NOTIFY_SOCKET=$T/notify
# watch = no: the good client sits in this host's cgroup, whose pressure
# other work moves; only the operator's trim below may reach it
start_daemon "socket_mode = 0666
metrics = 127.0.0.1:$PORT
max_frame_rate = 50
tick_ms = 200
watch = no"

# the good client
"$FAKE" -s "$SOCK" -m $((16 << 20)) -e "$T/good.ev" -i 200 -d 60 &
GOOD=$!
PIDS="$PIDS $GOOD"
wait_for 10 grep -q REGISTERED "$T/good.ev" || fail "good client did not start"
wait_for 10 sh -c "'$CTL' -s '$SOCK' --json clients | grep -q '\"pid\":$GOOD'" ||
	fail "good client not registered"

# a silent connection, in the background: dropped after 5 s
timeout 20 "$FAKE" -s "$SOCK" -q -e "$T/badq.ev" -d 15 &
SILENT=$!
PIDS="$PIDS $SILENT"

# three hostile ones: each must be thrown out (fakeclient exits 0 then)
for mode in g f o; do
	timeout 20 "$FAKE" -s "$SOCK" -$mode -e "$T/bad$mode.ev" -d 15 ||
		fail "hostile client -$mode was not dropped"
	grep -q "^BYE [23]" "$T/bad$mode.ev" ||
		fail "hostile client -$mode got no BYE PROTOCOL/LIMIT"
done
wait "$SILENT" || fail "silent client was not dropped"
grep -q "^BYE 2" "$T/badq.ev" || fail "silent client got no BYE PROTOCOL"

# a control request from an unprivileged user
if setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$CTL" -s "$SOCK" status >"$T/nobody.out" 2>&1; then
	fail "memreclaimctl as nobody was answered"
fi
grep -q "not allowed" "$T/nobody.out" || fail "nobody: $(cat "$T/nobody.out")"

# the daemon counted 5 drops and still serves the good client
st=$("$CTL" -s "$SOCK" --json status) || fail "status after attacks"
[ "$(echo "$st" | jfield clients_dropped)" = 5 ] || fail "drops: $st"
[ "$(echo "$st" | jfield clients)" = 1 ] || fail "clients: $st"
kill -0 "$DPID" || fail "daemon died"
"$CTL" -s "$SOCK" trim "$GOOD" 4MiB | grep -q "asked 1 client" ||
	fail "operator trim not sent"
wait_for 10 grep -q "^TRIM [0-9]* 4194304 lazy" "$T/good.ev" ||
	fail "good client got no TRIM after the attacks"
wait_for 10 sh -c "'$CTL' -s '$SOCK' --json status | grep -q '\"trim_bytes_released\":4194304'" ||
	fail "TRIM_DONE not accounted"
"$CTL" -s "$SOCK" trim 999999 1MiB >/dev/null 2>&1 && fail "trim of unknown pid succeeded"

# metrics say the same
resp=$(http_get /metrics) || fail "metrics unreachable"
echo "$resp" | head -n 1 | grep -q "^HTTP/1.0 200" || fail "metrics: $(echo "$resp" | head -n 1)"
m=$(echo "$resp" | tr -d '\r' | sed '1,/^$/d')
echo "$m" | grep -qx "memreclaim_server_clients_dropped_total 5" ||
	fail "metrics: $(echo "$m" | grep dropped)"
echo "$m" | grep -q "^memreclaim_client_rss_bytes{pid=\"$GOOD\"" ||
	fail "no client metrics"
http_get /nope | head -n 1 | grep -q "^HTTP/1.0 404" ||
	fail "bad path not 404"
# every exported metric is documented in memreclaimd(8)
for name in $(echo "$m" | sed -n 's/^# HELP \(memreclaim_[a-z_]*\) .*/\1/p'); do
	grep -q "^\.It Li $name\$" "${top_srcdir:-../..}/man/memreclaimd.8" ||
		fail "metric $name is not in memreclaimd(8)"
done
# every metric the shipped Grafana dashboard plots exists
for name in $(grep -o 'memreclaim_[a-z_]*' "${top_srcdir:-../..}/contrib/grafana/memreclaim.json" | sort -u); do
	echo "$m" | grep -q "^# HELP $name " ||
		fail "dashboard uses $name, which the daemon does not export"
done

# config check and reload
printf '[memreclaimd]\ntick_ms = 1\nbogus = 2\n' > "$T/bad.conf"
out=$("$MRD" -n -f "$T/bad.conf" 2>&1) && fail "-n accepted a bad file"
[ "$out" = "$T/bad.conf:2: bad value for tick_ms: '1'
$T/bad.conf:3: unknown key 'bogus' in [memreclaimd]" ] || fail "-n said: $out"
cp "$T/mrd.conf" "$T/good.conf"
cp "$T/bad.conf" "$T/mrd.conf"
kill -HUP "$DPID"
wait_for 10 sh -c "'$CTL' -s '$SOCK' --json status | grep -q '\"config_errors\":1'" ||
	fail "bad reload not refused"
st=$("$CTL" -s "$SOCK" --json status) || fail "status after bad reload"
[ "$(echo "$st" | jfield tick_ms)" = 200 ] || fail "old config lost: $st"
sed 's/tick_ms = 200/tick_ms = 300/' "$T/good.conf" > "$T/mrd.conf"
"$CTL" -s "$SOCK" reload | grep -q reloaded || fail "ctl reload"
[ "$("$CTL" -s "$SOCK" --json status | jfield tick_ms)" = 300 ] ||
	fail "reload did not apply"

# clean exit: BYE SHUTDOWN to the client, socket removed
kill -TERM "$DPID"
wait "$DPID" || fail "daemon exit status $?"
DPID=
wait_for 5 grep -q "^BYE 4" "$T/good.ev" || fail "no BYE on shutdown"
[ ! -e "$SOCK" ] || fail "socket left behind"
# sd_notify: ready, two reloads (one refused: still READY after it), stop
wait_for 5 grep -q '^STOPPING=1' "$T/notify.out" || fail "no STOPPING=1"
[ "$(grep -c '^READY=1' "$T/notify.out")" = 3 ] ||
	fail "notifications: $(cat "$T/notify.out")"
[ "$(grep -c '^RELOADING=1' "$T/notify.out")" = 2 ] ||
	fail "notifications: $(cat "$T/notify.out")"
# max_clients: with one slot taken, a user's next connection is refused,
# while root still gets one of the operator slots kept past max_clients
unset NOTIFY_SOCKET
SOCK=$T/mrd2.sock
start_daemon "max_clients = 1
socket_mode = 0666
metrics ="
"$FAKE" -s "$SOCK" -e "$T/one.ev" -d 60 &
ONE=$!
PIDS="$PIDS $ONE"
wait_for 10 grep -q REGISTERED "$T/one.ev" || fail "first client did not start"
sleep 0.3
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
touch "$T/two.ev" "$T/three.ev"
chmod 666 "$T/two.ev" "$T/three.ev"
timeout 20 $NOBODY "$FAKE" -s "$SOCK" -e "$T/two.ev" -d 10
grep -q "^BYE 3" "$T/two.ev" || fail "second client not refused: $(cat "$T/two.ev")"
"$CTL" -s "$SOCK" status >/dev/null 2>&1 ||
	fail "root's memreclaimctl refused: no operator slot"
kill "$ONE"
wait "$ONE" 2>/dev/null
wait_for 10 $NOBODY "$FAKE" -s "$SOCK" -e "$T/three.ev" -d 1 ||
	fail "slot not freed after the first client left"
grep -q REGISTERED "$T/three.ev" || fail "third client: $(cat "$T/three.ev")"

echo "PASS: hostile clients dropped (5), good client served, reload safe," \
    "max_clients enforced with an operator slot"
exit 0
