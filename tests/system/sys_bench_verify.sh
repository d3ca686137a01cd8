#!/bin/sh
# The workloads' checks are live: with a preloaded malloc that flips a byte
# of a live object now and then (bench_corrupt.c), a workload must fail with
# status 1 and name the corrupted object, not report a result.
bin="${top_builddir:-../..}/bench"
shim="${top_builddir:-../..}/tests/system/.libs/bench_corrupt.so"
err=$(mktemp)
out=$(mktemp -d)
trap 'rm -rf "$err" "$out"' EXIT
fail=0
for w in "sizes random" "sizes fixed" "fragment"; do
	set -- $w
	prog=$1
	shift
	# Unchanged malloc: passes.
	if ! "$bin/$prog" -s "$@" >/dev/null 2>"$err"; then
		echo "FAIL: $w fails under plain glibc:"; cat "$err"
		fail=1
		continue
	fi
	LD_PRELOAD="$shim" "$bin/$prog" -s "$@" >/dev/null 2>"$err"
	status=$?
	if [ $status -ne 1 ] || ! grep -q 'corrupted object' "$err"; then
		echo "FAIL: $w with a corrupting malloc exited $status:"
		cat "$err"
		fail=1
	else
		echo "ok: $w caught it: $(cat "$err")"
	fi
done
# The runner reports it as a failure too, not as a result.
if "${top_srcdir:-../..}/bench/run" --smoke --bindir "$bin" \
	--add corrupt="$shim" -a corrupt -w random-sizes -o "$out" \
	>"$err" 2>&1; then
	echo "FAIL: bench/run passed a corrupting allocator:"; cat "$err"
	fail=1
elif ! grep -q '^FAIL random-sizes under corrupt.*corrupted object' "$err"
then
	echo "FAIL: bench/run did not name the corrupted object:"; cat "$err"
	fail=1
else
	echo "ok: bench/run: $(head -1 "$err")"
fi
exit $fail
