#!/bin/sh
# 10000 short-lived threads in a program linked with libmemreclaim:
# metadata and mappings stay bounded (wp_threads.c).
. "${srcdir:-$(dirname "$0")}/wp_common.sh"
# Linked with the library; preloading it as well changes nothing but lets
# wp_check_binds see that pthread's and libc's own allocations use it too.
wp_run threads "$MR_LIB" ./wp_threads
cat "$WP_TMP/threads.out"
wp_check_preload_err "$WP_TMP/threads.err"
wp_check_binds threads
if [ "$WP_RC" -ne 0 ]; then
	wp_fail "wp_threads exits $WP_RC"
	wp_show "$WP_TMP/threads.err"
fi
wp_finish
