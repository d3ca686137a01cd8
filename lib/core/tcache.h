/*
 * tcache.h: the front end.  Each thread has a cache of free objects per
 * size class, a plain stack of pointers, so malloc and free of a small
 * object touch no lock and no shared cache line.  A bin refills and
 * flushes a batch at a time through the central lists.  Its capacity
 * is two batches once the thread allocates from it, so a thread
 * alternating malloc and free never
 * hits the central list twice in a row, and grows by a batch each time it
 * overflows (tcmalloc's "slow start"), up to mri_tcache_maxcap(cls) and a
 * per-thread budget of MRI_TCACHE_BUDGET bytes of such growth: a thread that
 * frees a thousand objects at a time gets a bin of a thousand, an idle one does
 * not hold much.  Once the budget is spent, a growing bin takes a batch of
 * capacity from another bin that grew (round robin, as tcmalloc steals), so
 * the capacity follows the sizes a thread uses now.
 *
 * Garbage collection (jemalloc's tcache GC, tcmalloc's Scavenge): each
 * time a thread's slow paths (refills, overflows; never the fast paths)
 * have moved MRI_TCACHE_GC_BYTES in batches, each bin gives back to the
 * central lists 3/4 of its low-water mark -- the objects that stayed
 * unused since the last pass -- and its capacity shrinks by as many whole
 * batches, so a class the thread stopped using does not hoard them: their
 * spans can go back to the page heap.  The low-water mark is kept by the
 * slow paths only (reset to the count at each pass, 0 when the bin runs
 * empty, lowered by flushes), so a bin that churns in the fast paths may
 * give back some objects it is about to use; it then runs empty sooner
 * and keeps them.  Passes more frequent than this (256 KiB) took so much
 * from bins in use that slots and random-sizes ran 35% more instructions.
 * Only a bin that ran empty in the last two passes grows on overflow.  A
 * bin starts at one batch and gets its two on the thread's first refill
 * of that size: a thread that frees what it does not allocate (a
 * consumer) holds one batch per size at most, and sends all of it but one
 * object on when it fills, so it flushes as often as with two batches
 * (bench's prodcons, 30 sizes of 8..512 bytes: peak RSS 2.82-2.88 -> 2.69
 * MiB).
 *
 * Lifetime: created on a thread's first small malloc, registered in a list
 * (stats walk it), flushed and recycled at thread exit through a pthread
 * key destructor.  After that the thread (its remaining TLS destructors)
 * allocates straight from the central lists.  Caches are recycled, so
 * thousands of short-lived threads reuse the same few.  Until a thread has
 * a cache (and after its destructor ran) mri_tls_tcache points at
 * mri_tcache_none, whose bins all have room for nothing: the fast paths
 * need no NULL test, they fail their count test and take the slow path.
 *
 * Passive false sharing (Hoard's cache-scratch): a thread that frees an
 * object another thread allocated, and then allocates the same size, must
 * not get that object back: its neighbours on the cache line are in use by
 * other threads, and every write would bounce the line between CPUs.  So
 * spans remember which cache last fetched from them (span->owner, set at
 * refill), and a free of another cache's object into an EMPTY bin (the
 * case where the next malloc would return exactly that object) first
 * refills the bin with a batch and puts the object under it.  A bin that
 * is not empty already has objects of this thread's own on top, and the
 * bin stays non-empty after such a free, so a thread that only frees
 * others' objects (producer/consumer) pays one refill, not one per free.
 */
#ifndef MRI_TCACHE_H
#define MRI_TCACHE_H

#include <stdint.h>
#include "core/sizeclass.h"

#define MRI_HIDDEN __attribute__((visibility("hidden")))

struct mri_bin {
	void **slots; /* stack of free objects, top at n-1 */
	uint32_t n, cap;
};

/* n is written by the owner thread only and read by mri_tcache_cached
 * from others: relaxed atomic stores (a plain mov on x86-64) keep those
 * reads free of data races. */
static inline void
mri_bin_set_n(struct mri_bin *b, uint32_t n)
{
	__atomic_store_n(&b->n, n, __ATOMIC_RELAXED);
}

static inline void *
mri_bin_pop(struct mri_bin *b)
{
	uint32_t n = b->n - 1;

	mri_bin_set_n(b, n);
	return b->slots[n];
}

static inline void
mri_bin_push(struct mri_bin *b, void *p)
{
	b->slots[b->n] = p;
	mri_bin_set_n(b, b->n + 1);
}

#define MRI_TCACHE_BUDGET ((size_t)2 << 20)	/* bytes of capacity */
#define MRI_TCACHE_MAXOBJ 1024			/* objects per bin */
#define MRI_TCACHE_MAXBYTES ((size_t)1 << 20)	/* bytes per bin */
#define MRI_TCACHE_GC_BYTES ((uint32_t)512 << 10) /* batches moved between
						   * GC passes */

struct mri_tcache {
	/* bins[0] (class 0: large blocks) has cap 0: their frees fail the
	 * fast path's test */
	struct mri_bin bins[MRI_MAX_CLASSES];
	size_t cap_bytes;		/* bytes of capacity grown beyond the
					 * starting two batches, all bins */
	int node;			/* heap objects come from */
	uint32_t id;			/* span->owner of what it fetched;
					 * never 0, new for each thread */
	unsigned steal_next;		/* the bin tcache_steal took from */
	uint32_t gc_left;		/* bytes of batches until the next GC
					 * pass */
	/* Per bin, the fewest objects it held since the last GC pass as
	 * the slow paths saw it (0 once it ran empty); outside the bins
	 * so a bin stays 16 bytes for the fast paths' indexing. */
	uint32_t low[MRI_MAX_CLASSES];
	/* Per bin, GC passes left during which it may grow: set by a
	 * refill (the thread allocates from it), so a bin only freed into
	 * (a consumer's) stays at its starting one batch. */
	uint8_t used[MRI_MAX_CLASSES];
	struct mri_tcache *next, *prev; /* registry (registry lock) */
	void *storage[];		/* the slots of every bin */
};

/* Initial-exec TLS: one load from the thread pointer, no __tls_get_addr. */
#define MRI_TLS_IE __attribute__((tls_model("initial-exec")))

/* The size class of every small request by (size + 15) / 16, for
 * malloc's fast path: one load, where mri_size_class takes a branch and
 * one of two tables.  (Classes are multiples of 16, so all sizes in a
 * 16-byte step share one; malloc(0) gets mri_size_class(0).)  Zero until
 * mri_tcache_init fills it: class 0, whose bins are empty, so a malloc
 * before then takes the slow path. */
#define MRI_TCACHE_NSTEPS ((MRI_SMALL_MAX + 15) / 16 + 1)
extern uint8_t mri_tcache_class[MRI_TCACHE_NSTEPS] MRI_HIDDEN;

/* Never NULL: &mri_tcache_none while the thread has no cache. */
extern __thread struct mri_tcache *mri_tls_tcache MRI_TLS_IE MRI_HIDDEN;
extern struct mri_tcache mri_tcache_none MRI_HIDDEN;

/* This thread's cache, created if needed; NULL while it is being created
 * (re-entrant malloc from pthread internals) or after the thread's
 * destructor ran: callers then use the central lists directly. */
MRI_HIDDEN struct mri_tcache *mri_tcache_get(void);
/* p (a small object of span s, of tc's node) is freed into tc.  Its bin
 * must have room.  Pushes p, unless the bin is empty and s is a span
 * another cache fetched from: then p goes under a fresh batch (see
 * above).  Keeps errno. */
struct mri_span;
MRI_HIDDEN void mri_tcache_free(struct mri_tcache *tc, struct mri_span *s,
				void *p);
/* Refill bin cls and return one object, or NULL (ENOMEM). */
MRI_HIDDEN void *mri_tcache_refill(struct mri_tcache *tc, unsigned cls);
/* The bin of cls is full: grow it by a batch if the limits allow
 * (returns 1), or return all but half of it to central (returns 0). */
MRI_HIDDEN int mri_tcache_overflow(struct mri_tcache *tc, unsigned cls);
/* A GC pass over every bin of tc (see above); the slow paths call it
 * every MRI_TCACHE_GC_BYTES of batches they move. */
MRI_HIDDEN void mri_tcache_gc(struct mri_tcache *tc);
/* Return all but `keep` objects of bin cls (the oldest) to central. */
MRI_HIDDEN void mri_tcache_flush(struct mri_tcache *tc, unsigned cls,
				 unsigned keep);
/* The most objects bin cls may hold: MRI_TCACHE_MAXOBJ, MRI_TCACHE_MAXBYTES
 * of them, or two batches if that is more. */
MRI_HIDDEN uint32_t mri_tcache_maxcap(unsigned cls);
/* Add each class's cached object count over live caches into cached[]. */
MRI_HIDDEN void mri_tcache_cached(uint64_t *cached);
MRI_HIDDEN int mri_tcache_init(void);
MRI_HIDDEN void mri_tcache_lock(void);
MRI_HIDDEN void mri_tcache_unlock(void);
MRI_HIDDEN void mri_tcache_atfork_child(void);

#endif
