/*
 * falseshare.c: allocator-induced false sharing (the patterns of the
 * cache-thrash and cache-scratch tests of the Hoard paper).
 *
 * Each thread allocates a tiny object and writes it many times.  If the
 * allocator hands objects on one cache line to different threads, every
 * write invalidates the line in the other CPUs' caches and the run is many
 * times slower, although the program shares nothing.
 *
 *   thrash   active false sharing: each thread allocates its own objects
 *            concurrently; only the allocator can put them side by side.
 *   scratch  passive false sharing: the main thread allocates one object
 *            per thread (side by side, as any allocator would), each thread
 *            frees the one it was given and then allocates its own; an
 *            allocator that reuses a remotely freed object in the freeing
 *            thread shares the line with the other threads.
 *
 * Each write is a read-modify-write of every byte; the final values are
 * checked before the object is freed.  Besides the time, the run reports
 * shared_lines: how many pairs of threads got their first object on one
 * cache line (the cause, counted exactly; the time shows it only when the
 * threads really run at once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define OBJ_SIZE	8

/* The pointer last: a stray write at the start of the array changes a
 * count, it does not send a thread to a wild address. */
struct worker {
	uint64_t iters;		/* allocate/write/free cycles */
	uint64_t writes;	/* writes per object */
	uintptr_t line;		/* cache line of its first object */
	unsigned char *given;	/* scratch: object to free first */
};

#define LINE_SIZE	64

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t i, j;
	size_t k;

	if (w->given) {
		for (k = 0; k < OBJ_SIZE; k++)
			if (w->given[k] != (unsigned char)k)
				bench_corrupt("handed over", w->given,
				    OBJ_SIZE, k);
		free(w->given);
	}
	for (i = 0; i < w->iters; i++) {
		volatile unsigned char *p = bench_malloc(OBJ_SIZE);

		if (i == 0)
			w->line = (uintptr_t)p / LINE_SIZE;
		for (k = 0; k < OBJ_SIZE; k++)
			p[k] = (unsigned char)i;
		for (j = 0; j < w->writes; j++)
			for (k = 0; k < OBJ_SIZE; k++)
				p[k]++;
		for (k = 0; k < OBJ_SIZE; k++)
			if (p[k] != (unsigned char)(i + w->writes))
				bench_corrupt("after writes", (void *)p,
				    OBJ_SIZE, i + w->writes);
		free((void *)p);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct worker *w;
	uint64_t iters, writes, ns, shared = 0;
	unsigned t, u;
	int scratch;
	size_t k;

	bench_parse(argc, argv, &o, "scratch|thrash",
	    "False sharing (cache-scratch / cache-thrash): threads allocate\n"
	    "8 B objects and write each 1000 times; 120000 objects per thread\n"
	    "(thrash); scratch first frees an object the main thread made.\n");
	if (!o.mode || (strcmp(o.mode, "scratch") && strcmp(o.mode, "thrash")))
		bench_die(BENCH_EXIT_USAGE, "mode must be scratch or thrash");
	scratch = strcmp(o.mode, "scratch") == 0;
	iters = bench_scaled(&o, 120000, 10);
	writes = o.smoke ? 100 : 1000;

	w = bench_malloc(o.threads * sizeof(*w));
	for (t = 0; t < o.threads; t++) {
		w[t].iters = iters;
		w[t].writes = writes;
		w[t].given = NULL;
		if (scratch) {
			w[t].given = bench_malloc(OBJ_SIZE);
			for (k = 0; k < OBJ_SIZE; k++)
				w[t].given[k] = (unsigned char)k;
		}
	}

	ns = bench_run_threads(o.threads, worker_main, w, sizeof(*w));
	for (t = 0; t < o.threads; t++)
		for (u = t + 1; u < o.threads; u++)
			shared += w[t].line == w[u].line;
	free(w);

	printf("# %s: %u threads, %llu objects x %llu writes in %.3f s\n",
	    o.mode, o.threads, (unsigned long long)iters,
	    (unsigned long long)writes, ns / 1e9);
	bench_metric("ns_per_write",
	    ns / ((double)iters * writes * OBJ_SIZE), "ns", "lower");
	bench_metric("shared_lines", (double)shared, "pairs", "lower");
	return 0;
}
