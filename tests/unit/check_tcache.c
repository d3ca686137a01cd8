/*
 * check_tcache.c: thread cache bins grow on overflow (slow start), up to
 * their per-bin maximum and the per-thread budget, and a thread's cache
 * goes back to the central lists when the thread exits; another
 * thread's frees (remote lists) leave the figures exact; a thread that
 * frees another thread's object does not get it back from its next
 * malloc (passive false sharing).
 */
#include "config.h"
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "core/central.h"
#include "core/pagemap.h"
#include "memreclaim.h"
#include "core/sizeclass.h"
#include "core/tcache.h"
#include "check_main.h"

#define N 3000

static void *objs[N];

START_TEST(test_tcache_bin_grows_when_a_thread_frees_in_bulk)
{
	unsigned cls = mri_size_class(64);
	struct mri_bin *b;
	uint32_t start;
	int i, round;

	mr_free(mr_malloc(64));
	b = &mri_tls_tcache->bins[cls];
	/* one refill takes exactly one batch from the central list */
	ck_assert_uint_eq(b->n, mri_class_batch[cls]);
	start = b->cap;
	ck_assert_uint_eq(start, 2u * mri_class_batch[cls]);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 1000; i++)
			ck_assert_ptr_nonnull(objs[i] = mr_malloc(64));
		for (i = 0; i < 1000; i++)
			mr_free(objs[i]);
	}
	/* the bin now holds the whole batch of 1000: no central trips */
	ck_assert_uint_ge(b->cap, 1000);
	ck_assert_uint_le(b->cap, MRI_TCACHE_MAXOBJ + mri_class_batch[cls]);
	ck_assert_uint_ge(b->n, 1000);
}
END_TEST

/* A thread's bins start side by side (two batches each), so a thread that
 * uses a few classes touches a page or two of slots, not a page per class;
 * a bin that grows moves to its own room and keeps its objects. */
START_TEST(test_tcache_bins_start_packed_and_move_when_they_grow)
{
	unsigned cls, c64 = mri_size_class(64);
	struct mri_tcache *tc;
	void **first, **end;
	int i;

	mr_free(mr_malloc(64));
	tc = mri_tls_tcache;
	tc->gc_left = UINT32_MAX; /* the move alone, no GC pass */
	first = tc->bins[1].slots;
	end = first;
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++)
		end += 2u * mri_class_batch[cls];
	/* one batch each, two for the size the thread allocated */
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
		ck_assert_uint_eq(tc->bins[cls].cap,
				  (cls == c64 ? 2u : 1u) * mri_class_batch[cls]);
		ck_assert(tc->bins[cls].slots >= first &&
			  tc->bins[cls].slots + tc->bins[cls].cap <= end);
	}
	for (i = 0; i < 1000; i++)
		ck_assert_ptr_nonnull(objs[i] = mr_malloc(64));
	for (i = 0; i < 1000; i++)
		mr_free(objs[i]);
	ck_assert(tc->bins[c64].cap > 2u * mri_class_batch[c64]);
	ck_assert(tc->bins[c64].slots >= end);
	/* what it holds moved whole: 64-byte objects, each once */
	ck_assert_uint_ge(tc->bins[c64].n, 1000);
	for (i = 0; i < (int)tc->bins[c64].n; i++) {
		void *p = tc->bins[c64].slots[i];
		int j;
		ck_assert_uint_eq(mri_pagemap_lookup(p)->cls, c64);
		for (j = 0; j < i; j++)
			ck_assert_ptr_ne(tc->bins[c64].slots[j], p);
	}
}
END_TEST

START_TEST(test_tcache_growth_stays_within_budget)
{
	size_t size;
	int i;

	/* overflow every class's bin many times over */
	for (size = 16; size <= MRI_SMALL_MAX; size *= 2) {
		int n = (int)(N < (64 << 20) / size ? N : (64 << 20) / size);
		for (i = 0; i < n; i++)
			ck_assert_ptr_nonnull(objs[i] = mr_malloc(size));
		for (i = 0; i < n; i++)
			mr_free(objs[i]);
	}
	ck_assert_uint_le(mri_tls_tcache->cap_bytes, MRI_TCACHE_BUDGET);
	ck_assert_uint_gt(mri_tls_tcache->cap_bytes, 0);
	/* an overflowing bin was flushed, never filled past its capacity */
	for (i = 1; i < MRI_MAX_CLASSES; i++)
		ck_assert_uint_le(mri_tls_tcache->bins[i].n,
				  mri_tls_tcache->bins[i].cap);
}
END_TEST

/* Rounds of n mallocs of size, then n frees. */
static void
rounds_of(size_t size, int n, int rounds)
{
	int i;

	while (rounds--) {
		for (i = 0; i < n; i++)
			ck_assert_ptr_nonnull(objs[i] = mr_malloc(size));
		for (i = 0; i < n; i++)
			mr_free(objs[i]);
	}
}

/* A thread that moves on to another size (a program's next phase) gets
 * the capacity the earlier sizes grew, batch by batch: the new size's bin
 * reaches its maximum although the budget was spent, the earlier bins
 * shrink (and give back what they held beyond), and the total stays
 * within the budget. */
START_TEST(test_tcache_new_size_takes_capacity_from_idle_bins)
{
	unsigned c512 = mri_size_class(512), c4k = mri_size_class(4096);
	unsigned c8k = mri_size_class(8192);
	struct mri_tcache *tc;
	uint32_t cap512, cap4k;

	/* the steal alone: no GC pass gives idle bins' capacity back */
	mr_free(mr_malloc(512));
	mri_tls_tcache->gc_left = UINT32_MAX;
	rounds_of(512, 1000, 2);
	rounds_of(4096, 1000, 2);
	tc = mri_tls_tcache;
	cap512 = tc->bins[c512].cap;
	cap4k = tc->bins[c4k].cap;
	ck_assert_uint_gt(cap512, 2u * mri_class_batch[c512]);
	ck_assert_uint_gt(cap4k, 2u * mri_class_batch[c4k]);
	/* not enough left for the 8 KiB bin to reach its maximum */
	ck_assert_uint_gt(
	    (size_t)(mri_tcache_maxcap(c8k) - 2u * mri_class_batch[c8k]) * 8192,
	    MRI_TCACHE_BUDGET - tc->cap_bytes);
	rounds_of(8192, 1000, 20);
	ck_assert_uint_eq(tc->bins[c8k].cap, mri_tcache_maxcap(c8k));
	ck_assert_uint_lt(tc->bins[c512].cap + tc->bins[c4k].cap,
			  cap512 + cap4k);
	ck_assert_uint_le(tc->bins[c512].n, tc->bins[c512].cap);
	ck_assert_uint_le(tc->bins[c4k].n, tc->bins[c4k].cap);
	ck_assert_uint_le(tc->cap_bytes, MRI_TCACHE_BUDGET);
}
END_TEST

/* A thread's GC (each MRI_TCACHE_GC_BYTES its slow paths move): a bin the
 * thread filled and then left alone while it works with another size
 * gives its objects back, pass by pass, so its spans go back to the page
 * heap, and its capacity shrinks to the starting two batches. */
START_TEST(test_tcache_gc_returns_an_idle_bins_objects)
{
	unsigned c512 = mri_size_class(512), c4k = mri_size_class(4096);
	struct mri_central *c = &mri_centrals[0][c512];
	struct mri_tcache *tc;
	uint64_t refills;

	/* filled without a GC pass, so it holds 1000 whatever the interval */
	mr_free(mr_malloc(512));
	tc = mri_tls_tcache;
	tc->gc_left = UINT32_MAX;
	rounds_of(512, 1000, 2);
	tc->gc_left = MRI_TCACHE_GC_BYTES;
	ck_assert_uint_ge(tc->bins[c512].n, 1000);
	ck_assert_uint_ge(c->out, 1000);
	/* another size, for many GC intervals' worth of refills */
	refills = mri_centrals[0][c4k].refills;
	while ((mri_centrals[0][c4k].refills - refills) *
		   mri_class_batch[c4k] * 4096 <
	       8u * MRI_TCACHE_GC_BYTES)
		rounds_of(4096, 1000, 1);
	ck_assert_uint_eq(tc->bins[c512].n, 0);
	ck_assert_uint_eq(tc->bins[c512].cap, 2u * mri_class_batch[c512]);
	mri_central_drain_all();
	ck_assert_uint_eq(c->out, 0);
	ck_assert_uint_eq(c->spans, 0);
	/* the size in use keeps its cache */
	ck_assert_uint_gt(tc->bins[c4k].n, 0);
}
END_TEST

/* A thread that only frees others' objects (a consumer) does not grow
 * its bin: it keeps at most its starting one batch, however many it
 * frees (two batches once it allocates that size). */
static void in_thread(void *(*fn)(void *), void *arg);

static void *
consume_many(void *arg)
{
	struct mri_bin *seen = arg;
	unsigned cls = mri_size_class(64);
	int i;

	for (i = 0; i < N; i++)
		mr_free(objs[i]);
	*seen = mri_tls_tcache->bins[cls];
	return NULL;
}

START_TEST(test_tcache_consumer_bin_does_not_grow)
{
	unsigned cls = mri_size_class(64);
	struct mri_bin seen;
	int i;

	for (i = 0; i < N; i++)
		ck_assert_ptr_nonnull(objs[i] = mr_malloc(64));
	in_thread(consume_many, &seen);
	ck_assert_uint_eq(seen.cap, mri_class_batch[cls]);
	ck_assert_uint_le(seen.n, mri_class_batch[cls]);
}
END_TEST

/* malloc's fast path finds the class in one table by 16-byte steps: it
 * agrees with mri_size_class for every small size (and 0). */
START_TEST(test_tcache_class_table_agrees_with_size_classes)
{
	size_t size;

	mr_free(mr_malloc(1)); /* initialised */
	for (size = 0; size <= MRI_SMALL_MAX; size++)
		ck_assert_uint_eq(mri_tcache_class[(size + 15) >> 4],
				  mri_size_class(size));
}
END_TEST

/* Run fn(arg) in a thread of its own, to its exit (its cache flushed). */
static void
in_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, fn, arg), 0);
	pthread_join(t, NULL);
}

static void *
bulk(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++)
		objs[i] = mr_malloc(100);
	for (i = 0; i < 1000; i++)
		mr_free(objs[i]);
	return NULL;
}

START_TEST(test_tcache_thread_exit_returns_its_objects)
{
	struct mr_stats *st = calloc(1, sizeof(*st));
	unsigned cls = mri_size_class(100);

	in_thread(bulk, NULL);
	st->size = sizeof(*st);
	ck_assert_int_eq(mr_stats_get(st), 0);
	/* nothing of that class is held or cached by a live thread cache;
	 * what is cached sits in the transfer cache and on remote lists
	 * (each bounded by the transfer cache's capacity: past it a return
	 * collects the remote lists) */
	ck_assert_uint_eq(st->classes[cls - 1].objects_in_use, 0);
	ck_assert_uint_le(st->classes[cls - 1].objects_cached,
			  2 * mri_centrals[0][cls].xfer_cap);
	free(st);
}
END_TEST

/* Objects back in their spans empty the spans, which go back to the page
 * heap: the central list's books (objects out, spans owned) return to
 * zero once the cache is flushed and the transfer cache drained. */
START_TEST(test_tcache_freed_spans_go_back)
{
	unsigned cls = mri_size_class(100);
	struct mri_central *c = &mri_centrals[0][cls];
	int i;

	for (i = 0; i < N; i++)
		ck_assert_ptr_nonnull(objs[i] = mr_malloc(100));
	ck_assert_uint_gt(c->spans, 1);
	/* The first 16 one at a time, so they wait in the transfer cache
	 * (the drain puts them back in their spans); the rest at once, more
	 * than it holds, through the spans' remote lists. */
	for (i = 0; i < N; i++) {
		mr_free(objs[i]);
		if (i < 16)
			mri_tcache_flush(mri_tls_tcache, cls, 0);
	}
	ck_assert_uint_gt(c->nxfer, 0);
	mri_tcache_flush(mri_tls_tcache, cls, 0);
	mri_central_drain_all();
	ck_assert_uint_eq(c->out, 0);
	ck_assert_uint_eq(c->spans, 0);
}
END_TEST

/* A double free the thread cache cannot see (the object is no longer on
 * top of it) is caught when the object reaches its span again: abort. */
START_TEST(test_tcache_span_catches_double_free)
{
	unsigned cls = mri_size_class(100);
	void *p = mr_malloc(100), *keep = mr_malloc(100);

	mr_free(p);
	mri_tcache_flush(mri_tls_tcache, cls, 0);
	mri_central_drain_all();		/* p is in its span */
	mri_central_return(0, cls, &p, 1);	/* freed again */
	mri_central_drain_all();		/* must abort here */
	/* (keep is not freed: with the span's books wrong, that free would
	 * abort for another reason and hide a missed double free) */
	(void)keep;
}
END_TEST

static void *
alloc_all(void *arg)
{
	int i;

	for (i = 0; i < N; i++)
		objs[i] = mr_malloc((size_t)(uintptr_t)arg);
	return NULL;
}

static void *
free_all(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < N; i++)
		mr_free(objs[i]);
	return NULL;
}

/* Remote frees (another thread's objects, more than the transfer cache
 * holds) take the lock-free remote lists; the figures stay exact and the
 * spans go back once the lists are collected. */
START_TEST(test_tcache_remote_frees_leave_nothing_in_use)
{
	struct mr_stats *st = calloc(1, sizeof(*st));
	unsigned cls = mri_size_class(700);

	in_thread(alloc_all, (void *)(uintptr_t)700);
	st->size = sizeof(*st);
	ck_assert_int_eq(mr_stats_get(st), 0);
	ck_assert_uint_ge(st->classes[cls - 1].objects_in_use, N);
	in_thread(free_all, NULL);
	ck_assert_int_eq(mr_stats_get(st), 0);
	ck_assert_uint_eq(st->classes[cls - 1].objects_in_use, 0);
	/* Collected and drained: no span of the class is left. */
	mri_central_drain_all();
	ck_assert_int_eq(mr_stats_get(st), 0);
	ck_assert_uint_eq(st->classes[cls - 1].objects_cached, 0);
	ck_assert_uint_eq(st->classes[cls - 1].spans, 0);
	free(st);
}
END_TEST

#define LINE(p) ((uintptr_t)(p) / 64)

/* Two objects of 16 bytes that this thread allocated side by side, on
 * one cache line. */
static void
two_on_one_line(void **a, void **b)
{
	*a = mr_malloc(16);
	for (;;) {
		*b = mr_malloc(16);
		ck_assert_ptr_nonnull(*b);
		if (LINE(*a) == LINE(*b))
			return;
		*a = *b; /* (the one left behind is not freed: no matter) */
	}
}

struct scratch {
	void *given;  /* another thread's object, to free first */
	void *got[4]; /* then what malloc of its size returned */
};

static void *
scratch_worker(void *arg)
{
	struct scratch *w = arg;
	int i;

	mr_free(w->given);
	for (i = 0; i < 4; i++) {
		w->got[i] = mr_malloc(16);
		ck_assert_ptr_nonnull(w->got[i]);
	}
	for (i = 0; i < 4; i++)
		mr_free(w->got[i]);
	return NULL;
}

/* Hoard's cache-scratch: the main thread allocates an object for a
 * thread next to one it keeps using; the thread frees it and allocates
 * the same size.  It must not get that object (or anything else on the
 * line the main thread writes) back: every write would bounce the line
 * between the two CPUs. */
START_TEST(test_tcache_fresh_thread_does_not_reuse_a_remote_object)
{
	struct scratch w = {0};
	void *mine;
	int i;

	two_on_one_line(&w.given, &mine);
	in_thread(scratch_worker, &w);
	for (i = 0; i < 4; i++) {
		ck_assert_ptr_ne(w.got[i], w.given);
		ck_assert_uint_ne(LINE(w.got[i]), LINE(mine));
	}
}
END_TEST

struct consumer {
	void *objs[64];
	uint32_t n_after; /* its bin's count after freeing them all */
};

static void *
consume(void *arg)
{
	struct consumer *c = arg;
	unsigned cls = mri_size_class(16);
	int i;

	for (i = 0; i < 64; i++)
		mr_free(c->objs[i]);
	c->n_after = mri_tls_tcache->bins[cls].n;
	return NULL;
}

/* A thread that frees only others' objects (a consumer) still frees
 * into its cache, in batches: the first free into its empty bin puts a
 * batch above the object, and every later one finds the bin non-empty.
 * (Sending each such free back on its own would cost a trip to the
 * central list per object.) */
START_TEST(test_tcache_consumer_frees_stay_in_its_cache)
{
	static struct consumer c;
	unsigned cls = mri_size_class(16);
	uint64_t flushes;
	int i;

	for (i = 0; i < 64; i++)
		ck_assert_ptr_nonnull(c.objs[i] = mr_malloc(16));
	flushes = mri_centrals[0][cls].flushes;
	in_thread(consume, &c);
	/* its bin holds one batch (it does not allocate this size): past
	 * it, all but one object go on at once, so the 64 frees and the
	 * batch above the first cost a few trips to the central list, not
	 * one each (the thread's exit flushes the rest: one more) */
	ck_assert_uint_ge(c.n_after, 1);
	ck_assert_uint_le(c.n_after, mri_class_batch[cls]);
	ck_assert_uint_le(mri_centrals[0][cls].flushes - flushes,
			  (64 + mri_class_batch[cls]) /
				  (mri_class_batch[cls] - 1) + 1);
}
END_TEST

/* A thread's own object into its own empty bin is simply pushed: the
 * next malloc returns it (hot in this CPU's cache). */
START_TEST(test_tcache_own_object_into_empty_bin_comes_back)
{
	unsigned cls = mri_size_class(16);
	struct mri_bin *b;
	void *p;

	mr_free(mr_malloc(16));
	b = &mri_tls_tcache->bins[cls];
	while (b->n)
		ck_assert_ptr_nonnull(mr_malloc(16));
	p = mr_malloc(16); /* a refill: a batch from a span now ours */
	while (b->n)
		ck_assert_ptr_nonnull(mr_malloc(16));
	mr_free(p);
	ck_assert_uint_eq(b->n, 1);
	ck_assert_ptr_eq(mr_malloc(16), p);
}
END_TEST

/* Once drained, class c's central list has nothing out and no span. */
static void
drained_books_are_empty(struct mri_central *c)
{
	mri_central_drain_all();
	ck_assert_uint_eq(c->out, 0);
	ck_assert_uint_eq(c->spans, 0);
}

/* A consumer's flush of half a full bin (the largest a thread cache makes)
 * waits whole in the transfer cache: no object of it is put back in its
 * span or pushed on a remote list, so the producer's next refill takes
 * them without walking a span.  A flush larger than the room left fills
 * the transfer cache and only the rest goes to the remote lists. */
START_TEST(test_tcache_flush_waits_whole_in_transfer_cache)
{
	unsigned cls = mri_size_class(64), half, room, top, i;
	struct mri_central *c = &mri_centrals[0][cls];
	void **got;

	in_thread(alloc_all, (void *)(uintptr_t)64);
	mri_central_drain_all();
	half = MRI_TCACHE_MAXOBJ / 2;
	ck_assert_uint_ge(c->xfer_cap, 2 * half);
	ck_assert_uint_le(c->xfer_cap + 100, N);
	ck_assert_uint_eq(c->nxfer, 0);
	ck_assert_uint_eq(c->remote, 0);
	mri_central_return(0, cls, objs, half);
	ck_assert_uint_eq(c->nxfer, half);
	ck_assert_uint_eq(c->remote, 0);
	/* More than the room left: it fills up, the rest waits remotely. */
	room = c->xfer_cap - half;
	mri_central_return(0, cls, objs + half, room + 100);
	ck_assert_uint_eq(c->nxfer, c->xfer_cap);
	ck_assert_uint_eq(c->remote, 100);
	/* A refill takes the transfer cache's objects first, the most
	 * recently returned on top. */
	got = calloc(mri_class_batch[cls], sizeof(*got));
	ck_assert_uint_eq(mri_central_fetch(0, cls, got, mri_class_batch[cls]),
			  mri_class_batch[cls]);
	top = half + room - mri_class_batch[cls];
	for (i = 0; i < mri_class_batch[cls]; i++)
		ck_assert_ptr_eq(got[i], objs[top + i]);
	mri_central_return(0, cls, got, mri_class_batch[cls]);
	mri_central_return(0, cls, objs + half + room + 100,
			   N - half - room - 100);
	free(got);
	drained_books_are_empty(c);
}
END_TEST

/* Fill class cls's transfer cache with objs[N - cap, N), so that what is
 * returned next goes to the remote lists. */
static void
fill_xfer(unsigned cls)
{
	struct mri_central *c = &mri_centrals[0][cls];

	mri_central_drain_all();
	ck_assert_uint_eq(c->nxfer, 0);
	mri_central_return(0, cls, objs + N - c->xfer_cap, c->xfer_cap);
	ck_assert_uint_eq(c->nxfer, c->xfer_cap);
}

/* A refill hands out remotely freed objects without reading them (they
 * are cold in the refilling thread's cache): with the span's pages made
 * unreadable, the refill still succeeds and returns that span's objects. */
START_TEST(test_tcache_refill_reads_no_free_object)
{
	unsigned cls = mri_size_class(64), nb = 0, i;
	struct mri_central *c = &mri_centrals[0][cls];
	struct mri_span *s;
	void **b, **got;
	size_t len;

	in_thread(alloc_all, (void *)(uintptr_t)64);
	s = mri_pagemap_lookup(objs[0]);
	b = calloc(s->nobj, sizeof(*b));
	got = calloc(c->xfer_cap + s->nobj, sizeof(*got));
	/* The span's objects but objs[0], which keeps the span out. */
	for (i = 1; i < N - c->xfer_cap; i++)
		if (mri_pagemap_lookup(objs[i]) == s)
			b[nb++] = objs[i];
	ck_assert_uint_ge(nb, 2);
	fill_xfer(cls);
	mri_central_return(0, cls, b, nb);
	ck_assert_uint_eq(c->remote, nb);
	/* Empty the transfer cache, so the next refill goes to the spans. */
	ck_assert_uint_eq(mri_central_fetch(0, cls, got, c->xfer_cap),
			  c->xfer_cap);
	len = (size_t)s->npages * MRI_PAGE_SIZE;
	ck_assert_int_eq(mprotect((void *)s->start, len, PROT_NONE), 0);
	ck_assert_uint_eq(mri_central_fetch(0, cls, got, nb), nb);
	ck_assert_int_eq(
	    mprotect((void *)s->start, len, PROT_READ | PROT_WRITE), 0);
	for (i = 0; i < nb; i++)
		ck_assert_ptr_eq(mri_pagemap_lookup(got[i]), s);
	/* Every object is out again: give them all back. */
	mri_central_return(0, cls, objs, N);
	drained_books_are_empty(c);
	free(b);
	free(got);
}
END_TEST

/* A remote free counts its objects in the span's rcount before it sets
 * their bits in rfree.  A collection that comes in between (played here
 * by this thread doing the two steps of one free by hand, as span.h
 * describes them) must keep the span out and stacked, and the next one
 * must find the late object: the books end exact. */
START_TEST(test_tcache_collect_waits_for_a_free_in_flight)
{
	unsigned cls = mri_size_class(64), nb = 0, nrest = 0, idx, i;
	struct mri_central *c = &mri_centrals[0][cls];
	struct mri_span *s;
	void **b, **rest, *late;

	in_thread(alloc_all, (void *)(uintptr_t)64);
	s = mri_pagemap_lookup(objs[0]);
	b = calloc(N, sizeof(*b));
	rest = calloc(N, sizeof(*rest));
	/* (objs[N - xfer_cap, N) go to the transfer cache, then a drain
	 * puts them back in their spans) */
	for (i = 0; i < N - c->xfer_cap; i++) {
		if (mri_pagemap_lookup(objs[i]) != s)
			rest[nrest++] = objs[i];
		else
			b[nb++] = objs[i];
	}
	ck_assert_uint_eq(nb, s->nobj);
	fill_xfer(cls);
	/* All of the span's objects but the last go the remote way... */
	late = b[--nb];
	mri_central_return(0, cls, b, nb);
	ck_assert_ptr_eq(c->pending, s);
	/* ...and the last one's free has counted it, not set its bit. */
	__atomic_add_fetch(&c->remote, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->rcount, 1, __ATOMIC_ACQUIRE);
	mri_central_drain_all();
	ck_assert_uint_eq(s->nalloc, 1);
	ck_assert_uint_eq(s->rcount, 1);
	ck_assert_ptr_eq(c->pending, s);
	ck_assert_uint_eq(c->remote, 1);
	/* The free sets its bit (it does not stack the span: its count did
	 * not find zero); the next collection takes it. */
	idx = mri_class_index(cls, (uintptr_t)late - s->start);
	__atomic_fetch_or(&s->rfree[idx >> 6], 1ULL << (idx & 63),
			  __ATOMIC_RELEASE);
	mri_central_return(0, cls, rest, nrest);
	mri_central_drain_all();
	ck_assert_ptr_null(c->pending);
	ck_assert_uint_eq(c->remote, 0);
	ck_assert_uint_eq(c->out, 0);
	ck_assert_uint_eq(c->spans, 0);
	free(b);
	free(rest);
}
END_TEST

/* An object freed twice by other threads while its first free still waits
 * to be collected: the second free aborts. */
START_TEST(test_tcache_remote_double_free_aborts)
{
	unsigned cls = mri_size_class(64);

	in_thread(alloc_all, (void *)(uintptr_t)64);
	fill_xfer(cls);
	mri_central_return(0, cls, objs, 1);
	ck_assert_uint_eq(mri_centrals[0][cls].remote, 1);
	mri_central_return(0, cls, objs, 1);	/* must abort here */
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("tcache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_tcache_bin_grows_when_a_thread_frees_in_bulk);
	tcase_add_test(tc, test_tcache_growth_stays_within_budget);
	tcase_add_test(tc, test_tcache_new_size_takes_capacity_from_idle_bins);
	tcase_add_test(tc, test_tcache_class_table_agrees_with_size_classes);
	tcase_add_test(tc, test_tcache_gc_returns_an_idle_bins_objects);
	tcase_add_test(tc, test_tcache_consumer_bin_does_not_grow);
	tcase_add_test(tc,
		       test_tcache_bins_start_packed_and_move_when_they_grow);
	tcase_add_test(tc, test_tcache_thread_exit_returns_its_objects);
	tcase_add_test(tc, test_tcache_freed_spans_go_back);
	tcase_add_test_raise_signal(tc, test_tcache_span_catches_double_free,
				    SIGABRT);
	tcase_add_test(tc, test_tcache_remote_frees_leave_nothing_in_use);
	tcase_add_test(tc,
		       test_tcache_fresh_thread_does_not_reuse_a_remote_object);
	tcase_add_test(tc, test_tcache_consumer_frees_stay_in_its_cache);
	tcase_add_test(tc, test_tcache_own_object_into_empty_bin_comes_back);
	tcase_add_test(tc, test_tcache_flush_waits_whole_in_transfer_cache);
	tcase_add_test(tc, test_tcache_refill_reads_no_free_object);
	tcase_add_test(tc, test_tcache_collect_waits_for_a_free_in_flight);
	tcase_add_test_raise_signal(tc, test_tcache_remote_double_free_aborts,
				    SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
