#!/bin/sh
# Heap misuse under LD_PRELOAD: a double free of a large block, a free of a
# pointer malloc never returned, and of an interior pointer each stop the
# program with SIGABRT and exactly one line on stderr naming memreclaim.
. "${srcdir:-$(dirname "$0")}/wp_common.sh"
for mode in double-large foreign interior-large; do
	# No core files from the expected aborts.
	(ulimit -c 0; LD_PRELOAD=$MR_LIB timeout -k 5 60 ./wp_badfree "$mode" \
		>"$WP_TMP/$mode.out" 2>"$WP_TMP/$mode.err" </dev/null)
	rc=$?
	lines=$(wc -l <"$WP_TMP/$mode.err")
	if [ "$rc" -ne 134 ]; then
		# 134 = 128 + SIGABRT as reported by the shell.
		wp_fail "$mode: exit status $rc, expected SIGABRT (134)"
		wp_show "$WP_TMP/$mode.out"
		wp_show "$WP_TMP/$mode.err"
	elif ! grep -q "^freeing" "$WP_TMP/$mode.out"; then
		wp_fail "$mode: aborted before the bad free"
		wp_show "$WP_TMP/$mode.err"
	elif [ "$lines" -ne 1 ] || ! grep -q memreclaim "$WP_TMP/$mode.err"; then
		wp_fail "$mode: stderr is not one line naming memreclaim:"
		wp_show "$WP_TMP/$mode.err"
	else
		echo "ok: $mode: SIGABRT, stderr: $(cat "$WP_TMP/$mode.err")"
	fi
done
wp_finish
