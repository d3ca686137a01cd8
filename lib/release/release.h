/*
 * release.h: what the release path's own files (limit.c, scavenger.c,
 * stats.c) share with each other and with their tests.  Nothing outside
 * the release path includes it.  The release path reaches the core only
 * through core/heap.h, and the OS through os/purge.h and os/cgroup_limit.h.
 */
#ifndef MRI_RELEASE_H
#define MRI_RELEASE_H

#include <stdint.h>
#include "core/heap.h"
#include "release/policy.h"

/* Counters of the release path, relaxed atomics (stats.c owns them). */
struct mri_release_stats {
	uint64_t cycles;	/* scavenger cycles run */
	uint64_t scav_bytes;	/* bytes the scavenger released */
	uint64_t scav_ns;	/* time the scavenger spent releasing */
	uint64_t goal_bytes;	/* the goal of the last cycle */
	uint64_t sync_releases; /* limit-driven releases by allocating
				 * threads */
	uint64_t sync_bytes;	/* bytes those released */
	uint64_t api_bytes;	/* bytes released through mr_release */
	uint64_t free_bytes;	/* large excesses released on free */
	uint64_t hard_enomem;	/* allocations refused by limit_hard */
};
extern struct mri_release_stats mri_release_st;
#define mri_release_add(field, v)                                              \
	__atomic_add_fetch(&mri_release_st.field, (v), __ATOMIC_RELAXED)

/* Read the cgroup's limit (once; later calls only publish) and publish
 * the limit in force.  mri_limit_init calls it at start-up; the scavenger
 * thread calls it again as it starts, which then only publishes. */
MRI_HIDDEN void mri_limit_read_cgroup(void);

/* Recompute the limit in force from its sources (mr_limit_set, the
 * "limit" option, the cgroup) and publish it in mri_heap_soft_limit.
 * Cheap; called by the scavenger each wake-up and by the API. */
MRI_HIDDEN void mri_limit_sync(void);

/* The options the release policy reads, from mri_opt (and whether the
 * kernel takes MADV_FREE at all: if not, both stages are plain DONTNEED
 * after the delay). */
MRI_HIDDEN void mri_release_opts(struct mri_rel_opts *o);

/* Fill *in for a decision: the heap's page figures (cheap: no class
 * counts), the limit in force, the options and the time.  For
 * MRI_REL_LIMIT only retained and the limit are read (an allocating
 * thread pays one atomic load). */
MRI_HIDDEN void mri_release_snapshot(struct mri_rel_in *in,
				     enum mri_rel_cause cause,
				     uint64_t request_bytes);

/* Carry out a plan (reclaim.c): each step through mri_heap_release, in
 * pieces of at most 64 MiB for budgeted steps so the CPU budget is checked
 * between them (st->credit_ns; st NULL: no budget), REST steps for what
 * the steps before them left.  got[i]: what step i gave; returns
 * the time spent in budgeted steps. */
MRI_HIDDEN uint64_t mri_release_run(const struct mri_rel_plan *p,
				    const struct mri_rel_state *st,
				    uint64_t *got);

/* The core's freed hook (core/heap.h): free memory worth a batch
 * appeared on a heap with in_use and idle bytes.  Gives a large excess
 * back at once on the freeing thread (mri_relpol_excess) and wakes the
 * scavenger for the rest. */
MRI_HIDDEN void mri_release_on_free(uint64_t in_use_bytes,
				    uint64_t idle_bytes);

/* Print the MEMRECLAIM_STATS summary to fd with write(2). */
MRI_HIDDEN void mri_stats_print(int fd);

#endif
