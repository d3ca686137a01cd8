/*
 * pageheap.h: the back end.  One page heap per NUMA node hands out spans
 * (runs of 8 KiB pages) carved from 2 MiB aligned chunks, takes them back,
 * and releases free pages to the kernel on request.
 *
 * Every hugepage of every chunk has a descriptor with three 256-bit maps:
 * free pages, released pages (not backed: released, or never touched since
 * mmap) and lazily released pages (MADV_FREE).  A hugepage lives on exactly
 * one list, decided by its free count alone:
 *
 *   - none free: on no list;
 *   - some free:  the filler, bucketed by (used pages / 16, longest free
 *     run / 16), so a request for n pages finds the FULLEST hugepage with a
 *     run of n in a few steps.  Filling the fullest hugepages first lets
 *     mostly-empty ones drain completely, so they can be released whole
 *     without splitting a transparent huge page.  Warm pages (backed, or
 *     lazily freed) come before that rule: a small span takes the fullest
 *     hugepage with a warm run of n (among the first 16 that fit), then a
 *     wholly free backed or lazily freed hugepage, and only then released
 *     pages, so it adds no resident memory while freed pages sit idle;
 *   - all free:   the pool, in three lists, each newest first so the
 *     release path takes the oldest from the tail: backed; lazily freed
 *     (all released, some of it with MADV_FREE: the kernel may take it, or
 *     it comes back with no fault); and fully released (DONTNEED, or never
 *     touched).  New spans take backed hugepages first, then lazily freed
 *     ones, then released ones.
 *
 * Spans of 256 pages or more take whole pool hugepages (contiguous in one
 * chunk): of the runs that fit, the one with the most backed pages, and
 * each wholly released hugepage of it gets the pages of an idle backed one
 * moved in by the kernel (mremap, no copy), so a large span reuses what a
 * free left backed wherever it lies instead of faulting in fresh memory
 * beside it (pageheap.c, "Moving warm hugepages").  The unused tail of the
 * last one simply stays free and serves the filler.  Coalescing is
 * implicit: freeing sets bits.
 *
 * Locking: one mutex per heap protects everything here.  Lock order:
 * central list -> page heap -> metadata.  The heap lock is never held
 * across a purge (madvise/io_uring) or a move (mremap): pages being
 * released or moved are claimed like an allocation, purged or moved
 * unlocked, then put back as released.
 */
#ifndef MRI_PAGEHEAP_H
#define MRI_PAGEHEAP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "core/sizeclass.h"
#include "core/span.h"

#define MRI_HIDDEN __attribute__((visibility("hidden")))

struct mri_hp {
	uint64_t free[4]; /* page i is free */
	uint64_t rel[4];  /* page i is free and not backed */
	uint64_t lazy[4]; /* subset of rel: released with MADV_FREE */
	uint16_t nfree, longest, nrel, nlazy;
	uint8_t list;		/* HPL_* */
	uint8_t bu, bl;		/* filler bucket while on the filler */
	uint32_t idx;		/* index in chunk */
	uint16_t pool_lazy_n;	/* nlazy when put on the lazy pool */
	uint64_t free_since_ns; /* when it last became wholly free */
	uint64_t lazy_since_ns; /* when pages of it were last lazily freed */
	struct mri_hp *next, *prev;
	struct mri_chunk *chunk;
};

struct mri_chunk {
	uintptr_t base; /* 2 MiB aligned */
	uint32_t nhp;	/* hugepages */
	uint8_t node;
	uint8_t advised; /* MADV_HUGEPAGE applied (relaxed atomic: a hint
			  * heap_maybe_thp sets without the heap lock) */
	struct mri_chunk *next;
	struct mri_hp hp[];
};

struct mri_hplist {
	struct mri_hp *head, *tail;
};

#define MRI_FILL_BUCKETS 16
#define MRI_LCACHE_SLOTS 16
#define MRI_LCACHE_PAGES 1024 /* 8 MiB, at most */
#define MRI_LCACHE_MIN 128    /* 1 MiB: the bound for a heap under 8 MiB */

struct mri_pageheap {
	pthread_mutex_t lock;
	int node;
	struct mri_chunk *chunks;
	struct mri_hplist filler[MRI_FILL_BUCKETS][MRI_FILL_BUCKETS];
	uint16_t filler_mask[MRI_FILL_BUCKETS]; /* non-empty bl per bu */
	struct mri_hplist pool_backed;		/* head newest */
	struct mri_hplist pool_lazy;		/* head newest */
	struct mri_hplist pool_rel;
	struct mri_span *span_free; /* recycled span records */
	uint64_t emptied;	    /* hugepages that became wholly free */
	/* Recently freed large spans (< one hugepage), kept whole so an
	 * alloc/free loop of big blocks skips the bitmaps.  FIFO ring of
	 * MRI_LCACHE_SLOTS, at most an eighth of the pages in use
	 * (MRI_LCACHE_MIN..MRI_LCACHE_PAGES); their pages stay
	 * claimed; the release path empties it (DRAIN). */
	struct mri_span *lcache[16];
	uint32_t lcache_head, lcache_n;
	uint64_t lcache_pages;
	/* Counters in pages (lock). */
	uint64_t mapped, nfree, nrel, nlazy, large;
	uint64_t nlazy_pool; /* of nlazy, pages in lazy pool hugepages */
	uint64_t freed_unseen; /* pages freed since the last wake */
	/* Pages new spans under a hugepage, and spans grown in place,
	 * faulted in (released, not lazily freed) while at least as many
	 * free backed pages sat idle in the heap: growth that fragmentation
	 * caused (cumulative), and since the last wake. */
	uint64_t frag_grown, frag_unseen;
} __attribute__((aligned(64)));

extern struct mri_pageheap *mri_heaps[] MRI_HIDDEN;

/* Create the heap of node (idempotent).  0 or -ENOMEM. */
MRI_HIDDEN int mri_pageheap_init(int node);
/*
 * A span of npages pages whose start is aligned to align bytes (a power of
 * two; <= MRI_PAGE_SIZE means no constraint).  cls > 0 marks a small-object
 * span (the pagemap then covers all its pages); cls 0 a large one.  NULL
 * with errno ENOMEM when the OS or the hard limit refuses.
 */
MRI_HIDDEN struct mri_span *mri_pageheap_alloc(int node, size_t npages,
					       size_t align, unsigned cls);
MRI_HIDDEN void mri_pageheap_free(struct mri_span *s);
/* Resize a large span in place (grow into free following pages, or give
 * back the tail).  0, or -ENOMEM when the next pages are not free. */
MRI_HIDDEN int mri_pageheap_resize(struct mri_span *s, size_t npages);
/* Move large span s (>= one hugepage) into a new span of npages pages
 * without copying (mremap), and free s.  Returns the new span, or NULL
 * when the kernel cannot move it here (the caller then copies); s is
 * untouched in that case. */
MRI_HIDDEN struct mri_span *mri_pageheap_move(struct mri_span *s,
					      size_t npages);

struct mri_heap_counters;
/* Add this node set's page figures into *hc (see heap.h). */
MRI_HIDDEN void mri_pageheap_counters(struct mri_heap_counters *hc);

/*
 * Release up to bytes of free pages of every heap (see mri_heap_release in
 * heap.h for advice, flags and min_age_ns).  With MRI_RELEASE_DRAIN each
 * heap first takes back its cached large spans; the central lists are
 * the caller's to drain (the page heap never calls up into them).
 */
MRI_HIDDEN size_t mri_pageheap_release(size_t bytes, int advice, unsigned flags,
				       uint64_t min_age_ns);

/* Nodes libnuma reported (0 when NUMA is unavailable): new chunks are
 * bound to their node only when this is > 0.  Set by the core's start-up
 * (mri_numa_setup). */
MRI_HIDDEN void mri_pageheap_set_numa(int nodes);

/* Return the cached large spans' pages to every heap (see lcache). */
MRI_HIDDEN void mri_pageheap_drain_cache(void);

MRI_HIDDEN void mri_pageheap_lock_all(void);
MRI_HIDDEN void mri_pageheap_unlock_all(void);

#endif
