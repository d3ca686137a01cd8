#!/bin/bash
# sys_release_latency.sh: freed memory becomes the kernel's within
# milliseconds, and RSS becomes honest within the release delay + 300 ms,
# measured from /proc/self/smaps_rollup by release_latency (see its opening
# comment), with libmemreclaim preloaded and default settings (no daemon).
# Two block mixes: 64-256 KiB (spans inside hugepages, the large-span cache)
# and 64 KiB-4 MiB (spans of whole hugepages too).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$here/../..}
bdir=$(cd "$top_builddir" && pwd)
LIB=$bdir/lib/.libs/libmemreclaim.so
PROG=$bdir/tests/system/release_latency
for f in "$LIB" "$PROG"; do
	[ -e "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done
[ -r /proc/self/smaps_rollup ] || { echo "SKIP: no smaps_rollup"; exit 77; }
fail=0
for max in 256 4096; do
	echo "== blocks of 64 KiB to $max KiB"
	MEMRECLAIM_DAEMON=0 LD_PRELOAD=$LIB "$PROG" -l 64 -f 1024 -m $max ||
		fail=1
done
exit $fail
