/*
 * prog_ctor_lib.c: a shared library whose constructor allocates, preloaded
 * beside libmemreclaim (prog_ctor.sh) so malloc is called before main and
 * possibly before libmemreclaim's own initialisation.  The program checks
 * and frees what the constructor kept through prog_ctor_lib_check().
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>

int prog_ctor_lib_check(void);

static char *kept[32];

__attribute__((constructor)) static void
lib_ctor(void)
{
	int i;

	for (i = 0; i < 32; i++) {
		size_t n = (size_t)(i + 1) * (i % 4 == 0 ? 20000 : 100);

		kept[i] = i % 3 ? malloc(n) : calloc(1, n);
		if (!kept[i])
			abort();
		memset(kept[i], 'a' + i, n);
	}
	/* Free some right away, from the constructor too. */
	for (i = 0; i < 32; i += 5) {
		free(kept[i]);
		kept[i] = NULL;
	}
}

/* Returns how many kept blocks still hold their bytes; frees them. */
__attribute__((visibility("default"))) int
prog_ctor_lib_check(void)
{
	int i, good = 0;

	for (i = 0; i < 32; i++) {
		size_t n = (size_t)(i + 1) * (i % 4 == 0 ? 20000 : 100), k;

		if (!kept[i])
			continue;
		for (k = 0; k < n && kept[i][k] == (char)('a' + i); k++)
			;
		good += k == n;
		free(kept[i]);
		kept[i] = NULL;
	}
	return good;
}
