/*
 * bench_corrupt.c: a preloadable malloc wrapper that corrupts objects, to
 * prove the benchmark workloads notice (tests/system/sys_bench_verify.sh).
 *
 * It forwards to the next malloc (glibc's).  Every Nth malloc or realloc
 * of a thread (N from BENCH_CORRUPT_EVERY, default 100) makes the object
 * it returns the victim, unless one is pending; the next malloc or realloc
 * of any thread flips the victim's first byte, if it is still live.  By
 * then the workload has usually filled it (the same thread has moved on to
 * its next object, or another thread allocates while the owner writes it),
 * so its check before free must fail; a flip that comes before the fill is
 * overwritten, and a later victim takes its place.
 *
 * One victim at a time, shared by all threads: free and realloc of the
 * victim clear it, and the flip happens under the same lock, so a byte is
 * never flipped in an object another thread has freed.  A victim that
 * starts with a pointer is the workload's bookkeeping (a thread handle, a
 * list link), not an object it checks: it is let go unflipped.
 *
 * BENCH_CORRUPT_EVERY=1 suits short multi-threaded runs (sys_bench_verify
 * sets it per workload): an object is then live under another thread's
 * malloc often enough to be hit in a few milliseconds.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *malloc(size_t n);
void *realloc(void *p, size_t n);
void free(void *p);

static void *(*next_malloc)(size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(unsigned char *) victim;
static size_t victim_n;		/* its size, under mu */
static unsigned long every;
static __thread unsigned long calls;
static __thread int resolving;

/* Find the next allocator's functions, all at once: dlsym itself may free
 * (its error string), and that free must not look itself up again.  What
 * is freed while we are resolving is leaked. */
static void
resolve(void)
{
	if (resolving)
		return;
	resolving = 1;
	next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT,
	    "realloc");
	next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	resolving = 0;
}

/* Whether the object starts with what looks like a user-space pointer: a
 * workload's own bookkeeping (a thread handle, a list link), not one of the
 * objects it fills and checks; flipping it would crash the workload instead
 * of testing its checks. */
static int
looks_like_pointer(const unsigned char *v, size_t n)
{
	uint64_t w;

	if (n < 8)
		return 0;
	memcpy(&w, v, 8);
	return w >= 4096 && w < (1ULL << 47);
}

/* Flip the pending victim, if any, and clear it. */
static void
flip(void)
{
	unsigned char *v;

	if (!atomic_load_explicit(&victim, memory_order_acquire))
		return;
	pthread_mutex_lock(&mu);
	v = atomic_load_explicit(&victim, memory_order_relaxed);
	if (v) {
		if (!looks_like_pointer(v, victim_n))
			*(volatile unsigned char *)v ^= 0x5a;
		atomic_store_explicit(&victim, NULL, memory_order_relaxed);
	}
	pthread_mutex_unlock(&mu);
}

/* Forget `p` as the victim: it is about to be freed or moved. */
static void
forget(void *p)
{
	if (!p || atomic_load_explicit(&victim, memory_order_acquire) != p)
		return;
	pthread_mutex_lock(&mu);
	if (atomic_load_explicit(&victim, memory_order_relaxed) == p)
		atomic_store_explicit(&victim, NULL, memory_order_relaxed);
	pthread_mutex_unlock(&mu);
}

/* Make `p` the victim if this is the thread's Nth call and none pends. */
static void
choose(void *p, size_t n)
{
	unsigned char *none = NULL;

	if (!every) {
		const char *s = getenv("BENCH_CORRUPT_EVERY");

		every = s && atol(s) > 0 ? (unsigned long)atol(s) : 100;
	}
	if (!p || !n || ++calls % every != 0)
		return;
	pthread_mutex_lock(&mu);
	if (atomic_compare_exchange_strong(&victim, &none,
	    (unsigned char *)p))
		victim_n = n;
	pthread_mutex_unlock(&mu);
}

void *
malloc(size_t n)
{
	void *p;

	if (!next_malloc)
		resolve();
	flip();
	p = next_malloc(n);
	choose(p, n);
	return p;
}

void *
realloc(void *old, size_t n)
{
	void *p;

	if (!next_realloc)
		resolve();
	forget(old);
	flip();
	p = next_realloc(old, n);
	choose(p, n);
	return p;
}

void
free(void *p)
{
	if (!next_free)
		resolve();
	if (!next_free)
		return;
	forget(p);
	next_free(p);
}
