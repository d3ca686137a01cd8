/*
 * override.c: the only file that defines the libc allocation names.
 *
 * Each is a forwarder to its mr_* twin.  Keeping them here means the rest
 * of the library (and every unit test that links the core) never replaces
 * the host's malloc.  With -Bsymbolic-functions a forwarder compiles to a
 * direct jump to its twin, so the libc name costs one jump and no PLT.
 */
#include "config.h"
#include <stddef.h>
#include <errno.h>
#include <stdlib.h>
#include <malloc.h>
#include <sys/mman.h>
#include "memreclaim.h"
#include "core/init.h"
#include "release/limit.h"
#include "release/reclaim.h"

#define MR_EXPORT __attribute__((visibility("default")))

void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);

MR_EXPORT void *
malloc(size_t size)
{
	return mr_malloc(size);
}
MR_EXPORT void
free(void *ptr)
{
	mr_free(ptr);
}
MR_EXPORT void *
calloc(size_t nmemb, size_t size)
{
	return mr_calloc(nmemb, size);
}
MR_EXPORT void *
realloc(void *ptr, size_t size)
{
	return mr_realloc(ptr, size);
}
MR_EXPORT void *
reallocarray(void *ptr, size_t nmemb, size_t size)
{
	return mr_reallocarray(ptr, nmemb, size);
}
MR_EXPORT int
posix_memalign(void **memptr, size_t alignment, size_t size)
{
	return mr_posix_memalign(memptr, alignment, size);
}
MR_EXPORT void *
aligned_alloc(size_t alignment, size_t size)
{
	return mr_aligned_alloc(alignment, size);
}
MR_EXPORT void *
memalign(size_t alignment, size_t size)
{
	return mr_memalign(alignment, size);
}
MR_EXPORT void *
valloc(size_t size)
{
	return mr_valloc(size);
}
MR_EXPORT void *
pvalloc(size_t size)
{
	return mr_pvalloc(size);
}
MR_EXPORT size_t
malloc_usable_size(void *ptr)
{
	return mr_malloc_usable_size(ptr);
}
MR_EXPORT void
free_sized(void *ptr, size_t size)
{
	mr_free_sized(ptr, size);
}
MR_EXPORT void
free_aligned_sized(void *ptr, size_t alignment, size_t size)
{
	mr_free_aligned_sized(ptr, alignment, size);
}

int malloc_trim(size_t pad);

/* glibc's malloc_trim(pad): give free memory back, keep `pad` bytes of
 * it.  Returns 1 if memory was released, as glibc does. */
__attribute__((visibility("default"))) int
malloc_trim(size_t pad)
{
	mri_init();
	mri_limit_ensure(); /* the plan weighs the cgroup's limit */
	return mri_release_trim(pad);
}
