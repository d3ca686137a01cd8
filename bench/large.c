/*
 * large.c: large allocations, 64 KiB to 64 MiB, allocated and freed in a
 * loop (buffers for I/O, images, query results).
 *
 * Each thread keeps its last 4 buffers alive and frees the oldest as it
 * allocates a new one, sizes log-uniform over 64 KiB..64 MiB.  Every page of
 * a buffer is written (a program fills what it asks for), so the cost of
 * page faults is part of the figure: an allocator that unmaps every free
 * block pays for faulting it in again; one that keeps everything pays in
 * RSS instead.  The runner's peak RSS column shows the other half.
 *
 * The threads take their steps together (a barrier per buffer): how much
 * is live at once then depends on the sizes drawn, not on how the threads
 * happened to interleave, which moved the peak by some 60 MiB from run to
 * run (248 MiB live in step, up to 307 with one thread ahead) and made the
 * peak RSS column compare scheduling rather than allocators.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define LIVE	4
#define MIN_SIZE	((size_t)64 << 10)
#define MAX_SIZE	((size_t)64 << 20)

static pthread_barrier_t step;

struct worker {
	uint64_t iters;
	uint64_t seed;
	uint64_t bytes;		/* out: bytes allocated */
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct bench_rng r;
	void *p[LIVE] = { 0 };
	size_t n[LIVE] = { 0 };
	uint64_t tag[LIVE] = { 0 }, i;
	unsigned k;

	bench_rng_seed(&r, w->seed);
	for (i = 0; i < w->iters; i++) {
		pthread_barrier_wait(&step);
		k = (unsigned)(i % LIVE);
		if (p[k])
			bench_check_free(p[k], n[k], tag[k]);
		n[k] = bench_rng_size_log(&r, MIN_SIZE, MAX_SIZE);
		tag[k] = bench_rng_next(&r);
		p[k] = bench_malloc(n[k]);
		bench_fill(p[k], n[k], tag[k]);
		w->bytes += n[k];
	}
	for (k = 0; k < LIVE; k++)
		if (p[k])
			bench_check_free(p[k], n[k], tag[k]);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct worker *w;
	uint64_t iters, ns, bytes = 0;
	unsigned t;

	bench_parse(argc, argv, &o, "",
	    "Large allocations: each thread allocates, touches every page of,\n"
	    "checks and frees 150 buffers of 64 KiB..64 MiB (log-uniform),\n"
	    "4 alive at a time; at most 8 threads unless -t says more.\n");
	/* Each thread peaks near 200 MiB: past 8 threads, by default, the
	 * run would measure the machine's memory rather than the allocator. */
	if (!o.threads_set && o.threads > 8)
		o.threads = 8;
	iters = bench_scaled(&o, 150, 8);
	w = bench_malloc(o.threads * sizeof(*w));
	for (t = 0; t < o.threads; t++)
		w[t] = (struct worker){ iters, o.seed * 1000 + t, 0 };

	pthread_barrier_init(&step, NULL, o.threads);
	ns = bench_run_threads(o.threads, worker_main, w, sizeof(*w));
	pthread_barrier_destroy(&step);
	for (t = 0; t < o.threads; t++)
		bytes += w[t].bytes;
	free(w);

	printf("# %u threads, %llu buffers each, %.1f GiB in %.3f s\n",
	    o.threads, (unsigned long long)iters, bytes / 1073741824.0,
	    ns / 1e9);
	bench_metric("allocs_per_s", (double)iters * o.threads / (ns / 1e9),
	    "op/s", "higher");
	return 0;
}
