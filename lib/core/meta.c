/*
 * meta.c: bump allocation of bookkeeping memory from OS mappings, and the
 * fixed-size pools on top of it.  One lock guards both; metadata requests
 * are rare (a span per batch refill at most), so it is not contended.
 *
 * Small requests are carved from 1 MiB blocks.  A request of a quarter
 * block or more (a thread cache with its slots is a few hundred KiB) gets
 * a mapping of its own, so the current block is never abandoned for it:
 * a block is given up only when a small request does not fit, losing less
 * than a quarter of it.  Memory is touched only where it is written, so a
 * large object's untouched tail (a thread cache's unused slots) costs no
 * RSS either way.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "core/meta.h"
#include "os/os.h"

#define META_BLOCK ((size_t)1 << 20)
#define META_BIG (META_BLOCK / 4) /* own mapping from this size up */

static pthread_mutex_t meta_mu = PTHREAD_MUTEX_INITIALIZER;
static char *meta_cur, *meta_end;
static uint64_t meta_mapped;

static void *
meta_alloc_locked(size_t size)
{
	void *p;

	size = (size + 63) & ~(size_t)63;
	if (size >= META_BIG) {
		/* Its own mapping, rounded to OS pages. */
		size_t len = (size + 4095) & ~(size_t)4095;
		p = mri_os->map(len);
		if (!p) {
			errno = ENOMEM;
			return NULL;
		}
		__atomic_add_fetch(&meta_mapped, len, __ATOMIC_RELAXED);
		return p;
	}
	if ((size_t)(meta_end - meta_cur) < size) {
		char *m = mri_os->map(META_BLOCK);
		if (!m) {
			errno = ENOMEM;
			return NULL;
		}
		__atomic_add_fetch(&meta_mapped, META_BLOCK, __ATOMIC_RELAXED);
		/* The rest of the old block (under META_BIG) is given up. */
		meta_cur = m;
		meta_end = m + META_BLOCK;
	}
	p = meta_cur;
	meta_cur += size;
	return p; /* fresh mapping: already zero */
}

void *
mri_meta_alloc(size_t size)
{
	void *p;

	pthread_mutex_lock(&meta_mu);
	p = meta_alloc_locked(size);
	pthread_mutex_unlock(&meta_mu);
	return p;
}

void *
mri_pool_get_prefix(struct mri_pool *pool, size_t zero)
{
	void *p;

	pthread_mutex_lock(&meta_mu);
	p = pool->free;
	if (p) {
		pool->free = *(void **)p;
		pthread_mutex_unlock(&meta_mu);
		memset(p, 0, zero < pool->size ? zero : pool->size);
		return p;
	}
	p = meta_alloc_locked(pool->size);
	pthread_mutex_unlock(&meta_mu);
	return p;
}

void *
mri_pool_get(struct mri_pool *pool)
{
	return mri_pool_get_prefix(pool, pool->size);
}

void
mri_pool_put(struct mri_pool *pool, void *obj)
{
	pthread_mutex_lock(&meta_mu);
	*(void **)obj = pool->free;
	pool->free = obj;
	pthread_mutex_unlock(&meta_mu);
}

uint64_t
mri_meta_bytes(void)
{
	return __atomic_load_n(&meta_mapped, __ATOMIC_RELAXED);
}

void
mri_meta_lock(void)
{
	pthread_mutex_lock(&meta_mu);
}

void
mri_meta_unlock(void)
{
	pthread_mutex_unlock(&meta_mu);
}
