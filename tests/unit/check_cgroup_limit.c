/*
 * check_cgroup_limit.c: the soft limit's default, read from real cgroups.
 *
 * Each test creates child memory cgroups (v1 memory.limit_in_bytes, as on
 * these hybrid hosts; v2 memory.max when the memory controller is on the
 * unified hierarchy) under the runner's own memory cgroup, moves a forked
 * process in, and checks that mri_limit_cgroup() in that process returns
 * the cgroup's limit, or the smallest up the tree.  Cgroups are removed by
 * the test and again, whatever happened, by the unchecked teardown that
 * runs in the runner process.  Exit 77 when no memory cgroup can be made.
 */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memreclaim.h"
#include "core/heap.h"
#include "os/cgroup_limit.h"
#include "release/release.h"
#include "check_main.h"

static char base[4096];		/* our memory cgroup's directory */
static int v2;			/* memory controller on cgroup v2 */
static pid_t runner;		/* names the test cgroups */

static int
read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int
write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, v, strlen(v));
	close(fd);
	return n == (ssize_t)strlen(v) ? 0 : -errno;
}

/* Find our memory cgroup directory from /proc/self/cgroup. */
static int
find_base(void)
{
	char buf[4096], *line;

	if (read_file("/proc/self/cgroup", buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *c1 = strchr(line, ':'), *c2;
		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c2 = '\0';
		if (!strcmp(c1 + 1, "memory")) {
			snprintf(base, sizeof(base), "/sys/fs/cgroup/memory%s",
				 c2 + 1);
			return access(base, W_OK) == 0 ? 0 : -1;
		}
	}
	/* Pure v2: the memory controller must be enabled for children. */
	if (access("/sys/fs/cgroup/cgroup.controllers", R_OK) == 0) {
		if (read_file("/proc/self/cgroup", buf, sizeof(buf)) < 0)
			return -1;
		line = strstr(buf, "0::");
		if (!line)
			return -1;
		line[strcspn(line, "\n")] = '\0';
		snprintf(base, sizeof(base), "/sys/fs/cgroup%s", line + 3);
		v2 = 1;
		/* Children get memory files only when it is delegated. */
		char sc[4200];

		snprintf(sc, sizeof(sc), "%s/cgroup.subtree_control", base);
		if (read_file(sc, buf, sizeof(buf)) < 0 ||
		    !strstr(buf, "memory"))
			return -1;
		return 0;
	}
	return -1;
}

static void
cg_path(char *out, size_t len, const char *rel, const char *file)
{
	snprintf(out, len, "%s/mrtest-%d%s%s%s", base, (int)runner,
		 rel ? rel : "", file ? "/" : "", file ? file : "");
}

static int
cg_make(const char *rel, uint64_t limit)
{
	char p[4600], v[32];

	cg_path(p, sizeof(p), rel, NULL);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	cg_path(p, sizeof(p), rel, v2 ? "memory.max" : "memory.limit_in_bytes");
	snprintf(v, sizeof(v), "%llu", (unsigned long long)limit);
	return write_file(p, v);
}

static uint64_t
cg_limit(const char *rel)
{
	char p[4600], v[64];

	cg_path(p, sizeof(p), rel, v2 ? "memory.max" : "memory.limit_in_bytes");
	if (read_file(p, v, sizeof(v)) < 0)
		return 0;
	return strtoull(v, NULL, 10);
}

/* Remove the test cgroups, innermost first.  Safe to call any time. */
static void
cg_cleanup(void)
{
	char p[4600];

	cg_path(p, sizeof(p), "/inner", NULL);
	rmdir(p);
	cg_path(p, sizeof(p), "", NULL);
	rmdir(p);
}

/* Fork a child, move it into cgroup `rel`, let it derive its limit: with
 * mri_limit_cgroup(), or (fresh) by exec'ing this program with
 * MR_PRINT_LIMIT_FD set, so a new process starts the library in the cgroup and
 * reports mr_limit_get(), or (fresh == 2) the limit in force once its heap
 * has grown, with no API call and no scavenger.  Returns 0 and *out, or
 * -1. */
static int
derive_in_how(const char *rel, uint64_t *out, int fresh)
{
	int go[2], res[2], status, rc = -1;
	char p[4600], pidbuf[32], c;
	struct { int rc; uint64_t v; } r;
	pid_t pid;

	if (pipe(go) || pipe(res))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(go[1]);
		close(res[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		if (fresh) {
			char fd[16];

			snprintf(fd, sizeof(fd), "%d", res[1]);
			setenv("MR_PRINT_LIMIT_FD", fd, 1);
			if (fresh == 2) {
				setenv("MR_PRINT_LIMIT_GROW", "1", 1);
				setenv("MEMRECLAIM_SCAVENGER", "0", 1);
				setenv("MEMRECLAIM_DAEMON", "0", 1);
			}
			execl("/proc/self/exe", "check_cgroup_limit",
			      (char *)NULL);
			_exit(127);
		}
		r.rc = mri_limit_cgroup(&r.v);
		_exit(write(res[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(go[0]);
	close(res[1]);
	cg_path(p, sizeof(p), rel, "cgroup.procs");
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	if (write_file(p, pidbuf) == 0 && write(go[1], "x", 1) == 1 &&
	    read(res[0], &r, sizeof(r)) == sizeof(r) && r.rc == 0) {
		*out = r.v;
		rc = 0;
	}
	close(go[1]);		/* a child still waiting exits */
	close(res[0]);
	waitpid(pid, &status, 0);
	return rc;
}

static int
derive_in(const char *rel, uint64_t *out)
{
	return derive_in_how(rel, out, 0);
}

/* MR_PRINT_LIMIT_FD=FD: started in a cgroup, wait (up to the delay plus one
 * second) for the scavenger thread to have read the cgroup's limit, and
 * write {0, mr_limit_get()} to FD. */
static int
print_limit(int fd)
{
	struct { int rc; uint64_t v; } r = { 0, 0 };
	void *p = mr_malloc(64);	/* the allocator is up */
	int i;

	mr_free(p);
	if (getenv("MR_PRINT_LIMIT_GROW")) {
		/* 16 MiB touched, kept: the heap reads the cgroup on its way
		 * (the limit in force is what it holds retained memory to) */
		for (i = 0; i < 16; i++) {
			p = mr_malloc(1 << 20);
			if (!p)
				return 1;
			memset(p, 1, 1 << 20);
		}
		r.v = __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);
		return write(fd, &r, sizeof(r)) == sizeof(r) ? 0 : 1;
	}
	for (i = 0; i < 200 && !(r.v = mr_limit_get()); i++)
		usleep(10000);
	return write(fd, &r, sizeof(r)) == sizeof(r) ? 0 : 1;
}

/* One cgroup with the given limit; the process in it (derive_in_how's
 * `how`) must derive that limit, as the cgroup's file reads it back. */
static void
single_case(uint64_t limit, int how)
{
	uint64_t want, got = 0;
	int made, rc;

	made = cg_make("", limit);
	want = cg_limit("");
	rc = made == 0 ? derive_in_how("", &got, how) : -1;
	cg_cleanup();
	ck_assert_int_eq(made, 0);
	ck_assert_uint_eq(want, limit);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(got, want);
}

/* The whole path: a process started in a limited cgroup runs with that
 * limit, read by the library itself (mr_limit_get is its only call). */
START_TEST(test_cgroup_limit_in_force_at_start)
{
	single_case(160ULL << 20, 1);
}
END_TEST

/* The cgroup is read when the heap first grows, not at start-up: a process
 * in a limited cgroup that allocates 16 MiB, calls no API and runs no
 * scavenger holds its heap to the cgroup's limit, as the kernel's file
 * says it. */
START_TEST(test_cgroup_limit_in_force_once_heap_grows)
{
	single_case(176ULL << 20, 2);
}
END_TEST

START_TEST(test_cgroup_limit_equals_child_cgroup_limit)
{
	single_case(192ULL << 20, 0);
}
END_TEST

/* Outer and inner cgroups with the given limits; a process in the inner
 * one must derive the smaller, as the cgroup files read back say it. */
static void
nested_case(uint64_t outer_limit, uint64_t inner_limit)
{
	uint64_t outer, inner, got = 0;
	int made, rc;

	made = cg_make("", outer_limit);
	if (made == 0)
		made = cg_make("/inner", inner_limit);
	outer = cg_limit("");
	inner = cg_limit("/inner");
	rc = made == 0 ? derive_in("/inner", &got) : -1;
	cg_cleanup();
	ck_assert_int_eq(made, 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(outer, outer_limit);
	ck_assert_uint_eq(inner, inner_limit);
	ck_assert_uint_eq(got, outer < inner ? outer : inner);
}

/* Outer 256 MiB, inner 512 MiB: the process in the inner cgroup is bound
 * by the outer one, and that is the limit it derives. */
START_TEST(test_cgroup_limit_is_smallest_up_the_tree)
{
	nested_case(256ULL << 20, 512ULL << 20);
}
END_TEST

/* The inner cgroup has the smaller limit: that one wins. */
START_TEST(test_cgroup_limit_inner_smaller_wins)
{
	nested_case(512ULL << 20, 128ULL << 20);
}
END_TEST

/* ---- the walk on fake trees (any machine) ---- */

static char fake_root[64];

static void
fake_put(const char *rel, const char *file, const char *value)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s%s", fake_root, rel);
	mkdir(p, 0755);
	if (!file)
		return;
	snprintf(p, sizeof(p), "%s%s/%s", fake_root, rel, file);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, value, strlen(value)),
			 (ssize_t)strlen(value));
	close(fd);
}

static void
fake_setup(void)
{
	strcpy(fake_root, "/tmp/mrcg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fake_root));
}

static void
fake_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake_root);
	(void)!system(cmd);
}

/* v2: memory.high below memory.max, in a parent: the smallest wins. */
START_TEST(test_walk_v2_high_and_max_smallest_up_the_tree)
{
	uint64_t v = 1;

	fake_put("/a", "memory.max", "max\n");
	fake_put("/a", "memory.high", "536870912\n");
	fake_put("/a/b", "memory.max", "1073741824\n");
	fake_put("/a/b", "memory.high", "max\n");
	ck_assert_int_eq(mri_limit_cgroup_walk(fake_root, "/a/b", &v), 0);
	ck_assert_uint_eq(v, 512ULL << 20);
}
END_TEST

/* v1 reports "no limit" as a huge page-rounded number: that is none. */
START_TEST(test_walk_v1_unlimited_means_none)
{
	uint64_t v = 1;

	fake_put("", "memory.limit_in_bytes", "9223372036854771712\n");
	fake_put("/x", "memory.limit_in_bytes", "9223372036854771712\n");
	ck_assert_int_eq(mri_limit_cgroup_walk(fake_root, "/x", &v), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

/* A file that does not parse counts for nothing; the parent's limit
 * still applies; no files at all is -ENOENT. */
START_TEST(test_walk_ignores_garbage_and_reports_missing)
{
	uint64_t v = 1;

	fake_put("", "memory.limit_in_bytes", "268435456\n");
	fake_put("/y", "memory.limit_in_bytes", "lots\n");
	ck_assert_int_eq(mri_limit_cgroup_walk(fake_root, "/y", &v), 0);
	ck_assert_uint_eq(v, 256ULL << 20);
	fake_put("/z", NULL, NULL);
	ck_assert_int_eq(mri_limit_cgroup_walk("/nonexistent-mr", "/z", &v),
			 -ENOENT);
	ck_assert_uint_eq(v, 0);
}
END_TEST

static void
teardown_all(void)
{
	cg_cleanup();
}

/* Runs at exit of the test runner (not of the forked test processes). */
static void
cleanup_at_exit(void)
{
	if (getpid() == runner)
		cg_cleanup();
}

Suite *
test_suite(void)
{
	Suite *s = suite_create("cgroup_limit");
	TCase *tf = tcase_create("fake trees");
	TCase *tc = tcase_create("real cgroups");
	const char *pfd = getenv("MR_PRINT_LIMIT_FD");
	int real = 1;
	char p[4600];

	if (pfd)
		exit(print_limit(atoi(pfd)));
	runner = getpid();
	tcase_add_checked_fixture(tf, fake_setup, fake_teardown);
	tcase_add_test(tf, test_walk_v2_high_and_max_smallest_up_the_tree);
	tcase_add_test(tf, test_walk_v1_unlimited_means_none);
	tcase_add_test(tf, test_walk_ignores_garbage_and_reports_missing);
	suite_add_tcase(s, tf);
	if (find_base() < 0) {
		check_partial("no writable memory cgroup: real tests left out");
		real = 0;
	} else {
		cg_path(p, sizeof(p), "", NULL);
		if (mkdir(p, 0755) < 0) {
			static char why[4700];

			snprintf(why, sizeof(why), "cannot create %s: %s: "
				 "real tests left out", p, strerror(errno));
			check_partial(why);
			real = 0;
		}
		rmdir(p);
	}
	if (real) {
		tcase_add_unchecked_fixture(tc, NULL, teardown_all);
		tcase_add_test(tc,
			       test_cgroup_limit_equals_child_cgroup_limit);
		tcase_add_test(tc, test_cgroup_limit_is_smallest_up_the_tree);
		tcase_add_test(tc, test_cgroup_limit_inner_smaller_wins);
		tcase_add_test(tc, test_cgroup_limit_in_force_at_start);
		tcase_add_test(tc, test_cgroup_limit_in_force_once_heap_grows);
		suite_add_tcase(s, tc);
		atexit(cleanup_at_exit);
	}
	return s;
}
