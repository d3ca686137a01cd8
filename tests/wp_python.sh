#!/bin/sh
# Debian's python3 running a threaded workload (wp_python.py), with and
# without memreclaim: same output.
. "${srcdir:-$(dirname "$0")}/wp_common.sh"
PY=/usr/bin/python3
wp_need "$PY"

# The preload really is in force inside the interpreter.
wp_run python.probe "$MR_LIB" "$PY" -c \
	'import ctypes; print("mr_version found" if hasattr(ctypes.CDLL(None), "mr_version") else "missing")'
if [ "$WP_RC" -ne 0 ] || ! grep -q "mr_version found" "$WP_TMP/python.probe.out"; then
	wp_fail "python3 under LD_PRELOAD does not see memreclaim (rc $WP_RC)"
	wp_show "$WP_TMP/python.probe.err"
fi

wp_compare python "$PY" "$srcdir/wp_python.py"
wp_finish
