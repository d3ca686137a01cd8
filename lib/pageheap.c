/*
 * pageheap.c: per-node page heaps over hugepage-aligned chunks (see
 * pageheap.h for the data structure), and the release primitive the
 * scavenger, the limit and mr_release use (heap.h).
 *
 * Huge pages pay once the heap is big: with THP in "madvise" mode a fault
 * in an MADV_HUGEPAGE range takes a whole 2 MiB, so a program with a 100 KiB
 * heap would pay 2 MiB of RSS per chunk if chunks were advised at once.  In
 * "auto" mode (the default) chunks are advised only once retained memory
 * passes hugepage_threshold (16 MiB): from then on every chunk, including
 * the untouched rest of the first ones, is advised.  A 512 MiB heap thus
 * sits on huge pages but for at most its first 16 MiB (>= 96%).
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "heap.h"
#include "limit.h"
#include "meta.h"
#include "options.h"
#include "os.h"
#include "pagemap.h"
#include "pageheap.h"
#include "purge.h"
#include "scavenger.h"
#include "central.h"
#include "init.h"

/* The release path (limit.c, scavenger.c) is a separate part of the library;
 * weak references keep the core linkable and testable on its own. */
extern __typeof__(mri_limit_exceeded) mri_limit_exceeded __attribute__((weak));
extern __typeof__(mri_scavenger_wake) mri_scavenger_wake __attribute__((weak));

enum { HPL_NONE, HPL_FILLER, HPL_POOL_BACKED, HPL_POOL_REL };

struct mri_pageheap *mri_heaps[MRI_MAX_NODES];
/* Defined for real by the limit module; this weak zero keeps the core
 * usable on its own. */
__attribute__((weak)) uint64_t mri_heap_soft_limit;
static struct mri_pool span_pool = MRI_POOL_INIT(sizeof(struct mri_span));
static pthread_mutex_t heaps_mu = PTHREAD_MUTEX_INITIALIZER;

/* Global figures kept with atomics so the limit check is a plain load. */
static uint64_t heap_retained_bytes;
static uint64_t heap_mapped_bytes;
static int heap_thp_on;		/* auto mode crossed the threshold */

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

/* Best fit: the smallest free run that holds n pages starting at a multiple
 * of align (pages).  Returns the start page or -1. */
static int
hp_find(const struct mri_hp *hp, int n, int align)
{
	int i = 0, best = -1, bestlen = 1 << 20;

	while (i < 256) {
		int s = bits_next_set(hp->free, i), e, a;
		if (s >= 256)
			break;
		e = bits_next_clear(hp->free, s);
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
		nf += __builtin_popcountll(hp->free[w]);
		nr += __builtin_popcountll(hp->rel[w]);
		nl += __builtin_popcountll(hp->lazy[w]);
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
list_push_head(struct mri_hplist *l, struct mri_hp *hp)
{
	hp->prev = NULL;
	hp->next = l->head;
	if (l->head)
		l->head->prev = hp;
	else
		l->tail = hp;
	l->head = hp;
}

static void
hp_unlist(struct mri_pageheap *h, struct mri_hp *hp)
{
	switch (hp->list) {
	case HPL_FILLER:
		list_unlink(&h->filler[hp->bu][hp->bl], hp);
		if (!h->filler[hp->bu][hp->bl].head)
			h->filler_mask[hp->bu] &= (uint16_t)~(1u << hp->bl);
		break;
	case HPL_POOL_BACKED:
		list_unlink(&h->pool_backed, hp);
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
	int was_free = hp->list == HPL_POOL_BACKED || hp->list == HPL_POOL_REL;

	/* Most claims and frees keep a filler hugepage in its bucket. */
	if (hp->list == HPL_FILLER && hp->nfree != 0 && hp->nfree != MRI_HP_PAGES &&
	    hp->bu == (MRI_HP_PAGES - hp->nfree) >> 4 && hp->bl == hp->longest >> 4)
		return;

	hp_unlist(h, hp);
	if (hp->nfree == 0)
		return;
	if (hp->nfree == MRI_HP_PAGES) {
		if (hp->nrel == MRI_HP_PAGES) {
			list_push_head(&h->pool_rel, hp);
			hp->list = HPL_POOL_REL;
		} else {
			if (!was_free) {
				hp->free_since_ns = mri_os->now_ns();
				h->emptied++;
			}
			list_push_head(&h->pool_backed, hp);
			hp->list = HPL_POOL_BACKED;
		}
		return;
	}
	hp->bu = (uint8_t)((MRI_HP_PAGES - hp->nfree) >> 4);
	hp->bl = (uint8_t)(hp->longest >> 4);
	list_push_head(&h->filler[hp->bu][hp->bl], hp);
	h->filler_mask[hp->bu] |= (uint16_t)(1u << hp->bl);
	hp->list = HPL_FILLER;
}

/* Mark pages [i, i+n) of hp used.  Returns how many of them were released
 * (they become backed again when touched). */
static int
hp_claim(struct mri_pageheap *h, struct mri_hp *hp, int i, int n)
{
	int w, crel = 0, clazy = 0;

	for (w = 0; w < 4; w++) {
		uint64_t m = bits_word_mask(w, i, i + n);
		if (!m)
			continue;
		mri_assert((hp->free[w] & m) == m);	/* claiming free pages */
		if (hp->rel[w] & m) {
			crel += __builtin_popcountll(hp->rel[w] & m);
			clazy += __builtin_popcountll(hp->lazy[w] & m);
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
		__atomic_add_fetch(&heap_retained_bytes, (uint64_t)crel * MRI_PAGE_SIZE, __ATOMIC_RELAXED);
	hp_refile(h, hp);
	hp_check(hp);
	return crel;
}

/* Mark pages [i, i+n) of hp free; rel/lazy say whether they were released. */
static void
hp_unclaim(struct mri_pageheap *h, struct mri_hp *hp, int i, int n, int rel, int lazy)
{
	int w, crel = 0, clazy = 0;

	for (w = 0; w < 4; w++) {
		uint64_t m = bits_word_mask(w, i, i + n);
		if (!m)
			continue;
		mri_assert((hp->free[w] & m) == 0);	/* no double free of pages */
		hp->free[w] |= m;
		if (rel) {
			crel += __builtin_popcountll(m & ~hp->rel[w]);
			hp->rel[w] |= m;
		}
		if (lazy) {
			clazy += __builtin_popcountll(m & ~hp->lazy[w]);
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
		__atomic_sub_fetch(&heap_retained_bytes, (uint64_t)crel * MRI_PAGE_SIZE, __ATOMIC_RELAXED);
	hp_refile(h, hp);
	hp_check(hp);
}

/* Claim chunk pages [pg, pg+n) across hugepages; returns released count. */
static int
range_claim(struct mri_pageheap *h, struct mri_chunk *c, size_t pg, size_t n)
{
	int crel = 0;

	while (n) {
		size_t hi = pg / MRI_HP_PAGES, off = pg % MRI_HP_PAGES;
		size_t k = MRI_HP_PAGES - off < n ? MRI_HP_PAGES - off : n;
		crel += hp_claim(h, &c->hp[hi], (int)off, (int)k);
		pg += k;
		n -= k;
	}
	return crel;
}

static void
range_unclaim(struct mri_pageheap *h, struct mri_chunk *c, size_t pg, size_t n, int rel, int lazy)
{
	while (n) {
		size_t hi = pg / MRI_HP_PAGES, off = pg % MRI_HP_PAGES;
		size_t k = MRI_HP_PAGES - off < n ? MRI_HP_PAGES - off : n;
		hp_unclaim(h, &c->hp[hi], (int)off, (int)k, rel, lazy);
		pg += k;
		n -= k;
	}
}

/* Are chunk pages [pg, pg+n) all free? */
static int
range_is_free(struct mri_chunk *c, size_t pg, size_t n)
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
static int
range_is_zero(struct mri_chunk *c, size_t pg, size_t n)
{
	while (n) {
		size_t hi = pg / MRI_HP_PAGES, off = pg % MRI_HP_PAGES;
		size_t k = MRI_HP_PAGES - off < n ? MRI_HP_PAGES - off : n;
		struct mri_hp *hp = &c->hp[hi];
		int w;
		for (w = 0; w < 4; w++) {
			uint64_t m = bits_word_mask(w, (int)off, (int)(off + k));
			if ((hp->rel[w] & m) != m || (hp->lazy[w] & m))
				return 0;
		}
		pg += k;
		n -= k;
	}
	return 1;
}

/* ---- chunks ---- */

static void
heap_advise_all_locked(void)
{
	int n;

	for (n = 0; n < MRI_MAX_NODES; n++) {
		struct mri_pageheap *h = mri_heaps[n];
		struct mri_chunk *c;
		if (!h)
			continue;
		for (c = h->chunks; c; c = c->next)
			if (!c->advised) {
				(void)mri_os->advise((void *)c->base, (size_t)c->nhp * MRI_HUGE_SIZE, MADV_HUGEPAGE);
				c->advised = 1;
			}
	}
}

/* Switch huge pages on once the heap is big enough (auto mode).  Takes
 * heaps_mu, never a heap lock: chunks lists are only appended to, and
 * `advised` is a hint. */
static void
heap_maybe_thp(void)
{
	if (__atomic_load_n(&heap_thp_on, __ATOMIC_RELAXED) ||
	    mri_opt(MRI_OPT_HUGEPAGES) != 0)
		return;
	if (__atomic_load_n(&heap_retained_bytes, __ATOMIC_RELAXED) <
	    (uint64_t)mri_opt(MRI_OPT_HUGEPAGE_THRESHOLD))
		return;
	pthread_mutex_lock(&heaps_mu);
	if (!heap_thp_on) {
		heap_advise_all_locked();
		__atomic_store_n(&heap_thp_on, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&heaps_mu);
}

/* Map a chunk of at least min_bytes whose hugepages include a start
 * aligned to align.  Heap lock held. */
static struct mri_chunk *
heap_grow(struct mri_pageheap *h, size_t min_bytes, size_t align)
{
	size_t len = (size_t)mri_opt(MRI_OPT_CHUNK_SIZE), i;
	struct mri_chunk *c;
	void *base;
	int mode = (int)mri_opt(MRI_OPT_HUGEPAGES);

	if (min_bytes > len)
		len = (min_bytes + MRI_HUGE_SIZE - 1) & ~(MRI_HUGE_SIZE - 1);
	if (align > MRI_HUGE_SIZE)
		len += align;
	if (len < min_bytes) {
		errno = ENOMEM;
		return NULL;
	}
	base = mri_os_map_aligned(len, MRI_HUGE_SIZE);
	if (!base)
		return NULL;
	if (mri_pagemap_ensure((uintptr_t)base, len) < 0)
		goto fail_unmap;
	c = mri_meta_alloc(sizeof(*c) + (len / MRI_HUGE_SIZE) * sizeof(struct mri_hp));
	if (!c)
		goto fail_unmap;
	c->base = (uintptr_t)base;
	c->nhp = (uint32_t)(len / MRI_HUGE_SIZE);
	c->node = (uint8_t)h->node;
	for (i = c->nhp; i-- > 0;) {
		struct mri_hp *hp = &c->hp[i];
		memset(hp->free, 0xff, sizeof(hp->free));
		memset(hp->rel, 0xff, sizeof(hp->rel));
		hp->nfree = hp->nrel = hp->longest = MRI_HP_PAGES;
		hp->idx = (uint32_t)i;
		hp->chunk = c;
		list_push_head(&h->pool_rel, hp);
		hp->list = HPL_POOL_REL;
	}
	if (mri_opt(MRI_OPT_NUMA) != 2 && mri_numa_nodes() > 0)
		(void)mri_os->bind(base, len, h->node, mri_opt(MRI_OPT_NUMA) == 1);
	if (mode == 1 || (mode == 0 && __atomic_load_n(&heap_thp_on, __ATOMIC_RELAXED))) {
		(void)mri_os->advise(base, len, MADV_HUGEPAGE);
		c->advised = 1;
	}
	h->mapped += len / MRI_PAGE_SIZE;
	h->nfree += len / MRI_PAGE_SIZE;
	h->nrel += len / MRI_PAGE_SIZE;
	__atomic_add_fetch(&heap_mapped_bytes, len, __ATOMIC_RELAXED);
	/* Publish last: lock-free readers (heap_advise_all_locked) walk it. */
	c->next = h->chunks;
	__atomic_store_n(&h->chunks, c, __ATOMIC_RELEASE);
	return c;

fail_unmap:
	mri_os->unmap(base, len);
	errno = ENOMEM;
	return NULL;
}

/* ---- allocation ---- */

/* A filler hugepage with a run of n pages (n < 256) aligned to align
 * pages: the fullest that fits. */
static struct mri_hp *
filler_pick(struct mri_pageheap *h, int n, int align, int *start)
{
	int u, minl = n >> 4;

	for (u = MRI_FILL_BUCKETS - 1; u >= 0; u--) {
		unsigned mask = h->filler_mask[u] & ~((1u << minl) - 1);
		while (mask) {
			int l = __builtin_ctz(mask);
			struct mri_hp *hp;
			mask &= mask - 1;
			for (hp = h->filler[u][l].head; hp; hp = hp->next) {
				if (hp->longest < n)
					continue;
				*start = hp_find(hp, n, align);
				if (*start >= 0)
					return hp;
			}
		}
	}
	return NULL;
}

/* k contiguous wholly free hugepages in one chunk, the first at an address
 * aligned to align.  Returns the chunk and first index. */
static struct mri_chunk *
pool_find_run(struct mri_pageheap *h, size_t k, size_t align, size_t *first)
{
	struct mri_chunk *c;

	for (c = h->chunks; c; c = c->next) {
		size_t i, run = 0;
		if (c->nhp < k)
			continue;
		for (i = 0; i < c->nhp; i++) {
			if (c->hp[i].nfree != MRI_HP_PAGES) {
				run = 0;
				continue;
			}
			if (run == 0 && ((c->base + i * MRI_HUGE_SIZE) & (align - 1)))
				continue;
			if (++run == k) {
				*first = i + 1 - k;
				return c;
			}
		}
	}
	return NULL;
}

/* Find and claim npages; returns the chunk and first page, or NULL. */
static struct mri_chunk *
heap_take(struct mri_pageheap *h, size_t npages, size_t align, size_t *pg, int *zero)
{
	struct mri_chunk *c;
	struct mri_hp *hp;
	int start;
	size_t first;

	if (npages < MRI_HP_PAGES && align <= MRI_HUGE_SIZE) {
		int ap = align > MRI_PAGE_SIZE ? (int)(align / MRI_PAGE_SIZE) : 1;
		hp = filler_pick(h, (int)npages, ap, &start);
		if (!hp) {
			/* A fresh hugepage: a backed one if any (no faults). */
			hp = h->pool_backed.head ? h->pool_backed.head : h->pool_rel.head;
			if (!hp) {
				if (!heap_grow(h, MRI_HUGE_SIZE, MRI_HUGE_SIZE))
					return NULL;
				hp = h->pool_rel.head;
			}
			start = 0;
		}
		c = hp->chunk;
		*pg = (size_t)hp->idx * MRI_HP_PAGES + (size_t)start;
	} else {
		size_t k = (npages + MRI_HP_PAGES - 1) / MRI_HP_PAGES;
		size_t al = align > MRI_HUGE_SIZE ? align : MRI_HUGE_SIZE;
		c = pool_find_run(h, k, al, &first);
		if (!c) {
			if (!heap_grow(h, k * MRI_HUGE_SIZE, al))
				return NULL;
			c = pool_find_run(h, k, al, &first);
			if (!c) {
				errno = ENOMEM;
				return NULL;
			}
		}
		*pg = first * MRI_HP_PAGES;
	}
	*zero = range_is_zero(c, *pg, npages);
	range_claim(h, c, *pg, npages);
	return c;
}

/* ---- large span cache (heap lock held) ---- */

static void
lcache_evict_one(struct mri_pageheap *h)
{
	uint32_t i = h->lcache_head;
	struct mri_span *s = h->lcache[i];

	h->lcache[i] = NULL;
	h->lcache_head = (i + 1) % MRI_LCACHE_SLOTS;
	h->lcache_n--;
	h->lcache_pages -= s->npages;
	range_unclaim(h, s->chunk, (s->start - s->chunk->base) / MRI_PAGE_SIZE, s->npages, 0, 0);
	s->next = h->span_free;
	h->span_free = s;
}

static void
lcache_put(struct mri_pageheap *h, struct mri_span *s)
{
	while (h->lcache_n == MRI_LCACHE_SLOTS || h->lcache_pages + s->npages > MRI_LCACHE_PAGES)
		lcache_evict_one(h);
	h->lcache[(h->lcache_head + h->lcache_n) % MRI_LCACHE_SLOTS] = s;
	h->lcache_n++;
	h->lcache_pages += s->npages;
}

/* The smallest cached span of npages .. npages * 1.25 pages: the extra
 * quarter at most is slack the caller may use (malloc_usable_size). */
static struct mri_span *
lcache_take(struct mri_pageheap *h, size_t npages)
{
	uint32_t k, best = MRI_LCACHE_SLOTS, i, j;
	size_t bestn = npages + npages / 4 + 1;
	struct mri_span *s;

	for (k = 0; k < h->lcache_n; k++) {
		i = (h->lcache_head + k) % MRI_LCACHE_SLOTS;
		if (h->lcache[i]->npages >= npages && h->lcache[i]->npages < bestn) {
			best = k;
			bestn = h->lcache[i]->npages;
			if (bestn == npages)
				break;
		}
	}
	if (best == MRI_LCACHE_SLOTS)
		return NULL;
	i = (h->lcache_head + best) % MRI_LCACHE_SLOTS;
	s = h->lcache[i];
	/* close the gap: shift the younger entries down */
	for (k = best; k + 1 < h->lcache_n; k++) {
		i = (h->lcache_head + k) % MRI_LCACHE_SLOTS;
		j = (i + 1) % MRI_LCACHE_SLOTS;
		h->lcache[i] = h->lcache[j];
	}
	h->lcache_n--;
	h->lcache[(h->lcache_head + h->lcache_n) % MRI_LCACHE_SLOTS] = NULL;
	h->lcache_pages -= s->npages;
	s->zeroed = 0;
	return s;
}

/* Give cached large spans' pages back to the heap (release path). */
static void
lcache_drain(struct mri_pageheap *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->lcache_n)
		lcache_evict_one(h);
	pthread_mutex_unlock(&h->lock);
}

void
mri_pageheap_drain_cache(void)
{
	int n;

	for (n = 0; n < MRI_MAX_NODES; n++) {
		struct mri_pageheap *h = __atomic_load_n(&mri_heaps[n], __ATOMIC_ACQUIRE);
		if (h)
			lcache_drain(h);
	}
}

struct mri_span *
mri_pageheap_alloc(int node, size_t npages, size_t align, unsigned cls)
{
	struct mri_pageheap *h = mri_heaps[node];
	struct mri_chunk *c;
	struct mri_span *s;
	size_t pg;

	if (!h) {		/* the core failed to start */
		errno = ENOMEM;
		return NULL;
	}
	int zero;
	uint64_t lim = __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);

	if (npages == 0 || npages > ((size_t)1 << 34)) {
		errno = ENOMEM;
		return NULL;
	}
	if (lim && __atomic_load_n(&heap_retained_bytes, __ATOMIC_RELAXED) +
			   npages * MRI_PAGE_SIZE > lim) {
		if (mri_limit_exceeded && mri_limit_exceeded(npages * MRI_PAGE_SIZE) < 0) {
			errno = ENOMEM;
			return NULL;
		}
	}
	pthread_mutex_lock(&h->lock);
	if (!cls && h->lcache_n && align <= MRI_PAGE_SIZE && npages < MRI_HP_PAGES) {
		s = lcache_take(h, npages);
		if (s) {
			h->large += s->npages;
			pthread_mutex_unlock(&h->lock);
			mri_pagemap_set(s->start, 1, s);
			return s;
		}
	}
	/* Span records are recycled per heap, under the lock we hold anyway:
	 * no trip to the global metadata lock on the large-object path. */
	s = h->span_free;
	if (s)
		h->span_free = s->next;
	else if (!(s = mri_pool_get(&span_pool))) {
		pthread_mutex_unlock(&h->lock);
		errno = ENOMEM;
		return NULL;
	}
	c = heap_take(h, npages, align, &pg, &zero);
	if (!c) {
		s->next = h->span_free;
		h->span_free = s;
		pthread_mutex_unlock(&h->lock);
		errno = ENOMEM;
		return NULL;
	}
	if (!cls)
		h->large += npages;
	pthread_mutex_unlock(&h->lock);

	memset(s, 0, sizeof(*s));
	s->start = c->base + pg * MRI_PAGE_SIZE;
	s->npages = (uint32_t)npages;
	s->cls = (uint8_t)cls;
	s->node = (uint8_t)node;
	s->zeroed = (uint8_t)zero;
	s->chunk = c;
	if (cls) {
		s->size = mri_class_size[cls];
		s->magic = mri_class_divmagic[cls];
		mri_pagemap_set(s->start, npages, s);
	} else {
		mri_pagemap_set(s->start, 1, s);
	}
	heap_maybe_thp();
	return s;
}

static size_t heap_release_one(struct mri_pageheap *h, size_t bytes, int advice,
			       unsigned flags, uint64_t min_age_ns);

/*
 * Excess idle memory goes back at once, without waiting for the scavenger:
 * when free-but-backed pages pass max(64 MiB, a quarter of the pages in
 * use), whole hugepages (oldest first) are released down to max(64 MiB, an
 * eighth).
 * Below that band the scavenger's delay rules, so bursts that repeat do
 * not thrash; above it a program that just freed a big structure shrinks
 * now, as it would under glibc (whose big blocks are munmapped on free).
 * Worked example: 800 MiB in use, 400 MiB just freed: 400 > 200, release
 * 300 MiB, keep 100 MiB for the next burst.  Measured on a python json
 * round trip of 600 MiB live: peak RSS 744 MiB (band at 1/2: 796 MiB;
 * jemalloc 692, mimalloc 789, tcmalloc 891, glibc 608).  The decision is
 * a few arithmetic operations made under the heap lock the free already
 * holds; the release itself runs after it is dropped.
 */
static size_t
heap_excess_locked(const struct mri_pageheap *h)
{
	uint64_t in_use = h->mapped - h->nfree, idle = h->nfree - h->nrel;
	uint64_t floor = ((uint64_t)64 << 20) / MRI_PAGE_SIZE, keep;

	if (idle <= floor || idle <= in_use / 4)
		return 0;
	keep = in_use / 8 > floor ? in_use / 8 : floor;
	return (size_t)(idle - keep) * MRI_PAGE_SIZE;
}

static void
heap_trim(struct mri_pageheap *h, size_t excess)
{
	if (excess)
		(void)heap_release_one(h, excess, MADV_DONTNEED, 0, 0);
}

void
mri_pageheap_free(struct mri_span *s)
{
	struct mri_pageheap *h = mri_heaps[s->node];
	struct mri_chunk *c = s->chunk;
	size_t pg = (s->start - c->base) / MRI_PAGE_SIZE;
	size_t n = s->npages;
	int large = s->cls == 0;

	uint64_t emptied;
	size_t excess;

	mri_pagemap_set(s->start, large ? 1 : n, NULL);
	pthread_mutex_lock(&h->lock);
	emptied = h->emptied;
	if (large)
		h->large -= n;
	if (large && n < MRI_HP_PAGES && n <= MRI_LCACHE_PAGES / 4) {
		lcache_put(h, s);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	range_unclaim(h, c, pg, n, 0, 0);
	emptied = h->emptied - emptied;
	excess = heap_excess_locked(h);
	s->next = h->span_free;
	h->span_free = s;
	pthread_mutex_unlock(&h->lock);
	heap_trim(h, excess);
	/* A whole hugepage just became free: tell the scavenger so its delay
	 * starts now rather than at its next idle tick.  The wake makes a
	 * syscall only when the thread sleeps and was not kicked already. */
	if (emptied && mri_scavenger_wake)
		mri_scavenger_wake();
}

/* Re-apply what the chunk's mapping had (huge page advice, NUMA policy) to
 * a range the kernel mapped afresh. */
static void
chunk_restore_attrs(struct mri_chunk *c, uintptr_t a, size_t len)
{
	if (c->advised)
		(void)mri_os->advise((void *)a, len, MADV_HUGEPAGE);
	if (mri_opt(MRI_OPT_NUMA) != 2 && mri_numa_nodes() > 0)
		(void)mri_os->bind((void *)a, len, c->node, mri_opt(MRI_OPT_NUMA) == 1);
}

struct mri_span *
mri_pageheap_move(struct mri_span *s, size_t npages)
{
	struct mri_pageheap *h = mri_heaps[s->node];
	struct mri_chunk *c = s->chunk;
	size_t pg = (s->start - c->base) / MRI_PAGE_SIZE, n = s->npages;
	struct mri_span *t;
	size_t excess;
	int rc;

	if (!mri_os->move || s->cls || n < MRI_HP_PAGES || npages <= n)
		return NULL;
	/* Hugepage aligned on both sides, the kernel moves whole page table
	 * entries (PMDs): the cost does not grow with the data. */
	t = mri_pageheap_alloc(s->node, npages, MRI_HUGE_SIZE, 0);
	if (!t)
		return NULL;
	rc = mri_os->move((void *)s->start, n * MRI_PAGE_SIZE, (void *)t->start);
	if (rc < 0 && rc != -EFAULT) {
		mri_pageheap_free(t);
		return NULL;
	}
	mri_pagemap_set(s->start, 1, NULL);
	if (rc == -EFAULT) {
		/* The data moved but the hole stayed: those pages can never
		 * be handed out again, so they stay claimed (lost, not
		 * corrupt). */
		return t;
	}
	chunk_restore_attrs(c, s->start, n * MRI_PAGE_SIZE);
	pthread_mutex_lock(&h->lock);
	range_unclaim(h, c, pg, n, 1, 0);	/* fresh zero pages */
	h->large -= n;
	excess = heap_excess_locked(h);
	s->next = h->span_free;
	h->span_free = s;
	pthread_mutex_unlock(&h->lock);
	heap_trim(h, excess);
	return t;
}

int
mri_pageheap_resize(struct mri_span *s, size_t npages)
{
	struct mri_pageheap *h = mri_heaps[s->node];
	struct mri_chunk *c = s->chunk;
	size_t pg = (s->start - c->base) / MRI_PAGE_SIZE;
	size_t end = pg + s->npages;
	int rc = 0;

	if (npages == s->npages)
		return 0;
	pthread_mutex_lock(&h->lock);
	if (npages < s->npages) {
		range_unclaim(h, c, pg + npages, s->npages - npages, 0, 0);
		h->large -= s->npages - npages;
		s->npages = (uint32_t)npages;
	} else if (pg + npages <= (size_t)c->nhp * MRI_HP_PAGES &&
		   range_is_free(c, end, npages - s->npages)) {
		range_claim(h, c, end, npages - s->npages);
		h->large += npages - s->npages;
		s->npages = (uint32_t)npages;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int
mri_pageheap_init(int node)
{
	struct mri_pageheap *h;

	if (mri_heaps[node])
		return 0;
	h = mri_meta_alloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->node = node;
	__atomic_store_n(&mri_heaps[node], h, __ATOMIC_RELEASE);
	return 0;
}

/* ---- release ---- */

struct taken {
	struct mri_chunk *c;
	size_t pg, n;
	size_t fresh;		/* pages that become newly released */
};

/* Claim ranges to release from h into b/t, up to want pages.  Lock held. */
static unsigned
release_pick(struct mri_pageheap *h, struct mri_purge_batch *b, struct taken *t,
	     size_t want, unsigned flags, uint64_t min_age_ns, uint64_t now)
{
	unsigned nt = 0;
	size_t got = 0;
	struct mri_hp *hp, *prev;

	/* Whole hugepages, oldest first: no THP is split. */
	for (hp = h->pool_backed.tail; hp && nt < MRI_PURGE_MAX && got < want; hp = prev) {
		prev = hp->prev;
		if (!(flags & MRI_RELEASE_SPLIT) && now - hp->free_since_ns < min_age_ns)
			break;	/* the rest are younger */
		t[nt].c = hp->chunk;
		t[nt].pg = (size_t)hp->idx * MRI_HP_PAGES;
		t[nt].n = MRI_HP_PAGES;
		t[nt].fresh = MRI_HP_PAGES - hp->nrel;
		got += t[nt].fresh;
		hp_claim(h, hp, 0, MRI_HP_PAGES);
		mri_purge_add(b, (void *)(hp->chunk->base + (size_t)hp->idx * MRI_HUGE_SIZE), MRI_HUGE_SIZE);
		nt++;
	}
	if (!(flags & MRI_RELEASE_SPLIT))
		return nt;
	/* Free backed runs inside partly used hugepages, emptiest first.
	 * Each claim moves hp to another bucket, so rescan after each. */
	while (nt < MRI_PURGE_MAX && got < want) {
		int u, found = 0;
		for (u = 0; u < MRI_FILL_BUCKETS && !found; u++) {
			unsigned l;
			for (l = 0; l < MRI_FILL_BUCKETS && !found; l++) {
				for (hp = h->filler[u][l].head; hp; hp = hp->next) {
					uint64_t bk[4];
					int w, s, e;
					for (w = 0; w < 4; w++)
						bk[w] = hp->free[w] & ~hp->rel[w];
					s = bits_next_set(bk, 0);
					if (s >= 256)
						continue;
					e = bits_next_clear(bk, s);
					t[nt].c = hp->chunk;
					t[nt].pg = (size_t)hp->idx * MRI_HP_PAGES + (size_t)s;
					t[nt].n = (size_t)(e - s);
					t[nt].fresh = (size_t)(e - s);
					got += t[nt].n;
					mri_purge_add(b, (void *)(hp->chunk->base + t[nt].pg * MRI_PAGE_SIZE),
						      t[nt].n * MRI_PAGE_SIZE);
					hp_claim(h, hp, s, e - s);
					nt++;
					found = 1;
					break;
				}
			}
		}
		if (!found)
			break;
	}
	return nt;
}

static size_t
heap_release_one(struct mri_pageheap *h, size_t bytes, int advice, unsigned flags,
		 uint64_t min_age_ns)
{
	struct mri_purge_batch b;
	struct taken t[MRI_PURGE_MAX];
	size_t done = 0;
	int lazy = advice == MADV_FREE;

	while (done < bytes) {
		size_t left = bytes - done, before = done;
		size_t want = left / MRI_PAGE_SIZE + (left % MRI_PAGE_SIZE != 0);
		unsigned nt, i;

		mri_purge_batch_init(&b, advice);
		pthread_mutex_lock(&h->lock);
		nt = release_pick(h, &b, t, want, flags, min_age_ns, mri_os->now_ns());
		pthread_mutex_unlock(&h->lock);
		if (nt == 0)
			break;
		mri_purge_flush(&b);
		pthread_mutex_lock(&h->lock);
		for (i = 0; i < nt; i++) {
			int ok = b.r[i].err == 0;
			range_unclaim(h, t[i].c, t[i].pg, t[i].n, ok, ok && lazy);
			if (ok)
				done += t[i].fresh * MRI_PAGE_SIZE;
		}
		pthread_mutex_unlock(&h->lock);
		if (nt < MRI_PURGE_MAX && !(flags & MRI_RELEASE_SPLIT))
			break;
		/* A batch that released nothing (every range failed) ends the
		 * loop: failed ranges go back as backed and would be picked
		 * again forever. */
		if (done == before)
			break;
	}
	return done;
}

size_t
mri_heap_release(size_t bytes, int advice, unsigned flags, uint64_t min_age_ns)
{
	size_t done = 0;
	int n;

	if (flags & MRI_RELEASE_DRAIN)
		mri_central_drain_all();
	for (n = 0; n < MRI_MAX_NODES && done < bytes; n++) {
		struct mri_pageheap *h = __atomic_load_n(&mri_heaps[n], __ATOMIC_ACQUIRE);
		if (!h)
			continue;
		if (flags & MRI_RELEASE_DRAIN)
			lcache_drain(h);
		done += heap_release_one(h, bytes - done, advice, flags, min_age_ns);
	}
	return done;
}

uint64_t
mri_heap_retained(void)
{
	return __atomic_load_n(&heap_retained_bytes, __ATOMIC_RELAXED);
}

void
mri_pageheap_counters(struct mri_heap_counters *hc)
{
	int n;

	for (n = 0; n < MRI_MAX_NODES; n++) {
		struct mri_pageheap *h = __atomic_load_n(&mri_heaps[n], __ATOMIC_ACQUIRE);
		if (!h)
			continue;
		pthread_mutex_lock(&h->lock);
		hc->mapped_bytes += h->mapped * MRI_PAGE_SIZE;
		hc->in_use_bytes += (h->mapped - h->nfree) * MRI_PAGE_SIZE;
		hc->idle_bytes += (h->nfree - h->nrel) * MRI_PAGE_SIZE;
		hc->released_bytes += (h->nrel - h->nlazy) * MRI_PAGE_SIZE;
		hc->lazy_bytes += h->nlazy * MRI_PAGE_SIZE;
		hc->large_bytes += h->large * MRI_PAGE_SIZE;
		hc->nodes++;
		pthread_mutex_unlock(&h->lock);
	}
	hc->metadata_bytes += mri_meta_bytes() + mri_pagemap_bytes();
}

void
mri_pageheap_lock_all(void)
{
	int n;

	pthread_mutex_lock(&heaps_mu);
	for (n = 0; n < MRI_MAX_NODES; n++)
		if (mri_heaps[n])
			pthread_mutex_lock(&mri_heaps[n]->lock);
}

void
mri_pageheap_unlock_all(void)
{
	int n;

	for (n = MRI_MAX_NODES; n-- > 0;)
		if (mri_heaps[n])
			pthread_mutex_unlock(&mri_heaps[n]->lock);
	pthread_mutex_unlock(&heaps_mu);
}

