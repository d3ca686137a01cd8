/*
 * stats.c: the public release and statistics calls (mr_release,
 * mr_stats_get), the release path's counters, and the MEMRECLAIM_STATS
 * summary printed at exit.
 *
 * mr_stats_get gathers from the heap (mri_heap_counters, class stats), the
 * purge module, the kernel (/proc/self/smaps_rollup through mri_os_rss), the
 * limit and scavenger counters here, and the clients the scavenger hosts
 * (the daemon link, the systemd memory pressure watch).
 *
 * MEMRECLAIM_STATS=1 prints the summary as lines on stderr, each starting
 * "memreclaim: COMM[PID]: stats: "; MEMRECLAIM_STATS=json prints one JSON
 * object on one line instead (every figure of struct mr_stats but the
 * per-class table, plus pid and command), for log pipelines.  Both are
 * built with snprintf into a stack buffer (these formats do not allocate)
 * and written with one write(2).  The struct is versioned: the caller says how
 * many bytes it has (st->size) and gets at most that many, so a program built
 * against an older, shorter struct mr_stats keeps working with a newer library.
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
#include "os/diag.h"
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
	mri_limit_ensure();
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
	mri_limit_ensure();
	mri_limit_sync();
	t.limit_bytes = __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);
	t.limit_source = mri_limit_source();
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
	mri_limit_ensure();
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

static const char *
stats_limit_source_name(uint32_t src)
{
	static const char *const names[] = {
	    [MR_LIMIT_SOURCE_NONE] = "none",
	    [MR_LIMIT_SOURCE_CGROUP] = "cgroup",
	    [MR_LIMIT_SOURCE_ENV] = "env",
	    [MR_LIMIT_SOURCE_API] = "api",
	    [MR_LIMIT_SOURCE_DAEMON] = "daemon",
	};
	return src <= MR_LIMIT_SOURCE_DAEMON ? names[src] : "?";
}

/* s as the inside of a JSON string (quotes and backslashes escaped,
 * control bytes as \u00XX) into out[cap]. */
static const char *
stats_json_str(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			out[n++] = '\\';
			out[n++] = 'u';
			out[n++] = '0';
			out[n++] = '0';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return out;
}

/* MEMRECLAIM_STATS=json: one object, one line. */
static void
stats_print_json(int fd, const struct mr_stats *st, const char *comm)
{
	char buf[4096], c_esc[64], e_esc[600];
	typedef unsigned long long ull;
	int n;

	n = snprintf(
	    buf, sizeof(buf),
	    "{\"memreclaim\":\"%s\",\"pid\":%d,\"command\":\"%s\","
	    "\"allocated_bytes\":%llu,\"in_use_bytes\":%llu,"
	    "\"idle_bytes\":%llu,\"released_bytes\":%llu,"
	    "\"lazy_freed_bytes\":%llu,\"mapped_bytes\":%llu,"
	    "\"metadata_bytes\":%llu,\"retained_bytes\":%llu,"
	    "\"rss_bytes\":%llu,\"anon_huge_bytes\":%llu,"
	    "\"hugepage_coverage_permille\":%u,\"nodes\":%u,"
	    "\"limit_bytes\":%llu,\"limit_source\":\"%s\","
	    "\"goal_bytes\":%llu,"
	    "\"scavenger_cycles\":%llu,\"scavenger_released_bytes\":%llu,"
	    "\"sync_releases\":%llu,\"sync_released_bytes\":%llu,"
	    "\"api_released_bytes\":%llu,\"free_released_bytes\":%llu,"
	    "\"limit_hard_refusals\":%llu,"
	    "\"purge\":{\"backend\":\"%s\",\"fallbacks\":%u,"
	    "\"batches\":%llu,\"ranges\":%llu,\"bytes\":%llu,"
	    "\"errors\":%llu,\"ns\":%llu,\"madv_free\":%s},"
	    "\"daemon\":{\"enabled\":%s,\"connected\":%s,"
	    "\"connects\":%llu,\"connect_failures\":%llu,"
	    "\"trims_received\":%llu,\"trim_released_bytes\":%llu,"
	    "\"error\":%d,\"error_msg\":\"%s\"},"
	    "\"memory_pressure\":{\"watching\":%s,\"events\":%llu,"
	    "\"released_bytes\":%llu,\"error\":%d}}\n",
	    MR_VERSION_STRING, (int)getpid(),
	    stats_json_str(comm, c_esc, sizeof(c_esc)),
	    (ull)st->allocated_bytes, (ull)st->in_use_bytes,
	    (ull)st->idle_bytes, (ull)st->released_bytes,
	    (ull)st->lazy_freed_bytes, (ull)st->mapped_bytes,
	    (ull)st->metadata_bytes, (ull)st->retained_bytes,
	    (ull)st->rss_bytes, (ull)st->anon_huge_bytes,
	    st->hugepage_coverage_permille, st->nodes, (ull)st->limit_bytes,
	    stats_limit_source_name(st->limit_source), (ull)st->goal_bytes,
	    (ull)st->scavenger_cycles, (ull)mri_release_st.scav_bytes,
	    (ull)st->sync_releases, (ull)mri_release_st.sync_bytes,
	    (ull)mri_release_st.api_bytes, (ull)mri_release_st.free_bytes,
	    (ull)mri_release_st.hard_enomem,
	    stats_backend_name(st->purge_backend), st->purge_fallbacks,
	    (ull)st->purge_batches, (ull)st->purge_ranges, (ull)st->purge_bytes,
	    (ull)st->purge_errors, (ull)st->purge_ns,
	    mri_purge_free_ok() ? "true" : "false",
	    mri_opt(MRI_OPT_DAEMON) ? "true" : "false",
	    st->daemon_connected ? "true" : "false", (ull)st->daemon_connects,
	    (ull)st->daemon_connect_failures, (ull)st->trims_received,
	    (ull)st->trim_released_bytes, st->daemon_error,
	    stats_json_str(st->daemon_error_msg, e_esc, sizeof(e_esc)),
	    st->pressure_watching ? "true" : "false", (ull)st->pressure_events,
	    (ull)st->pressure_released_bytes, st->pressure_error);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)!write(fd, buf, (size_t)n);
}

void
mri_stats_print(int fd)
{
	struct mr_stats st;
	char buf[3072], who[40], comm[40];
	const double mib = 1024.0 * 1024.0;
	size_t wn;
	int n, m;

	st.size = sizeof(st);
	stats_fill(&st);
	wn = mri_diag_who(who, sizeof(who));
	if (mri_opt(MRI_OPT_STATS) == MRI_STATS_JSON) {
		/* the command alone: who is "COMM[PID]" */
		while (wn > 0 && who[wn - 1] != '[')
			wn--;
		memcpy(comm, who, wn ? wn - 1 : 0);
		comm[wn ? wn - 1 : 0] = '\0';
		stats_print_json(fd, &st, comm);
		return;
	}
	/* snprintf with these formats does not allocate. */
	n = snprintf(
	    buf, sizeof(buf),
	    "memreclaim: %s: stats: allocated %.1f MiB, in use %.1f MiB, "
	    "idle %.1f MiB, released %.1f MiB, "
	    "mapped %.1f MiB, metadata %.1f MiB, retained %.1f MiB\n"
	    "memreclaim: %s: stats: lazily freed %.1f MiB (MADV_FREE: the "
	    "kernel takes it on demand%s)\n"
	    "memreclaim: %s: stats: rss %.1f MiB, hugepages %.1f MiB "
	    "(%u.%u%%), limit %.1f MiB (%s), goal %.1f MiB, nodes %u\n"
	    "memreclaim: %s: stats: scavenger %llu cycles, %.1f MiB in "
	    "%.1f ms; limit releases %llu (%.1f MiB); mr_release "
	    "%.1f MiB; excess on free %.1f MiB; refused by limit_hard "
	    "%llu\n"
	    "memreclaim: %s: stats: purge backend %s, %llu batches, "
	    "%llu ranges, %.1f MiB, %llu redone, %u fallbacks, "
	    "%.1f ms\n",
	    who, st.allocated_bytes / mib, st.in_use_bytes / mib,
	    st.idle_bytes / mib, st.released_bytes / mib, st.mapped_bytes / mib,
	    st.metadata_bytes / mib, st.retained_bytes / mib, who,
	    st.lazy_freed_bytes / mib,
	    mri_purge_free_ok() ? "" : "; refused here, DONTNEED used", who,
	    st.rss_bytes / mib, st.anon_huge_bytes / mib,
	    st.hugepage_coverage_permille / 10,
	    st.hugepage_coverage_permille % 10, st.limit_bytes / mib,
	    stats_limit_source_name(st.limit_source), st.goal_bytes / mib,
	    st.nodes, who, (unsigned long long)st.scavenger_cycles,
	    mri_release_st.scav_bytes / mib, mri_release_st.scav_ns / 1e6,
	    (unsigned long long)st.sync_releases,
	    mri_release_st.sync_bytes / mib, mri_release_st.api_bytes / mib,
	    mri_release_st.free_bytes / mib,
	    (unsigned long long)mri_release_st.hard_enomem, who,
	    stats_backend_name(st.purge_backend),
	    (unsigned long long)st.purge_batches,
	    (unsigned long long)st.purge_ranges, st.purge_bytes / mib,
	    (unsigned long long)st.purge_errors, st.purge_fallbacks,
	    st.purge_ns / 1e6);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	/* the daemon link and the memory pressure watch */
	if (!mri_opt(MRI_OPT_DAEMON))
		m = snprintf(buf + n, sizeof(buf) - (size_t)n,
			     "memreclaim: %s: stats: daemon off "
			     "(MEMRECLAIM_DAEMON=0)\n",
			     who);
	else
		m = snprintf(
		    buf + n, sizeof(buf) - (size_t)n,
		    "memreclaim: %s: stats: daemon %s, %llu "
		    "connects, %llu failed, %llu trims (%.1f MiB)%s%s\n",
		    who, st.daemon_connected ? "connected" : "not connected",
		    (unsigned long long)st.daemon_connects,
		    (unsigned long long)st.daemon_connect_failures,
		    (unsigned long long)st.trims_received,
		    st.trim_released_bytes / mib,
		    st.daemon_error_msg[0] ? "; last failure: " : "",
		    st.daemon_error_msg);
	if (m > 0 && (size_t)m < sizeof(buf) - (size_t)n)
		n += m;
	if (st.pressure_watching || st.pressure_events || st.pressure_error) {
		m = snprintf(buf + n, sizeof(buf) - (size_t)n,
			     "memreclaim: %s: stats: memory pressure (systemd) "
			     "%s, %llu events, %.1f MiB released\n",
			     who,
			     st.pressure_watching ? "watched"
			     : st.pressure_error  ? "not watched (error)"
						  : "watch ended",
			     (unsigned long long)st.pressure_events,
			     st.pressure_released_bytes / mib);
		if (m > 0 && (size_t)m < sizeof(buf) - (size_t)n)
			n += m;
	}
	if (n > 0)
		(void)!write(fd, buf, (size_t)n);
}

/* MEMRECLAIM_STATS=1 or json: the summary at exit. */
__attribute__((destructor)) static void
stats_at_exit(void)
{
	if (mri_opt(MRI_OPT_STATS))
		mri_stats_print(2);
}
