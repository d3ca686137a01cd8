/*
 * release_probe.h: what the release path's tests and its benchmark share:
 * kernel feature probes, so a test that needs a feature is left out (and
 * the program exits 77) where the kernel lacks it and runs for real where
 * it is there; and the two measurements they all take (RSS, stats).
 */
#ifndef RELEASE_PROBE_H
#define RELEASE_PROBE_H

#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "memreclaim.h"
#include "os/os.h"

/* io_uring can be set up here (not blocked by seccomp or sysctl). */
static inline int
probe_uring(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(4, &ring, 0) < 0)
		return 0;
	io_uring_queue_exit(&ring);
	return 1;
}

/* process_madvise(MADV_DONTNEED) on ourselves works (Linux 6.13+). */
static inline int
probe_process_madvise_self(void)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec iov = { p, 4096 };
	long fd = syscall(SYS_pidfd_open, getpid(), 0), rc;

	if (p == MAP_FAILED)
		return 0;
	if (fd < 0) {
		munmap(p, 4096);
		return 0;
	}
	p[0] = 1;
	rc = syscall(SYS_process_madvise, fd, &iov, 1, MADV_DONTNEED, 0U);
	close((int)fd);
	munmap(p, 4096);
	return rc == 4096;
}

/* The process's RSS from /proc/self/smaps_rollup, bytes. */
static inline uint64_t
rss(void)
{
	uint64_t r = 0, h = 0;

	mri_os_rss(&r, &h);
	return r;
}

/* A field of /proc/self/smaps_rollup ("LazyFree", "AnonHugePages",
 * "Rss"), in bytes: the kernel's own figure, for tests that must not
 * check the library against its own arithmetic.  0 when absent. */
static inline uint64_t
smaps_bytes(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	unsigned long long kib = 0;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			sscanf(line + n + 1, "%llu", &kib);
			break;
		}
	fclose(f);
	return (uint64_t)kib * 1024;
}

/* A full mr_stats_get snapshot. */
static inline struct mr_stats
stats(void)
{
	struct mr_stats st;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	mr_stats_get(&st);
	return st;
}

/* The benchmark's release target: within 10% of the live heap plus the
 * scavenger's goal, over what the process had before (base) plus the
 * allocator's metadata, all as the library counts them (tests derive
 * theirs: page_cover).  *st receives the stats it used. */
static inline uint64_t
release_target(uint64_t base, uint64_t live, struct mr_stats *st)
{
	uint64_t heap;

	*st = stats();
	heap = st->goal_bytes > live ? st->goal_bytes : live;
	return base + st->metadata_bytes + heap * 11 / 10;
}

/* Bytes of the 4 KiB pages the n objects p[i] (sz[i] bytes; NULL ones
 * skipped) touch, counted once: the test's own figure of the heap it
 * keeps, whatever the allocator counts.  Sorts a copy (scratch, n). */
struct probe_obj {
	uintptr_t a;
	size_t n;
};

static inline int
probe_obj_cmp(const void *x, const void *y)
{
	const struct probe_obj *a = x, *b = y;

	return a->a < b->a ? -1 : a->a > b->a;
}

static inline uint64_t
page_cover(void *const *p, const size_t *sz, size_t n,
	   struct probe_obj *scratch)
{
	uint64_t cover = 0;
	uintptr_t end = 0, a0, a1;
	size_t m = 0, i;

	for (i = 0; i < n; i++)
		if (p[i]) {
			scratch[m].a = (uintptr_t)p[i];
			scratch[m++].n = sz[i];
		}
	qsort(scratch, m, sizeof(*scratch), probe_obj_cmp);
	for (i = 0; i < m; i++) {
		a0 = scratch[i].a & ~(uintptr_t)4095;
		a1 = (scratch[i].a + scratch[i].n + 4095) & ~(uintptr_t)4095;
		if (a0 < end)
			a0 = end;
		if (a1 > a0) {
			cover += a1 - a0;
			end = a1;
		}
	}
	return cover;
}

/* Object sizes of the 1 GiB burst: 70% small objects, 27% large spans of
 * 32-230 KiB, 3% of 2-6 MiB (whole hugepages). */
static inline size_t
burst_size(unsigned *seed)
{
	unsigned r = (unsigned)rand_r(seed) % 100;

	if (r < 70)
		return 16 + (size_t)rand_r(seed) % 2000;
	if (r < 97)
		return 33000 + (size_t)rand_r(seed) % 200000;
	return ((size_t)2 << 20) + (size_t)rand_r(seed) % ((size_t)4 << 20);
}

#endif
