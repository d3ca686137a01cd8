/*
 * fuzz_cgroup.c: the daemon's readers of cgroup and proc files
 * (daemon/cgroupfs.c): memory.max / limit_in_bytes values, memory.stat
 * keys, /proc/PID/stat start time; and the PSI parser (daemon/psi.c).
 * The first byte picks the parser, the rest is the file's text.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cgroupfs.h"
#include "psi.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct psi_sample ps;
	uint64_t v;
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		(void)cgfs_parse_limit(text, &v);
		break;
	case 1:
		(void)cgfs_stat_find(text, "total_inactive_file", &v);
		(void)cgfs_stat_find(text, "anon", &v);
		break;
	case 2:
		(void)cgfs_parse_start_time(text, &v);
		break;
	case 3:
		/* not NUL-ended: psi_parse takes a length */
		if (psi_parse((const char *)data + 1, size - 1, &ps) == 0 &&
		    (ps.some.avg10 < 0 || ps.some.avg10 > 100))
			abort();
		break;
	}
	free(text);
	return 0;
}
