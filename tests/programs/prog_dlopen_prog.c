/*
 * prog_dlopen_prog.c: load a library with dlopen, pass memory both ways
 * across the boundary, unload and reload it many times (prog_dlopen.sh).
 */
#include "config.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	int round, bad = 0;
	size_t moved = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
		return 2;
	}
	for (round = 0; round < 50; round++) {
		void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
		char *(*make)(size_t, int);
		size_t (*take)(char *, size_t, int);
		char *held[20];
		int i;

		if (!h) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			return 1;
		}
		make = (char *(*)(size_t, int))dlsym(h, "prog_dl_make");
		take = (size_t (*)(char *, size_t, int))dlsym(h, "prog_dl_take");
		if (!make || !take) {
			fprintf(stderr, "dlsym: %s\n", dlerror());
			return 1;
		}
		for (i = 0; i < 20; i++) {
			size_t n = (size_t)(i * 1000 + round) * (i % 6 == 0 ? 50 : 1) + 1;
			char *p = make(n, 'a' + i);
			char *q = malloc(n);
			size_t k;

			if (!p || !q)
				return 1;
			for (k = 0; k < n && p[k] == 'a' + i; k++)
				;
			bad += k != n;
			memset(q, 'A' + i, n);
			bad += take(q, n, 'A' + i) != n;
			held[i] = p;
			moved += 2 * n;
		}
		/* Blocks from the library outlive it. */
		dlclose(h);
		for (i = 0; i < 20; i++)
			free(held[i]);
	}
	printf("rounds 50 bytes moved %zu bad %d\n", moved, bad);
	return bad ? 1 : 0;
}
