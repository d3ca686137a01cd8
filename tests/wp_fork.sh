#!/bin/sh
# fork() in a threaded program: children allocate and exit 0 (wp_fork.c).
. "${srcdir:-$(dirname "$0")}/wp_common.sh"
wp_compare fork ./wp_fork
wp_finish
