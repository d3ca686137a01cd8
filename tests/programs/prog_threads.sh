#!/bin/sh
# 21000 short-lived threads in a program linked with libmemreclaim:
# metadata and mappings stay bounded (prog_threads.c).
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
# Linked with the library; preloading it as well changes nothing but lets
# prog_check_binds see that pthread's and libc's own allocations use it too.
prog_run threads "$MR_LIB" ./prog_threads
cat "$PROG_TMP/threads.out"
prog_check_preload_err "$PROG_TMP/threads.err"
prog_check_binds threads
if [ "$PROG_RC" -ne 0 ]; then
	prog_fail "prog_threads exits $PROG_RC"
	prog_show "$PROG_TMP/threads.err"
fi
prog_finish
