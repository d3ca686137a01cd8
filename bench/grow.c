/*
 * grow.c: realloc growth, the way strings and vectors are built.
 *
 * Each thread keeps 8 buffers growing at once (so none sits alone at the
 * top of the heap where growing in place is free) and picks one at random
 * for each step:
 *
 *   string  appends 1..64 bytes with realloc to the exact new length, as
 *           naive string building does, up to a target of 1 KiB..256 KiB;
 *   vector  appends 8-byte elements and doubles its capacity with realloc
 *           when full, up to a target of 128..131072 elements.
 *
 * After each realloc the first and the last old byte are checked (a moved
 * buffer must carry its content), and the whole content once the target is
 * reached, before the buffer is freed and a new one started.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define LIVE	8

struct buf {
	unsigned char *p;
	size_t len;		/* bytes (string) or elements (vector) used */
	size_t cap;		/* vector capacity in elements */
	size_t target;
	uint64_t tag;
	int vector;
};

struct worker {
	uint64_t buffers;	/* buffers to complete */
	uint64_t seed;
	uint64_t reallocs;	/* out */
};

static inline unsigned char
str_byte(uint64_t tag, size_t i)
{
	return (unsigned char)((tag >> 8) + i * 131);
}

static void
buf_start(struct buf *b, struct bench_rng *r)
{
	b->vector = (int)bench_rng_below(r, 2);
	b->tag = bench_rng_next(r);
	b->len = 0;
	if (b->vector) {
		b->cap = 4;
		b->target = bench_rng_size_log(r, 128, 131072);
		b->p = bench_malloc(b->cap * sizeof(uint64_t));
	} else {
		b->cap = 0;
		b->target = bench_rng_size_log(r, 1024, 262144);
		b->p = bench_malloc(1);
	}
}

/* Check the whole content, then free. */
static void
buf_finish(struct buf *b)
{
	size_t i;

	if (b->vector) {
		for (i = 0; i < b->len; i++) {
			uint64_t v;

			memcpy(&v, b->p + i * 8, 8);
			if (v != (b->tag ^ i))
				bench_corrupt("vector element", b->p,
				    b->len * 8, b->tag ^ i);
		}
	} else {
		for (i = 0; i < b->len; i++)
			if (b->p[i] != str_byte(b->tag, i))
				bench_corrupt("string byte", b->p, b->len,
				    b->tag);
	}
	free(b->p);
}

static void
buf_realloc(struct buf *b, size_t bytes, size_t old_bytes)
{
	unsigned char first = old_bytes ? b->p[0] : 0;
	unsigned char last = old_bytes ? b->p[old_bytes - 1] : 0;
	unsigned char *np = realloc(b->p, bytes);

	if (!np)
		bench_die(BENCH_EXIT_NOMEM, "realloc(%zu) returned NULL",
		    bytes);
	if (old_bytes && (np[0] != first || np[old_bytes - 1] != last))
		bench_corrupt("moved by realloc", np, old_bytes, b->tag);
	b->p = np;
}

/* One step: append to the buffer; returns 1 when it reached its target. */
static int
buf_step(struct buf *b, struct bench_rng *r, uint64_t *reallocs)
{
	size_t add, i;

	if (b->vector) {
		uint64_t v = b->tag ^ b->len;

		if (b->len == b->cap) {
			buf_realloc(b, b->cap * 2 * sizeof(uint64_t),
			    b->len * sizeof(uint64_t));
			b->cap *= 2;
			++*reallocs;
		}
		memcpy(b->p + b->len * 8, &v, 8);
		b->len++;
	} else {
		add = 1 + (size_t)bench_rng_below(r, 64);
		buf_realloc(b, b->len + add, b->len);
		++*reallocs;
		for (i = 0; i < add; i++)
			b->p[b->len + i] = str_byte(b->tag, b->len + i);
		b->len += add;
	}
	return b->len >= b->target;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct buf bufs[LIVE];
	struct bench_rng r;
	uint64_t done = 0;
	size_t i;

	bench_rng_seed(&r, w->seed);
	for (i = 0; i < LIVE; i++)
		buf_start(&bufs[i], &r);
	while (done < w->buffers) {
		struct buf *b = &bufs[bench_rng_below(&r, LIVE)];

		/* Vectors take one element per step, strings ~32 bytes: give
		 * vectors a run of steps so both kinds progress alike. */
		int steps = b->vector ? 32 : 1, s, full = 0;

		for (s = 0; s < steps && !full; s++)
			full = buf_step(b, &r, &w->reallocs);
		if (full) {
			buf_finish(b);
			buf_start(b, &r);
			done++;
		}
	}
	for (i = 0; i < LIVE; i++)
		buf_finish(&bufs[i]);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct worker *w;
	uint64_t buffers, ns, reallocs = 0;
	unsigned t;

	bench_parse(argc, argv, &o, "",
	    "realloc growth: each thread grows 8 strings (append 1..64 B,\n"
	    "exact realloc) and vectors (doubling) at once; 5000 buffers\n"
	    "per thread.\n");
	buffers = bench_scaled(&o, 5000, 20);
	w = bench_malloc(o.threads * sizeof(*w));
	for (t = 0; t < o.threads; t++)
		w[t] = (struct worker){ buffers, o.seed * 1000 + t, 0 };

	ns = bench_run_threads(o.threads, worker_main, w, sizeof(*w));
	for (t = 0; t < o.threads; t++)
		reallocs += w[t].reallocs;
	free(w);

	printf("# %u threads, %llu buffers each, %llu reallocs in %.3f s\n",
	    o.threads, (unsigned long long)buffers,
	    (unsigned long long)reallocs, ns / 1e9);
	bench_metric("reallocs_per_s", reallocs / (ns / 1e9), "op/s",
	    "higher");
	return 0;
}
