#!/bin/sh
# What the library says about itself (issue 12's diagnostics), on a real
# program (python3) preloaded with it:
#  - a misspelled, a badly cased and a garbage MEMRECLAIM_* variable are
#    each named once on stderr with the reason, the value not echoed;
#  - MEMRECLAIM_CONF="name:value,..." sets options, an individual variable
#    wins over it, a bad pair in it is named;
#  - MEMRECLAIM_STATS=json prints one JSON object at exit that python3's
#    json module parses, with the pid and command and the daemon link
#    (not connected, the reason: no socket at the path given) and where
#    the limit came from;
#  - MEMRECLAIM_STATS=1 and MEMRECLAIM_TRACE=1 lines carry COMM[PID].
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
prog_need python3
# the interpreter itself, not a wrapper script (pyenv's shims are bash)
prog=/usr/bin/python3
[ -x "$prog" ] || prog=$(command -v python3)

# diag_run TAG VAR=VALUE...: the program alone preloaded (env(1) and
# timeout(1) are not: their warnings would count too).
diag_run() {
	diag_tag=$1
	shift
	timeout -k 10 60 env "$@" LD_PRELOAD="$MR_LIB" "$prog" -c "$script" \
		>"$PROG_TMP/$diag_tag.out" 2>"$PROG_TMP/$diag_tag.err" </dev/null
	PROG_RC=$?
}
# The program prints its pid so the test knows whom the lines must name,
# and lives long enough for the scavenger's first tick (the daemon link).
script='import os, time; print(os.getpid()); time.sleep(0.3)'
nosock=$PROG_TMP/no-daemon.sock

# 1. Bad variables: one warning each, naming it and why.
diag_run bad MEMRECLAIM_LIMT=1G MEMRECLAIM_PURGE=MADVISE \
	MEMRECLAIM_LIMIT=garbage MEMRECLAIM_SOCKET="$nosock"
[ "$PROG_RC" -eq 0 ] || prog_fail "bad run exited $PROG_RC"
for want in \
    'MEMRECLAIM_LIMT ignored: unknown option (did you mean MEMRECLAIM_LIMIT?), default kept' \
    'MEMRECLAIM_PURGE ignored: invalid value (want auto, uring, process_madvise or madvise, lower case), default kept' \
    'MEMRECLAIM_LIMIT ignored: invalid value (want a size '; do
	n=$(grep -cF "memreclaim: $want" "$PROG_TMP/bad.err")
	[ "$n" = 1 ] || prog_fail "want once, got $n: $want"
done
grep -q 'garbage\|MADVISE' "$PROG_TMP/bad.err" &&
	prog_fail "a value was echoed on stderr"
# nothing said of the daemon without TRACE or STATS
grep -q 'daemon:' "$PROG_TMP/bad.err" &&
	prog_fail "the daemon link spoke without TRACE or STATS"
prog_show "$PROG_TMP/bad.err"

# 2. MEMRECLAIM_CONF, the individual variable over it, and JSON at exit.
conf='limit:2GiB,stats:json,bogus:1,hugepages:always'
diag_run conf MEMRECLAIM_CONF="$conf" MEMRECLAIM_LIMIT=3GiB \
	MEMRECLAIM_SOCKET="$nosock"
[ "$PROG_RC" -eq 0 ] || prog_fail "conf run exited $PROG_RC"
n=$(grep -cF 'memreclaim: MEMRECLAIM_CONF bogus ignored: unknown option' \
	"$PROG_TMP/conf.err")
[ "$n" = 1 ] || prog_fail "MEMRECLAIM_CONF bogus reported $n times"
pid=$(head -n 1 "$PROG_TMP/conf.out")
grep '^{' "$PROG_TMP/conf.err" >"$PROG_TMP/conf.json"
if ! python3 - "$PROG_TMP/conf.json" "$pid" "$nosock" >"$PROG_TMP/conf.check" 2>&1 <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, "want one JSON line, got %d" % len(lines)
o = json.loads(lines[0])
def want(k, v, got):
    assert got == v, "%s: want %r, got %r" % (k, v, got)
want("pid", int(sys.argv[2]), o["pid"])
want("command", "python3", o["command"][:7])  # python3.11 too
want("limit_bytes", 3 << 30, o["limit_bytes"])
want("limit_source", "env", o["limit_source"])
d = o["daemon"]
want("daemon.connected", False, d["connected"])
want("daemon.error", -2, d["error"])
# (connect_failures: 0 if the scavenger, which connects, was deferred,
# as in a small program; the reason is recorded either way)
assert ("cannot connect to %s: no such file" % sys.argv[3]) in d["error_msg"], d
assert o["rss_bytes"] > 0 and o["mapped_bytes"] > 0, o
want("memory_pressure.watching", False, o["memory_pressure"]["watching"])
print("json ok:", lines[0][:160])
PY
then
	prog_fail "MEMRECLAIM_STATS=json:"
fi
prog_show "$PROG_TMP/conf.check"
# without the variable, CONF's limit holds
diag_run conf2 MEMRECLAIM_CONF="$conf" MEMRECLAIM_DAEMON=0
grep -q '"limit_bytes":2147483648,"limit_source":"env"' "$PROG_TMP/conf2.err" ||
	prog_fail "MEMRECLAIM_CONF limit:2GiB not in force"

# a later pair wins; a pair without ':' is named and skipped
diag_run conf3 MEMRECLAIM_CONF="limit:1GiB,limit:2GiB,trace,stats:json" \
	MEMRECLAIM_DAEMON=0
grep -q '"limit_bytes":2147483648,"limit_source":"env"' "$PROG_TMP/conf3.err" ||
	prog_fail "MEMRECLAIM_CONF: the later limit did not win"
n=$(grep -cF "memreclaim: MEMRECLAIM_CONF trace ignored: no ':' between name and value" \
	"$PROG_TMP/conf3.err")
[ "$n" = 1 ] || prog_fail "MEMRECLAIM_CONF pair without ':' reported $n times"

# 3. Text stats and trace name the process on every line.
diag_run text MEMRECLAIM_STATS=1 MEMRECLAIM_TRACE=1 \
	MEMRECLAIM_SOCKET="$nosock"
pid=$(head -n 1 "$PROG_TMP/text.out")
n=$(grep -c "^memreclaim: python3[^ ]*\[$pid\]: stats: " "$PROG_TMP/text.err")
[ "$n" -ge 6 ] || prog_fail "want >= 6 stats lines naming python3[$pid], got $n"
grep -q "^memreclaim: python3[^ ]*\[$pid\]: stats: daemon not connected, .*last failure: cannot connect to $nosock: no such file" \
	"$PROG_TMP/text.err" || prog_fail "no daemon line in the summary"
n=$(grep -c "daemon: cannot connect to $nosock" "$PROG_TMP/text.err")
[ "$n" = 1 ] || prog_fail "the connect failure was traced $n times, want once"
grep '^memreclaim: ' "$PROG_TMP/text.err" |
	grep -v "^memreclaim: python3[^ ]*\[$pid\]: " >"$PROG_TMP/text.anon"
[ -s "$PROG_TMP/text.anon" ] && prog_fail "lines without the process:" &&
	prog_show "$PROG_TMP/text.anon"
prog_show "$PROG_TMP/text.err"
[ $PROG_FAILS -eq 0 ] || exit 1
exit 0
