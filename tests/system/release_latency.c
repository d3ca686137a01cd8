/*
 * release_latency.c: how soon freed memory becomes the kernel's, read from
 * the kernel's own figures (/proc/self/smaps_rollup), not the library's.
 * Run by sys_release_latency.sh with libmemreclaim preloaded and default
 * settings.
 *
 * It allocates LIVE MiB that it keeps, then FREED MiB of large blocks
 * (64 KiB to MAX KiB, 256 by default: spans of a fraction of a hugepage;
 * 4096 gives spans of several hugepages too), touches everything, and
 * frees the large blocks.  From the end of the free loop it
 * polls smaps_rollup every millisecond:
 *
 *   reclaimable = (Rss at the peak - Rss now) + LazyFree now
 *
 * (pages given back, plus pages the kernel may take on demand), and checks
 *   1. reclaimable >= 90% of FREED within REC_MS (50 ms);
 *   2. Rss <= 1.1 * (Rss before the allocations + live + 10% of live, the
 *      scavenger's goal) within DELAY_MS + 300 ms, where DELAY_MS is the
 *      release delay (MEMRECLAIM_RELEASE_DELAY_MS, default 1000);
 *   3. while lazily freed, whole hugepages stay whole: AnonHugePages covers
 *      at least 90% of LazyFree at the first sample where (1) holds (only
 *      when THP is in "madvise" or "always" mode).
 * It prints each figure and exits 0 when all hold, 1 otherwise.
 *
 * Usage: release_latency [-l LIVE_MiB] [-f FREED_MiB] [-m MAX_KiB] [-r REC_MS]
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct kfig {
	uint64_t rss, lazy, huge; /* bytes */
};

static int
kfig_read(struct kfig *k)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/smaps_rollup", O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	memset(k, 0, sizeof(*k));
	if ((p = strstr(buf, "\nRss:")))
		k->rss = strtoull(p + 5, NULL, 10) << 10;
	if ((p = strstr(buf, "\nLazyFree:")))
		k->lazy = strtoull(p + 10, NULL, 10) << 10;
	if ((p = strstr(buf, "\nAnonHugePages:")))
		k->huge = strtoull(p + 15, NULL, 10) << 10;
	return 0;
}

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static int
thp_madvise_or_always(void)
{
	char b[128] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);

	if (fd >= 0) {
		(void)!read(fd, b, sizeof(b) - 1);
		close(fd);
	}
	return strstr(b, "[madvise]") || strstr(b, "[always]");
}

int
main(int argc, char **argv)
{
	uint64_t live_mib = 64, freed_mib = 1024, rec_ms = 50, delay_ms = 1000;
	const char *e = getenv("MEMRECLAIM_RELEASE_DELAY_MS");
	uint64_t seed = 0x9e3779b97f4a7c15ULL, total = 0, t0, t, target;
	uint64_t t_rec = 0, t_rss = 0, freed_bytes, max_kib = 256;
	struct kfig base, peak, k, at_rec;
	void **blk, *live;
	size_t n = 0, cap = 1 << 16, i, sz;
	int c, ok = 1, thp = thp_madvise_or_always();

	while ((c = getopt(argc, argv, "l:f:m:r:")) != -1) {
		if (c == 'm')
			max_kib = strtoull(optarg, NULL, 10);
		else if (c == 'l')
			live_mib = strtoull(optarg, NULL, 10);
		else if (c == 'f')
			freed_mib = strtoull(optarg, NULL, 10);
		else if (c == 'r')
			rec_ms = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	if (e && *e)
		delay_ms = strtoull(e, NULL, 10);
	if (kfig_read(&base) < 0) {
		printf("SKIP: no /proc/self/smaps_rollup\n");
		return 77;
	}
	live = malloc(live_mib << 20);
	blk = malloc(cap * sizeof(*blk));
	if (!live || !blk)
		return 1;
	memset(live, 1, live_mib << 20);
	while (total < freed_mib << 20 && n < cap) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		/* 64 KiB .. MAX KiB, log-uniform-ish */
		sz = (size_t)64 << 10 << (seed % 7);
		sz += (size_t)(seed >> 8) % sz;
		if (sz > max_kib << 10)
			sz = (size_t)(64 << 10) +
			     (size_t)(seed >> 16) % ((max_kib - 63) << 10);
		blk[n] = malloc(sz);
		if (!blk[n])
			return 1;
		memset(blk[n], 2, sz);
		total += sz;
		n++;
	}
	freed_bytes = total;
	kfig_read(&peak);
	for (i = 0; i < n; i++)
		free(blk[i]);
	t0 = now_ns();
	target = base.rss + (live_mib << 20) + (live_mib << 20) / 10;
	target += target / 10;
	memset(&at_rec, 0, sizeof(at_rec));
	for (;;) {
		uint64_t rec;

		kfig_read(&k);
		t = now_ns() - t0;
		rec = (peak.rss > k.rss ? peak.rss - k.rss : 0) + k.lazy;
		if (!t_rec && rec >= freed_bytes / 10 * 9) {
			t_rec = t;
			at_rec = k;
		}
		if (!t_rss && k.rss <= target)
			t_rss = t;
		if (t_rec && t_rss)
			break;
		if (t > (delay_ms + 3000) * 1000000ULL)
			break;
		usleep(1000);
	}
	printf("freed %.1f MiB in %zu blocks, live %llu MiB; peak Rss %.1f "
	       "MiB, AnonHugePages %.1f MiB\n",
	       freed_bytes / 1048576.0, n, (unsigned long long)live_mib,
	       peak.rss / 1048576.0, peak.huge / 1048576.0);
	if (t_rec)
		printf("90%% reclaimable after %.1f ms (Rss %.1f MiB, LazyFree "
		       "%.1f MiB, AnonHugePages %.1f MiB); limit %llu ms\n",
		       t_rec / 1e6, at_rec.rss / 1048576.0,
		       at_rec.lazy / 1048576.0, at_rec.huge / 1048576.0,
		       (unsigned long long)rec_ms);
	else
		printf("90%% never reclaimable\n");
	if (t_rss)
		printf("Rss <= %.1f MiB after %.1f ms; limit %llu ms\n",
		       target / 1048576.0, t_rss / 1e6,
		       (unsigned long long)(delay_ms + 300));
	else
		printf("Rss never <= %.1f MiB (now %.1f MiB)\n",
		       target / 1048576.0, k.rss / 1048576.0);
	if (!t_rec || t_rec > rec_ms * 1000000ULL) {
		printf("FAIL: freed memory not reclaimable within %llu ms\n",
		       (unsigned long long)rec_ms);
		ok = 0;
	}
	if (!t_rss || t_rss > (delay_ms + 300) * 1000000ULL) {
		printf("FAIL: Rss not honest within the delay + 300 ms\n");
		ok = 0;
	}
	if (thp && t_rec && at_rec.lazy > (16u << 20) &&
	    at_rec.huge < at_rec.lazy / 10 * 9) {
		printf("FAIL: lazily freed memory is not on whole hugepages "
		       "(AnonHugePages %.1f MiB < 90%% of LazyFree %.1f MiB)\n",
		       at_rec.huge / 1048576.0, at_rec.lazy / 1048576.0);
		ok = 0;
	}
	free(live);
	free(blk);
	return ok ? 0 : 1;
}
