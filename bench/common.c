/*
 * common.c: options, random numbers, fill patterns, RSS and result lines
 * shared by the workloads (see common.h).  Nothing here allocates except
 * bench_malloc and thread creation, so it does not disturb what a workload
 * measures.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "common.h"

static const char *bench_name = "bench";

void
bench_die(int status, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", bench_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

unsigned
bench_ncpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		n = CPU_COUNT(&set);
		if (n > 0)
			return (unsigned)n;
	}
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void
bench_usage(const struct bench_opts *o, const char *modes, const char *about,
    FILE *f)
{
	fprintf(f,
	    "usage: %s [-t threads] [-S scale] [-r seed] [-d idle_s] [-s]%s%s\n"
	    "%s"
	    "  -t N   worker threads (default: %u, the CPUs we may use)\n"
	    "  -S F   multiply the amount of work by F (default 1)\n"
	    "  -r N   random seed (default 1)\n"
	    "  -d S   idle seconds, for workloads that wait (fragment, burst)\n"
	    "  -s     smoke run: tiny parameters, for make check\n"
	    "  -h     this help\n",
	    o->name, *modes ? " " : "", modes, about, bench_ncpus());
}

static double
bench_parse_double(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0))
		bench_die(BENCH_EXIT_USAGE, "bad %s '%s': want a number > 0",
		    what, s);
	return v;
}

/* Say which shared object serves this program's malloc calls, so the
 * runner can tell a preload that took effect from one that silently did
 * not: a library that does not export malloc, or exports it under a symbol
 * version other than glibc's (the program asks for malloc@GLIBC_2.2.5), is
 * preloaded without complaint and glibc keeps serving.  The address is
 * taken the way the program's own calls resolve it (through the GOT with
 * the versioned reference), not with dlsym, which ignores the version. */
static void
bench_report_malloc(void)
{
	void *(*volatile fn)(size_t) = malloc;
	void *sym = (void *)fn;
	Dl_info info;

	if (sym && dladdr(sym, &info) && info.dli_fname)
		printf("malloc_from %s\n", info.dli_fname);
	else
		printf("malloc_from ?\n");
}

/* Peak RSS of this program.  The runner cannot use the rusage of its child
 * for it: Linux carries the high-water mark of the forking process (the
 * runner itself, tens of MiB) across exec into ru_maxrss. */
static void
bench_report_hwm(void)
{
	long hwm = bench_hwm_bytes();

	if (hwm >= 0)
		printf("hwm_bytes %ld\n", hwm);
}

void
bench_parse(int argc, char **argv, struct bench_opts *o, const char *modes,
    const char *about)
{
	const char *slash = strrchr(argv[0], '/');
	int c;

	o->name = slash ? slash + 1 : argv[0];
	bench_name = o->name;
	o->threads = bench_ncpus();
	o->threads_set = 0;
	o->scale = 1.0;
	o->seed = 1;
	o->smoke = 0;
	o->idle_s = -1;
	o->mode = NULL;
	while ((c = getopt(argc, argv, "t:S:r:d:sh")) != -1) {
		switch (c) {
		case 't':
			o->threads = (unsigned)bench_parse_double(optarg,
			    "thread count");
			if (o->threads < 1 || o->threads > 4096)
				bench_die(BENCH_EXIT_USAGE,
				    "thread count must be 1..4096");
			o->threads_set = 1;
			break;
		case 'S':
			o->scale = bench_parse_double(optarg, "scale");
			break;
		case 'r':
			o->seed = (uint64_t)bench_parse_double(optarg, "seed");
			break;
		case 'd':
			o->idle_s = bench_parse_double(optarg, "idle time");
			break;
		case 's':
			o->smoke = 1;
			break;
		case 'h':
			bench_usage(o, modes, about, stdout);
			exit(0);
		default:
			bench_usage(o, modes, about, stderr);
			exit(BENCH_EXIT_USAGE);
		}
	}
	if (optind < argc)
		o->mode = argv[optind++];
	if (optind < argc)
		bench_die(BENCH_EXIT_USAGE, "unexpected argument '%s'",
		    argv[optind]);
	bench_report_malloc();
	atexit(bench_report_hwm);
	/* A smoke run only proves the program works: a thousandth of the
	 * work, still with at least two threads so cross-thread paths run. */
	if (o->smoke) {
		o->scale *= 0.001;
		if (o->threads < 2)
			o->threads = 2;
	}
}

uint64_t
bench_scaled(const struct bench_opts *o, uint64_t dflt, uint64_t min)
{
	double v = (double)dflt * o->scale;

	return v < (double)min ? min : (uint64_t)v;
}

uint64_t
bench_now_ns(void)
{
	return mrc_now_ns();
}

void
bench_sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ULL),
		.tv_nsec = (long)(deadline_ns % 1000000000ULL),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)
	    == EINTR)
		;
}

uint64_t
bench_mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

void
bench_rng_seed(struct bench_rng *r, uint64_t seed)
{
	r->s = bench_mix(seed) | 1;	/* xorshift must not start at 0 */
}

size_t
bench_rng_size_log(struct bench_rng *r, size_t min, size_t max)
{
	/* Pick an octave uniformly, then a size uniformly inside it. */
	unsigned lo = 63 - (unsigned)__builtin_clzll(min);
	unsigned hi = 63 - (unsigned)__builtin_clzll(max);
	unsigned oct = lo + (unsigned)bench_rng_below(r, hi - lo + 1);
	size_t base = (size_t)1 << oct;
	size_t s = base + (size_t)bench_rng_below(r, base);

	if (s < min)
		s = min;
	if (s > max)
		s = max;
	return s;
}

/* The byte written once per line: never 0, so a fresh zero page is caught. */
static inline unsigned char
fill_byte(uint64_t tag)
{
	return (unsigned char)((tag >> 56) | 1);
}

static inline size_t
fill_stride(size_t n)
{
	return n > 65536 ? 4096 : 64;
}

void
bench_fill(void *p, size_t n, uint64_t tag)
{
	unsigned char *b = p, v = fill_byte(tag);
	size_t i, stride = fill_stride(n);

	if (n < 16) {
		memset(b, v, n);
		return;
	}
	for (i = 8; i < n - 8; i += stride)
		b[i] = v;
	memcpy(b, &tag, 8);
	memcpy(b + n - 8, &tag, 8);
}

int
bench_check(const void *p, size_t n, uint64_t tag)
{
	const unsigned char *b = p, v = fill_byte(tag);
	size_t i, stride = fill_stride(n);
	uint64_t head, tail;

	if (n < 16) {
		for (i = 0; i < n; i++)
			if (b[i] != v)
				return -1;
		return 0;
	}
	memcpy(&head, b, 8);
	memcpy(&tail, b + n - 8, 8);
	if (head != tag || tail != tag)
		return -1;
	for (i = 8; i < n - 8; i += stride)
		if (b[i] != v)
			return -1;
	return 0;
}

void
bench_corrupt(const char *what, const void *p, size_t n, uint64_t tag)
{
	const unsigned char *b = p;
	uint64_t head = 0;

	if (n >= 8)
		memcpy(&head, b, 8);
	bench_die(BENCH_EXIT_CORRUPT,
	    "corrupted object (%s): %p size %zu expected tag %016llx, "
	    "found head %016llx", what, p, n, (unsigned long long)tag,
	    (unsigned long long)head);
}

void
bench_check_free(void *p, size_t n, uint64_t tag)
{
	if (bench_check(p, n, tag) != 0)
		bench_corrupt("before free", p, n, tag);
	free(p);
}

void *
bench_malloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		bench_die(BENCH_EXIT_NOMEM, "malloc(%zu) returned NULL", n);
	return p;
}

/* Read a small /proc file into buf without stdio; returns its length. */
static ssize_t
proc_read(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

long
bench_rss_bytes(void)
{
	char buf[256];
	long size, resident;

	if (proc_read("/proc/self/statm", buf, sizeof(buf)) <= 0)
		return -1;
	if (sscanf(buf, "%ld %ld", &size, &resident) != 2)
		return -1;
	return resident * sysconf(_SC_PAGESIZE);
}

long
bench_hwm_bytes(void)
{
	char buf[4096];
	const char *s;
	long kb;

	if (proc_read("/proc/self/status", buf, sizeof(buf)) <= 0)
		return -1;
	s = strstr(buf, "VmHWM:");
	if (!s || sscanf(s + 6, "%ld", &kb) != 1)
		return -1;
	return kb * 1024;
}

void
bench_metric(const char *name, double value, const char *unit,
    const char *better)
{
	printf("metric %s %.6g %s %s\n", name, value, unit, better);
}

void
bench_series(const char *name, double x, double y)
{
	printf("series %s %.6g %.6g\n", name, x, y);
}

uint64_t
bench_run_threads(unsigned n, void *(*fn)(void *), void *args,
    size_t arg_size)
{
	pthread_t *t = bench_malloc(n * sizeof(*t));
	uint64_t t0 = bench_now_ns(), ns;
	unsigned i;
	int err;

	for (i = 0; i < n; i++) {
		err = pthread_create(&t[i], NULL, fn,
		    (char *)args + i * arg_size);
		if (err)
			bench_die(BENCH_EXIT_NOMEM, "pthread_create: %s",
			    strerror(err));
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	ns = bench_now_ns() - t0;
	free(t);
	return ns;
}
