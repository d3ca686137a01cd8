#!/bin/sh
# dlopen/dlclose of a library that allocates and frees across the
# boundary (wp_dlopen_prog.c, wp_dlopen_lib.c).
. "${srcdir:-$(dirname "$0")}/wp_common.sh"
DL=$WP_BUILDDIR/.libs/libwp_dlopen.so
[ -f "$DL" ] || { echo "ERROR: $DL not built"; exit 99; }
wp_compare dlopen ./wp_dlopen_prog "$DL"
wp_finish
