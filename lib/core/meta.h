/*
 * meta.h: memory for the allocator's own bookkeeping.
 *
 * Spans, thread caches, chunk descriptors and central lists cannot come
 * from malloc (we are malloc).  They come from here: zeroed memory carved
 * from 1 MiB OS mappings (a request of 256 KiB or more gets a mapping of
 * its own), and fixed-size pools with free lists so that
 * recycled objects (spans, thread caches of exited threads) are reused and
 * metadata stays bounded.  Metadata is never returned to the OS.
 */
#ifndef MRI_META_H
#define MRI_META_H

#include <stddef.h>
#include <stdint.h>

#define MRI_HIDDEN __attribute__((visibility("hidden")))

/* A pool of fixed-size objects.  Initialise with MRI_POOL_INIT(size). */
struct mri_pool {
	size_t size; /* object size, rounded to 64 */
	void *free;  /* free list through the first word */
};
#define MRI_POOL_INIT(sz)                                                      \
	{                                                                      \
		(((sz) + 63) & ~(size_t)63), NULL                              \
	}

/* Zeroed, 64-byte aligned; NULL (errno ENOMEM) when the OS refuses. */
MRI_HIDDEN void *mri_meta_alloc(size_t size);
/* Zeroed object from the pool, or NULL. */
MRI_HIDDEN void *mri_pool_get(struct mri_pool *p);
/* Same, but only the first `zero` bytes are zeroed (a recycled object's
 * tail keeps old contents; fresh ones are all zero). */
MRI_HIDDEN void *mri_pool_get_prefix(struct mri_pool *p, size_t zero);
MRI_HIDDEN void mri_pool_put(struct mri_pool *p, void *obj);
MRI_HIDDEN uint64_t mri_meta_bytes(void);
/* fork() support: the metadata lock. */
MRI_HIDDEN void mri_meta_lock(void);
MRI_HIDDEN void mri_meta_unlock(void);

#endif
