/*
 * span.h: a run of contiguous pages owned by one size class or one large
 * allocation.
 *
 * Free pages are not spans: the page heap tracks them in per-hugepage
 * bitmaps.  A span exists from the moment the page heap hands its pages
 * out until they are given back.  The pagemap points every page of a
 * small-object span (objects may start on any of them) and the first page
 * of a large span at the span.
 *
 * Locking: start/npages/cls/node/size/magic are written once by the page
 * heap before the span is published in the pagemap and read without locks.
 * The object fields (nalloc, allocbits, partial links) are written only
 * under the lock of the central list of (node, cls).
 *
 * A small span keeps no free list: allocbits says which objects are out
 * (handed out, or freed by another thread and not yet collected), and a
 * refill hands out the clear bits' objects without reading any object
 * (a free object may be cold in this CPU's cache: another thread freed
 * it).  allocbits is read without the lock only by a remote free's
 * double-free check, so it is written with atomic stores.
 *
 * rfree and rcount are the lock-free side (central.c): a thread freeing
 * objects of the span first adds their count to rcount, then sets their
 * bits in rfree (one atomic OR per 64-object word); the thread whose add
 * found rcount zero puts the span on its central list's pending stack
 * through remote_next.  Objects in rfree still count in nalloc until the
 * central list collects them, so a span with pending remote frees is
 * never empty, never given back.
 */
#ifndef MRI_SPAN_H
#define MRI_SPAN_H

#include <stdint.h>

struct mri_span {
	/* First cache line: everything free() reads. */
	uintptr_t start;	 /* address of the first byte */
	uint32_t size;		 /* object size (small) or 0 (large) */
	uint32_t magic;		 /* mri_class_divmagic[cls] */
	uint32_t npages;	 /* length in 8 KiB pages */
	uint8_t cls;		 /* size class, 0 = large */
	uint8_t node;		 /* owning page heap */
	uint8_t in_partial;	 /* on the central partial list */
	uint8_t zeroed;		 /* large: pages known to be zero */
	uint8_t sampled;	 /* live sampled objects in the span (lib/prof,
				  * prof lock; 255 sticks): while non-zero its
				  * frees take the slow path */
	uint32_t owner;		 /* id of the thread cache that last
				  * fetched objects of the span (tcache.c;
				  * a hint, relaxed atomics, 0 = none) */
	struct mri_chunk *chunk; /* the chunk the pages belong to */

	/* Small-object state (central lock). */
	uint32_t nalloc; /* objects out: bits set in allocbits */
	uint32_t nobj;	 /* objects in the span (<= 512) */
	struct mri_span *next, *prev; /* central partial list */
	uint64_t allocbits[8];	      /* bit i: object i is out */

	/* Remote frees (lock-free, see above). */
	uint32_t rcount;	      /* objects added by remote frees minus
				       * objects collected */
	struct mri_span *remote_next; /* on the central's pending stack */
	uint64_t rfree[8];	      /* bit i: object i freed remotely, not
				       * yet collected */
};

#endif
