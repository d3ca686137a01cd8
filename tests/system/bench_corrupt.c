/*
 * bench_corrupt.c: a preloadable malloc wrapper that corrupts objects, to
 * prove the benchmark workloads notice (tests/system/sys_bench_verify.sh).
 *
 * It forwards to the next malloc (glibc's) and, on every 100th call from a
 * thread, flips the first byte of the object that thread allocated just
 * before, if it is still live: the workload has filled it by then, so its
 * check before free must fail.  Only for single-thread workloads: with
 * cross-thread frees the object could already be free.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

void *malloc(size_t n);
void free(void *p);

static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static __thread unsigned char *last;
static __thread unsigned long calls;

void *
malloc(size_t n)
{
	void *p;

	if (!next_malloc)
		next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	if (last && ++calls % 100 == 0)
		last[0] ^= 0x5a;
	p = next_malloc(n);
	last = n ? p : NULL;
	return p;
}

void
free(void *p)
{
	if (!next_free)
		next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	if (p == last)
		last = NULL;
	next_free(p);
}
