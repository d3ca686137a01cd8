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

int
mri_central_init(int node)
{
	struct mri_central *cs;
	unsigned cls;

	if (mri_centrals[node])
		return 0;
	cs = mri_meta_alloc(sizeof(*cs) * MRI_MAX_CLASSES);
	if (!cs)
		return -ENOMEM;
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
		struct mri_central *c = &cs[cls];
		pthread_mutex_init(&c->lock, NULL);
		c->cls = cls;
		c->node = (uint32_t)node;
		c->xfer_cap = (uint32_t)mri_class_batch[cls] * MRI_XFER_BATCHES;
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
	s->bump = s->start;
	s->limit = s->start + (uintptr_t)s->nobj * s->size;
	s->freelist = NULL;
	s->nalloc = 0;
	memset(s->allocbits, 0, sizeof(s->allocbits));
	mri_asan_poison((void *)s->start,
			(size_t)s->npages << MRI_PAGE_SHIFT);
	return s;
}

static inline void *
span_pop(struct mri_span *s)
{
	void *p = s->freelist;
	uint32_t idx;

	if (p) {
		mri_asan_unpoison(p, sizeof(void *));
		s->freelist = *(void **)p;
		mri_asan_poison(p, sizeof(void *));
	} else if (s->bump < s->limit) {
		p = (void *)s->bump;
		s->bump += s->size;
	} else {
		return NULL;
	}
	idx = mri_class_index(s->cls, (uintptr_t)p - s->start);
	s->allocbits[idx >> 6] |= 1ULL << (idx & 63);
	s->nalloc++;
	return p;
}

/* The allocation bits agree with the count of objects handed out. */
static inline void
span_check(const struct mri_span *s)
{
#ifdef MR_DEBUG
	unsigned w, n = 0;

	for (w = 0; w < 8; w++)
		n += (unsigned)__builtin_popcountll(s->allocbits[w]);
	mri_assert(n == s->nalloc);
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

unsigned
mri_central_fetch(int node, unsigned cls, void **dst, unsigned n)
{
	struct mri_central *c = &mri_centrals[node][cls];
	unsigned got = 0;

	pthread_mutex_lock(&c->lock);
	if (c->nxfer) {
		got = c->nxfer < n ? c->nxfer : n;
		c->nxfer -= got;
		memcpy(dst, &c->xfer[c->nxfer], got * sizeof(void *));
	}
	while (got < n) {
		struct mri_span *s = c->partial;
		void *p;
		if (!s) {
			pthread_mutex_unlock(&c->lock);
			s = central_new_span(c);
			pthread_mutex_lock(&c->lock);
			if (!s)
				break;
			partial_push(c, s);
			c->spans++;
		}
		while (got < n && (p = span_pop(s)) != NULL) {
			dst[got++] = p;
			c->out++;
		}
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
	if (!(s->allocbits[idx >> 6] & bit))
		mri_fatal("free(): double free or pointer not allocated", obj);
	s->allocbits[idx >> 6] &= ~bit;
	mri_asan_unpoison(obj, sizeof(void *));
	*(void **)obj = s->freelist;
	mri_asan_poison(obj, sizeof(void *));
	s->freelist = obj;
	s->nalloc--;
	c->out--;
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
	unsigned i;

	pthread_mutex_lock(&c->lock);
	c->flushes++;
	if (c->nxfer + n <= c->xfer_cap) {
		memcpy(&c->xfer[c->nxfer], src, n * sizeof(void *));
		c->nxfer += n;
	} else {
		for (i = 0; i < n; i++)
			span_push(c, src[i]);
	}
	pthread_mutex_unlock(&c->lock);
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
			c->nxfer = 0;
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
