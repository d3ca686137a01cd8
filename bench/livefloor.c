/*
 * livefloor.so: glibc's allocator with the bytes a program holds counted,
 * for bench/live-floor.  Preloaded, it passes every call on to glibc
 * (__libc_malloc and friends) and keeps, per live block, the size the
 * program asked for; at exit it writes the peak of their sum to the file
 * named by LIVEFLOOR_OUT ("live_peak_bytes N" and "blocks_peak N").
 *
 * The peak of the bytes held is a floor under any allocator's heap RSS
 * for the bench workloads: each of them touches every page of what it
 * allocates (bench_fill writes every 64th byte, every 4096th above
 * 64 KiB), so those bytes are resident at that moment whatever the
 * allocator does.  Not for speed: one lock and a hash table per call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/libc_malloc.h"

/* Open addressing, linear probing, deletions by backward shift: 2^24
 * slots (256 MiB of address space, touched as used) hold far more live
 * blocks than any workload keeps. */
#define SLOTS ((size_t)1 << 24)

struct slot {
	uintptr_t p; /* 0: empty */
	size_t n;
};

static struct slot *tab;
static int lk;
static uint64_t live, peak, nlive, npeak;
static int broken; /* the table could not be made or filled up */

static void
lock(void)
{
	while (__atomic_exchange_n(&lk, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&lk, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static void
unlock(void)
{
	__atomic_store_n(&lk, 0, __ATOMIC_RELEASE);
}

static size_t
home(uintptr_t p)
{
	return (size_t)((p >> 4) * 0x9e3779b97f4a7c15ULL >> 40) & (SLOTS - 1);
}

/* under lk */
static int
ensure_table(void)
{
	void *m;

	if (tab || broken)
		return tab != NULL;
	m = mmap(NULL, SLOTS * sizeof(*tab), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		broken = 1;
		return 0;
	}
	tab = m;
	return 1;
}

static void
note_alloc(void *p, size_t n)
{
	size_t i, probes = 0;

	if (p == NULL)
		return;
	lock();
	if (!ensure_table()) {
		unlock();
		return;
	}
	for (i = home((uintptr_t)p); tab[i].p; i = (i + 1) & (SLOTS - 1))
		if (++probes == SLOTS) {
			broken = 1;
			unlock();
			return;
		}
	tab[i].p = (uintptr_t)p;
	tab[i].n = n;
	live += n;
	nlive++;
	if (live > peak)
		peak = live;
	if (nlive > npeak)
		npeak = nlive;
	unlock();
}

static void
note_free(void *p)
{
	size_t i, j, h;

	if (p == NULL)
		return;
	lock();
	if (tab == NULL) {
		unlock();
		return;
	}
	for (i = home((uintptr_t)p); tab[i].p != (uintptr_t)p;
	     i = (i + 1) & (SLOTS - 1))
		if (tab[i].p == 0) { /* not ours (allocated before us) */
			unlock();
			return;
		}
	live -= tab[i].n;
	nlive--;
	/* backward shift: pull later entries of the run into the hole */
	for (j = (i + 1) & (SLOTS - 1); tab[j].p; j = (j + 1) & (SLOTS - 1)) {
		h = home(tab[j].p);
		/* tab[j] may move to i when its home is not in (i, j] */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			tab[i] = tab[j];
			i = j;
		}
	}
	tab[i].p = 0;
	unlock();
}

void *
malloc(size_t n)
{
	void *p = __libc_malloc(n);

	note_alloc(p, n);
	return p;
}

void
free(void *p)
{
	note_free(p);
	__libc_free(p);
}

void *
calloc(size_t k, size_t n)
{
	void *p = __libc_calloc(k, n);

	note_alloc(p, k * n); /* glibc checked the product */
	return p;
}

void *
realloc(void *old, size_t n)
{
	void *p;

	if (old && n == 0) {
		free(old);
		return NULL;
	}
	p = __libc_realloc(old, n);
	if (p) {
		note_free(old);
		note_alloc(p, n);
	}
	return p;
}

void *
memalign(size_t a, size_t n)
{
	void *p = __libc_memalign(a, n);

	note_alloc(p, n);
	return p;
}

int
posix_memalign(void **out, size_t a, size_t n)
{
	void *p;

	if (a < sizeof(void *) || (a & (a - 1)))
		return EINVAL;
	p = __libc_memalign(a, n);
	if (p == NULL)
		return ENOMEM;
	note_alloc(p, n);
	*out = p;
	return 0;
}

void *
aligned_alloc(size_t a, size_t n)
{
	return memalign(a, n);
}

void *
valloc(size_t n)
{
	return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

__attribute__((destructor)) static void
report(void)
{
	const char *out = getenv("LIVEFLOOR_OUT");
	char b[128];
	int fd, len;

	if (out == NULL)
		return;
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	lock();
	if (broken)
		len = snprintf(b, sizeof(b), "broken 1\n");
	else
		len = snprintf(b, sizeof(b),
			       "live_peak_bytes %llu\nblocks_peak %llu\n",
			       (unsigned long long)peak,
			       (unsigned long long)npeak);
	unlock();
	(void)!write(fd, b, (size_t)len);
	close(fd);
}
