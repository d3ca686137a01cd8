/*
 * oom_service.c: the service of the fast-pressure test (sys_oom_race.sh)
 * and of the demo.  A plain program that knows nothing of memreclaim: it
 * allocates ALLOC MiB in blocks of 80 to 120 KiB (about 100 KiB on
 * average, under glibc's 128 KiB mmap threshold, so glibc serves them from
 * its heap) and touches them, frees all but KEEP MiB of them (every block
 * it keeps is followed by freed ones: glibc cannot shrink its heap, a page
 * allocator can give the free spans back), prints "ready" and holds what it
 * kept, touching it every 50 ms, until SIGTERM or MAX_S seconds.  Exit
 * status 0 when it held to the end.
 *
 * Usage: oom_service [-a ALLOC_MiB] [-k KEEP_MiB] [-t MAX_S]
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t svc_stop;

static void
svc_on_signal(int sig)
{
	(void)sig;
	svc_stop = 1;
}

int
main(int argc, char **argv)
{
	size_t alloc_mib = 300, keep_mib = 20, n = 0, i, kept = 0;
	unsigned max_s = 60;
	uint64_t seed = 88172645463325252ULL;
	size_t cap = 1 << 16;
	void **blk;
	size_t *len;
	size_t total = 0, every;
	int c;
	struct timespec t0, t;

	while ((c = getopt(argc, argv, "a:k:t:")) != -1) {
		switch (c) {
		case 'a':
			alloc_mib = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			keep_mib = strtoul(optarg, NULL, 10);
			break;
		case 't':
			max_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: oom_service [-a ALLOC_MiB] "
					"[-k KEEP_MiB] [-t MAX_S]\n");
			return 2;
		}
	}
	signal(SIGTERM, svc_on_signal);
	signal(SIGINT, svc_on_signal);
	blk = malloc(cap * sizeof(*blk));
	len = malloc(cap * sizeof(*len));
	if (!blk || !len)
		return 1;
	while (total < alloc_mib << 20 && n < cap) {
		size_t sz;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		sz = (80 << 10) + seed % (40 << 10);
		blk[n] = malloc(sz);
		if (!blk[n])
			return 1;
		memset(blk[n], 0x5a, sz);
		len[n++] = sz;
		total += sz;
	}
	/* Keep every k-th block, free the rest. */
	every = keep_mib ? (alloc_mib + keep_mib - 1) / keep_mib : n + 1;
	for (i = 0; i < n; i++) {
		if (i % every == 0 && kept < keep_mib << 20) {
			kept += len[i];
			continue;
		}
		free(blk[i]);
		blk[i] = NULL;
	}
	printf("ready kept=%zu freed=%zu\n", kept, total - kept);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!svc_stop) {
		for (i = 0; i < n; i++)
			if (blk[i])
				((volatile char *)blk[i])[i % len[i]]++;
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((unsigned)(t.tv_sec - t0.tv_sec) >= max_s)
			break;
	}
	printf("done\n");
	return 0;
}
