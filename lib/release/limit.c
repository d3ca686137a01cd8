/*
 * limit.c: the soft memory limit, like Go's GOMEMLIMIT (see limit.h).
 *
 * Sources, strongest first: mr_limit_set() (the program, or memreclaimd's
 * LIMIT frame through the client), the "limit" option (MEMRECLAIM_LIMIT or
 * mr_option_set; whichever of these two was set last wins), and by default
 * the process's cgroup, read once at start (cgroup_limit.c).  The limit in
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
 * The cgroup limit is read by os/cgroup_limit.c, once, at start-up from
 * mri_limit_init (the library constructor), never inside malloc.  That
 * is also where the release path registers its heap hooks: the heap calls
 * mri_limit_exceeded and mri_scavenger_wake through them.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#include "os/options.h"
#include "core/heap.h"
#include "os/cgroup_limit.h"
#include "os/os.h"
#include "release/limit.h"
#include "release/release.h"
#include "release/scavenger.h"

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
/* Under limit_lock. */
static struct {
	uint64_t cgroup;  /* derived at init, 0 = none */
	int cgroup_read;  /* mri_limit_init has run */
	int api_set;	  /* mr_limit_set called after the option */
	uint64_t api;	  /* its value (0 = none) */
	int64_t opt_seen; /* "limit" option value last seen */
} limit = {.opt_seen = -1};

/* Guards against re-entry: a release inside mri_limit_exceeded must not
 * call it again on the same thread. */
static __thread int limit_busy;

/*
 * When a synchronous release found nothing at all to give back, the heap
 * in use is at the limit by itself; trying again on every new span would
 * cost each one a drain of the central lists for nothing (a program whose
 * live heap is far above its limit ran several times slower; figures in
 * bench/README).
 * Until this time (CLOCK_MONOTONIC ns) allocating threads skip the
 * release; the scavenger keeps at it in the background.  The pause is
 * short because under churn free memory comes back within milliseconds
 * (a longer pause let a churn workload overshoot its limit; bench/README).
 */
#define LIMIT_BACKOFF_NS 1000000ULL /* 1 ms */
static uint64_t limit_backoff_until;

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
mri_limit_read_cgroup(void)
{
	uint64_t cg = 0;
	int have;

	pthread_mutex_lock(&limit_lock);
	have = limit.cgroup_read;
	limit.cgroup_read = 1;
	pthread_mutex_unlock(&limit_lock);
	/* The cgroup files are read outside the lock. */
	if (!have && mri_limit_cgroup(&cg) == 0) {
		pthread_mutex_lock(&limit_lock);
		limit.cgroup = cg;
		pthread_mutex_unlock(&limit_lock);
	}
	mri_limit_sync();
}

/* What the heap tells the release path (see heap.h). */
/* clang-format off */
static const struct mri_heap_hooks limit_heap_hooks = {
	.limit_exceeded = mri_limit_exceeded,
	.wake = mri_scavenger_wake,
};
/* clang-format on */

/*
 * The cgroup is read at start, synchronously: two small /proc files and
 * one limit file per level, no allocation (bench/README has what an
 * earlier libcgroup version cost at start-up).
 */
void
mri_limit_init(void)
{
	mri_options_init();
	mri_heap_set_hooks(&limit_heap_hooks);
	mri_limit_read_cgroup();
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
	if (retained + n > goal &&
	    mri_os->now_ns() >=
		__atomic_load_n(&limit_backoff_until, __ATOMIC_RELAXED)) {
		need = retained + n - goal;
		/* Whole free hugepages first; split only if that was not
		 * enough.  No age rule: the limit wins over the delay. */
		got =
		    mri_heap_release(need, MADV_DONTNEED, MRI_RELEASE_DRAIN, 0);
		if (got < need)
			got += mri_heap_release(
			    need - got, MADV_DONTNEED,
			    MRI_RELEASE_SPLIT | MRI_RELEASE_DRAIN, 0);
		mri_release_add(sync_releases, 1);
		mri_release_add(sync_bytes, got);
		if (got == 0)
			__atomic_store_n(&limit_backoff_until,
					 mri_os->now_ns() + LIMIT_BACKOFF_NS,
					 __ATOMIC_RELAXED);
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
	(void)limit_compute(); /* take in an option change first */
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
	/* Reads the cgroup once if the scavenger has not yet (two small
	 * /proc files), then syncs: the answer is right from the start. */
	mri_limit_read_cgroup();
	return (size_t)__atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);
}

void
mri_limit_atfork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	limit_lock = fresh;
}
