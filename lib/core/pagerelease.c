/*
 * pagerelease.c: the release side of the page heap.  It owns choosing which
 * free pages go back to the kernel (release_pick: whole hugepages oldest
 * first, then, when splitting is allowed, free runs inside partly used
 * hugepages), claiming them while the purge runs unlocked, and putting them
 * back as released (mri_pageheap_release_one, mri_pageheap_release); and
 * the immediate trim of excess idle memory a free may ask for
 * (mri_pageheap_excess_locked, mri_pageheap_trim).  It leaves placement to
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

/*
 * Excess idle memory goes back at once, without waiting for the scavenger:
 * when free-but-backed pages pass max(64 MiB, a quarter of the pages in
 * use), whole hugepages (oldest first) are released down to max(64 MiB, an
 * eighth).
 * Below that band the scavenger's delay rules, so bursts that repeat do
 * not thrash; above it a program that just freed a big structure shrinks
 * now, as it would under glibc (whose big blocks are munmapped on free).
 * Worked example: 800 MiB in use, 400 MiB just freed: 400 > 200, release
 * 300 MiB, keep 100 MiB for the next burst.  Why a quarter and an eighth:
 * see the peak RSS comparison in bench/README.  The decision is a few
 * arithmetic operations made under the heap lock the free already holds;
 * the release itself runs after it is dropped.
 */
size_t
mri_pageheap_excess_locked(const struct mri_pageheap *h)
{
	uint64_t in_use = h->mapped - h->nfree, idle = h->nfree - h->nrel;
	uint64_t floor = ((uint64_t)64 << 20) / MRI_PAGE_SIZE, keep;

	if (idle <= floor || idle <= in_use / 4)
		return 0;
	keep = in_use / 8 > floor ? in_use / 8 : floor;
	return (size_t)(idle - keep) * MRI_PAGE_SIZE;
}

void
mri_pageheap_trim(struct mri_pageheap *h, size_t excess)
{
	if (excess)
		(void)mri_pageheap_release_one(h, excess, MADV_DONTNEED, 0, 0);
}

/* ---- release ---- */

struct taken {
	struct mri_chunk *c;
	size_t pg, n;
	size_t fresh; /* pages that become newly released */
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
	int lazy = advice == MADV_FREE;

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
		pthread_mutex_lock(&h->lock);
		for (i = 0; i < nt; i++) {
			int ok = b.r[i].err == 0;
			mri_range_unclaim(h, t[i].c, t[i].pg, t[i].n, ok,
					  ok && lazy);
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
