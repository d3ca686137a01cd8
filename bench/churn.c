/*
 * churn.c: server churn (the pattern of Larson and Krishnan's server
 * benchmark).
 *
 * A server keeps per-connection state: each worker thread owns a working set
 * of small objects of random sizes and replaces one at random over and over.
 * Connections outlive the threads that serve them: at the end of each round
 * every worker exits and a fresh thread takes over its working set, so most
 * frees happen in a thread other than the one that allocated (and thread
 * exit, with its cache flush, is on the measured path too).
 *
 * Work per thread is fixed, so with one thread per CPU the wall time stays
 * about the same from 2 to 64 CPUs and the throughput shows the scaling.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define MIN_SIZE	8
#define MAX_SIZE	1000

struct slot {
	void *p;
	size_t n;
	uint64_t tag;
};

struct worker {
	struct slot *set;	/* this worker's working set */
	size_t nslots;
	uint64_t ops;		/* replacements to do this round */
	uint64_t seed;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct bench_rng r;
	uint64_t i;

	bench_rng_seed(&r, w->seed);
	for (i = 0; i < w->ops; i++) {
		struct slot *s = &w->set[bench_rng_below(&r, w->nslots)];

		bench_check_free(s->p, s->n, s->tag);
		s->n = MIN_SIZE + (size_t)bench_rng_below(&r,
		    MAX_SIZE - MIN_SIZE + 1);
		s->tag = bench_rng_next(&r);
		s->p = bench_malloc(s->n);
		bench_fill(s->p, s->n, s->tag);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct worker *w;
	struct bench_rng r;
	uint64_t rounds, ops, ns, total;
	size_t nslots, i;
	unsigned t, round;

	bench_parse(argc, argv, &o, "",
	    "Server churn (Larson style): each thread replaces random objects\n"
	    "of 8..1000 B in a working set of 2000; a new thread takes over\n"
	    "each set every round (8 rounds of 1500000 replacements/thread).\n");
	nslots = (size_t)bench_scaled(&o, 2000, 16);
	rounds = o.smoke ? 2 : 8;
	ops = bench_scaled(&o, 1500000, 100);
	bench_rng_seed(&r, o.seed);

	w = bench_malloc(o.threads * sizeof(*w));
	for (t = 0; t < o.threads; t++) {
		w[t].nslots = nslots;
		w[t].ops = ops;
		w[t].set = bench_malloc(nslots * sizeof(struct slot));
		/* The main thread fills every set: the first round already
		 * frees objects another thread allocated. */
		for (i = 0; i < nslots; i++) {
			struct slot *s = &w[t].set[i];

			s->n = MIN_SIZE + (size_t)bench_rng_below(&r,
			    MAX_SIZE - MIN_SIZE + 1);
			s->tag = bench_rng_next(&r);
			s->p = bench_malloc(s->n);
			bench_fill(s->p, s->n, s->tag);
		}
	}

	ns = 0;
	for (round = 0; round < rounds; round++) {
		for (t = 0; t < o.threads; t++)
			w[t].seed = bench_rng_next(&r);
		ns += bench_run_threads(o.threads, worker_main, w,
		    sizeof(*w));
	}

	for (t = 0; t < o.threads; t++) {
		for (i = 0; i < nslots; i++)
			bench_check_free(w[t].set[i].p, w[t].set[i].n,
			    w[t].set[i].tag);
		free(w[t].set);
	}
	free(w);

	total = rounds * ops * o.threads;
	printf("# %u threads, %zu objects each, %llu replacements in %.3f s\n",
	    o.threads, nslots, (unsigned long long)total, ns / 1e9);
	bench_metric("ops_per_s", total / (ns / 1e9), "op/s", "higher");
	return 0;
}
