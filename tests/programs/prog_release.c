/*
 * prog_release.c: release promises of libmemreclaim checked against the
 * kernel's own figures (/proc/self/smaps_rollup, /proc/self/task/TID/
 * schedstat), run by prog_release.sh with LD_PRELOAD=libmemreclaim.so.
 * It uses only malloc, free and malloc_trim, as any program would; the
 * options come from the environment the script sets.
 *
 *   trim     128 MiB in 4 KiB objects, 32 MiB of them freed (idle below
 *            the 256 MiB band of the excess rule, so it stays while the
 *            release delay is long): malloc_trim(0) returns 1 and Rss
 *            falls by at least 24 MiB; a second call releases no more than
 *            4 MiB.
 *   excess N 32 MiB kept, N MiB freed: prints the Rss drop (KiB) seen
 *            within 2 s (the script asserts: N = 384 drops at least
 *            112 MiB, N = 48 and N = 96 less than 16 MiB).
 *   thp      64 MiB in 4 KiB objects, touched: prints AnonHugePages (KiB).
 *   churn W S M  W + S seconds of M MiB allocated in 64 KiB objects,
 *            touched and freed, about 10 times a second: prints the wall
 *            time of the last S seconds and the mr-scavenger thread's run
 *            time (schedstat) in them, in ms, and how many times it was
 *            scheduled in; the same for the first W seconds (which use up
 *            the burst credit).
 *
 * Output: "name value" lines on stdout; exits 1 with a message on a failed
 * assertion, 2 on a usage error.
 */
#include "config.h"
#include <dirent.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define OBJ 4096

static long
smaps_kib(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* n objects of sz bytes, each touched */
static char **
fill(size_t n, size_t sz)
{
	char **v = malloc(n * sizeof(*v));
	size_t i;

	if (v == NULL)
		exit(1);
	for (i = 0; i < n; i++) {
		v[i] = malloc(sz);
		if (v[i] == NULL) {
			fprintf(stderr, "prog_release: out of memory\n");
			exit(1);
		}
		memset(v[i], 0x5a, sz);
	}
	return v;
}

static void
drop(char **v, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++) {
		free(v[i]);
		v[i] = NULL;
	}
}

/* The thread named mr-scavenger's run time in ms and how many times it
 * was scheduled in (schedstat's first and third fields); -1 when none. */
static long
scavenger_stat(long *runs)
{
	char path[320], comm[64], line[128];
	struct dirent *e;
	long ms = -1;
	DIR *d = opendir("/proc/self/task");
	FILE *f;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
		if (strcmp(comm, "mr-scavenger\n") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat",
			 e->d_name);
		f = fopen(path, "r");
		if (f != NULL && fgets(line, sizeof(line), f)) {
			char *end;

			ms = (long)(strtoull(line, &end, 10) / 1000000);
			(void)strtoull(end, &end, 10);
			*runs = (long)strtoull(end, NULL, 10);
		}
		if (f != NULL)
			fclose(f);
	}
	closedir(d);
	return ms;
}

static int
do_trim(void)
{
	size_t n = 128 * (size_t)MIB / OBJ, keep = 96 * (size_t)MIB / OBJ;
	char **v = fill(n, OBJ);
	long r0, r1;
	int rc1, rc2;

	drop(v, keep, n);
	nap_ms(300);
	r0 = smaps_kib("Rss");
	rc1 = malloc_trim(0);
	r1 = smaps_kib("Rss");
	rc2 = malloc_trim(0);
	printf("rss_before_kib %ld\nrss_after_kib %ld\n", r0, r1);
	if (r0 < 120 * 1024) {
		fprintf(stderr, "prog_release: Rss %ld KiB before malloc_trim: "
				"the freed memory was gone already\n", r0);
		return 1;
	}
	if (rc1 != 1 || r0 - r1 < 24 * 1024) {
		fprintf(stderr, "prog_release: malloc_trim(0) returned %d, Rss "
				"%ld -> %ld KiB\n", rc1, r0, r1);
		return 1;
	}
	/* with nothing idle left, a second call releases nothing more
	 * (it may still give back a few partly used pages: returns 0 or 1) */
	printf("second_trim %d\n", rc2);
	if (r1 - smaps_kib("Rss") > 4 * 1024) {
		fprintf(stderr, "prog_release: a second malloc_trim(0) still "
				"released more than 4 MiB\n");
		return 1;
	}
	drop(v, 0, keep);
	free(v);
	return 0;
}

static int
do_excess(long free_mib)
{
	size_t keep = 32 * (size_t)MIB / OBJ;
	size_t n = keep + (size_t)free_mib * MIB / OBJ;
	char **v = fill(n, OBJ);
	long r0, r, best = 0;
	uint64_t end;

	nap_ms(200);
	r0 = smaps_kib("Rss");
	drop(v, keep, n);
	end = now_ms() + 2000;
	do {
		r = smaps_kib("Rss");
		if (r0 - r > best)
			best = r0 - r;
		nap_ms(50);
	} while (now_ms() < end);
	printf("rss_before_kib %ld\nrss_drop_kib %ld\n", r0, best);
	drop(v, 0, keep);
	free(v);
	return 0;
}

static int
do_thp(void)
{
	size_t n = 64 * (size_t)MIB / OBJ;
	char **v = fill(n, OBJ);

	printf("anon_huge_kib %ld\n", smaps_kib("AnonHugePages"));
	drop(v, 0, n);
	free(v);
	return 0;
}

static int
do_churn(long warm_s, long seconds, long mib)
{
	size_t n = (size_t)mib * MIB / (64 * 1024);
	uint64_t t0 = now_ms(), t1 = 0;
	uint64_t mark = t0 + (uint64_t)warm_s * 1000;
	uint64_t end = mark + (uint64_t)seconds * 1000;
	long s0, s1 = 0, s2, r0 = 0, r1 = 0, r2 = 0;
	char **v0;

	/* The scavenger starts once the heap first needs it (a small
	 * program never pays for the thread): after one round here. */
	v0 = fill(n, 64 * 1024);
	drop(v0, 0, n);
	free(v0);
	s0 = scavenger_stat(&r0);
	if (s0 < 0) {
		fprintf(stderr, "prog_release: no mr-scavenger thread\n");
		return 1;
	}
	while (now_ms() < end) {
		char **v = fill(n, 64 * 1024);

		drop(v, 0, n);
		free(v);
		nap_ms(100);
		if (t1 == 0 && now_ms() >= mark) {
			t1 = now_ms();
			s1 = scavenger_stat(&r1);
		}
	}
	s2 = scavenger_stat(&r2);
	printf("warm_scavenger_ms %ld\nwall_ms %llu\nscavenger_ms %ld\n"
	       "warm_scavenger_runs %ld\nscavenger_runs %ld\n",
	       s1 - s0, (unsigned long long)(now_ms() - t1), s2 - s1, r1 - r0,
	       r2 - r1);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "trim"))
		return do_trim();
	if (argc == 3 && !strcmp(argv[1], "excess"))
		return do_excess(atol(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "thp"))
		return do_thp();
	if (argc == 5 && !strcmp(argv[1], "churn"))
		return do_churn(atol(argv[2]), atol(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: prog_release trim|excess MIB|thp|churn W S MIB\n");
	return 2;
}
