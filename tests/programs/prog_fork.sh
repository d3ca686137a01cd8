#!/bin/sh
# fork() in a threaded program: children allocate and exit 0 (prog_fork.c).
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
prog_compare fork ./prog_fork
prog_finish
