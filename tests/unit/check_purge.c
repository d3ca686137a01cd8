/*
 * check_purge.c: the purge backends against the real kernel.
 *
 * Each test maps anonymous memory, touches it, flushes it through a purge
 * batch and checks what a user cares about: RSS (from smaps_rollup) went
 * down and the data is gone, the backend the stats name, and that a
 * backend made unavailable (seccomp) falls back without losing a range.
 * Tests exit 77 when the kernel lacks the feature they force.
 */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memreclaim.h"
#include "os/options.h"
#include "os/os.h"
#include "os/purge.h"
#include "release_probe.h"
#include "core_alone.h"
#include "check_main.h"

#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)

static uint64_t
rss_now(void)
{
	uint64_t rss, huge;

	ck_assert_int_eq(mri_os_rss(&rss, &huge), 0);
	return rss;
}

static char *
map_touched(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	ck_assert_ptr_ne(p, MAP_FAILED);
	/* No THP here, so RSS drops page by page whatever the mode. */
	madvise(p, len, MADV_NOHUGEPAGE);
	for (i = 0; i < len; i += 4096)
		p[i] = (char)(1 + i / 4096 % 100);
	return p;
}

static struct mr_stats
purge_stats(void)
{
	struct mr_stats st;

	memset(&st, 0, sizeof(st));
	mri_purge_stats(&st);
	return st;
}

/* Flush 64 MiB in 32 ranges through the forced backend; RSS must fall by
 * nearly all of it, the pages must read back as zero, and the stats must
 * name the backend. */
static void
purge_releases_through(const char *choice, enum mr_purge_backend want)
{
	struct mri_purge_batch b;
	size_t len = 64 * MiB, i, done;
	char *p;
	uint64_t before, after;
	struct mr_stats st;

	mri_options_init();
	ck_assert_int_eq(mr_option_set("purge", choice), 0);
	p = map_touched(len);
	before = rss_now();
	mri_purge_batch_init(&b, MADV_DONTNEED);
	for (i = 0; i < 32; i++)
		mri_purge_add(&b, p + i * 2 * MiB, 2 * MiB);
	done = mri_purge_flush(&b);
	after = rss_now();
	ck_assert_uint_eq(done, len);
	for (i = 0; i < 32; i++)
		ck_assert_int_eq(b.r[i].err, 0);
	ck_assert_msg(before - after >= len - 4 * MiB,
		      "RSS fell only %llu KiB of %zu KiB",
		      (unsigned long long)(before - after) / 1024, len / 1024);
	for (i = 0; i < len; i += 4096)
		ck_assert_int_eq(p[i], 0);
	st = purge_stats();
	ck_assert_uint_eq(st.purge_backend, want);
	ck_assert_uint_eq(st.purge_fallbacks, 0);
	ck_assert_uint_ge(st.purge_batches, 1);
	ck_assert_uint_ge(st.purge_bytes, len);
	ck_assert_uint_ge(st.purge_ranges, 32);
	munmap(p, len);
}

START_TEST(test_purge_uring_releases_rss)
{
	purge_releases_through("uring", MR_PURGE_URING);
}
END_TEST

START_TEST(test_purge_process_madvise_releases_rss)
{
	purge_releases_through("process_madvise", MR_PURGE_PROCESS_MADVISE);
}
END_TEST

START_TEST(test_purge_madvise_releases_rss)
{
	purge_releases_through("madvise", MR_PURGE_MADVISE);
}
END_TEST

/* A 5 GiB range.  io_uring's length is 32 bits, and process_madvise stops
 * at MAX_RW_COUNT (about 2 GiB) per call: a page past 4 GiB is released
 * only if the range was cut into pieces or resumed. */
static void
purge_huge_range(const char *choice, enum mr_purge_backend want)
{
	size_t len = 5 * GiB, far = 4 * GiB + 512 * MiB;
	struct mri_purge_batch b;
	char *p;

	mri_options_init();
	ck_assert_int_eq(mr_option_set("purge", choice), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	p[0] = 1;
	p[4 * GiB - 4096] = 2;
	p[far] = 3;
	p[len - 1] = 4;
	mri_purge_batch_init(&b, MADV_DONTNEED);
	mri_purge_add(&b, p, len);
	ck_assert_uint_eq(mri_purge_flush(&b), len);
	ck_assert_int_eq(b.r[0].err, 0);
	ck_assert_int_eq(p[0], 0);
	ck_assert_int_eq(p[4 * GiB - 4096], 0);
	ck_assert_int_eq(p[far], 0);
	ck_assert_int_eq(p[len - 1], 0);
	ck_assert_uint_eq(purge_stats().purge_backend, want);
	munmap(p, len);
}

START_TEST(test_purge_uring_range_over_4gib)
{
	purge_huge_range("uring", MR_PURGE_URING);
}
END_TEST

START_TEST(test_purge_process_madvise_range_over_4gib)
{
	purge_huge_range("process_madvise", MR_PURGE_PROCESS_MADVISE);
}
END_TEST

/* A range no backend can advise (misaligned) gets its error, the good
 * ranges in the same batch are released, and no backend is switched off:
 * the fault is the range's. */
START_TEST(test_purge_bad_range_switches_nothing_off)
{
	struct mri_purge_batch b;
	char *p;
	struct mr_stats st;

	mri_options_init();
	p = map_touched(8 * MiB);
	mri_purge_batch_init(&b, MADV_DONTNEED);
	mri_purge_add(&b, p, 4 * MiB);
	mri_purge_add(&b, p + 4 * MiB + 1, 4096);	/* misaligned */
	mri_purge_add(&b, p + 6 * MiB, 2 * MiB);
	ck_assert_uint_eq(mri_purge_flush(&b), 6 * MiB);
	ck_assert_int_eq(b.r[0].err, 0);
	ck_assert_int_eq(b.r[1].err, -EINVAL);
	ck_assert_int_eq(b.r[2].err, 0);
	ck_assert_int_eq(p[0], 0);
	ck_assert_int_eq(p[7 * MiB], 0);
	ck_assert_int_ne(p[5 * MiB], 0);	/* untouched by the purge */
	st = purge_stats();
	ck_assert_uint_eq(st.purge_fallbacks, 0);
	/* The misaligned range was handed on twice (uring ->
	 * process_madvise -> madvise). */
	ck_assert_uint_ge(st.purge_errors, 1);
	/* The ring still serves the next batch. */
	mri_purge_batch_init(&b, MADV_DONTNEED);
	mri_purge_add(&b, p + 4 * MiB, 2 * MiB);
	ck_assert_uint_eq(mri_purge_flush(&b), 2 * MiB);
	ck_assert_uint_eq(purge_stats().purge_backend, MR_PURGE_URING);
	munmap(p, 8 * MiB);
}
END_TEST

/* Install a seccomp filter failing the given syscalls with EPERM, then
 * flush 32 MiB with the automatic choice.  Runs in a forked child (the
 * filter cannot be removed); the child exits with a code the parent
 * checks: 0 all good, 77 skip, else the failed step. */
static int
purge_under_seccomp(const int *sys, int nsys, enum mr_purge_backend want,
		    unsigned want_fallbacks)
{
	struct mri_purge_batch b;
	struct mr_stats st;
	scmp_filter_ctx ctx;
	uint64_t before, after;
	size_t len = 32 * MiB, i;
	char *p;
	int k;

	mri_options_init();
	if (mr_option_set("purge", "auto") != 0)
		return 10;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return 77;
	for (k = 0; k < nsys; k++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), sys[k], 0))
			return 77;
	if (seccomp_load(ctx) != 0)
		return 77;
	seccomp_release(ctx);
	if (probe_uring())
		return 11;	/* the filter did not take */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 7, len);
	before = rss_now();
	mri_purge_batch_init(&b, MADV_DONTNEED);
	for (i = 0; i < 16; i++)
		mri_purge_add(&b, p + i * 2 * MiB, 2 * MiB);
	if (mri_purge_flush(&b) != len)
		return 12;
	after = rss_now();
	if (before - after < len - 4 * MiB)
		return 13;
	for (i = 0; i < len; i += 4096)
		if (p[i])
			return 14;
	st = purge_stats();
	if (st.purge_backend != (uint32_t)want)
		return 15;
	if (st.purge_fallbacks != want_fallbacks)
		return 16;
	/* A second batch goes straight to the working backend. */
	memset(p, 7, 4 * MiB);
	mri_purge_batch_init(&b, MADV_DONTNEED);
	mri_purge_add(&b, p, 4 * MiB);
	if (mri_purge_flush(&b) != 4 * MiB || p[0] != 0)
		return 17;
	st = purge_stats();
	if (st.purge_fallbacks != want_fallbacks ||
	    st.purge_backend != (uint32_t)want)
		return 18;
	return 0;
}

static void
run_in_child(const int *sys, int nsys, enum mr_purge_backend want,
	     unsigned want_fallbacks)
{
	int status;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(purge_under_seccomp(sys, nsys, want, want_fallbacks));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) != 77, "seccomp filter refused");
	ck_assert_msg(WEXITSTATUS(status) == 0, "child failed at step %d",
		      WEXITSTATUS(status));
}

START_TEST(test_purge_falls_back_when_seccomp_blocks_uring)
{
	int sys[] = { SCMP_SYS(io_uring_setup) };

	run_in_child(sys, 1, MR_PURGE_PROCESS_MADVISE, 1);
}
END_TEST

START_TEST(test_purge_falls_back_to_madvise_when_both_blocked)
{
	int sys[] = { SCMP_SYS(io_uring_setup), SCMP_SYS(process_madvise) };

	run_in_child(sys, 2, MR_PURGE_MADVISE, 2);
}
END_TEST

/*
 * After fork the child must not use the parent's ring: the ring's work runs
 * in the parent's address space.  The parent keeps a pattern in a buffer;
 * the child purges the same addresses (its copy) through io_uring; the
 * parent's pattern must survive and the child's copy must be zero.
 */
START_TEST(test_purge_fork_child_makes_own_ring)
{
	struct mri_purge_batch b;
	size_t len = 8 * MiB, i;
	int status;
	char *p;
	pid_t pid;

	mri_options_init();
	ck_assert_int_eq(mr_option_set("purge", "uring"), 0);
	p = map_touched(len);
	/* Parent sets up its ring with a first batch elsewhere. */
	{
		char *q = map_touched(2 * MiB);
		mri_purge_batch_init(&b, MADV_DONTNEED);
		mri_purge_add(&b, q, 2 * MiB);
		ck_assert_uint_eq(mri_purge_flush(&b), 2 * MiB);
		ck_assert_uint_eq(purge_stats().purge_backend, MR_PURGE_URING);
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		mri_purge_atfork_child();
		mri_purge_batch_init(&b, MADV_DONTNEED);
		mri_purge_add(&b, p, len);
		if (mri_purge_flush(&b) != len)
			_exit(1);
		for (i = 0; i < len; i += 4096)
			if (p[i] != 0)
				_exit(2);
		_exit(purge_stats().purge_backend == MR_PURGE_URING ? 0 : 3);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	for (i = 0; i < len; i += 4096)
		ck_assert_int_eq(p[i], (char)(1 + i / 4096 % 100));
	munmap(p, len);
}
END_TEST

/* MADV_FREE through each backend: the call succeeds and is counted; the
 * pages stay readable (zero or old content) and may be reused at once. */
START_TEST(test_purge_madv_free_through_uring)
{
	struct mri_purge_batch b;
	char *p;

	mri_options_init();
	ck_assert_int_eq(mr_option_set("purge", "uring"), 0);
	p = map_touched(4 * MiB);
	mri_purge_batch_init(&b, MADV_FREE);
	mri_purge_add(&b, p, 4 * MiB);
	ck_assert_uint_eq(mri_purge_flush(&b), 4 * MiB);
	ck_assert_int_eq(b.r[0].err, 0);
	ck_assert_uint_eq(purge_stats().purge_backend, MR_PURGE_URING);
	p[0] = 5;	/* reuse after MADV_FREE is legal */
	ck_assert_int_eq(p[0], 5);
	munmap(p, 4 * MiB);
}
END_TEST

/* Tests that need a kernel feature are added only when it is here; when
 * one is left out the program exits 77 (skipped) after running the rest. */
Suite *
test_suite(void)
{
	Suite *s = suite_create("purge");
	TCase *tc = tcase_create("real kernel");
	int uring = probe_uring(), pmadv = probe_process_madvise_self();

	core_alone();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_purge_madvise_releases_rss);
	tcase_add_test(tc, test_purge_falls_back_to_madvise_when_both_blocked);
	if (uring) {
		tcase_add_test(tc, test_purge_uring_releases_rss);
		tcase_add_test(tc, test_purge_uring_range_over_4gib);
		tcase_add_test(tc, test_purge_bad_range_switches_nothing_off);
		tcase_add_test(tc, test_purge_fork_child_makes_own_ring);
		tcase_add_test(tc, test_purge_madv_free_through_uring);
	} else {
		check_partial("io_uring unavailable: uring tests left out");
	}
	if (uring && pmadv) {
		tcase_add_test(tc, test_purge_process_madvise_releases_rss);
		tcase_add_test(tc, test_purge_process_madvise_range_over_4gib);
		tcase_add_test(tc,
			       test_purge_falls_back_when_seccomp_blocks_uring);
	} else {
		check_partial("process_madvise(MADV_DONTNEED) on self needs "
			      "Linux 6.13+: its tests left out");
	}
	suite_add_tcase(s, tc);
	return s;
}

