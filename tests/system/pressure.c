/*
 * pressure.c: a memory pressure generator for the end-to-end tests and the
 * demo.  It maps anonymous memory and touches every page at a given rate
 * until it holds a given size, says so on stdout, holds it for a while, and
 * exits.  Run inside a cgroup with a memory limit, it makes the kernel
 * reclaim in that cgroup, which is what memreclaimd's PSI watch sees.
 *
 * It uses plain mmap and no allocator, so it measures the same whatever
 * malloc the rest of the test preloads, and its pages are never freed
 * lazily: they are pure anonymous pressure (there is no swap here).
 *
 * Usage: pressure [-b BURST] [-r RATE] [-t HOLD_S] [-c CHUNK] SIZE
 *   The first BURST bytes are touched at once (a process starting up),
 *   the rest at RATE bytes per second (0 = as fast as possible).  SIZE,
 *   BURST, RATE and CHUNK take K/M/G suffixes (binary).  HOLD_S 0 holds
 *   until SIGTERM/SIGINT.
 * Output: "pressure: touched N MiB" every chunk (with -v), "pressure: holding
 * N bytes" once the size is reached, "pressure: done" at exit.
 */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t pressure_stop;

static void
pressure_on_signal(int sig)
{
	pressure_stop = 1;
}

/* "512M", "1.5G", "4096": bytes, or -1 on a bad value. */
static int64_t
pressure_parse_size(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': v *= 1024.0; end++; break;
	case 'm': case 'M': v *= 1024.0 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || v > 1e15)
		return -1;
	return (int64_t)v;
}

static double
pressure_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until `when` (monotonic seconds) or a signal. */
static void
pressure_sleep_until(double when)
{
	double left = when - pressure_now();
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static void
pressure_usage(FILE *f)
{
	fprintf(f, "usage: pressure [-v] [-b BURST] [-r RATE] [-t HOLD_S] "
		"[-c CHUNK] SIZE\n"
		"  map and touch SIZE bytes, the first BURST at once, the\n"
		"  rest at RATE bytes/s (0: at once), hold them HOLD_S\n"
		"  seconds (0: until SIGTERM), then exit.  K/M/G suffixes.\n");
}

int
main(int argc, char **argv)
{
	int64_t size, rate = 0, burst = 0, chunk = 4 << 20;
	double hold = 10, start, deadline;
	int64_t done = 0;
	long pagesz = sysconf(_SC_PAGESIZE);
	struct sigaction sa;
	int c, verbose = 0;
	char *end;

	while ((c = getopt(argc, argv, "b:r:t:c:vh")) != -1) {
		switch (c) {
		case 'b':
			burst = pressure_parse_size(optarg);
			break;
		case 'r':
			rate = pressure_parse_size(optarg);
			break;
		case 't':
			hold = strtod(optarg, &end);
			if (end == optarg || *end != '\0')
				hold = -1;
			break;
		case 'c':
			chunk = pressure_parse_size(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			pressure_usage(stdout);
			return 0;
		default:
			pressure_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		pressure_usage(stderr);
		return 2;
	}
	size = pressure_parse_size(argv[optind]);
	if (size <= 0 || rate < 0 || burst < 0 || chunk < pagesz || hold < 0) {
		fprintf(stderr, "pressure: bad size, burst, rate, chunk "
			"or hold time\n");
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pressure_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	/* Chunks are never unmapped: the point is to hold them.  The rate
	 * clock starts when the burst is done. */
	start = pressure_now();
	while (done < size && !pressure_stop) {
		int64_t n = size - done < chunk ? size - done : chunk;
		char *p = mmap(NULL, (size_t)n, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int64_t off;

		if (p == MAP_FAILED) {
			fprintf(stderr, "pressure: mmap %lld bytes: %s\n",
				(long long)n, strerror(errno));
			return 1;
		}
		for (off = 0; off < n; off += pagesz)
			p[off] = 1;
		done += n;
		if (verbose)
			printf("pressure: touched %lld MiB\n",
			       (long long)(done >> 20));
		if (done - n < burst && done >= burst)
			start = pressure_now();	/* the ramp starts now */
		if (rate > 0 && done > burst)
			pressure_sleep_until(start + (double)(done - burst) /
						     (double)rate);
	}
	printf("pressure: holding %lld bytes\n", (long long)done);
	fflush(stdout);
	deadline = pressure_now() + hold;
	while (!pressure_stop && (hold == 0 || pressure_now() < deadline)) {
		if (hold == 0)
			pause();
		else
			pressure_sleep_until(deadline);
	}
	printf("pressure: done\n");
	return 0;
}
