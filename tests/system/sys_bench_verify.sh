#!/bin/sh
# The workloads' checks are live: with a preloaded malloc that flips a byte
# of a live object now and then (bench_corrupt.c), every workload bench/run
# times, multi-threaded ones included, must fail with status 1 and name the
# corrupted object, not report a result; under plain glibc each passes.
#
# Each line: BENCH_CORRUPT_EVERY, then the program and its options.  Runs
# are short (-s); the multi-threaded ones hit an object another thread is
# writing only while threads overlap, so they flip at every chance (1) and
# falseshare runs 100 times a smoke run's work (still ~20 ms).  A flip can
# land before the workload fills the object (then it is overwritten): a run
# that exits 0 is tried again, up to 3 times; any status but 0 and 1 (a
# crash) fails at once.
bin="${top_builddir:-../..}/bench"
shim="${top_builddir:-../..}/tests/system/.libs/bench_corrupt.so"
err=$(mktemp)
out=$(mktemp -d)
trap 'rm -rf "$err" "$out"' EXIT
fail=0
while read -r every prog args; do
	w="$prog $args"
	# Unchanged malloc: passes.
	if ! "$bin/$prog" -s $args >/dev/null 2>"$err"; then
		echo "FAIL: $w fails under plain glibc:"; cat "$err"
		fail=1
		continue
	fi
	try=1
	while :; do
		BENCH_CORRUPT_EVERY=$every LD_PRELOAD="$shim" \
			"$bin/$prog" -s $args >/dev/null 2>"$err"
		status=$?
		[ $status -eq 0 ] && [ $try -lt 3 ] || break
		try=$((try + 1))
	done
	if [ $status -ne 1 ] || ! grep -q 'corrupted object' "$err"; then
		echo "FAIL: $w with a corrupting malloc exited $status" \
			"(try $try):"
		cat "$err"
		fail=1
	else
		echo "ok: $w caught it (try $try): $(cat "$err")"
	fi
done <<EOF
1	churn
1	prodcons
1	remote batch
1	remote slots
1	falseshare scratch -S 100
1	falseshare thrash -S 100
100	sizes fixed
100	sizes random
10	grow
2	large
100	fragment
10	burst idle
10	burst repeat
10	smallheap small
10	smallheap tiny
10	latency single
1	latency cross
10	latency scavenge
10	latency limit
EOF
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
