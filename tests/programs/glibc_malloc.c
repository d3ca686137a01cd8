/*
 * glibc_malloc.c: LD_PRELOAD shim that routes the malloc family to glibc's
 * own allocator (its __libc_* entry points), for programs linked with
 * another allocator.  Debian's redis-server links jemalloc; the demo uses
 * this to show the same run on plain glibc as well.  Not part of the
 * library; built by `make -C tests libglibc_malloc.la`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "common/libc_malloc.h"

#define EXPORT __attribute__((visibility("default")))

/* glibc has no __libc_ name for it: take libc's own symbol (not the
 * preloaded or linked allocator's) from libc's handle, at load time. */
static size_t (*libc_usable)(void *);

__attribute__((constructor)) static void
shim_init(void)
{
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	if (h)
		libc_usable = (size_t (*)(void *))dlsym(h, "malloc_usable_size");
}

EXPORT void *malloc(size_t n) { return __libc_malloc(n); }
EXPORT void free(void *p) { __libc_free(p); }
EXPORT void *calloc(size_t a, size_t b) { return __libc_calloc(a, b); }
EXPORT void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
EXPORT void *memalign(size_t a, size_t n) { return __libc_memalign(a, n); }
EXPORT void *aligned_alloc(size_t a, size_t n) { return __libc_memalign(a, n); }
EXPORT void *valloc(size_t n) { return __libc_valloc(n); }
EXPORT void *pvalloc(size_t n) { return __libc_pvalloc(n); }

EXPORT int
posix_memalign(void **out, size_t a, size_t n)
{
	void *p;

	if (!a || (a & (a - 1)) || a % sizeof(void *))
		return EINVAL;
	p = __libc_memalign(a, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT size_t
malloc_usable_size(void *p)
{
	return p && libc_usable ? libc_usable(p) : 0;
}
