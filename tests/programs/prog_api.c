/*
 * prog_api.c: the libc allocation names as a program sees them, printed as
 * behaviours (never addresses or exact usable sizes), so prog_api.sh can
 * compare the output under LD_PRELOAD=libmemreclaim.so with glibc's line
 * by line.  Where glibc releases differ (aligned_alloc with an alignment
 * that is not a power of two) nothing is printed; check_api covers it.
 */
#include "config.h"
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
al(const void *p, size_t a)
{
	return p != NULL && ((uintptr_t)p & (a - 1)) == 0;
}

/* Through a volatile so the compiler does not fold calls it thinks it
 * understands (malloc(SIZE_MAX) and friends). */
static volatile size_t huge = SIZE_MAX;
static volatile size_t half = SIZE_MAX / 2;

int
main(void)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), a;
	void *p, *q;
	/* volatile: the failed reallocs leave it valid; the compiler cannot
	 * know that */
	unsigned char *volatile blk;
	int r, err;

	p = malloc(0);
	printf("malloc(0): %s, 16-aligned %d\n", p ? "pointer" : "NULL", al(p, 16));
	q = malloc(0);
	printf("malloc(0) twice: distinct %d\n", p != q);
	free(p);
	free(q);

	q = realloc(NULL, 0);
	printf("realloc(NULL, 0): %s\n", q ? "pointer" : "NULL");
	free(q);
	p = malloc(10);
	errno = 0;
	q = realloc(p, 0);
	err = errno;
	printf("realloc(p, 0): %s, errno %d\n", q ? "pointer" : "NULL", err);
	free(q);
	p = malloc(10);
	errno = 0;
	q = reallocarray(p, 0, 4);
	err = errno;
	printf("reallocarray(p, 0, 4): %s, errno %d\n", q ? "pointer" : "NULL", err);
	free(q);

	errno = 0;
	p = malloc(huge);
	err = errno;
	printf("malloc(SIZE_MAX): %s, errno %d\n", p ? "pointer" : "NULL", err);
	errno = 0;
	p = malloc(half + 1);
	err = errno;
	printf("malloc(PTRDIFF_MAX + 1): %s, errno %d\n", p ? "pointer" : "NULL", err);
	errno = 0;
	p = calloc(half, 3);
	err = errno;
	printf("calloc overflow: %s, errno %d\n", p ? "pointer" : "NULL", err);
	blk = malloc(100);
	memset(blk, 7, 100);
	errno = 0;
	q = reallocarray(blk, half, 3);
	err = errno;
	printf("reallocarray overflow: %s, errno %d, block kept %d\n",
	       q ? "pointer" : "NULL", err, blk[99] == 7);
	errno = 0;
	q = realloc(blk, huge - 100);
	err = errno;
	printf("realloc huge: %s, errno %d, block kept %d\n",
	       q ? "pointer" : "NULL", err, blk[99] == 7);
	free(blk);

	p = calloc(1000, 1000);
	printf("calloc(1000, 1000): zero %d\n",
	       p && ((char *)p)[0] == 0 && ((char *)p)[999999] == 0);
	free(p);

	for (a = 0; a <= 4096; a = a ? a * 2 : 1) {
		p = (void *)&r;
		errno = 1234;
		r = posix_memalign(&p, a, 100);
		err = errno;
		printf("posix_memalign(%zu): %d, errno %d, aligned %d\n", a, r,
		       err, r == 0 && al(p, a));
		if (r == 0)
			free(p);
	}
	for (a = 3; a < 100; a += 21) {
		p = (void *)&r;
		errno = 1234;
		r = posix_memalign(&p, a, 100);
		err = errno;
		printf("posix_memalign(%zu): %d, errno %d\n", a, r, err);
	}
	for (a = 1; a <= (1 << 20); a *= 4) {
		p = aligned_alloc(a, a * 3);
		q = memalign(a, 1000);
		printf("aligned_alloc(%zu) aligned %d, memalign(%zu) aligned %d\n",
		       a, al(p, a), a, al(q, a));
		free(p);
		free(q);
	}
	p = memalign(24, 100);
	printf("memalign(24): 32-aligned %d\n", al(p, 32));
	free(p);
	errno = 0;
	p = memalign(((size_t)1 << 63) + 1, 10);
	err = errno;
	printf("memalign(2^63 + 1): %s, errno %d\n", p ? "pointer" : "NULL", err);

	p = valloc(100);
	q = pvalloc(100);
	printf("valloc page-aligned %d, pvalloc page-aligned %d, pvalloc "
	       "usable >= page %d\n", al(p, ps), al(q, ps),
	       q && malloc_usable_size(q) >= ps);
	free(p);
	free(q);
	errno = 0;
	p = pvalloc(huge - 10);
	err = errno;
	printf("pvalloc(SIZE_MAX - 10): %s, errno %d\n", p ? "pointer" : "NULL", err);

	printf("malloc_usable_size(NULL): %zu\n", malloc_usable_size(NULL));
	for (a = 1; a < 5000000; a = a * 3 + 1) {
		p = malloc(a);
		if (!p || malloc_usable_size(p) < a) {
			printf("malloc_usable_size(malloc(%zu)) too small\n", a);
			return 1;
		}
		memset(p, 1, malloc_usable_size(p));
		q = realloc(p, a * 2);
		if (!q || ((unsigned char *)q)[a - 1] != 1) {
			printf("realloc(%zu -> %zu) lost data\n", a, a * 2);
			return 1;
		}
		free(q);
	}
	printf("usable sizes and realloc contents: ok\n");
	return 0;
}
