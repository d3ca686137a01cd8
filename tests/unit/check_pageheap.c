/*
 * check_pageheap.c: the page heap against a fake OS (tests/unit/fake_os.h):
 * placement in the fullest hugepage, implicit coalescing, aged release of
 * whole hugepages, split release only when asked, huge page advice only
 * once the heap is big, ENOMEM when the OS refuses, in-place resize; and on
 * the real kernel, a large span gets the pages of idle backed hugepages
 * moved in rather than faulting its own.
 * Each test runs in its own forked process (Check's default), so each
 * starts with an empty heap.
 */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "fake_os.h"
#include "core/heap.h"
#include "core/init.h"
#include "memreclaim.h"
#include "os/options.h"
#include "core/pageheap.h"
#include "core/pagemap.h"
#include "core_alone.h"
#include "check_main.h"
#include "release_probe.h"

#define MiB ((size_t)1 << 20)

static void
setup(void)
{
	fake_install(0);
	mri_init();
	ck_assert_int_eq(mr_option_set("hugepages", "auto"), 0);
}

static uintptr_t
hp_of(uintptr_t a)
{
	return a & ~(MRI_HUGE_SIZE - 1);
}

START_TEST(test_pageheap_prefers_fullest_hugepage)
{
	struct mri_span *a = mri_pageheap_alloc(0, 100, MRI_PAGE_SIZE, 0);
	struct mri_span *b = mri_pageheap_alloc(0, 200, MRI_PAGE_SIZE, 0);
	struct mri_span *c;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	/* 200 pages do not fit in a's hugepage (156 free) */
	ck_assert_uint_ne(hp_of(a->start), hp_of(b->start));
	/* 50 pages fit in both; b's hugepage is fuller (200 used) */
	c = mri_pageheap_alloc(0, 50, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(hp_of(c->start), hp_of(b->start));
}
END_TEST

START_TEST(test_pageheap_free_coalesces_into_whole_hugepage)
{
	struct mri_span *s[8];
	uintptr_t base;
	int i;

	for (i = 0; i < 8; i++) {
		s[i] = mri_pageheap_alloc(0, 32, MRI_PAGE_SIZE, 0);
		ck_assert_ptr_nonnull(s[i]);
	}
	base = hp_of(s[0]->start);
	for (i = 0; i < 8; i++)
		ck_assert_uint_eq(hp_of(s[i]->start), base);
	/* free in a scattered order: the runs must merge back */
	for (i = 0; i < 8; i += 2)
		mri_pageheap_free(s[i]);
	for (i = 1; i < 8; i += 2)
		mri_pageheap_free(s[i]);
	mri_pageheap_drain_cache();	/* freed large spans wait there */
	s[0] = mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(s[0]);
	ck_assert_uint_eq(s[0]->start, base);
}
END_TEST

START_TEST(test_pageheap_release_waits_for_age_then_releases_whole)
{
	struct mri_span *s = mri_pageheap_alloc(0, 10 * MiB / MRI_PAGE_SIZE, MRI_PAGE_SIZE, 0);
	struct mri_heap_counters hc;
	size_t done;
	int i;

	ck_assert_ptr_nonnull(s);
	/* touch it so it is "backed" in the heap's books */
	mri_pageheap_free(s);
	mri_heap_counters(&hc);
	ck_assert_uint_ge(hc.idle_bytes, 10 * MiB);

	fake.now_ns += 500000000ULL;	/* 0.5 s after the free */
	done = mri_heap_release((size_t)-1, MADV_DONTNEED, 0, 1000000000ULL);
	ck_assert_uint_eq(done, 0);
	fake.now_ns += 600000000ULL;	/* 1.1 s after */
	done = mri_heap_release((size_t)-1, MADV_DONTNEED, 0, 1000000000ULL);
	ck_assert_uint_eq(done, 10 * MiB);
	/* every purge was a whole, aligned hugepage */
	for (i = 0; i < fake.nadvice; i++) {
		if (fake.advice[i].arg != MADV_DONTNEED)
			continue;
		ck_assert_uint_eq(fake.advice[i].len, MRI_HUGE_SIZE);
		ck_assert_uint_eq(fake.advice[i].addr % MRI_HUGE_SIZE, 0);
	}
	ck_assert_int_eq(fake_count_advice(MADV_DONTNEED), 5);
	mri_heap_counters(&hc);
	ck_assert_uint_eq(hc.idle_bytes, 0);
	ck_assert_uint_ge(hc.released_bytes, 10 * MiB);
	/* nothing more to do */
	ck_assert_uint_eq(mri_heap_release((size_t)-1, MADV_DONTNEED, 0, 0), 0);
}
END_TEST

START_TEST(test_pageheap_split_release_only_when_asked)
{
	struct mri_span *keep = mri_pageheap_alloc(0, 10, MRI_PAGE_SIZE, 0);
	struct mri_span *tmp = mri_pageheap_alloc(0, 100, MRI_PAGE_SIZE, 0);
	size_t done;
	int i;

	ck_assert_ptr_nonnull(keep);
	ck_assert_ptr_nonnull(tmp);
	ck_assert_uint_eq(hp_of(keep->start), hp_of(tmp->start));
	mri_pageheap_free(tmp);
	/* the hugepage is partly used: without SPLIT it stays whole */
	done = mri_heap_release((size_t)-1, MADV_DONTNEED, 0, 0);
	ck_assert_uint_eq(done, 0);
	done = mri_heap_release((size_t)-1, MADV_DONTNEED,
				MRI_RELEASE_SPLIT | MRI_RELEASE_DRAIN, 0);
	/* the 246 free pages that were ever handed out (100 of them), not
	 * the never-touched ones, which count as released already */
	ck_assert_uint_eq(done, 100 * MRI_PAGE_SIZE);
	for (i = 0; i < fake.nadvice; i++) {
		struct fake_rec *r = &fake.advice[i];
		if (r->arg != MADV_DONTNEED)
			continue;
		/* never inside the live span */
		ck_assert(r->addr + r->len <= keep->start ||
			  r->addr >= keep->start + 10 * MRI_PAGE_SIZE);
	}
}
END_TEST

START_TEST(test_pageheap_released_pages_come_back_zeroed)
{
	struct mri_span *s = mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->zeroed, 1);	/* fresh from mmap */
	mri_pageheap_free(s);
	s = mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
	ck_assert_int_eq(s->zeroed, 0);	/* reused while backed */
	mri_pageheap_free(s);
	ck_assert_uint_eq(mri_heap_release((size_t)-1, MADV_DONTNEED, 0, 0), MRI_HUGE_SIZE);
	s = mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
	ck_assert_int_eq(s->zeroed, 1);	/* DONTNEED pages read as zero */
}
END_TEST

START_TEST(test_pageheap_hugepage_advice_waits_for_threshold)
{
	struct mri_span *s;
	int i;

	ck_assert_int_eq(mr_option_set("hugepage_threshold", "16MiB"), 0);
	s = mri_pageheap_alloc(0, 8 * MiB / MRI_PAGE_SIZE, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(fake_count_advice(MADV_HUGEPAGE), 0);
	for (i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(mri_pageheap_alloc(0, 4 * MiB / MRI_PAGE_SIZE, MRI_PAGE_SIZE, 0));
	/* retained passed 16 MiB: every chunk is advised */
	ck_assert_int_ge(fake_count_advice(MADV_HUGEPAGE), 1);
	s = mri_pageheap_alloc(0, 64 * MiB / MRI_PAGE_SIZE, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_ge(fake_count_advice(MADV_HUGEPAGE), 2);
}
END_TEST

START_TEST(test_pageheap_never_mode_never_advises)
{
	ck_assert_int_eq(mr_option_set("hugepages", "never"), 0);
	ck_assert_ptr_nonnull(mri_pageheap_alloc(0, 64 * MiB / MRI_PAGE_SIZE, MRI_PAGE_SIZE, 0));
	ck_assert_int_eq(fake_count_advice(MADV_HUGEPAGE), 0);
}
END_TEST

START_TEST(test_pageheap_failed_map_gives_enomem_then_recovers)
{
	struct mri_span *s;
	int maps = fake.maps;

	fake.fail_at = maps + 1;
	errno = 0;
	s = mri_pageheap_alloc(0, 4, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(errno, ENOMEM);
	s = mri_pageheap_alloc(0, 4, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(s);
	/* and through the public API */
	fake.fail_at = fake.maps + 1;
	errno = 0;
	ck_assert_ptr_null(mr_malloc(100 << 20));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_ptr_nonnull(mr_malloc(100 << 20));
}
END_TEST

START_TEST(test_pageheap_resize_in_place)
{
	struct mri_span *s = mri_pageheap_alloc(0, 20, MRI_PAGE_SIZE, 0);
	struct mri_span *t;
	uintptr_t start;

	ck_assert_ptr_nonnull(s);
	start = s->start;
	ck_assert_int_eq(mri_pageheap_resize(s, 60), 0);
	ck_assert_uint_eq(s->start, start);
	ck_assert_uint_eq(s->npages, 60);
	/* a neighbour blocks growth */
	t = mri_pageheap_alloc(0, 196, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->start, start + 60 * MRI_PAGE_SIZE);
	ck_assert_int_eq(mri_pageheap_resize(s, 61), -ENOMEM);
	/* shrinking gives the tail back to the filler */
	ck_assert_int_eq(mri_pageheap_resize(s, 10), 0);
	t = mri_pageheap_alloc(0, 50, MRI_PAGE_SIZE, 0);
	ck_assert_uint_eq(t->start, start + 10 * MRI_PAGE_SIZE);
}
END_TEST

static uint64_t
frag_grown_pages(void)
{
	struct mri_heap_counters hc;

	memset(&hc, 0, sizeof(hc));
	mri_pageheap_counters(&hc);
	return hc.frag_grown_bytes / MRI_PAGE_SIZE;
}

/* Growth beside idle pages is counted (the release path gives as much
 * back): pages a span, new or grown in place, takes from released memory
 * while at least as many free backed pages, and a floor of 128 more, sit
 * idle in the heap.  Filling the heap counts nothing (nothing idle). */
static unsigned grew_calls;

static void
count_grew(void)
{
	grew_calls++;
}

START_TEST(test_pageheap_counts_growth_beside_idle_pages)
{
	static const struct mri_heap_hooks hooks = {.grew = count_grew};
	struct mri_span *x[16], *s, *t;
	int i;

	/* the release path is woken once per hugepage's worth of pages
	 * counted (256), no more */
	mri_heap_set_hooks(&hooks);
	for (i = 0; i < 16; i++) {
		x[i] = mri_pageheap_alloc(0, 30, MRI_PAGE_SIZE, 1);
		ck_assert_ptr_nonnull(x[i]);
	}
	ck_assert_uint_eq(frag_grown_pages(), 0);
	/* 8 holes of 30 backed pages: 240 idle, none long enough below */
	for (i = 0; i < 16; i += 2)
		mri_pageheap_free(x[i]);
	s = mri_pageheap_alloc(0, 40, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(frag_grown_pages(), 40);
	/* grown in place onto released pages: 40 more */
	ck_assert_int_eq(mri_pageheap_resize(s, 80), 0);
	ck_assert_uint_eq(frag_grown_pages(), 80);
	/* four more such spans: 240 pages, no wake yet; the fifth passes
	 * 256: one */
	for (i = 0; i < 5; i++) {
		ck_assert_uint_eq(grew_calls, 0);
		ck_assert_ptr_nonnull(mri_pageheap_alloc(0, 40, MRI_PAGE_SIZE,
							 0));
	}
	ck_assert_uint_eq(frag_grown_pages(), 280);
	ck_assert_uint_eq(grew_calls, 1);
	/* a span that fits a hole faults nothing: not counted */
	t = mri_pageheap_alloc(0, 30, MRI_PAGE_SIZE, 1);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(frag_grown_pages(), 280);
	/* 210 idle pages left: a span of 90 fresh ones leaves fewer than
	 * 90 + 128 beside it, so it is not counted */
	t = mri_pageheap_alloc(0, 90, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(frag_grown_pages(), 280);
	ck_assert_uint_eq(grew_calls, 1);
	mri_heap_set_hooks(NULL);
}
END_TEST

START_TEST(test_pageheap_large_realloc_grows_in_place)
{
	char *p = mr_malloc(100 * 1024), *q;
	int i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < 100 * 1024; i++)
		p[i] = (char)i;
	q = mr_realloc(p, 900 * 1024);
	ck_assert_ptr_eq(q, p);
	for (i = 0; i < 100 * 1024; i++)
		ck_assert_int_eq(q[i], (char)i);
	ck_assert_uint_ge(mr_malloc_usable_size(q), 900 * 1024);
	mr_free(q);
}
END_TEST

/* Pages in use after 40 large spans of 64 pages come and go (what the
 * large-span cache keeps of them counts as in use). */
static uint64_t
in_use_after_40_frees(void)
{
	struct mri_span *s[40];
	struct mri_heap_counters hc;
	int i;

	for (i = 0; i < 40; i++) {
		s[i] = mri_pageheap_alloc(0, 64, MRI_PAGE_SIZE, 0);
		ck_assert_ptr_nonnull(s[i]);
	}
	for (i = 0; i < 40; i++)
		mri_pageheap_free(s[i]);
	mri_heap_counters(&hc);
	return hc.in_use_bytes / MRI_PAGE_SIZE;
}

START_TEST(test_pageheap_large_cache_reuses_and_is_bounded)
{
	struct mri_span *s, *big;
	struct mri_heap_counters hc;
	uintptr_t first;

	s = mri_pageheap_alloc(0, 10, MRI_PAGE_SIZE, 0);
	first = s->start;
	mri_pageheap_free(s);
	/* same size, or up to a quarter smaller: the cached span whole */
	s = mri_pageheap_alloc(0, 9, MRI_PAGE_SIZE, 0);
	ck_assert_uint_eq(s->start, first);
	ck_assert_uint_eq(s->npages, 10);
	mri_pageheap_free(s);
	/* much smaller: not from the cache */
	s = mri_pageheap_alloc(0, 4, MRI_PAGE_SIZE, 0);
	ck_assert_uint_ne(s->start, first);
	/* bounded by an eighth of the heap in use, at least 128 pages: 40
	 * spans of 64 pages freed beside 4 pages in use, 128 pages stay
	 * (two spans) */
	ck_assert_uint_eq(in_use_after_40_frees(), MRI_LCACHE_MIN + 4);
	/* a span over the bound alone is not cached, and evicts nothing */
	big = mri_pageheap_alloc(0, 200, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(big);
	mri_pageheap_free(big);
	mri_heap_counters(&hc);
	ck_assert_uint_eq(hc.in_use_bytes,
			  (MRI_LCACHE_MIN + 4) * MRI_PAGE_SIZE);
	mri_pageheap_drain_cache();
	mri_heap_counters(&hc);
	ck_assert_uint_eq(hc.in_use_bytes, 4 * MRI_PAGE_SIZE);
	/* beside 2048 pages in use the bound is 2052 / 8 = 256 pages (four
	 * spans); beside 16384, at most MRI_LCACHE_PAGES (16 spans) */
	big = mri_pageheap_alloc(0, 2048, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(big);
	ck_assert_uint_eq(in_use_after_40_frees(), 2048 + 4 + 256);
	mri_pageheap_drain_cache();
	mri_pageheap_free(big);
	big = mri_pageheap_alloc(0, 16384, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(big);
	ck_assert_uint_eq(in_use_after_40_frees(),
			  16384 + 4 + MRI_LCACHE_PAGES);
}
END_TEST

/* A range the kernel keeps refusing goes back as backed; the release loop
 * must still end (it used to pick it again forever once anything else had
 * been released). */
START_TEST(test_pageheap_release_ends_when_a_range_keeps_failing)
{
	struct mri_span *a = mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
	struct mri_span *b = mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
	struct mri_heap_counters hc;
	size_t done;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	fake.refuse_addr = b->start;
	mri_pageheap_free(a);
	mri_pageheap_free(b);
	done = mri_heap_release((size_t)-1, MADV_DONTNEED, MRI_RELEASE_SPLIT, 0);
	ck_assert_uint_eq(done, MRI_HUGE_SIZE);
	mri_heap_counters(&hc);
	ck_assert_uint_eq(hc.idle_bytes, MRI_HUGE_SIZE);	/* b, still backed */
}
END_TEST

START_TEST(test_pageheap_aligned_spans)
{
	size_t al;

	for (al = MRI_PAGE_SIZE; al <= 8 * MRI_HUGE_SIZE; al <<= 1) {
		struct mri_span *s = mri_pageheap_alloc(0, 3, al, 0);
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(s->start % al, 0);
	}
}
END_TEST
/* What an allocation made while the first stage's advice runs got: -1
 * none yet, 1 released pages (fresh RSS), 0 backed ones. */
static int during_zeroed = -1;

static void
alloc_during_advice(void *addr, size_t len, int advice)
{
	struct mri_span *s;

	(void)addr;
	(void)len;
	if (advice != MADV_FREE || during_zeroed >= 0)
		return;
	s = mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
	during_zeroed = s ? s->zeroed : 2;
}

/*
 * The first stage lazily frees whole hugepages one at a time: a burst that
 * allocates again while it runs still finds backed hugepages to reuse,
 * instead of faulting fresh ones beside those claimed (RSS twice over).
 */
START_TEST(test_pageheap_lazy_stage_leaves_backed_hugepages_to_allocations)
{
	struct mri_span *s[8];
	size_t got;
	int i;

	for (i = 0; i < 8; i++) {
		s[i] = mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
		ck_assert_ptr_nonnull(s[i]);
	}
	for (i = 0; i < 8; i++)
		mri_pageheap_free(s[i]);
	fake.now_ns += 1000000000ULL;
	fake.on_advise = alloc_during_advice;
	got = mri_pageheap_release(8 * MRI_HUGE_SIZE, MADV_FREE, 0, 0);
	fake.on_advise = NULL;
	ck_assert_int_eq(during_zeroed, 0);
	/* the other seven were lazily freed, one advice call each */
	ck_assert_uint_eq(got, 7 * MRI_HUGE_SIZE);
	ck_assert_int_eq(fake_count_advice(MADV_FREE), 7);
}
END_TEST

/* The real kernel (no fake OS): what a span costs is read from smaps. */
static void
setup_real(void)
{
	mri_init();
	/* 4 KiB pages: RSS then counts exactly the pages touched */
	ck_assert_int_eq(mr_option_set("hugepages", "never"), 0);
}

static void
touch(uintptr_t a, size_t len, char v)
{
	size_t i;

	for (i = 0; i < len; i += 4096)
		((volatile char *)a)[i] = v;
}

/*
 * A freed 16 MiB span stays backed (under the excess band); a 1-hugepage
 * span pins the hugepage after it, so a 24 MiB span cannot start in the
 * hole.  Without moving, all 24 MiB would fault in while the 16 MiB sit
 * idle; with it, the 8 idle hugepages move under the new span and only
 * 8 MiB are new RSS.  The moved pages still hold the old data (no copy,
 * no zeroing), so the span must not claim to be zeroed.
 */
START_TEST(test_pageheap_large_span_takes_idle_hugepages)
{
	struct mri_span *a, *b, *c;
	uintptr_t a_start;
	long before, after;

	a = mri_pageheap_alloc(0, 8 * MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
	b = mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->start, a->start + 16 * MiB);
	touch(a->start, 16 * MiB, 0x5a);
	touch(b->start, 2 * MiB, 1);
	a_start = a->start; /* a's record is recycled */
	mri_pageheap_free(a);
	before = rss();
	c = mri_pageheap_alloc(0, 12 * MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_ne(c->start, a_start);
	ck_assert_int_eq(c->zeroed, 0);
	ck_assert_int_eq(((volatile char *)c->start)[0], 0x5a);
	touch(c->start, 24 * MiB, 2);
	after = rss();
	ck_assert_int_le(after - before, (long)(8 * MiB + MiB));
	ck_assert_int_ge(after - before, (long)(8 * MiB - MiB));
}
END_TEST

/*
 * A small span takes warm pages (backed, or lazily freed) before released
 * ones, even when the warm ones lie in an emptier hugepage: a fuller
 * hugepage with never-touched pages (H1: 200 used, 56 released) and an
 * emptier one with 100 pages freed after use (H2: 150 used).  Fullest
 * first alone would put a 50-page span in H1's released pages, 400 KiB of
 * new RSS while H2's 800 KiB sit idle; warm first puts it in H2's.
 */
START_TEST(test_pageheap_small_span_takes_warm_pages_first)
{
	struct mri_span *a, *c, *d, *e;
	uintptr_t d_start;
	long before, after;

	a = mri_pageheap_alloc(0, 200, MRI_PAGE_SIZE, 1);
	c = mri_pageheap_alloc(0, 150, MRI_PAGE_SIZE, 1);
	d = mri_pageheap_alloc(0, 100, MRI_PAGE_SIZE, 1);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_ne(hp_of(a->start), hp_of(c->start));
	ck_assert_uint_eq(hp_of(d->start), hp_of(c->start));
	touch(a->start, 200 * MRI_PAGE_SIZE, 1);
	touch(c->start, 150 * MRI_PAGE_SIZE, 2);
	touch(d->start, 100 * MRI_PAGE_SIZE, 3);
	d_start = d->start;
	mri_pageheap_free(d);
	before = rss();
	e = mri_pageheap_alloc(0, 50, MRI_PAGE_SIZE, 1);
	ck_assert_ptr_nonnull(e);
	touch(e->start, 50 * MRI_PAGE_SIZE, 4);
	after = rss();
	ck_assert_uint_eq(hp_of(e->start), hp_of(c->start));
	ck_assert_uint_ge(e->start, d_start);
	ck_assert_uint_lt(e->start, d_start + 100 * MRI_PAGE_SIZE);
	/* the kernel's figure: no new resident pages (400 KiB otherwise) */
	ck_assert_int_lt(after - before, (long)(100 << 10));
}
END_TEST

/* A span that ends inside its last hugepage leaves the tail to the filler:
 * nothing may be moved under that hugepage (a span placed in the tail
 * would find the old data where it was promised zeros, or lose its own). */
START_TEST(test_pageheap_moved_span_leaves_its_tail_alone)
{
	struct mri_span *a[2], *b[2], *c, *d;
	size_t i;

	/* two holes of 6 idle hugepages, each pinned by a span after it */
	for (i = 0; i < 2; i++) {
		a[i] =
		    mri_pageheap_alloc(0, 6 * MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
		b[i] = mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
		ck_assert_ptr_nonnull(a[i]);
		ck_assert_ptr_nonnull(b[i]);
		touch(a[i]->start, 12 * MiB, 0x5a);
	}
	for (i = 0; i < 2; i++)
		mri_pageheap_free(a[i]);
	/* 9.5 hugepages fit in neither hole: 9 get idle ones moved in */
	c = mri_pageheap_alloc(0, 19 * MRI_HP_PAGES / 2, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(((volatile char *)c->start)[0], 0x5a);
	/* The idle hugepages not moved are warm, and a small span takes
	 * warm pages first: use them up, so that the next one goes to the
	 * filler's run in c's last hugepage. */
	while (mri_heaps[0]->pool_backed.head || mri_heaps[0]->pool_lazy.head)
		ck_assert_ptr_nonnull(
		    mri_pageheap_alloc(0, MRI_HP_PAGES, MRI_PAGE_SIZE, 0));
	d = mri_pageheap_alloc(0, 100, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->start,
			  c->start + 19 * MRI_HP_PAGES / 2 * MRI_PAGE_SIZE);
	ck_assert_int_eq(d->zeroed, 1);
	for (i = 0; i < 100 * MRI_PAGE_SIZE; i += 512)
		ck_assert_int_eq(((volatile char *)d->start)[i], 0);
}
END_TEST

/* 1 when transparent hugepages can be had with MADV_HUGEPAGE here. */
static int
thp_available(void)
{
	char line[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return line[0] && !strstr(line, "[never]");
}

/*
 * hugepages=auto past its threshold: a span inside one hugepage is
 * faulted as a huge page (the small objects' TLB reach), but a large span
 * of whole hugepages stays on small pages (MADV_NOHUGEPAGE while it lives)
 * and its hugepages are advised again when it is freed.  The kernel's own
 * AnonHugePages says which.
 */
START_TEST(test_pageheap_auto_leaves_large_spans_on_small_pages)
{
	struct mri_span *small, *big, *again;
	uint64_t h0, h1, h2, h3;

	if (!thp_available())
		return; /* the suite reported it partial */
	ck_assert_int_eq(mr_option_set("hugepages", "auto"), 0);
	ck_assert_int_eq(mr_option_set("hugepage_threshold", "0"), 0);
	small = mri_pageheap_alloc(0, 100, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(small);
	h0 = smaps_bytes("AnonHugePages");
	touch(small->start, 100 * MRI_PAGE_SIZE, 1);
	h1 = smaps_bytes("AnonHugePages");
	ck_assert_uint_ge(h1, h0 + 2 * MiB);
	big = mri_pageheap_alloc(0, 8 * MRI_HP_PAGES, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(big);
	touch(big->start, 16 * MiB, 2);
	h2 = smaps_bytes("AnonHugePages");
	ck_assert_uint_lt(h2, h1 + 2 * MiB);
	/* freed and released, its hugepages serve small spans as huge
	 * pages again */
	mri_pageheap_free(big);
	ck_assert_uint_ge(mri_pageheap_release(64 * MiB, MADV_DONTNEED, 0, 0),
			  16 * MiB);
	again = mri_pageheap_alloc(0, 200, MRI_PAGE_SIZE, 0);
	ck_assert_ptr_nonnull(again);
	touch(again->start, 200 * MRI_PAGE_SIZE, 3);
	h3 = smaps_bytes("AnonHugePages");
	ck_assert_uint_ge(h3, h2 + 2 * MiB);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("pageheap");
	TCase *tc = tcase_create("core");

	core_alone();
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_pageheap_prefers_fullest_hugepage);
	tcase_add_test(tc, test_pageheap_free_coalesces_into_whole_hugepage);
	tcase_add_test(tc, test_pageheap_release_waits_for_age_then_releases_whole);
	tcase_add_test(tc, test_pageheap_split_release_only_when_asked);
	tcase_add_test(tc, test_pageheap_released_pages_come_back_zeroed);
	tcase_add_test(tc, test_pageheap_hugepage_advice_waits_for_threshold);
	tcase_add_test(tc, test_pageheap_never_mode_never_advises);
	tcase_add_test(tc, test_pageheap_failed_map_gives_enomem_then_recovers);
	tcase_add_test(tc, test_pageheap_resize_in_place);
	tcase_add_test(tc, test_pageheap_counts_growth_beside_idle_pages);
	tcase_add_test(tc, test_pageheap_large_realloc_grows_in_place);
	tcase_add_test(tc, test_pageheap_aligned_spans);
	tcase_add_test(tc, test_pageheap_release_ends_when_a_range_keeps_failing);
	tcase_add_test(tc, test_pageheap_large_cache_reuses_and_is_bounded);
	tcase_add_test(
	    tc, test_pageheap_lazy_stage_leaves_backed_hugepages_to_allocations);
	suite_add_tcase(s, tc);
	tc = tcase_create("kernel");
	tcase_add_checked_fixture(tc, setup_real, NULL);
	tcase_add_test(tc, test_pageheap_large_span_takes_idle_hugepages);
	tcase_add_test(tc, test_pageheap_small_span_takes_warm_pages_first);
	tcase_add_test(tc, test_pageheap_moved_span_leaves_its_tail_alone);
	tcase_add_test(tc, test_pageheap_auto_leaves_large_spans_on_small_pages);
	if (!thp_available())
		check_partial("transparent hugepages are off here");
	suite_add_tcase(s, tc);
	return s;
}

