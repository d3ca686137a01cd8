/*
 * pagemap.c: leaf management for the two-level page map (see pagemap.h).
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include "os/os.h"
#include "core/pagemap.h"

struct mri_span **mri_pagemap_root[1 << MRI_PM_ROOT_BITS];
static pthread_mutex_t pm_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t pm_bytes;

int
mri_pagemap_ensure(uintptr_t addr, size_t len)
{
	uintptr_t i, first = addr >> MRI_PM_LEAF_SHIFT;
	uintptr_t last = (addr + len - 1) >> MRI_PM_LEAF_SHIFT;
	size_t leaf_len = sizeof(struct mri_span *) << MRI_PM_LEAF_BITS;

	if ((addr + len - 1) >> 48)
		return -ENOMEM;
	for (i = first; i <= last; i++) {
		if (__atomic_load_n(&mri_pagemap_root[i], __ATOMIC_ACQUIRE))
			continue;
		pthread_mutex_lock(&pm_mu);
		if (!mri_pagemap_root[i]) {
			struct mri_span **leaf = mri_os->map(leaf_len);
			if (!leaf) {
				pthread_mutex_unlock(&pm_mu);
				return -ENOMEM;
			}
			__atomic_add_fetch(&pm_bytes, leaf_len,
					   __ATOMIC_RELAXED);
			__atomic_store_n(&mri_pagemap_root[i], leaf,
					 __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&pm_mu);
	}
	return 0;
}

void
mri_pagemap_set(uintptr_t addr, size_t npages, struct mri_span *s)
{
	size_t i;

	for (i = 0; i < npages; i++, addr += MRI_PAGE_SIZE) {
		struct mri_span **leaf =
		    mri_pagemap_root[addr >> MRI_PM_LEAF_SHIFT];
		__atomic_store_n(&leaf[(addr >> MRI_PAGE_SHIFT) &
				       ((1u << MRI_PM_LEAF_BITS) - 1)],
				 s, __ATOMIC_RELEASE);
	}
}

uint64_t
mri_pagemap_bytes(void)
{
	return __atomic_load_n(&pm_bytes, __ATOMIC_RELAXED);
}
