/*
 * check_asan.c: AddressSanitizer sees memreclaim's own objects.
 *
 * Built and run only in the AddressSanitizer build (tests/run's
 * _build-asan; lib/core/asan.h): each case makes a child process misuse an
 * object it got from mr_malloc and asserts that the child died with the
 * report a user would see: a use after free, an overflow into a
 * never-used neighbour, and a double free that does not sit on top of the
 * thread cache (the one the plain build cannot see).  A correct use
 * (writing the whole usable size, reusing a freed-then-reallocated object)
 * must not be reported.
 */
#include "config.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memreclaim.h"
#include "check_main.h"

/* Run fn in a child with its stderr in a pipe; return what it printed and
 * whether it exited 0. */
static int
run_void(void *arg, int fd)
{
	(void)fd;
	(*(void (**)(void))arg)();
	return 0;
}

static int
child(void (*fn)(void), char *out, size_t cap)
{
	int status = check_child(run_void, &fn, 1, out, cap);

	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static volatile char sink;

static void
use_after_free(void)
{
	char *p = mr_malloc(100);

	memset(p, 1, 100);
	mr_free(p);
	sink = p[10];
}

static void
overflow(void)
{
	char *p = mr_malloc(96);	/* a class size: no slack */
	size_t n = mr_malloc_usable_size(p);

	memset(p, 1, n);
	sink = p[n];	/* the next object was never handed out */
}

static void
double_free_hidden(void)
{
	void *a = mr_malloc(64), *b = mr_malloc(64);

	mr_free(a);
	mr_free(b);	/* a is no longer on top of the cache */
	mr_free(a);
}

static void
correct_use(void)
{
	char *p = mr_malloc(100), *q;
	size_t n = mr_malloc_usable_size(p);

	memset(p, 2, n);
	mr_free(p);
	q = mr_malloc(100);	/* the same object again, most likely */
	memset(q, 3, mr_malloc_usable_size(q));
	q = mr_realloc(q, 5000);
	memset(q, 4, 5000);
	mr_free(q);
	p = mr_calloc(10, 1000);
	sink = p[9999];
	mr_free(p);
}

/* fn must die with an ASan report of a poisoned access. */
static void
expect_poison_report(void (*fn)(void), const char *what)
{
	char out[8192];

	ck_assert(!child(fn, out, sizeof(out)));
	ck_assert_msg(strstr(out, "AddressSanitizer") &&
			  strstr(out, "use-after-poison"),
		      "no ASan report for %s:\n%s", what, out);
}

START_TEST(test_asan_reports_use_after_free)
{
	expect_poison_report(use_after_free, "a use after free");
}
END_TEST

START_TEST(test_asan_reports_overflow)
{
	expect_poison_report(overflow, "an overflow");
}
END_TEST

START_TEST(test_asan_reports_hidden_double_free)
{
	char out[8192];

	ck_assert(!child(double_free_hidden, out, sizeof(out)));
	ck_assert_msg(strstr(out, "double free"),
		      "double free not reported:\n%s", out);
}
END_TEST

START_TEST(test_asan_quiet_on_correct_use)
{
	char out[8192];

	ck_assert_msg(child(correct_use, out, sizeof(out)),
		      "correct use reported:\n%s", out);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("asan");
	TCase *tc = tcase_create("poisoning");

#ifndef __SANITIZE_ADDRESS__
	check_skip("not an AddressSanitizer build (tests/run builds one)");
	return NULL;
#endif
	tcase_add_test(tc, test_asan_reports_use_after_free);
	tcase_add_test(tc, test_asan_reports_overflow);
	tcase_add_test(tc, test_asan_reports_hidden_double_free);
	tcase_add_test(tc, test_asan_quiet_on_correct_use);
	suite_add_tcase(s, tc);
	return s;
}
