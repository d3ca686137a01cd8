# wp_common.sh: shared by the whole-program tests (wp_*.sh), sourced.
#
# Each test runs a real program twice, once with the C library's (or the
# program's own) allocator and once with LD_PRELOAD=libmemreclaim.so, and
# compares the outputs byte for byte.  Every run is bounded by timeout(1);
# temporary files and servers are removed by the EXIT trap.  Exit codes
# follow automake: 0 pass, 1 fail, 77 skip (a program is not installed),
# 99 hard error (the library was not built).

set -u

: "${srcdir:=$(dirname "$0")}"
: "${top_builddir:=..}"
WP_BUILDDIR=$(pwd)
WP_TOP=$(cd "$top_builddir" && pwd)
MR_LIB=${MR_LIB:-$WP_TOP/lib/.libs/libmemreclaim.so}
WP_TIMEOUT=${WP_TIMEOUT:-300}
WP_FAILS=0

WP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/memreclaim-wp.XXXXXX") || exit 99
wp_cleanup_hooks=
wp_cleanup() {
	for h in $wp_cleanup_hooks; do
		"$h" || :
	done
	rm -rf "$WP_TMP"
}
trap wp_cleanup EXIT
trap 'exit 1' INT TERM HUP

wp_at_exit() {
	wp_cleanup_hooks="$1 $wp_cleanup_hooks"
}

if [ ! -f "$MR_LIB" ]; then
	echo "ERROR: $MR_LIB not built" >&2
	exit 99
fi

wp_need() {
	for p in "$@"; do
		if ! command -v "$p" >/dev/null 2>&1 && [ ! -x "$p" ]; then
			echo "SKIP: $p not installed (contrib/install-deps installs it)"
			exit 77
		fi
	done
}

wp_fail() {
	echo "FAIL: $*"
	WP_FAILS=$((WP_FAILS + 1))
}

# Print a file, indented, so a failure log shows it.
wp_show() {
	sed 's/^/    | /' "$1" | head -n "${2:-40}"
}

# wp_run TAG PRELOAD CMD...: run CMD with LD_PRELOAD=PRELOAD ("" for none);
# stdout in $WP_TMP/TAG.out, stderr in $WP_TMP/TAG.err, status in WP_RC.
wp_run() {
	wp_tag=$1
	wp_pre=$2
	shift 2
	if [ -n "$wp_pre" ]; then
		# The loader logs each symbol binding to files (not to the
		# program's stderr): wp_check_binds reads them.
		timeout -k 10 "$WP_TIMEOUT" env LD_PRELOAD="$wp_pre" \
			LD_DEBUG=bindings LD_DEBUG_OUTPUT="$WP_TMP/$wp_tag.ld" \
			"$@" >"$WP_TMP/$wp_tag.out" 2>"$WP_TMP/$wp_tag.err" </dev/null
	else
		env -u LD_PRELOAD timeout -k 10 "$WP_TIMEOUT" "$@" \
			>"$WP_TMP/$wp_tag.out" 2>"$WP_TMP/$wp_tag.err" </dev/null
	fi
	WP_RC=$?
	return 0
}

# Complain if the dynamic loader refused the preload (then the "memreclaim"
# run would silently be a glibc run) or the library reported corruption.
wp_check_preload_err() {
	if grep -q "cannot be preloaded" "$1"; then
		wp_fail "the dynamic loader did not preload $MR_LIB:"
		wp_show "$1"
	fi
	if grep -q "memreclaim: fatal" "$1"; then
		wp_fail "memreclaim reported heap corruption:"
		wp_show "$1"
	fi
}

# wp_check_binds TAG: in a run made by wp_run with a preload, every
# binding of the malloc family, in the program and in every library it
# loaded (libc's own internal calls included), went to libmemreclaim.  A
# library that loads but does not interpose (e.g. its malloc carries a
# symbol version the program's reference does not match) fails here.
wp_check_binds() {
	cat "$WP_TMP/$1.ld".* 2>/dev/null |
		grep -E "normal symbol .(malloc|free|calloc|realloc|posix_memalign|aligned_alloc|memalign|malloc_usable_size)'" \
		>"$WP_TMP/$1.binds"
	wp_nb=$(wc -l <"$WP_TMP/$1.binds")
	# A binding to the library is right.  So is one to a non-PIE
	# executable's PLT stub (its canonical address for a function whose
	# address it takes) when that executable itself binds the symbol to
	# the library.
	awk -v lib="/$(basename "$MR_LIB")" '
	{
		from = $4; to = $7; sym = $NF == "" ? $(NF - 1) : $(NF - 1)
		for (i = 1; i <= NF; i++)
			if ($i == "symbol") sym = $(i + 1)
		pid = $1
		line[NR] = $0; f[NR] = pid " " from; t[NR] = to; s[NR] = sym
		if (substr(to, length(to) - length(lib) + 1) == lib)
			good[pid " " from " " sym] = 1
	}
	END {
		for (n = 1; n <= NR; n++) {
			to = t[n]
			if (substr(to, length(to) - length(lib) + 1) == lib)
				continue
			split(f[n], pf, " ")
			if ((pf[1] " " to " " s[n]) in good)
				continue
			print line[n]
		}
	}' "$WP_TMP/$1.binds" >"$WP_TMP/$1.badbinds"
	wp_bad=$(wc -l <"$WP_TMP/$1.badbinds")
	if [ "$wp_nb" -eq 0 ]; then
		wp_fail "$1: the loader bound no malloc-family symbol"
	elif [ "$wp_bad" -ne 0 ]; then
		wp_fail "$1: $wp_bad of $wp_nb malloc-family bindings do not go" \
			"to $(basename "$MR_LIB"), e.g.:"
		wp_show "$WP_TMP/$1.badbinds" 5
	fi
}

# wp_compare NAME CMD...: run CMD without and with the library; both must
# exit 0 and print the same stdout.
wp_compare() {
	wp_name=$1
	shift
	wp_run "$wp_name.glibc" "" "$@"
	wp_rc_glibc=$WP_RC
	wp_run "$wp_name.mr" "$MR_LIB" "$@"
	wp_rc_mr=$WP_RC
	if [ "$wp_rc_glibc" -ne 0 ]; then
		wp_fail "$wp_name: exits $wp_rc_glibc even without memreclaim:"
		wp_show "$WP_TMP/$wp_name.glibc.err"
		return
	fi
	wp_check_preload_err "$WP_TMP/$wp_name.mr.err"
	wp_check_binds "$wp_name.mr"
	if [ "$wp_rc_mr" -ne 0 ]; then
		wp_fail "$wp_name: exits $wp_rc_mr under LD_PRELOAD=$MR_LIB" \
			"(0 without it)$( [ "$wp_rc_mr" -eq 124 ] && echo ': timed out')"
		wp_show "$WP_TMP/$wp_name.mr.err"
		return
	fi
	if ! cmp -s "$WP_TMP/$wp_name.glibc.out" "$WP_TMP/$wp_name.mr.out"; then
		wp_fail "$wp_name: output differs under memreclaim:"
		diff "$WP_TMP/$wp_name.glibc.out" "$WP_TMP/$wp_name.mr.out" \
			>"$WP_TMP/$wp_name.diff"
		wp_show "$WP_TMP/$wp_name.diff"
		return
	fi
	echo "ok: $wp_name: same output ($(wc -l <"$WP_TMP/$wp_name.mr.out")" \
		"lines, $(wc -c <"$WP_TMP/$wp_name.mr.out") bytes) with and" \
		"without memreclaim"
}

wp_finish() {
	if [ "$WP_FAILS" -ne 0 ]; then
		echo "$WP_FAILS check(s) failed"
		exit 1
	fi
	exit 0
}
