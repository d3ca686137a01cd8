#!/bin/bash
# sys_prof_stack.sh: a sampled allocation's stack reaches the program's
# frames, whichever walker takes it.
#
# prof_stack_fp and prof_stack_nofp are one program (prof_stack.c) built
# with and without frame pointers; each allocates through stack_a ->
# stack_b -> stack_c -> stack_d -> malloc on two threads, every allocation
# sampled, and names the frames of its own in-use profile.  The
# frame-pointer walk must give the whole stack in the program that keeps
# frame pointers and only the call site in the one that does not (its
# documented limit: if it gave more there, the check would be blind);
# libunwind and prof_unwind=auto must give the whole stack in both.
# Exits 77 in sanitizer builds (no preloading) and skips the libunwind
# cases when the library was built without it.
set -u

top_builddir=${top_builddir:-../..}
B=$(cd "$top_builddir" && pwd)
LIB=$B/lib/.libs/libmemreclaim.so
T=$B/tests/system

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

grep -q '^#define MR_SANITIZED' "$B/config.h" 2>/dev/null &&
	skip "sanitizer build: the preload library is not usable"
unw=0
grep -q '^#define HAVE_LIBUNWIND 1' "$B/config.h" && unw=1

# run BUILD UNWIND WANT: WANT is the exit status of prof_stack check (0:
# every stack whole, 2: cut short).
run() {
	local out rc
	out=$(env LD_PRELOAD="$LIB" MEMRECLAIM_DAEMON=0 MEMRECLAIM_PROF=1 \
		MEMRECLAIM_PROF_INTERVAL=1 MEMRECLAIM_PROF_UNWIND="$2" \
		"$T/prof_stack_$1" check 2>&1)
	rc=$?
	echo "$1 program, $2 walk (exit $rc):"
	echo "$out" | sed 's/^/    /'
	[ "$rc" = "$3" ] || fail "$1 program, $2 walk: exit $rc, not $3"
}

run fp fp 0
run nofp fp 2
run fp auto 0
if [ $unw = 1 ]; then
	run fp libunwind 0
	run nofp libunwind 0
	run nofp auto 0
else
	echo "built without libunwind: its cases skipped"
fi
echo "ok"
