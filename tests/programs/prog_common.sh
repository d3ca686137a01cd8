# prog_common.sh: shared by the whole-program tests (prog_*.sh), sourced.
#
# Each test runs a real program twice, once with the C library's (or the
# program's own) allocator and once with LD_PRELOAD=libmemreclaim.so, and
# compares the outputs byte for byte.  Every run is bounded by timeout(1);
# temporary files and servers are removed by the EXIT trap.  Exit codes
# follow automake: 0 pass, 1 fail, 77 skip (a program is not installed),
# 99 hard error (the library was not built).

set -u

: "${srcdir:=$(dirname "$0")}"
: "${top_builddir:=../..}"
PROG_BUILDDIR=$(pwd)
PROG_TOP=$(cd "$top_builddir" && pwd)
MR_LIB=${MR_LIB:-$PROG_TOP/lib/.libs/libmemreclaim.so}
PROG_TIMEOUT=${PROG_TIMEOUT:-300}
PROG_FAILS=0

PROG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/memreclaim-wp.XXXXXX") || exit 99
prog_cleanup_hooks=
prog_cleanup() {
	for h in $prog_cleanup_hooks; do
		"$h" || :
	done
	rm -rf "$PROG_TMP"
}
trap prog_cleanup EXIT
trap 'exit 1' INT TERM HUP

prog_at_exit() {
	prog_cleanup_hooks="$1 $prog_cleanup_hooks"
}

if [ ! -f "$MR_LIB" ]; then
	echo "ERROR: $MR_LIB not built" >&2
	exit 99
fi

prog_need() {
	for p in "$@"; do
		if ! command -v "$p" >/dev/null 2>&1 && [ ! -x "$p" ]; then
			echo "SKIP: $p not installed (contrib/install-deps installs it)"
			exit 77
		fi
	done
}

prog_fail() {
	echo "FAIL: $*"
	PROG_FAILS=$((PROG_FAILS + 1))
}

# Print a file, indented, so a failure log shows it.
prog_show() {
	sed 's/^/    | /' "$1" | head -n "${2:-40}"
}

# prog_run TAG PRELOAD CMD...: run CMD with LD_PRELOAD=PRELOAD ("" for none);
# stdout in $PROG_TMP/TAG.out, stderr in $PROG_TMP/TAG.err, status in PROG_RC.
prog_run() {
	prog_tag=$1
	prog_pre=$2
	shift 2
	if [ -n "$prog_pre" ]; then
		# The loader logs each symbol binding to files (not to the
		# program's stderr): prog_check_binds reads them.
		timeout -k 10 "$PROG_TIMEOUT" env LD_PRELOAD="$prog_pre" \
			LD_DEBUG=bindings LD_DEBUG_OUTPUT="$PROG_TMP/$prog_tag.ld" \
			"$@" >"$PROG_TMP/$prog_tag.out" 2>"$PROG_TMP/$prog_tag.err" </dev/null
	else
		env -u LD_PRELOAD timeout -k 10 "$PROG_TIMEOUT" "$@" \
			>"$PROG_TMP/$prog_tag.out" 2>"$PROG_TMP/$prog_tag.err" </dev/null
	fi
	PROG_RC=$?
	return 0
}

# Complain if the dynamic loader refused the preload (then the "memreclaim"
# run would silently be a glibc run) or the library reported corruption.
prog_check_preload_err() {
	if grep -q "cannot be preloaded" "$1"; then
		prog_fail "the dynamic loader did not preload $MR_LIB:"
		prog_show "$1"
	fi
	if grep -q "memreclaim: fatal" "$1"; then
		prog_fail "memreclaim reported heap corruption:"
		prog_show "$1"
	fi
}

# prog_check_binds TAG: in a run made by prog_run with a preload, every
# binding of the malloc family, in the program and in every library it
# loaded (libc's own internal calls included), went to libmemreclaim.  A
# library that loads but does not interpose (e.g. its malloc carries a
# symbol version the program's reference does not match) fails here.
#
# The loader writes one file per process, but the threads of a process
# write to it without a lock, so two lines can interleave.  Only whole,
# well-formed lines are judged: each is parsed with one anchored pattern
# (pid, from, to, symbol), never by field position, and a line the pattern
# does not match in full (a mangled one) is counted and shown, not judged.
prog_bind_re='^ *([0-9]+):[[:space:]]+binding file ([^ ]+) \[[0-9]+\] to ([^ ]+) \[[0-9]+\]: normal symbol `(malloc|free|calloc|realloc|posix_memalign|aligned_alloc|memalign|malloc_usable_size)'"'"'( \[[A-Za-z0-9_.]+\])?$'
prog_check_binds() {
	cat "$PROG_TMP/$1.ld".* 2>/dev/null >"$PROG_TMP/$1.ldall"
	sed -nE "s/$prog_bind_re/\\1 \\2 \\3 \\4/p" "$PROG_TMP/$1.ldall" \
		>"$PROG_TMP/$1.binds"
	# Lines naming a malloc-family symbol that are not well formed.
	grep -E "symbol .(malloc|free|calloc|realloc|posix_memalign|aligned_alloc|memalign|malloc_usable_size)'" \
		"$PROG_TMP/$1.ldall" | grep -cvE "$prog_bind_re" \
		>"$PROG_TMP/$1.mangled" || :
	prog_nb=$(wc -l <"$PROG_TMP/$1.binds")
	# A binding to the library is right.  So is one to a non-PIE
	# executable's PLT stub (its canonical address for a function whose
	# address it takes) when that executable itself binds the symbol to
	# the library.
	awk -v lib="/$(basename "$MR_LIB")" '
	function is_lib(p) {
		return substr(p, length(p) - length(lib) + 1) == lib
	}
	{
		line[NR] = $0; pid[NR] = $1; from[NR] = $2; to[NR] = $3
		sym[NR] = $4
		if (is_lib($3))
			good[$1 " " $2 " " $4] = 1
	}
	END {
		for (n = 1; n <= NR; n++) {
			if (is_lib(to[n]))
				continue
			if ((pid[n] " " to[n] " " sym[n]) in good)
				continue
			print line[n]
		}
	}' "$PROG_TMP/$1.binds" >"$PROG_TMP/$1.badbinds"
	prog_bad=$(wc -l <"$PROG_TMP/$1.badbinds")
	if [ "$prog_nb" -eq 0 ]; then
		prog_fail "$1: the loader bound no malloc-family symbol"
	elif [ "$prog_bad" -ne 0 ]; then
		prog_fail "$1: $prog_bad of $prog_nb malloc-family bindings do not go" \
			"to $(basename "$MR_LIB"), e.g.:"
		prog_show "$PROG_TMP/$1.badbinds" 5
	fi
	if [ "$(cat "$PROG_TMP/$1.mangled")" -gt 0 ] 2>/dev/null; then
		echo "note: $1: $(cat "$PROG_TMP/$1.mangled") loader line(s)" \
			"interleaved by concurrent threads, not judged"
	fi
}

# prog_compare NAME CMD...: run CMD without and with the library; both must
# exit 0 and print the same stdout.
prog_compare() {
	prog_name=$1
	shift
	prog_run "$prog_name.glibc" "" "$@"
	prog_rc_glibc=$PROG_RC
	prog_run "$prog_name.mr" "$MR_LIB" "$@"
	prog_rc_mr=$PROG_RC
	if [ "$prog_rc_glibc" -ne 0 ]; then
		prog_fail "$prog_name: exits $prog_rc_glibc even without memreclaim:"
		prog_show "$PROG_TMP/$prog_name.glibc.err"
		return
	fi
	prog_check_preload_err "$PROG_TMP/$prog_name.mr.err"
	prog_check_binds "$prog_name.mr"
	if [ "$prog_rc_mr" -ne 0 ]; then
		prog_fail "$prog_name: exits $prog_rc_mr under LD_PRELOAD=$MR_LIB" \
			"(0 without it)$( [ "$prog_rc_mr" -eq 124 ] && echo ': timed out')"
		prog_show "$PROG_TMP/$prog_name.mr.err"
		return
	fi
	if ! cmp -s "$PROG_TMP/$prog_name.glibc.out" "$PROG_TMP/$prog_name.mr.out"; then
		prog_fail "$prog_name: output differs under memreclaim:"
		diff "$PROG_TMP/$prog_name.glibc.out" "$PROG_TMP/$prog_name.mr.out" \
			>"$PROG_TMP/$prog_name.diff"
		prog_show "$PROG_TMP/$prog_name.diff"
		return
	fi
	echo "ok: $prog_name: same output ($(wc -l <"$PROG_TMP/$prog_name.mr.out")" \
		"lines, $(wc -c <"$PROG_TMP/$prog_name.mr.out") bytes) with and" \
		"without memreclaim"
}

prog_finish() {
	if [ "$PROG_FAILS" -ne 0 ]; then
		echo "$PROG_FAILS check(s) failed"
		exit 1
	fi
	exit 0
}
