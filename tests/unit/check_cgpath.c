/*
 * check_cgpath.c: common/cgpath, finding cgroup mounts and a process's
 * cgroup from procfs text, on hand-made files and on a fake /proc tree.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "check_main.h"
#include "common/cgpath.h"
#include "daemon_test.h"

/* A hybrid host (v1 memory, v2 for PSI), as on these machines. */
static const char hybrid_mi[] =
    "24 30 0:22 / /sys rw shared:7 - sysfs sysfs rw\n"
    "35 24 0:30 / /sys/fs/cgroup/unified rw,nosuid shared:10 - "
    "cgroup2 cgroup2 rw,nsdelegate\n"
    "38 24 0:33 / /sys/fs/cgroup/memory rw shared:14 - cgroup cgroup "
    "rw,memory\n"
    "39 24 0:34 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup "
    "rw,cpu,cpuacct\n";

START_TEST(test_cgpath_mountinfo_finds_v1_controller_and_cgroup2)
{
	char out[PATH_MAX], root[PATH_MAX];

	ck_assert_int_eq(mrc_cgpath_mountinfo_find(hybrid_mi, NULL, out,
						   sizeof(out), NULL, 0),
			 0);
	ck_assert_str_eq(out, "/sys/fs/cgroup/unified");
	ck_assert_int_eq(mrc_cgpath_mountinfo_find(hybrid_mi, "memory", out,
						   sizeof(out), root,
						   sizeof(root)),
			 0);
	ck_assert_str_eq(out, "/sys/fs/cgroup/memory");
	ck_assert_str_eq(root, "/");
	ck_assert_int_eq(mrc_cgpath_mountinfo_find(hybrid_mi, "cpuacct", out,
						   sizeof(out), NULL, 0),
			 0);
	ck_assert_str_eq(out, "/sys/fs/cgroup/cpu,cpuacct");
	/* "cpu" is a whole word of the options, "cpuac" is not */
	ck_assert_int_eq(mrc_cgpath_mountinfo_find(hybrid_mi, "cpuac", out,
						   sizeof(out), NULL, 0),
			 -ENOENT);
	ck_assert_int_eq(mrc_cgpath_mountinfo_find(hybrid_mi, "pids", out,
						   sizeof(out), NULL, 0),
			 -ENOENT);
	/* too small a buffer is an error, not a truncated path */
	ck_assert_int_eq(
	    mrc_cgpath_mountinfo_find(hybrid_mi, "memory", out, 8, NULL, 0),
	    -ENAMETOOLONG);
}
END_TEST

START_TEST(test_cgpath_mountinfo_decodes_octal_escapes)
{
	/* a mount point with a space, a tab and a backslash, in a cgroup
	 * namespace whose root is "/my box" */
	static const char mi[] =
	    "50 24 0:40 /my\\040box /mnt/cg\\040v1\\011x\\134y rw,relatime "
	    "shared:3 master:1 - cgroup cgroup rw,memory\n";
	char out[PATH_MAX], root[PATH_MAX];

	ck_assert_int_eq(mrc_cgpath_mountinfo_find(mi, "memory", out,
						   sizeof(out), root,
						   sizeof(root)),
			 0);
	ck_assert_str_eq(out, "/mnt/cg v1\tx\\y");
	ck_assert_str_eq(root, "/my box");
	ck_assert_int_eq(mrc_cgpath_unescape(out, sizeof(out), "a\\040", 5), 0);
	ck_assert_str_eq(out, "a ");
	/* a backslash not followed by three octal digits stays as it is */
	ck_assert_int_eq(mrc_cgpath_unescape(out, sizeof(out), "a\\09", 4), 0);
	ck_assert_str_eq(out, "a\\09");
}
END_TEST

START_TEST(test_cgpath_proc_cgroup_paths)
{
	char mem[64], v2[64];

	ck_assert_int_eq(mrc_cgpath_proc_cgroup("9:name=systemd:/\n"
						"4:memory:/box/app\n"
						"3:cpu,cpuacct:/\n0::/svc\n",
						"memory", mem, sizeof(mem), v2,
						sizeof(v2)),
			 0);
	ck_assert_str_eq(mem, "/box/app");
	ck_assert_str_eq(v2, "/svc");
	ck_assert_int_eq(mrc_cgpath_proc_cgroup("0::/only/v2", "memory", mem,
						sizeof(mem), v2, sizeof(v2)),
			 0);
	ck_assert_str_eq(mem, "");
	ck_assert_str_eq(v2, "/only/v2");
	ck_assert_int_eq(mrc_cgpath_proc_cgroup("4:memory\n", "memory", mem,
						sizeof(mem), v2, sizeof(v2)),
			 -EINVAL);
	ck_assert_int_eq(mrc_cgpath_proc_cgroup("4:memory:box\n", "memory", mem,
						sizeof(mem), v2, sizeof(v2)),
			 -EINVAL);
	ck_assert_int_eq(mrc_cgpath_proc_cgroup("4:memory:/a/long/path\n",
						"memory", mem, 8, v2,
						sizeof(v2)),
			 -ENAMETOOLONG);
}
END_TEST

START_TEST(test_cgpath_strip_root_of_a_namespace)
{
	char p[64];

	strcpy(p, "/ns/app");
	mrc_cgpath_strip_root(p, "/ns");
	ck_assert_str_eq(p, "/app");
	strcpy(p, "/ns");
	mrc_cgpath_strip_root(p, "/ns");
	ck_assert_str_eq(p, "/");
	strcpy(p, "/nsx/app"); /* not under /ns */
	mrc_cgpath_strip_root(p, "/ns");
	ck_assert_str_eq(p, "/nsx/app");
	strcpy(p, "/app");
	mrc_cgpath_strip_root(p, "/");
	ck_assert_str_eq(p, "/app");
}
END_TEST

/* The whole discovery on a fake /proc: hybrid, then pure v2 without and
 * with the memory controller, then a v1 mount seen from a namespace. */
START_TEST(test_cgpath_self_memory_on_fake_proc)
{
	char buf[4096], mnt[PATH_MAX], rel[PATH_MAX];
	int v2 = -1;

	dt_root_make("check_cgpath");
	dt_put("proc/self/mountinfo", hybrid_mi);
	dt_put("proc/self/cgroup", "4:memory:/box\n0::/svc\n");
	ck_assert_int_eq(mrc_cgpath_self_memory(dt_path("proc"), buf,
						sizeof(buf), mnt, sizeof(mnt),
						rel, sizeof(rel), &v2),
			 0);
	ck_assert_str_eq(mnt, "/sys/fs/cgroup/memory");
	ck_assert_str_eq(rel, "/box");
	ck_assert_int_eq(v2, 0);

	dt_put("proc/self/mountinfo",
	       "35 24 0:30 / /x\\040y rw - cgroup2 cgroup2 rw\n");
	/* cgroup2 mounted at "/x y", with no cgroup.controllers there */
	ck_assert_int_eq(mrc_cgpath_self_memory(dt_path("proc"), buf,
						sizeof(buf), mnt, sizeof(mnt),
						rel, sizeof(rel), &v2),
			 -ENOENT);
	dt_put("proc/self/mountinfo", "");
	ck_assert_int_eq(mrc_cgpath_self_memory(dt_path("proc"), buf,
						sizeof(buf), mnt, sizeof(mnt),
						rel, sizeof(rel), &v2),
			 -ENOENT);
	/* a buffer too small for the file is reported, not truncated */
	dt_put("proc/self/mountinfo", hybrid_mi);
	ck_assert_int_eq(mrc_cgpath_self_memory(dt_path("proc"), buf, 16, mnt,
						sizeof(mnt), rel, sizeof(rel),
						&v2),
			 -E2BIG);
	dt_root_remove();
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("cgpath");
	TCase *tc = tcase_create("procfs");

	tcase_add_test(tc,
		       test_cgpath_mountinfo_finds_v1_controller_and_cgroup2);
	tcase_add_test(tc, test_cgpath_mountinfo_decodes_octal_escapes);
	tcase_add_test(tc, test_cgpath_proc_cgroup_paths);
	tcase_add_test(tc, test_cgpath_strip_root_of_a_namespace);
	tcase_add_test(tc, test_cgpath_self_memory_on_fake_proc);
	suite_add_tcase(s, tc);
	return s;
}
