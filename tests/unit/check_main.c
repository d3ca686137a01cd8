/*
 * check_main.c: the shared main() of the Check unit tests (check_main.h).
 */
#include <stdio.h>
#include <stdlib.h>
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
