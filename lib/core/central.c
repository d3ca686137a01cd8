/*
 * central.c: central lists and transfer caches (see central.h).
 */
#include "config.h"
#include <errno.h>
#include <string.h>
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

/* The free-list link kept in a free object's first word.  In an ASan
 * build the object is poisoned while free (core/asan.h), so the link is
 * unpoisoned only for the access. */
static inline void *
link_get(void *obj)
{
	void *next;

	mri_asan_unpoison(obj, sizeof(void *));
	next = *(void **)obj;
	mri_asan_poison(obj, sizeof(void *));
	return next;
}

static inline void
link_set(void *obj, void *next)
{
	mri_asan_unpoison(obj, sizeof(void *));
	*(void **)obj = next;
	mri_asan_poison(obj, sizeof(void *));
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
	/* Remote list heads keep a count above bit 47 (remote_push): Linux
	 * maps above 2^47 only when asked to, and we never ask. */
	if (s->start >> 47)
		mri_fatal("span above 2^47: remote lists cannot address it",
			  (void *)s->start);
	s->nobj = mri_class_nobj[c->cls];
	s->bump = s->start;
	s->limit = s->start + (uintptr_t)s->nobj * s->size;
	s->freelist = NULL;
	s->remote = 0;
	s->nalloc = 0;
	memset(s->allocbits, 0, sizeof(s->allocbits));
	mri_asan_poison((void *)s->start,
			(size_t)s->npages << MRI_PAGE_SHIFT);
	return s;
}

/* Hand out up to n objects of s into dst; returns how many.  The
 * allocation bits are set with one atomic OR per 64-object word (a remote
 * free clears other bits of the same words without the lock). */
static unsigned
span_pop_many(struct mri_span *s, void **dst, unsigned n)
{
	uint64_t mask[8] = { 0 };
	unsigned got, w;

	for (got = 0; got < n; got++) {
		void *p = s->freelist;
		uint32_t idx;

		if (p) {
			s->freelist = link_get(p);
		} else if (s->bump < s->limit) {
			p = (void *)s->bump;
			s->bump += s->size;
		} else {
			break;
		}
		idx = mri_class_index(s->cls, (uintptr_t)p - s->start);
		mask[idx >> 6] |= 1ULL << (idx & 63);
		dst[got] = p;
	}
	for (w = 0; w < 8; w++)
		if (mask[w])
			__atomic_fetch_or(&s->allocbits[w], mask[w],
					  __ATOMIC_RELAXED);
	s->nalloc += got;
	return got;
}

/* The allocation bits agree with the count of objects handed out. */
static inline void
span_check(const struct mri_span *s)
{
#ifdef MR_DEBUG
	unsigned w, n = 0;

	for (w = 0; w < 8; w++)
		n += (unsigned)__builtin_popcountll(s->allocbits[w]);
	/* Remotely freed objects have their bits cleared before they
	 * leave nalloc (at collection). */
	mri_assert(n <= s->nalloc);
	mri_assert(s->nalloc <= s->nobj);
#else
	(void)s;
#endif
}

static inline int
span_full(const struct mri_span *s)
{
	return !s->freelist && s->bump >= s->limit;
}

static void span_push(struct mri_central *c, void *obj);
static void span_emptied(struct mri_central *c, struct mri_span *s);

/* A remote list head: the first object's address (user addresses fit in
 * 48 bits) and the list's length above it, so one exchange takes both
 * and the collector never walks the list (its objects are cold in this
 * thread's cache; the freeing thread had them hot). */
#define REMOTE_SHIFT 48
#define REMOTE_PTR(w) ((void *)((w) & ((1ULL << REMOTE_SHIFT) - 1)))
#define REMOTE_CNT(w) ((uint32_t)((w) >> REMOTE_SHIFT))

/* Note obj in the chain's mask of allocation bits to clear; the same
 * object twice in one chain is a double free. */
static inline void
remote_mark(const struct mri_span *s, uint64_t *mask, void *obj)
{
	uint32_t idx = mri_class_index(s->cls, (uintptr_t)obj - s->start);
	uint64_t bit = 1ULL << (idx & 63);

	if (mask[idx >> 6] & bit)
		mri_fatal("free(): double free", obj);
	mask[idx >> 6] |= bit;
}

/* Clear the chain's bits in s, one atomic AND per word: the objects are
 * free from now on.  A bit that was already clear is a double free (or a
 * pointer never handed out); name the first such object. */
static void
remote_unmark(struct mri_span *s, const uint64_t *mask, void **objs,
	      unsigned n)
{
	unsigned w, i;

	for (w = 0; w < 8; w++) {
		uint64_t old;

		if (!mask[w])
			continue;
		old = __atomic_fetch_and(&s->allocbits[w], ~mask[w],
					 __ATOMIC_RELAXED);
		if ((old & mask[w]) == mask[w])
			continue;
		for (i = 0; i < n; i++) {
			uint32_t idx = mri_class_index(
			    s->cls, (uintptr_t)objs[i] - s->start);
			if ((idx >> 6) == w &&
			    !(old & (1ULL << (idx & 63))))
				mri_fatal("free(): double free or pointer "
					  "not allocated", objs[i]);
		}
	}
}

/* Push the chain first..last (k objects of span s, already linked and
 * unmarked) onto s's remote list, without the central lock.  Pushing
 * only, never popping one by one, is ABA-safe.  The thread whose push
 * finds the list empty owns putting the span on the pending stack; until
 * a collector takes the list no other push does, so a span is on the
 * stack at most once, and the stack is only ever emptied whole.  The
 * objects still count in nalloc, so the span cannot be freed meanwhile. */
static void
remote_push(struct mri_central *c, struct mri_span *s, void *first,
	    void *last, uint32_t k)
{
	uintptr_t w = __atomic_load_n(&s->remote, __ATOMIC_RELAXED), nw;
	struct mri_span *top;

	do {
		link_set(last, REMOTE_PTR(w));
		nw = (uintptr_t)first |
		     ((uintptr_t)(REMOTE_CNT(w) + k) << REMOTE_SHIFT);
	} while (!__atomic_compare_exchange_n(&s->remote, &w, nw, 1,
					      __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	/* Acquire as well: a push that finds the list empty writes
	 * remote_next, which the collector that emptied it has read (it
	 * releases with its exchange). */
	if (REMOTE_PTR(w))
		return;
	/* Later pushes go in front: this chain's last object stays the
	 * list's tail, so the collector splices the list in O(1).  The
	 * collector reads it after taking the span from the stack. */
	s->remote_tail = last;
	top = __atomic_load_n(&c->pending, __ATOMIC_RELAXED);
	do
		s->remote_next = top;
	while (!__atomic_compare_exchange_n(&c->pending, &top, s, 1,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* Give src[0..n) back without the central lock: runs of objects of one
 * span become one chain and one CAS. */
static void
remote_return(struct mri_central *c, void **src, unsigned n)
{
	unsigned i = 0;

	while (i < n) {
		struct mri_span *s = mri_pagemap_lookup(src[i]);
		uint64_t mask[8] = { 0 };
		unsigned from = i;
		void *last = src[i];

		/* The span goes on this list's pending stack, collected
		 * under this list's lock: it must be this node's. */
		if (!s || s->cls != c->cls || s->node != c->node)
			mri_fatal("free(): invalid pointer", src[i]);
		remote_mark(s, mask, src[i]);
		for (i++; i < n && (uintptr_t)src[i] - s->start <
					   (uintptr_t)s->npages * MRI_PAGE_SIZE;
		     i++) {
			remote_mark(s, mask, src[i]);
			link_set(last, src[i]);
			last = src[i];
		}
		remote_unmark(s, mask, src + from, i - from);
		remote_push(c, s, src[from], last, i - from);
	}
}

/* Central lock held: take every pending span's remote list into its free
 * list in O(1) (the head carries the count, remote_tail the last
 * object: the objects are cold here, the freeing thread had them hot) and
 * settle the counts; a span left with nothing handed out goes back to the
 * page heap.  A span's remote_next and remote_tail are read before its
 * list is taken: once the list is empty a new push may stack the span
 * again and set them anew. */
static void
remote_collect(struct mri_central *c)
{
	struct mri_span *s, *next;
	uint64_t n = 0;

	if (!__atomic_load_n(&c->pending, __ATOMIC_RELAXED))
		return;
	s = __atomic_exchange_n(&c->pending, NULL, __ATOMIC_ACQUIRE);
	for (; s; s = next) {
		uintptr_t w;
		void *p, *tail;
		uint32_t k;

		next = s->remote_next;
		tail = s->remote_tail;
		w = __atomic_exchange_n(&s->remote, 0, __ATOMIC_ACQ_REL);
		p = REMOTE_PTR(w);
		k = REMOTE_CNT(w);
		if (!p)
			continue;
		if (s->freelist)
			link_set(tail, s->freelist);
		s->freelist = p;
		s->nalloc -= k;
		c->out -= k;
		n += k;
		span_emptied(c, s);
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
 * not handed out (double free, or a pointer into never-used space). */
static void
span_push(struct mri_central *c, void *obj)
{
	struct mri_span *s = mri_pagemap_lookup(obj);
	uint32_t idx;
	uint64_t bit;

	if (!s || s->cls != c->cls)
		mri_fatal("free(): invalid pointer", obj);
	idx = mri_class_index(s->cls, (uintptr_t)obj - s->start);
	bit = 1ULL << (idx & 63);
	if (!(__atomic_fetch_and(&s->allocbits[idx >> 6], ~bit,
				 __ATOMIC_RELAXED) & bit))
		mri_fatal("free(): double free or pointer not allocated", obj);
	link_set(obj, s->freelist);
	s->freelist = obj;
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
