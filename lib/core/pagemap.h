/*
 * pagemap.h: address -> span in O(1), with no header before objects.
 *
 * Two levels over the 48-bit user address space: a root of 2^18 entries,
 * one per GiB, each pointing at a leaf of 2^17 span pointers, one per
 * 8 KiB page.  The root is in .bss (2 MiB of virtual space, touched only
 * where the heap lives); leaves (1 MiB each) are mapped when a chunk in
 * their GiB is mapped and never freed, so a lookup never races with a
 * free of the map itself.  Lookups are two dependent loads, lock-free.
 */
#ifndef MRI_PAGEMAP_H
#define MRI_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>
#include "core/span.h"
#include "core/sizeclass.h"

#define MRI_HIDDEN __attribute__((visibility("hidden")))

#define MRI_PM_LEAF_SHIFT 30
#define MRI_PM_ROOT_BITS (48 - MRI_PM_LEAF_SHIFT)
#define MRI_PM_LEAF_BITS (MRI_PM_LEAF_SHIFT - MRI_PAGE_SHIFT)

extern struct mri_span **mri_pagemap_root[1 << MRI_PM_ROOT_BITS] MRI_HIDDEN;

/* The span owning p, or NULL when p is not in a live span's mapped pages
 * (not ours, or freed). */
static inline struct mri_span *
mri_pagemap_lookup(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	struct mri_span **leaf;

	if (a >> 48)
		return NULL;
	leaf = __atomic_load_n(&mri_pagemap_root[a >> MRI_PM_LEAF_SHIFT],
			       __ATOMIC_ACQUIRE);
	if (!leaf)
		return NULL;
	return leaf[(a >> MRI_PAGE_SHIFT) & ((1u << MRI_PM_LEAF_BITS) - 1)];
}

/* Make sure leaves exist for [addr, addr+len).  0 or -ENOMEM. */
MRI_HIDDEN int mri_pagemap_ensure(uintptr_t addr, size_t len);
/* Point npages pages from addr at s (NULL to clear).  Leaves must exist. */
MRI_HIDDEN void mri_pagemap_set(uintptr_t addr, size_t npages,
				struct mri_span *s);
MRI_HIDDEN uint64_t mri_pagemap_bytes(void);

#endif
