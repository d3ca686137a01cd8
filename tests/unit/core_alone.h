/*
 * core_alone.h: for unit tests of the allocator core and the API without
 * the release path running beside them.
 *
 * The library's constructor starts the scavenger thread and registers the
 * release path's heap hooks (soft limit, wake-ups).  A test that checks the
 * core's own behaviour (page counts on a fake OS, RSS after frees, fault
 * injection) calls core_alone() first in test_suite(), before Check forks
 * the test processes: the scavenger stops (forked children then start
 * none) and the heap calls no hooks, so nothing but the test touches the
 * heap.
 */
#ifndef MR_CORE_ALONE_H
#define MR_CORE_ALONE_H

#include "core/heap.h"
#include "release/scavenger.h"

static inline void
core_alone(void)
{
	mri_scavenger_stop();
	mri_heap_set_hooks(NULL);
}

#endif
