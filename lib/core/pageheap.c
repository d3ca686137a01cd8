/*
 * pageheap.c: placement in the per-node page heaps (see pageheap.h for the
 * data structure).  It owns mapping chunks and switching them to huge pages,
 * finding room for a span (the fullest filler hugepage that fits, or a run
 * of wholly free hugepages from the pool), the span records, the cache of
 * recently freed large spans, moving idle backed hugepages under a new
 * large span, resizing and moving large spans, the per-node
 * heaps themselves and their counters.  The hugepage maps and lists are
 * hugepage.c's; which free pages go back to the kernel is pagerelease.c's.
 * What the page heap must tell the layers above it (the soft limit is
 * crossed, a hugepage became wholly free) goes through the hooks they
 * register (mri_heap_set_hooks, heap.h); it calls nothing above the core.
 *
 * Huge pages pay once the heap is big: with THP in "madvise" mode a fault
 * in an MADV_HUGEPAGE range takes a whole 2 MiB, so a program with a 100 KiB
 * heap would pay 2 MiB of RSS per chunk if chunks were advised at once.  In
 * "auto" mode (the default) chunks are advised only once retained memory
 * passes hugepage_threshold (64 MiB): from then on every chunk, including
 * the untouched rest of the first ones, is advised.  A 512 MiB heap thus
 * sits on huge pages but for at most its first 64 MiB (>= 87%).  Below
 * 64 MiB the TLB reach gained is small next to what a huge page costs a
 * small heap: what it costs a large span (below), for every partly used
 * hugepage (bench/README, "Figures behind constants").
 *
 * Except large spans: in auto mode the whole hugepages of a span of a
 * hugepage or more get MADV_NOHUGEPAGE while it lives (and the advice
 * back when it is freed).  Huge pages buy TLB reach for the small objects
 * packed in them; a big buffer is mostly streamed through, and on huge
 * pages it pays 2 MiB of RSS for its last, partly used hugepage, and
 * 2 MiB of zeroing, and on a VM whose host takes free memory back (free
 * page reporting) a host fault, at each first touch.  Pages moved under a
 * span (below) keep whatever they were.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "os/options.h"
#include "core/heap.h"
#include "core/meta.h"
#include "core/pageheap.h"
#include "core/pageheap_internal.h"
#include "core/pagemap.h"
#include "os/os.h"

struct mri_pageheap *mri_heaps[MRI_MAX_NODES];
/* The soft limit in force (bytes, 0 = none); see heap.h. */
uint64_t mri_heap_soft_limit;
static struct mri_pool span_pool = MRI_POOL_INIT(sizeof(struct mri_span));
static pthread_mutex_t heaps_mu = PTHREAD_MUTEX_INITIALIZER;

/* Global figures kept with atomics so the limit check is a plain load
 * (mri_heap_retained_bytes is hugepage.c's). */
static uint64_t heap_mapped_bytes;
static int heap_thp_on; /* auto mode crossed the threshold */

/* What the upper layers asked to be told (NULL: nobody).  Read on slow
 * paths only: the soft limit crossed, a hugepage emptied. */
static const struct mri_heap_hooks *heap_hooks;
/* Nodes libnuma reported (0 when NUMA is unavailable): chunks are bound
 * to their node only then.  Set by the core's start-up. */
static int heap_numa_nodes;

void
mri_heap_set_hooks(const struct mri_heap_hooks *hooks)
{
	__atomic_store_n(&heap_hooks, hooks, __ATOMIC_RELEASE);
}

void
mri_pageheap_set_numa(int nodes)
{
	__atomic_store_n(&heap_numa_nodes, nodes, __ATOMIC_RELAXED);
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
		/* Lock-free: heap_grow publishes chunks with a release
		 * store, and a published chunk's next never changes. */
		for (c = __atomic_load_n(&h->chunks, __ATOMIC_ACQUIRE); c;
		     c = c->next)
			if (!__atomic_load_n(&c->advised, __ATOMIC_RELAXED)) {
				(void)mri_os->advise((void *)c->base,
						     (size_t)c->nhp *
							 MRI_HUGE_SIZE,
						     MADV_HUGEPAGE);
				__atomic_store_n(&c->advised, 1,
						 __ATOMIC_RELAXED);
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
	    mri_opt(MRI_OPT_HUGEPAGES) != MRI_HUGEPAGES_AUTO)
		return;
	if (__atomic_load_n(&mri_heap_retained_bytes, __ATOMIC_RELAXED) <
	    (uint64_t)mri_opt(MRI_OPT_HUGEPAGE_THRESHOLD))
		return;
	pthread_mutex_lock(&heaps_mu);
	if (!heap_thp_on) {
		heap_advise_all_locked();
		__atomic_store_n(&heap_thp_on, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&heaps_mu);
}

/* Pages [from, to) of a large span of chunk c were placed (advice
 * MADV_NOHUGEPAGE) or are given back (MADV_HUGEPAGE): the whole hugepages
 * among them follow the rule above.  Called while the span still holds
 * the pages, and without the heap lock. */
static void
large_advise(struct mri_chunk *c, uintptr_t from, uintptr_t to, int advice)
{
	uintptr_t a = (from + MRI_HUGE_SIZE - 1) & ~(MRI_HUGE_SIZE - 1);
	uintptr_t b = to & ~(MRI_HUGE_SIZE - 1);

	if (b <= a || mri_opt(MRI_OPT_HUGEPAGES) != MRI_HUGEPAGES_AUTO ||
	    !__atomic_load_n(&c->advised, __ATOMIC_RELAXED))
		return;
	(void)mri_os->advise((void *)a, b - a, advice);
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
	c = mri_meta_alloc(sizeof(*c) +
			   (len / MRI_HUGE_SIZE) * sizeof(struct mri_hp));
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
		hp_list_push_head(&h->pool_rel, hp);
		hp->list = HPL_POOL_REL;
	}
	if (mri_opt(MRI_OPT_NUMA) != MRI_NUMA_OFF &&
	    __atomic_load_n(&heap_numa_nodes, __ATOMIC_RELAXED) > 0)
		(void)mri_os->bind(base, len, h->node,
				   mri_opt(MRI_OPT_NUMA) == MRI_NUMA_STRICT);
	if (mode == MRI_HUGEPAGES_ALWAYS ||
	    (mode == MRI_HUGEPAGES_AUTO &&
	     __atomic_load_n(&heap_thp_on, __ATOMIC_RELAXED))) {
		(void)mri_os->advise(base, len, MADV_HUGEPAGE);
		__atomic_store_n(&c->advised, 1, __ATOMIC_RELAXED);
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

/* A filler hugepage with a warm run of n pages (n < 256, backed or lazily
 * freed: no new resident memory) aligned to align pages, the fullest
 * first.  On the way it notes in *cold / *cold_start the fullest hugepage
 * with any free run that fits.  After FILLER_WARM_SCAN hugepages that fit
 * it stops looking for warm runs, so a big heap with none pays a bounded
 * scan: it returns NULL, and *cold (NULL when nothing fits). */
#define FILLER_WARM_SCAN 16

static struct mri_hp *
filler_pick(struct mri_pageheap *h, int n, int align, int *start,
	    struct mri_hp **cold, int *cold_start)
{
	int u, minl = n >> 4, scan = 0;

	*cold = NULL;
	for (u = MRI_FILL_BUCKETS - 1; u >= 0; u--) {
		unsigned mask = h->filler_mask[u] & ~((1u << minl) - 1);
		while (mask) {
			int l = __builtin_ctz(mask);
			struct mri_hp *hp;
			mask &= mask - 1;
			for (hp = h->filler[u][l].head; hp; hp = hp->next) {
				if (hp->longest < n)
					continue;
				*start = mri_hp_find_warm(hp, n, align);
				if (*start >= 0)
					return hp;
				if (!*cold) {
					*cold_start = mri_hp_find(hp, n, align);
					if (*cold_start >= 0)
						*cold = hp;
				}
				if (++scan >= FILLER_WARM_SCAN && *cold)
					return NULL;
			}
		}
	}
	return NULL;
}

/* Pages of hp a span placed there would not fault in: backed free pages
 * and lazily freed ones (unless the kernel took them). */
static size_t
hp_warm(const struct mri_hp *hp)
{
	return (size_t)(MRI_HP_PAGES - hp->nrel) + hp->nlazy;
}

/*
 * k contiguous wholly free hugepages in one chunk, the first at an address
 * aligned to align: of all such runs, the one with the most backed (or
 * lazily freed) pages, so a large span reuses memory a free left backed
 * instead of faulting in released hugepages while backed ones sit idle
 * (and are then released by the excess rule: fault, release, refault).
 * Ties go to the first run found.  Returns the chunk and first index.
 */
static struct mri_chunk *
pool_find_run(struct mri_pageheap *h, size_t k, size_t align, size_t *first)
{
	struct mri_chunk *c, *best = NULL;
	size_t best_warm = 0, full = k * MRI_HP_PAGES;

	for (c = h->chunks; c; c = c->next) {
		size_t i, run = 0, warm = 0;
		if (c->nhp < k)
			continue;
		for (i = 0; i < c->nhp; i++) {
			if (c->hp[i].nfree != MRI_HP_PAGES) {
				run = 0;
				warm = 0;
				continue;
			}
			run++;
			warm += hp_warm(&c->hp[i]);
			if (run > k) {
				warm -= hp_warm(&c->hp[i - k]);
				run = k;
			}
			if (run < k ||
			    ((c->base + (i + 1 - k) * MRI_HUGE_SIZE) &
			     (align - 1)))
				continue;
			if (!best || warm > best_warm) {
				best = c;
				best_warm = warm;
				*first = i + 1 - k;
				if (warm == full)
					return c;
			}
		}
	}
	return best;
}

/* Spans up to this many hugepages (128 MiB) get warm hugepages moved in. */
#define MRI_HEAP_MOVE_HP 64

/*
 * Moving warm hugepages under a new large span.  A span of k hugepages
 * needs them contiguous, so the free hugepages a free left backed are
 * often in the wrong place: elsewhere in the chunk, or split by a live
 * span.  Faulting the run in while they sit idle costs page faults (2 MiB
 * of zeroing each, far more on a VM whose host took the free memory back)
 * and RSS until the release path gives the idle ones back, and then the
 * next big span faults again.  Instead each released hugepage of the run
 * gets the pages of a wholly free, wholly backed hugepage, moved by the
 * kernel (mremap: page table entries move, no data is copied), and the
 * source becomes released: RSS stays put and nothing faults.  Sources are
 * taken oldest first, the ones the release path would give back next.
 * Pairs are claimed under the heap lock and moved after it is dropped.
 * Moved pages keep a mapping of their own until the kernel can merge it
 * with its neighbours again, so the process has more mappings, at most
 * one per hugepage of the heap.  A fork while a move runs leaves its
 * sources claimed in the child (lost there, like a purge in flight).
 */
#define HEAP_MOVES_MAX 32 /* ranges per allocation; the rest fault in */

struct heap_move {
	struct mri_chunk *src;
	uint32_t src_hp, dst_hp, n; /* hugepage indexes, count */
};

struct heap_moves {
	unsigned n;
	struct heap_move m[HEAP_MOVES_MAX];
};

/* A source: wholly free, every page backed, or every page lazily freed
 * (in RSS until the kernel takes them; moved, they are reused as they
 * would be in place). */
static struct mri_hp *
move_source(struct mri_pageheap *h)
{
	struct mri_hp *hp;

	for (hp = h->pool_backed.tail; hp; hp = hp->prev)
		if (hp->nrel == 0)
			return hp;
	for (hp = h->pool_lazy.tail; hp; hp = hp->prev)
		if (hp->nlazy == MRI_HP_PAGES)
			return hp;
	return NULL;
}

/* Pair the released hugepages [first, first+k) of c (cold[i] set before
 * the run was claimed) with sources, claiming those.  Lock held. */
static void
moves_plan(struct mri_pageheap *h, struct mri_chunk *c, size_t first, size_t k,
	   const uint8_t *cold, struct heap_moves *mv)
{
	size_t i;

	for (i = 0; i < k; i++) {
		struct heap_move *last = mv->n ? &mv->m[mv->n - 1] : NULL;
		struct mri_hp *src;

		if (!cold[i])
			continue;
		src = move_source(h);
		if (!src)
			return;
		mri_hp_claim(h, src, 0, MRI_HP_PAGES);
		if (last && last->src == src->chunk &&
		    last->src_hp + last->n == src->idx &&
		    last->dst_hp + last->n == first + i) {
			last->n++;
			continue;
		}
		if (mv->n == HEAP_MOVES_MAX) {
			mri_hp_unclaim(h, src, 0, MRI_HP_PAGES, 0, 0);
			return;
		}
		mv->m[mv->n++] = (struct heap_move){src->chunk, src->idx,
						    (uint32_t)(first + i), 1};
	}
}

static void chunk_restore_attrs(struct mri_chunk *c, uintptr_t a, size_t len);

/* Carry out the moves into chunk c, then put the sources back: released
 * (fresh zero pages) when they moved, backed when nothing moved, and
 * claimed for good when the kernel moved the pages but could not map the
 * hole again (lost, not corrupt: nothing will be placed there).  No lock
 * held on entry. */
static void
moves_run(struct mri_pageheap *h, struct mri_chunk *c,
	  const struct heap_moves *mv)
{
	int rc[HEAP_MOVES_MAX];
	unsigned i, j;

	for (i = 0; i < mv->n; i++) {
		const struct heap_move *m = &mv->m[i];
		uintptr_t from = m->src->base + m->src_hp * MRI_HUGE_SIZE;
		size_t len = (size_t)m->n * MRI_HUGE_SIZE;

		rc[i] =
		    mri_os->move((void *)from, len,
				 (void *)(c->base + m->dst_hp * MRI_HUGE_SIZE));
		if (rc[i] == 0)
			chunk_restore_attrs(m->src, from, len);
	}
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < mv->n; i++) {
		const struct heap_move *m = &mv->m[i];

		if (rc[i] == -EFAULT)
			continue;
		for (j = 0; j < m->n; j++)
			mri_hp_unclaim(h, &m->src->hp[m->src_hp + j], 0,
				       MRI_HP_PAGES, rc[i] == 0, 0);
	}
	pthread_mutex_unlock(&h->lock);
}

/* Find and claim npages; returns the chunk and first page, or NULL.  mv
 * (large spans only, may be NULL) gets the hugepages to move in. */
static struct mri_chunk *
heap_take(struct mri_pageheap *h, size_t npages, size_t align, size_t *pg,
	  int *zero, struct heap_moves *mv)
{
	struct mri_chunk *c;
	struct mri_hp *hp;
	int start;
	size_t first;

	if (npages < MRI_HP_PAGES && align <= MRI_HUGE_SIZE) {
		int ap =
		    align > MRI_PAGE_SIZE ? (int)(align / MRI_PAGE_SIZE) : 1;
		/* Warm pages first, wherever they are: a span placed on
		 * released pages while backed ones sit idle grows RSS by
		 * its size (and the idle ones are released later: fault,
		 * release, fault).  So: a warm run in the filler, the
		 * fullest first; then a wholly free backed hugepage, or the
		 * most recently lazily freed one; only then a released run
		 * in the filler, and last a released hugepage. */
		struct mri_hp *cold;
		int cold_start;

		hp = filler_pick(h, (int)npages, ap, &start, &cold,
				 &cold_start);
		if (!hp && (h->pool_backed.head || h->pool_lazy.head)) {
			hp = h->pool_backed.head ? h->pool_backed.head
						 : h->pool_lazy.head;
			start = 0;
		}
		if (!hp && cold) {
			hp = cold;
			start = cold_start;
		}
		if (!hp) {
			hp = h->pool_rel.head;
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
		if (mv && mri_os->move && k <= MRI_HEAP_MOVE_HP &&
		    (h->pool_backed.tail || h->pool_lazy.tail)) {
			uint8_t cold[MRI_HEAP_MOVE_HP];
			size_t i;

			/* Not the last hugepage when the span ends inside
			 * it: its free tail serves the filler, and a span
			 * placed there while the move runs unlocked would
			 * lose its pages. */
			for (i = 0; i < k; i++)
				cold[i] =
				    (i + 1) * MRI_HP_PAGES <= npages &&
				    c->hp[first + i].nrel == MRI_HP_PAGES &&
				    !c->hp[first + i].nlazy;
			*zero = mri_range_is_zero(c, *pg, npages);
			mri_range_claim(h, c, *pg, npages);
			moves_plan(h, c, first, k, cold, mv);
			if (mv->n)
				*zero = 0;
			return c;
		}
	}
	*zero = mri_range_is_zero(c, *pg, npages);
	mri_range_claim(h, c, *pg, npages);
	return c;
}

/* A span's pages back to the heap, its record to the recycled ones.  Lock
 * held. */
static void
span_drop_locked(struct mri_pageheap *h, struct mri_span *s)
{
	mri_range_unclaim(h, s->chunk,
			  (s->start - s->chunk->base) / MRI_PAGE_SIZE,
			  s->npages, 0, 0);
	s->next = h->span_free;
	h->span_free = s;
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
	span_drop_locked(h, s);
}

/* The cache's bound: an eighth of the pages in use outside it, at least
 * MRI_LCACHE_MIN, at most MRI_LCACHE_PAGES.  A small heap then keeps
 * little: its freed blocks rarely match the next ones in size (growing
 * buffers never do), and until evicted their pages are neither reused by
 * other spans nor released. */
static uint64_t
lcache_bound(const struct mri_pageheap *h)
{
	uint64_t used = h->mapped - h->nfree - h->lcache_pages, b = used / 8;

	return b < MRI_LCACHE_MIN ? MRI_LCACHE_MIN
	       : b > MRI_LCACHE_PAGES ? MRI_LCACHE_PAGES
				      : b;
}

/* Keep large span s whole, evicting the oldest to make room; 0 when s
 * alone is over the bound (the cache is left as it was).  Lock held. */
static int
lcache_put(struct mri_pageheap *h, struct mri_span *s)
{
	uint64_t bound = lcache_bound(h);

	if (s->npages > bound)
		return 0;
	while (h->lcache_n == MRI_LCACHE_SLOTS ||
	       h->lcache_pages + s->npages > bound)
		lcache_evict_one(h);
	h->lcache[(h->lcache_head + h->lcache_n) % MRI_LCACHE_SLOTS] = s;
	h->lcache_n++;
	h->lcache_pages += s->npages;
	return 1;
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
		if (h->lcache[i]->npages >= npages &&
		    h->lcache[i]->npages < bestn) {
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
void
mri_pageheap_lcache_drain(struct mri_pageheap *h)
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
		struct mri_pageheap *h =
		    __atomic_load_n(&mri_heaps[n], __ATOMIC_ACQUIRE);
		if (h)
			mri_pageheap_lcache_drain(h);
	}
}

/*
 * Growth beside idle pages.  A span (new, or grown in place) that faults in
 * fresh pages while the heap holds at least as many free backed ones, and
 * a floor more, grew RSS because those are in the wrong places: runs too
 * short, or in other hugepages.  They would sit resident until the heap
 * went quiet for a whole release delay (a dense heap's hugepages are not
 * split before).  Counted, so that the release path gives back as much of
 * them as was faulted in (Go's runtime scavenges likewise on heap growth),
 * and past a batch's worth the release path is woken (the grew hook: a
 * wake, no work on the allocating thread).  Lock held throughout.
 */
#define HEAP_FRAG_FLOOR 128 /* pages (1 MiB) of idle memory left alone */
/* Pages grown between wakes: a hugepage's worth, as for frees, so growth
 * brings the scavenger's cycles (each an unbudgeted snapshot and plan)
 * forward no more often than frees do. */
#define HEAP_FRAG_WAKE MRI_HP_PAGES

/* The counters a claim changes, taken before it. */
struct heap_mark {
	uint64_t rel, lazy, mapped;
};

static struct heap_mark
heap_mark(const struct mri_pageheap *h)
{
	return (struct heap_mark){h->nrel, h->nlazy, h->mapped};
}

/* Count the fresh pages claimed since m (released ones, not lazily freed;
 * a chunk mapped meanwhile came in released); 1 when the release path is
 * to be woken. */
static int
heap_grew_locked(struct mri_pageheap *h, const struct heap_mark *m)
{
	uint64_t cold = m->rel + (h->mapped - m->mapped) - h->nrel -
			(m->lazy - h->nlazy);
	uint64_t idle = h->nfree - h->nrel;

	if (!cold || idle < cold + HEAP_FRAG_FLOOR)
		return 0;
	h->frag_grown += cold;
	h->frag_unseen += cold;
	if (h->frag_unseen < HEAP_FRAG_WAKE)
		return 0;
	h->frag_unseen = 0;
	return 1;
}

static void
heap_grew_wake(int wake)
{
	const struct mri_heap_hooks *hk;

	if (!wake)
		return;
	hk = __atomic_load_n(&heap_hooks, __ATOMIC_ACQUIRE);
	if (hk && hk->grew)
		hk->grew();
}

struct mri_span *
mri_pageheap_alloc(int node, size_t npages, size_t align, unsigned cls)
{
	struct mri_pageheap *h = mri_heaps[node];
	struct mri_chunk *c;
	struct mri_span *s;
	struct heap_moves mv;
	struct heap_mark mark;
	int wake = 0;
	size_t pg;

	if (!h) { /* the core failed to start */
		errno = ENOMEM;
		return NULL;
	}
	int zero;
	uint64_t lim = __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);

	if (npages == 0 || npages > ((size_t)1 << 34)) {
		errno = ENOMEM;
		return NULL;
	}
	if (lim && __atomic_load_n(&mri_heap_retained_bytes, __ATOMIC_RELAXED) +
			   npages * MRI_PAGE_SIZE >
		       lim) {
		const struct mri_heap_hooks *hk =
		    __atomic_load_n(&heap_hooks, __ATOMIC_ACQUIRE);
		if (hk && hk->limit_exceeded &&
		    hk->limit_exceeded(npages * MRI_PAGE_SIZE) < 0) {
			errno = ENOMEM;
			return NULL;
		}
	}
	pthread_mutex_lock(&h->lock);
	if (!cls && h->lcache_n && align <= MRI_PAGE_SIZE &&
	    npages < MRI_HP_PAGES) {
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
	mv.n = 0;
	mark = heap_mark(h);
	c = heap_take(h, npages, align, &pg, &zero, &mv);
	if (c && npages < MRI_HP_PAGES)
		wake = heap_grew_locked(h, &mark);
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
	heap_grew_wake(wake);
	if (mv.n)
		moves_run(h, c, &mv);

	memset(s, 0, sizeof(*s));
	s->start = c->base + pg * MRI_PAGE_SIZE;
	s->npages = (uint32_t)npages;
	s->cls = (uint8_t)cls;
	s->node = (uint8_t)node;
	s->zeroed = (uint8_t)zero;
	s->chunk = c;
	heap_maybe_thp();
	if (cls) {
		s->size = mri_class_size[cls];
		s->magic = mri_class_divmagic[cls];
		mri_pagemap_set(s->start, npages, s);
	} else {
		large_advise(c, s->start, s->start + npages * MRI_PAGE_SIZE,
			     MADV_NOHUGEPAGE);
		mri_pagemap_set(s->start, 1, s);
	}
	return s;
}

/*
 * Free memory worth a release batch appeared: tell the layer above (the
 * release path), which makes it reclaimable within milliseconds, since a
 * free must never wait for a timer to become reclaimable.  Worth a batch:
 * a hugepage became wholly free, or a hugepage's worth of pages was freed
 * since the last wake (a sparse heap, where frees leave holes and no
 * hugepage empties).  Large and small frees alike end here, and so do spans
 * the large-span cache evicts.  The hook costs a syscall at most once per
 * scavenger cycle (it kicks the thread only when it was not kicked
 * already).  Lock held: counts, and fills *f with the heap's figures for
 * the hook; the caller calls heap_wake after dropping the lock.
 */
struct heap_freed {
	int worth;
	uint64_t in_use, idle; /* bytes */
};

static void
heap_freed_locked(struct mri_pageheap *h, uint64_t npages, uint64_t emptied,
		  struct heap_freed *f)
{
	h->freed_unseen += npages;
	f->worth = emptied || h->freed_unseen >= MRI_HP_PAGES;
	if (!f->worth)
		return;
	h->freed_unseen = 0;
	f->in_use = (h->mapped - h->nfree) * MRI_PAGE_SIZE;
	f->idle = (h->nfree - h->nrel) * MRI_PAGE_SIZE;
}

static void
heap_wake(const struct heap_freed *f)
{
	const struct mri_heap_hooks *hk;

	if (!f->worth)
		return;
	hk = __atomic_load_n(&heap_hooks, __ATOMIC_ACQUIRE);
	if (hk && hk->freed)
		hk->freed(f->in_use, f->idle);
}

void
mri_pageheap_free(struct mri_span *s)
{
	struct mri_pageheap *h = mri_heaps[s->node];
	struct mri_chunk *c = s->chunk;
	size_t n = s->npages;
	int large = s->cls == 0;
	uint64_t emptied, nfree;
	struct heap_freed f;

	mri_pagemap_set(s->start, large ? 1 : n, NULL);
	/* While the span still holds its pages: the advice must not land on
	 * the next span placed there. */
	if (large && n >= MRI_HP_PAGES)
		large_advise(c, s->start, s->start + n * MRI_PAGE_SIZE,
			     MADV_HUGEPAGE);
	pthread_mutex_lock(&h->lock);
	emptied = h->emptied;
	nfree = h->nfree;
	if (large)
		h->large -= n;
	/* Under a hugepage, kept whole for reuse if the cache's bound
	 * allows; the spans it evicts to make room go back to the heap and
	 * may empty hugepages too. */
	if (!(large && n < MRI_HP_PAGES && lcache_put(h, s)))
		span_drop_locked(h, s);
	heap_freed_locked(h, h->nfree - nfree, h->emptied - emptied, &f);
	pthread_mutex_unlock(&h->lock);
	heap_wake(&f);
}

/* Re-apply what the chunk's mapping had (huge page advice, NUMA policy) to
 * a range the kernel mapped afresh. */
static void
chunk_restore_attrs(struct mri_chunk *c, uintptr_t a, size_t len)
{
	if (__atomic_load_n(&c->advised, __ATOMIC_RELAXED))
		(void)mri_os->advise((void *)a, len, MADV_HUGEPAGE);
	if (mri_opt(MRI_OPT_NUMA) != MRI_NUMA_OFF &&
	    __atomic_load_n(&heap_numa_nodes, __ATOMIC_RELAXED) > 0)
		(void)mri_os->bind((void *)a, len, c->node,
				   mri_opt(MRI_OPT_NUMA) == MRI_NUMA_STRICT);
}

struct mri_span *
mri_pageheap_move(struct mri_span *s, size_t npages)
{
	struct mri_pageheap *h = mri_heaps[s->node];
	struct mri_chunk *c = s->chunk;
	size_t pg = (s->start - c->base) / MRI_PAGE_SIZE, n = s->npages;
	struct mri_span *t;
	uint64_t emptied;
	struct heap_freed f;
	int rc;

	if (!mri_os->move || s->cls || n < MRI_HP_PAGES || npages <= n)
		return NULL;
	/* Hugepage aligned on both sides, the kernel moves whole page table
	 * entries (PMDs): the cost does not grow with the data. */
	t = mri_pageheap_alloc(s->node, npages, MRI_HUGE_SIZE, 0);
	if (!t)
		return NULL;
	rc =
	    mri_os->move((void *)s->start, n * MRI_PAGE_SIZE, (void *)t->start);
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
	emptied = h->emptied;
	mri_range_unclaim(h, c, pg, n, 1, 0); /* fresh zero pages */
	h->large -= n;
	heap_freed_locked(h, n, h->emptied - emptied, &f);
	s->next = h->span_free;
	h->span_free = s;
	pthread_mutex_unlock(&h->lock);
	heap_wake(&f);
	return t;
}

int
mri_pageheap_resize(struct mri_span *s, size_t npages)
{
	struct mri_pageheap *h = mri_heaps[s->node];
	struct mri_chunk *c = s->chunk;
	size_t pg = (s->start - c->base) / MRI_PAGE_SIZE;
	size_t end = pg + s->npages;
	int rc = 0, grown = 0, wake = 0;

	if (npages == s->npages)
		return 0;
	if (npages < s->npages) /* the tail is still the span's */
		large_advise(c, s->start + npages * MRI_PAGE_SIZE,
			     s->start + (size_t)s->npages * MRI_PAGE_SIZE,
			     MADV_HUGEPAGE);
	pthread_mutex_lock(&h->lock);
	if (npages < s->npages) {
		mri_range_unclaim(h, c, pg + npages, s->npages - npages, 0, 0);
		h->large -= s->npages - npages;
		s->npages = (uint32_t)npages;
	} else if (pg + npages <= (size_t)c->nhp * MRI_HP_PAGES &&
		   mri_range_is_free(c, end, npages - s->npages)) {
		struct heap_mark before = heap_mark(h);

		mri_range_claim(h, c, end, npages - s->npages);
		wake = heap_grew_locked(h, &before);
		h->large += npages - s->npages;
		s->npages = (uint32_t)npages;
		grown = 1;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&h->lock);
	heap_grew_wake(wake);
	if (grown)
		large_advise(c, c->base + end * MRI_PAGE_SIZE,
			     s->start + npages * MRI_PAGE_SIZE,
			     MADV_NOHUGEPAGE);
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

uint64_t
mri_heap_retained(void)
{
	return __atomic_load_n(&mri_heap_retained_bytes, __ATOMIC_RELAXED);
}

uint64_t
mri_heap_purging(void)
{
	return __atomic_load_n(&mri_heap_purging_pages, __ATOMIC_ACQUIRE) *
	       MRI_PAGE_SIZE;
}

void
mri_pageheap_counters(struct mri_heap_counters *hc)
{
	int n;

	for (n = 0; n < MRI_MAX_NODES; n++) {
		struct mri_pageheap *h =
		    __atomic_load_n(&mri_heaps[n], __ATOMIC_ACQUIRE);
		if (!h)
			continue;
		pthread_mutex_lock(&h->lock);
		hc->mapped_bytes += h->mapped * MRI_PAGE_SIZE;
		hc->in_use_bytes += (h->mapped - h->nfree) * MRI_PAGE_SIZE;
		hc->idle_bytes += (h->nfree - h->nrel) * MRI_PAGE_SIZE;
		hc->released_bytes += (h->nrel - h->nlazy) * MRI_PAGE_SIZE;
		hc->lazy_bytes += h->nlazy * MRI_PAGE_SIZE;
		hc->lazy_partial_bytes +=
		    (h->nlazy - h->nlazy_pool) * MRI_PAGE_SIZE;
		hc->large_bytes += h->large * MRI_PAGE_SIZE;
		hc->frag_grown_bytes += h->frag_grown * MRI_PAGE_SIZE;
		if (h->pool_backed.tail &&
		    (!hc->oldest_idle_ns ||
		     h->pool_backed.tail->free_since_ns < hc->oldest_idle_ns))
			hc->oldest_idle_ns = h->pool_backed.tail->free_since_ns;
		if (h->pool_lazy.tail &&
		    (!hc->oldest_lazy_ns ||
		     h->pool_lazy.tail->free_since_ns < hc->oldest_lazy_ns))
			hc->oldest_lazy_ns = h->pool_lazy.tail->free_since_ns;
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
