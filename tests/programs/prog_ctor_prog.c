/*
 * prog_ctor_prog.c: a program that allocates in its own constructor, and
 * checks the blocks a preloaded library's constructor allocated
 * (prog_ctor_lib.c), all before or at the start of main (prog_ctor.sh).
 */
#include "config.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *early[16];

__attribute__((constructor)) static void
prog_ctor(void)
{
	int i;

	for (i = 0; i < 16; i++) {
		early[i] = malloc((size_t)(i + 1) * 3000);
		if (!early[i])
			abort();
		memset(early[i], 'A' + i, (size_t)(i + 1) * 3000);
	}
	early[3] = realloc(early[3], 200000);
	if (!early[3])
		abort();
}

int
main(void)
{
	int (*lib_check)(void);
	int i, good = 0, lib_good = -1;

	for (i = 0; i < 16; i++) {
		size_t n = (size_t)(i + 1) * 3000, k;

		for (k = 0; k < n && early[i][k] == 'A' + i; k++)
			;
		good += k == n;
		free(early[i]);
	}
	lib_check = (int (*)(void))dlsym(RTLD_DEFAULT, "prog_ctor_lib_check");
	if (lib_check)
		lib_good = lib_check();
	printf("program constructor blocks intact: %d of 16\n", good);
	printf("library constructor blocks intact: %d of 25\n", lib_good);
	return good == 16 && lib_good == 25 ? 0 : 1;
}
