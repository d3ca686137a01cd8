/*
 * pagerelease.c: the release side of the page heap.  It owns choosing which
 * free pages go back to the kernel (release_pick: whole hugepages oldest
 * first, then, when splitting is allowed, free runs inside partly used
 * hugepages), claiming them while the purge runs unlocked, and putting them
 * back as released (mri_pageheap_release_one, mri_pageheap_release),
 * including the second stage: lazily freed hugepages made honest with
 * MADV_DONTNEED (MRI_RELEASE_LAZY).  How much, with which advice and how
 * old the pages must be is decided above the core (release/policy.c); this
 * file only carries it out.  It leaves placement to
 * pageheap.c, the maps and lists to hugepage.c, and draining the central
 * lists to its callers (mri_heap_release in heap.c): the page heap never
 * calls up into the central lists.
 */
#include "config.h"
#include <sys/mman.h>
#include "core/heap.h"
#include "core/pageheap.h"
#include "core/pageheap_internal.h"
#include "os/os.h"
#include "os/purge.h"

/* ---- release ---- */

struct taken {
	struct mri_chunk *c;
	size_t pg, n;
	size_t fresh; /* pages that become newly released, or (LAZY) lazily
		       * freed pages that become released */
	size_t crel;  /* LAZY: released pages the claim counted as retained */
};

/*
 * Put pages [s, s+n) of hp in the batch, claimed like an allocation while
 * the purge runs unlocked, so nothing else can place a span there.
 * Lazily freed pages (the second stage) stay out of the retained figure:
 * the claim counts their released pages as retained again, which is taken
 * back at once, in the same critical section, and restored just before
 * they are put back.  Lock held.
 */
static void
take(struct mri_pageheap *h, struct mri_purge_batch *b, struct taken *t,
     struct mri_hp *hp, int s, int n, size_t fresh, int lazy)
{
	t->c = hp->chunk;
	t->pg = (size_t)hp->idx * MRI_HP_PAGES + (size_t)s;
	t->n = (size_t)n;
	t->fresh = fresh;
	t->crel = (size_t)mri_hp_claim(h, hp, s, n);
	if (lazy)
		__atomic_sub_fetch(&mri_heap_retained_bytes,
				   (uint64_t)t->crel * MRI_PAGE_SIZE,
				   __ATOMIC_RELAXED);
	else
		t->crel = 0;
	mri_purge_add(b, (void *)(hp->chunk->base + t->pg * MRI_PAGE_SIZE),
		      t->n * MRI_PAGE_SIZE);
}

/* The first run of partly used hugepage hp worth taking: its lazily freed
 * pages when their last lazy free is min_age_ns old (lazy), else its free
 * backed pages.  Returns the first page and sets *end, or returns -1. */
static int
hp_run(const struct mri_hp *hp, int lazy, uint64_t min_age_ns, uint64_t now,
       int *end)
{
	uint64_t bk[4];
	int w, s;

	if (lazy && (!hp->nlazy || now - hp->lazy_since_ns < min_age_ns))
		return -1;
	for (w = 0; w < 4; w++)
		bk[w] = lazy ? hp->lazy[w] : hp->free[w] & ~hp->rel[w];
	s = bits_next_set(bk, 0);
	if (s >= 256)
		return -1;
	*end = bits_next_clear(bk, s);
	return s;
}

/*
 * The first stage (MADV_FREE of idle memory, within milliseconds of the
 * free) takes whole hugepages one per batch.  Claimed pages cannot be
 * placed, so a burst that allocates again while its last free is being
 * lazily freed faults fresh hugepages beside the claimed ones, which still
 * count in RSS: one at a time, the burst takes the rest from the other end
 * of the pool, and at most one hugepage is doubled (bench/README, "Figures
 * behind constants").  Runs inside used
 * hugepages (MRI_RELEASE_SPLIT) keep the big batches: there may be
 * thousands.
 */
#define RELEASE_LAZY_BATCH 1

/*
 * Claim ranges to release from h into b/t, up to want pages and max
 * ranges.  Lock held.
 * Whole hugepages first, oldest first (no THP is split): free backed ones,
 * or with MRI_RELEASE_LAZY lazily freed ones (the second stage).  Then,
 * with MRI_RELEASE_SPLIT, runs inside partly used hugepages, emptiest
 * first; each claim may move a hugepage to another bucket, so the scan
 * starts over after each.
 */
static unsigned
release_pick(struct mri_pageheap *h, struct mri_purge_batch *b, struct taken *t,
	     size_t want, unsigned max, unsigned flags, uint64_t min_age_ns,
	     uint64_t now)
{
	int lazy = !!(flags & MRI_RELEASE_LAZY);
	struct mri_hplist *pool = lazy ? &h->pool_lazy : &h->pool_backed;
	unsigned nt = 0;
	size_t got = 0;
	struct mri_hp *hp, *prev;

	for (hp = pool->tail; hp && nt < max && got < want; hp = prev) {
		size_t fresh = lazy ? hp->nlazy : MRI_HP_PAGES - hp->nrel;

		prev = hp->prev;
		if ((lazy || !(flags & MRI_RELEASE_SPLIT)) &&
		    now - hp->free_since_ns < min_age_ns)
			break; /* the rest are younger */
		got += fresh;
		take(h, b, &t[nt++], hp, 0, MRI_HP_PAGES, fresh, lazy);
	}
	if (!(flags & MRI_RELEASE_SPLIT))
		return nt;
	while (nt < max && got < want) {
		int u, found = 0;

		for (u = 0; u < MRI_FILL_BUCKETS && !found; u++) {
			unsigned l;

			for (l = 0; l < MRI_FILL_BUCKETS && !found; l++) {
				for (hp = h->filler[u][l].head; hp;
				     hp = hp->next) {
					int s, e;

					s = hp_run(hp, lazy, min_age_ns, now,
						   &e);
					if (s < 0)
						continue;
					got += (size_t)(e - s);
					take(h, b, &t[nt++], hp, s, e - s,
					     (size_t)(e - s), lazy);
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

size_t
mri_pageheap_release_one(struct mri_pageheap *h, size_t bytes, int advice,
			 unsigned flags, uint64_t min_age_ns)
{
	struct mri_purge_batch b;
	struct taken t[MRI_PURGE_MAX];
	size_t done = 0;
	int lazy = advice == MADV_FREE, second = !!(flags & MRI_RELEASE_LAZY);
	unsigned max = lazy && !second && !(flags & MRI_RELEASE_SPLIT)
			   ? RELEASE_LAZY_BATCH
			   : MRI_PURGE_MAX;
	uint64_t now;

	while (done < bytes) {
		size_t left = bytes - done, before = done;
		size_t want =
		    left / MRI_PAGE_SIZE + (left % MRI_PAGE_SIZE != 0);
		uint64_t claimed;
		unsigned nt, i;

		mri_purge_batch_init(&b, advice);
		pthread_mutex_lock(&h->lock);
		nt = release_pick(h, &b, t, want, max, flags, min_age_ns,
				  mri_os->now_ns());
		for (i = 0, claimed = 0; i < nt; i++)
			claimed += t[i].n;
		__atomic_add_fetch(&mri_heap_purging_pages, claimed,
				   __ATOMIC_RELAXED);
		pthread_mutex_unlock(&h->lock);
		if (nt == 0)
			break;
		mri_purge_flush(&b);
		now = mri_os->now_ns();
		pthread_mutex_lock(&h->lock);
		for (i = 0; i < nt; i++) {
			int ok = b.r[i].err == 0;

			if (second) {
				/* Still released either way; lazily freed
				 * again if the advice failed. */
				__atomic_add_fetch(&mri_heap_retained_bytes,
						   (uint64_t)t[i].crel *
						       MRI_PAGE_SIZE,
						   __ATOMIC_RELAXED);
				mri_range_unclaim(h, t[i].c, t[i].pg, t[i].n,
						  1, !ok);
			} else {
				mri_range_unclaim(h, t[i].c, t[i].pg, t[i].n,
						  ok, ok && lazy);
				if (ok && lazy)
					t[i].c->hp[t[i].pg / MRI_HP_PAGES]
					    .lazy_since_ns = now;
			}
			if (ok)
				done += t[i].fresh * MRI_PAGE_SIZE;
		}
		__atomic_sub_fetch(&mri_heap_purging_pages, claimed,
				   __ATOMIC_RELEASE);
		pthread_mutex_unlock(&h->lock);
		if (nt < max && !(flags & MRI_RELEASE_SPLIT))
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
mri_pageheap_release(size_t bytes, int advice, unsigned flags,
		     uint64_t min_age_ns)
{
	size_t done = 0;
	int n;

	for (n = 0; n < MRI_MAX_NODES && done < bytes; n++) {
		struct mri_pageheap *h =
		    __atomic_load_n(&mri_heaps[n], __ATOMIC_ACQUIRE);
		if (!h)
			continue;
		if (flags & MRI_RELEASE_DRAIN)
			mri_pageheap_lcache_drain(h);
		done += mri_pageheap_release_one(h, bytes - done, advice, flags,
						 min_age_ns);
	}
	return done;
}
