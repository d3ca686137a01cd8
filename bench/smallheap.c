/*
 * smallheap.c: small programs, where the allocator's fixed cost shows.
 *
 *   small  a program with about 3 MiB of heap, as a command-line tool or
 *          a small daemon has: builds a table of 16000 records (a node of
 *          48 bytes and a string of 8..512 bytes each, log-uniform), then
 *          replaces a random record 200000 times, then frees everything;
 *          reports ns per replacement and the peak RSS in MiB
 *   tiny   a program that barely allocates (100 small objects): its peak
 *          RSS is the allocator's fixed overhead over the program's own
 *
 * Peak RSS is VmHWM (the runner also reads it from rusage), so what the
 * allocator maps and touches for itself counts, as it does for a user.
 * Every object gets the fill pattern and is checked before it is freed.
 * -t is ignored (one thread: a second one would be overhead too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

struct rec {
	char *str;
	size_t len;
	uint64_t tag;
	uint64_t pad[3]; /* 48 bytes, a typical small node */
};

static void
rec_make(struct rec **slot, struct bench_rng *r)
{
	struct rec *x = bench_malloc(sizeof(*x));

	x->len = bench_rng_size_log(r, 8, 512);
	x->tag = bench_rng_next(r);
	x->str = bench_malloc(x->len);
	bench_fill(x->str, x->len, x->tag);
	*slot = x;
}

static void
rec_free(struct rec *x)
{
	bench_check_free(x->str, x->len, x->tag);
	free(x);
}

static void
run(const struct bench_opts *o, size_t nrec, uint64_t nrep)
{
	struct bench_rng r;
	struct rec **tab = bench_malloc(nrec * sizeof(*tab));
	uint64_t t0, ns, i;

	bench_rng_seed(&r, o->seed);
	for (i = 0; i < nrec; i++)
		rec_make(&tab[i], &r);
	t0 = bench_now_ns();
	for (i = 0; i < nrep; i++) {
		size_t k = (size_t)bench_rng_below(&r, nrec);
		rec_free(tab[k]);
		rec_make(&tab[k], &r);
	}
	ns = bench_now_ns() - t0;
	if (nrep)
		bench_metric("ns_per_replace", (double)ns / (double)nrep,
		    "ns", "lower");
	bench_metric("peak_rss", bench_mib((double)bench_hwm_bytes()), "MiB",
	    "lower");
	for (i = 0; i < nrec; i++)
		rec_free(tab[i]);
	free(tab);
}

int
main(int argc, char **argv)
{
	struct bench_opts o;

	bench_parse(argc, argv, &o, "[small|tiny]",
	    "Small programs: small (default) builds 16000 records of 48 B\n"
	    "plus 8..512 B (about 3 MiB) and replaces 200000 of them at\n"
	    "random; tiny allocates 100 small objects.  -t is ignored.\n");
	if (!o.mode || strcmp(o.mode, "small") == 0)
		run(&o, o.smoke ? 1000 : 16000, bench_scaled(&o, 200000, 1000));
	else if (strcmp(o.mode, "tiny") == 0)
		run(&o, 100, 0);
	else
		bench_die(BENCH_EXIT_USAGE, "mode must be small or tiny");
	return 0;
}
