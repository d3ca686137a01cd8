/*
 * asan.h: telling AddressSanitizer about the allocator's own objects.
 *
 * In a build with -fsanitize=address (configure --enable-sanitizers=
 * address,...) the allocator poisons what a program must not touch, so
 * ASan reports a use after free or an overflow of a memreclaim object as
 * it does for its own heap:
 *   - a new small-object span is poisoned whole (never-used objects);
 *   - an object is unpoisoned (its class size) when it is handed out and
 *     poisoned again when it is freed;
 *   - the free-list link the central list keeps in a free object is
 *     unpoisoned only while the allocator reads or writes it;
 *   - a span going back to the page heap is unpoisoned, so large blocks
 *     (not poisoned: their size would cost as much shadow) never inherit
 *     stale poison.
 * A free of an object that is still poisoned is a double free (it is in a
 * thread cache or a span already); mr_free reports it.
 * In other builds every macro is a no-op.
 */
#ifndef MRI_ASAN_H
#define MRI_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define MRI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MRI_ASAN 1
#endif
#endif

#ifdef MRI_ASAN
#include <sanitizer/asan_interface.h>
#define mri_asan_poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define mri_asan_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define mri_asan_is_poisoned(p) __asan_address_is_poisoned(p)
#else
#define mri_asan_poison(p, n) ((void)(p), (void)(n))
#define mri_asan_unpoison(p, n) ((void)(p), (void)(n))
#define mri_asan_is_poisoned(p) ((void)(p), 0)
#endif

#endif
