#!/bin/sh
# Smoke run of every benchmark workload under glibc's malloc: tiny
# parameters, no timings; each workload checks its own objects.
set -e
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"${top_srcdir:-../..}/bench/run" --smoke -a glibc \
	--bindir "${top_builddir:-../..}/bench" -o "$out"
