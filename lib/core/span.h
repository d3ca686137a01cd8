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
 * The object fields (freelist, bump, nalloc, allocbits, partial links) are
 * protected by the lock of the central list of (node, cls).
 *
 * remote and remote_next are the lock-free side (central.c): a freeing
 * thread clears its objects' allocation bits (atomically: allocbits is
 * the one object field written without the lock) and pushes them onto
 * remote with one CAS per span; the thread whose push found it empty puts
 * the span on its central list's pending stack through remote_next.
 * Objects on remote still count in nalloc until the central list collects
 * them, so a span with pending remote frees is never empty, never given
 * back.
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
	void *freelist;	 /* returned objects, linked by first word */
	uintptr_t bump;	 /* next never-handed-out object */
	uintptr_t limit; /* end of the last whole object */
	uint32_t nalloc; /* objects handed out */
	uint32_t nobj;	 /* objects in the span */
	struct mri_span *next, *prev; /* central partial list */
	uint64_t allocbits[8];	      /* bit i: object i handed out (<= 512) */

	/* Remote frees (lock-free, see above). */
	uintptr_t remote;		/* pushed objects, linked by first word;
					 * their count in the top 16 bits */
	struct mri_span *remote_next;	/* on the central's pending stack */
	void *remote_tail;		/* last object on remote: set by the
					 * push that found it empty, before
					 * it stacks the span */
};

#endif
