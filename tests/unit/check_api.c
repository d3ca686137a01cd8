/*
 * check_api.c: the public malloc family, called as mr_*, against the
 * behaviour of glibc 2.36 (Debian 12), which is what programs that
 * LD_PRELOAD the library were written and tested against.
 *
 * Each glibc fact asserted here was measured on this machine with a small
 * program linked against glibc alone (see the comments), e.g.
 *	realloc(p, 0)        -> NULL, p freed, errno untouched
 *	posix_memalign(24)   -> EINVAL returned, errno untouched
 *	memalign(24, n)      -> alignment rounded up to 32
 *	memalign(2^63 + 1)   -> NULL, EINVAL;  memalign(2^63, n) -> NULL, ENOMEM
 * Where glibc releases disagree (aligned_alloc with an alignment that is
 * not a power of two: 2.36 rounds it up, 2.38 fails with EINVAL) either
 * answer is accepted, but nothing else.
 *
 * The allocator core is linked statically (libmemreclaim-core.la), so this
 * program keeps glibc as its own malloc and uses memreclaim only through
 * the mr_* names; byte figures come from the core's own counters
 * (mri_heap_counters, heap.h).
 */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memreclaim.h"
#include "core/heap.h"
#include "core_alone.h"
#include "check_main.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

/* Sizes that cross every size-class boundary region and go large. */
static const size_t api_sizes[] = {
	0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100,
	127, 128, 129, 255, 256, 257, 511, 512, 513, 1000, 1023, 1024, 1025,
	2047, 2048, 2049, 3000, 4095, 4096, 4097, 6000, 8191, 8192, 8193,
	12345, 16383, 16384, 16385, 20000, 27000, 32767, 32768, 32769,
	40000, 65535, 65536, 65537, 100000, 262144, 262145, 1000000,
	MiB, MiB + 1, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1, 5 * MiB + 3,
	16 * MiB, 33 * MiB + 17,
};
#define NSIZES (sizeof(api_sizes) / sizeof(api_sizes[0]))

/* Sizes no machine can satisfy: each must give NULL and ENOMEM. */
static const size_t huge_sizes[] = {
	SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096, SIZE_MAX / 2,
	(size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1,
	SIZE_MAX - 2 * MiB, SIZE_MAX - 32 * KiB,
};
#define NHUGE (sizeof(huge_sizes) / sizeof(huge_sizes[0]))

static int
is_aligned(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

/* A pattern that differs per object and per byte, so a copy to the wrong
 * place or an overlap with another object shows. */
static unsigned char
pat(uintptr_t seed, size_t i)
{
	return (unsigned char)((seed * 131 + i * 7 + (i >> 8) * 13) ^ (seed >> 3));
}

static void
fill(void *p, size_t n, uintptr_t seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = pat(seed, i);
}

/* Returns the index of the first bad byte, or n when all are right. */
static size_t
verify(const void *p, size_t n, uintptr_t seed)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != pat(seed, i))
			return i;
	return n;
}

static size_t
page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

START_TEST(test_malloc_zero_returns_unique_pointers)
{
	void *p[64];
	int i, j;

	for (i = 0; i < 64; i++) {
		errno = 0;
		p[i] = mr_malloc(0);
		ck_assert_msg(p[i] != NULL, "malloc(0) returned NULL");
		ck_assert_int_eq(errno, 0);
		ck_assert_msg(is_aligned(p[i], 16), "malloc(0) = %p", p[i]);
		for (j = 0; j < i; j++)
			ck_assert_ptr_ne(p[i], p[j]);
	}
	for (i = 0; i < 64; i++)
		mr_free(p[i]);
}
END_TEST

START_TEST(test_free_null_is_noop)
{
	errno = 4321;
	mr_free(NULL);
	mr_free_sized(NULL, 0);
	mr_free_aligned_sized(NULL, 64, 0);
	ck_assert_int_eq(errno, 4321);
	ck_assert_uint_eq(mr_malloc_usable_size(NULL), 0);
}
END_TEST

/* Every pointer of every size is 16-byte aligned (glibc's MALLOC_ALIGNMENT
 * on x86_64: programs store long double and SSE vectors in malloc'd
 * memory), writable over its whole usable size, and usable >= requested. */
START_TEST(test_every_size_aligned_usable_and_disjoint)
{
	void *p[NSIZES];
	size_t u[NSIZES];
	size_t i, bad;

	for (i = 0; i < NSIZES; i++) {
		p[i] = mr_malloc(api_sizes[i]);
		ck_assert_msg(p[i] != NULL, "malloc(%zu) failed", api_sizes[i]);
		ck_assert_msg(is_aligned(p[i], 16), "malloc(%zu) = %p",
			      api_sizes[i], p[i]);
		u[i] = mr_malloc_usable_size(p[i]);
		ck_assert_msg(u[i] >= api_sizes[i],
			      "usable %zu < requested %zu", u[i], api_sizes[i]);
		fill(p[i], u[i], i + 1);
	}
	/* Filling every usable byte of one object must not touch another. */
	for (i = 0; i < NSIZES; i++) {
		bad = verify(p[i], u[i], i + 1);
		ck_assert_msg(bad == u[i], "object %zu (size %zu) byte %zu "
			      "overwritten", i, api_sizes[i], bad);
		mr_free(p[i]);
	}
}
END_TEST

/* Every object i still holds its own pattern; with free_each, free it. */
static void
verify_objects(void **p, const size_t *sz, size_t n, int free_each)
{
	size_t i, bad;

	for (i = 0; i < n; i++) {
		bad = verify(p[i], sz[i], i * 2654435761u);
		ck_assert_msg(bad == sz[i], "object %zu size %zu byte %zu",
			      i, sz[i], bad);
		if (free_each)
			mr_free(p[i]);
	}
}

/* Many live objects of mixed sizes never overlap. */
START_TEST(test_many_objects_do_not_overlap)
{
	enum { N = 6000 };
	void **p = calloc(N, sizeof(*p));
	size_t *sz = calloc(N, sizeof(*sz));
	unsigned x = 12345;
	size_t i;

	ck_assert(p && sz);
	for (i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		sz[i] = (x >> 8) % (i % 97 == 0 ? 200000 : 2048);
		p[i] = mr_malloc(sz[i]);
		ck_assert(p[i] != NULL);
		fill(p[i], sz[i], i * 2654435761u);
	}
	verify_objects(p, sz, N, 0);
	/* Free every other one, reallocate, verify the survivors. */
	for (i = 0; i < N; i += 2) {
		mr_free(p[i]);
		p[i] = mr_malloc(sz[i]);
		ck_assert(p[i] != NULL);
		fill(p[i], sz[i], i * 2654435761u);
	}
	verify_objects(p, sz, N, 1);
	free(p);
	free(sz);
}
END_TEST

START_TEST(test_huge_sizes_fail_with_enomem)
{
	size_t i;
	void *p, *q, *keep;
	int r;

	keep = mr_malloc(100);
	ck_assert(keep != NULL);
	fill(keep, 100, 77);
	for (i = 0; i < NHUGE; i++) {
		size_t n = huge_sizes[i];

		errno = 0;
		ck_assert_ptr_null(mr_malloc(n));
		ck_assert_msg(errno == ENOMEM, "malloc(%zu): errno %d", n, errno);
		errno = 0;
		ck_assert_ptr_null(mr_calloc(1, n));
		ck_assert_int_eq(errno, ENOMEM);
		errno = 0;
		ck_assert_ptr_null(mr_aligned_alloc(64, n));
		ck_assert_int_eq(errno, ENOMEM);
		errno = 0;
		ck_assert_ptr_null(mr_memalign(4096, n));
		ck_assert_int_eq(errno, ENOMEM);
		errno = 0;
		ck_assert_ptr_null(mr_valloc(n));
		ck_assert_int_eq(errno, ENOMEM);
		/* pvalloc rounds n up to a page: must not wrap to 0. */
		errno = 0;
		ck_assert_ptr_null(mr_pvalloc(n));
		ck_assert_int_eq(errno, ENOMEM);
		p = (void *)&r;
		r = mr_posix_memalign(&p, 256, n);
		ck_assert_int_eq(r, ENOMEM);
		/* realloc failure leaves the old block alone. */
		errno = 0;
		q = mr_realloc(keep, n);
		ck_assert_ptr_null(q);
		ck_assert_int_eq(errno, ENOMEM);
		ck_assert_uint_eq(verify(keep, 100, 77), 100);
	}
	/* The allocator still works after all those failures. */
	p = mr_malloc(3 * MiB);
	ck_assert(p != NULL);
	memset(p, 1, 3 * MiB);
	mr_free(p);
	mr_free(keep);
}
END_TEST

START_TEST(test_calloc_overflow_and_zeroing)
{
	static const size_t sz[] = { 1, 16, 100, 1000, 4096, 30000, 40000,
				     300000, 3 * MiB };
	size_t i, j, k;
	unsigned char *p;
	void *q;

	/* nmemb * size overflows size_t: NULL + ENOMEM, never a short block. */
	errno = 0;
	ck_assert_ptr_null(mr_calloc(SIZE_MAX / 2, 3));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(mr_calloc((size_t)1 << 33, (size_t)1 << 31));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(mr_calloc(SIZE_MAX, SIZE_MAX));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	/* (2^32 + 1) * 2^32 wraps to 4 GiB: a real size if unchecked. */
	ck_assert_ptr_null(mr_calloc(((size_t)1 << 32) + 1, (size_t)1 << 32));
	ck_assert_int_eq(errno, ENOMEM);

	/* calloc(0, n) and calloc(n, 0) behave like malloc(0). */
	q = mr_calloc(0, 10);
	ck_assert(q != NULL);
	mr_free(q);
	q = mr_calloc(10, 0);
	ck_assert(q != NULL);
	mr_free(q);

	/* Memory is zero even when it was used and dirtied before. */
	for (k = 0; k < 3; k++) {
		for (i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
			p = mr_malloc(sz[i]);
			ck_assert(p != NULL);
			memset(p, 0xa5, mr_malloc_usable_size(p));
			mr_free(p);
			p = mr_calloc(1, sz[i]);
			ck_assert(p != NULL);
			ck_assert(is_aligned(p, 16));
			for (j = 0; j < sz[i]; j++)
				ck_assert_msg(p[j] == 0, "calloc(1, %zu)[%zu] = %#x",
					      sz[i], j, p[j]);
			memset(p, 0x5a, sz[i]);
			mr_free(p);
		}
	}
}
END_TEST

START_TEST(test_reallocarray_overflow_keeps_block)
{
	unsigned char *p, *q;

	p = mr_reallocarray(NULL, 10, 10);
	ck_assert(p != NULL);
	fill(p, 100, 5);
	errno = 0;
	q = mr_reallocarray(p, SIZE_MAX / 2, 3);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_uint_eq(verify(p, 100, 5), 100);
	errno = 0;
	ck_assert_ptr_null(mr_reallocarray(NULL, (size_t)1 << 40, (size_t)1 << 40));
	ck_assert_int_eq(errno, ENOMEM);
	/* Growing through reallocarray keeps the contents. */
	q = mr_reallocarray(p, 1000, 100);
	ck_assert(q != NULL);
	ck_assert_uint_eq(verify(q, 100, 5), 100);
	mr_free(q);
}
END_TEST

/* glibc 2.36: realloc(NULL, n) is malloc(n) (n = 0 included);
 * realloc(p, 0) frees p and returns NULL without touching errno
 * (REALLOC_ZERO_BYTES_FREES); reallocarray(p, 0, n) does the same. */
START_TEST(test_realloc_null_and_zero_like_glibc)
{
	void *p, *q;
	size_t before, after;
	struct mri_heap_counters hc;

	p = mr_realloc(NULL, 100);
	ck_assert(p != NULL);
	ck_assert(mr_malloc_usable_size(p) >= 100);
	fill(p, 100, 1);
	q = mr_realloc(NULL, 0);
	ck_assert(q != NULL);
	ck_assert_ptr_ne(p, q);
	mr_free(q);

	errno = 0;
	q = mr_realloc(p, 0);
	ck_assert_msg(q == NULL, "realloc(p, 0) returned %p; glibc 2.36 frees "
		      "p and returns NULL", q);
	ck_assert_int_eq(errno, 0);

	p = mr_malloc(50);
	ck_assert(p != NULL);
	errno = 0;
	q = mr_reallocarray(p, 0, 8);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(errno, 0);

	/* "Frees p": 4 MiB objects given back through realloc(p, 0) must not
	 * accumulate as allocated bytes. */
	mri_heap_counters(&hc);
	before = hc.allocated_bytes;
	for (int i = 0; i < 64; i++) {
		p = mr_malloc(4 * MiB);
		ck_assert(p != NULL);
		ck_assert_ptr_null(mr_realloc(p, 0));
	}
	mri_heap_counters(&hc);
	after = hc.allocated_bytes;
	ck_assert_msg(after < before + 4 * MiB, "allocated_bytes %zu -> %zu: "
		      "realloc(p, 0) did not free 64 x 4 MiB", before, after);
}
END_TEST

/* Contents survive realloc up through every class into large sizes and
 * back down, in both directions and in small and big steps. */
/* A block of a bytes, filled, realloc'd to b: room for b, and the first
 * min(a, b) bytes kept. */
static void
realloc_once(size_t a, size_t b, uintptr_t seed)
{
	size_t keep = a < b ? a : b, bad;
	unsigned char *p = mr_malloc(a), *q;

	ck_assert(p != NULL);
	fill(p, a, seed);
	q = mr_realloc(p, b);
	ck_assert(q != NULL);
	ck_assert(mr_malloc_usable_size(q) >= b);
	bad = verify(q, keep, seed);
	ck_assert_msg(bad == keep, "realloc %zu -> %zu lost byte %zu", a, b,
		      bad);
	mr_free(q);
}

START_TEST(test_realloc_preserves_contents_across_classes)
{
	unsigned char *p = NULL, *q;
	size_t cur = 0, n, i, bad;
	uintptr_t seed = 99;

	/* Grow by about 1/8 each step (a move asks for a quarter more, so
	 * this skips classes: the loop after the shrink reaches each). */
	for (n = 1; n < 9 * MiB; n += n / 8 + 1) {
		q = mr_realloc(p, n);
		ck_assert_msg(q != NULL, "realloc to %zu failed", n);
		ck_assert(is_aligned(q, 16));
		ck_assert(mr_malloc_usable_size(q) >= n);
		bad = verify(q, cur, seed);
		ck_assert_msg(bad == cur, "grow %zu -> %zu lost byte %zu",
			      cur, n, bad);
		/* Extend the pattern over the new tail. */
		for (i = cur; i < n; i++)
			q[i] = pat(seed, i);
		p = q;
		cur = n;
	}
	/* Shrink back down the same way. */
	while (cur > 1) {
		n = cur - cur / 7 - 1;
		q = mr_realloc(p, n);
		ck_assert(q != NULL);
		bad = verify(q, n, seed);
		ck_assert_msg(bad == n, "shrink %zu -> %zu lost byte %zu",
			      cur, n, bad);
		p = q;
		cur = n;
	}
	mr_free(p);
	/* Every class as the target of a growth by half (moved exactly). */
	for (n = 2; n < 64 * 1024; n += n / 8 + 1)
		realloc_once(n * 2 / 3, n, n);
	/* Big jumps: small <-> large (realloc(p, 0) frees: tested above). */
	for (i = 0; i < NSIZES; i++)
		realloc_once(api_sizes[i],
			     api_sizes[NSIZES - 1 - i] ? api_sizes[NSIZES - 1 - i]
						       : 1,
			     i);
}
END_TEST

/* A small block that must move to grow by less than a quarter gets a
 * quarter more than its old size (tcmalloc's rule), so a buffer grown a
 * few bytes at a time crosses a handful of classes, not every one; a
 * growth by a quarter or more gets what it asked for. */
START_TEST(test_realloc_growth_takes_a_quarter_more)
{
	unsigned char *p, *q;
	size_t n, usable, moves = 0;

	p = mr_malloc(1000);
	ck_assert(p != NULL);
	usable = mr_malloc_usable_size(p);
	q = mr_realloc(p, usable + 1);
	ck_assert(q != NULL && q != p);
	ck_assert_uint_ge(mr_malloc_usable_size(q), usable + usable / 4);
	/* 16 bytes at a time from 1 KiB to 32 KiB: the classes in between
	 * are about 45; a quarter more each move crosses at most 16 */
	p = q;
	for (n = 1024; n <= 32768; n += 16) {
		q = mr_realloc(p, n);
		ck_assert(q != NULL);
		if (q != p) {
			moves++;
			ck_assert_uint_ge(mr_malloc_usable_size(q),
					  usable + usable / 4);
		}
		usable = mr_malloc_usable_size(q);
		p = q;
	}
	ck_assert_uint_le(moves, 16);
	mr_free(p);
	/* by half: exactly the class of the request */
	p = mr_malloc(1000);
	q = mr_realloc(p, 2000);
	ck_assert(q != NULL);
	ck_assert_uint_lt(mr_malloc_usable_size(q), 2000 + 2000 / 4);
	mr_free(q);
	/* and back down: a large block asked for a class size over half of
	 * it stays (no move back and forth); under half it moves */
	p = mr_malloc(40000);
	ck_assert(p != NULL);
	memset(p, 7, 40000);
	ck_assert_ptr_eq(mr_realloc(p, 30000), p);
	q = mr_realloc(p, 10000);
	ck_assert(q != NULL && q != p);
	ck_assert_uint_lt(mr_malloc_usable_size(q), 16384);
	ck_assert_int_eq(q[9999], 7);
	mr_free(q);
	/* a small block with a large alignment is a large one of a page:
	 * grown past the page it must not stay (the next block is there) */
	p = mr_memalign(32768, 156);
	ck_assert(p != NULL);
	memset(p, 9, 156);
	q = mr_malloc(100000);
	ck_assert(q != NULL);
	memset(q, 3, 100000);
	p = mr_realloc(p, 8572);
	ck_assert(p != NULL);
	ck_assert_uint_ge(mr_malloc_usable_size(p), 8572);
	ck_assert_int_eq(p[155], 9);
	memset(p, 9, 8572);
	ck_assert_int_eq(q[0], 3);
	ck_assert_int_eq(q[99999], 3);
	mr_free(p);
	mr_free(q);
	/* a request past the largest gets ENOMEM and keeps the block */
	q = mr_malloc(10000);
	memset(q, 7, 10000);
	p = mr_realloc(q, 40000);
	ck_assert(p != NULL);
	errno = 0;
	ck_assert_ptr_null(mr_realloc(p, (size_t)1 << 50));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_int_eq(p[9999], 7);
	mr_free(p);
}
END_TEST

/* A large block grown while its neighbours are live, and a block next to
 * it kept intact. */
START_TEST(test_realloc_large_neighbours_intact)
{
	unsigned char *a, *b, *c;
	size_t n;

	a = mr_malloc(40000);
	b = mr_malloc(100000);
	c = mr_malloc(40000);
	ck_assert(a && b && c);
	fill(a, 40000, 1);
	fill(b, 100000, 2);
	fill(c, 40000, 3);
	for (n = 100000; n < 20 * MiB; n *= 2) {
		b = mr_realloc(b, n * 2);
		ck_assert(b != NULL);
		ck_assert_uint_eq(verify(b, 100000, 2), 100000);
		memset(b + 100000, 0xee, n * 2 - 100000);
		ck_assert_uint_eq(verify(a, 40000, 1), 40000);
		ck_assert_uint_eq(verify(c, 40000, 3), 40000);
	}
	mr_free(a);
	mr_free(b);
	mr_free(c);
}
END_TEST

/* posix_memalign: EINVAL for 0, non-powers of two and powers of two
 * smaller than sizeof(void *); returned, not stored in errno; *memptr is
 * left alone (glibc) or set to NULL (POSIX allows both). */
START_TEST(test_posix_memalign_rejects_bad_alignment)
{
	static const size_t bad[] = { 0, 1, 2, 3, 4, 5, 6, 7, 12, 24, 48, 96,
				      100, 4095, 4097, 3 * 4096, SIZE_MAX,
				      SIZE_MAX / 2, ((size_t)1 << 20) + 8 };
	size_t i;
	void *sentinel = (void *)&i, *p;
	int r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = sentinel;
		errno = 1234;
		r = mr_posix_memalign(&p, bad[i], 100);
		ck_assert_msg(r == EINVAL, "posix_memalign(%zu) = %d", bad[i], r);
		ck_assert_msg(errno == 1234, "posix_memalign(%zu) set errno %d",
			      bad[i], errno);
		ck_assert(p == sentinel || p == NULL);
	}
}
END_TEST

START_TEST(test_posix_memalign_alignments_to_1mib)
{
	size_t a, s, k;
	void *p;
	int r;

	for (a = sizeof(void *); a <= MiB; a *= 2) {
		const size_t sizes[] = { 0, 1, a - 1, a, a + 1, 3 * a + 5,
					 100000, 40000 };

		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			s = sizes[k];
			p = NULL;
			errno = 1234;
			r = mr_posix_memalign(&p, a, s);
			ck_assert_msg(r == 0, "posix_memalign(%zu, %zu) = %d",
				      a, s, r);
			ck_assert_int_eq(errno, 1234);
			ck_assert(p != NULL);
			ck_assert_msg(is_aligned(p, a) && is_aligned(p, 16),
				      "posix_memalign(%zu, %zu) = %p", a, s, p);
			ck_assert(mr_malloc_usable_size(p) >= s);
			fill(p, s, a + s);
			ck_assert_uint_eq(verify(p, s, a + s), s);
			if (k & 1)
				mr_free_aligned_sized(p, a, s);
			else
				mr_free(p);
		}
	}
}
END_TEST

/* aligned_alloc and memalign with every power of two up to 1 MiB, many
 * live at once so alignment holds when spans are shared. */
START_TEST(test_aligned_alloc_and_memalign_to_1mib)
{
	enum { PER = 6 };
	void *live[64 * PER];
	size_t nlive = 0, a, i;
	int k;

	for (a = 1; a <= MiB; a *= 2) {
		for (k = 0; k < PER / 2; k++) {
			size_t s = (size_t)k * a + 24 * (size_t)k + 1;
			void *p = mr_aligned_alloc(a, s);
			void *q = mr_memalign(a, s);

			ck_assert_msg(p && q, "alignment %zu size %zu", a, s);
			ck_assert_msg(is_aligned(p, a) && is_aligned(p, 16),
				      "aligned_alloc(%zu, %zu) = %p", a, s, p);
			ck_assert_msg(is_aligned(q, a) && is_aligned(q, 16),
				      "memalign(%zu, %zu) = %p", a, s, q);
			ck_assert(mr_malloc_usable_size(p) >= s);
			ck_assert(mr_malloc_usable_size(q) >= s);
			memset(p, 0x11, s);
			memset(q, 0x22, s);
			live[nlive++] = p;
			live[nlive++] = q;
		}
	}
	for (i = 0; i < nlive; i++)
		mr_free(live[i]);
}
END_TEST

/* glibc 2.36 memalign: alignment 0 or below 16 is plain malloc, a
 * non-power of two is rounded up to the next one, an alignment above
 * SIZE_MAX/2 + 1 is EINVAL, and 2^63 is ENOMEM. */
START_TEST(test_memalign_odd_alignments_like_glibc)
{
	static const struct {
		size_t asked, got;
	} odd[] = { { 0, 16 }, { 3, 16 }, { 24, 32 }, { 48, 64 },
		    { 100, 128 }, { 4097, 8192 }, { 65535, 65536 },
		    { 3 * 65536, 4 * 65536 } };
	size_t i;
	void *p;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		p = mr_memalign(odd[i].asked, 100);
		ck_assert_msg(p != NULL, "memalign(%zu, 100)", odd[i].asked);
		ck_assert_msg(is_aligned(p, odd[i].got), "memalign(%zu) = %p,"
			      " glibc aligns to %zu", odd[i].asked, p,
			      odd[i].got);
		mr_free(p);
	}
	errno = 0;
	ck_assert_ptr_null(mr_memalign(((size_t)1 << 63) + 1, 10));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mr_memalign(SIZE_MAX, 10));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mr_memalign((size_t)1 << 63, 10));
	ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

/* aligned_alloc with an alignment that is not a power of two: glibc 2.36
 * rounds it up like memalign, glibc >= 2.38 fails with EINVAL.  Either,
 * but nothing in between. */
START_TEST(test_aligned_alloc_bad_alignment)
{
	static const size_t odd[] = { 3, 24, 48, 100, 4097, 65535 };
	size_t i, up;
	void *p;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		errno = 0;
		p = mr_aligned_alloc(odd[i], 64);
		if (p == NULL) {
			ck_assert_msg(errno == EINVAL, "aligned_alloc(%zu): "
				      "NULL with errno %d", odd[i], errno);
			continue;
		}
		for (up = 16; up < odd[i]; up *= 2)
			;
		ck_assert_msg(is_aligned(p, up), "aligned_alloc(%zu) = %p",
			      odd[i], p);
		mr_free(p);
	}
	errno = 0;
	ck_assert_ptr_null(mr_aligned_alloc(((size_t)1 << 63) + 1, 10));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_valloc_pvalloc_page_aligned)
{
	static const size_t sz[] = { 0, 1, 100, 4095, 4096, 4097, 8191, 10000,
				     40000, 100000, 3 * MiB + 1 };
	size_t ps = page_size(), i, want;
	void *p;

	for (i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
		p = mr_valloc(sz[i]);
		ck_assert_msg(p != NULL, "valloc(%zu)", sz[i]);
		ck_assert_msg(is_aligned(p, ps), "valloc(%zu) = %p", sz[i], p);
		ck_assert(mr_malloc_usable_size(p) >= sz[i]);
		memset(p, 0x33, sz[i]);
		mr_free(p);

		/* pvalloc rounds the size up to whole pages (glibc: at least
		 * one page for any n > 0). */
		p = mr_pvalloc(sz[i]);
		ck_assert_msg(p != NULL, "pvalloc(%zu)", sz[i]);
		ck_assert_msg(is_aligned(p, ps), "pvalloc(%zu) = %p", sz[i], p);
		want = (sz[i] + ps - 1) / ps * ps;
		ck_assert_msg(mr_malloc_usable_size(p) >= want,
			      "pvalloc(%zu): usable %zu < %zu", sz[i],
			      mr_malloc_usable_size(p), want);
		memset(p, 0x44, want);
		mr_free(p);
	}
}
END_TEST

START_TEST(test_free_sized_and_aligned_sized)
{
	enum { N = 2000 };
	void *p[N];
	size_t s[N], a[N];
	size_t i;

	for (i = 0; i < N; i++) {
		s[i] = (i * 37) % (i % 50 == 0 ? 300000 : 5000);
		a[i] = (size_t)1 << (4 + i % 9);	/* 16 .. 4096 */
		if (i & 1)
			p[i] = mr_aligned_alloc(a[i], s[i]);
		else
			p[i] = mr_malloc(s[i]);
		ck_assert(p[i] != NULL);
		memset(p[i], (int)i, s[i]);
	}
	for (i = 0; i < N; i++) {
		if (i & 1)
			mr_free_aligned_sized(p[i], a[i], s[i]);
		else
			mr_free_sized(p[i], s[i]);
	}
	/* Those frees really returned the memory: doing it again many times
	 * does not grow the mapping without bound. */
	struct mri_heap_counters st1, st2;

	mri_heap_counters(&st1);
	for (int round = 0; round < 20; round++) {
		for (i = 0; i < N; i++) {
			p[i] = (i & 1) ? mr_aligned_alloc(a[i], s[i])
				       : mr_malloc(s[i]);
			ck_assert(p[i] != NULL);
		}
		for (i = 0; i < N; i++) {
			if (i & 1)
				mr_free_aligned_sized(p[i], a[i], s[i]);
			else
				mr_free_sized(p[i], s[i]);
		}
	}
	mri_heap_counters(&st2);
	ck_assert_msg(st2.mapped_bytes <= st1.mapped_bytes + 64 * MiB,
		      "mapped %llu -> %llu after 20 rounds of free_sized",
		      (unsigned long long)st1.mapped_bytes,
		      (unsigned long long)st2.mapped_bytes);
}
END_TEST

START_TEST(test_realloc_of_aligned_block_keeps_contents)
{
	size_t a;
	unsigned char *p;

	for (a = 32; a <= MiB; a *= 4) {
		p = mr_aligned_alloc(a, 1000);
		ck_assert(p != NULL);
		fill(p, 1000, a);
		p = mr_realloc(p, 200000);
		ck_assert(p != NULL);
		ck_assert(is_aligned(p, 16));
		ck_assert_uint_eq(verify(p, 1000, a), 1000);
		p = mr_realloc(p, 10);
		ck_assert(p != NULL);
		ck_assert_uint_eq(verify(p, 10, a), 10);
		mr_free(p);
	}
}
END_TEST

/* mr_option_get(3): every documented option reads back, in the form
 * mr_option_set takes; a set value is the one read; an unknown name is
 * ENOENT (hugetlb among them: removed, see libmemreclaim(3)); a buffer
 * too small is ERANGE and left alone. */
START_TEST(test_option_get_reads_back)
{
	static const char *const names[] = {
		"limit", "limit_hard", "purge", "advice", "release_delay_ms",
		"scavenger", "scavenger_cpu", "goal_percent",
		"limit_goal_percent", "trace", "stats", "hugepages",
		"hugepage_threshold", "numa", "chunk_size", "daemon",
		"socket", "stats_interval_ms",
	};
	char buf[128], tiny[2] = "x";
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(mr_option_get(names[i], buf, sizeof(buf)) >= 0,
			      "mr_option_get(%s) failed", names[i]);
	ck_assert_int_eq(mr_option_set("purge", "madvise"), 0);
	ck_assert_int_eq(mr_option_get("purge", buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "madvise");
	ck_assert_int_eq(mr_option_set("release_delay_ms", "250"), 0);
	ck_assert_int_gt(mr_option_get("release_delay_ms", buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "250");
	ck_assert_int_eq(mr_option_set("limit", "1.5GiB"), 0);
	ck_assert_int_gt(mr_option_get("limit", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1610612736");
	ck_assert_int_eq(mr_option_set("numa", "strict"), 0);
	ck_assert_int_gt(mr_option_get("numa", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "strict");
	ck_assert_int_eq(mr_option_get("hugetlb", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(mr_option_set("hugetlb", "1"), -ENOENT);
	ck_assert_int_eq(mr_option_get("nonsense", buf, sizeof(buf)),
			 -ENOENT);
	ck_assert_int_eq(mr_option_get("purge", tiny, sizeof(tiny)), -ERANGE);
	ck_assert_str_eq(tiny, "x");
	ck_assert_int_eq(mr_option_set("limit", "0"), 0);
}
END_TEST

/* Values whose arithmetic would overflow, or that would kill the process
 * at start (a 2^62-byte chunk), are refused with -ERANGE and the value in
 * force stays. */
START_TEST(test_option_values_are_range_checked)
{
	char buf[64];

	ck_assert_int_eq(mr_option_set("chunk_size", "4611686018427387904"),
			 -ERANGE);
	ck_assert_int_eq(mr_option_set("chunk_size", "3MiB"), -EINVAL);
	ck_assert_int_gt(mr_option_get("chunk_size", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "33554432");
	ck_assert_int_eq(mr_option_set("release_delay_ms", "99999999999999"),
			 -ERANGE);
	ck_assert_int_eq(mr_option_set("goal_percent", "18446744073709551"),
			 -ERANGE);
	ck_assert_int_eq(mr_option_set("limit_goal_percent", "0"), -ERANGE);
	ck_assert_int_eq(mr_option_set("limit_goal_percent", "101"), -ERANGE);
	ck_assert_int_eq(mr_option_set("stats_interval_ms", "0"), -ERANGE);
	ck_assert_int_eq(mr_option_set("limit", "2PiB"), -ERANGE);
	ck_assert_int_gt(mr_option_get("limit", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "0");
	ck_assert_int_eq(mr_option_set("release_delay_ms", "86400000"), 0);
	ck_assert_int_eq(mr_option_set("release_delay_ms", "1000"), 0);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("malloc_family");

	core_alone();
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_malloc_zero_returns_unique_pointers);
	tcase_add_test(tc, test_option_get_reads_back);
	tcase_add_test(tc, test_free_null_is_noop);
	tcase_add_test(tc, test_every_size_aligned_usable_and_disjoint);
	tcase_add_test(tc, test_many_objects_do_not_overlap);
	tcase_add_test(tc, test_huge_sizes_fail_with_enomem);
	tcase_add_test(tc, test_calloc_overflow_and_zeroing);
	tcase_add_test(tc, test_reallocarray_overflow_keeps_block);
	tcase_add_test(tc, test_realloc_null_and_zero_like_glibc);
	tcase_add_test(tc, test_realloc_preserves_contents_across_classes);
	tcase_add_test(tc, test_realloc_growth_takes_a_quarter_more);
	tcase_add_test(tc, test_realloc_large_neighbours_intact);
	tcase_add_test(tc, test_posix_memalign_rejects_bad_alignment);
	tcase_add_test(tc, test_posix_memalign_alignments_to_1mib);
	tcase_add_test(tc, test_aligned_alloc_and_memalign_to_1mib);
	tcase_add_test(tc, test_memalign_odd_alignments_like_glibc);
	tcase_add_test(tc, test_aligned_alloc_bad_alignment);
	tcase_add_test(tc, test_valloc_pvalloc_page_aligned);
	tcase_add_test(tc, test_free_sized_and_aligned_sized);
	tcase_add_test(tc, test_option_values_are_range_checked);
	tcase_add_test(tc, test_realloc_of_aligned_block_keeps_contents);
	suite_add_tcase(s, tc);
	return s;
}

