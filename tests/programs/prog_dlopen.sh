#!/bin/sh
# dlopen/dlclose of a library that allocates and frees across the
# boundary (prog_dlopen_prog.c, prog_dlopen_lib.c).
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
DL=$PROG_BUILDDIR/.libs/libprog_dlopen.so
[ -f "$DL" ] || { echo "ERROR: $DL not built"; exit 99; }
prog_compare dlopen ./prog_dlopen_prog "$DL"
prog_finish
