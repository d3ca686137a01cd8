/*
 * remote.c: workloads where nearly every free is remote (the object was
 * allocated by another thread), in the two shapes that hurt allocators
 * whose remote frees go through a lock.
 *
 *   batch  the producer/consumer test of Lever and Boreham (USENIX 2000):
 *          allocating threads fill batches of 4096 objects of 64 B and
 *          hand whole batches through a mutex-protected queue to freeing
 *          threads.  Unlike `prodcons` (a ring of single pointers, sizes
 *          spread over many classes, at most 1024 in flight), one class
 *          carries all the traffic and a whole batch (256 KiB, more than
 *          any thread cache keeps) arrives at the consumer at once: every
 *          consumer's free overflows its cache and goes back to the spans
 *          in bulk, while the producers need new objects in bulk.
 *   slots  shared-slot churn (mimalloc's test-stress, xmalloc): threads
 *          put blocks of random size (16 B..8 KiB log-uniform; one in 8
 *          aligned to 16..128 B, one in 8 reallocated once after being
 *          made) into random slots of one shared array and free what they
 *          took out, so most frees are of another thread's block.
 *
 * Every object is filled with a tag and checked before it is freed.  In
 * `batch` the tag is a function of (producer, batch, index); in `slots`
 * the size lives in the tag's low bits (the block says how to check it).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define BATCH_OBJS	4096
#define BATCH_SIZE	64
#define QUEUE_MAX	100	/* batches waiting, as in xmalloc-test */

#define NSLOTS		1024
#define SLOT_MIN	16
#define SLOT_MAX	8192
#define SIZE_BITS	24
#define SIZE_MASK	((1ULL << SIZE_BITS) - 1)

/* ---- batch ---- */

/* seq and producer first: a stray write at the start of the batch changes
 * the tags its objects are checked against, so it is caught like one in an
 * object, not followed as a pointer. */
struct batch {
	uint64_t seq;
	unsigned producer;
	struct batch *next;
	void *obj[BATCH_OBJS];
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t nonempty, nonfull;
	struct batch *head, *tail;
	unsigned len;
	unsigned producers_left;
};

struct bworker {
	struct queue *q;
	unsigned id;
	int consumer;
	uint64_t nbatches;	/* producer: batches to make */
	uint64_t freed;		/* consumer: objects freed (out) */
};

static inline uint64_t
batch_tag(unsigned producer, uint64_t seq, unsigned i)
{
	return bench_mix(((uint64_t)producer << 56) ^ (seq << 12) ^ i);
}

static void
batch_produce(struct bworker *w)
{
	struct queue *q = w->q;
	uint64_t seq;
	unsigned i;

	for (seq = 0; seq < w->nbatches; seq++) {
		struct batch *b = bench_malloc(sizeof(*b));

		b->next = NULL;
		b->producer = w->id;
		b->seq = seq;
		for (i = 0; i < BATCH_OBJS; i++) {
			b->obj[i] = bench_malloc(BATCH_SIZE);
			bench_fill(b->obj[i], BATCH_SIZE,
			    batch_tag(w->id, seq, i));
		}
		pthread_mutex_lock(&q->mu);
		while (q->len >= QUEUE_MAX)
			pthread_cond_wait(&q->nonfull, &q->mu);
		if (q->tail)
			q->tail->next = b;
		else
			q->head = b;
		q->tail = b;
		q->len++;
		pthread_cond_signal(&q->nonempty);
		pthread_mutex_unlock(&q->mu);
	}
	pthread_mutex_lock(&q->mu);
	q->producers_left--;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->mu);
}

static void
batch_consume(struct bworker *w)
{
	struct queue *q = w->q;

	for (;;) {
		struct batch *b;
		unsigned i;

		pthread_mutex_lock(&q->mu);
		while (!q->head && q->producers_left)
			pthread_cond_wait(&q->nonempty, &q->mu);
		b = q->head;
		if (!b) {
			pthread_mutex_unlock(&q->mu);
			return;
		}
		q->head = b->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
		pthread_cond_signal(&q->nonfull);
		pthread_mutex_unlock(&q->mu);
		for (i = 0; i < BATCH_OBJS; i++)
			bench_check_free(b->obj[i], BATCH_SIZE,
			    batch_tag(b->producer, b->seq, i));
		w->freed += BATCH_OBJS;
		free(b);
	}
}

static void *
bworker_main(void *arg)
{
	struct bworker *w = arg;

	if (w->consumer)
		batch_consume(w);
	else
		batch_produce(w);
	return NULL;
}

static void
run_batch(const struct bench_opts *o)
{
	struct queue q;
	struct bworker *w;
	unsigned np, nc, i;
	uint64_t nbatches, total = 0, ns;

	/* 2 + 2 threads as in the paper unless -t says otherwise. */
	np = o->threads_set && o->threads / 2 ? o->threads / 2 : 2;
	nc = o->threads_set && o->threads - o->threads / 2 ?
	    o->threads - o->threads / 2 : 2;
	if (o->smoke)
		np = nc = 1;
	nbatches = bench_scaled(o, 1000, 4);

	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.nonempty, NULL);
	pthread_cond_init(&q.nonfull, NULL);
	q.head = q.tail = NULL;
	q.len = 0;
	q.producers_left = np;
	w = bench_malloc((np + nc) * sizeof(*w));
	for (i = 0; i < np + nc; i++)
		w[i] = (struct bworker){ &q, i, i >= np, nbatches, 0 };

	ns = bench_run_threads(np + nc, bworker_main, w, sizeof(*w));
	for (i = np; i < np + nc; i++)
		total += w[i].freed;
	if (total != np * nbatches * BATCH_OBJS)
		bench_die(BENCH_EXIT_CORRUPT, "freed %llu objects, made %llu",
		    (unsigned long long)total,
		    (unsigned long long)(np * nbatches * BATCH_OBJS));
	free(w);
	printf("# batch: %u producers, %u consumers, %llu batches of %u x "
	    "%u B each in %.3f s\n", np, nc, (unsigned long long)nbatches,
	    BATCH_OBJS, BATCH_SIZE, ns / 1e9);
	bench_metric("objects_per_s", (double)total / (ns / 1e9), "obj/s",
	    "higher");
}

/* ---- slots ---- */

struct sworker {
	_Atomic(void *) *slots;
	uint64_t ops;
	uint64_t seed;
};

/* The tag holds the block's size in its low bits, random bits above. */
static inline uint64_t
slot_tag(struct bench_rng *r, size_t n)
{
	return (bench_rng_next(r) & ~SIZE_MASK) | n;
}

static void
slot_check_free(void *p)
{
	uint64_t tag;
	size_t n;

	memcpy(&tag, p, 8);
	n = (size_t)(tag & SIZE_MASK);
	if (n < SLOT_MIN || n > SLOT_MAX)
		bench_corrupt("slot block (size bits)", p, SLOT_MIN, tag);
	bench_check_free(p, n, tag);
}

static void *
slot_make(struct bench_rng *r)
{
	size_t n = bench_rng_size_log(r, SLOT_MIN, SLOT_MAX);
	unsigned kind = (unsigned)bench_rng_below(r, 8);
	uint64_t tag = slot_tag(r, n);
	void *p;

	if (kind == 0) {
		/* Aligned to 16..128 B.  Larger alignments caught
		 * libmimalloc 2.0.9 returning a misaligned block
		 * (posix_memalign(256, 1024), about 1 in 20000). */
		size_t align = (size_t)16 << bench_rng_below(r, 4);

		if (posix_memalign(&p, align, n))
			bench_die(BENCH_EXIT_NOMEM, "posix_memalign(%zu, %zu)",
			    align, n);
		if ((uintptr_t)p & (align - 1))
			bench_corrupt("misaligned block", p, n, tag);
	} else if (kind == 1) {
		/* Made at one size, filled, reallocated to the final one. */
		size_t m = bench_rng_size_log(r, SLOT_MIN, SLOT_MAX);
		uint64_t t0 = slot_tag(r, m);

		p = bench_malloc(m);
		bench_fill(p, m, t0);
		p = realloc(p, n);
		if (!p)
			bench_die(BENCH_EXIT_NOMEM, "realloc(%zu)", n);
		if (n >= m ? bench_check(p, m, t0) :
		    memcmp(p, &t0, 8) != 0)
			bench_corrupt("reallocated block", p, m < n ? m : n,
			    t0);
	} else {
		p = bench_malloc(n);
	}
	bench_fill(p, n, tag);
	return p;
}

static void *
sworker_main(void *arg)
{
	struct sworker *w = arg;
	struct bench_rng r;
	uint64_t i;

	bench_rng_seed(&r, w->seed);
	for (i = 0; i < w->ops; i++) {
		void *p = slot_make(&r);
		size_t k = (size_t)bench_rng_below(&r, NSLOTS);

		p = atomic_exchange_explicit(&w->slots[k], p,
		    memory_order_acq_rel);
		if (p)
			slot_check_free(p);
	}
	return NULL;
}

static void
run_slots(const struct bench_opts *o)
{
	_Atomic(void *) *slots;
	struct sworker *w;
	unsigned n, i;
	uint64_t ops, ns;

	/* 4 threads (on any number of CPUs) unless -t says otherwise. */
	n = o->threads_set ? o->threads : 4;
	ops = bench_scaled(o, 2000000, 1000);
	slots = bench_malloc(NSLOTS * sizeof(*slots));
	for (i = 0; i < NSLOTS; i++)
		atomic_init(&slots[i], NULL);
	w = bench_malloc(n * sizeof(*w));
	for (i = 0; i < n; i++)
		w[i] = (struct sworker){ slots, ops, o->seed + i * 7919 };

	ns = bench_run_threads(n, sworker_main, w, sizeof(*w));
	for (i = 0; i < NSLOTS; i++) {
		void *p = atomic_load(&slots[i]);
		if (p)
			slot_check_free(p);
	}
	free(slots);
	free(w);
	printf("# slots: %u threads, %llu operations each, %u slots in "
	    "%.3f s\n", n, (unsigned long long)ops, NSLOTS, ns / 1e9);
	bench_metric("ops_per_s", (double)ops * n / (ns / 1e9), "op/s",
	    "higher");
}

int
main(int argc, char **argv)
{
	struct bench_opts o;

	bench_parse(argc, argv, &o, "batch|slots",
	    "Remote frees.  batch: Lever-Boreham producer/consumer, 2+2\n"
	    "threads, batches of 4096 x 64 B through a locked queue, 1000\n"
	    "batches per producer.  slots: 4 threads swap random-size blocks\n"
	    "(some aligned, some realloc'ed) through 1024 shared slots,\n"
	    "2000000 operations per thread.  -t sets the thread count.\n");
	if (!o.mode)
		bench_die(BENCH_EXIT_USAGE, "mode must be batch or slots");
	if (strcmp(o.mode, "batch") == 0)
		run_batch(&o);
	else if (strcmp(o.mode, "slots") == 0)
		run_slots(&o);
	else
		bench_die(BENCH_EXIT_USAGE, "mode must be batch or slots");
	return 0;
}
