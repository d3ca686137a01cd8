/*
 * central.c: central lists and transfer caches (see central.h).
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "core/bits.h"
#include "core/central.h"
#include "core/asan.h"
#include "core/meta.h"
#include "os/os.h"
#include "core/pageheap.h"
#include "core/pagemap.h"

struct mri_central *mri_centrals[MRI_MAX_NODES];

static uint32_t
central_xfer_cap(unsigned cls)
{
	uint32_t min = (uint32_t)mri_class_batch[cls] * MRI_XFER_BATCHES;
	uint32_t cap = (uint32_t)(MRI_XFER_MAXBYTES / mri_class_size[cls]);

	if (cap > MRI_XFER_MAXOBJ)
		cap = MRI_XFER_MAXOBJ;
	return cap > min ? cap : min;
}

int
mri_central_init(int node)
{
	struct mri_central *cs;
	pthread_mutexattr_t attr;
	unsigned cls;

	if (mri_centrals[node])
		return 0;
	cs = mri_meta_alloc(sizeof(*cs) * MRI_MAX_CLASSES);
	if (!cs)
		return -ENOMEM;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
		struct mri_central *c = &cs[cls];
		pthread_mutex_init(&c->lock, &attr);
		c->cls = cls;
		c->node = (uint32_t)node;
		c->xfer_cap = central_xfer_cap(cls);
		c->xfer = mri_meta_alloc(sizeof(void *) * c->xfer_cap);
		if (!c->xfer)
			return -ENOMEM;
	}
	__atomic_store_n(&mri_centrals[node], cs, __ATOMIC_RELEASE);
	return 0;
}

static void
partial_push(struct mri_central *c, struct mri_span *s)
{
	s->prev = NULL;
	s->next = c->partial;
	if (c->partial)
		c->partial->prev = s;
	c->partial = s;
	s->in_partial = 1;
}

static void
partial_unlink(struct mri_central *c, struct mri_span *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	s->in_partial = 0;
}

/* Set up a fresh span from the page heap for class c and list it.  Called
 * WITHOUT the central lock: the page heap may run the limit path, which
 * drains every central list. */
static struct mri_span *
central_new_span(struct mri_central *c)
{
	struct mri_span *s = mri_pageheap_alloc(
	    (int)c->node, mri_class_npages[c->cls], MRI_PAGE_SIZE, c->cls);
	if (!s)
		return NULL;
	s->nobj = mri_class_nobj[c->cls];
	s->nalloc = 0;
	s->rcount = 0;
	memset(s->allocbits, 0, sizeof(s->allocbits));
	memset(s->rfree, 0, sizeof(s->rfree));
	mri_asan_poison((void *)s->start,
			(size_t)s->npages << MRI_PAGE_SHIFT);
	return s;
}

/* The bits of allocbits word w that stand for objects of s. */
static inline uint64_t
span_word_mask(const struct mri_span *s, unsigned w)
{
	unsigned left = s->nobj - w * 64;

	return left >= 64 ? ~0ULL : (1ULL << left) - 1;
}

/* The address of object idx of s. */
static inline void *
span_obj(const struct mri_span *s, unsigned idx)
{
	return (void *)(s->start + (uintptr_t)idx * s->size);
}

/* Hand out up to n free objects of s into dst, lowest address first;
 * returns how many.  Only the span's bitmap is read, never an object. */
static unsigned
span_pop_many(struct mri_span *s, void **dst, unsigned n)
{
	unsigned got = 0, w, nw = (s->nobj + 63) / 64;

	for (w = 0; w < nw && got < n; w++) {
		uint64_t bits = __atomic_load_n(&s->allocbits[w],
						__ATOMIC_RELAXED);
		uint64_t free = ~bits & span_word_mask(s, w), take = 0;

		while (free && got < n) {
			unsigned i = (unsigned)__builtin_ctzll(free);

			free &= free - 1;
			take |= 1ULL << i;
			dst[got++] = span_obj(s, w * 64 + i);
		}
		if (take)
			__atomic_store_n(&s->allocbits[w], bits | take,
					 __ATOMIC_RELAXED);
	}
	s->nalloc += got;
	return got;
}

/* The allocation bits agree with the count of objects out. */
static inline void
span_check(const struct mri_span *s)
{
#ifdef MR_DEBUG
	unsigned w, n = 0;

	for (w = 0; w < 8; w++)
		n += (unsigned)mri_popcount64(s->allocbits[w]);
	mri_assert(n == s->nalloc);
	mri_assert(s->nalloc <= s->nobj);
#else
	(void)s;
#endif
}

static inline int
span_full(const struct mri_span *s)
{
	return s->nalloc >= s->nobj;
}

static void span_push(struct mri_central *c, void *obj);
static void span_emptied(struct mri_central *c, struct mri_span *s);

/* Note obj in the run's mask of objects freed; the same object twice in
 * one run is a double free. */
static inline void
remote_mark(const struct mri_span *s, uint64_t *mask, void *obj)
{
	uint32_t idx = mri_class_index(s->cls, (uintptr_t)obj - s->start);
	uint64_t bit = 1ULL << (idx & 63);

	/* (remote_push looks at the words objects can be in, no further) */
	if (idx >= s->nobj)
		mri_fatal("free(): invalid pointer", obj);
	if (mask[idx >> 6] & bit)
		mri_fatal("free(): double free", obj);
	mask[idx >> 6] |= bit;
}

/* The first object of objs[0..n) in word w whose bit is set in bad. */
static void *
remote_culprit(const struct mri_span *s, void **objs, unsigned n, unsigned w,
	       uint64_t bad)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint32_t idx =
		    mri_class_index(s->cls, (uintptr_t)objs[i] - s->start);
		if ((idx >> 6) == w && (bad & (1ULL << (idx & 63))))
			return objs[i];
	}
	return objs[0];
}

/* Free the k objects objs[0..k) of span s (their bits in mask) without the
 * central lock: count them in rcount, then set their bits in rfree, one
 * atomic OR per word.  Counted before they are visible, so rcount never
 * falls below the objects a collector can see, and a span whose rcount
 * went back to zero has no free in flight: the collector may give it back.
 * The thread whose add found rcount zero stacks the span: from then until
 * a collector settles the count no other free does, so a span is on the
 * stack at most once, and the stack is only ever emptied whole.  The
 * objects still count in nalloc, so the span cannot be freed meanwhile. */
static void
remote_push(struct mri_central *c, struct mri_span *s, const uint64_t *mask,
	    void **objs, uint32_t k)
{
	struct mri_span *top;
	uint32_t old;
	unsigned w, nw = (s->nobj + 63) / 64; /* words of the span's bitmaps */

	/* Checked before the objects are visible: once the last bit is
	 * set, a collector may give the span back. */
	for (w = 0; w < nw; w++) {
		uint64_t out = __atomic_load_n(&s->allocbits[w],
					       __ATOMIC_RELAXED);
		if ((out & mask[w]) != mask[w])
			mri_fatal("free(): double free or pointer not "
				  "allocated",
				  remote_culprit(s, objs, k, w,
						 mask[w] & ~out));
	}
	/* Acquire: when this add finds zero, the collector that brought it
	 * there has read remote_next (it releases with its subtraction),
	 * which this thread writes as it stacks the span. */
	old = __atomic_fetch_add(&s->rcount, k, __ATOMIC_ACQUIRE);
	for (w = 0; w < nw; w++) {
		uint64_t prev;

		if (!mask[w])
			continue;
		/* Release: the program's last writes to the objects come
		 * before they can be handed out again. */
		prev = __atomic_fetch_or(&s->rfree[w], mask[w],
					 __ATOMIC_RELEASE);
		if (prev & mask[w])
			mri_fatal("free(): double free",
				  remote_culprit(s, objs, k, w,
						 prev & mask[w]));
	}
	if (old)
		return;
	top = __atomic_load_n(&c->pending, __ATOMIC_RELAXED);
	do
		s->remote_next = top;
	while (!__atomic_compare_exchange_n(&c->pending, &top, s, 1,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* Give src[0..n) back without the central lock: runs of objects of one
 * span become one count and one OR per word. */
static void
remote_return(struct mri_central *c, void **src, unsigned n)
{
	unsigned i = 0;

	while (i < n) {
		struct mri_span *s = mri_pagemap_lookup(src[i]);
		uint64_t mask[8] = { 0 };
		unsigned from = i;

		/* The span goes on this list's pending stack, collected
		 * under this list's lock: it must be this node's. */
		if (!s || s->cls != c->cls || s->node != c->node)
			mri_fatal("free(): invalid pointer", src[i]);
		remote_mark(s, mask, src[i]);
		for (i++; i < n && (uintptr_t)src[i] - s->start <
					   (uintptr_t)s->npages * MRI_PAGE_SIZE;
		     i++)
			remote_mark(s, mask, src[i]);
		remote_push(c, s, mask, src + from, i - from);
	}
}

/* Central lock held: collect every pending span's remotely freed objects
 * (one exchange per word of rfree: the objects themselves are never read,
 * they are cold here) and settle the counts; a span left with nothing out
 * goes back to the page heap.  A free counted in rcount may not have set
 * its bits yet: then rcount stays above zero, no freeing thread will
 * stack the span again, so it goes back on the stack for a later
 * collection.  remote_next is read before the count is settled: from then
 * on a new free may stack the span and set it anew. */
static void
remote_collect(struct mri_central *c)
{
	struct mri_span *s, *next, *again = NULL;
	uint64_t n = 0;

	if (!__atomic_load_n(&c->pending, __ATOMIC_RELAXED))
		return;
	s = __atomic_exchange_n(&c->pending, NULL, __ATOMIC_ACQUIRE);
	for (; s; s = next) {
		unsigned w, nw = (s->nobj + 63) / 64;
		uint32_t k = 0;

		next = s->remote_next;
		for (w = 0; w < nw; w++) {
			uint64_t bits, out;

			if (!__atomic_load_n(&s->rfree[w], __ATOMIC_RELAXED))
				continue;
			bits = __atomic_exchange_n(&s->rfree[w], 0,
						   __ATOMIC_ACQUIRE);
			out = __atomic_load_n(&s->allocbits[w],
					      __ATOMIC_RELAXED);
			/* (a remote free checks its bits are out; an object
			 * put back through the transfer cache meanwhile is
			 * the other half of a double free) */
			if ((out & bits) != bits) {
				unsigned i = (unsigned)__builtin_ctzll(
				    bits & ~out);
				mri_fatal("free(): double free",
					  span_obj(s, w * 64 + i));
			}
			__atomic_store_n(&s->allocbits[w], out & ~bits,
					 __ATOMIC_RELAXED);
			k += (uint32_t)mri_popcount64(bits);
		}
		s->nalloc -= k;
		c->out -= k;
		n += k;
		if (__atomic_sub_fetch(&s->rcount, k, __ATOMIC_ACQ_REL)) {
			/* Frees in flight: the span stays out (their
			 * objects count in nalloc) until a later round. */
			s->remote_next = again;
			again = s;
		}
		if (k)
			span_emptied(c, s);
	}
	if (again) {
		struct mri_span *last = again, *top;

		while (last->remote_next)
			last = last->remote_next;
		top = __atomic_load_n(&c->pending, __ATOMIC_RELAXED);
		do
			last->remote_next = top;
		while (!__atomic_compare_exchange_n(&c->pending, &top, again,
						    1, __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED));
	}
	__atomic_sub_fetch(&c->remote, n, __ATOMIC_RELAXED);
}

unsigned
mri_central_fetch(int node, unsigned cls, void **dst, unsigned n)
{
	struct mri_central *c = &mri_centrals[node][cls];
	unsigned got = 0;

	pthread_mutex_lock(&c->lock);
	if (c->nxfer) {
		got = c->nxfer < n ? c->nxfer : n;
		/* Stored atomically: mri_central_return looks without the
		 * lock. */
		__atomic_store_n(&c->nxfer, c->nxfer - got, __ATOMIC_RELAXED);
		memcpy(dst, &c->xfer[c->nxfer], got * sizeof(void *));
	}
	if (got < n)
		remote_collect(c);
	while (got < n) {
		struct mri_span *s = c->partial;
		unsigned k;

		if (!s) {
			pthread_mutex_unlock(&c->lock);
			s = central_new_span(c);
			pthread_mutex_lock(&c->lock);
			if (!s)
				break;
			partial_push(c, s);
			c->spans++;
		}
		k = span_pop_many(s, dst + got, n - got);
		got += k;
		c->out += k;
		span_check(s);
		if (span_full(s))
			partial_unlink(c, s);
	}
	c->refills++;
	pthread_mutex_unlock(&c->lock);
	if (!got)
		errno = ENOMEM;
	return got;
}

/* Put obj back in its span.  Central lock held.  Detects objects that were
 * not handed out (double free, or a pointer into never-used space), and
 * objects also waiting as remote frees (the other half of a double free). */
static void
span_push(struct mri_central *c, void *obj)
{
	struct mri_span *s = mri_pagemap_lookup(obj);
	uint64_t bit, out;
	uint32_t idx;

	if (!s || s->cls != c->cls)
		mri_fatal("free(): invalid pointer", obj);
	idx = mri_class_index(s->cls, (uintptr_t)obj - s->start);
	bit = 1ULL << (idx & 63);
	out = __atomic_load_n(&s->allocbits[idx >> 6], __ATOMIC_RELAXED);
	if (!(out & bit) ||
	    (__atomic_load_n(&s->rfree[idx >> 6], __ATOMIC_RELAXED) & bit))
		mri_fatal("free(): double free or pointer not allocated", obj);
	__atomic_store_n(&s->allocbits[idx >> 6], out & ~bit,
			 __ATOMIC_RELAXED);
	s->nalloc--;
	c->out--;
	span_emptied(c, s);
}

/* Central lock held, objects just came back to s: list it, or give it
 * back when nothing of it is handed out any more. */
static void
span_emptied(struct mri_central *c, struct mri_span *s)
{
	span_check(s);
	if (s->nalloc == 0) {
		/* Empty: back to the page heap so its pages can drain. */
		if (s->in_partial)
			partial_unlink(c, s);
		c->spans--;
		mri_asan_unpoison((void *)s->start,
				  (size_t)s->npages << MRI_PAGE_SHIFT);
		mri_pageheap_free(s);
	} else if (!s->in_partial) {
		partial_push(c, s);
	}
}

void
mri_central_return(int node, unsigned cls, void **src, unsigned n)
{
	struct mri_central *c = &mri_centrals[node][cls];
	uint64_t pending;

	__atomic_add_fetch(&c->flushes, 1, __ATOMIC_RELAXED);
	/* As much as fits in the transfer cache (a racy look first: when it
	 * is full, as under a steady stream of remote frees, take no lock at
	 * all); the rest goes to the remote lists. */
	if (__atomic_load_n(&c->nxfer, __ATOMIC_RELAXED) < c->xfer_cap) {
		unsigned k;

		pthread_mutex_lock(&c->lock);
		k = c->xfer_cap - c->nxfer;
		if (k > n)
			k = n;
		memcpy(&c->xfer[c->nxfer], src, k * sizeof(void *));
		__atomic_store_n(&c->nxfer, c->nxfer + k, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&c->lock);
		src += k;
		n -= k;
		if (!n)
			return;
	}
	/* Counted before they are pushed: the figure never falls below the
	 * objects actually waiting. */
	pending = __atomic_add_fetch(&c->remote, n, __ATOMIC_RELAXED);
	remote_return(c, src, n);
	/* Keep what waits on remote lists bounded like the transfer cache
	 * (spans there cannot go back to the page heap): past its capacity
	 * collect, unless a fetch holds the lock (and will collect). */
	if (pending > c->xfer_cap && pthread_mutex_trylock(&c->lock) == 0) {
		remote_collect(c);
		pthread_mutex_unlock(&c->lock);
	}
}

void
mri_central_drain_all(void)
{
	int node;
	unsigned cls, i;

	for (node = 0; node < MRI_MAX_NODES; node++) {
		struct mri_central *cs =
		    __atomic_load_n(&mri_centrals[node], __ATOMIC_ACQUIRE);
		if (!cs)
			continue;
		for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
			struct mri_central *c = &cs[cls];
			pthread_mutex_lock(&c->lock);
			for (i = 0; i < c->nxfer; i++)
				span_push(c, c->xfer[i]);
			__atomic_store_n(&c->nxfer, 0, __ATOMIC_RELAXED);
			remote_collect(c);
			pthread_mutex_unlock(&c->lock);
		}
	}
}

/* Apply fn to every central list's lock, in lock order. */
static void
central_each_lock(int (*fn)(pthread_mutex_t *))
{
	int node;
	unsigned cls;

	for (node = 0; node < MRI_MAX_NODES; node++)
		if (mri_centrals[node])
			for (cls = 1; cls < MRI_MAX_CLASSES; cls++)
				fn(&mri_centrals[node][cls].lock);
}

void
mri_central_lock_all(void)
{
	central_each_lock(pthread_mutex_lock);
}

void
mri_central_unlock_all(void)
{
	central_each_lock(pthread_mutex_unlock);
}
