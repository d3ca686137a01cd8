/*
 * check_meta.c: metadata memory (core/meta.c): zeroed, 64-byte aligned
 * requests carved from 1 MiB blocks; a request of a quarter block or more
 * gets its own mapping and the block it would not fit in is kept, so a
 * thread cache (a few hundred KiB) does not throw away the rest of one.
 */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include "core/meta.h"
#include "check_main.h"

#define MiB ((size_t)1 << 20)

/* Allocate 64-byte records until one opens a new block; return it. */
static char *
meta_fresh_block(void)
{
	int i;

	for (i = 0; i < (int)(MiB / 64) + 1; i++) {
		uint64_t before = mri_meta_bytes();
		char *p = mri_meta_alloc(64);
		ck_assert_ptr_nonnull(p);
		if (mri_meta_bytes() == before + MiB)
			return p;
		ck_assert_uint_eq(mri_meta_bytes(), before);
	}
	ck_abort_msg("no new block after a block's worth of records");
	return NULL;
}

START_TEST(test_meta_records_are_zero_and_aligned)
{
	int i;

	for (i = 0; i < 100; i++) {
		unsigned char *p = mri_meta_alloc(24 + (size_t)i * 8);
		size_t k;
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % 64, 0);
		for (k = 0; k < 24 + (size_t)i * 8; k++)
			ck_assert_uint_eq(p[k], 0);
		p[0] = 1;
	}
}
END_TEST

START_TEST(test_meta_big_request_keeps_the_block)
{
	char *p1 = meta_fresh_block(), *big, *p2;
	uint64_t before = mri_meta_bytes();

	/* 300 KiB: its own mapping, rounded to pages, not a new block */
	big = mri_meta_alloc(300 << 10);
	ck_assert_ptr_nonnull(big);
	ck_assert_uint_eq(mri_meta_bytes() - before, 300 << 10);
	ck_assert(big + (300 << 10) <= p1 || big >= p1 + MiB);
	big[(300 << 10) - 1] = 1;
	/* and the block goes on right after the last record */
	p2 = mri_meta_alloc(64);
	ck_assert_ptr_eq(p2, p1 + 64);
	ck_assert_uint_eq(mri_meta_bytes() - before, 300 << 10);
}
END_TEST

START_TEST(test_meta_small_request_that_does_not_fit_opens_a_block)
{
	char *p1 = meta_fresh_block(), *p2;
	uint64_t before = mri_meta_bytes();

	/* under a quarter block: carved; four fit after p1, a fifth not */
	ck_assert_ptr_eq(mri_meta_alloc(250 << 10), p1 + 64);
	ck_assert_ptr_nonnull(mri_meta_alloc(250 << 10));
	ck_assert_ptr_nonnull(mri_meta_alloc(250 << 10));
	ck_assert_ptr_eq(mri_meta_alloc(250 << 10), p1 + 64 + (750 << 10));
	ck_assert_uint_eq(mri_meta_bytes(), before);
	p2 = mri_meta_alloc(250 << 10);
	ck_assert_ptr_nonnull(p2);
	ck_assert_uint_eq(mri_meta_bytes(), before + MiB);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("meta");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_meta_records_are_zero_and_aligned);
	tcase_add_test(tc, test_meta_big_request_keeps_the_block);
	tcase_add_test(tc,
		       test_meta_small_request_that_does_not_fit_opens_a_block);
	suite_add_tcase(s, tc);
	return s;
}
