/*
 * cgpath.c: cgroup mount and membership discovery from procfs (see
 * cgpath.h).
 *
 * Not libcgroup, on purpose: cgroup_init() fills libcgroup's static
 * tables, a large .bss that would stay resident in every process using the
 * library.  Lines are parsed in place on const text with lengths, never
 * copied into a line buffer, so no line is too long and nothing allocates.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cgpath.h"

ssize_t
mrc_cgpath_read(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n = 0;
	int fd, err;

	if (cap < 2)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	err = errno;
	close(fd);
	buf[len] = '\0';
	if (n < 0)
		return -err;
	if (len == cap - 1)
		return -E2BIG;
	return (ssize_t)len;
}

static int
cgpath_octal(char c)
{
	return c >= '0' && c <= '7';
}

int
mrc_cgpath_unescape(char *out, size_t cap, const char *f, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char ch = f[i];

		if (ch == '\\' && i + 3 < len && cgpath_octal(f[i + 1]) &&
		    cgpath_octal(f[i + 2]) && cgpath_octal(f[i + 3])) {
			ch = (char)(((f[i + 1] - '0') << 6) |
				    ((f[i + 2] - '0') << 3) | (f[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = ch;
	}
	if (cap == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

/* Is the word w (wl bytes) one of the sep-separated words of [p, end)? */
static int
cgpath_has_word(const char *p, const char *end, char sep, const char *w,
		size_t wl)
{
	while (p < end) {
		const char *c = memchr(p, sep, (size_t)(end - p));
		size_t l = (size_t)((c ? c : end) - p);

		if (l == wl && memcmp(p, w, wl) == 0)
			return 1;
		p = c ? c + 1 : end;
	}
	return 0;
}

/* The next space-separated field of [*pp, end): start and length. */
static int
cgpath_field(const char **pp, const char *end, const char **f, size_t *fl)
{
	const char *p = *pp, *e;

	while (p < end && *p == ' ')
		p++;
	if (p >= end)
		return 0;
	e = memchr(p, ' ', (size_t)(end - p));
	if (e == NULL)
		e = end;
	*f = p;
	*fl = (size_t)(e - p);
	*pp = e;
	return 1;
}

int
mrc_cgpath_mountinfo_find(const char *text, const char *controller, char *mnt,
			  size_t mntlen, char *root, size_t rootlen)
{
	const char *line = text;

	while (line != NULL && *line != '\0') {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *p = line, *f[6], *fs, *src, *super;
		size_t fl[6], fsl, srcl, superl;
		int nf = 0, hit = 0, rc;

		line = eol ? eol + 1 : NULL;
		/* id parent maj:min root mountpoint opts [optional...] -
		 * fstype source superopts */
		while (nf < 6 && cgpath_field(&p, end, &f[nf], &fl[nf]))
			nf++;
		if (nf < 6)
			continue;
		while (!(fl[5] == 1 && f[5][0] == '-'))
			if (!cgpath_field(&p, end, &f[5], &fl[5]))
				break;
		if (!(fl[5] == 1 && f[5][0] == '-'))
			continue;
		if (!cgpath_field(&p, end, &fs, &fsl) ||
		    !cgpath_field(&p, end, &src, &srcl))
			continue;
		if (!cgpath_field(&p, end, &super, &superl))
			superl = 0, super = end;
		if (controller == NULL)
			hit = fsl == 7 && memcmp(fs, "cgroup2", 7) == 0;
		else if (fsl == 6 && memcmp(fs, "cgroup", 6) == 0)
			hit = cgpath_has_word(super, super + superl, ',',
					      controller, strlen(controller));
		if (!hit)
			continue;
		rc = mrc_cgpath_unescape(mnt, mntlen, f[4], fl[4]);
		if (rc == 0 && root != NULL)
			rc = mrc_cgpath_unescape(root, rootlen, f[3], fl[3]);
		return rc;
	}
	return -ENOENT;
}

static int
cgpath_copy(char *out, size_t cap, const char *s, size_t len)
{
	if (out == NULL)
		return 0;
	if (len + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int
mrc_cgpath_proc_cgroup(const char *text, const char *controller, char *mem,
		       size_t memlen, char *v2, size_t v2len)
{
	const char *line = text;

	if (mem != NULL && memlen > 0)
		mem[0] = '\0';
	if (v2 != NULL && v2len > 0)
		v2[0] = '\0';
	while (line != NULL && *line != '\0') {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *c1, *c2;
		int rc = 0;

		/* ID:CONTROLLERS:/PATH; v2 is 0::/PATH */
		c1 = memchr(line, ':', (size_t)(end - line));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (c2 == NULL || c2 + 1 >= end || c2[1] != '/')
			return -EINVAL;
		if (c1 == line + 1 && line[0] == '0' && c2 == c1 + 1)
			rc = cgpath_copy(v2, v2len, c2 + 1,
					 (size_t)(end - c2 - 1));
		else if (controller != NULL &&
			 cgpath_has_word(c1 + 1, c2, ',', controller,
					 strlen(controller)))
			rc = cgpath_copy(mem, memlen, c2 + 1,
					 (size_t)(end - c2 - 1));
		if (rc < 0)
			return rc;
		line = eol ? eol + 1 : NULL;
	}
	return 0;
}

void
mrc_cgpath_strip_root(char *path, const char *root)
{
	size_t rl = strlen(root), pl;

	if (rl <= 1 || strncmp(path, root, rl) != 0 ||
	    (path[rl] != '/' && path[rl] != '\0'))
		return;
	pl = strlen(path);
	if (pl == rl) {
		path[0] = '/';
		path[1] = '\0';
		return;
	}
	memmove(path, path + rl, pl - rl + 1);
}

/* Build dir + "/" + name into out. */
static int
cgpath_join(char *out, size_t cap, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);

	if (dl + nl + 2 > cap)
		return -ENAMETOOLONG;
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, name, nl + 1);
	return 0;
}

int
mrc_cgpath_self_memory(const char *proc_root, char *buf, size_t cap, char *mnt,
		       size_t mntlen, char *rel, size_t rellen, int *is_v2)
{
	char root[4096], path[4096];
	ssize_t n;
	int rc, v2 = 0;

	rc = cgpath_join(path, sizeof(path), proc_root, "self/mountinfo");
	if (rc < 0)
		return rc;
	n = mrc_cgpath_read(path, buf, cap);
	if (n < 0)
		return (int)n;
	rc = mrc_cgpath_mountinfo_find(buf, "memory", mnt, mntlen, root,
				       sizeof(root));
	if (rc == -ENOENT) {
		rc = mrc_cgpath_mountinfo_find(buf, NULL, mnt, mntlen, root,
					       sizeof(root));
		v2 = 1;
	}
	if (rc < 0)
		return rc;
	if (v2) {
		/* only if the memory controller is enabled there */
		char *q;

		rc = cgpath_join(path, sizeof(path), mnt, "cgroup.controllers");
		if (rc < 0)
			return rc;
		n = mrc_cgpath_read(path, buf, cap);
		if (n < 0)
			return (int)n;
		for (q = buf; *q != '\0'; q++)
			if (*q == '\n')
				*q = ' ';
		if (!cgpath_has_word(buf, buf + n, ' ', "memory", 6))
			return -ENOENT;
	}
	rc = cgpath_join(path, sizeof(path), proc_root, "self/cgroup");
	if (rc < 0)
		return rc;
	n = mrc_cgpath_read(path, buf, cap);
	if (n < 0)
		return (int)n;
	rc = v2 ? mrc_cgpath_proc_cgroup(buf, NULL, NULL, 0, rel, rellen)
		: mrc_cgpath_proc_cgroup(buf, "memory", rel, rellen, NULL, 0);
	if (rc < 0)
		return rc;
	if (rel[0] == '\0')
		return -ENOENT;
	mrc_cgpath_strip_root(rel, root);
	*is_v2 = v2;
	return 0;
}
