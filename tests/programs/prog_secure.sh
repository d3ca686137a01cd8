#!/bin/sh
# The environment of a setuid program belongs to whoever runs it.  Plain
# runs obey MEMRECLAIM_* (range-checked: an out-of-range or unknown one is
# named once on stderr and the default kept); the same binary installed
# setuid root and started by nobody (AT_SECURE) ignores every one: no
# 1 MiB hard limit that fails its mallocs, no 2^62-byte chunk that kills
# it at start, no socket of the caller's choosing, no MEMRECLAIM_CONF, no
# systemd memory pressure file of the caller's choosing, and not a word on
# stderr about any of them.
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
bin=$PROG_BUILDDIR/prog_secure
hostile="MEMRECLAIM_LIMIT=1MiB MEMRECLAIM_LIMIT_HARD=1
MEMRECLAIM_CHUNK_SIZE=4611686018427387904 MEMRECLAIM_SOCKET=/tmp/fake.sock
MEMRECLAIM_NO_SUCH_OPTION=1 MEMRECLAIM_RELEASE_DELAY_MS=99999999999999
MEMRECLAIM_PROF=1 MEMRECLAIM_PROF_FILE=$PROG_TMP/owned
MEMRECLAIM_CONF=trace:1,bogus:1 MEMORY_PRESSURE_WATCH=relative/path
MEMORY_PRESSURE_WRITE=aGk="

# 1. Plain run: values in range are taken, the others reported and ignored.
prog_run plain "" env $hostile "$bin"
grep -qx 'limit=1048576' "$PROG_TMP/plain.out" ||
	prog_fail "plain run: MEMRECLAIM_LIMIT not obeyed"
grep -qx 'chunk_size=33554432' "$PROG_TMP/plain.out" ||
	prog_fail "plain run: a 2^62 chunk_size was not refused"
for v in MEMRECLAIM_CHUNK_SIZE MEMRECLAIM_NO_SUCH_OPTION \
	MEMRECLAIM_RELEASE_DELAY_MS "MEMRECLAIM_CONF bogus"; do
	n=$(grep -c "^memreclaim: $v ignored: .*, default kept\$" \
		"$PROG_TMP/plain.err")
	[ "$n" = 1 ] || prog_fail "plain run: $v reported $n times, not once"
done
grep -qE 'MEMRECLAIM_LIMIT |MEMRECLAIM_PROF_FILE' "$PROG_TMP/plain.err" &&
	prog_fail "plain run: a valid variable was reported"
[ -e "$PROG_TMP/owned" ] ||
	prog_fail "plain run: MEMRECLAIM_PROF_FILE not obeyed"
prog_show "$PROG_TMP/plain.out"
prog_show "$PROG_TMP/plain.err"

# 2. Setuid root, run by nobody.
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "SKIP: the setuid half needs root and setpriv"
	[ $PROG_FAILS -eq 0 ] || exit 1
	exit 77
fi
chmod 755 "$PROG_TMP"
rm -f "$PROG_TMP/owned"
cp "$bin" "$PROG_TMP/prog_secure_suid"
chmod 4755 "$PROG_TMP/prog_secure_suid"
prog_run suid "" env $hostile setpriv --reuid=65534 --regid=65534 \
	--clear-groups "$PROG_TMP/prog_secure_suid"
prog_show "$PROG_TMP/suid.out"
[ "$PROG_RC" -eq 0 ] || prog_fail "setuid run exited $PROG_RC"
for want in limit=0 limit_hard=0 chunk_size=33554432 \
	socket=/run/memreclaim/memreclaimd.sock daemon_uid=0 malloc_ok=8; do
	grep -qx "$want" "$PROG_TMP/suid.out" ||
		prog_fail "setuid run: want $want"
done
[ -e "$PROG_TMP/owned" ] &&
	prog_fail "setuid run: wrote a profile where its caller said"
[ -s "$PROG_TMP/suid.err" ] &&
	prog_fail "setuid run: printed on stderr" && prog_show "$PROG_TMP/suid.err"
prog_finish
