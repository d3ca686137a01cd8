/*
 * common/clock.h: the monotonic clock every part of memreclaim reads.
 *
 * CLOCK_MONOTONIC in nanoseconds; never jumps with the wall clock, so
 * differences are durations.  Code that is tested with a fake clock (the
 * library's OS layer, the daemon's policy) takes the time as a parameter
 * and calls this only at its edge.
 */
#ifndef MRC_CLOCK_H
#define MRC_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
mrc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
