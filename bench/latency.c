/*
 * latency.c: tail latency of malloc+free by size class (issue 11).
 *
 * One thread measures pairs: it allocates an object of one of five
 * representative sizes (16 B, 256 B, 4 KiB, 64 KiB, 1 MiB) and frees the
 * one of that size it allocated 16 pairs before, timing the two calls
 * together with the TSC (lfence on both sides, about 20 ns; a clock_gettime
 * pair elsewhere).  The sizes take turns, so whatever else runs hits them
 * alike.  Each object is filled (bench_fill: every cache line, every page
 * past 64 KiB) and checked outside the timed part, as a program would use
 * it.  It reports p50, p99, p99.9 and the maximum per size, in ns.  What
 * runs beside it is the mode:
 *
 *	single	  nothing
 *	cross	  a thread allocates 16 B and 256 B objects and hands them over
 *		  through a ring; the measuring thread frees them (those frees
 *		  are timed too: "remote"), so its own classes' central lists
 *		  carry remote frees
 *	scavenge  a thread allocates 32 MiB in 256 KiB blocks, touches and
 *		  frees them every 20 ms: the allocator's release (memreclaim's
 *		  scavenger, the peers' trimming) runs throughout
 *	limit	  the same thread keeps 24 MiB live in 1 MiB blocks, replacing
 *		  one at a time, under memreclaim a soft limit of 16 MiB
 *		  (mr_limit_set, found with dlsym): every page-heap allocation
 *		  of both threads is over it and releases synchronously.  The
 *		  peers have no such limit; they run the same load.
 *
 * Under memreclaim it also reports, from mr_stats_get, the synchronous
 * releases and the bytes advised per release (what the limit path costs).
 * On 2 shared CPUs a second thread also means preemption: the maximum then
 * includes a time slice of someone else, for every allocator alike.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "common.h"
#include "memreclaim.h"

#define NCLS	5
#define RING	16
#define XRING	4096		/* cross mode: objects in flight */

static const size_t cls_size[NCLS] = { 16, 256, 4096, 65536, 1 << 20 };
static const char *const cls_name[NCLS] = { "16", "256", "4k", "64k",
	"1m" };

static inline uint64_t
ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	uint64_t t;

	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	return t;
#else
	return bench_now_ns();
#endif
}

static int stop;		/* the measuring thread is done */

/* cross: a single-producer single-consumer ring of objects. */
static struct {
	void *obj[XRING];
	size_t size[XRING];
	uint64_t tag[XRING];
	unsigned head, tail;	/* head: producer's, tail: consumer's */
} xr;

static void *
cross_main(void *arg)
{
	struct bench_rng r;
	unsigned h;

	(void)arg;
	bench_rng_seed(&r, 77);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		h = xr.head;
		if (h - __atomic_load_n(&xr.tail, __ATOMIC_ACQUIRE) >= XRING) {
			sched_yield();
			continue;
		}
		xr.size[h % XRING] = bench_rng_below(&r, 2) ? 256 : 16;
		xr.tag[h % XRING] = bench_rng_next(&r);
		xr.obj[h % XRING] = bench_malloc(xr.size[h % XRING]);
		bench_fill(xr.obj[h % XRING], xr.size[h % XRING],
		    xr.tag[h % XRING]);
		__atomic_store_n(&xr.head, h + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* scavenge: bursts that the allocator has to give back. */
static void *
burst_main(void *arg)
{
	enum { N = 128, SZ = 256 << 10 };
	void *p[N];
	unsigned i;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		for (i = 0; i < N; i++) {
			p[i] = bench_malloc(SZ);
			bench_fill(p[i], SZ, i);
		}
		for (i = 0; i < N; i++)
			bench_check_free(p[i], SZ, i);
		bench_sleep_until(bench_now_ns() + 20000000);
	}
	return NULL;
}

/* limit: a live set above the limit, replaced one block at a time. */
static void *
limit_main(void *arg)
{
	enum { N = 24, SZ = 1 << 20 };
	void *p[N] = { 0 };
	uint64_t i = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		unsigned k = (unsigned)(i % N);

		if (p[k])
			bench_check_free(p[k], SZ, k);
		p[k] = bench_malloc(SZ);
		bench_fill(p[k], SZ, k);
		i++;
	}
	for (i = 0; i < N; i++)
		if (p[i])
			bench_check_free(p[i], SZ, i);
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort v[0..n) and report its percentiles as metrics, in ns. */
static void
report(const char *name, uint32_t *v, size_t n, double ns_per_tick)
{
	static const struct {
		const char *tag;
		double q;
	} pct[] = { { "p50", 0.50 }, { "p99", 0.99 }, { "p999", 0.999 },
		    { "max", 1.0 } };
	char m[64];
	unsigned i;

	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u32);
	for (i = 0; i < sizeof(pct) / sizeof(pct[0]); i++) {
		size_t k = (size_t)(pct[i].q * (double)(n - 1));

		snprintf(m, sizeof(m), "%s_%s", pct[i].tag, name);
		bench_metric(m, v[k] * ns_per_tick, "ns", "lower");
	}
}

static inline uint32_t
clamp32(uint64_t t)
{
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	void *ring[NCLS][RING] = { { 0 } };
	uint64_t n, i, t0, t1, ns0, ns1, tk0, tk1, nremote = 0;
	uint32_t *lat[NCLS], *rlat = NULL, *empty;
	int (*limit_set)(size_t);
	int (*stats_get)(struct mr_stats *);
	struct mr_stats st0, st1;
	void *(*bg)(void *) = NULL;
	pthread_t th;
	double ns_per_tick;
	unsigned c, k;
	int cross;

	bench_parse(argc, argv, &o, "[single|cross|scavenge|limit]",
	    "Tail latency of malloc+free by size (16 B, 256 B, 4 KiB, 64 KiB,\n"
	    "1 MiB): 50000 timed pairs per size, single-threaded, or beside\n"
	    "a thread freeing across threads, releasing bursts, or over the\n"
	    "soft limit (memreclaim); p50, p99, p99.9 and max in ns.\n");
	if (!o.mode)
		o.mode = "single";
	cross = !strcmp(o.mode, "cross");
	if (cross)
		bg = cross_main;
	else if (!strcmp(o.mode, "scavenge"))
		bg = burst_main;
	else if (!strcmp(o.mode, "limit"))
		bg = limit_main;
	else if (strcmp(o.mode, "single"))
		bench_die(BENCH_EXIT_USAGE, "unknown mode '%s'", o.mode);
	n = bench_scaled(&o, o.smoke ? 2000 : 50000, 200);
	for (c = 0; c < NCLS; c++)
		lat[c] = bench_malloc(n * sizeof(uint32_t));
	empty = bench_malloc(n * sizeof(uint32_t));
	if (cross)
		rlat = bench_malloc(n * 8 * sizeof(uint32_t));

	limit_set = (int (*)(size_t))dlsym(RTLD_DEFAULT, "mr_limit_set");
	stats_get = (int (*)(struct mr_stats *))dlsym(RTLD_DEFAULT,
	    "mr_stats_get");
	if (!strcmp(o.mode, "limit")) {
		if (limit_set && limit_set(16 << 20) == 0)
			printf("# soft limit 16 MiB (mr_limit_set)\n");
		else
			printf("# no soft limit: not memreclaim\n");
	}
	memset(&st0, 0, sizeof(st0));
	st0.size = sizeof(st0);
	st1 = st0;
	if (stats_get)
		stats_get(&st0);
	if (bg && pthread_create(&th, NULL, bg, NULL))
		bench_die(BENCH_EXIT_NOMEM, "pthread_create failed");

	ns0 = bench_now_ns();
	tk0 = ticks();
	for (i = 0; i < n; i++) {
		k = (unsigned)(i % RING);
		for (c = 0; c < NCLS; c++) {
			void *old = ring[c][k], *p;
			uint64_t tag = bench_mix(i * NCLS + c);

			if (old && bench_check(old, cls_size[c],
			    bench_mix((i - RING) * NCLS + c)))
				bench_corrupt("latency object", old,
				    cls_size[c], bench_mix((i - RING) * NCLS +
				    c));
			if (c == 0) {
				/* The timer's own cost, for reference, in
				 * the same state as the pairs. */
				t0 = ticks();
				t1 = ticks();
				empty[i] = clamp32(t1 - t0);
			}
			t0 = ticks();
			p = malloc(cls_size[c]);
			free(old);
			t1 = ticks();
			if (!p)
				bench_die(BENCH_EXIT_NOMEM, "malloc(%zu) failed",
				    cls_size[c]);
			lat[c][i] = clamp32(t1 - t0);
			bench_fill(p, cls_size[c], tag);
			ring[c][k] = p;
		}
		/* cross: free what the other thread handed over (up to 8). */
		while (cross && nremote < n * 8) {
			unsigned tl = xr.tail;
			void *q;

			if (tl == __atomic_load_n(&xr.head, __ATOMIC_ACQUIRE))
				break;
			q = xr.obj[tl % XRING];
			if (bench_check(q, xr.size[tl % XRING],
			    xr.tag[tl % XRING]))
				bench_corrupt("handed-over object", q,
				    xr.size[tl % XRING], xr.tag[tl % XRING]);
			t0 = ticks();
			free(q);
			t1 = ticks();
			rlat[nremote++] = clamp32(t1 - t0);
			__atomic_store_n(&xr.tail, tl + 1, __ATOMIC_RELEASE);
			if (nremote % 8 == 0)
				break;
		}
	}
	tk1 = ticks();
	ns1 = bench_now_ns();
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	if (bg)
		pthread_join(th, NULL);
	if (stats_get)
		stats_get(&st1);
	ns_per_tick = tk1 > tk0 ? (double)(ns1 - ns0) / (double)(tk1 - tk0)
				: 1.0;

	/* What is left is checked too: slot k holds the object of the last
	 * round i < n with i % RING == k. */
	for (k = 0; k < RING && k < n; k++) {
		i = n - 1 - (n - 1 - k) % RING;
		for (c = 0; c < NCLS; c++)
			bench_check_free(ring[c][k], cls_size[c],
			    bench_mix(i * NCLS + c));
	}
	while (cross && xr.tail != xr.head) {
		k = xr.tail % XRING;
		bench_check_free(xr.obj[k], xr.size[k], xr.tag[k]);
		xr.tail++;
	}
	printf("# mode %s, %llu pairs per size in %.3f s, %.3f ns per tick\n",
	    o.mode, (unsigned long long)n, (ns1 - ns0) / 1e9, ns_per_tick);
	for (c = 0; c < NCLS; c++)
		report(cls_name[c], lat[c], n, ns_per_tick);
	if (cross)
		report("remote", rlat, nremote, ns_per_tick);
	report("timer", empty, n, ns_per_tick);
	if (stats_get) {
		uint64_t sr = st1.sync_releases - st0.sync_releases;
		uint64_t pb = st1.purge_bytes - st0.purge_bytes;

		printf("# memreclaim: %llu synchronous releases, %llu scavenger "
		    "cycles, %.1f MiB advised in %llu ranges\n",
		    (unsigned long long)sr,
		    (unsigned long long)(st1.scavenger_cycles -
		    st0.scavenger_cycles), bench_mib((double)pb),
		    (unsigned long long)(st1.purge_ranges -
		    st0.purge_ranges));
		bench_metric("sync_releases", (double)sr, "n", "none");
	}
	for (c = 0; c < NCLS; c++)
		free(lat[c]);
	free(empty);
	free(rlat);
	return 0;
}
