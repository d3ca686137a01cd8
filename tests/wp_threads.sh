#!/bin/sh
# 10000 short-lived threads in a program linked with libmemreclaim:
# metadata and mappings stay bounded (wp_threads.c).
. "${srcdir:-$(dirname "$0")}/wp_common.sh"
wp_run threads "" ./wp_threads
cat "$WP_TMP/threads.out"
wp_check_preload_err "$WP_TMP/threads.err"
if [ "$WP_RC" -ne 0 ]; then
	wp_fail "wp_threads exits $WP_RC"
	wp_show "$WP_TMP/threads.err"
fi
wp_finish
