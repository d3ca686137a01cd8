#!/bin/bash
# tests/mutants/run.sh: seeded bugs, kept (`make mutants`).
#
# Each NN-name.sed in this folder is a one-line deliberate bug in a
# critical invariant: its header names the file it changes, the test(s)
# that must catch it and the bug.  This script copies the source tree
# (tracked and untracked files, not build folders) to a scratch folder,
# builds it once, checks that every named test passes on the unchanged
# copy, then for each mutant: applies it (it must change exactly one
# line), rebuilds, runs its tests, and puts the file back.  A mutant is
# caught when one of its tests fails; it survives when they all pass (or
# skip).  Prints a table; exits 1 if any mutant survived or did not apply
# or build, 0 when every one was caught.
#
# Environment: MUTANTS (space-separated names or numbers: only those),
# MUTANT_DIR (scratch folder, default /tmp/memreclaim-mutants.$$, removed
# at the end unless MUTANT_KEEP=1), JOBS (make -j, default 2).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
JOBS=${JOBS:-2}
scratch=${MUTANT_DIR:-/tmp/memreclaim-mutants.$$}
src=$scratch/src
bld=$scratch/build
log=$scratch/logs

cleanup() {
	[ "${MUTANT_KEEP:-0}" = 1 ] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

mkdir -p "$src" "$bld" "$log" || exit 2
echo "mutants: scratch copy in $scratch"
(cd "$top" && git ls-files -co --exclude-standard -z |
	grep -zv '^_build' | tar --null -T - -cf -) | tar -xf - -C "$src" ||
	exit 2
(cd "$src" && autoreconf -fi) >"$log/autoreconf.log" 2>&1 || {
	echo "autoreconf failed: $log/autoreconf.log"
	exit 2
}
(cd "$bld" && "$src/configure") >"$log/configure.log" 2>&1 || {
	echo "configure failed"
	exit 2
}

field() { sed -n "s/^# $1: //p" "$2"; }

# run_test DIR/NAME LOGFILE: 0 pass, 1 fail, 77 skip
run_test() {
	local d=${1%%/*} t=${1#*/} res
	rm -f "$bld/tests/$d/$t.trs"
	if [ "$d" = unit ]; then
		make -C "$bld/tests/$d" -j"$JOBS" check TESTS="$t" \
			check_PROGRAMS="$t" >>"$2" 2>&1
	else
		make -C "$bld/tests/$d" -j"$JOBS" check TESTS="$t" >>"$2" 2>&1
	fi
	res=$(sed -n 's/^:test-result: *//p' "$bld/tests/$d/$t.trs" 2>/dev/null)
	case $res in
	PASS) return 0 ;;
	SKIP) return 77 ;;
	*) return 1 ;;
	esac
}

build() {
	make -C "$bld" -j"$JOBS" >>"$1" 2>&1
}

all=$(ls "$here"/[0-9]*.sed | sort)
if [ -n "${MUTANTS:-}" ]; then
	sel=
	for m in $MUTANTS; do
		sel="$sel $(ls "$here"/*.sed | grep -E "/(0*$m-|$m\.sed$|[0-9]+-$m\.sed$)")"
	done
	all=$sel
fi

echo "building the unchanged copy ..."
build "$log/base.log" || {
	echo "the unchanged tree does not build: $log/base.log"
	exit 2
}
# Every named test must pass on the unchanged tree.
tests=$(for m in $all; do field tests "$m"; done | tr ' ' '\n' | sort -u)
for t in $tests; do
	run_test "$t" "$log/base.log"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "baseline: $t $([ $rc = 77 ] && echo skips || echo fails)" \
			"on the unchanged tree: mutants against it mean nothing"
		exit 2
	fi
done

caught=0
bad=0
rows=()
for m in $all; do
	name=$(basename "$m" .sed)
	file=$(field file "$m")
	mt=$(field tests "$m")
	mlog=$log/$name.log
	cp "$src/$file" "$scratch/orig"
	sed -f "$m" "$scratch/orig" >"$src/$file"
	n=$(diff "$scratch/orig" "$src/$file" | grep -c '^<')
	result=
	if [ "$n" -ne 1 ]; then
		result="BAD (changes $n lines)"
	elif ! build "$mlog"; then
		result="BAD (does not build)"
	else
		result=SURVIVED
		for t in $mt; do
			run_test "$t" "$mlog"
			rc=$?
			if [ $rc -eq 1 ]; then
				result="caught by $t"
				break
			fi
		done
	fi
	cp "$scratch/orig" "$src/$file"
	case $result in
	caught*) caught=$((caught + 1)) ;;
	*) bad=$((bad + 1)) ;;
	esac
	rows+=("$(printf '%-28s %-22s %s' "$name" "$file" "$result")")
	printf '%s\n' "${rows[-1]}"
done
build "$log/restore.log" >/dev/null 2>&1

echo
printf '%-28s %-22s %s\n' MUTANT FILE RESULT
printf '%s\n' "${rows[@]}"
total=$((caught + bad))
echo "$caught of $total mutants caught, $bad survived or broken"
[ "$bad" -eq 0 ]
