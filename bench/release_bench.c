/*
 * release_bench.c: the release path's own figures (issue 4).
 *
 *   1. Release throughput per purge backend, in GiB/s: 4 KiB-page memory
 *      advised in batches of 64 ranges straight through the purge module,
 *      and a hugepage-backed heap emptied with mr_release(NOW).
 *   2. The stall the scavenger causes: p50/p99/p99.9 latency of mr_malloc
 *      in an allocating thread while another thread frees bursts that the
 *      scavenger releases, per backend, against the scavenger stopped.
 *   3. Time to release after a burst: 1 GiB of mixed objects freed, RSS
 *      polled every 10 ms until it is within 10% of the live heap plus the
 *      goal, with the default delay (1 s) and the scavenger's default 1%
 *      CPU budget.
 *   4. The scavenger thread's CPU share (schedstat) while a program
 *      churns, against its default budget of 1% of one CPU.
 *
 * Each measurement runs in a child process of its own, so options and heap
 * start fresh.  The allocator is linked (libmemreclaim-core) and called as
 * mr_*: this program measures memreclaim only; the comparison with other
 * allocators is bench/run's burst-then-idle workload.  Output: a readable
 * table, and `metric NAME VALUE UNIT lower|higher` lines for bench/run.
 *
 * Usage: release_bench [-q] [-s 1|2|3|4]
 *   -q: one repetition, smaller sizes; -s: only that section.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "memreclaim.h"
#include "os/os.h"
#include "os/purge.h"
#include "release/scavenger.h"
#include "release_probe.h"

#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)

static int quick;

static const char *const backends[] = { "uring", "process_madvise",
					"madvise" };

/* Run fn in a child; it writes `n` doubles to the pipe.  0 or -1. */
static int
in_child(void (*fn)(int fd, const void *arg), const void *arg, double *out,
	 size_t n)
{
	int p[2], status;
	pid_t pid;
	ssize_t got;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		fn(p[1], arg);
		_exit(0);
	}
	close(p[1]);
	got = read(p[0], out, n * sizeof(double));
	close(p[0]);
	waitpid(pid, &status, 0);
	return got == (ssize_t)(n * sizeof(double)) ? 0 : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
put(int fd, const double *v, size_t n)
{
	(void)!write(fd, v, n * sizeof(double));
}

/* ---- 1. throughput ---- */

/* 4 KiB pages: map, touch, advise in batches of 64 x 2 MiB; GiB/s.  The
 * last value says which backend did it. */
static void
tp_4k(int fd, const void *arg)
{
	size_t len = (quick ? 256 : 1024) * MiB, off;
	struct mri_purge_batch b;
	double out[2];
	uint64_t t0, t;
	char *p;

	mr_option_set("purge", arg);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 1, len);
	/* Warm up: ring set-up and the first io-wq worker are one-time
	 * costs, not throughput. */
	mri_purge_batch_init(&b, MADV_DONTNEED);
	mri_purge_add(&b, p, 4096);
	mri_purge_flush(&b);
	p[0] = 1;
	t0 = mri_os->now_ns();
	mri_purge_batch_init(&b, MADV_DONTNEED);
	for (off = 0; off < len; off += 2 * MiB)
		if (mri_purge_add(&b, p + off, 2 * MiB)) {
			mri_purge_flush(&b);
			mri_purge_batch_init(&b, MADV_DONTNEED);
		}
	mri_purge_flush(&b);
	t = mri_os->now_ns() - t0;
	out[0] = (double)len / GiB / (t / 1e9);
	out[1] = mri_purge_backend();
	put(fd, out, 2);
}

/* A hugepage-backed heap: 2 MiB objects, touched, freed, then
 * mr_release(SIZE_MAX, NOW) timed. */
static void
tp_heap(int fd, const void *arg)
{
	size_t n = quick ? 128 : 512, i;
	void **v = calloc(n, sizeof(*v));
	double out[3];
	struct mr_stats st0, st1;

	mr_option_set("scavenger", "0");
	mri_scavenger_stop();
	mr_option_set("purge", arg);
	{
		/* Warm up the backend (see tp_4k). */
		struct mri_purge_batch b;
		char *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		w[0] = 1;
		mri_purge_batch_init(&b, MADV_DONTNEED);
		mri_purge_add(&b, w, 4096);
		mri_purge_flush(&b);
	}
	for (i = 0; i < n; i++) {
		v[i] = mr_malloc(2 * MiB);
		memset(v[i], 1, 2 * MiB);
	}
	st0 = stats();
	out[2] = st0.hugepage_coverage_permille / 10.0;
	/* The core may release part of it already in free (it trims a
	 * large idle excess at once); count every purge, not just the
	 * bytes mr_release reports: bytes advised over time spent in
	 * purges. */
	for (i = 0; i < n; i++)
		mr_free(v[i]);
	(void)mr_release(SIZE_MAX, MR_URGENCY_NOW);
	st1 = stats();
	out[0] = st1.purge_ns > st0.purge_ns ?
		 (double)(st1.purge_bytes - st0.purge_bytes) / GiB /
		 ((st1.purge_ns - st0.purge_ns) / 1e9) : 0;
	out[1] = mri_purge_backend();
	put(fd, out, 3);
	free(v);
}

static double
median_of(void (*fn)(int, const void *), const char *be, int reps,
	  double *backend, double *extra)
{
	double v[5], o[3];
	int r, k = 0;

	for (r = 0; r < reps; r++) {
		if (in_child(fn, be, o, fn == tp_heap ? 3 : 2) == 0) {
			v[k++] = o[0];
			*backend = o[1];
			if (extra && fn == tp_heap)
				*extra = o[2];
		}
	}
	if (!k)
		return 0;
	qsort(v, (size_t)k, sizeof(double), cmp_double);
	return v[k / 2];
}

/* ---- 2. malloc latency while the scavenger works ---- */

#define LAT_BUCKETS 4096		/* 10 ns each, up to ~41 us */

struct lat_ctx {
	volatile int stop;
	uint64_t hist[LAT_BUCKETS + 1];	/* last: overflow (>= 41 us) */
	uint64_t max_ns;
	uint64_t n;
};

static void *
lat_alloc_thread(void *arg)
{
	struct lat_ctx *c = arg;
	void *ring[256] = { 0 };
	unsigned i = 0, seed = 11;

	while (!c->stop) {
		size_t sz = 16 + rand_r(&seed) % 2048;
		uint64_t t0 = mri_os->now_ns(), dt;
		void *p = mr_malloc(sz);

		dt = mri_os->now_ns() - t0;
		((char *)p)[0] = 1;
		mr_free(ring[i & 255]);
		ring[i++ & 255] = p;
		c->hist[dt / 10 < LAT_BUCKETS ? dt / 10 : LAT_BUCKETS]++;
		if (dt > c->max_ns)
			c->max_ns = dt;
		c->n++;
	}
	for (i = 0; i < 256; i++)
		mr_free(ring[i]);
	return NULL;
}

static double
lat_pct(const struct lat_ctx *c, double pct)
{
	uint64_t want = (uint64_t)(c->n * pct / 100.0), acc = 0;
	int b;

	for (b = 0; b <= LAT_BUCKETS; b++) {
		acc += c->hist[b];
		if (acc > want)
			return b == LAT_BUCKETS ? (double)c->max_ns :
						  b * 10.0 + 5;
	}
	return (double)c->max_ns;
}

/* arg: backend name, or NULL for the scavenger stopped. */
static void
lat_run(int fd, const void *arg)
{
	static struct lat_ctx c;
	size_t burst = (quick ? 64 : 256) * MiB, i, n = burst / MiB;
	void **v = calloc(n, sizeof(*v));
	uint64_t end, scav0;
	double out[5];
	pthread_t t;
	struct mr_stats st;

	mr_option_set("release_delay_ms", "100");
	if (arg) {
		mr_option_set("purge", arg);
		mri_scavenger_start();
	} else {
		/* Off for good: mr_stats_get would restart it otherwise. */
		mr_option_set("scavenger", "0");
		mri_scavenger_stop();
	}
	scav0 = stats().purge_bytes;
	memset(&c, 0, sizeof(c));
	pthread_create(&t, NULL, lat_alloc_thread, &c);
	end = mri_os->now_ns() + (quick ? 1 : 3) * 1000000000ULL;
	/* Bursts: allocate 256 MiB in 1 MiB pieces, touch, free, pause so
	 * the scavenger releases them (it wakes on the large frees). */
	while (mri_os->now_ns() < end) {
		for (i = 0; i < n; i++) {
			v[i] = mr_malloc(MiB);
			memset(v[i], 1, MiB);
		}
		for (i = 0; i < n; i++)
			mr_free(v[i]);
		usleep(300000);
	}
	c.stop = 1;
	pthread_join(t, NULL);
	st = stats();
	out[0] = lat_pct(&c, 50);
	out[1] = lat_pct(&c, 99);
	out[2] = lat_pct(&c, 99.9);
	out[3] = (double)(st.purge_bytes - scav0) / MiB;
	out[4] = (double)c.n;
	put(fd, out, 5);
	free(v);
}

/* ---- 3. time to release after a burst ---- */

static void
ttr_run(int fd, const void *arg)
{
	size_t total = 0, n = 0, i, live = 0, cap = 400000;
	size_t limit = (quick ? 256 : 1024) * MiB;
	void **v = calloc(cap, sizeof(*v));
	size_t *sz = calloc(cap, sizeof(*sz));
	unsigned seed = 5;
	uint64_t base, t0, target, r = 0;
	double out[3];
	struct mr_stats st;

	(void)arg;
	mri_scavenger_start();
	base = rss();
	while (total < limit && n < cap) {
		sz[n] = burst_size(&seed);
		v[n] = mr_malloc(sz[n]);
		memset(v[n], 1, sz[n]);
		total += sz[n++];
	}
	for (i = 0; i < n; i++) {
		if (i % 16) {
			mr_free(v[i]);
		} else {
			live += sz[i];
		}
	}
	t0 = mri_os->now_ns();
	do {
		usleep(10000);
		target = release_target(base, live, &st);
		r = rss();
	} while (r > target && mri_os->now_ns() - t0 < 30000000000ULL);
	out[0] = (mri_os->now_ns() - t0) / 1e9;
	out[1] = (double)(total - live) / MiB;
	out[2] = (double)r / MiB;
	put(fd, out, 3);
}

/* ---- 4. the scavenger's CPU share under churn ---- */

/* CPU time (ns) of the thread named mr-scavenger, from schedstat. */
static uint64_t
scav_cpu_ns(void)
{
	char path[64], buf[256];
	int tid, fd;
	ssize_t n;

	for (tid = getpid(); tid < getpid() + 64; tid++) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0 || strncmp(buf, "mr-scavenger", 12))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat",
			 tid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return 0;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		return strtoull(buf, NULL, 10);
	}
	return 0;
}

/* Churn for a few seconds: every 100 ms free a quarter of 256 MiB of
 * mixed objects and allocate it again with other sizes; the scavenger
 * (delay 100 ms, default 1% budget) keeps releasing what is freed.
 * Reports its CPU time over the wall time and what it released. */
static void
cpu_run(int fd, const void *arg)
{
	size_t nobj = 4096, i;
	void **v = calloc(nobj, sizeof(*v));
	unsigned seed = 9, round = 0;
	uint64_t t0, c0, p0, end;
	double out[3];

	(void)arg;
	mr_option_set("release_delay_ms", "100");
	mri_scavenger_start();
	usleep(50000);
	for (i = 0; i < nobj; i++)
		v[i] = mr_malloc(1 + rand_r(&seed) % 131072);
	t0 = mri_os->now_ns();
	c0 = scav_cpu_ns();
	p0 = stats().purge_bytes;
	end = t0 + (quick ? 2 : 5) * 1000000000ULL;
	while (mri_os->now_ns() < end) {
		size_t band = 1024 << (round++ % 7);

		for (i = 0; i < nobj; i++) {
			if (rand_r(&seed) % 4)
				continue;
			mr_free(v[i]);
			v[i] = mr_malloc(band / 2 + rand_r(&seed) % band);
			memset(v[i], 1, 64);
		}
		usleep(100000);
	}
	out[0] = (double)(scav_cpu_ns() - c0) /
		 (double)(mri_os->now_ns() - t0) * 100;
	out[1] = (double)(stats().purge_bytes - p0) / MiB;
	out[2] = (mri_os->now_ns() - t0) / 1e9;
	put(fd, out, 3);
}

static const char *
be_name(double b)
{
	switch ((int)b) {
	case MR_PURGE_URING: return "uring";
	case MR_PURGE_PROCESS_MADVISE: return "process_madvise";
	case MR_PURGE_MADVISE: return "madvise";
	default: return "none";
	}
}

int
main(int argc, char **argv)
{
	int reps, i, only = 0;
	char name[128];

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-q")) {
			quick = 1;
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			only = atoi(argv[++i]);
		} else {
			fprintf(stderr,
				"usage: release_bench [-q] [-s 1|2|3|4]\n"
				"  -q  one repetition, smaller sizes\n"
				"  -s  run only that section\n");
			return 2;
		}
	}
	reps = quick ? 1 : 3;
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (only && only != 1)
		goto section2;
	printf("# 1. release throughput (median of %d), GiB/s\n", reps);
	printf("# %-16s %12s %14s\n", "backend", "4KiB pages", "hugepage heap");
	for (i = 0; i < 3; i++) {
		double b4 = 0, bh = 0, cov = 0;
		double g4 = median_of(tp_4k, backends[i], reps, &b4, NULL);
		double gh = median_of(tp_heap, backends[i], reps, &bh, &cov);

		printf("  %-16s %12.2f %14.2f   (ran: %s / %s; heap on "
		       "hugepages %.0f%%)\n", backends[i], g4, gh, be_name(b4),
		       be_name(bh), cov);
		snprintf(name, sizeof(name), "release_4k_%s", backends[i]);
		printf("metric %s %.6g GiB/s higher\n", name, g4);
		snprintf(name, sizeof(name), "release_thp_%s", backends[i]);
		printf("metric %s %.6g GiB/s higher\n", name, gh);
	}

section2:
	if (only && only != 2)
		goto section3;
	printf("# 2. mr_malloc latency in a thread while bursts are "
	       "scavenged, ns\n");
	printf("# %-16s %8s %8s %8s %12s %10s\n", "scavenger", "p50", "p99",
	       "p99.9", "released MiB", "mallocs");
	for (i = -1; i < 3; i++) {
		double o[5];
		const char *be = i < 0 ? NULL : backends[i];

		if (in_child(lat_run, be, o, 5) < 0)
			continue;
		printf("  %-16s %8.0f %8.0f %8.0f %12.0f %10.0f\n",
		       be ? be : "off", o[0], o[1], o[2], o[3], o[4]);
		snprintf(name, sizeof(name), "malloc_p99_scav_%s",
			 be ? be : "off");
		printf("metric %s %.6g ns lower\n", name, o[1]);
	}

section3:
	if (only && only != 3)
		goto section4;
	printf("# 3. time to release after a burst (delay 1000 ms, "
	       "scavenger_cpu 1%%)\n");
	{
		double o[3];

		if (in_child(ttr_run, NULL, o, 3) == 0) {
			printf("  freed %.0f MiB: RSS %.0f MiB within 10%% of "
			       "live + goal after %.2f s\n", o[1], o[2], o[0]);
			printf("metric time_to_release %.6g s lower\n", o[0]);
		}
	}
section4:
	if (only && only != 4)
		return 0;
	printf("# 4. scavenger CPU share under churn (delay 100 ms, "
	       "scavenger_cpu 1%%)\n");
	{
		double o[3];

		if (in_child(cpu_run, NULL, o, 3) == 0) {
			printf("  %.2f%% of one CPU over %.1f s, %.0f MiB "
			       "purged (all release paths)\n", o[0], o[2],
			       o[1]);
			printf("metric scavenger_cpu_share %.6g %% lower\n",
			       o[0]);
		}
	}
	return 0;
}
