#!/bin/sh
# The libc allocation names as a program calls them (wp_api.c): behaviour
# under LD_PRELOAD=libmemreclaim.so identical to glibc's, line by line.
. "${srcdir:-$(dirname "$0")}/wp_common.sh"
wp_compare api ./wp_api
cat "$WP_TMP/api.mr.out"
wp_finish
