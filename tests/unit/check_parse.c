/*
 * check_parse.c: common/parse, the one grammar for sizes, durations and
 * booleans that MEMRECLAIM_* options, memreclaim.conf and memreclaimctl
 * share.  Each case is what a user writes and the value they get.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>

#include "check_main.h"
#include "common/parse.h"

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define TIB (1ull << 40)

static uint64_t
size_of(const char *s)
{
	uint64_t v = 12345;

	ck_assert_msg(mrc_parse_size(s, &v) == 0, "'%s' rejected", s);
	return v;
}

static int
size_rc(const char *s)
{
	uint64_t v = 777;
	int rc = mrc_parse_size(s, &v);

	if (rc < 0)
		ck_assert_uint_eq(v, 777); /* untouched on error */
	return rc;
}

START_TEST(test_parse_size_every_suffix_spelling_is_binary)
{
	ck_assert_uint_eq(size_of("4096"), 4096);
	ck_assert_uint_eq(size_of("4096B"), 4096);
	ck_assert_uint_eq(size_of("64k"), 64 * KIB);
	ck_assert_uint_eq(size_of("64K"), 64 * KIB);
	ck_assert_uint_eq(size_of("64KB"), 64 * KIB);
	ck_assert_uint_eq(size_of("64KiB"), 64 * KIB);
	ck_assert_uint_eq(size_of("64kib"), 64 * KIB);
	ck_assert_uint_eq(size_of("2M"), 2 * MIB);
	ck_assert_uint_eq(size_of("2MiB"), 2 * MIB);
	/* the daemon used to reject this one, the library accepted it */
	ck_assert_uint_eq(size_of("2GB"), 2 * GIB);
	ck_assert_uint_eq(size_of("2GiB"), 2 * GIB);
	ck_assert_uint_eq(size_of("2gb"), 2 * GIB);
	ck_assert_uint_eq(size_of("3T"), 3 * TIB);
	ck_assert_uint_eq(size_of("1P"), 1ull << 50);
	ck_assert_uint_eq(size_of("1E"), 1ull << 60);
	ck_assert_uint_eq(size_of(" 8M "), 8 * MIB); /* env values: blanks */
	ck_assert_uint_eq(size_of("0"), 0);
}
END_TEST

START_TEST(test_parse_size_fraction_is_exact_and_rounds_down)
{
	ck_assert_uint_eq(size_of("1.5G"), 3ull << 29);
	ck_assert_uint_eq(size_of("1.5GiB"), 3ull << 29);
	ck_assert_uint_eq(size_of("1.1K"), 1126); /* 1126.4 */
	ck_assert_uint_eq(size_of("0.3"), 0);
	/* 1 TiB + floor(0.123456789 * 2^40), in integers */
	ck_assert_uint_eq(size_of("1.123456789T"), 1235253802809ull);
	/* a double would round this up to a whole TiB */
	ck_assert_uint_eq(size_of("0.999999999999999999T"), TIB - 1);
	/* the largest value: one byte short of 2^64 - 1 after rounding */
	ck_assert_uint_eq(size_of("15.999999999999999999E"),
			  18446744073709551614ull);
	ck_assert_uint_eq(size_of("18446744073709551615"), UINT64_MAX);
}
END_TEST

START_TEST(test_parse_size_overflow_is_erange)
{
	ck_assert_int_eq(size_rc("18446744073709551616"), -ERANGE);
	ck_assert_int_eq(size_rc("16E"), -ERANGE);
	ck_assert_int_eq(size_rc("16384P"), -ERANGE);
	ck_assert_int_eq(size_rc("99999999999999999999999"), -ERANGE);
	ck_assert_int_eq(size_rc("17179869184G"), -ERANGE);
}
END_TEST

START_TEST(test_parse_size_rejects_text_outside_the_grammar)
{
	static const char *const bad[] = {
	    "",	    " ",     "-1",
	    "+1",   "1X",    "K",
	    "1 K",  "1.",    ".5K",
	    "1..5", "1KiBB", "1iB",
	    "1Ki",  "0x10",  "1e3",
	    "1,5K", "12 34", "1.0000000000000000001K", /* 19 fraction digits */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(size_rc(bad[i]) == -EINVAL, "'%s' accepted",
			      bad[i]);
	ck_assert_int_eq(mrc_parse_size(NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_parse_duration_units_and_default_unit)
{
	uint64_t v = 0;

	ck_assert_int_eq(mrc_parse_duration_ns("250ms", MRC_NS_PER_S, &v), 0);
	ck_assert_uint_eq(v, 250 * MRC_NS_PER_MS);
	ck_assert_int_eq(mrc_parse_duration_ns("2s", MRC_NS_PER_MS, &v), 0);
	ck_assert_uint_eq(v, 2 * MRC_NS_PER_S);
	ck_assert_int_eq(mrc_parse_duration_ns("1.5s", MRC_NS_PER_MS, &v), 0);
	ck_assert_uint_eq(v, 1500 * MRC_NS_PER_MS);
	ck_assert_int_eq(mrc_parse_duration_ns("100us", MRC_NS_PER_MS, &v), 0);
	ck_assert_uint_eq(v, 100 * MRC_NS_PER_US);
	ck_assert_int_eq(mrc_parse_duration_ns("5m", MRC_NS_PER_MS, &v), 0);
	ck_assert_uint_eq(v, 300 * MRC_NS_PER_S);
	ck_assert_int_eq(mrc_parse_duration_ns("1h", MRC_NS_PER_MS, &v), 0);
	ck_assert_uint_eq(v, 3600 * MRC_NS_PER_S);
	ck_assert_int_eq(mrc_parse_duration_ns("7ns", MRC_NS_PER_MS, &v), 0);
	ck_assert_uint_eq(v, 7);
	/* a bare number counts in the caller's unit */
	ck_assert_int_eq(mrc_parse_duration_ns("1000", MRC_NS_PER_MS, &v), 0);
	ck_assert_uint_eq(v, MRC_NS_PER_S);
	ck_assert_int_eq(mrc_parse_duration_ns("1000", MRC_NS_PER_US, &v), 0);
	ck_assert_uint_eq(v, MRC_NS_PER_MS);
}
END_TEST

START_TEST(test_parse_duration_rejects_and_overflows)
{
	static const char *const bad[] = {
	    "", "s", "1x", "1 s", "-1s", "1sec", "1mss", "1.s",
	};
	uint64_t v = 5;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(
		    mrc_parse_duration_ns(bad[i], MRC_NS_PER_MS, &v) == -EINVAL,
		    "'%s' accepted", bad[i]);
	ck_assert_uint_eq(v, 5);
	ck_assert_int_eq(mrc_parse_duration_ns("6000000h", MRC_NS_PER_MS, &v),
			 -ERANGE);
	ck_assert_uint_eq(v, 5);
}
END_TEST

START_TEST(test_parse_bool_words)
{
	static const char *const yes[] = {"1",	"yes", "true",
					  "on", "Yes", "TRUE"};
	static const char *const no[] = {"0",	"no", "false",
					 "off", "NO", "Off"};
	static const char *const bad[] = {"",	  "2",	 "y",	  "n",
					  "yess", " on", "enable"};
	size_t i;
	int v;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = -1;
		ck_assert_int_eq(mrc_parse_bool(yes[i], &v), 0);
		ck_assert_int_eq(v, 1);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		v = -1;
		ck_assert_int_eq(mrc_parse_bool(no[i], &v), 0);
		ck_assert_int_eq(v, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		ck_assert_msg(mrc_parse_bool(bad[i], &v) == -EINVAL,
			      "'%s' accepted", bad[i]);
		ck_assert_int_eq(v, -1);
	}
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("grammar");

	tcase_add_test(tc, test_parse_size_every_suffix_spelling_is_binary);
	tcase_add_test(tc, test_parse_size_fraction_is_exact_and_rounds_down);
	tcase_add_test(tc, test_parse_size_overflow_is_erange);
	tcase_add_test(tc, test_parse_size_rejects_text_outside_the_grammar);
	tcase_add_test(tc, test_parse_duration_units_and_default_unit);
	tcase_add_test(tc, test_parse_duration_rejects_and_overflows);
	tcase_add_test(tc, test_parse_bool_words);
	suite_add_tcase(s, tc);
	return s;
}
