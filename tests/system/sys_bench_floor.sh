#!/bin/sh
# bench/live-floor and its livefloor.so count what a program holds:
#  - sizes fixed holds 1000 blocks of 32 KiB at its peak (and its two
#    arrays of 1000 pointers and tags, and stdio's buffer): the peak
#    counted is 32768000 bytes and at most 64 KiB more, and it is the same
#    in two runs; grow (realloc) and large must also run and count, large
#    more than its 64 MiB buffer;
#  - bench/live-floor on a results.csv of two workloads computes the floor
#    from it: base = glibc's tiny less what tiny held, floor = base + held,
#    as a ratio to the reference (here fixed-sizes at 40 MiB, tiny at
#    2 MiB under glibc: (2 - tiny's held + 31.27) / 40 = 0.83).
bin="${top_builddir:-../..}/bench"
src="${top_srcdir:-../..}/bench"
lib=$(cd "$bin" && pwd)/.libs/livefloor.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

held() {
	LIVEFLOOR_OUT="$tmp/out" LD_PRELOAD="$lib" "$bin/$1" -S 0.05 $2 \
		>/dev/null 2>"$tmp/err" || {
		echo "FAIL: $1 $2 under livefloor.so:"; cat "$tmp/err"
		fail=1
	}
	sed -n 's/^live_peak_bytes //p' "$tmp/out"
}

a=$(held sizes fixed)
b=$(held sizes fixed)
if [ -z "$a" ] || [ "$a" -lt 32768000 ] || [ "$a" -gt $((32768000 + 65536)) ]; then
	echo "FAIL: sizes fixed: peak held ${a:-?} bytes, not 32768000 (+ 64 KiB)"
	fail=1
elif [ "$a" != "$b" ]; then
	echo "FAIL: sizes fixed: peak held $a then $b bytes"
	fail=1
else
	echo "ok: sizes fixed holds $a bytes at its peak"
fi
g=$(held grow)
l=$(held large)
if [ -z "$g" ] || [ "$g" -le 0 ] || [ -z "$l" ] || [ "$l" -le $((64 << 20)) ]; then
	echo "FAIL: grow held ${g:-?}, large ${l:-?} bytes at their peaks"
	fail=1
else
	echo "ok: grow holds $g bytes at its peak, large $l"
fi

cat >"$tmp/results.csv" <<CSV
workload,allocator,figure,unit,better,median,ratio_to_ref,runs,failed,values
fixed-sizes,glibc,rss_mib,MiB,lower,39,0.975,1,0,39
fixed-sizes,mimalloc,rss_mib,MiB,lower,40,1,1,0,40
tiny,glibc,rss_mib,MiB,lower,2,1,1,0,2
tiny,mimalloc,rss_mib,MiB,lower,2,1,1,0,2
CSV
if ! python3 "$src/live-floor" --bindir "$bin" -S 0.05 "$tmp/results.csv" \
	>"$tmp/table" 2>"$tmp/err"; then
	echo "FAIL: bench/live-floor:"; cat "$tmp/err"
	fail=1
elif ! grep -Eq '^fixed-sizes +40\.00 +31\.2[67] +0\.83 +0\.97 ' "$tmp/table"; then
	echo "FAIL: bench/live-floor's floor for fixed-sizes is not 0.83:"
	cat "$tmp/table"
	fail=1
else
	echo "ok: bench/live-floor: $(grep '^fixed-sizes' "$tmp/table")"
fi
exit $fail
