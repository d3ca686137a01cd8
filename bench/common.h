/*
 * common.h: what every benchmark workload shares.
 *
 * The workloads in bench/ are plain programs linked against libc only, so
 * LD_PRELOAD decides which allocator serves them.  This header owns the
 * pieces they all need: command-line options (threads, scale, seed, smoke),
 * a fast seeded random generator, the fill pattern written into every object
 * and checked before it is freed, RSS readings that do not allocate, and the
 * result lines the runner (bench/run) parses:
 *
 *	metric NAME VALUE UNIT lower|higher	a figure of the workload
 *	series NAME X Y				one point of a curve
 *	malloc_from PATH			the object serving malloc
 *	hwm_bytes N				peak RSS (VmHWM), at exit
 *
 * Everything else a workload prints starts with '#'.  A corrupted object,
 * a failed allocation or a bad option ends the program with a non-zero
 * status and one line on stderr; a fast run of a broken allocator is never
 * reported as a result.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses (the runner shows them). */
#define BENCH_EXIT_CORRUPT	1	/* an object did not hold its pattern */
#define BENCH_EXIT_USAGE	2	/* bad option */
#define BENCH_EXIT_NOMEM	3	/* malloc returned NULL */

struct bench_opts {
	const char *name;	/* workload name for messages */
	unsigned threads;	/* -t; default: CPUs this process may use */
	int threads_set;	/* -t was given */
	double scale;		/* -S; multiplies the amount of work */
	uint64_t seed;		/* -r; random seed */
	int smoke;		/* -s: tiny parameters, for `make check` */
	double idle_s;		/* -d; idle seconds (fragment, burst) */
	const char *mode;	/* first non-option argument, or NULL */
};

/* Parse the common options.  `modes` is the synopsis of the mode argument
 * ("" when there is none), `about` says what the workload models and its
 * defaults (one or more lines ending in newlines).  Exits with
 * BENCH_EXIT_USAGE on a bad option. */
void bench_parse(int argc, char **argv, struct bench_opts *o,
    const char *modes, const char *about);

/* Number of CPUs in this process's affinity mask (at least 1). */
unsigned bench_ncpus(void);

/* Scale a default count by o->scale; never below `min`. */
uint64_t bench_scaled(const struct bench_opts *o, uint64_t dflt,
    uint64_t min);

/* Monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);

/* Sleep until the monotonic clock reads `deadline_ns`. */
void bench_sleep_until(uint64_t deadline_ns);

/* xorshift64* generator: a few ns per number, one per thread. */
struct bench_rng {
	uint64_t s;
};

void bench_rng_seed(struct bench_rng *r, uint64_t seed);

static inline uint64_t
bench_rng_next(struct bench_rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). */
static inline uint64_t
bench_rng_below(struct bench_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)bench_rng_next(r) * n) >> 64);
}

/* Log-uniform size in [min, max]: as many objects of 16-31 bytes as of
 * 16-31 KiB, which is roughly how object sizes spread in real programs. */
size_t bench_rng_size_log(struct bench_rng *r, size_t min, size_t max);

/* 64-bit mix of a value (splitmix64 finaliser): deterministic tags. */
uint64_t bench_mix(uint64_t x);

/*
 * Fill pattern.  bench_fill writes `tag` into the first and last 8 bytes
 * and a byte derived from it once per cache line (once per 4 KiB page for
 * objects over 64 KiB), so every line (page) of the object is written, as a
 * program using it would.  bench_check reads the same places back; two live
 * objects that overlap, or an object the allocator scribbled on, fail it.
 * Returns 0 when the object is intact, -1 when not.
 */
void bench_fill(void *p, size_t n, uint64_t tag);
int bench_check(const void *p, size_t n, uint64_t tag);

/* Check then free: on a mismatch print what was found and exit. */
void bench_check_free(void *p, size_t n, uint64_t tag);

/* malloc that exits with BENCH_EXIT_NOMEM on NULL. */
void *bench_malloc(size_t n);

/* Report a corrupted object and exit with BENCH_EXIT_CORRUPT. */
void bench_corrupt(const char *what, const void *p, size_t n, uint64_t tag)
    __attribute__((noreturn));

/* Print a message to stderr, prefixed with the workload name, and exit. */
void bench_die(int status, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/* Resident set size now and its high-water mark, in bytes, read from
 * /proc/self with open/read (no stdio, so no allocation); -1 on error. */
long bench_rss_bytes(void);
long bench_hwm_bytes(void);

static inline double
bench_mib(double bytes)
{
	return bytes / 1048576.0;
}

/* Result lines for the runner. */
void bench_metric(const char *name, double value, const char *unit,
    const char *better);
void bench_series(const char *name, double x, double y);

/* Start `n` threads, thread i running fn(args + i * arg_size), and wait
 * for all of them.  Returns the elapsed nanoseconds, start to last join. */
uint64_t bench_run_threads(unsigned n, void *(*fn)(void *), void *args,
    size_t arg_size);

#endif /* BENCH_COMMON_H */
