/*
 * check_main.c: the shared main() of the Check unit tests (check_main.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check_main.h"

static const char *skip_why;
static const char *partial_why;

void
check_skip(const char *why)
{
	skip_why = why;
}

void
check_partial(const char *why)
{
	partial_why = why;
}

int
main(void)
{
	Suite *s = test_suite();
	SRunner *sr;
	int failed;

	if (!s) {
		printf("SKIP: %s\n", skip_why ? skip_why : "(no reason given)");
		return 77;
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed)
		return EXIT_FAILURE;
	if (partial_why) {
		printf("SKIP (partly): %s\n", partial_why);
		return 77;
	}
	return EXIT_SUCCESS;
}

int
check_child(int (*fn)(void *arg, int fd), void *arg, int to_stderr,
	    char *out, size_t cap)
{
	int p[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (to_stderr)
			dup2(p[1], 2);
		_exit(fn(arg, p[1]));
	}
	close(p[1]);
	while (len < cap - 1 && (n = read(p[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}
