/*
 * reclaim.h: what the release path offers the API layer (mr_release,
 * malloc_trim): one request, decided by the release policy and carried out
 * on the calling thread.
 */
#ifndef MRI_RECLAIM_H
#define MRI_RECLAIM_H

#include <stddef.h>

#define MRI_HIDDEN __attribute__((visibility("hidden")))

/* Release up to `bytes` now: lazily (MADV_FREE, whole free hugepages) when
 * lazy, else at once (MADV_DONTNEED, splitting hugepages and draining the
 * transfer caches; lazily freed pages are made honest too).  Returns the
 * bytes given back. */
MRI_HIDDEN size_t mri_release_request(size_t bytes, int lazy);

/* glibc's malloc_trim(pad): give back all free memory but `pad` bytes of
 * it.  Returns 1 when something was given back, else 0. */
MRI_HIDDEN int mri_release_trim(size_t pad);

#endif
