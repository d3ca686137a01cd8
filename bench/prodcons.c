/*
 * prodcons.c: producer/consumer (the pattern of the xmalloc test).
 *
 * Objects are allocated in one thread and freed in another, as in a
 * pipeline where a reader thread builds requests and a worker consumes them.
 * Every free is a remote free; an allocator whose thread caches only help
 * the allocating thread, or that sends memory back through one global lock,
 * shows it here.  Threads come in pairs joined by a single-producer,
 * single-consumer ring of pointers: one pair per two CPUs (at least one).
 *
 * Object sizes and tags are a pure function of (pair, sequence number), so
 * the consumer checks each object without anything but the pointer being
 * passed.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define RING		1024	/* pointers in flight per pair */
#define MIN_SIZE	8
#define MAX_SIZE	512

struct pair {
	/* Producer and consumer indexes on their own cache lines. */
	_Alignas(64) _Atomic uint64_t head;	/* next to write (producer) */
	_Alignas(64) _Atomic uint64_t tail;	/* next to read (consumer) */
	_Alignas(64) void *ring[RING];
	uint64_t count;		/* objects to pass */
	unsigned id;
};

struct role {
	struct pair *pair;
	int consumer;
};

static inline size_t
obj_size(unsigned pair, uint64_t seq)
{
	return MIN_SIZE + (size_t)(bench_mix(((uint64_t)pair << 48) ^ seq) %
	    (MAX_SIZE - MIN_SIZE + 1));
}

static inline uint64_t
obj_tag(unsigned pair, uint64_t seq)
{
	return bench_mix(~(((uint64_t)pair << 48) ^ seq));
}

/* Spin a little, then let the other thread run: with more threads than
 * CPUs a pure spin would burn the partner's time slice. */
static inline void
backoff(unsigned *spins)
{
	if (++*spins > 64) {
		sched_yield();
		*spins = 0;
	}
}

static void
produce(struct pair *pr)
{
	uint64_t seq, tail = 0;
	unsigned spins = 0;

	for (seq = 0; seq < pr->count; seq++) {
		size_t n = obj_size(pr->id, seq);
		void *p = bench_malloc(n);

		bench_fill(p, n, obj_tag(pr->id, seq));
		while (seq - tail >= RING) {
			tail = atomic_load_explicit(&pr->tail,
			    memory_order_acquire);
			if (seq - tail >= RING)
				backoff(&spins);
		}
		pr->ring[seq % RING] = p;
		atomic_store_explicit(&pr->head, seq + 1, memory_order_release);
	}
}

static void
consume(struct pair *pr)
{
	uint64_t seq, head = 0;
	unsigned spins = 0;

	for (seq = 0; seq < pr->count; seq++) {
		void *p;

		while (seq >= head) {
			head = atomic_load_explicit(&pr->head,
			    memory_order_acquire);
			if (seq >= head)
				backoff(&spins);
		}
		p = pr->ring[seq % RING];
		atomic_store_explicit(&pr->tail, seq + 1, memory_order_release);
		bench_check_free(p, obj_size(pr->id, seq),
		    obj_tag(pr->id, seq));
	}
}

static void *
role_main(void *arg)
{
	struct role *ro = arg;

	if (ro->consumer)
		consume(ro->pair);
	else
		produce(ro->pair);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct pair *pairs;
	struct role *roles;
	uint64_t count, ns;
	unsigned npairs, i;

	bench_parse(argc, argv, &o, "",
	    "Producer/consumer (xmalloc style): one thread allocates objects\n"
	    "of 8..512 B, another checks and frees them; threads/2 pairs,\n"
	    "4000000 objects per pair.\n");
	npairs = o.threads / 2 ? o.threads / 2 : 1;
	count = bench_scaled(&o, 4000000, 1000);

	if (posix_memalign((void **)&pairs, 64, npairs * sizeof(*pairs)))
		bench_die(BENCH_EXIT_NOMEM, "no memory for %u pairs", npairs);
	roles = bench_malloc(2 * npairs * sizeof(*roles));
	for (i = 0; i < npairs; i++) {
		atomic_init(&pairs[i].head, 0);
		atomic_init(&pairs[i].tail, 0);
		pairs[i].count = count;
		pairs[i].id = i;
		roles[2 * i] = (struct role){ &pairs[i], 0 };
		roles[2 * i + 1] = (struct role){ &pairs[i], 1 };
	}

	ns = bench_run_threads(2 * npairs, role_main, roles, sizeof(*roles));

	free(roles);
	free(pairs);
	printf("# %u pairs, %llu objects each in %.3f s\n", npairs,
	    (unsigned long long)count, ns / 1e9);
	bench_metric("objects_per_s", (double)count * npairs / (ns / 1e9),
	    "obj/s", "higher");
	return 0;
}
