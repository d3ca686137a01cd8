#!/bin/sh
# sqlite3 running a real SQL script (prog_sqlite.sql), on a file database and
# in memory, with and without memreclaim: same output.
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
prog_need sqlite3

# A fresh database file for each run: the glibc run and the memreclaim run
# must each build it from nothing.
mkdir -p "$PROG_TMP/db-glibc" "$PROG_TMP/db-mr"
prog_run sqlite.glibc "" sqlite3 -batch -bail "$PROG_TMP/db-glibc/t.db" \
	".read $srcdir/prog_sqlite.sql"
rc_glibc=$PROG_RC
prog_run sqlite.mr "$MR_LIB" sqlite3 -batch -bail "$PROG_TMP/db-mr/t.db" \
	".read $srcdir/prog_sqlite.sql"
rc_mr=$PROG_RC
prog_check_preload_err "$PROG_TMP/sqlite.mr.err"
prog_check_binds sqlite.mr
if [ "$rc_glibc" -ne 0 ]; then
	prog_fail "sqlite3 exits $rc_glibc without memreclaim"
	prog_show "$PROG_TMP/sqlite.glibc.err"
elif [ "$rc_mr" -ne 0 ]; then
	prog_fail "sqlite3 exits $rc_mr under memreclaim (0 without)"
	prog_show "$PROG_TMP/sqlite.mr.err"
elif ! cmp -s "$PROG_TMP/sqlite.glibc.out" "$PROG_TMP/sqlite.mr.out"; then
	prog_fail "sqlite3 output differs under memreclaim"
	diff "$PROG_TMP/sqlite.glibc.out" "$PROG_TMP/sqlite.mr.out" >"$PROG_TMP/d"
	prog_show "$PROG_TMP/d"
else
	echo "ok: sqlite3 file db: same output" \
		"($(wc -l <"$PROG_TMP/sqlite.mr.out") lines)"
fi

# The same script in an in-memory database (all pages in malloc'd memory).
prog_compare sqlite-memory sqlite3 -batch -bail :memory: \
	".read $srcdir/prog_sqlite.sql"
prog_finish
