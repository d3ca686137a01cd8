/*
 * prog_badfree.c: heap misuse the allocator must stop (prog_badfree.sh runs it
 * under LD_PRELOAD and expects SIGABRT with one line on stderr naming
 * memreclaim).  Modes:
 *   double-large   free the same 1 MiB block twice
 *   foreign        free a pointer into a mapping malloc never returned
 *   interior-large free a pointer 4 KiB inside a large block
 * If the bad free returns, the program says so and exits 0, and the test
 * fails.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Through a volatile, so the compiler neither warns about nor removes the
 * deliberate misuse. */
static void
bad_free(char *p)
{
	char *volatile q = p;

	free(q);
}

int
main(int argc, char **argv)
{
	char *p;

	if (argc != 2)
		return 2;
	/* Some ordinary traffic first, so the allocator is initialised. */
	for (int i = 0; i < 100; i++)
		free(malloc((size_t)i * 100 + 1));
	if (!strcmp(argv[1], "double-large")) {
		p = malloc(1 << 20);
		if (!p)
			return 2;
		memset(p, 1, 1 << 20);
		free(p);
		printf("freeing again\n");
		fflush(stdout);
		bad_free(p);
	} else if (!strcmp(argv[1], "double-small")) {
		/* The double free the thread cache checks: the object is the
		 * last one freed.  (One freed between the two frees hides it
		 * until the object reaches its span again; the AddressSanitizer
		 * build catches that one at once: tests/unit/check_asan.c.) */
		p = malloc(100);
		if (!p)
			return 2;
		free(p);
		printf("freeing again\n");
		fflush(stdout);
		bad_free(p);
	} else if (!strcmp(argv[1], "interior-small")) {
		p = malloc(100);
		if (!p)
			return 2;
		printf("freeing an interior pointer\n");
		fflush(stdout);
		bad_free(p + 16);
	} else if (!strcmp(argv[1], "foreign")) {
		p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 2;
		printf("freeing a foreign pointer\n");
		fflush(stdout);
		bad_free(p + 4096);
	} else if (!strcmp(argv[1], "interior-large")) {
		p = malloc(1 << 20);
		if (!p)
			return 2;
		printf("freeing an interior pointer\n");
		fflush(stdout);
		bad_free(p + 4096);
	} else {
		return 2;
	}
	printf("survived the bad free\n");
	return 0;
}
