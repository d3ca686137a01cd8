/*
 * limit.h: the soft memory limit (owned by the release path).
 *
 * The limit comes from MEMRECLAIM_LIMIT, mr_limit_set(), the daemon, or by
 * default from the process's cgroup (v2 memory.max/memory.high, v1
 * memory.limit_in_bytes, the smallest up the tree).  The heap calls
 * mri_limit_exceeded() when handing out n more bytes would push retained
 * memory past it.
 */
#ifndef MRI_LIMIT_H
#define MRI_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#define MRI_HIDDEN __attribute__((visibility("hidden")))

/* Register the heap hooks and publish the initial limit (the option's, or
 * a probe until the cgroup is read) in mri_heap_soft_limit.  Called once
 * from mri_init's constructor path, after the core is up. */
MRI_HIDDEN void mri_limit_init(void);

/* Read the cgroup's limit now if nobody has yet, and publish the limit in
 * force: for callers outside malloc that report or use it (stats, one-shot
 * releases). */
MRI_HIDDEN void mri_limit_ensure(void);

/* Called by an allocating thread, no core lock held, when retained + n
 * crosses the soft limit: release synchronously.  Returns 0 to go ahead, or
 * -ENOMEM when the hard limit (MEMRECLAIM_LIMIT_HARD=1) would be passed by
 * its margin even after releasing. */
MRI_HIDDEN int mri_limit_exceeded(size_t n);

/* Where the limit in force comes from: enum mr_limit_source. */
MRI_HIDDEN uint32_t mri_limit_source(void);

/* After fork, in the child: the limit locks may have been held by a thread
 * that does not exist there; they are made anew (limit_lock's sections only
 * copy a few integers, and a read of the cgroup cut short is done again:
 * it is marked done only once its result is in). */
MRI_HIDDEN void mri_limit_atfork_child(void);

#endif
