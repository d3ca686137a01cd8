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
 *
 * Mode `repeat` is the other side of the same trade: 7 bursts of half the
 * size with 0.3 s idle between them, as a service under periodic load.  An
 * allocator that gives memory back too eagerly faults it in again at every
 * burst.  Figures: the first burst's time, the median of the later ones
 * (reuse), the peak RSS and the median RSS at the end of the idle gaps.
 */
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MIN_SIZE	16
#define MAX_SIZE	(256 << 10)
#define SAMPLE_NS	100000000ULL	/* 100 ms */
#define REPEATS		7		/* bursts in repeat mode */

struct worker {
	size_t count;
	uint64_t seed;
	unsigned bursts;
	void **p;
	size_t *n;
	uint64_t *tag;
};

/* Main and workers meet at each: go (a burst starts), allocated (main reads
 * the peak), freed (main watches RSS), done (workers may exit). */
static pthread_barrier_t go, allocated, freed, done;

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct bench_rng r;
	unsigned b;
	size_t i;

	bench_rng_seed(&r, w->seed);
	for (b = 0; b < w->bursts; b++) {
		pthread_barrier_wait(&go);
		for (i = 0; i < w->count; i++) {
			w->n[i] = bench_rng_size_log(&r, MIN_SIZE, MAX_SIZE);
			w->tag[i] = bench_rng_next(&r);
			w->p[i] = bench_malloc(w->n[i]);
			bench_fill(w->p[i], w->n[i], w->tag[i]);
		}
		pthread_barrier_wait(&allocated);
		for (i = 0; i < w->count; i++)
			bench_check_free(w->p[i], w->n[i], w->tag[i]);
		pthread_barrier_wait(&freed);
	}
	pthread_barrier_wait(&done);		/* idle until main is done */
	return NULL;
}

/* idle mode: one burst, then RSS every 100 ms for o->idle_s seconds. */
static void
watch_release(const struct bench_opts *o, double base)
{
	uint64_t t0, next, samples = (uint64_t)(o->idle_s * 10 + 0.5), s;
	double peak, at_free, rss, at_1s = -1, half_s = -1;

	pthread_barrier_wait(&go);
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

	bench_metric("rss_peak", bench_mib(peak), "MiB", "lower");
	bench_metric("rss_after_free", bench_mib(at_free), "MiB", "lower");
	if (at_1s >= 0)
		bench_metric("rss_after_1s", bench_mib(at_1s), "MiB", "lower");
	bench_metric("rss_final", bench_mib(rss), "MiB", "lower");
	bench_metric("released_pct", peak > base ?
	    100.0 * (peak - rss) / (peak - base) : 0, "%", "higher");
	bench_metric("half_released_s", half_s < 0 ? o->idle_s : half_s, "s",
	    "lower");
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* repeat mode: REPEATS bursts with o->idle_s seconds between them. */
static void
repeat_bursts(const struct bench_opts *o)
{
	double ms[REPEATS], idle[REPEATS], flt[REPEATS], peak = 0, rss;
	struct rusage ru0, ru1;
	uint64_t t0;
	unsigned b;

	for (b = 0; b < REPEATS; b++) {
		getrusage(RUSAGE_SELF, &ru0);
		t0 = bench_now_ns();
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&allocated);
		ms[b] = (bench_now_ns() - t0) / 1e6;
		getrusage(RUSAGE_SELF, &ru1);
		flt[b] = (double)(ru1.ru_minflt - ru0.ru_minflt);
		rss = (double)bench_rss_bytes();
		if (rss > peak)
			peak = rss;
		pthread_barrier_wait(&freed);
		bench_sleep_until(bench_now_ns() +
		    (uint64_t)(o->idle_s * 1e9));
		idle[b] = (double)bench_rss_bytes();
		bench_series("burst_ms", b, ms[b]);
	}
	bench_metric("first_burst_ms", ms[0], "ms", "lower");
	/* Bursts after the first reuse (or refault) what the first mapped. */
	qsort(ms + 1, REPEATS - 1, sizeof(double), cmp_double);
	bench_metric("later_burst_ms", ms[REPEATS / 2], "ms", "lower");
	/* Page faults of a burst: the refault cost of memory given back
	 * between bursts (a lazily freed page the kernel left costs none). */
	bench_metric("first_burst_faults", flt[0], "faults", "lower");
	qsort(flt + 1, REPEATS - 1, sizeof(double), cmp_double);
	bench_metric("later_burst_faults", flt[REPEATS / 2], "faults", "lower");
	qsort(idle, REPEATS, sizeof(double), cmp_double);
	bench_metric("rss_peak", bench_mib(peak), "MiB", "lower");
	bench_metric("rss_between", bench_mib(idle[REPEATS / 2]), "MiB",
	    "lower");
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct worker *w;
	pthread_t *tid;
	size_t count, per;
	unsigned t, bursts;
	double base;
	int repeat;

	bench_parse(argc, argv, &o, "[idle|repeat]",
	    "Burst then idle: threads allocate 15000 objects of 16 B..256 KiB,\n"
	    "free them all and idle; RSS is sampled every 100 ms for 4 s (-d).\n"
	    "repeat: 7 bursts of half that size, 0.3 s idle (-d) between.\n");
	repeat = o.mode && strcmp(o.mode, "repeat") == 0;
	if (o.mode && !repeat && strcmp(o.mode, "idle"))
		bench_die(BENCH_EXIT_USAGE, "mode must be idle or repeat");
	if (o.idle_s < 0)
		o.idle_s = repeat ? (o.smoke ? 0.05 : 0.3) :
		    (o.smoke ? 0.3 : 4.0);
	count = (size_t)bench_scaled(&o, repeat ? 7500 : 15000, 100);
	per = count / o.threads ? count / o.threads : 1;
	bursts = repeat ? REPEATS : 1;

	base = (double)bench_rss_bytes();
	w = bench_malloc(o.threads * sizeof(*w));
	tid = bench_malloc(o.threads * sizeof(*tid));
	for (t = 0; t < o.threads; t++) {
		w[t].count = per;
		w[t].seed = o.seed * 1000 + t;
		w[t].bursts = bursts;
		w[t].p = bench_malloc(per * sizeof(void *));
		w[t].n = bench_malloc(per * sizeof(size_t));
		w[t].tag = bench_malloc(per * sizeof(uint64_t));
	}
	pthread_barrier_init(&go, NULL, o.threads + 1);
	pthread_barrier_init(&allocated, NULL, o.threads + 1);
	pthread_barrier_init(&freed, NULL, o.threads + 1);
	pthread_barrier_init(&done, NULL, o.threads + 1);
	for (t = 0; t < o.threads; t++)
		if (pthread_create(&tid[t], NULL, worker_main, &w[t]))
			bench_die(BENCH_EXIT_NOMEM, "pthread_create failed");

	printf("# %u threads, %zu objects each, %u burst(s); base RSS "
	    "%.1f MiB\n", o.threads, per, bursts, bench_mib(base));
	if (repeat)
		repeat_bursts(&o);
	else
		watch_release(&o, base);

	pthread_barrier_wait(&done);
	for (t = 0; t < o.threads; t++) {
		pthread_join(tid[t], NULL);
		free(w[t].p);
		free(w[t].n);
		free(w[t].tag);
	}
	free(tid);
	free(w);
	return 0;
}
