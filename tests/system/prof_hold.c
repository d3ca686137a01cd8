/*
 * prof_hold.c: the program of sys_profile.sh.  Keeps 64 MiB allocated from
 * hold_big() (256 KiB objects) and 8 MiB from hold_small() (2 MiB
 * objects), frees a further 32 MiB it allocated in between (which must
 * leave the in-use profile), then either exits (the profile is written by
 * MEMRECLAIM_PROF_FILE) or, with an argument, says "ready" and waits on
 * stdin so that memreclaimctl can ask for its profile.
 *
 * `prof_hold late`, for sampling switched at run time (memreclaimctl prof
 * PID on|off): allocates nothing until a line comes on stdin, then waits
 * (5 s at most) for the "prof" option to read 1, allocates as above and
 * says "ready"; at the next line waits for "prof" to read 0, keeps another
 * 64 MiB from hold_more() (which must not be sampled) and says "ready"
 * again; exits at the third line.  It prints "not switched" and exits 3
 * if the option does not change.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIG_OBJ (256 << 10)
#define SMALL_OBJ (2 << 20)

/* Not static: the compiler must keep allocations it cannot see used. */
void *big[256], *small[4], *temp[128], *more[256];

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

__attribute__((noinline)) static void
hold_more(int i)
{
	more[i] = malloc(BIG_OBJ);
	memset(more[i], 4, BIG_OBJ);
}

/* Wait until the "prof" option reads want (the switch travels from
 * memreclaimctl through the daemon to the library's client thread). */
static int
prof_is(const char *want)
{
	int (*get)(const char *, char *, size_t) =
	    (int (*)(const char *, char *, size_t))dlsym(RTLD_DEFAULT,
							 "mr_option_get");
	char v[32];
	int i;

	for (i = 0; get && i < 500; i++) {
		if (get("prof", v, sizeof(v)) > 0 && !strcmp(v, want))
			return 1;
		usleep(10000);
	}
	printf("not switched\n");
	return 0;
}

int
main(int argc, char **argv)
{
	char line[16];
	int i, late = argc > 1 && !strcmp(argv[1], "late");

	if (late && (!fgets(line, sizeof(line), stdin) || !prof_is("1")))
		return 3;
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
	if (late) {
		if (!prof_is("0"))
			return 3;
		for (i = 0; i < 256; i++)
			hold_more(i);
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 0;
	}
	return 0;
}
