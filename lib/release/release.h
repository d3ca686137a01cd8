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

/* limit * limit_goal_percent / 100, or 0 without a limit. */
MRI_HIDDEN uint64_t mri_limit_goal(void);

/* Go's rule: retained memory the scavenger aims at for a heap with
 * in_use_bytes in spans, capped by the limit goal.  See scavenger.c. */
MRI_HIDDEN uint64_t mri_scavenger_goal(uint64_t in_use_bytes);

/* madvise advice for a release: MADV_FREE when the "advice" option says
 * "free", else MADV_DONTNEED. */
MRI_HIDDEN int mri_release_advice(void);

/* Print the MEMRECLAIM_STATS summary to fd with write(2). */
MRI_HIDDEN void mri_stats_print(int fd);

#endif
