/*
 * prof_hold.c: the program of sys_profile.sh.  Keeps 64 MiB allocated from
 * hold_big() (256 KiB objects) and 8 MiB from hold_small() (2 MiB
 * objects), frees a further 32 MiB it allocated in between (which must
 * leave the in-use profile), then either exits (the profile is written by
 * MEMRECLAIM_PROF_FILE) or, with an argument, says "ready" and waits on
 * stdin so that memreclaimctl can ask for its profile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG_OBJ (256 << 10)
#define SMALL_OBJ (2 << 20)

/* Not static: the compiler must keep allocations it cannot see used. */
void *big[256], *small[4], *temp[128];

__attribute__((noinline)) static void
hold_big(int i)
{
	big[i] = malloc(BIG_OBJ);
	memset(big[i], 1, BIG_OBJ);
}

__attribute__((noinline)) static void
hold_small(int i)
{
	small[i] = malloc(SMALL_OBJ);
	memset(small[i], 2, SMALL_OBJ);
}

__attribute__((noinline)) static void
churn(int i)
{
	temp[i] = malloc(BIG_OBJ);
	memset(temp[i], 3, BIG_OBJ);
}

int
main(int argc, char **argv)
{
	char line[16];
	int i;

	for (i = 0; i < 256; i++) {
		hold_big(i);
		if (i % 64 == 0)
			hold_small(i / 64);
		if (i % 2 == 0)
			churn(i / 2);
	}
	for (i = 0; i < 128; i++)
		free(temp[i]);
	if (argc > 1) {
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 0;
	}
	return 0;
}
