/*
 * alloc.c: the malloc family as mr_*, on top of the thread caches (small
 * objects) and the page heaps (large objects).  POSIX/glibc semantics live
 * here: errno, overflow checks, alignment rules, malloc(0), realloc(p, 0).
 * Heap corruption that is cheap to see (a pointer we never returned, an
 * interior pointer, a double free caught by the thread cache or the span's
 * allocation bits) stops the program through mri_fatal().
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "api/init.h"
#include "core/asan.h"
#include "core/central.h"
#include "core/heap.h"
#include "core/init.h"
#include "core/pageheap.h"
#include "core/pagemap.h"
#include "core/tcache.h"
#include "os/options.h"
#include "prof/prof.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Largest request we try: beyond it the page count math would overflow
 * and no machine could map it anyway. */
#define MR_MAX_REQUEST ((size_t)1 << 46)

static void *
alloc_small_slow(unsigned cls)
{
	struct mri_tcache *tc;
	void *p;

	mri_startup_poll();
	tc = mri_tcache_get();
	if (tc) {
		struct mri_bin *b = &tc->bins[cls];
		if (b->n)
			return mri_bin_pop(b);
		p = mri_tcache_refill(tc, cls);
	} else {
		mri_init();
		/* The core could not start (no memory for its own books). */
		if (!__atomic_load_n(&mri_inited, __ATOMIC_ACQUIRE) ||
		    !mri_central_fetch(mri_current_node(), cls, &p, 1))
			p = NULL;
	}
	if (!p)
		errno = ENOMEM;
	return p;
}

static void *
alloc_large(size_t size, size_t align)
{
	struct mri_span *s;
	size_t npages;

	if (unlikely(size > MR_MAX_REQUEST)) {
		errno = ENOMEM;
		return NULL;
	}
	mri_startup_poll();
	mri_init();
	if (!__atomic_load_n(&mri_inited, __ATOMIC_ACQUIRE)) {
		errno = ENOMEM;
		return NULL;
	}
	npages = (size + MRI_PAGE_SIZE - 1) >> MRI_PAGE_SHIFT;
	if (npages == 0)
		npages = 1;
	s = mri_pageheap_alloc(mri_current_node(), npages, align, 0);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	return (void *)s->start;
}

/* A small object handed out: ASan may see it again (core/asan.h).  Large
 * blocks are never poisoned. */
static inline void *
asan_out(void *p)
{
#ifdef MRI_ASAN
	struct mri_span *s = p ? mri_pagemap_lookup(p) : NULL;

	if (s && s->cls)
		mri_asan_unpoison(p, s->size);
#endif
	return p;
}

static __attribute__((noinline)) void *
alloc_slow(size_t size)
{
	if (size <= MRI_SMALL_MAX)
		return alloc_small_slow(mri_size_class(size));
	return alloc_large(size, MRI_PAGE_SIZE);
}

static unsigned aligned_class(size_t size, size_t align);
static void *malloc_sample(size_t size, size_t align);

/* Heap profiling (prof/prof.h).  On or off, the fast path subtracts the
 * size from the thread's countdown and branches when it goes below zero
 * (a tail call to malloc_sample); the switch is read only there, so
 * sampling on adds no instruction to the fast path.  Off, that happens once
 * per MRI_PROF_RECHECK bytes a thread allocates. */
static __attribute__((always_inline)) inline int
prof_due(size_t size)
{
	/* in unsigned arithmetic: a request of 2^63 bytes or more (which
	 * fails anyway) wraps instead of overflowing a signed subtraction */
	mri_tls_prof_left = (int64_t)((uint64_t)mri_tls_prof_left - size);
	return unlikely(mri_tls_prof_left < 0);
}

/* The fast path without profiling.  A thread without a cache has
 * mri_tcache_none, whose bins are empty: no NULL test here. */
static __attribute__((always_inline)) inline void *
malloc_plain(size_t size)
{
	if (likely(size <= MRI_SMALL_MAX)) {
		struct mri_bin *b =
		    &mri_tls_tcache->bins[mri_tcache_class[(size + 15) >> 4]];
		uint32_t n = b->n;
		if (likely(n != 0)) {
			mri_bin_set_n(b, n - 1);
			return asan_out(b->slots[n - 1]);
		}
	}
	return asan_out(alloc_slow(size));
}

static __attribute__((always_inline)) inline void *
malloc_inl(size_t size)
{
	if (unlikely(prof_due(size)))
		return malloc_sample(size, 0);
	return malloc_plain(size);
}

MR_API void *
mr_malloc(size_t size)
{
	return malloc_inl(size);
}

static __attribute__((noinline, cold)) void
bad_pointer(const char *fn, void *p)
{
	char msg[96];
	size_t n = strlen(fn);

	memcpy(msg, fn, n);
	memcpy(msg + n,
	       "(): invalid pointer (not from memreclaim, interior, or freed)",
	       sizeof("(): invalid pointer (not from memreclaim, interior, or "
		      "freed)"));
	mri_fatal(msg, p);
}

/* An object pointer must be at an object boundary of its span. */
static inline int
small_ptr_ok(const struct mri_span *s, const void *p)
{
	uintptr_t off = (uintptr_t)p - s->start;
	uint32_t idx = (uint32_t)(((uint64_t)off * s->magic) >> 32);

	return (uintptr_t)idx * s->size == off;
}

/* A small object freed: poison it.  One already poisoned was freed before
 * (it sits in a cache or its span): a double free, wherever it hides. */
static inline void
asan_in(void *p, const struct mri_span *s)
{
#ifdef MRI_ASAN
	if (mri_asan_is_poisoned(p))
		mri_fatal("free(): double free", p);
	mri_asan_poison(p, s->size);
#else
	(void)p;
	(void)s;
#endif
}

static __attribute__((noinline)) void
free_slow(void *p, struct mri_span *s)
{
	struct mri_tcache *tc;

	if (unlikely(!s)) {
		if (p == NULL)
			return;
		bad_pointer("free", p);
	}
	mri_startup_poll();
	if (unlikely(s->sampled))
		mri_prof_free(p, s);
	if (s->cls == 0) {
		if (unlikely((uintptr_t)p != s->start))
			bad_pointer("free", p);
		mri_pageheap_free(s);
		mri_startup_poll(); /* the free may have woken the scavenger */
		return;
	}
	if (unlikely(!small_ptr_ok(s, p)))
		bad_pointer("free", p);
	asan_in(p, s);
	tc = mri_tcache_get();
	if (tc && s->node == tc->node) {
		struct mri_bin *b = &tc->bins[s->cls];
		if (b->n && b->slots[b->n - 1] == p)
			mri_fatal("free(): double free", p);
		if (b->n >= b->cap)
			(void)mri_tcache_overflow(tc, s->cls);
		mri_tcache_free(tc, s, p);
		mri_startup_poll();
		return;
	}
	mri_central_return(s->node, s->cls, &p, 1);
	mri_startup_poll();
}

/*
 * The fast path: a small object of this thread's node into a bin that
 * has objects and room.  free(NULL) finds no span (no page 0 is ever
 * ours) and returns in free_slow.  Large blocks (class 0) meet bins[0],
 * which has no room; a thread without a cache meets mri_tcache_none.  An
 * empty bin goes the slow way too: mri_tcache_free decides whether the
 * object may be the next one handed out (tcache.h).
 */
MR_API void
mr_free(void *p)
{
	struct mri_span *s = mri_pagemap_lookup(p);
	struct mri_tcache *tc = mri_tls_tcache;

	if (likely(s != NULL && !s->sampled && s->node == tc->node &&
		   small_ptr_ok(s, p))) {
		struct mri_bin *b = &tc->bins[s->cls];
		uint32_t n = b->n;
		/* 0 < n < cap in one unsigned compare */
		if (likely(n - 1 < b->cap - 1)) {
			void **slots = b->slots;
			/* The most recent free of the same object is the
			 * common double free, and costs one compare. */
			if (unlikely(slots[n - 1] == p))
				mri_fatal("free(): double free", p);
			asan_in(p, s);
			slots[n] = p;
			mri_bin_set_n(b, n + 1);
			return;
		}
	}
	free_slow(p, s);
}

MR_API void
mr_free_sized(void *p, size_t size)
{
	(void)size;
	mr_free(p);
}

MR_API void
mr_free_aligned_sized(void *p, size_t alignment, size_t size)
{
	(void)alignment;
	(void)size;
	mr_free(p);
}

MR_API void *
mr_calloc(size_t nmemb, size_t size)
{
	size_t total;
	void *p;
	struct mri_span *s;

	if (unlikely(__builtin_mul_overflow(nmemb, size, &total))) {
		errno = ENOMEM;
		return NULL;
	}
	p = malloc_inl(total);
	if (unlikely(!p))
		return NULL;
	if (total > MRI_SMALL_MAX) {
		/* Pages that were never touched or were released with
		 * MADV_DONTNEED read as zero: skip the memset, which would
		 * also fault them all in. */
		s = mri_pagemap_lookup(p);
		if (s->zeroed)
			return p;
	}
	memset(p, 0, total);
	return p;
}

MR_API size_t
mr_malloc_usable_size(void *p)
{
	struct mri_span *s;

	if (!p)
		return 0;
	s = mri_pagemap_lookup(p);
	if (unlikely(!s))
		bad_pointer("malloc_usable_size", p);
	if (s->cls)
		return s->size;
	return (size_t)s->npages * MRI_PAGE_SIZE - ((uintptr_t)p - s->start);
}

/* Small classes whose size is a multiple of align hold only aligned objects
 * (spans start page aligned).  Returns such a class, or 0. */
static unsigned
aligned_class(size_t size, size_t align)
{
	unsigned cls;

	if (align > MRI_PAGE_SIZE || size > MRI_SMALL_MAX)
		return 0;
	size = (size + align - 1) & ~(align - 1);
	if (size > MRI_SMALL_MAX)
		return 0;
	for (cls = mri_size_class(size ? size : 1); cls < MRI_MAX_CLASSES;
	     cls++)
		if ((mri_class_size[cls] & (align - 1)) == 0)
			return cls;
	return 0;
}

/* align: a power of two above 16; no profiling. */
static __attribute__((always_inline)) inline void *
aligned_plain(size_t align, size_t size)
{
	unsigned cls = aligned_class(size, align);
	struct mri_tcache *tc;

	if (cls) {
		tc = mri_tls_tcache;
		if (tc->bins[cls].n)
			return asan_out(mri_bin_pop(&tc->bins[cls]));
		return asan_out(alloc_small_slow(cls));
	}
	if (size > MR_MAX_REQUEST || align > MR_MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc_large(size, align);
}

/* align: a power of two. */
static __attribute__((always_inline)) inline void *
alloc_aligned(size_t align, size_t size)
{
	if (align <= 16)
		return malloc_inl(size);
	if (unlikely(prof_due(size)))
		return malloc_sample(size, align);
	return aligned_plain(align, size);
}

/*
 * The countdown ran out: sample, unless mri_prof_tick says otherwise.  Its
 * frame is where a sample's stack starts (prof/stack.c): its return
 * address is the program's call site (mr_malloc and the other entry
 * points reach it by a tail call) or a frame of the malloc family (calloc,
 * realloc), which the walk skips.  This file is built with frame pointers,
 * so every frame between here and the program keeps the chain.
 */
static __attribute__((noinline)) void *
malloc_sample(size_t size, size_t align)
{
	void *p;

	if (!mri_prof_tick(size))
		return align <= 16 ? malloc_plain(size)
				   : aligned_plain(align, size);
	p = align <= 16 ? malloc_plain(size) : aligned_plain(align, size);
	if (p)
		mri_prof_record(p, size, __builtin_frame_address(0));
	return p;
}

static int
is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

MR_API int
mr_posix_memalign(void **memptr, size_t alignment, size_t size)
{
	int saved = errno;
	void *p;

	if (!is_pow2(alignment) || alignment % sizeof(void *))
		return EINVAL;
	p = alloc_aligned(alignment, size);
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*memptr = p;
	return 0;
}

/* C11: the alignment must be a valid one (a power of two); glibc 2.38 and
 * later reject others with EINVAL, and so do we. */
MR_API void *
mr_aligned_alloc(size_t alignment, size_t size)
{
	if (!is_pow2(alignment)) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_aligned(alignment, size);
}

/* glibc's memalign: a non-power-of-two alignment is rounded up to the next
 * power of two; one too large to round is EINVAL. */
MR_API void *
mr_memalign(size_t alignment, size_t size)
{
	if (alignment > ((size_t)1 << (sizeof(size_t) * 8 - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (!is_pow2(alignment)) {
		size_t a = 1;
		while (a < alignment)
			a <<= 1;
		alignment = a;
	}
	return alloc_aligned(alignment, size);
}

static size_t
os_page(void)
{
	static size_t pg; /* racing first callers store the same value */
	size_t v = __atomic_load_n(&pg, __ATOMIC_RELAXED);

	if (!v) {
		v = (size_t)sysconf(_SC_PAGESIZE);
		__atomic_store_n(&pg, v, __ATOMIC_RELAXED);
	}
	return v;
}

MR_API void *
mr_valloc(size_t size)
{
	return alloc_aligned(os_page(), size);
}

MR_API void *
mr_pvalloc(size_t size)
{
	size_t pg = os_page();

	if (size > SIZE_MAX - pg) {
		errno = ENOMEM;
		return NULL;
	}
	size = (size + pg - 1) & ~(pg - 1);
	return alloc_aligned(pg, size ? size : pg);
}

/*
 * A move.  Growing, it asks for a quarter more than the old block at
 * least (tcmalloc's rule: gperftools' and google/tcmalloc's realloc grow
 * to max(new, old * 1.25)), so a buffer grown a few bytes at a time
 * crosses a handful of size classes instead of every one, with a copy
 * each: each class crossed leaves objects and a span behind in the caches
 * (bench's realloc workload touched all 60 classes above 256 bytes, 3 MiB
 * of them cached).  If the larger request fails, the exact one is tried.
 * Not inlined, like the other paths of realloc that call out: mr_realloc
 * itself then makes only tail calls and builds no frame, so its common
 * cases (the object still fits) cost no frame-pointer set-up.
 */
static __attribute__((noinline)) void *
realloc_move(void *p, size_t old, size_t size)
{
	void *q = NULL;

	if (size > old && size - old < old / 4 &&
	    old + old / 4 <= MR_MAX_REQUEST)
		q = malloc_inl(old + old / 4);
	if (!q)
		q = malloc_inl(size);
	if (!q)
		return NULL; /* p untouched, as POSIX requires */
	memcpy(q, p, old < size ? old : size);
	mr_free(p);
	return q;
}

/* glibc (REALLOC_ZERO_BYTES_FREES): free and return NULL. */
static __attribute__((noinline)) void *
realloc_zero(void *p)
{
	mr_free(p);
	return NULL;
}

static __attribute__((noinline)) void *
realloc_large(void *p, struct mri_span *s, size_t size)
{
	if (unlikely((uintptr_t)p != s->start))
		bad_pointer("realloc", p);
	if (size > MRI_SMALL_MAX && size <= MR_MAX_REQUEST) {
		size_t npages = (size + MRI_PAGE_SIZE - 1) >> MRI_PAGE_SHIFT;
		/* Grow into the free pages that follow, or give back a tail;
		 * either way the data stays where it is. */
		struct mri_span *t;
		int sampled = s->sampled; /* s is recycled by a move */
		mri_startup_poll();
		if (npages == s->npages || mri_pageheap_resize(s, npages) == 0)
			return p;
		/* Big blocks move by remapping their pages, as glibc does
		 * for its mmapped chunks: no copy, and the old and new
		 * block are never both resident. */
		if ((t = mri_pageheap_move(s, npages)) != NULL) {
			if (unlikely(sampled))
				mri_prof_move(p, (void *)t->start);
			return (void *)t->start;
		}
	} else if (size <= (size_t)s->npages * MRI_PAGE_SIZE &&
		   size > (size_t)s->npages * MRI_PAGE_SIZE / 2) {
		/* Small enough for a class, but over half the block: stays,
		 * as a small object does (a quarter more on the way up then
		 * a few bytes less would move it back and forth). */
		return p;
	}
	return realloc_move(p, (size_t)s->npages * MRI_PAGE_SIZE, size);
}

MR_API void *
mr_realloc(void *p, size_t size)
{
	struct mri_span *s;

	if (!p)
		return malloc_inl(size);
	if (size == 0)
		return realloc_zero(p);
	s = mri_pagemap_lookup(p);
	if (unlikely(!s))
		bad_pointer("realloc", p);
	if (!s->cls)
		return realloc_large(p, s, size);
	if (unlikely(!small_ptr_ok(s, p)))
		bad_pointer("realloc", p);
	/* Stay in place when the request still fits and would not waste
	 * more than half the object. */
	if (size <= s->size && (size > s->size / 2 || s->cls == 1))
		return p;
	return realloc_move(p, s->size, size);
}

MR_API void *
mr_reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return mr_realloc(p, total);
}
