#!/bin/sh
# The libc allocation names as a program calls them (prog_api.c): behaviour
# under LD_PRELOAD=libmemreclaim.so identical to glibc's, line by line.
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
prog_compare api ./prog_api
cat "$PROG_TMP/api.mr.out"
prog_finish
