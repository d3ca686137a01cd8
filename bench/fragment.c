/*
 * fragment.c: fragmentation, and how much memory comes back after it.
 *
 * Build a heap of 40000 objects of mixed sizes (log-uniform 16 B..64 KiB,
 * about 480 MiB), free a random 90% of them, and measure:
 *
 *   rss_peak         RSS with the whole heap live
 *   rss_after_free   RSS right after the frees
 *   rss_after_idle   RSS after idling (default 2 s: a background scavenger
 *                    has time to act; nothing is called to force it)
 *   floor            what RSS could be at best with the survivors where the
 *                    allocator put them: the 4 KiB pages they touch, plus
 *                    the RSS the program had before building the heap
 *   releasable       rss_after_free - floor: what could be given back
 *   released_pct     share of (rss_peak - floor) actually given back by the
 *                    end of the idle time
 *   refill_growth    RSS growth when as many new objects are allocated as
 *                    were freed: near zero if the holes are reused
 *
 * All objects carry the fill pattern and are checked before being freed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define MIN_SIZE	16
#define MAX_SIZE	65536
#define PAGE		4096UL

struct obj {
	void *p;
	size_t n;
	uint64_t tag;
};

struct range {
	uintptr_t first, last;	/* page numbers, inclusive */
};

static int
range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* Bytes of the distinct 4 KiB pages that objects o[0..n) touch. */
static double
pages_touched(const struct obj *o, size_t n)
{
	struct range *r = bench_malloc((n ? n : 1) * sizeof(*r));
	uintptr_t end = 0, pages = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		r[i].first = (uintptr_t)o[i].p / PAGE;
		r[i].last = ((uintptr_t)o[i].p + o[i].n - 1) / PAGE;
	}
	qsort(r, n, sizeof(*r), range_cmp);
	for (i = 0; i < n; i++) {
		uintptr_t first = r[i].first > end ? r[i].first : end;

		if (r[i].last + 1 > first) {
			pages += r[i].last + 1 - first;
			end = r[i].last + 1;
		}
	}
	free(r);
	return (double)pages * PAGE;
}

static void
obj_new(struct obj *o, struct bench_rng *r)
{
	o->n = bench_rng_size_log(r, MIN_SIZE, MAX_SIZE);
	o->tag = bench_rng_next(r);
	o->p = bench_malloc(o->n);
	bench_fill(o->p, o->n, o->tag);
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_rng r;
	struct obj *objs, tmp;
	size_t count, keep, i, j;
	double base, peak, after_free, after_idle, refill, floor, live = 0;

	bench_parse(argc, argv, &o, "",
	    "Fragmentation: 40000 objects of 16 B..64 KiB (log-uniform), free\n"
	    "a random 90%, idle 2 s (-d), refill; reports RSS at each step.\n"
	    "-t is ignored.\n");
	if (o.idle_s < 0)
		o.idle_s = o.smoke ? 0.1 : 2.0;
	count = (size_t)bench_scaled(&o, 40000, 200);
	keep = count / 10;
	bench_rng_seed(&r, o.seed);
	objs = bench_malloc(count * sizeof(*objs));
	base = (double)bench_rss_bytes();

	for (i = 0; i < count; i++)
		obj_new(&objs[i], &r);
	peak = (double)bench_rss_bytes();

	/* Shuffle; the first `keep` survive. */
	for (i = count - 1; i > 0; i--) {
		j = (size_t)bench_rng_below(&r, i + 1);
		tmp = objs[i];
		objs[i] = objs[j];
		objs[j] = tmp;
	}
	for (i = keep; i < count; i++)
		bench_check_free(objs[i].p, objs[i].n, objs[i].tag);
	after_free = (double)bench_rss_bytes();

	for (i = 0; i < keep; i++)
		live += (double)objs[i].n;
	floor = base + pages_touched(objs, keep);

	bench_sleep_until(bench_now_ns() + (uint64_t)(o.idle_s * 1e9));
	after_idle = (double)bench_rss_bytes();

	for (i = keep; i < count; i++)
		obj_new(&objs[i], &r);
	refill = (double)bench_rss_bytes();
	for (i = 0; i < count; i++)
		bench_check_free(objs[i].p, objs[i].n, objs[i].tag);
	free(objs);

	printf("# %zu objects, %zu kept (%.1f MiB live), base RSS %.1f MiB\n",
	    count, keep, bench_mib(live), bench_mib(base));
	bench_metric("rss_peak", bench_mib(peak), "MiB", "lower");
	bench_metric("rss_after_free", bench_mib(after_free), "MiB", "lower");
	bench_metric("rss_after_idle", bench_mib(after_idle), "MiB", "lower");
	bench_metric("floor", bench_mib(floor), "MiB", "info");
	bench_metric("releasable", bench_mib(after_free - floor), "MiB", "info");
	bench_metric("released_pct", peak > floor ?
	    100.0 * (peak - after_idle) / (peak - floor) : 0, "%", "higher");
	bench_metric("refill_growth", bench_mib(refill - peak), "MiB", "lower");
	return 0;
}
