/*
 * purge.h: giving pages back to the kernel in batches.
 *
 * The page heap collects free ranges into a batch and flushes it here.  The
 * flush goes through the fastest backend that works on this machine:
 * io_uring IORING_OP_MADVISE (one ring, owned by whoever flushes under the
 * purge lock), process_madvise(2) on ourselves, or one madvise(2) per range
 * (through mri_os->advise, so the fake OS sees it).  A backend that fails
 * with EPERM, ENOSYS or EINVAL is switched off once and the batch is redone
 * through the next; nothing is lost.  MEMRECLAIM_PURGE forces one backend.
 * Owned by the release path; the page heap only fills batches.
 */
#ifndef MRI_PURGE_H
#define MRI_PURGE_H

#include <stddef.h>
#include <stdint.h>
#include "memreclaim.h"

#define MRI_PURGE_MAX 64

struct mri_purge_range {
	void *addr;
	size_t len;
	int err; /* out: 0 advised, or -errno (range still backed) */
};

struct mri_purge_batch {
	int advice; /* MADV_DONTNEED or MADV_FREE */
	unsigned n;
	struct mri_purge_range r[MRI_PURGE_MAX];
};

#define MRI_HIDDEN __attribute__((visibility("hidden")))

MRI_HIDDEN void mri_purge_batch_init(struct mri_purge_batch *b, int advice);
/* Append a range; returns 1 when the batch is now full. */
MRI_HIDDEN int mri_purge_add(struct mri_purge_batch *b, void *addr, size_t len);
/* Advise every range.  Returns the bytes advised; each r[i].err tells
 * whether that range made it.  Takes no allocator lock; serialised
 * internally. */
MRI_HIDDEN size_t mri_purge_flush(struct mri_purge_batch *b);
MRI_HIDDEN enum mr_purge_backend mri_purge_backend(void);
/* 0 once the kernel refused MADV_FREE through every backend (an old kernel,
 * hugetlbfs memory, a seccomp profile): the release path then uses
 * MADV_DONTNEED only.  1 until then. */
MRI_HIDDEN int mri_purge_free_ok(void);
/* Fill the purge_* fields of *st. */
MRI_HIDDEN void mri_purge_stats(struct mr_stats *st);
/* After fork, in the child: forget the ring (it belongs to the parent). */
MRI_HIDDEN void mri_purge_atfork_child(void);

#endif
