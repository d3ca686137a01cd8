/*
 * fuzz_options.c: the library's option parser (lib/os/options.c and the
 * size/duration/bool grammar of common/parse.c).  The first byte picks
 * an option, the rest is its value: mr_option_set must either refuse it
 * or leave a value that mr_option_get reads back and that lies in the
 * option's range (for chunk_size: a multiple of 2 MiB up to 1 GiB).
 */
#include "config.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "memreclaim.h"
#include "common/parse.h"

static const char *const names[] = {
    "limit",
    "limit_hard",
    "purge",
    "advice",
    "release_delay_ms",
    "scavenger",
    "scavenger_cpu",
    "goal_percent",
    "limit_goal_percent",
    "trace",
    "stats",
    "hugepages",
    "hugepage_threshold",
    "hugetlb",
    "numa",
    "chunk_size",
    "daemon",
    "socket",
    "stats_interval_ms",
    "daemon_uid",
    "lazy_free",
    "prof",
    "prof_interval",
    "prof_unwind",
    "prof_format",
    "sd_pressure",
    "no_such_option",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name;
	char value[256], back[160];
	uint64_t u;
	int b;

	if (size < 1 || size > sizeof(value))
		return 0;
	name = names[data[0] % (sizeof(names) / sizeof(names[0]))];
	memcpy(value, data + 1, size - 1);
	value[size - 1] = '\0';
	(void)mrc_parse_size(value, &u);
	(void)mrc_parse_duration_ns(value, 1000000, &u);
	(void)mrc_parse_bool(value, &b);
	if (mr_option_set(name, value) == 0 &&
	    mr_option_get(name, back, sizeof(back)) < 0)
		abort();
	if (mr_option_get("chunk_size", back, sizeof(back)) > 0) {
		unsigned long long cs = strtoull(back, NULL, 10);

		if (cs < (2u << 20) || cs > (1u << 30) || cs % (2u << 20))
			abort();
	}
	return 0;
}
