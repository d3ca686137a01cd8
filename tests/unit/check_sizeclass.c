/*
 * check_sizeclass.c: the size class table keeps its promises, and the
 * committed table is what the generator produces.
 */
#include "config.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memreclaim.h"
#include "core/sizeclass.h"
#include "check_main.h"

START_TEST(test_sizeclass_every_size_maps_to_smallest_fitting_class)
{
	size_t n;

	for (n = 0; n <= MRI_SMALL_MAX; n++) {
		unsigned c = mri_size_class(n);
		ck_assert_uint_ge(mri_class_size[c], n);
		ck_assert(c == 1 || mri_class_size[c - 1] < n);
	}
}
END_TEST

START_TEST(test_sizeclass_waste_bounds)
{
	unsigned c;

	for (c = 1; c < MRI_MAX_CLASSES; c++) {
		size_t span = mri_class_npages[c] * MRI_PAGE_SIZE;
		size_t tail = span - (size_t)mri_class_nobj[c] * mri_class_size[c];
		ck_assert_uint_eq(mri_class_size[c] % 16, 0);	/* max_align_t */
		ck_assert_uint_le(tail, span / 8);		/* Go's rule */
		ck_assert_uint_le(mri_class_nobj[c], 512);	/* allocbits */
		ck_assert_uint_ge(mri_class_batch[c], 2);
		ck_assert_uint_le(mri_class_batch[c], MRI_MAX_BATCH);
		/* a batch is 16 KiB of objects (a bin starts at two, a
		 * transfer cache keeps two flushes: what a thread may keep
		 * idle per class), at least two and at most 32 of them */
		ck_assert_uint_eq(mri_class_batch[c],
				  16384 / mri_class_size[c] < 2 ? 2
				  : 16384 / mri_class_size[c] > 32
				      ? 32
				      : 16384 / mri_class_size[c]);
		if (c > 1 && mri_class_size[c - 1] >= 128)	/* 12.5% rounding */
			ck_assert_uint_le(mri_class_size[c] - mri_class_size[c - 1] - 1,
					  mri_class_size[c] / 8);
	}
	ck_assert_uint_eq(mri_class_size[MRI_MAX_CLASSES - 1], MRI_SMALL_MAX);
}
END_TEST

START_TEST(test_sizeclass_divmagic_exact)
{
	unsigned c;
	uint32_t off;

	for (c = 1; c < MRI_MAX_CLASSES; c++)
		for (off = 0; off < mri_class_npages[c] * MRI_PAGE_SIZE; off++)
			ck_assert_uint_eq(mri_class_index(c, off), off / mri_class_size[c]);
}
END_TEST

START_TEST(test_sizeclass_committed_table_matches_generator)
{
	char cmd[1024];
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "cc -O0 -o gen_sc.tmp %s && ./gen_sc.tmp > gen_sc.out && cmp gen_sc.out %s",
		 GEN_SIZECLASSES, SIZECLASSES_INC);
	rc = system(cmd);
	unlink("gen_sc.tmp");
	unlink("gen_sc.out");
	ck_assert_int_eq(rc, 0);
}
END_TEST

START_TEST(test_sizeclass_print_has_every_class)
{
	FILE *f = tmpfile();
	char line[256];
	int n = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(mr_print_classes(fileno(f)), 0);
	rewind(f);
	while (fgets(line, sizeof(line), f))
		n++;
	ck_assert_int_eq(n, MRI_MAX_CLASSES);	/* header + one per class */
	fclose(f);
}
END_TEST


Suite *
test_suite(void)
{
	Suite *s = suite_create("sizeclass");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sizeclass_every_size_maps_to_smallest_fitting_class);
	tcase_add_test(tc, test_sizeclass_waste_bounds);
	tcase_add_test(tc, test_sizeclass_divmagic_exact);
	tcase_add_test(tc, test_sizeclass_committed_table_matches_generator);
	tcase_add_test(tc, test_sizeclass_print_has_every_class);
	suite_add_tcase(s, tc);
	return s;
}
