/*
 * check_faults.c: fail-the-Nth-mmap fault injection through the mri_os
 * seam, in the style of sqlite's and curl's allocation-failure tests.
 *
 * A copy of the real OS table (mri_os_real) whose .map fails on call N is
 * installed before the allocator's first use (the core initialises lazily,
 * on the first allocation).  Then a fixed script of mixed small, large,
 * aligned, calloc'd and realloc'd allocations runs.  Every call must give
 * either a usable pointer or NULL with errno == ENOMEM (posix_memalign:
 * ENOMEM returned); a failed realloc must leave the old block intact.
 * After freeing everything, exactly as much may still count as allocated
 * as in a run without failures (none, normally), and with maps succeeding
 * again the same script must fully succeed.  N runs from 1
 * until the script completes without reaching call N.
 *
 * Two modes: "once" fails only call N (the allocator may retry and
 * succeed); "from" fails call N and every later one (memory stays short, so
 * the NULL paths of every layer run).
 *
 * The core initialises in its library constructor (or earlier, on the
 * first allocation), before main.  So each N runs in a fresh process: the
 * test forks and re-executes this program with MR_FAULT_N and
 * MR_FAULT_MODE set; a constructor of priority 101, which runs before the
 * core's, installs the failing table, so the maps made while the core
 * starts up are counted and failed too.  The child runs the script from
 * main and reports through its exit status and a pipe.  The scavenger and
 * the daemon client are off and chunks are 2 MiB (MEMRECLAIM_SCAVENGER=0,
 * MEMRECLAIM_DAEMON=0, MEMRECLAIM_CHUNK_SIZE=2MiB), so map calls are many
 * and come in the same order in every child.
 */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memreclaim.h"
#include "core/heap.h"
#include "os/os.h"
#include "core_alone.h"
#include "check_main.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

enum { MODE_ONCE, MODE_FROM };

static struct mri_os_ops fault_ops;
static long map_calls;		/* atomic: calls to .map so far */
static long fail_at;		/* 0: never fail */
static int fail_mode;
static long injected;		/* atomic: maps failed on purpose */

static void *
fault_map(size_t len)
{
	long n = __atomic_add_fetch(&map_calls, 1, __ATOMIC_RELAXED);
	long at = __atomic_load_n(&fail_at, __ATOMIC_RELAXED);

	if (at && (n == at || (fail_mode == MODE_FROM && n > at))) {
		__atomic_add_fetch(&injected, 1, __ATOMIC_RELAXED);
		errno = ENOMEM;
		return NULL;
	}
	return mri_os_real.map(len);
}

/* --- the script ---------------------------------------------------- */

enum op { OP_MALLOC, OP_CALLOC, OP_ALIGNED, OP_MEMALIGN, OP_POSIX_MEMALIGN,
	  OP_VALLOC, OP_REALLOC, OP_FREE, OP_GIANT };

struct step {
	enum op op;
	size_t size;
	size_t align;
	int slot;	/* OP_REALLOC / OP_FREE: which earlier object */
};

enum { NSTEPS = 400, NSLOTS = NSTEPS };

static struct step script[NSTEPS];
static int nsteps;

struct live {
	unsigned char *p;
	size_t size;
	int giant;	/* only the ends are written */
};
static struct live objs[NSLOTS];

static void
script_build(void)
{
	uint32_t x = 2463534242u;
	int i;

	for (i = 0; i < NSTEPS - 1; i++) {
		struct step *s = &script[i];
		uint32_t k;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		k = x % 100;
		s->slot = i > 0 ? (int)((x >> 8) % (uint32_t)i) : 0;
		if (k < 30) {
			s->op = OP_MALLOC;
			s->size = 1 + (x >> 12) % 2048;
		} else if (k < 40) {
			s->op = OP_MALLOC;
			s->size = 2048 + (x >> 12) % (30 * KiB);
		} else if (k < 52) {
			s->op = OP_MALLOC;		/* large */
			s->size = 33 * KiB + (x >> 10) % (6 * MiB);
		} else if (k < 58) {
			s->op = OP_CALLOC;
			s->size = 1 + (x >> 12) % (200 * KiB);
		} else if (k < 64) {
			s->op = OP_ALIGNED;
			s->align = (size_t)64 << ((x >> 5) % 15); /* to 1 MiB */
			s->size = s->align * (1 + (x >> 20) % 3);
		} else if (k < 68) {
			s->op = OP_MEMALIGN;
			s->align = (size_t)32 << ((x >> 5) % 12);
			s->size = 1 + (x >> 12) % 100000;
		} else if (k < 72) {
			s->op = OP_POSIX_MEMALIGN;
			s->align = (size_t)16 << ((x >> 5) % 14);
			s->size = 1 + (x >> 12) % 70000;
		} else if (k < 75) {
			s->op = OP_VALLOC;
			s->size = 1 + (x >> 12) % 50000;
		} else if (k < 87) {
			s->op = OP_REALLOC;
			s->size = 1 + (x >> 11) % ((x & 1) ? 3 * MiB : 4096);
		} else {
			s->op = OP_FREE;
		}
	}
	/* Last: bigger than anything mapped so far, so in practice it needs
	 * a new map (with MAP_NORESERVE it costs nothing; only its ends are
	 * touched). */
	script[i].op = OP_GIANT;
	script[i].size = 512 * MiB;
	nsteps = NSTEPS;
}

static unsigned char
pat(int slot, size_t i)
{
	return (unsigned char)(slot * 29 + i * 13 + (i >> 9));
}

static void
obj_fill(int slot, size_t from)
{
	struct live *o = &objs[slot];
	size_t i;

	if (o->giant) {
		for (i = 0; i < 4096; i++) {
			o->p[i] = pat(slot, i);
			o->p[o->size - 4096 + i] = pat(slot, o->size - 4096 + i);
		}
		return;
	}
	for (i = from; i < o->size; i++)
		o->p[i] = pat(slot, i);
}

static int
obj_ok(int slot, size_t n)
{
	struct live *o = &objs[slot];
	size_t i;

	if (o->giant)
		return o->p[0] == pat(slot, 0) &&
		       o->p[o->size - 1] == pat(slot, o->size - 1);
	for (i = 0; i < n; i++)
		if (o->p[i] != pat(slot, i)) {
			fprintf(stderr, "slot %d: byte %zu of %zu corrupted\n",
				slot, i, o->size);
			return 0;
		}
	return 1;
}

static int
aligned(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

/*
 * Run the script.  Returns the number of violations (printed on stderr);
 * *nulls counts calls that returned NULL/ENOMEM.  With must_succeed, any
 * NULL is a violation.
 */
static int
script_run(int must_succeed, int *nulls, int *giant_null)
{
	int i, bad = 0;

	*nulls = 0;
	*giant_null = 0;
	memset(objs, 0, sizeof(objs));
	for (i = 0; i < nsteps; i++) {
		const struct step *s = &script[i];
		struct live *o = &objs[i];
		void *p = NULL;
		size_t want_align = 16;
		int r = 0, err;

		errno = 0;
		switch (s->op) {
		case OP_MALLOC:
			p = mr_malloc(s->size);
			break;
		case OP_GIANT:
			p = mr_malloc(s->size);
			break;
		case OP_CALLOC:
			p = mr_calloc(s->size, 1);
			break;
		case OP_ALIGNED:
			p = mr_aligned_alloc(s->align, s->size);
			want_align = s->align;
			break;
		case OP_MEMALIGN:
			p = mr_memalign(s->align, s->size);
			want_align = s->align;
			break;
		case OP_POSIX_MEMALIGN:
			r = mr_posix_memalign(&p, s->align, s->size);
			if (r != 0) {
				if (r != ENOMEM) {
					fprintf(stderr, "step %d: posix_memalign "
						"returned %d, not ENOMEM\n", i, r);
					bad++;
				}
				p = NULL;
				errno = ENOMEM;
			}
			want_align = s->align;
			break;
		case OP_VALLOC:
			p = mr_valloc(s->size);
			want_align = 4096;
			break;
		case OP_REALLOC: {
			struct live *old = &objs[s->slot];
			size_t keep;

			if (!old->p || old->giant)
				continue;
			keep = old->size < s->size ? old->size : s->size;
			p = mr_realloc(old->p, s->size);
			if (!p) {
				err = errno;
				(*nulls)++;
				if (err != ENOMEM || must_succeed) {
					fprintf(stderr, "step %d: realloc(%zu) "
						"NULL, errno %d\n", i, s->size,
						err);
					bad++;
				}
				/* The old block must be untouched. */
				if (!obj_ok(s->slot, old->size))
					bad++;
				continue;
			}
			old->p = p;
			if (!aligned(p, 16)) {
				fprintf(stderr, "step %d: realloc misaligned\n", i);
				bad++;
			}
			if (!obj_ok(s->slot, keep)) {
				fprintf(stderr, "step %d: realloc lost data\n", i);
				bad++;
			}
			old->size = s->size;
			obj_fill(s->slot, keep);
			continue;
		}
		case OP_FREE: {
			struct live *old = &objs[s->slot];

			if (!old->p)
				continue;
			if (!obj_ok(s->slot, old->size))
				bad++;
			mr_free(old->p);
			old->p = NULL;
			continue;
		}
		}
		if (!p) {
			err = errno;
			(*nulls)++;
			if (s->op == OP_GIANT)
				*giant_null = 1;
			if (err != ENOMEM || must_succeed) {
				fprintf(stderr, "step %d: op %d size %zu align "
					"%zu: NULL with errno %d%s\n", i, s->op,
					s->size, s->align, err, must_succeed ?
					" while maps succeed" : "");
				bad++;
			}
			continue;
		}
		if (!aligned(p, want_align) || !aligned(p, 16)) {
			fprintf(stderr, "step %d: %p not aligned to %zu\n", i,
				p, want_align);
			bad++;
		}
		if (s->op == OP_CALLOC) {
			size_t j;

			for (j = 0; j < s->size; j++)
				if (((unsigned char *)p)[j]) {
					fprintf(stderr, "step %d: calloc byte "
						"%zu not zero\n", i, j);
					bad++;
					break;
				}
		}
		o->p = p;
		o->size = s->size;
		o->giant = s->op == OP_GIANT;
		obj_fill(i, 0);
	}
	/* Verify and free what is left. */
	for (i = 0; i < nsteps; i++) {
		if (!objs[i].p)
			continue;
		if (!obj_ok(i, objs[i].size)) {
			fprintf(stderr, "slot %d corrupted at the end\n", i);
			bad++;
		}
		mr_free(objs[i].p);
		objs[i].p = NULL;
	}
	return bad;
}

static uint64_t
allocated_now(void)
{
	struct mri_heap_counters hc;

	mri_heap_counters(&hc);
	return hc.allocated_bytes;
}

/* The child writes its leak figure (bytes still allocated after freeing
 * everything) to this fd, a pipe to the parent. */
static int result_fd = -1;

static void
report_allocated(uint64_t v)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)v);

	if (result_fd >= 0)
		(void)!write(result_fd, buf, (size_t)len);
}

/* Exit codes of one child. */
enum { CHILD_INJECTED = 0, CHILD_FAILED = 1, CHILD_NOT_REACHED = 3,
       CHILD_INJECTED_NULL = 4 };

/*
 * In a re-executed child, before the core's constructor: put the failing
 * table in force.  getenv/strtol are fine here: this program's own malloc
 * is glibc's (the core is linked statically and overrides nothing).
 */
__attribute__((constructor(101))) static void
fault_ctor(void)
{
	const char *n = getenv("MR_FAULT_N"), *m = getenv("MR_FAULT_MODE");

	if (!n || !m)
		return;
	alarm(120);	/* a hang (retrying a failed map forever) fails */
	fault_ops = mri_os_real;
	fault_ops.map = fault_map;
	mri_os_set(&fault_ops);
	fail_mode = !strcmp(m, "from") ? MODE_FROM : MODE_ONCE;
	__atomic_store_n(&fail_at, strtol(n, NULL, 10), __ATOMIC_RELAXED);
	if (getenv("MR_FAULT_FD"))
		result_fd = (int)strtol(getenv("MR_FAULT_FD"), NULL, 10);
}

/* main of a re-executed child: the script with failures, then without. */
static int
child_run(long n)
{
	int bad, nulls, giant_null, nulls2, giant2;
	uint64_t before, after;

	script_build();
	bad = script_run(0, &nulls, &giant_null);
	/* Everything is freed: what still counts as allocated is compared by
	 * the parent with a run that had no failure (a leak on a failure path
	 * shows here). */
	report_allocated(allocated_now());
	if (injected == 0 && nulls != 0) {
		fprintf(stderr, "N=%ld: %d NULLs without any failed map\n", n,
			nulls);
		bad++;
	}

	/* Maps succeed again: the allocator recovers fully. */
	__atomic_store_n(&fail_at, 0, __ATOMIC_RELAXED);
	before = allocated_now();
	bad += script_run(1, &nulls2, &giant2);
	after = allocated_now();
	if (after != before) {
		fprintf(stderr, "N=%ld: allocated_bytes %llu before the clean "
			"run, %llu after freeing everything\n", n,
			(unsigned long long)before, (unsigned long long)after);
		bad++;
	}
	if (bad)
		return CHILD_FAILED;
	if (!injected)
		return CHILD_NOT_REACHED;
	return nulls ? CHILD_INJECTED_NULL : CHILD_INJECTED;
}

/* main of a re-executed child with every map failing from the first: the
 * core could not start; allocations fail cleanly, then work once maps
 * succeed again.  Returns 0 or the number of the step that went wrong. */
static int
child_first_use(void)
{
	void *p;

	errno = 0;
	p = mr_malloc(16);
	if (p || errno != ENOMEM)
		return 10;
	errno = 0;
	p = mr_calloc(100, 100);
	if (p || errno != ENOMEM)
		return 11;
	if (mr_posix_memalign(&p, 64, 100) != ENOMEM)
		return 12;
	errno = 0;
	p = mr_malloc(10 * MiB);
	if (p || errno != ENOMEM)
		return 13;
	__atomic_store_n(&fail_at, 0, __ATOMIC_RELAXED);
	p = mr_malloc(16);
	if (!p)
		return 14;
	memset(p, 1, 16);
	mr_free(p);
	p = mr_malloc(10 * MiB);
	if (!p)
		return 15;
	memset(p, 1, 10 * MiB);
	mr_free(p);
	return 0;
}

static char self_path[4096];

struct spawn_args {
	long n;
	int mode;
	const char *scenario;
};

/* In the forked child (check_child): re-execute this program for the
 * run, its result fd the pipe to the parent. */
static int
spawn_exec(void *arg, int fd)
{
	const struct spawn_args *a = arg;
	char nbuf[32], fdbuf[16];

	snprintf(nbuf, sizeof(nbuf), "%ld", a->n);
	snprintf(fdbuf, sizeof(fdbuf), "%d", fd);
	setenv("MR_FAULT_N", nbuf, 1);
	setenv("MR_FAULT_MODE", a->mode == MODE_FROM ? "from" : "once", 1);
	setenv("MR_FAULT_FD", fdbuf, 1);
	setenv("MR_FAULT_SCENARIO", a->scenario, 1);
	setenv("MEMRECLAIM_SCAVENGER", "0", 1);
	setenv("MEMRECLAIM_DAEMON", "0", 1);
	setenv("MEMRECLAIM_CHUNK_SIZE", "2MiB", 1);
	execl(self_path, self_path, (char *)NULL);
	return 127;
}

/* Fork and re-execute this program as a child for N and mode; returns the
 * wait status and, through *allocated, what the child reported
 * (UINT64_MAX when it reported nothing). */
static int
spawn(long n, int mode, const char *scenario, uint64_t *allocated)
{
	struct spawn_args a = {n, mode, scenario};
	char out[32], *end;
	int status = check_child(spawn_exec, &a, 0, out, sizeof(out));

	*allocated = strtoull(out, &end, 10);
	if (end == out)
		*allocated = UINT64_MAX;
	return status;
}

/* Walk N = 1.. until the script no longer reaches map call N. */
static void
walk(int mode)
{
	long n;
	int failures = 0, first_bad = 0, injected_runs = 0, null_runs = 0;
	char first_msg[160] = "";
	uint64_t reference, allocated;
	int status;

	/* N = 0: no failure at all; the reference for the leak check. */
	status = spawn(0, mode, "script", &reference);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_NOT_REACHED,
		      "the script fails with no fault injected (status %#x)",
		      status);
	/* without it the leak check below would compare nothing */
	ck_assert_msg(reference != UINT64_MAX,
		      "the child reported no leak figure");
	for (n = 1; n <= 5000; n++) {
		status = spawn(n, mode, "script", &allocated);
		if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_NOT_REACHED)
			break;
		if (WIFEXITED(status) && (WEXITSTATUS(status) == CHILD_INJECTED ||
					  WEXITSTATUS(status) == CHILD_INJECTED_NULL) &&
		    allocated != reference) {
			fprintf(stderr, "N=%ld: %llu bytes still allocated after "
				"freeing everything, %llu without failures\n", n,
				(unsigned long long)allocated,
				(unsigned long long)reference);
			status = CHILD_FAILED << 8;
		}
		if (WIFEXITED(status) && (WEXITSTATUS(status) == CHILD_INJECTED ||
					  WEXITSTATUS(status) == CHILD_INJECTED_NULL)) {
			injected_runs++;
			null_runs += WEXITSTATUS(status) == CHILD_INJECTED_NULL;
			continue;
		}
		if (!failures++) {
			first_bad = (int)n;
			if (WIFSIGNALED(status))
				snprintf(first_msg, sizeof(first_msg),
					 "killed by signal %d (%s)",
					 WTERMSIG(status),
					 strsignal(WTERMSIG(status)));
			else
				snprintf(first_msg, sizeof(first_msg),
					 "exit status %d", WEXITSTATUS(status));
		}
	}
	printf("mode %s: N = 1..%ld, %d runs hit an injected failure, %d of "
	       "them saw NULL + ENOMEM\n", mode == MODE_ONCE ? "once" : "from",
	       n, injected_runs, null_runs);
	fflush(stdout);
	ck_assert_msg(n <= 5000, "the script never stopped reaching map call N");
	ck_assert_msg(injected_runs > 0, "no map call was ever made");
	/* With every map failing from N on, some call must have seen NULL:
	 * otherwise the injection never reached the allocator. */
	if (mode == MODE_FROM)
		ck_assert_msg(null_runs > 0, "no allocation ever failed");
	ck_assert_msg(failures == 0, "mode %s: %d of %ld values of N failed; "
		      "first N=%d: %s (details above on stderr)",
		      mode == MODE_ONCE ? "once" : "from", failures, n - 1,
		      first_bad, first_msg);
}

START_TEST(test_fail_nth_map_once)
{
	walk(MODE_ONCE);
}
END_TEST

START_TEST(test_fail_every_map_from_nth)
{
	walk(MODE_FROM);
}
END_TEST

/* No map ever succeeds: the very first allocation (which initialises the
 * allocator) fails cleanly, and the next one after maps recover works. */
START_TEST(test_first_use_without_memory)
{
	uint64_t unused;
	int status = spawn(1, MODE_FROM, "first-use", &unused);

	ck_assert_msg(WIFEXITED(status), "child killed by signal %d",
		      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ck_assert_msg(WEXITSTATUS(status) == 0, "child step %d failed "
		      "(10-13: no NULL+ENOMEM without memory, 14-15: no "
		      "recovery)", WEXITSTATUS(status));
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("fail_nth_map");
	const char *scenario = getenv("MR_FAULT_SCENARIO");
	ssize_t len;

	core_alone();
	/* Re-executed by a test: run one scenario and exit with its result. */
	if (scenario && getenv("MR_FAULT_N")) {
		if (!strcmp(scenario, "first-use"))
			exit(child_first_use());
		exit(child_run(strtol(getenv("MR_FAULT_N"), NULL, 10)));
	}
	len = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (len <= 0) {
		perror("readlink /proc/self/exe");
		exit(EXIT_FAILURE);
	}
	self_path[len] = '\0';
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, test_first_use_without_memory);
	tcase_add_test(tc, test_fail_nth_map_once);
	tcase_add_test(tc, test_fail_every_map_from_nth);
	suite_add_tcase(s, tc);
	return s;
}
