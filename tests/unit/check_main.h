/*
 * check_main.h: the one main() of every Check unit test.
 *
 * A unit test file defines test_suite(), which builds its Suite (or
 * returns NULL after calling check_skip() when what it needs is missing
 * here), and links check_main.c.  main() runs the suite in CK_NORMAL mode
 * and exits 0 when every test passed, 1 when one failed, and 77 (automake's
 * "skipped") when the suite asked to be skipped.
 *
 * A suite that can run only part of its cases on this machine (a kernel
 * feature missing) calls check_partial() with the reason: the run is then
 * reported as skipped, not as passed, so a green run never hides a part
 * that did not run.
 */
#ifndef MR_CHECK_MAIN_H
#define MR_CHECK_MAIN_H

#include <check.h>
#include <stddef.h>

/* Defined by each test file. */
Suite *test_suite(void);

/* Skip the whole suite (return NULL from test_suite after it). */
void check_skip(const char *why);
/* Part of the suite cannot run here: it runs the rest, then exits 77
 * if everything that ran passed. */
void check_partial(const char *why);

/* Run fn(arg, fd) in a forked child, fd the write end of a pipe (made
 * the child's stderr too when to_stderr); the child exits with fn's
 * return value.  What the child wrote through the pipe goes to out
 * (NUL-terminated, at most cap - 1 bytes).  Returns the child's wait
 * status. */
int check_child(int (*fn)(void *arg, int fd), void *arg, int to_stderr,
		char *out, size_t cap);

#endif
