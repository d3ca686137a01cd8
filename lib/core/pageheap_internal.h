/*
 * pageheap_internal.h: what the three files of the page heap share, and
 * nothing else includes.  pageheap.c places spans, hugepage.c keeps the
 * hugepage maps and lists, pagerelease.c gives free pages back; pageheap.h
 * is the page heap's interface to the rest of the core.
 *
 * All functions here except the retained counter are called with the heap
 * lock of h held.
 */
#ifndef MRI_PAGEHEAP_INTERNAL_H
#define MRI_PAGEHEAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "core/pageheap.h"

/* The list a hugepage lives on (mri_hp.list). */
enum { HPL_NONE, HPL_FILLER, HPL_POOL_BACKED, HPL_POOL_LAZY, HPL_POOL_REL };

/* Bytes mapped minus released minus lazily released, all heaps (relaxed
 * atomics; hugepage.c moves it as pages are claimed and unclaimed). */
extern uint64_t mri_heap_retained_bytes MRI_HIDDEN;
/* Pages claimed by a release whose advice is still running (all heaps,
 * relaxed atomic; pagerelease.c).  They count as retained until put
 * back. */
extern uint64_t mri_heap_purging_pages MRI_HIDDEN;

/* ---- 256-bit maps ---- */

static inline int
bits_next_set(const uint64_t *b, int from)
{
	int w;

	for (w = from >> 6; w < 4; w++) {
		uint64_t x = b[w];
		if (w == from >> 6)
			x &= ~0ULL << (from & 63);
		if (x)
			return w * 64 + __builtin_ctzll(x);
	}
	return 256;
}

static inline int
bits_next_clear(const uint64_t *b, int from)
{
	int w;

	for (w = from >> 6; w < 4; w++) {
		uint64_t x = ~b[w];
		if (w == from >> 6)
			x &= ~0ULL << (from & 63);
		if (x)
			return w * 64 + __builtin_ctzll(x);
	}
	return 256;
}

/* mask of [lo, hi) in word w */
static inline uint64_t
bits_word_mask(int w, int lo, int hi)
{
	int a = lo > w * 64 ? lo - w * 64 : 0;
	int b = hi < w * 64 + 64 ? hi - w * 64 : 64;

	if (a >= b)
		return 0;
	if (b - a == 64)
		return ~0ULL;
	return ((1ULL << (b - a)) - 1) << a;
}

static inline void
hp_list_push_head(struct mri_hplist *l, struct mri_hp *hp)
{
	hp->prev = NULL;
	hp->next = l->head;
	if (l->head)
		l->head->prev = hp;
	else
		l->tail = hp;
	l->head = hp;
}

/* ---- hugepage bookkeeping (hugepage.c) ---- */

/* Best fit: the smallest free run of hp that holds n pages starting at a
 * multiple of align (pages).  Returns the start page or -1. */
MRI_HIDDEN int mri_hp_find(const struct mri_hp *hp, int n, int align);
/* The same among warm pages only: free and backed, or lazily freed (no
 * new resident memory when touched, unless the kernel took them). */
MRI_HIDDEN int mri_hp_find_warm(const struct mri_hp *hp, int n, int align);
/* Mark pages [i, i+n) of hp used.  Returns how many of them were released
 * (they become backed again when touched). */
MRI_HIDDEN int mri_hp_claim(struct mri_pageheap *h, struct mri_hp *hp, int i,
			    int n);
/* Mark pages [i, i+n) of hp free; rel/lazy say whether they were released. */
MRI_HIDDEN void mri_hp_unclaim(struct mri_pageheap *h, struct mri_hp *hp, int i,
			       int n, int rel, int lazy);
/* The same on chunk pages [pg, pg+n), across hugepages. */
MRI_HIDDEN int mri_range_claim(struct mri_pageheap *h, struct mri_chunk *c,
			       size_t pg, size_t n);
MRI_HIDDEN void mri_range_unclaim(struct mri_pageheap *h, struct mri_chunk *c,
				  size_t pg, size_t n, int rel, int lazy);
/* Are chunk pages [pg, pg+n) all free? */
MRI_HIDDEN int mri_range_is_free(struct mri_chunk *c, size_t pg, size_t n);
/* Were all of [pg, pg+n) released with DONTNEED (or never touched), so
 * their contents read as zero? */
MRI_HIDDEN int mri_range_is_zero(struct mri_chunk *c, size_t pg, size_t n);

/* ---- placement (pageheap.c) ---- */

/* Give h's cached large spans' pages back to h.  Takes the heap lock. */
MRI_HIDDEN void mri_pageheap_lcache_drain(struct mri_pageheap *h);

/* ---- release side (pagerelease.c) ---- */

/* mri_pageheap_release on one heap.  No lock held. */
MRI_HIDDEN size_t mri_pageheap_release_one(struct mri_pageheap *h, size_t bytes,
					   int advice, unsigned flags,
					   uint64_t min_age_ns);

#endif
