#!/bin/sh
# Allocation before main: a preloaded library's constructor and the
# program's constructor allocate (prog_ctor_lib.c, prog_ctor_prog.c), with the
# test library preloaded after and before libmemreclaim.
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
CTOR=$PROG_BUILDDIR/.libs/libprog_ctor.so
[ -f "$CTOR" ] || { echo "ERROR: $CTOR not built"; exit 99; }

prog_run ctor.glibc "$CTOR" ./prog_ctor_prog
rc_glibc=$PROG_RC
if [ "$rc_glibc" -ne 0 ]; then
	prog_fail "prog_ctor_prog exits $rc_glibc without memreclaim"
	prog_show "$PROG_TMP/ctor.glibc.out"
fi
for order in "$MR_LIB $CTOR" "$CTOR $MR_LIB"; do
	rm -f "$PROG_TMP"/ctor.mr.ld.*
	prog_run ctor.mr "$order" ./prog_ctor_prog
	prog_check_preload_err "$PROG_TMP/ctor.mr.err"
	prog_check_binds ctor.mr
	if [ "$PROG_RC" -ne 0 ]; then
		prog_fail "LD_PRELOAD='$order': exit $PROG_RC"
		prog_show "$PROG_TMP/ctor.mr.out"
		prog_show "$PROG_TMP/ctor.mr.err"
	elif ! cmp -s "$PROG_TMP/ctor.glibc.out" "$PROG_TMP/ctor.mr.out"; then
		prog_fail "LD_PRELOAD='$order': output differs from glibc"
		diff "$PROG_TMP/ctor.glibc.out" "$PROG_TMP/ctor.mr.out"
	else
		echo "ok: LD_PRELOAD='$order': constructors' blocks intact"
	fi
done
prog_finish
