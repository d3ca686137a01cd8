/*
 * burst.c: a burst of allocation, a big free, then idle: does the memory go
 * back to the system, and how fast?
 *
 * A service handles a burst (a large query, a batch job) and then goes
 * quiet.  Worker threads (one per CPU) allocate 15000 objects between them
 * (log-uniform 16 B..256 KiB, about 600 MiB), check and free all of them,
 * and stay alive but idle, as a server's workers would, holding whatever
 * their thread caches kept.  The main thread then records RSS every 100 ms
 * for the idle time (default 4 s), as `series rss_MiB T RSS` lines, T in
 * seconds since the free ended (the point at T = -0.1 is the peak, before
 * the free).  Nothing is called to force a release: the
 * curve is whatever the allocator does by itself.
 *
 * Figures: RSS at the peak, right after the free, after 1 s and at the end;
 * the share of the burst given back by the end; and the time until half of
 * it was given back (the idle time if never).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define MIN_SIZE	16
#define MAX_SIZE	(256 << 10)
#define SAMPLE_NS	100000000ULL	/* 100 ms */

struct worker {
	size_t count;
	uint64_t seed;
	void **p;
	size_t *n;
	uint64_t *tag;
};

static pthread_barrier_t allocated, freed, done;

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct bench_rng r;
	size_t i;

	bench_rng_seed(&r, w->seed);
	for (i = 0; i < w->count; i++) {
		w->n[i] = bench_rng_size_log(&r, MIN_SIZE, MAX_SIZE);
		w->tag[i] = bench_rng_next(&r);
		w->p[i] = bench_malloc(w->n[i]);
		bench_fill(w->p[i], w->n[i], w->tag[i]);
	}
	pthread_barrier_wait(&allocated);	/* main reads the peak */
	for (i = 0; i < w->count; i++)
		bench_check_free(w->p[i], w->n[i], w->tag[i]);
	pthread_barrier_wait(&freed);
	pthread_barrier_wait(&done);		/* idle until sampling ends */
	return NULL;
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct worker *w;
	pthread_t *tid;
	size_t count, per;
	unsigned t;
	uint64_t t0, next, samples, s;
	double base, peak, at_free, rss, at_1s = -1, half_s = -1;

	bench_parse(argc, argv, &o, "",
	    "Burst then idle: threads allocate 15000 objects of 16 B..256 KiB,\n"
	    "free them all and idle; RSS is sampled every 100 ms for 4 s (-d).\n");
	if (o.idle_s < 0)
		o.idle_s = o.smoke ? 0.3 : 4.0;
	count = (size_t)bench_scaled(&o, 15000, 100);
	per = count / o.threads ? count / o.threads : 1;
	samples = (uint64_t)(o.idle_s * 10 + 0.5);

	base = (double)bench_rss_bytes();
	w = bench_malloc(o.threads * sizeof(*w));
	tid = bench_malloc(o.threads * sizeof(*tid));
	for (t = 0; t < o.threads; t++) {
		w[t].count = per;
		w[t].seed = o.seed * 1000 + t;
		w[t].p = bench_malloc(per * sizeof(void *));
		w[t].n = bench_malloc(per * sizeof(size_t));
		w[t].tag = bench_malloc(per * sizeof(uint64_t));
	}
	pthread_barrier_init(&allocated, NULL, o.threads + 1);
	pthread_barrier_init(&freed, NULL, o.threads + 1);
	pthread_barrier_init(&done, NULL, o.threads + 1);
	for (t = 0; t < o.threads; t++)
		if (pthread_create(&tid[t], NULL, worker_main, &w[t]))
			bench_die(BENCH_EXIT_NOMEM, "pthread_create failed");

	pthread_barrier_wait(&allocated);
	peak = (double)bench_rss_bytes();
	pthread_barrier_wait(&freed);
	t0 = bench_now_ns();
	at_free = (double)bench_rss_bytes();
	bench_series("rss_MiB", -0.1, bench_mib(peak));	/* before the free */
	bench_series("rss_MiB", 0, bench_mib(at_free));
	rss = at_free;
	for (s = 1, next = t0 + SAMPLE_NS; s <= samples;
	    s++, next += SAMPLE_NS) {
		double ts = s * (SAMPLE_NS / 1e9);

		bench_sleep_until(next);
		rss = (double)bench_rss_bytes();
		bench_series("rss_MiB", ts, bench_mib(rss));
		if (s == 10)
			at_1s = rss;
		if (half_s < 0 && rss - base <= (peak - base) / 2)
			half_s = ts;
	}
	if (at_free - base <= (peak - base) / 2)
		half_s = 0;
	pthread_barrier_wait(&done);
	for (t = 0; t < o.threads; t++) {
		pthread_join(tid[t], NULL);
		free(w[t].p);
		free(w[t].n);
		free(w[t].tag);
	}
	free(tid);
	free(w);

	printf("# %u threads, %zu objects each; base RSS %.1f MiB\n",
	    o.threads, per, bench_mib(base));
	bench_metric("rss_peak", bench_mib(peak), "MiB", "lower");
	bench_metric("rss_after_free", bench_mib(at_free), "MiB", "lower");
	if (at_1s >= 0)
		bench_metric("rss_after_1s", bench_mib(at_1s), "MiB", "lower");
	bench_metric("rss_final", bench_mib(rss), "MiB", "lower");
	bench_metric("released_pct", peak > base ?
	    100.0 * (peak - rss) / (peak - base) : 0, "%", "higher");
	bench_metric("half_released_s", half_s < 0 ? o.idle_s : half_s, "s",
	    "lower");
	return 0;
}
