/*
 * prog_dlopen_lib.c: a library loaded with dlopen (prog_dlopen.sh) that
 * allocates blocks the program frees, frees blocks the program allocated,
 * and keeps a table across dlclose/dlopen of itself (it is reloaded).
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT char *prog_dl_make(size_t n, int c);
EXPORT size_t prog_dl_take(char *p, size_t n, int c);

/* A block of n bytes of c, for the program to check and free. */
char *
prog_dl_make(size_t n, int c)
{
	char *p = malloc(n);

	if (p)
		memset(p, c, n);
	return p;
}

/* Check and free a block the program allocated; returns bytes correct. */
size_t
prog_dl_take(char *p, size_t n, int c)
{
	size_t k;

	for (k = 0; k < n && p[k] == (char)c; k++)
		;
	free(p);
	return k;
}
