/*
 * check_psi.c: PSI file parsing (every format the kernel writes, and
 * malformed text), the 2 s trigger rounding, and a real trigger on this
 * machine's /proc/pressure/memory or cgroup v2 root.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "psi.h"
#include "check_main.h"
#include "daemon_test.h"

static int
parse(const char *s, struct psi_sample *out)
{
	return psi_parse(s, strlen(s), out);
}

START_TEST(test_psi_parse_some_and_full)
{
	struct psi_sample s;

	ck_assert_int_eq(
	    parse("some avg10=1.25 avg60=0.50 avg300=0.10 "
		  "total=123456\nfull avg10=0.75 avg60=0.00 avg300=0.00 "
		  "total=789\n",
		  &s),
	    0);
	ck_assert_double_eq_tol(s.some.avg10, 1.25, 1e-9);
	ck_assert_double_eq_tol(s.some.avg60, 0.50, 1e-9);
	ck_assert_double_eq_tol(s.some.avg300, 0.10, 1e-9);
	ck_assert_uint_eq(s.some.total_us, 123456);
	ck_assert_int_eq(s.has_full, 1);
	ck_assert_double_eq_tol(s.full.avg10, 0.75, 1e-9);
	ck_assert_uint_eq(s.full.total_us, 789);
}
END_TEST

START_TEST(test_psi_parse_some_only_and_no_trailing_newline)
{
	struct psi_sample s;

	/* old kernels and the host cpu file have no "full" line */
	ck_assert_int_eq(parse("some avg10=0.00 avg60=0.00 avg300=0.00 "
			       "total=0",
			       &s),
			 0);
	ck_assert_int_eq(s.has_full, 0);
	ck_assert_uint_eq(s.some.total_us, 0);
	ck_assert_int_eq(parse("some avg10=100.00 avg60=99.99 avg300=1.00 "
			       "total=18446744073709551615\n",
			       &s),
			 0);
	ck_assert_uint_eq(s.some.total_us, UINT64_MAX);
}
END_TEST

START_TEST(test_psi_parse_rejects_malformed)
{
	static const char *const bad[] = {
	    "",
	    "\n",
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00\n", /* no total */
	    "some avg10=0.00 avg60=0.00 total=0\n",	/* no avg300 */
	    "some avg60=0.00 avg10=0.00 avg300=0.00 total=0\n",
	    "some avg10=x avg60=0.00 avg300=0.00 total=0\n",
	    "some avg10=-1 avg60=0.00 avg300=0.00 total=0\n",
	    "some avg10=101 avg60=0.00 avg300=0.00 total=0\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=-5\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=12x\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 "
	    "total=99999999999999999999\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0 extra\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n\n",
	    "some  avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
	    "memory 12345\n",
	};
	struct psi_sample s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &s) == -EINVAL, "accepted: %s",
			      bad[i]);
	/* an embedded NUL is not a pressure file either */
	ck_assert_int_eq(psi_parse("some avg10=0.00\0avg60=0.00 avg300=0.00 "
				   "total=0",
				   44, &s),
			 -EINVAL);
}
END_TEST

START_TEST(test_psi_trigger_round_keeps_share)
{
	uint64_t s, w;

	psi_trigger_round(150000, 1000000, &s, &w);
	ck_assert_uint_eq(w, 2000000);
	ck_assert_uint_eq(s, 300000);
	psi_trigger_round(100000, 2000000, &s, &w);
	ck_assert_uint_eq(w, 2000000);
	ck_assert_uint_eq(s, 100000);
	psi_trigger_round(500000, 2500000, &s, &w);
	ck_assert_uint_eq(w, 4000000);
	ck_assert_uint_eq(s, 800000);
}
END_TEST

START_TEST(test_psi_stall_pct)
{
	ck_assert_double_eq_tol(psi_stall_pct(1000, 61000, 2000000), 3.0, 1e-9);
	ck_assert_double_eq_tol(psi_stall_pct(5000, 100, 1000000), 0.0, 1e-9);
	ck_assert_double_eq_tol(psi_stall_pct(0, 100, 0), 0.0, 1e-9);
}
END_TEST

/* Seeded mutations of a valid file: each is parsed or rejected, and
 * what is accepted holds values in range (ASan watches the reads). */
START_TEST(test_psi_parse_mutations)
{
	static const char good[] =
	    "some avg10=1.25 avg60=0.50 avg300=0.10 total=123456\n"
	    "full avg10=0.75 avg60=0.00 avg300=0.00 total=789\n";
	unsigned int seed = 777;
	struct psi_sample s;
	int i, ok = 0, bad = 0;

	for (i = 0; i < 20000; i++) {
		char buf[sizeof(good)];
		size_t len = sizeof(good) - 1;
		int j, flips = 1 + (int)(rand_r(&seed) % 3);

		memcpy(buf, good, sizeof(good));
		for (j = 0; j < flips; j++)
			buf[rand_r(&seed) % len] = (char)(rand_r(&seed) % 256);
		if (rand_r(&seed) % 4 == 0)
			len = rand_r(&seed) % len;
		if (psi_parse(buf, len, &s) == 0) {
			ok++;
			ck_assert(s.some.avg10 >= 0 && s.some.avg10 <= 100);
			ck_assert(s.full.avg300 >= 0 && s.full.avg300 <= 100);
		} else {
			bad++;
		}
	}
	ck_assert_int_gt(ok, 0);
	ck_assert_int_gt(bad, 0);
}
END_TEST

/* A regular file that looks like a pressure file is left alone. */
START_TEST(test_psi_trigger_refuses_regular_file)
{
	static const char text[] =
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
	char path[] = "/tmp/check_psi.XXXXXX", back[128];
	struct psi_sample s;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	ck_assert_int_eq(
	    psi_trigger_open(AT_FDCWD, path, 100000, 2000000, NULL), -ENOTSUP);
	ck_assert_int_eq(pread(fd, back, sizeof(back), 0), (int)strlen(text));
	ck_assert_int_eq(psi_read_fd(fd, &s), 0);
	close(fd);
	unlink(path);
}
END_TEST

/* The real kernel: read the host file and set a trigger with a 1 s
 * window, which without CAP_SYS_RESOURCE only works after rounding. */
START_TEST(test_psi_real_read_and_trigger)
{
	const char *paths[] = {"/proc/pressure/memory",
			       "/sys/fs/cgroup/unified/memory.pressure",
			       "/sys/fs/cgroup/memory.pressure"};
	struct psi_sample s;
	uint64_t used = 0;
	int fd, rc, i, found = 0;

	for (i = 0; i < 3; i++) {
		fd = open(paths[i], O_RDONLY);
		if (fd < 0)
			continue;
		found++;
		ck_assert_int_eq(psi_read_fd(fd, &s), 0);
		ck_assert_int_eq(s.has_full, 1);
		close(fd);
		rc = psi_trigger_open(AT_FDCWD, paths[i], 150000, 1000000,
				      &used);
		ck_assert_msg(rc >= 0, "%s: trigger: %s", paths[i],
			      strerror(-rc));
		ck_assert(used == 1000000 || used == 2000000);
		close(rc);
	}
	ck_assert_int_gt(found, 0);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("psi");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_psi_parse_some_and_full);
	tcase_add_test(tc, test_psi_parse_some_only_and_no_trailing_newline);
	tcase_add_test(tc, test_psi_parse_rejects_malformed);
	tcase_add_test(tc, test_psi_trigger_round_keeps_share);
	tcase_add_test(tc, test_psi_stall_pct);
	tcase_add_test(tc, test_psi_trigger_refuses_regular_file);
	tcase_add_test(tc, test_psi_parse_mutations);
	suite_add_tcase(s, tc);
	if (access("/proc/pressure/memory", R_OK) == 0) {
		tc = tcase_create("kernel");
		tcase_add_test(tc, test_psi_real_read_and_trigger);
		suite_add_tcase(s, tc);
	} else {
		check_partial("kernel without PSI (CONFIG_PSI, psi=1): "
			      "real-kernel part skipped\n");
	}
	return s;
}
