/*
 * limit.c: the soft memory limit, like Go's GOMEMLIMIT (see limit.h).
 *
 * The process's own limit comes from mr_limit_set() or the "limit" option
 * (MEMRECLAIM_LIMIT or mr_option_set; whichever was set last wins), and by
 * default from the process's cgroup, read once at start (cgroup_limit.c).
 * memreclaimd may add its own opinion through the client
 * (mr_limit_hint: LIMIT frames); 0 means it has none, and it lapses when
 * the connection does.  The limit in force is the smaller of the two that
 * are set, so the daemon can tighten a limit but never erase or loosen the
 * process's own.  It is published in mri_heap_soft_limit, which the heap
 * reads before it hands out pages; 0 means none.
 *
 * What the limit means (retained heap memory should stay at or below it),
 * what an allocation that crosses it releases, and when limit_hard refuses
 * one, is the release policy's (policy.c, with a worked example); this
 * file keeps the sources and carries out the policy's plan on the
 * allocating thread (mri_limit_exceeded).
 *
 * The cgroup limit is read by os/cgroup_limit.c, once, when first needed:
 * a program that barely allocates never pays for it (parsing mountinfo and
 * a limit file per level was a tenth of a millisecond of start-up here).
 * Until then a probe of LIMIT_PROBE_BYTES is published in its place, so
 * the heap calls mri_limit_exceeded when retained memory first reaches it:
 * that reads the cgroup (no allocation, no lock held) and goes on with the
 * limit found.  The scavenger thread, mr_limit_get, mr_stats_get,
 * mr_release and malloc_trim read it first (mri_limit_ensure), so none of
 * them sees the probe.  mri_limit_init (the library constructor) registers
 * the release path's heap hooks: the heap calls mri_limit_exceeded and
 * mri_release_on_free through them.
 */
#include "config.h"
#include <time.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "memreclaim.h"
#include "os/options.h"
#include "core/heap.h"
#include "os/cgroup_limit.h"
#include "os/os.h"
#include "release/limit.h"
#include "release/release.h"
#include "release/scavenger.h"

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
/* Held while the cgroup is read; taken before limit_lock. */
static pthread_mutex_t cgroup_mu = PTHREAD_MUTEX_INITIALIZER;
/* Under limit_lock. */
static struct {
	uint64_t cgroup;  /* derived when first needed, 0 = none */
	int cgroup_known; /* cgroup is set */
	int cgroup_read;  /* the same, set (atomically) once the limit it
			   * gives is published: read without the lock */
	int api_set;	  /* mr_limit_set called after the option */
	uint64_t api;	  /* its value (0 = none) */
	int64_t opt_seen; /* "limit" option value last seen */
	uint64_t daemon;  /* mr_limit_hint: memreclaimd's, 0 = no opinion */
	uint32_t source;  /* enum mr_limit_source of the last compute */
} limit = {.opt_seen = -1};

/* Guards against re-entry: a release inside mri_limit_exceeded must not
 * call it again on the same thread. */
static __thread int limit_busy;

/* The limit path's back-off (the policy's limit_backoff_until_ns),
 * shared by all allocating threads: relaxed atomics. */
static uint64_t limit_backoff_until;

/* Published while the cgroup is unread and no other source sets a limit:
 * a heap this small is below any cgroup limit a program can run in, and
 * reaching it reads the cgroup (mri_limit_exceeded). */
#define LIMIT_PROBE_BYTES ((uint64_t)4 << 20)

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
	uint64_t own = limit.api_set ? limit.api
		       : opt > 0     ? (uint64_t)opt
				     : limit.cgroup;

	limit.source = !own	       ? MR_LIMIT_SOURCE_NONE
		       : limit.api_set ? MR_LIMIT_SOURCE_API
		       : opt > 0       ? MR_LIMIT_SOURCE_ENV
				       : MR_LIMIT_SOURCE_CGROUP;
	if (!limit.daemon)
		return !limit.api_set && opt <= 0 && !limit.cgroup_known
			   ? LIMIT_PROBE_BYTES /* the cgroup's, unread */
			   : own;
	if (own && own <= limit.daemon)
		return own;
	limit.source = MR_LIMIT_SOURCE_DAEMON;
	return limit.daemon;
}

uint32_t
mri_limit_source(void)
{
	uint32_t src;

	pthread_mutex_lock(&limit_lock);
	(void)limit_compute();
	src = limit.source;
	pthread_mutex_unlock(&limit_lock);
	return src;
}

void
mri_limit_sync(void)
{
	pthread_mutex_lock(&limit_lock);
	__atomic_store_n(&mri_heap_soft_limit, limit_compute(),
			 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&limit_lock);
}

/* The cgroup files are read under cgroup_mu, not limit_lock: a thread
 * that needs the limit meanwhile waits for it rather than acting on the
 * probe. */
void
mri_limit_read_cgroup(void)
{
	uint64_t cg = 0;
	int rc;

	if (!__atomic_load_n(&limit.cgroup_read, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&cgroup_mu);
		if (!limit.cgroup_read) {
			rc = mri_limit_cgroup(&cg);
			pthread_mutex_lock(&limit_lock);
			if (rc == 0)
				limit.cgroup = cg;
			limit.cgroup_known = 1;
			/* The limit replaces the probe before anyone sees
			 * cgroup_read, so none acts on the probe after. */
			__atomic_store_n(&mri_heap_soft_limit, limit_compute(),
					 __ATOMIC_RELAXED);
			__atomic_store_n(&limit.cgroup_read, 1,
					 __ATOMIC_RELEASE);
			pthread_mutex_unlock(&limit_lock);
		}
		pthread_mutex_unlock(&cgroup_mu);
	}
	mri_limit_sync();
}

/* What the heap tells the release path (see heap.h). */
/* clang-format off */
static const struct mri_heap_hooks limit_heap_hooks = {
	.limit_exceeded = mri_limit_exceeded,
	.freed = mri_release_on_free,
	.grew = mri_scavenger_wake,
};
/* clang-format on */

void
mri_limit_ensure(void)
{
	if (!__atomic_load_n(&limit.cgroup_read, __ATOMIC_ACQUIRE))
		mri_limit_read_cgroup();
}

/*
 * The cgroup is read later, when first needed (see the top of this file):
 * two small /proc files and one limit file per level, no allocation
 * (bench/README has what an earlier libcgroup version cost at start-up).
 */
void
mri_limit_init(void)
{
	mri_options_init();
	mri_heap_set_hooks(&limit_heap_hooks);
	mri_limit_sync(); /* the probe, or the option's limit */
}

/*
 * Pages another thread (the scavenger, most often) has claimed for its
 * release count as retained until its advice returns, and this thread's
 * plan cannot take them: limit_hard must not refuse an allocation for
 * memory that is on its way back.  So before refusing, wait for such
 * purges (each is one batch of madvise calls; at most 200 ms here), then
 * plan again without the back-off for what they left.  1 when the
 * allocation of n still does not fit under p->hard_bytes, 0 when it does.
 */
static int
limit_still_over(size_t n, struct mri_rel_in *in, struct mri_rel_state *st,
		 struct mri_rel_plan *p, uint64_t *got)
{
	const struct timespec ts = {0, 100000}; /* 0.1 ms */
	uint64_t hard = p->hard_bytes, sum = 0;
	unsigned i;
	int waits;

	if (mri_heap_purging() == 0)
		return 1; /* nothing on its way back: the plan was all */
	for (waits = 0; waits < 2000 && mri_heap_purging() != 0; waits++) {
		if (mri_heap_retained() + n <= hard)
			return 0;
		nanosleep(&ts, NULL);
	}
	if (mri_heap_retained() + n <= hard)
		return 0;
	mri_release_snapshot(in, MRI_REL_LIMIT, n);
	st->limit_backoff_until_ns = 0;
	mri_relpol_plan(in, st, p);
	if (p->nsteps) {
		(void)mri_release_run(p, NULL, got);
		for (i = 0; i < p->nsteps; i++)
			sum += got[i];
		mri_release_add(sync_bytes, sum);
		(void)mri_relpol_done(in, st, p, got, 0, mri_os->now_ns());
	}
	return mri_heap_retained() + n > hard;
}

int
mri_limit_exceeded(size_t n)
{
	uint64_t lim = __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);
	uint64_t got[MRI_REL_MAX_STEPS], sum = 0;
	struct mri_rel_state st;
	struct mri_rel_plan p;
	struct mri_rel_in in;
	unsigned i;
	int rc = 0;

	if (!lim || limit_busy)
		return 0;
	if (!__atomic_load_n(&limit.cgroup_read, __ATOMIC_ACQUIRE)) {
		/* The probe was reached: the limit in force from now on. */
		mri_limit_read_cgroup();
		lim = __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);
		if (!lim || mri_heap_retained() + n <= lim)
			return 0;
	}
	limit_busy = 1;
	memset(&st, 0, sizeof(st));
	st.limit_backoff_until_ns =
	    __atomic_load_n(&limit_backoff_until, __ATOMIC_RELAXED);
	mri_release_snapshot(&in, MRI_REL_LIMIT, n);
	mri_relpol_plan(&in, &st, &p);
	if (!p.nsteps && p.hard_bytes &&
	    in.retained_bytes + n > p.hard_bytes) {
		/* The back-off only saves time; it must not turn into a
		 * refusal: memory freed since the last try may be there. */
		st.limit_backoff_until_ns = 0;
		mri_relpol_plan(&in, &st, &p);
	}
	if (p.nsteps) {
		(void)mri_release_run(&p, NULL, got);
		for (i = 0; i < p.nsteps; i++)
			sum += got[i];
		mri_release_add(sync_releases, 1);
		mri_release_add(sync_bytes, sum);
		(void)mri_relpol_done(&in, &st, &p, got, 0, mri_os->now_ns());
		__atomic_store_n(&limit_backoff_until,
				 st.limit_backoff_until_ns, __ATOMIC_RELAXED);
	}
	if (p.hard_bytes && mri_heap_retained() + n > p.hard_bytes &&
	    limit_still_over(n, &in, &st, &p, got)) {
		mri_release_add(hard_enomem, 1);
		rc = -ENOMEM;
	} else if (p.deferred_bytes) {
		/* The rest over the goal is the scavenger's (its cycle's
		 * urgent step), so this thread's cost stays bounded
		 * (policy.c).  Not after a refusal: the next allocation's
		 * own release would then race the scavenger for the same
		 * free pages and could be refused for what it claimed. */
		mri_scavenger_wake();
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

MR_API int
mr_limit_hint(size_t bytes)
{
	mri_options_init();
	pthread_mutex_lock(&limit_lock);
	limit.daemon = bytes;
	pthread_mutex_unlock(&limit_lock);
	mri_limit_sync();
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
	cgroup_mu = fresh;
}
