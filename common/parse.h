/*
 * common/parse.h: the one grammar for sizes, durations and booleans.
 *
 * Used by the library's MEMRECLAIM_* options, memreclaim.conf and
 * memreclaimctl, so a value means the same wherever it is written.
 *
 * Size:     DIGITS [ "." DIGITS ] [ SUFFIX ], blanks allowed around it.
 *           SUFFIX is K, M, G, T, P or E, optionally followed by "B" or
 *           "iB", or a lone "B"; case does not matter and every suffix is
 *           binary (memory sizes): 64k = 64K = 64KB = 64KiB = 65536,
 *           2GB = 2GiB = 2147483648.  A fraction is computed exactly in
 *           integers and rounded down to a whole byte: 1.5K = 1536,
 *           1.1K = 1126.  At most 18 digits after the point.
 * Duration: DIGITS [ "." DIGITS ] [ UNIT ] with UNIT ns, us, ms, s, m or h;
 *           a bare number is in the caller's default unit.  Rounded down
 *           to a whole nanosecond.
 * Boolean:  1 yes true on / 0 no false off, case-insensitive.
 *
 * All return 0 and set *out, -EINVAL for text outside the grammar, or
 * -ERANGE when the value does not fit 64 bits; *out is untouched on error.
 * No allocation, no stdio, no locale.
 */
#ifndef MRC_PARSE_H
#define MRC_PARSE_H

#include <stdint.h>

#define MRC_NS_PER_US 1000ull
#define MRC_NS_PER_MS 1000000ull
#define MRC_NS_PER_S 1000000000ull

int mrc_parse_size(const char *s, uint64_t *out);
/* default_unit_ns: what a bare number counts (e.g. MRC_NS_PER_MS). */
int mrc_parse_duration_ns(const char *s, uint64_t default_unit_ns,
			  uint64_t *out);
int mrc_parse_bool(const char *s, int *out);

#endif
