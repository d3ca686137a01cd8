#!/bin/sh
# Heap misuse under LD_PRELOAD: a double free of a large block and of a
# small object, a free of a pointer malloc never returned, and of an
# interior pointer (large and small) each stop the
# program with SIGABRT and exactly one line on stderr naming memreclaim.
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
for mode in double-large double-small foreign interior-large interior-small; do
	# No core files from the expected aborts.
	(ulimit -c 0; LD_PRELOAD=$MR_LIB timeout -k 5 60 ./prog_badfree "$mode" \
		>"$PROG_TMP/$mode.out" 2>"$PROG_TMP/$mode.err" </dev/null)
	rc=$?
	lines=$(wc -l <"$PROG_TMP/$mode.err")
	if [ "$rc" -ne 134 ]; then
		# 134 = 128 + SIGABRT as reported by the shell.
		prog_fail "$mode: exit status $rc, expected SIGABRT (134)"
		prog_show "$PROG_TMP/$mode.out"
		prog_show "$PROG_TMP/$mode.err"
	elif ! grep -q "^freeing" "$PROG_TMP/$mode.out"; then
		prog_fail "$mode: aborted before the bad free"
		prog_show "$PROG_TMP/$mode.err"
	elif [ "$lines" -ne 1 ] || ! grep -q memreclaim "$PROG_TMP/$mode.err"; then
		prog_fail "$mode: stderr is not one line naming memreclaim:"
		prog_show "$PROG_TMP/$mode.err"
	else
		echo "ok: $mode: SIGABRT, stderr: $(cat "$PROG_TMP/$mode.err")"
	fi
done
prog_finish
