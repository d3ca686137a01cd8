#!/bin/sh
# Allocation before main: a preloaded library's constructor and the
# program's constructor allocate (wp_ctor_lib.c, wp_ctor_prog.c), with the
# test library preloaded after and before libmemreclaim.
. "${srcdir:-$(dirname "$0")}/wp_common.sh"
CTOR=$WP_BUILDDIR/.libs/libwp_ctor.so
[ -f "$CTOR" ] || { echo "ERROR: $CTOR not built"; exit 99; }

wp_run ctor.glibc "$CTOR" ./wp_ctor_prog
rc_glibc=$WP_RC
if [ "$rc_glibc" -ne 0 ]; then
	wp_fail "wp_ctor_prog exits $rc_glibc without memreclaim"
	wp_show "$WP_TMP/ctor.glibc.out"
fi
for order in "$MR_LIB $CTOR" "$CTOR $MR_LIB"; do
	rm -f "$WP_TMP"/ctor.mr.ld.*
	wp_run ctor.mr "$order" ./wp_ctor_prog
	wp_check_preload_err "$WP_TMP/ctor.mr.err"
	wp_check_binds ctor.mr
	if [ "$WP_RC" -ne 0 ]; then
		wp_fail "LD_PRELOAD='$order': exit $WP_RC"
		wp_show "$WP_TMP/ctor.mr.out"
		wp_show "$WP_TMP/ctor.mr.err"
	elif ! cmp -s "$WP_TMP/ctor.glibc.out" "$WP_TMP/ctor.mr.out"; then
		wp_fail "LD_PRELOAD='$order': output differs from glibc"
		diff "$WP_TMP/ctor.glibc.out" "$WP_TMP/ctor.mr.out"
	else
		echo "ok: LD_PRELOAD='$order': constructors' blocks intact"
	fi
done
wp_finish
