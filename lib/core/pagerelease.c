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
 * Second stage: lazily freed whole hugepages, oldest first, free for at
 * least min_age_ns.  They are claimed like an allocation while the purge
 * runs (so nothing else can place a span there), but they stay out of the
 * retained figure: claiming counts their released pages as retained again,
 * which is taken back at once (same critical section) and restored just
 * before they are put back.  Lock held.
 */
static unsigned
release_pick_lazy(struct mri_pageheap *h, struct mri_purge_batch *b,
		  struct taken *t, size_t want, unsigned flags,
		  uint64_t min_age_ns, uint64_t now)
{
	unsigned nt = 0;
	size_t got = 0;
	struct mri_hp *hp, *prev;

	for (hp = h->pool_lazy.tail; hp && nt < MRI_PURGE_MAX && got < want;
	     hp = prev) {
		prev = hp->prev;
		if (now - hp->free_since_ns < min_age_ns)
			break; /* the rest are younger */
		t[nt].c = hp->chunk;
		t[nt].pg = (size_t)hp->idx * MRI_HP_PAGES;
		t[nt].n = MRI_HP_PAGES;
		t[nt].fresh = hp->nlazy;
		got += hp->nlazy;
		t[nt].crel = (size_t)mri_hp_claim(h, hp, 0, MRI_HP_PAGES);
		__atomic_sub_fetch(&mri_heap_retained_bytes,
				   (uint64_t)t[nt].crel * MRI_PAGE_SIZE,
				   __ATOMIC_RELAXED);
		mri_purge_add(
		    b,
		    (void *)(hp->chunk->base + (size_t)hp->idx * MRI_HUGE_SIZE),
		    MRI_HUGE_SIZE);
		nt++;
	}
	if (!(flags & MRI_RELEASE_SPLIT))
		return nt;
	/* Lazily freed runs inside partly used hugepages (a sparse heap's,
	 * lazily freed at once): the first run of each hugepage whose last
	 * lazy free is old enough.  A claim may move hp to another bucket:
	 * rescan after each. */
	while (nt < MRI_PURGE_MAX && got < want) {
		int u, found = 0;

		for (u = 0; u < MRI_FILL_BUCKETS && !found; u++) {
			unsigned l;

			for (l = 0; l < MRI_FILL_BUCKETS && !found; l++) {
				for (hp = h->filler[u][l].head; hp;
				     hp = hp->next) {
					int s, e;

					if (!hp->nlazy ||
					    now - hp->lazy_since_ns <
						min_age_ns)
						continue;
					s = bits_next_set(hp->lazy, 0);
					e = bits_next_clear(hp->lazy, s);
					t[nt].c = hp->chunk;
					t[nt].pg =
					    (size_t)hp->idx * MRI_HP_PAGES +
					    (size_t)s;
					t[nt].n = (size_t)(e - s);
					t[nt].fresh = (size_t)(e - s);
					got += t[nt].n;
					mri_purge_add(
					    b,
					    (void *)(hp->chunk->base +
						     t[nt].pg * MRI_PAGE_SIZE),
					    t[nt].n * MRI_PAGE_SIZE);
					t[nt].crel = (size_t)mri_hp_claim(
					    h, hp, s, e - s);
					__atomic_sub_fetch(
					    &mri_heap_retained_bytes,
					    (uint64_t)t[nt].crel *
						MRI_PAGE_SIZE,
					    __ATOMIC_RELAXED);
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

/* Claim ranges to release from h into b/t, up to want pages.  Lock held. */
static unsigned
release_pick(struct mri_pageheap *h, struct mri_purge_batch *b, struct taken *t,
	     size_t want, unsigned flags, uint64_t min_age_ns, uint64_t now)
{
	unsigned nt = 0;
	size_t got = 0;
	struct mri_hp *hp, *prev;

	if (flags & MRI_RELEASE_LAZY)
		return release_pick_lazy(h, b, t, want, flags, min_age_ns,
					 now);
	/* Whole hugepages, oldest first: no THP is split. */
	for (hp = h->pool_backed.tail; hp && nt < MRI_PURGE_MAX && got < want;
	     hp = prev) {
		prev = hp->prev;
		if (!(flags & MRI_RELEASE_SPLIT) &&
		    now - hp->free_since_ns < min_age_ns)
			break; /* the rest are younger */
		t[nt].c = hp->chunk;
		t[nt].pg = (size_t)hp->idx * MRI_HP_PAGES;
		t[nt].n = MRI_HP_PAGES;
		t[nt].fresh = MRI_HP_PAGES - hp->nrel;
		t[nt].crel = 0;
		got += t[nt].fresh;
		mri_hp_claim(h, hp, 0, MRI_HP_PAGES);
		mri_purge_add(
		    b,
		    (void *)(hp->chunk->base + (size_t)hp->idx * MRI_HUGE_SIZE),
		    MRI_HUGE_SIZE);
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
				for (hp = h->filler[u][l].head; hp;
				     hp = hp->next) {
					uint64_t bk[4];
					int w, s, e;
					for (w = 0; w < 4; w++)
						bk[w] =
						    hp->free[w] & ~hp->rel[w];
					s = bits_next_set(bk, 0);
					if (s >= 256)
						continue;
					e = bits_next_clear(bk, s);
					t[nt].c = hp->chunk;
					t[nt].pg =
					    (size_t)hp->idx * MRI_HP_PAGES +
					    (size_t)s;
					t[nt].n = (size_t)(e - s);
					t[nt].fresh = (size_t)(e - s);
					t[nt].crel = 0;
					got += t[nt].n;
					mri_purge_add(
					    b,
					    (void *)(hp->chunk->base +
						     t[nt].pg * MRI_PAGE_SIZE),
					    t[nt].n * MRI_PAGE_SIZE);
					mri_hp_claim(h, hp, s, e - s);
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

size_t
mri_pageheap_release_one(struct mri_pageheap *h, size_t bytes, int advice,
			 unsigned flags, uint64_t min_age_ns)
{
	struct mri_purge_batch b;
	struct taken t[MRI_PURGE_MAX];
	size_t done = 0;
	int lazy = advice == MADV_FREE, second = !!(flags & MRI_RELEASE_LAZY);
	uint64_t now;

	while (done < bytes) {
		size_t left = bytes - done, before = done;
		size_t want =
		    left / MRI_PAGE_SIZE + (left % MRI_PAGE_SIZE != 0);
		unsigned nt, i;

		mri_purge_batch_init(&b, advice);
		pthread_mutex_lock(&h->lock);
		nt = release_pick(h, &b, t, want, flags, min_age_ns,
				  mri_os->now_ns());
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
