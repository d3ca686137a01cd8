/*
 * cgroup_limit.c: the memory limit of the process's cgroup, for the soft
 * limit's default (see limit.c).
 *
 * Where the memory controller is mounted and which cgroup we are in (v1
 * first, as on hybrid hosts like ours, else v2 when the memory controller
 * is enabled there) is common/cgpath's to find, from /proc/self/mountinfo
 * and /proc/self/cgroup.  This file owns the limit: from that cgroup up to
 * the hierarchy's root we take the smallest of v1 memory.limit_in_bytes
 * and v2 memory.max and memory.high, whichever exist: a parent's limit
 * bounds its children.  "max" and v1's "unlimited" (PAGE_COUNTER_MAX pages)
 * mean no limit.  The files are read with open/read.  Kept apart from
 * limit.c so it can be tested on its own against real cgroups.
 *
 * Not libcgroup, on purpose: cgroup_init() fills libcgroup's static
 * tables, about 800 KiB of .bss that would stay resident in every process
 * using the library.  The daemon, one per host, may use it.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memreclaim.h"
#include "common/cgpath.h"
#include "os/cgroup_limit.h"

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages (0x7ffffffffffff000 on
 * x86-64); anything this large is no limit. */
#define LIMIT_UNLIMITED_FLOOR (1ULL << 62)

/* Read a cgroup file holding one number or "max".  Returns 0 and sets *v
 * (0 for "max" or unlimited), or -errno (-ENOENT: no such file here). */
static int
limit_read_file(const char *dir, const char *name, uint64_t *v)
{
	char path[4096], buf[64];
	size_t dl = strlen(dir), nl = strlen(name);
	uint64_t x = 0;
	ssize_t n;
	int fd, i, digits = 0;

	if (dl + nl + 2 > sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, dl);
	path[dl] = '/';
	memcpy(path + dl + 1, name, nl + 1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	if (!strncmp(buf, "max", 3)) {
		*v = 0;
		return 0;
	}
	for (i = 0; buf[i] >= '0' && buf[i] <= '9'; i++, digits++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(buf[i] - '0');
	}
	if (!digits)
		return -EINVAL;
	*v = x >= LIMIT_UNLIMITED_FLOOR ? 0 : x;
	return 0;
}

/* Smallest non-zero of a and b (0 = none). */
static uint64_t
limit_min(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

int
mri_limit_cgroup_walk(const char *mnt, const char *rel, uint64_t *bytes)
{
	static const char *const files[] = {
	    "memory.limit_in_bytes",
	    "memory.max",
	    "memory.high",
	};
	size_t ml = strlen(mnt), rl = strlen(rel);
	uint64_t best = 0;
	char dir[4096];
	int found = 0;

	*bytes = 0;
	if (ml + rl + 1 > sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, mnt, ml);
	memcpy(dir + ml, rel, rl + 1);
	/* From our cgroup up to the mount point, inclusive. */
	for (;;) {
		size_t i, l;

		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			uint64_t v = 0;
			if (limit_read_file(dir, files[i], &v) == 0) {
				found = 1;
				best = limit_min(best, v);
			}
		}
		l = strlen(dir);
		while (l > ml && dir[l - 1] == '/')
			dir[--l] = '\0';
		if (l <= ml)
			break;
		while (l > ml && dir[l - 1] != '/')
			l--;
		dir[l > ml ? l - 1 : ml] = '\0';
	}
	*bytes = best;
	return found ? 0 : -ENOENT;
}

int
mri_limit_cgroup(uint64_t *bytes)
{
	static char buf[65536]; /* start-up only: not on a thread's stack */
	char mnt[2048], rel[2048];
	int rc, is_v2;

	*bytes = 0;
	rc = mrc_cgpath_self_memory("/proc", buf, sizeof(buf), mnt,
				    sizeof(mnt), rel, sizeof(rel), &is_v2);
	if (rc < 0)
		return rc;
	return mri_limit_cgroup_walk(mnt, rel, bytes);
}
