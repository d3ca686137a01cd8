/*
 * sizes.c: single-thread allocation loops, the fast path on its own.
 *
 *   fixed   for each size from 16 B to 32 KiB (powers of two), allocate a
 *           batch of objects then free them, alternately in allocation
 *           order (FIFO) and in reverse (LIFO); reports ns per malloc+free
 *           pair for each size.  Sizes above 1 KiB do proportionally fewer
 *           pairs, so each size moves about the same number of bytes.
 *   random  a working set of 10000 objects of log-uniform sizes 8 B..8 KiB;
 *           replace a random one at a time, as a long-running program's
 *           heap does; reports ns per replacement.
 *
 * Every object gets the fill pattern and is checked before it is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void
run_fixed(const struct bench_opts *o)
{
	struct bench_rng r;
	uint64_t pairs = bench_scaled(o, 300000, 200), t0, ns, total_ns = 0;
	size_t batch = 1000, size, i, k;
	void **p = bench_malloc(batch * sizeof(*p));
	uint64_t *tag = bench_malloc(batch * sizeof(*tag));
	char name[32];

	bench_rng_seed(&r, o->seed);
	if (batch > pairs)
		batch = (size_t)pairs;
	for (size = 16; size <= 32768; size *= 2) {
		/* Above 1 KiB the pair count halves per size step, so each
		 * size moves about the same number of bytes. */
		uint64_t n = size <= 1024 ? pairs : pairs * 1024 / size;
		uint64_t rounds = n > batch ? n / batch : 1, round;

		t0 = bench_now_ns();
		for (round = 0; round < rounds; round++) {
			for (i = 0; i < batch; i++) {
				tag[i] = bench_rng_next(&r);
				p[i] = bench_malloc(size);
				bench_fill(p[i], size, tag[i]);
			}
			for (k = 0; k < batch; k++) {
				i = round & 1 ? batch - 1 - k : k;
				bench_check_free(p[i], size, tag[i]);
			}
		}
		ns = bench_now_ns() - t0;
		total_ns += ns;
		snprintf(name, sizeof(name), "ns_per_pair_%zu", size);
		bench_metric(name, (double)ns / (double)(rounds * batch),
		    "ns", "lower");
	}
	printf("# fixed sizes 16..32768 B: %llu malloc+free pairs up to 1 KiB, "
	    "%.3f s\n", (unsigned long long)pairs, total_ns / 1e9);
	free(tag);
	free(p);
}

static void
run_random(const struct bench_opts *o)
{
	struct bench_rng r;
	size_t nslots = (size_t)bench_scaled(o, 10000, 100), i;
	uint64_t ops = bench_scaled(o, 4000000, 1000), op, t0, ns;
	void **p = bench_malloc(nslots * sizeof(*p));
	size_t *n = bench_malloc(nslots * sizeof(*n));
	uint64_t *tag = bench_malloc(nslots * sizeof(*tag));

	bench_rng_seed(&r, o->seed);
	for (i = 0; i < nslots; i++) {
		n[i] = bench_rng_size_log(&r, 8, 8192);
		tag[i] = bench_rng_next(&r);
		p[i] = bench_malloc(n[i]);
		bench_fill(p[i], n[i], tag[i]);
	}
	t0 = bench_now_ns();
	for (op = 0; op < ops; op++) {
		i = (size_t)bench_rng_below(&r, nslots);
		bench_check_free(p[i], n[i], tag[i]);
		n[i] = bench_rng_size_log(&r, 8, 8192);
		tag[i] = bench_rng_next(&r);
		p[i] = bench_malloc(n[i]);
		bench_fill(p[i], n[i], tag[i]);
	}
	ns = bench_now_ns() - t0;
	for (i = 0; i < nslots; i++)
		bench_check_free(p[i], n[i], tag[i]);
	free(tag);
	free(n);
	free(p);
	printf("# random sizes 8..8192 B: %zu live, %llu replacements, "
	    "%.3f s\n", nslots, (unsigned long long)ops, ns / 1e9);
	bench_metric("ns_per_replace", (double)ns / (double)ops, "ns",
	    "lower");
}

int
main(int argc, char **argv)
{
	struct bench_opts o;

	bench_parse(argc, argv, &o, "fixed|random",
	    "Single-thread loops: fixed sizes 16 B..32 KiB (300000 pairs\n"
	    "per size up to 1 KiB, then fewer; batches of 1000), or random\n"
	    "sizes 8 B..8 KiB (10000\n"
	    "live, 4000000 replacements).  -t is ignored.\n");
	if (o.mode && strcmp(o.mode, "fixed") == 0)
		run_fixed(&o);
	else if (o.mode && strcmp(o.mode, "random") == 0)
		run_random(&o);
	else
		bench_die(BENCH_EXIT_USAGE, "mode must be fixed or random");
	return 0;
}
