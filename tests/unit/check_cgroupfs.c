/*
 * check_cgroupfs.c: limit, usage, stat and pressure reads on fake cgroup
 * trees laid out as v1, v2 and hybrid; /proc/PID/cgroup and mountinfo
 * parsing; a cgroup that vanishes; and discovery on the real machine.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "check_main.h"
#include "daemon_test.h"

#define put dt_put
#define sub dt_path

static void
setup(void)
{
	dt_root_make("check_cgroupfs");
}

static void
teardown(void)
{
	dt_root_remove();
}

static const char *const psi_text =
    "some avg10=2.50 avg60=1.00 avg300=0.20 total=5000\n"
    "full avg10=1.00 avg60=0.50 avg300=0.10 total=1000\n";

static void
v1_tree(void)
{
	put("mem/memory.limit_in_bytes", "9223372036854771712\n");
	put("mem/memory.usage_in_bytes", "1000\n");
	put("mem/memory.stat", "cache 0\nrss 0\n");
	put("mem/box/memory.limit_in_bytes", "1073741824\n");
	put("mem/box/memory.usage_in_bytes", "1000000\n");
	put("mem/box/memory.stat", "cache 1\nrss 2\n");
	put("mem/box/app/memory.limit_in_bytes", "9223372036854771712\n");
	put("mem/box/app/memory.usage_in_bytes", "524288000\n");
	put("mem/box/app/memory.stat",
	    "cache 100\nrss 200\n"
	    "inactive_file 7\ntotal_cache 4096\ntotal_rss 400000000\n"
	    "total_inactive_file 20971520\n");
}

START_TEST(test_cgroupfs_v1_limit_is_smallest_up_the_tree)
{
	struct cgfs fs;
	struct cgfs_group g;
	struct cgfs_sample s;

	v1_tree();
	ck_assert_int_eq(cgfs_open(&fs, sub("mem"), 0, NULL, sub("proc")), 0);
	ck_assert_int_eq(cgfs_group_open(&fs, "/box/app", NULL, &g), 0);
	ck_assert_int_eq(cgfs_group_read(&g, &s), 0);
	ck_assert_uint_eq(s.limit_bytes, 1073741824); /* from /box */
	ck_assert_uint_eq(s.usage_bytes, 524288000);
	ck_assert_uint_eq(s.inactive_file_bytes, 20971520); /* total_ */
	ck_assert_uint_eq(s.anon_bytes, 400000000);
	ck_assert_int_eq(s.has_psi, 0); /* v1 alone has no PSI */
	cgfs_group_close(&g);
	ck_assert_int_eq(cgfs_group_open(&fs, "/", NULL, &g), 0);
	ck_assert_int_eq(cgfs_group_read(&g, &s), -EINVAL); /* no total_ */
	cgfs_group_close(&g);
	cgfs_close(&fs);
}
END_TEST

static int
count_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* A watched cgroup three levels down holds one descriptor for its memory
 * files (ancestors' limits are read through "../"), not one per level. */
START_TEST(test_cgroupfs_group_holds_one_fd_whatever_its_depth)
{
	struct cgfs fs;
	struct cgfs_group g;
	struct cgfs_sample s;
	int before;

	v1_tree();
	put("mem/box/app/deep/memory.limit_in_bytes", "2147483648\n");
	put("mem/box/app/deep/memory.usage_in_bytes", "4096\n");
	put("mem/box/app/deep/memory.stat", "total_inactive_file 0\n"
					    "total_rss 4096\n");
	ck_assert_int_eq(cgfs_open(&fs, sub("mem"), 0, NULL, sub("proc")), 0);
	before = count_fds();
	ck_assert_int_eq(cgfs_group_open(&fs, "/box/app/deep", NULL, &g), 0);
	ck_assert_int_eq(count_fds(), before + 1);
	ck_assert_int_eq(cgfs_group_read(&g, &s), 0);
	ck_assert_uint_eq(s.limit_bytes, 1073741824); /* /box, 2 up */
	cgfs_group_close(&g);
	ck_assert_int_eq(count_fds(), before);
	cgfs_close(&fs);
}
END_TEST

/* cgroup2 mounted at a path with a space: mountinfo writes it \040, and
 * discovery must decode it to find the mount. */
START_TEST(test_cgroupfs_discover_decodes_mountinfo_escapes)
{
	struct cgfs fs;
	char text[512];

	put("cg two/cgroup.controllers", "cpu memory\n");
	put("cg two/memory.pressure", psi_text);
	snprintf(text, sizeof(text),
		 "35 24 0:30 / %s rw - cgroup2 cgroup2 rw\n",
		 dt_path("cg\\040two"));
	put("proc/self/mountinfo", text);
	if (cgfs_discover(&fs, sub("proc")) < 0) {
		check_skip("no memory controller found on this host");
		return;
	}
	ck_assert_str_eq(fs.unified_root, sub("cg two"));
	ck_assert_int_ge(fs.unifd, 0);
	cgfs_close(&fs);
}
END_TEST

START_TEST(test_cgroupfs_v2_max_high_and_pressure)
{
	struct cgfs fs;
	struct cgfs_group g;
	struct cgfs_sample s;

	put("v2/cgroup.controllers", "memory\n");
	put("v2/memory.pressure", psi_text);
	put("v2/a/memory.max", "max\n");
	put("v2/a/memory.high", "2147483648\n");
	put("v2/a/memory.current", "100\n");
	put("v2/a/memory.stat", "anon 50\nfile 50\ninactive_file 10\n");
	put("v2/a/b/memory.max", "3221225472\n");
	put("v2/a/b/memory.high", "max\n");
	put("v2/a/b/memory.current", "1048576\n");
	put("v2/a/b/memory.stat", "anon 524288\nfile 524288\n"
				  "active_anon 1\ninactive_file 4096\n");
	put("v2/a/b/memory.pressure", psi_text);
	ck_assert_int_eq(cgfs_open(&fs, sub("v2"), 1, NULL, sub("proc")), 0);
	ck_assert_int_eq(cgfs_group_open(&fs, "/a/b", NULL, &g), 0);
	ck_assert_str_eq(g.psi_path, "/a/b");
	ck_assert_int_eq(cgfs_group_read(&g, &s), 0);
	/* memory.high of the parent is the tighter one */
	ck_assert_uint_eq(s.limit_bytes, 2147483648u);
	ck_assert_uint_eq(s.usage_bytes, 1048576);
	ck_assert_uint_eq(s.inactive_file_bytes, 4096);
	ck_assert_uint_eq(s.anon_bytes, 524288);
	ck_assert_int_eq(s.has_psi, 1);
	ck_assert_uint_eq(s.psi.some.total_us, 5000);
	ck_assert_double_eq_tol(s.psi.full.avg10, 1.0, 1e-9);
	cgfs_group_close(&g);
	cgfs_close(&fs);
}
END_TEST

START_TEST(test_cgroupfs_hybrid_takes_psi_from_unified)
{
	struct cgfs fs;
	struct cgfs_group g;
	struct cgfs_sample s;
	char mem[CGFS_PATH_MAX], v2[CGFS_PATH_MAX];

	v1_tree();
	put("uni/cgroup.controllers", "");
	put("uni/memory.pressure", psi_text);
	put("uni/svc/memory.pressure",
	    "some avg10=9.00 avg60=1.00 avg300=0.20 total=77\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	put("proc/42/cgroup", "9:name=systemd:/\n4:memory:/box/app\n"
			      "3:cpu,cpuacct:/\n0::/svc\n");
	ck_assert_int_eq(cgfs_open(&fs, sub("mem"), 0, sub("uni"), sub("proc")),
			 0);
	ck_assert_int_eq(
	    cgfs_pid_paths(&fs, 42, mem, sizeof(mem), v2, sizeof(v2)), 0);
	ck_assert_str_eq(mem, "/box/app");
	ck_assert_str_eq(v2, "/svc");
	ck_assert_int_eq(cgfs_group_open(&fs, mem, v2, &g), 0);
	ck_assert_int_eq(cgfs_group_read(&g, &s), 0);
	ck_assert_uint_eq(s.limit_bytes, 1073741824);
	ck_assert_int_eq(s.has_psi, 1);
	ck_assert_uint_eq(s.psi.some.total_us, 77);
	cgfs_group_close(&g);
	/* a v2 twin that does not exist: no per-cgroup PSI, not an error */
	ck_assert_int_eq(cgfs_group_open(&fs, mem, "/nope", &g), 0);
	ck_assert_int_eq(cgfs_group_read(&g, &s), 0);
	ck_assert_int_eq(s.has_psi, 0);
	cgfs_group_close(&g);
	cgfs_close(&fs);
}
END_TEST

START_TEST(test_cgroupfs_pid_paths_and_oom_score_adj)
{
	struct cgfs fs;
	char mem[CGFS_PATH_MAX], v2[CGFS_PATH_MAX];
	int adj = 0;

	put("mem/memory.limit_in_bytes", "1\n");
	put("proc/7/cgroup", "0::/only/v2\n");
	put("proc/8/cgroup", "4:memory\n");
	put("proc/9/cgroup", "4:cpu:/x\n0::/y\n");
	put("proc/7/oom_score_adj", "-1000\n");
	put("proc/8/oom_score_adj", "1001\n");
	put("proc/9/oom_score_adj", "abc\n");
	put("v2/cgroup.controllers", "memory\n");
	ck_assert_int_eq(cgfs_open(&fs, sub("mem"), 0, NULL, sub("proc")), 0);
	ck_assert_int_eq(
	    cgfs_pid_paths(&fs, 7, mem, sizeof(mem), v2, sizeof(v2)),
	    -ENOENT); /* no memory line on v1 */
	ck_assert_int_eq(
	    cgfs_pid_paths(&fs, 8, mem, sizeof(mem), v2, sizeof(v2)), -EINVAL);
	ck_assert_int_eq(
	    cgfs_pid_paths(&fs, 9, mem, sizeof(mem), v2, sizeof(v2)), -ENOENT);
	ck_assert_int_eq(
	    cgfs_pid_paths(&fs, 10, mem, sizeof(mem), v2, sizeof(v2)), -ESRCH);
	ck_assert_int_eq(cgfs_oom_score_adj(&fs, 7, &adj), 0);
	ck_assert_int_eq(adj, -1000);
	ck_assert_int_eq(cgfs_oom_score_adj(&fs, 8, &adj), -EINVAL);
	ck_assert_int_eq(cgfs_oom_score_adj(&fs, 9, &adj), -EINVAL);
	ck_assert_int_eq(cgfs_oom_score_adj(&fs, 10, &adj), -ESRCH);
	cgfs_close(&fs);
	/* pure v2: the memory path is the v2 path */
	ck_assert_int_eq(cgfs_open(&fs, sub("v2"), 1, NULL, sub("proc")), 0);
	ck_assert_int_eq(
	    cgfs_pid_paths(&fs, 7, mem, sizeof(mem), v2, sizeof(v2)), 0);
	ck_assert_str_eq(mem, "/only/v2");
	cgfs_close(&fs);
}
END_TEST

START_TEST(test_cgroupfs_vanished_cgroup_is_enoent)
{
	struct cgfs fs;
	struct cgfs_group g;
	struct cgfs_sample s;

	v1_tree();
	ck_assert_int_eq(cgfs_open(&fs, sub("mem"), 0, NULL, sub("proc")), 0);
	ck_assert_int_eq(cgfs_group_open(&fs, "/gone", NULL, &g), -ENOENT);
	ck_assert_int_eq(cgfs_group_open(&fs, "/box/../box", NULL, &g),
			 -EINVAL);
	ck_assert_int_eq(cgfs_group_open(&fs, "/box/app", NULL, &g), 0);
	dt_rm("mem/box/app");
	ck_assert_int_eq(cgfs_group_read(&g, &s), -ENOENT);
	cgfs_group_close(&g);
	cgfs_close(&fs);
}
END_TEST

START_TEST(test_cgroupfs_parse_limit_and_stat)
{
	uint64_t v;

	ck_assert_int_eq(cgfs_parse_limit("max\n", &v), 0);
	ck_assert_uint_eq(v, CGFS_NO_LIMIT);
	ck_assert_int_eq(cgfs_parse_limit("9223372036854771712\n", &v), 0);
	ck_assert_uint_eq(v, CGFS_NO_LIMIT);
	ck_assert_int_eq(cgfs_parse_limit("4096\n", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(cgfs_parse_limit("-1\n", &v), -EINVAL);
	ck_assert_int_eq(cgfs_parse_limit("12 34\n", &v), -EINVAL);
	ck_assert_int_eq(cgfs_parse_limit("12\n\n", &v), -EINVAL);
	ck_assert_int_eq(cgfs_parse_limit("", &v), -EINVAL);
	ck_assert_int_eq(cgfs_stat_find("anon 5\nfile 6\n", "file", &v), 0);
	ck_assert_uint_eq(v, 6);
	ck_assert_int_eq(cgfs_stat_find("anon_thp 5\n", "anon", &v), -ENOENT);
	ck_assert_int_eq(cgfs_stat_find("anon x\n", "anon", &v), -EINVAL);
}
END_TEST

/* The real machine: our own cgroup is found and readable. */
START_TEST(test_cgroupfs_real_self)
{
	struct cgfs fs;
	struct cgfs_group g;
	struct cgfs_sample s;
	char mem[CGFS_PATH_MAX], v2[CGFS_PATH_MAX];
	int rc;

	rc = cgfs_discover(&fs, "/proc");
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(
	    cgfs_pid_paths(&fs, getpid(), mem, sizeof(mem), v2, sizeof(v2)), 0);
	ck_assert_int_eq(cgfs_group_open(&fs, mem, v2, &g), 0);
	ck_assert_int_eq(cgfs_group_read(&g, &s), 0);
	ck_assert_uint_gt(s.usage_bytes, 0);
	if (fs.unifd >= 0)
		ck_assert_int_eq(s.has_psi, 1);
	cgfs_group_close(&g);
	cgfs_close(&fs);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("cgroupfs");
	TCase *tc = tcase_create("fake");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cgroupfs_v1_limit_is_smallest_up_the_tree);
	tcase_add_test(tc, test_cgroupfs_group_holds_one_fd_whatever_its_depth);
	tcase_add_test(tc, test_cgroupfs_discover_decodes_mountinfo_escapes);
	tcase_add_test(tc, test_cgroupfs_v2_max_high_and_pressure);
	tcase_add_test(tc, test_cgroupfs_hybrid_takes_psi_from_unified);
	tcase_add_test(tc, test_cgroupfs_pid_paths_and_oom_score_adj);
	tcase_add_test(tc, test_cgroupfs_vanished_cgroup_is_enoent);
	tcase_add_test(tc, test_cgroupfs_parse_limit_and_stat);
	suite_add_tcase(s, tc);
	/* the real part needs a memory controller mounted somewhere */
	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0 ||
	    access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		tc = tcase_create("kernel");
		tcase_add_test(tc, test_cgroupfs_real_self);
		suite_add_tcase(s, tc);
	} else {
		check_partial("no cgroup memory controller mounted: "
			      "real-kernel part skipped\n");
	}
	return s;
}
