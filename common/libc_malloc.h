/*
 * libc_malloc.h: glibc's own allocator entry points, which a preloaded
 * malloc shim calls through to (glibc exports them for that).  Header only;
 * for the shims in tests/programs and bench, not for the library.
 */
#ifndef MR_LIBC_MALLOC_H
#define MR_LIBC_MALLOC_H

#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

#endif
