#!/bin/sh
# Smoke run of every benchmark workload with libmemreclaim.so preloaded:
# tiny parameters, no timings; each workload checks its own objects, so an
# allocator that corrupts or loses an object fails here, and so does a
# library that is preloaded but does not actually serve malloc.
set -e
so="${top_builddir:-../..}/lib/.libs/libmemreclaim.so"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"${top_srcdir:-../..}/bench/run" --smoke -a memreclaim --memreclaim "$so" \
	--bindir "${top_builddir:-../..}/bench" -o "$out"
