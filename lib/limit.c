/*
 * limit.c: the soft memory limit, like Go's GOMEMLIMIT (see limit.h).
 *
 * Sources, strongest first: mr_limit_set() (the program, or memreclaimd's
 * LIMIT frame through the client), the "limit" option (MEMRECLAIM_LIMIT or
 * mr_option_set; whichever of these two was set last wins), and by default
 * the process's cgroup, read once at start through libcgroup.  The limit in
 * force is published in mri_heap_soft_limit, which the heap reads before it
 * hands out pages; 0 means none.
 *
 * What the limit means: retained heap memory (mapped - released - lazily
 * freed) should stay at or below it.  The scavenger aims at
 * limit_goal_percent (95%) of it in the background; when an allocation
 * would push retained memory past the limit, the allocating thread releases
 * synchronously down to that goal (mri_limit_exceeded), splitting
 * hugepages and draining transfer caches if it must.  With limit_hard, an
 * allocation that would still leave retained memory more than the hard
 * margin (1/16 of the limit) above it fails with ENOMEM.  Worked example:
 * limit 1 GiB, goal 972.8 MiB, margin 64 MiB: with 1000 MiB retained a
 * 40 MiB allocation first releases down to 972.8 - 40 = 932.8 MiB; if only
 * 10 MiB could be released it still proceeds (1030 MiB < 1088 MiB), unless
 * it were 100 MiB (1090 MiB > 1088 MiB): then ENOMEM with limit_hard.
 *
 * The cgroup limit is the smallest of v1 memory.limit_in_bytes and v2
 * memory.max / memory.high from our cgroup up to the root of the memory
 * hierarchy; libcgroup tells us where that hierarchy is mounted and which
 * cgroup we are in.  libcgroup allocates, so it runs only from
 * mri_limit_init (no lock held, allocator ready), never inside malloc.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "heap.h"
#include "limit.h"
#include "options.h"
#include "release.h"
#include "scavenger.h"

/* The heap reads this before handing out pages; 0 = no limit. */
uint64_t mri_heap_soft_limit;

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages (0x7ffffffffffff000 on
 * x86-64); anything this large is no limit. */
#define LIMIT_UNLIMITED_FLOOR (1ULL << 62)

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
/* Under limit_lock. */
static struct {
	uint64_t cgroup;	/* derived at init, 0 = none */
	int cgroup_read;	/* mri_limit_init has run */
	int api_set;		/* mr_limit_set called after the option */
	uint64_t api;		/* its value (0 = none) */
	int64_t opt_seen;	/* "limit" option value last seen */
} limit = { .opt_seen = -1 };

/* Guards against re-entry: a release inside mri_limit_exceeded must not
 * call it again on the same thread. */
static __thread int limit_busy;

/* Read a cgroup file holding one number or "max".  Returns 0 and sets *v
 * (0 for "max" or unlimited), or -errno (-ENOENT: no such file here). */
static int
limit_read_file(const char *dir, const char *name, uint64_t *v)
{
	char path[4096], buf[64];
	size_t dl = strlen(dir), nl = strlen(name);
	uint64_t x = 0;
	ssize_t n;
	int fd, i, digits = 0;

	if (dl + nl + 2 > sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, dl);
	path[dl] = '/';
	memcpy(path + dl + 1, name, nl + 1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	if (!strncmp(buf, "max", 3)) {
		*v = 0;
		return 0;
	}
	for (i = 0; buf[i] >= '0' && buf[i] <= '9'; i++, digits++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(buf[i] - '0');
	}
	if (!digits)
		return -EINVAL;
	*v = x >= LIMIT_UNLIMITED_FLOOR ? 0 : x;
	return 0;
}

/* Smallest non-zero of a and b (0 = none). */
static uint64_t
limit_min(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

/* Our cgroup v2 path from /proc/self/cgroup's "0::" line, for libcgroup
 * versions that do not report it for the memory controller. */
static int
limit_v2_path(char *out, size_t len)
{
	char buf[4096];
	ssize_t n;
	char *p;
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, "0::", 3)) {
			char *e = strchr(p, '\n');
			size_t l = e ? (size_t)(e - p - 3) : strlen(p + 3);
			if (l + 1 > len)
				return -ENAMETOOLONG;
			memcpy(out, p + 3, l);
			out[l] = '\0';
			return 0;
		}
	}
	return -ENOENT;
}

int
mri_limit_cgroup(uint64_t *bytes)
{
	char *mnt = NULL, *cg = NULL, dir[4096], v2path[2048];
	const char *rel;
	uint64_t best = 0;
	size_t ml, rl;
	int rc, found = 0;

	*bytes = 0;
	if (cgroup_init() != 0)
		return -ENOENT;
	if (cgroup_get_subsys_mount_point("memory", &mnt) != 0 || !mnt)
		return -ENOENT;
	if (cgroup_get_current_controller_path(getpid(), "memory", &cg) == 0
	    && cg) {
		rel = cg;
	} else if (limit_v2_path(v2path, sizeof(v2path)) == 0) {
		rel = v2path;
	} else {
		free(mnt);
		return -ENOENT;
	}
	ml = strlen(mnt);
	rl = strlen(rel);
	if (ml + rl + 1 > sizeof(dir)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	memcpy(dir, mnt, ml);
	memcpy(dir + ml, rel, rl + 1);
	/* Walk from our cgroup up to the mount point, inclusive. */
	for (;;) {
		static const char *const files[] = {
			"memory.limit_in_bytes", "memory.max", "memory.high",
		};
		size_t i, l;

		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			uint64_t v = 0;
			if (limit_read_file(dir, files[i], &v) == 0) {
				found = 1;
				best = limit_min(best, v);
			}
		}
		l = strlen(dir);
		while (l > ml && dir[l - 1] == '/')
			dir[--l] = '\0';
		if (l <= ml)
			break;
		while (l > ml && dir[l - 1] != '/')
			l--;
		dir[l > ml ? l - 1 : ml] = '\0';
	}
	*bytes = best;
	rc = found ? 0 : -ENOENT;
out:
	free(mnt);
	free(cg);
	return rc;
}

/* The limit in force from the current sources.  Under limit_lock. */
static uint64_t
limit_compute(void)
{
	int64_t opt = mri_opt(MRI_OPT_LIMIT);

	if (opt != limit.opt_seen) {
		/* The option changed (or is read for the first time): it is
		 * now newer than any mr_limit_set. */
		limit.opt_seen = opt;
		limit.api_set = 0;
	}
	if (limit.api_set)
		return limit.api;
	if (opt > 0)
		return (uint64_t)opt;
	return limit.cgroup;
}

void
mri_limit_sync(void)
{
	pthread_mutex_lock(&limit_lock);
	__atomic_store_n(&mri_heap_soft_limit, limit_compute(),
			 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&limit_lock);
}

void
mri_limit_init(void)
{
	uint64_t cg = 0;
	int have;

	mri_options_init();
	pthread_mutex_lock(&limit_lock);
	have = limit.cgroup_read;
	limit.cgroup_read = 1;
	pthread_mutex_unlock(&limit_lock);
	/* libcgroup runs outside the lock: it allocates. */
	if (!have && mri_limit_cgroup(&cg) == 0) {
		pthread_mutex_lock(&limit_lock);
		limit.cgroup = cg;
		pthread_mutex_unlock(&limit_lock);
	}
	mri_limit_sync();
}

uint64_t
mri_limit_goal(void)
{
	uint64_t lim = __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);
	int64_t pct = mri_opt(MRI_OPT_LIMIT_GOAL_PERCENT);

	if (pct <= 0 || pct > 100)
		pct = 100;
	return lim / 100 * (uint64_t)pct + lim % 100 * (uint64_t)pct / 100;
}

int
mri_limit_exceeded(size_t n)
{
	uint64_t lim = __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);
	uint64_t goal, retained, need, got;
	int rc = 0;

	if (!lim || limit_busy)
		return 0;
	limit_busy = 1;
	goal = mri_limit_goal();
	retained = mri_heap_retained();
	if (retained + n > goal) {
		need = retained + n - goal;
		/* Whole free hugepages first; split only if that was not
		 * enough.  No age rule: the limit wins over the delay. */
		got = mri_heap_release(need, MADV_DONTNEED, MRI_RELEASE_DRAIN,
				       0);
		if (got < need)
			got += mri_heap_release(need - got, MADV_DONTNEED,
						MRI_RELEASE_SPLIT |
						MRI_RELEASE_DRAIN, 0);
		mri_release_add(sync_releases, 1);
		mri_release_add(sync_bytes, got);
		retained = mri_heap_retained();
	}
	if (mri_opt(MRI_OPT_LIMIT_HARD) && retained + n > lim + lim / 16) {
		mri_release_add(hard_enomem, 1);
		rc = -ENOMEM;
	}
	limit_busy = 0;
	return rc;
}

MR_API int
mr_limit_set(size_t bytes)
{
	mri_options_init();
	pthread_mutex_lock(&limit_lock);
	(void)limit_compute();	/* take in an option change first */
	limit.api_set = 1;
	limit.api = bytes;
	pthread_mutex_unlock(&limit_lock);
	mri_limit_sync();
	/* The scavenger recomputes its goal against the new limit. */
	mri_scavenger_wake();
	return 0;
}

MR_API size_t
mr_limit_get(void)
{
	mri_options_init();
	mri_limit_sync();
	return (size_t)__atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);
}
