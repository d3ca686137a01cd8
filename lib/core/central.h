/*
 * central.h: the middle end.  One central list per (node, size class)
 * moves objects between thread caches and spans, in batches.
 *
 * A central list owns the spans of its class that have free objects (the
 * partial list; full spans are on no list, found through the pagemap when
 * their objects come back) and a transfer cache: a plain array of object
 * pointers that one thread's flush fills and another thread's refill
 * empties in O(1), without touching spans.  That is the fast path for the
 * producer/consumer pattern (one thread allocates, another frees).  Objects
 * parked in the transfer cache hold their spans; the release path drains
 * it (mri_central_drain_all) so empty spans go back to the page heap.
 *
 * A return fills the transfer cache as far as it has room; what does not
 * fit does not wait for the lock: each run of one span's objects is
 * counted in the span's rcount and its bits set in the span's rfree
 * bitmap (span.h), and a span whose count was zero goes onto the central
 * list's pending stack.  The next fetch (or a drain) takes the whole stack
 * with one exchange and clears those objects' allocation bits under the
 * lock it already holds: a lock per fetch, none per free, and no object
 * is read (spans keep no free lists: a fetch hands out the objects whose
 * allocation bits are clear).  `remote` counts the objects waiting there
 * (free, but still out of their spans).
 *
 * Each central list has its own mutex, adaptive (it spins a little before
 * sleeping: a hold is a copy of pointers or a batch taken from spans, and
 * producers and consumers of one class meet on it).  Lock order: central
 * -> page heap.
 */
#ifndef MRI_CENTRAL_H
#define MRI_CENTRAL_H

#include <pthread.h>
#include <stdint.h>
#include "core/sizeclass.h"
#include "core/span.h"

#define MRI_HIDDEN __attribute__((visibility("hidden")))
/* Transfer cache capacity: at least MRI_XFER_BATCHES batches, and up to
 * MRI_XFER_MAXOBJ objects or MRI_XFER_MAXBYTES bytes.  For classes up to
 * 64 B that is two of the largest flushes a thread cache makes (half of a
 * full bin): a consumer's flush then waits there whole, for a producer's
 * refill to take, and neither touches a span.  The byte bound keeps what
 * larger classes park there (out of reach of a release that does not
 * drain) near what it was with 4 batches. */
#define MRI_XFER_BATCHES 4
#define MRI_XFER_MAXOBJ 1024
#define MRI_XFER_MAXBYTES ((size_t)64 << 10)

struct mri_central {
	pthread_mutex_t lock;
	struct mri_span *partial; /* spans with free objects */
	void **xfer;		  /* transfer cache */
	uint32_t nxfer, xfer_cap;
	uint32_t cls, node;
	uint64_t spans; /* spans owned */
	uint64_t out;	/* objects out of spans (in programs,
			 * thread caches or xfer) */
	uint64_t refills, flushes;
	/* Lock-free remote frees (any thread). */
	struct mri_span *pending;	/* spans with remote objects */
	uint64_t remote;		/* objects on their remote lists */
} __attribute__((aligned(64)));

extern struct mri_central *mri_centrals[] MRI_HIDDEN;

MRI_HIDDEN int mri_central_init(int node);
/* Take up to n objects of class cls from node's central list into dst.
 * Returns the count (0: out of memory, errno ENOMEM). */
MRI_HIDDEN unsigned mri_central_fetch(int node, unsigned cls, void **dst,
				      unsigned n);
/* Give n objects of class cls back; each must belong to node's spans. */
MRI_HIDDEN void mri_central_return(int node, unsigned cls, void **src,
				   unsigned n);
/* Return every transfer-cached and remotely freed object to its span. */
MRI_HIDDEN void mri_central_drain_all(void);
MRI_HIDDEN void mri_central_lock_all(void);
MRI_HIDDEN void mri_central_unlock_all(void);

#endif
