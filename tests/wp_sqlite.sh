#!/bin/sh
# sqlite3 running a real SQL script (wp_sqlite.sql), on a file database and
# in memory, with and without memreclaim: same output.
. "${srcdir:-$(dirname "$0")}/wp_common.sh"
wp_need sqlite3

# A fresh database file for each run: the glibc run and the memreclaim run
# must each build it from nothing.
mkdir -p "$WP_TMP/db-glibc" "$WP_TMP/db-mr"
wp_run sqlite.glibc "" sqlite3 -batch -bail "$WP_TMP/db-glibc/t.db" \
	".read $srcdir/wp_sqlite.sql"
rc_glibc=$WP_RC
wp_run sqlite.mr "$MR_LIB" sqlite3 -batch -bail "$WP_TMP/db-mr/t.db" \
	".read $srcdir/wp_sqlite.sql"
rc_mr=$WP_RC
wp_check_preload_err "$WP_TMP/sqlite.mr.err"
wp_check_binds sqlite.mr
if [ "$rc_glibc" -ne 0 ]; then
	wp_fail "sqlite3 exits $rc_glibc without memreclaim"
	wp_show "$WP_TMP/sqlite.glibc.err"
elif [ "$rc_mr" -ne 0 ]; then
	wp_fail "sqlite3 exits $rc_mr under memreclaim (0 without)"
	wp_show "$WP_TMP/sqlite.mr.err"
elif ! cmp -s "$WP_TMP/sqlite.glibc.out" "$WP_TMP/sqlite.mr.out"; then
	wp_fail "sqlite3 output differs under memreclaim"
	diff "$WP_TMP/sqlite.glibc.out" "$WP_TMP/sqlite.mr.out" >"$WP_TMP/d"
	wp_show "$WP_TMP/d"
else
	echo "ok: sqlite3 file db: same output" \
		"($(wc -l <"$WP_TMP/sqlite.mr.out") lines)"
fi

# The same script in an in-memory database (all pages in malloc'd memory).
wp_compare sqlite-memory sqlite3 -batch -bail :memory: \
	".read $srcdir/wp_sqlite.sql"
wp_finish
