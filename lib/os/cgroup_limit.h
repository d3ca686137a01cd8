/*
 * cgroup_limit.h: the memory limit of the process's cgroup, read from
 * procfs and cgroupfs with open/read, for the soft limit's default
 * (release/limit.c).  Nothing here allocates; never call it inside malloc.
 */
#ifndef MRI_CGROUP_LIMIT_H
#define MRI_CGROUP_LIMIT_H

#include <stdint.h>

#define MRI_HIDDEN __attribute__((visibility("hidden")))

/* The limit read from the process's cgroup (/proc/self/mountinfo and
 * /proc/self/cgroup, then the limit files up the tree): the smallest
 * of v1 memory.limit_in_bytes, v2 memory.max and memory.high from the
 * process's memory cgroup up to the hierarchy's root.  *bytes = 0 when none
 * is set ("max", or the v1 "unlimited" value).  0 or -errno (-ENOENT: no
 * memory cgroup). */
MRI_HIDDEN int mri_limit_cgroup(uint64_t *bytes);
/* The walk itself: from mnt/rel up to mnt.  A root parameter so tests run
 * it on a fake tree too. */
MRI_HIDDEN int mri_limit_cgroup_walk(const char *mnt, const char *rel,
				     uint64_t *bytes);

#endif
