/*
 * hugepage.c: the page heap's bookkeeping of hugepages (see pageheap.h for
 * the data structure).  It owns each hugepage descriptor's three 256-bit
 * maps (free, released, lazily released) and their counts, the list a
 * hugepage lives on (filler bucket or pool, refiled after every change),
 * and the heap-wide page counters those changes move, including the
 * retained byte count the soft limit reads.  Claiming and unclaiming page
 * ranges is all the other page heap files do to a hugepage; placement
 * (pageheap.c) decides where, the release side (pagerelease.c) what to
 * give back.  Every function here runs with the heap lock held.
 */
#include "config.h"
#include "core/bits.h"
#include "core/pageheap.h"
#include "core/pageheap_internal.h"
#include "os/os.h"

uint64_t mri_heap_retained_bytes;
uint64_t mri_heap_purging_pages;

static int
hp_longest(const struct mri_hp *hp)
{
	int i = 0, best = 0;

	while (i < 256) {
		int s = bits_next_set(hp->free, i), e;
		if (s >= 256)
			break;
		e = bits_next_clear(hp->free, s);
		if (e - s > best)
			best = e - s;
		i = e;
	}
	return best;
}

/* Best fit in map: the smallest run of set bits that holds n pages
 * starting at a multiple of align (pages).  Returns the start or -1. */
static int
hp_find_in(const uint64_t *map, int n, int align)
{
	int i = 0, best = -1, bestlen = 1 << 20;

	while (i < 256) {
		int s = bits_next_set(map, i), e, a;
		if (s >= 256)
			break;
		e = bits_next_clear(map, s);
		a = (s + align - 1) & ~(align - 1);
		if (a + n <= e && e - s < bestlen) {
			best = a;
			bestlen = e - s;
			if (bestlen == n)
				break;
		}
		i = e;
	}
	return best;
}

int
mri_hp_find(const struct mri_hp *hp, int n, int align)
{
	return hp_find_in(hp->free, n, align);
}

int
mri_hp_find_warm(const struct mri_hp *hp, int n, int align)
{
	uint64_t warm[4];
	int w;

	if ((int)hp->nfree - ((int)hp->nrel - (int)hp->nlazy) < n)
		return -1;
	if (hp->nrel == hp->nlazy) /* every free page is warm */
		return hp_find_in(hp->free, n, align);
	for (w = 0; w < 4; w++)
		warm[w] = hp->free[w] & (~hp->rel[w] | hp->lazy[w]);
	return hp_find_in(warm, n, align);
}

/* The descriptor's counts agree with its maps; released pages are free;
 * lazily released pages are released. */
static void
hp_check(const struct mri_hp *hp)
{
#ifdef MR_DEBUG
	int w, nf = 0, nr = 0, nl = 0;

	for (w = 0; w < 4; w++) {
		mri_assert((hp->rel[w] & ~hp->free[w]) == 0);
		mri_assert((hp->lazy[w] & ~hp->rel[w]) == 0);
		nf += mri_popcount64(hp->free[w]);
		nr += mri_popcount64(hp->rel[w]);
		nl += mri_popcount64(hp->lazy[w]);
	}
	mri_assert(nf == hp->nfree && nr == hp->nrel && nl == hp->nlazy);
	mri_assert(hp->longest == hp_longest(hp));
#else
	(void)hp;
#endif
}

/* ---- lists ---- */

static void
list_unlink(struct mri_hplist *l, struct mri_hp *hp)
{
	if (hp->prev)
		hp->prev->next = hp->next;
	else
		l->head = hp->next;
	if (hp->next)
		hp->next->prev = hp->prev;
	else
		l->tail = hp->prev;
	hp->next = hp->prev = NULL;
}

static void
hp_unlist(struct mri_pageheap *h, struct mri_hp *hp)
{
	switch (hp->list) {
	case HPL_FILLER:
		list_unlink(&h->filler[hp->bu][hp->bl], hp);
		if (!h->filler[hp->bu][hp->bl].head)
			h->filler_mask[hp->bu] &= (uint16_t) ~(1u << hp->bl);
		break;
	case HPL_POOL_BACKED:
		list_unlink(&h->pool_backed, hp);
		break;
	case HPL_POOL_LAZY:
		list_unlink(&h->pool_lazy, hp);
		h->nlazy_pool -= hp->pool_lazy_n;
		break;
	case HPL_POOL_REL:
		list_unlink(&h->pool_rel, hp);
		break;
	}
	hp->list = HPL_NONE;
}

/* Put hp on the list its free count calls for. */
static void
hp_refile(struct mri_pageheap *h, struct mri_hp *hp)
{
	int was_free = hp->list == HPL_POOL_BACKED ||
		       hp->list == HPL_POOL_LAZY || hp->list == HPL_POOL_REL;

	/* Most claims and frees keep a filler hugepage in its bucket. */
	if (hp->list == HPL_FILLER && hp->nfree != 0 &&
	    hp->nfree != MRI_HP_PAGES &&
	    hp->bu == (MRI_HP_PAGES - hp->nfree) >> 4 &&
	    hp->bl == hp->longest >> 4)
		return;

	hp_unlist(h, hp);
	if (hp->nfree == 0)
		return;
	if (hp->nfree == MRI_HP_PAGES) {
		if (hp->nrel == MRI_HP_PAGES && hp->nlazy) {
			hp_list_push_head(&h->pool_lazy, hp);
			hp->list = HPL_POOL_LAZY;
			hp->pool_lazy_n = hp->nlazy;
			h->nlazy_pool += hp->nlazy;
		} else if (hp->nrel == MRI_HP_PAGES) {
			hp_list_push_head(&h->pool_rel, hp);
			hp->list = HPL_POOL_REL;
		} else {
			if (!was_free) {
				hp->free_since_ns = mri_os->now_ns();
				h->emptied++;
			}
			hp_list_push_head(&h->pool_backed, hp);
			hp->list = HPL_POOL_BACKED;
		}
		return;
	}
	hp->bu = (uint8_t)((MRI_HP_PAGES - hp->nfree) >> 4);
	hp->bl = (uint8_t)(hp->longest >> 4);
	hp_list_push_head(&h->filler[hp->bu][hp->bl], hp);
	h->filler_mask[hp->bu] |= (uint16_t)(1u << hp->bl);
	hp->list = HPL_FILLER;
}

/* Mark pages [i, i+n) of hp used.  Returns how many of them were released
 * (they become backed again when touched). */
int
mri_hp_claim(struct mri_pageheap *h, struct mri_hp *hp, int i, int n)
{
	int w, crel = 0, clazy = 0;

	for (w = 0; w < 4; w++) {
		uint64_t m = bits_word_mask(w, i, i + n);
		if (!m)
			continue;
		mri_assert((hp->free[w] & m) == m); /* claiming free pages */
		if (hp->rel[w] & m) {
			crel += mri_popcount64(hp->rel[w] & m);
			clazy += mri_popcount64(hp->lazy[w] & m);
		}
		hp->free[w] &= ~m;
		hp->rel[w] &= ~m;
		hp->lazy[w] &= ~m;
	}
	hp->nfree = (uint16_t)(hp->nfree - n);
	hp->nrel = (uint16_t)(hp->nrel - crel);
	hp->nlazy = (uint16_t)(hp->nlazy - clazy);
	hp->longest = (uint16_t)hp_longest(hp);
	h->nfree -= (uint64_t)n;
	h->nrel -= (uint64_t)crel;
	h->nlazy -= (uint64_t)clazy;
	if (crel)
		__atomic_add_fetch(&mri_heap_retained_bytes,
				   (uint64_t)crel * MRI_PAGE_SIZE,
				   __ATOMIC_RELAXED);
	hp_refile(h, hp);
	hp_check(hp);
	return crel;
}

/* Mark pages [i, i+n) of hp free; rel/lazy say whether they were released. */
void
mri_hp_unclaim(struct mri_pageheap *h, struct mri_hp *hp, int i, int n, int rel,
	       int lazy)
{
	int w, crel = 0, clazy = 0;

	for (w = 0; w < 4; w++) {
		uint64_t m = bits_word_mask(w, i, i + n);
		if (!m)
			continue;
		mri_assert((hp->free[w] & m) ==
			   0); /* no double free of pages */
		hp->free[w] |= m;
		if (rel) {
			crel += mri_popcount64(m & ~hp->rel[w]);
			hp->rel[w] |= m;
		}
		if (lazy) {
			clazy += mri_popcount64(m & ~hp->lazy[w]);
			hp->lazy[w] |= m;
		}
	}
	hp->nfree = (uint16_t)(hp->nfree + n);
	hp->nrel = (uint16_t)(hp->nrel + crel);
	hp->nlazy = (uint16_t)(hp->nlazy + clazy);
	hp->longest = (uint16_t)hp_longest(hp);
	h->nfree += (uint64_t)n;
	h->nrel += (uint64_t)crel;
	h->nlazy += (uint64_t)clazy;
	if (crel)
		__atomic_sub_fetch(&mri_heap_retained_bytes,
				   (uint64_t)crel * MRI_PAGE_SIZE,
				   __ATOMIC_RELAXED);
	hp_refile(h, hp);
	hp_check(hp);
}

/* Claim chunk pages [pg, pg+n) across hugepages; returns released count. */
int
mri_range_claim(struct mri_pageheap *h, struct mri_chunk *c, size_t pg,
		size_t n)
{
	int crel = 0;

	while (n) {
		size_t hi = pg / MRI_HP_PAGES, off = pg % MRI_HP_PAGES;
		size_t k = MRI_HP_PAGES - off < n ? MRI_HP_PAGES - off : n;
		crel += mri_hp_claim(h, &c->hp[hi], (int)off, (int)k);
		pg += k;
		n -= k;
	}
	return crel;
}

void
mri_range_unclaim(struct mri_pageheap *h, struct mri_chunk *c, size_t pg,
		  size_t n, int rel, int lazy)
{
	while (n) {
		size_t hi = pg / MRI_HP_PAGES, off = pg % MRI_HP_PAGES;
		size_t k = MRI_HP_PAGES - off < n ? MRI_HP_PAGES - off : n;
		mri_hp_unclaim(h, &c->hp[hi], (int)off, (int)k, rel, lazy);
		pg += k;
		n -= k;
	}
}

/* Are chunk pages [pg, pg+n) all free? */
int
mri_range_is_free(struct mri_chunk *c, size_t pg, size_t n)
{
	while (n) {
		size_t hi = pg / MRI_HP_PAGES, off = pg % MRI_HP_PAGES;
		size_t k = MRI_HP_PAGES - off < n ? MRI_HP_PAGES - off : n;
		if (bits_next_clear(c->hp[hi].free, (int)off) < (int)(off + k))
			return 0;
		pg += k;
		n -= k;
	}
	return 1;
}

/* Were all of [pg, pg+n) released with DONTNEED (or never touched), so
 * their contents read as zero?  Called before claiming. */
int
mri_range_is_zero(struct mri_chunk *c, size_t pg, size_t n)
{
	while (n) {
		size_t hi = pg / MRI_HP_PAGES, off = pg % MRI_HP_PAGES;
		size_t k = MRI_HP_PAGES - off < n ? MRI_HP_PAGES - off : n;
		struct mri_hp *hp = &c->hp[hi];
		int w;
		for (w = 0; w < 4; w++) {
			uint64_t m =
			    bits_word_mask(w, (int)off, (int)(off + k));
			if ((hp->rel[w] & m) != m || (hp->lazy[w] & m))
				return 0;
		}
		pg += k;
		n -= k;
	}
	return 1;
}
