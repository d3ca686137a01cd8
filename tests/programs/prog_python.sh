#!/bin/sh
# Debian's python3 running a threaded workload (prog_python.py), with and
# without memreclaim: same output.
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
PY=/usr/bin/python3
prog_need "$PY"

# The preload really is in force inside the interpreter.
prog_run python.probe "$MR_LIB" "$PY" -c \
	'import ctypes; print("mr_version found" if hasattr(ctypes.CDLL(None), "mr_version") else "missing")'
if [ "$PROG_RC" -ne 0 ] || ! grep -q "mr_version found" "$PROG_TMP/python.probe.out"; then
	prog_fail "python3 under LD_PRELOAD does not see memreclaim (rc $PROG_RC)"
	prog_show "$PROG_TMP/python.probe.err"
fi

prog_compare python "$PY" "$srcdir/prog_python.py"
prog_finish
