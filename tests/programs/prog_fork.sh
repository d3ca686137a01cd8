#!/bin/sh
# fork() in a threaded program: children allocate and exit 0 (prog_fork.c).
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
prog_compare fork ./prog_fork
# Again without the scavenger thread: the fork handlers are registered
# only once the program has a second thread (api/init.h), and then not
# through the scavenger's start.
export MEMRECLAIM_SCAVENGER=0
prog_compare fork_noscav ./prog_fork
unset MEMRECLAIM_SCAVENGER
prog_finish
