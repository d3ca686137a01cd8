/*
 * check_stress.c: many threads hammering the mr_* API at once.
 *
 * Each thread runs a fixed, seeded script (no time limits: the amount of
 * work is bounded by an operation count, so a slow or loaded machine only
 * takes longer).  Every object carries a pattern derived from its own seed
 * over all its bytes; the pattern is checked in full before each realloc,
 * hand-off and free, so an object that overlaps another, a realloc that
 * loses bytes, or a cross-thread free that returns memory still in use
 * shows up as a corrupted byte, not as a silent pass.
 *
 * Threads: max(4, 2 * online CPUs), so thread caches are migrated and
 * contended even on a 2-CPU machine.  Operations per thread default to
 * 20000 (MR_STRESS_OPS overrides it, e.g. for a sanitizer build on a slow
 * machine).  The same program is built and run under ThreadSanitizer and
 * AddressSanitizer+UBSan by tests/run.
 */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memreclaim.h"
#include "core/heap.h"
#include "core_alone.h"
#include "release/limit.h"
#include "check_main.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

struct obj {
	unsigned char *p;
	size_t size;	/* bytes requested (the pattern covers these) */
	size_t align;	/* alignment requested at allocation, 16 default */
	uint64_t seed;
};

/* A thread's inbox: objects other threads allocated and hand over to be
 * checked and freed here.  A mutex is enough: the point is the cross-thread
 * free inside the allocator, not the queue. */
struct inbox {
	pthread_mutex_t mu;
	struct obj *items;	/* glibc malloc: the harness's own memory */
	size_t n, cap;
};

struct worker {
	pthread_t tid;
	int index;
	uint64_t rng;
	struct inbox in;
	/* results, read by the main thread after join */
	unsigned long allocs, frees, reallocs, handoffs, errors;
	int done;		/* producer finished (atomic) */
};

static struct worker *workers;
static int nworkers;
static unsigned long ops_per_thread;
static pthread_barrier_t barrier;
static unsigned long error_reports;	/* atomic: first few get printed */

static uint64_t
rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 2685821657736338717ULL;
}

static uint64_t
mix(uint64_t z)
{
	/* splitmix64 finaliser */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Pattern of object `seed`: word w holds mix(seed + w), the tail bytes the
 * low bytes of the next word.  Words are written and read as uint64_t
 * (objects are at least 16-byte aligned), which keeps the sanitizer builds
 * fast enough while still covering every byte. */
static void
pattern_fill(unsigned char *p, size_t n, uint64_t seed, size_t from)
{
	size_t w, nw = n / 8, w0 = from / 8;
	uint64_t v;

	for (w = w0; w < nw; w++)
		((uint64_t *)p)[w] = mix(seed + w);
	if (n % 8 && nw >= w0) {
		v = mix(seed + nw);
		memcpy(p + nw * 8, &v, n % 8);
	}
}

static int
pattern_ok(const unsigned char *p, size_t n, uint64_t seed, size_t *bad)
{
	size_t w, nw = n / 8;
	uint64_t v;

	for (w = 0; w < nw; w++) {
		if (((const uint64_t *)p)[w] != mix(seed + w)) {
			*bad = w * 8;
			return 0;
		}
	}
	if (n % 8) {
		v = mix(seed + nw);
		if (memcmp(p + nw * 8, &v, n % 8) != 0) {
			*bad = nw * 8;
			return 0;
		}
	}
	return 1;
}

static void
report(struct worker *w, const char *what, const struct obj *o, size_t at)
{
	w->errors++;
	if (__atomic_fetch_add(&error_reports, 1, __ATOMIC_RELAXED) < 20)
		fprintf(stderr, "thread %d: %s: object %p size %zu align %zu "
			"seed %llx, byte %zu\n", w->index, what, (void *)o->p,
			o->size, o->align, (unsigned long long)o->seed, at);
}

static void
check_obj(struct worker *w, const struct obj *o, const char *when)
{
	size_t bad = 0;

	if (!pattern_ok(o->p, o->size, o->seed, &bad))
		report(w, when, o, bad);
}

/* Sizes: mostly small, some up to 32 KiB, a few large, rare multi-MiB. */
static size_t
pick_size(uint64_t *r)
{
	uint64_t x = rng_next(r), k = x % 1000;

	x >>= 10;
	if (k < 10)
		return 0;
	if (k < 600)
		return 1 + x % 256;
	if (k < 850)
		return 257 + x % 3840;
	if (k < 970)
		return 4097 + x % (28 * KiB);
	if (k < 997)
		return 32 * KiB + 1 + x % (480 * KiB);
	return 512 * KiB + x % (3 * MiB + 512 * KiB);
}

static int
alloc_obj(struct worker *w, struct obj *o)
{
	uint64_t x = rng_next(&w->rng);
	size_t size = pick_size(&w->rng);
	size_t align = (size_t)16 << (x % 13);	/* 16 .. 64 KiB */
	void *p = NULL;
	int kind = (int)((x >> 8) % 10), r;

	o->align = 16;
	switch (kind) {
	case 0:
	case 1:
	case 2:
	case 3:
		p = mr_malloc(size);
		break;
	case 4:
		p = mr_calloc(1 + size / 16, 16);
		if (p) {
			size_t i, n = 1 + size / 16;
			const uint64_t *q = p;

			for (i = 0; i < n * 2; i++)
				if (q[i] != 0) {
					struct obj z = { p, n * 16, 16, 0 };
					report(w, "calloc not zeroed", &z, i * 8);
					break;
				}
			size = n * 16;
		}
		break;
	case 5:
		align = (size_t)16 << (x % 7);
		size = (size + align - 1) / align * align;
		p = mr_aligned_alloc(align, size);
		o->align = align;
		break;
	case 6:
		p = mr_memalign(align, size);
		o->align = align;
		break;
	case 7:
		r = mr_posix_memalign(&p, align, size);
		if (r != 0) {
			p = NULL;
			errno = r;
		}
		o->align = align;
		break;
	case 8:
		p = mr_valloc(size);
		o->align = 4096;
		break;
	default:
		p = mr_malloc(size);
		break;
	}
	if (!p) {
		struct obj z = { NULL, size, align, 0 };
		report(w, "allocation failed", &z, (size_t)errno);
		return -1;
	}
	o->p = p;
	o->size = size;
	o->seed = rng_next(&w->rng);
	if (((uintptr_t)p & (o->align - 1)) || ((uintptr_t)p & 15))
		report(w, "misaligned", o, 0);
	if (mr_malloc_usable_size(p) < size)
		report(w, "usable size too small", o, mr_malloc_usable_size(p));
	pattern_fill(o->p, o->size, o->seed, 0);
	w->allocs++;
	return 0;
}

static void
free_obj(struct worker *w, struct obj *o, const char *when)
{
	check_obj(w, o, when);
	switch (o->seed % 3) {
	case 0:
		mr_free(o->p);
		break;
	case 1:
		mr_free_sized(o->p, o->size);
		break;
	default:
		if (o->align > 16)
			mr_free_aligned_sized(o->p, o->align, o->size);
		else
			mr_free(o->p);
		break;
	}
	o->p = NULL;
	w->frees++;
}

static void
realloc_obj(struct worker *w, struct obj *o)
{
	size_t n = pick_size(&w->rng), keep, bad = 0;
	unsigned char *q;

	if (n == 0)
		n = 1;	/* realloc(p, 0) frees: tested in check_api */
	check_obj(w, o, "before realloc");
	q = mr_realloc(o->p, n);
	if (!q) {
		report(w, "realloc failed", o, n);
		return;
	}
	keep = o->size < n ? o->size : n;
	o->p = q;
	o->align = 16;
	if ((uintptr_t)q & 15)
		report(w, "realloc misaligned", o, 0);
	if (!pattern_ok(q, keep, o->seed, &bad))
		report(w, "realloc lost contents", o, bad);
	o->size = n;
	pattern_fill(q, n, o->seed, keep);
	w->reallocs++;
}

static void
inbox_push(struct inbox *in, const struct obj *o)
{
	pthread_mutex_lock(&in->mu);
	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 64;
		in->items = realloc(in->items, in->cap * sizeof(*o));
		if (!in->items)
			abort();
	}
	in->items[in->n++] = *o;
	pthread_mutex_unlock(&in->mu);
}

static size_t
inbox_len(struct inbox *in)
{
	size_t n;

	pthread_mutex_lock(&in->mu);
	n = in->n;
	pthread_mutex_unlock(&in->mu);
	return n;
}

static void
inbox_drain(struct worker *w)
{
	struct obj *items;
	size_t n, i;

	pthread_mutex_lock(&w->in.mu);
	items = w->in.items;
	n = w->in.n;
	w->in.items = NULL;
	w->in.n = w->in.cap = 0;
	pthread_mutex_unlock(&w->in.mu);
	for (i = 0; i < n; i++)
		free_obj(w, &items[i], "freed by another thread");
	free(items);
}

enum { SLOTS = 256 };

static void *
mixed_worker(void *arg)
{
	struct worker *w = arg;
	struct obj slots[SLOTS];
	unsigned long op;
	int i;

	memset(slots, 0, sizeof(slots));
	for (op = 0; op < ops_per_thread; op++) {
		uint64_t x = rng_next(&w->rng);
		struct obj *o = &slots[x % SLOTS];
		unsigned k = (unsigned)((x >> 16) % 100);

		if ((op & 63) == 0)
			inbox_drain(w);
		if (!o->p) {
			alloc_obj(w, o);
			continue;
		}
		if (k < 35) {
			free_obj(w, o, "freed by owner");
		} else if (k < 55) {
			realloc_obj(w, o);
		} else if (k < 80) {
			int to = (int)((x >> 32) % (uint64_t)nworkers);

			check_obj(w, o, "before hand-off");
			inbox_push(&workers[to].in, o);
			o->p = NULL;
			w->handoffs++;
		} else {
			check_obj(w, o, "kept");
		}
	}
	for (i = 0; i < SLOTS; i++)
		if (slots[i].p)
			free_obj(w, &slots[i], "freed at end");
	/* Nobody pushes after this barrier. */
	pthread_barrier_wait(&barrier);
	inbox_drain(w);
	return NULL;
}

/* One producer per pair, the rest consume: the server pattern where one
 * thread allocates requests and another frees them. */
static void *
pc_worker(void *arg)
{
	struct worker *w = arg;
	unsigned long op;

	if (w->index % 2 == 0) {
		struct worker *peer = &workers[w->index + 1];

		for (op = 0; op < ops_per_thread; op++) {
			struct obj o;

			/* Back-pressure: keep the backlog (and so the memory
			 * in flight) bounded whatever the scheduling. */
			while (inbox_len(&peer->in) > 512)
				sched_yield();
			if (alloc_obj(w, &o) == 0) {
				inbox_push(&peer->in, &o);
				w->handoffs++;
			}
		}
		__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	} else {
		struct worker *peer = &workers[w->index - 1];

		while (!__atomic_load_n(&peer->done, __ATOMIC_ACQUIRE)) {
			inbox_drain(w);
			sched_yield();
		}
	}
	pthread_barrier_wait(&barrier);
	inbox_drain(w);
	return NULL;
}

/* Realloc chains: each thread grows one object from 1 byte to 6 MiB and
 * back, checking every byte at every step, while the others do the same. */
static void *
chain_worker(void *arg)
{
	struct worker *w = arg;
	struct obj o = { NULL, 0, 16, 0 };
	int round;
	size_t n, bad;

	for (round = 0; round < 3; round++) {
		o.seed = rng_next(&w->rng);
		o.p = mr_malloc(1);
		o.size = 1;
		if (!o.p) {
			report(w, "malloc(1) failed", &o, 0);
			return NULL;
		}
		pattern_fill(o.p, 1, o.seed, 0);
		for (n = 2; n < 6 * MiB; n += n / 4 + 1 + (rng_next(&w->rng) % 64)) {
			unsigned char *q = mr_realloc(o.p, n);

			if (!q) {
				report(w, "realloc failed", &o, n);
				return NULL;
			}
			o.p = q;
			if (!pattern_ok(q, o.size, o.seed, &bad))
				report(w, "grow lost contents", &o, bad);
			pattern_fill(q, n, o.seed, o.size);
			o.size = n;
			w->reallocs++;
		}
		while (o.size > 1) {
			n = o.size / 3 + 1;
			o.p = mr_realloc(o.p, n);
			if (!o.p) {
				report(w, "shrink failed", &o, n);
				return NULL;
			}
			o.size = n;
			if (!pattern_ok(o.p, n, o.seed, &bad))
				report(w, "shrink lost contents", &o, bad);
			w->reallocs++;
			if (n == 1)
				break;
		}
		mr_free(o.p);
	}
	pthread_barrier_wait(&barrier);
	return NULL;
}

static void
run_workers(void *(*fn)(void *))
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("MR_STRESS_OPS");
	unsigned long allocs = 0, frees = 0, errors = 0, handoffs = 0;
	int i;

	nworkers = ncpu > 2 ? (int)(2 * ncpu) : 4;
	ops_per_thread = env ? strtoul(env, NULL, 10) : 20000;
	if (ops_per_thread == 0)
		ops_per_thread = 20000;
	workers = calloc((size_t)nworkers, sizeof(*workers));
	ck_assert(workers != NULL);
	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL,
					      (unsigned)nworkers), 0);
	for (i = 0; i < nworkers; i++) {
		workers[i].index = i;
		workers[i].rng = mix(0x5eed0000ULL + (uint64_t)i) | 1;
		pthread_mutex_init(&workers[i].in.mu, NULL);
	}
	for (i = 0; i < nworkers; i++)
		ck_assert_int_eq(pthread_create(&workers[i].tid, NULL, fn,
						&workers[i]), 0);
	for (i = 0; i < nworkers; i++) {
		pthread_join(workers[i].tid, NULL);
		allocs += workers[i].allocs;
		frees += workers[i].frees;
		errors += workers[i].errors;
		handoffs += workers[i].handoffs;
		ck_assert_uint_eq(workers[i].in.n, 0);
		pthread_mutex_destroy(&workers[i].in.mu);
	}
	pthread_barrier_destroy(&barrier);
	free(workers);
	ck_assert_msg(errors == 0, "%lu corrupted or failed objects (first "
		      "ones on stderr)", errors);
	ck_assert_msg(allocs == frees, "%lu allocations, %lu frees", allocs,
		      frees);
	if (fn != chain_worker)
		ck_assert_msg(handoffs > 0 && allocs > 0, "no cross-thread work");
}

START_TEST(test_stress_mixed_ops_cross_thread)
{
	run_workers(mixed_worker);
}
END_TEST

START_TEST(test_stress_producer_consumer)
{
	run_workers(pc_worker);
}
END_TEST

START_TEST(test_stress_realloc_chains)
{
	run_workers(chain_worker);
}
END_TEST

/* After all of that, freed memory is reusable: the allocated figure is
 * back near where it started (what thread caches hold is not allocated). */
START_TEST(test_stress_frees_return_memory)
{
	struct mri_heap_counters a, b;

	mri_heap_counters(&a);
	run_workers(mixed_worker);
	mri_heap_counters(&b);
	ck_assert_msg(b.allocated_bytes < a.allocated_bytes + 8 * MiB,
		      "allocated_bytes %llu -> %llu with nothing live",
		      (unsigned long long)a.allocated_bytes,
		      (unsigned long long)b.allocated_bytes);
}
END_TEST

/* The same threads with the whole release path beside them: the soft
 * limit's hooks, the scavenger thread (and the daemon client it hosts,
 * which finds no daemon and retries) with a release delay of 0, so every
 * freed page is released at once while other threads allocate, and a soft
 * limit low enough that allocations release synchronously too.  Under
 * ThreadSanitizer (tests/run) this is the race test of scavenger.c,
 * limit.c and client.c against the allocating threads. */
static void
with_release_path(void)
{
	ck_assert_int_eq(mr_option_set("release_delay_ms", "0"), 0);
	mri_limit_init();
	mri_scavenger_start();
}

START_TEST(test_stress_scavenger_races_allocators)
{
	struct mr_stats st;

	with_release_path();
	ck_assert_int_eq(mr_limit_set(32 * MiB), 0);
	run_workers(mixed_worker);
	run_workers(pc_worker);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ck_assert_int_eq(mr_stats_get(&st), 0);
	/* the release path did run beside the allocators */
	ck_assert_uint_gt(st.sync_releases + st.released_bytes, 0);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tcase_create("threads");
	TCase *rel = tcase_create("threads and the release path");

	core_alone();
	/* Bounded by operation counts; the timeout only catches a hang
	 * (sanitizer builds are 5-20x slower). */
	tcase_set_timeout(tc, 1200);
	tcase_add_test(tc, test_stress_mixed_ops_cross_thread);
	tcase_add_test(tc, test_stress_producer_consumer);
	tcase_add_test(tc, test_stress_realloc_chains);
	tcase_add_test(tc, test_stress_frees_return_memory);
	suite_add_tcase(s, tc);
	tcase_set_timeout(rel, 1200);
	tcase_add_test(rel, test_stress_scavenger_races_allocators);
	suite_add_tcase(s, rel);
	return s;
}

