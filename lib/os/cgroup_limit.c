/*
 * cgroup_limit.c: the memory limit of the process's cgroup, for the soft
 * limit's default (see limit.c).
 *
 * /proc/self/mountinfo and /proc/self/cgroup tell where the memory
 * controller's hierarchy is mounted and which cgroup we are in (v1, or v2
 * when the memory controller is there; on hybrid hosts like ours the memory
 * controller is v1).  From that cgroup up
 * to the hierarchy's root we take the smallest of v1 memory.limit_in_bytes
 * and v2 memory.max and memory.high, whichever exist: a parent's limit
 * bounds its children.  "max" and v1's "unlimited" (PAGE_COUNTER_MAX pages)
 * mean no limit.  The files are read with open/read.  Kept apart from
 * limit.c so it can be tested on its own against real cgroups.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memreclaim.h"
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

/* Read a whole small /proc file into buf (NUL-terminated).  Returns the
 * length or -errno; -E2BIG when it does not fit. */
static ssize_t
limit_slurp(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return len == cap - 1 ? -E2BIG : (ssize_t)len;
}

/* Is tok one of the comma-separated words of list (up to end)? */
static int
limit_has_word(const char *list, const char *end, const char *tok)
{
	size_t tl = strlen(tok);
	const char *p = list;

	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t l = (size_t)((c ? c : end) - p);
		if (l == tl && !memcmp(p, tok, tl))
			return 1;
		p = c ? c + 1 : end;
	}
	return 0;
}

/* Copy a mountinfo field, decoding its octal escapes (\040 for a space). */
static int
limit_unescape(char *out, size_t cap, const char *f, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char ch = f[i];
		if (ch == '\\' && i + 3 < len) {
			ch = (char)(((f[i + 1] - '0') << 6) |
				    ((f[i + 2] - '0') << 3) | (f[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}

/*
 * Where the memory controller is mounted and which cgroup we are in, from
 * /proc/self/mountinfo and /proc/self/cgroup: v1 (a "cgroup" mount whose
 * super options name "memory") first, as on hybrid hosts, else v2 (the
 * "cgroup2" mount).  rel is our path relative to the mount, with the
 * mount's own root (a container's namespace) taken off.
 *
 * Not libcgroup, on purpose: cgroup_init() fills libcgroup's static tables,
 * about 800 KiB of .bss that then stays resident in every process using the
 * library (pmap of a trivial preloaded program: 804 KiB of its 2988 KiB
 * RSS).  The daemon, one per host, still uses libcgroup.
 */
static int
limit_find_memcg(char *mnt, size_t mcap, char *rel, size_t rcap)
{
	static char buf[65536]; /* scavenger thread or start-up only */
	char root[2048] = "/", want[16] = "", path[4096];
	ssize_t n = limit_slurp("/proc/self/mountinfo", buf, sizeof(buf));
	char *line, *e;
	int v1 = 0, found = 0;

	if (n < 0)
		return (int)n;
	for (line = buf; *line; line = e ? e + 1 : line + strlen(line)) {
		char *f[10], *dash, *p = line;
		int nf = 0, isv1, isv2;

		e = strchr(line, '\n');
		if (e)
			*e = '\0';
		dash = strstr(line, " - ");
		if (!dash)
			continue;
		while (nf < 10 && p < dash) { /* fields before " - " */
			f[nf++] = p;
			p = strchr(p, ' ');
			if (!p || p > dash)
				break;
			*p++ = '\0';
		}
		if (nf < 5)
			continue;
		p = dash + 3; /* fstype source super */
		isv1 = !strncmp(p, "cgroup ", 7);
		isv2 = !strncmp(p, "cgroup2 ", 8);
		if (!isv1 && !isv2)
			continue;
		if (isv1) {
			char *super = strrchr(p, ' ');
			if (!super ||
			    !limit_has_word(super + 1,
					    super + 1 + strlen(super + 1),
					    "memory"))
				continue;
		} else if (found) {
			continue; /* v1 memory wins */
		}
		if (limit_unescape(mnt, mcap, f[4], strlen(f[4])) ||
		    limit_unescape(root, sizeof(root), f[3], strlen(f[3])))
			return -ENAMETOOLONG;
		found = 1;
		if (isv1) {
			v1 = 1;
			break;
		}
	}
	if (!found)
		return -ENOENT;
	if (!v1) {
		/* v2: only if the memory controller is enabled there
		 * (cgroup.controllers lists them separated by spaces) */
		char *q;
		if (snprintf(path, sizeof(path), "%s/cgroup.controllers",
			     mnt) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		n = limit_slurp(path, buf, 4096);
		if (n < 0)
			return (int)n;
		for (q = buf; *q; q++)
			if (*q == ' ' || *q == '\n')
				*q = ',';
		if (!limit_has_word(buf, buf + n, "memory"))
			return -ENOENT;
	}
	strcpy(want, v1 ? "memory" : "");
	n = limit_slurp("/proc/self/cgroup", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	for (line = buf; *line; line = e ? e + 1 : line + strlen(line)) {
		char *c1 = strchr(line, ':'), *c2;
		size_t rl;

		e = strchr(line, '\n');
		if (e)
			*e = '\0';
		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		if (v1 ? !limit_has_word(c1 + 1, c2, want)
		       : (c2 != c1 + 1 || strncmp(line, "0:", 2)))
			continue;
		/* strip the mount's root (the cgroup namespace's base) */
		rl = strlen(root);
		c2++;
		if (rl > 1 && !strncmp(c2, root, rl) &&
		    (c2[rl] == '/' || !c2[rl]))
			c2 += rl;
		if (strlen(c2) + 1 > rcap)
			return -ENAMETOOLONG;
		strcpy(rel, *c2 ? c2 : "/");
		return 0;
	}
	return -ENOENT;
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
	char mnt[2048], rel[2048];
	int rc;

	*bytes = 0;
	rc = limit_find_memcg(mnt, sizeof(mnt), rel, sizeof(rel));
	if (rc < 0)
		return rc;
	return mri_limit_cgroup_walk(mnt, rel, bytes);
}
