/*
 * heap.h: what the allocator core offers the release path.
 *
 * The core (size classes, thread caches, central lists, page heaps) keeps
 * its own structures private; the scavenger, the limit and the stats see
 * them only through these calls, and this is the only core header they
 * include.  All of them are safe from any thread and take the core's locks
 * themselves; none is called with a core lock held.
 *
 * The core never calls up: what it must tell the release path (the soft
 * limit is crossed, a hugepage became wholly free) goes through the hooks
 * the release path registers at start-up (mri_heap_set_hooks).
 */
#ifndef MRI_HEAP_H
#define MRI_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include "memreclaim.h"

#define MRI_HIDDEN __attribute__((visibility("hidden")))

/* Flags for mri_heap_release. */
#define MRI_RELEASE_SPLIT                                                      \
	0x1 /* may release free pages inside partly used                       \
	     * hugepages (splits THP: only under a limit or                    \
	     * an urgent trim) */
#define MRI_RELEASE_DRAIN                                                      \
	0x2 /* first return objects parked in transfer                         \
	     * caches to their spans, so more pages free */
#define MRI_RELEASE_LAZY                                                       \
	0x4 /* the second stage: give lazily freed whole                       \
	     * hugepages (MADV_FREE) the advice instead;                       \
	     * returns the lazily freed bytes it advised */

/*
 * Release up to `bytes` of free memory with `advice` (MADV_DONTNEED or
 * MADV_FREE): whole free hugepages first, oldest first, only those free for
 * at least min_age_ns; then, with MRI_RELEASE_SPLIT, free page runs inside
 * partly used hugepages.  With MRI_RELEASE_LAZY, lazily freed whole
 * hugepages instead (oldest first, min_age_ns old), and with
 * MRI_RELEASE_SPLIT too, then lazily freed runs inside partly used
 * hugepages whose last lazy free is min_age_ns old.  Chosen ranges are taken out of the heap while the
 * purge runs (the heap lock is not held across the madvise), then put back
 * as released.  Returns the bytes released.
 */
MRI_HIDDEN size_t mri_heap_release(size_t bytes, int advice, unsigned flags,
				   uint64_t min_age_ns);

struct mri_heap_counters {
	uint64_t mapped_bytes;	 /* chunk mappings */
	uint64_t in_use_bytes;	 /* pages in spans */
	uint64_t idle_bytes;	 /* free pages, backed */
	uint64_t released_bytes; /* free pages released with DONTNEED, or
				  * never touched since mmap */
	uint64_t lazy_bytes;	 /* free pages released with MADV_FREE */
	uint64_t metadata_bytes;
	uint64_t allocated_bytes; /* objects held by the program (approx.) */
	uint64_t large_bytes;	  /* pages in large-object spans */
	/* When the oldest wholly free backed hugepage, and the oldest lazily
	 * freed one, became free (CLOCK_MONOTONIC ns via mri_os); 0: none. */
	uint64_t oldest_idle_ns;
	uint64_t oldest_lazy_ns;
	/* Lazily freed pages inside partly used hugepages (the rest of
	 * lazy_bytes is in wholly free ones). */
	uint64_t lazy_partial_bytes;
	/* Pages faulted in while as many backed ones sat idle (cumulative;
	 * see pageheap.c, "growth beside idle pages"). */
	uint64_t frag_grown_bytes;
	uint32_t nodes;
};
MRI_HIDDEN void mri_heap_counters(struct mri_heap_counters *c);
/* The page figures only (allocated_bytes left 0): no walk of the central
 * lists and thread caches, so cheap enough for every scavenger cycle. */
MRI_HIDDEN void mri_heap_page_counters(struct mri_heap_counters *c);

/* Retained = mapped - released - lazy.  A cheap relaxed read of a counter
 * the heap keeps up to date; for the limit check on hot-ish paths. */
MRI_HIDDEN uint64_t mri_heap_retained(void);
/* Bytes claimed by a release (of any thread) whose advice is still
 * running: still counted in retained, gone from it once put back. */
MRI_HIDDEN uint64_t mri_heap_purging(void);

/* Per size class figures into st->classes / st->nclasses. */
MRI_HIDDEN void mri_heap_class_stats(struct mr_stats *st);

/* The soft limit the heap enforces (bytes, 0 = none).  The core owns it
 * (0 until someone sets it); the limit module stores it; the heap reads it
 * before it hands out released or new pages: when retained + n would cross
 * it, the heap calls hooks->limit_exceeded(n) with no lock held. */
extern uint64_t mri_heap_soft_limit MRI_HIDDEN;

/*
 * What the core tells the layer above it.  Both run with no core lock
 * held, on the allocating or freeing thread, and only on slow paths (never
 * on the thread cache's fast path).
 *   limit_exceeded(n): handing out n more bytes would push retained memory
 *     past mri_heap_soft_limit; release, then return 0 to go ahead or
 *     -ENOMEM to fail the allocation.
 *   freed(in_use, idle): free memory worth a release batch appeared (a
 *     hugepage became wholly free, or a hugepage's worth of pages was
 *     freed); in_use and idle are that node's page heap's bytes in spans
 *     and free backed bytes.  Cheap unless the release path decides to
 *     give a large excess back at once, which it then does right there,
 *     as a free of a big block does under glibc.
 *   grew(): the heap faulted in fresh pages while idle ones sat in it
 *     (frag_grown_bytes rose by a batch's worth since the last call): wake
 *     the release path, nothing more.
 * Any may be NULL.
 */
struct mri_heap_hooks {
	int (*limit_exceeded)(size_t n);
	void (*freed)(uint64_t in_use_bytes, uint64_t idle_bytes);
	void (*grew)(void);
};
/* Register hooks (static storage; NULL: none, the core runs alone).  Set
 * once at start-up, before other threads allocate; tests may reset it. */
MRI_HIDDEN void mri_heap_set_hooks(const struct mri_heap_hooks *hooks);

#endif
