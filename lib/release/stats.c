/*
 * stats.c: the public release and statistics calls (mr_release,
 * mr_stats_get), the release path's counters, and the MEMRECLAIM_STATS
 * summary printed at exit.
 *
 * mr_stats_get gathers from the heap (mri_heap_counters, class stats), the
 * purge module, the kernel (/proc/self/smaps_rollup through mri_os_rss), the
 * limit and scavenger counters here, and the daemon client when it is
 * linked.  The struct is versioned: the caller says how many bytes it has
 * (st->size) and gets at most that many, so a program built against an
 * older, shorter struct mr_stats keeps working with a newer library.
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "core/heap.h"
#include "release/limit.h"
#include "os/options.h"
#include "os/os.h"
#include "os/purge.h"
#include "release/reclaim.h"
#include "release/release.h"
#include "release/scavenger.h"

struct mri_release_stats mri_release_st;

MR_API ssize_t
mr_release(size_t bytes, enum mr_urgency urgency)
{
	size_t got;

	if (urgency != MR_URGENCY_LAZY && urgency != MR_URGENCY_NOW)
		return -EINVAL;
	mri_options_init();
	/* A safe point: restart the scavenger in a forked child. */
	mri_scavenger_start();
	got = mri_release_request(bytes, urgency == MR_URGENCY_LAZY);
	return got > (size_t)SSIZE_MAX ? SSIZE_MAX : (ssize_t)got;
}

/* Fill all of *st (full size). */
static void
stats_fill(struct mr_stats *st)
{
	struct mr_stats t;
	struct mri_heap_counters c;
	uint64_t rss = 0, huge = 0;
	size_t n;

	memset(&t, 0, sizeof(t));
	memset(&c, 0, sizeof(c));
	mri_heap_counters(&c);
	t.version = MR_STATS_VERSION;
	t.allocated_bytes = c.allocated_bytes;
	t.in_use_bytes = c.in_use_bytes;
	t.idle_bytes = c.idle_bytes;
	t.released_bytes = c.released_bytes;
	t.lazy_freed_bytes = c.lazy_bytes;
	t.mapped_bytes = c.mapped_bytes;
	t.metadata_bytes = c.metadata_bytes;
	t.retained_bytes = c.mapped_bytes - c.released_bytes - c.lazy_bytes;
	if (mri_os_rss(&rss, &huge) == 0) {
		t.rss_bytes = rss;
		t.anon_huge_bytes = huge;
		t.hugepage_coverage_permille =
		    rss ? (uint32_t)(huge * 1000 / rss) : 0;
	}
	t.nodes = c.nodes;
	mri_limit_sync();
	t.limit_bytes = __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);
	{
		struct mri_rel_opts o;

		mri_release_opts(&o);
		t.goal_bytes =
		    mri_relpol_goal(c.in_use_bytes, t.limit_bytes, &o);
	}
	t.scavenger_cycles =
	    __atomic_load_n(&mri_release_st.cycles, __ATOMIC_RELAXED);
	t.sync_releases =
	    __atomic_load_n(&mri_release_st.sync_releases, __ATOMIC_RELAXED);
	mri_purge_stats(&t);
	mri_heap_class_stats(&t);
	mri_scavenger_client_stats(&t);
	n = st->size < sizeof(t) ? st->size : sizeof(t);
	t.size = st->size;
	memcpy(st, &t, n);
}

MR_API int
mr_stats_get(struct mr_stats *st)
{
	if (!st || st->size < offsetof(struct mr_stats, allocated_bytes))
		return -EINVAL;
	mri_options_init();
	/* A safe point: restart the scavenger in a forked child. */
	mri_scavenger_start();
	stats_fill(st);
	return 0;
}

static const char *
stats_backend_name(uint32_t b)
{
	static const char *const names[] = {
	    "none",
	    "uring",
	    "process_madvise",
	    "madvise",
	};
	return b < 4 ? names[b] : "?";
}

void
mri_stats_print(int fd)
{
	struct mr_stats st;
	char buf[2048];
	const double mib = 1024.0 * 1024.0;
	int n;

	st.size = sizeof(st);
	stats_fill(&st);
	/* snprintf with these formats does not allocate. */
	n = snprintf(
	    buf, sizeof(buf),
	    "memreclaim: stats: allocated %.1f MiB, in use %.1f MiB, "
	    "idle %.1f MiB, released %.1f MiB, "
	    "mapped %.1f MiB, metadata %.1f MiB, retained %.1f MiB\n"
	    "memreclaim: stats: lazily freed %.1f MiB (MADV_FREE: the "
	    "kernel takes it on demand%s)\n"
	    "memreclaim: stats: rss %.1f MiB, hugepages %.1f MiB "
	    "(%u.%u%%), limit %.1f MiB, goal %.1f MiB, nodes %u\n"
	    "memreclaim: stats: scavenger %llu cycles, %.1f MiB in "
	    "%.1f ms; limit releases %llu (%.1f MiB); mr_release "
	    "%.1f MiB; excess on free %.1f MiB; refused by limit_hard "
	    "%llu\n"
	    "memreclaim: stats: purge backend %s, %llu batches, "
	    "%llu ranges, %.1f MiB, %llu redone, %u fallbacks, "
	    "%.1f ms\n",
	    st.allocated_bytes / mib, st.in_use_bytes / mib,
	    st.idle_bytes / mib, st.released_bytes / mib,
	    st.mapped_bytes / mib, st.metadata_bytes / mib,
	    st.retained_bytes / mib, st.lazy_freed_bytes / mib,
	    mri_purge_free_ok() ? "" : "; refused here, DONTNEED used",
	    st.rss_bytes / mib, st.anon_huge_bytes / mib,
	    st.hugepage_coverage_permille / 10,
	    st.hugepage_coverage_permille % 10, st.limit_bytes / mib,
	    st.goal_bytes / mib, st.nodes,
	    (unsigned long long)st.scavenger_cycles,
	    mri_release_st.scav_bytes / mib, mri_release_st.scav_ns / 1e6,
	    (unsigned long long)st.sync_releases,
	    mri_release_st.sync_bytes / mib, mri_release_st.api_bytes / mib,
	    mri_release_st.free_bytes / mib,
	    (unsigned long long)mri_release_st.hard_enomem,
	    stats_backend_name(st.purge_backend),
	    (unsigned long long)st.purge_batches,
	    (unsigned long long)st.purge_ranges, st.purge_bytes / mib,
	    (unsigned long long)st.purge_errors, st.purge_fallbacks,
	    st.purge_ns / 1e6);
	if (n > 0)
		(void)!write(fd, buf,
			     (size_t)n < sizeof(buf) ? (size_t)n
						     : sizeof(buf) - 1);
}

/* MEMRECLAIM_STATS=1: the summary at exit. */
__attribute__((destructor)) static void
stats_at_exit(void)
{
	if (mri_opt(MRI_OPT_STATS))
		mri_stats_print(2);
}
