/*
 * cgroupfs.c: cgroup v1/v2/hybrid reads relative to configurable roots
 * (see cgroupfs.h).  Only this file knows cgroup file names.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cgpath.h"

#include "cgroupfs.h"

#define CGFS_UNLIMITED (1ull << 62)

/* Read a small file relative to dirfd into buf (NUL-ended).  Returns the
 * length or -errno; -ENODEV (file of a removed cgroup) becomes -ENOENT. */
static int
cgfs_read_at(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd, err;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENODEV ? -ENOENT : -errno;
	n = pread(fd, buf, len - 1, 0);
	err = errno;
	close(fd);
	if (n < 0)
		return err == ENODEV ? -ENOENT : -err;
	buf[n] = '\0';
	return (int)n;
}

static int
cgfs_set_root(char *dst, const char *src)
{
	size_t n;

	if (src == NULL)
		src = "";
	n = strlen(src);
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	/* "/sys/fs/cgroup/memory/" -> "/sys/fs/cgroup/memory" */
	while (n > 1 && dst[n - 1] == '/')
		dst[--n] = '\0';
	return 0;
}

int
cgfs_open(struct cgfs *fs, const char *memory_root, int memory_v2,
	  const char *unified_root, const char *proc_root)
{
	memset(fs, 0, sizeof(*fs));
	fs->memfd = fs->unifd = -1;
	if (cgfs_set_root(fs->memory_root, memory_root) < 0 ||
	    cgfs_set_root(fs->unified_root, unified_root) < 0 ||
	    cgfs_set_root(fs->proc_root, proc_root ? proc_root : "/proc") < 0)
		return -ENAMETOOLONG;
	fs->memory_v2 = memory_v2;
	fs->memfd = open(fs->memory_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->memfd < 0)
		return -errno;
	if (memory_v2 && fs->unified_root[0] == '\0')
		memcpy(fs->unified_root, fs->memory_root, PATH_MAX);
	if (fs->unified_root[0] != '\0') {
		fs->unifd =
		    open(fs->unified_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fs->unifd < 0) {
			int err = -errno;

			cgfs_close(fs);
			return err;
		}
	}
	return 0;
}

void
cgfs_close(struct cgfs *fs)
{
	if (fs->memfd >= 0)
		close(fs->memfd);
	if (fs->unifd >= 0)
		close(fs->unifd);
	fs->memfd = fs->unifd = -1;
}

static int
cgfs_read_path(const char *path, char *buf, size_t len)
{
	return cgfs_read_at(AT_FDCWD, path, buf, len);
}

int
cgfs_discover(struct cgfs *fs, const char *proc_root)
{
	char path[PATH_MAX], mem[PATH_MAX] = "", uni[PATH_MAX] = "";
	char *text, *mp = NULL;
	int rc, v2 = 0, uselib = 0;

	if (proc_root == NULL)
		proc_root = "/proc";
	text = malloc(1 << 16);
	if (text == NULL)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/self/mountinfo", proc_root);
	rc = (int)mrc_cgpath_read(path, text, 1 << 16);
	if (rc < 0) {
		free(text);
		return rc;
	}
	(void)mrc_cgpath_mountinfo_find(text, NULL, uni, sizeof(uni), NULL, 0);
	/* libcgroup knows v1, v2 and hybrid layouts; ask it first, but only
	 * about the real /proc: it reads the host's mounts, not a fake tree */
	if (strcmp(proc_root, "/proc") == 0 && cgroup_init() == 0 &&
	    cgroup_get_subsys_mount_point("memory", &mp) == 0 && mp) {
		snprintf(mem, sizeof(mem), "%s", mp);
		uselib = 1;
	}
	free(mp);
	if (mem[0] == '\0' &&
	    mrc_cgpath_mountinfo_find(text, "memory", mem, sizeof(mem), NULL,
				      0) < 0) {
		/* pure v2: memory lives on the unified mount */
		if (uni[0] == '\0') {
			free(text);
			return -ENOENT;
		}
		snprintf(mem, sizeof(mem), "%s", uni);
	}
	free(text);
	snprintf(path, sizeof(path), "%s/cgroup.controllers", mem);
	v2 = access(path, F_OK) == 0;
	rc = cgfs_open(fs, mem, v2, uni, proc_root);
	if (rc == 0)
		fs->use_libcgroup = uselib && strcmp(proc_root, "/proc") == 0;
	return rc;
}

int
cgfs_pid_paths(const struct cgfs *fs, pid_t pid, char *mem, size_t memlen,
	       char *v2, size_t v2len)
{
	char path[PATH_MAX + 32], buf[4096];
	int rc, found_mem;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "%s/%d/cgroup", fs->proc_root, (int)pid);
	rc = cgfs_read_path(path, buf, sizeof(buf));
	if (rc < 0)
		return rc == -ENOENT ? -ESRCH : rc;
	rc = mrc_cgpath_proc_cgroup(buf, "memory", mem, memlen, v2, v2len);
	if (rc < 0)
		return rc;
	found_mem = mem[0] != '\0';
	if (fs->use_libcgroup && !fs->memory_v2) {
		char *p = NULL;

		/* libcgroup's view wins where it has one */
		if (cgroup_get_current_controller_path(pid, "memory", &p) ==
			0 &&
		    p && strlen(p) < memlen) {
			strcpy(mem, p);
			found_mem = 1;
		}
		free(p);
	}
	if (fs->memory_v2) {
		if (v2[0] == '\0')
			return -ENOENT;
		snprintf(mem, memlen, "%s", v2);
		return 0;
	}
	if (fs->unifd < 0)
		v2[0] = '\0';
	return found_mem ? 0 : -ENOENT;
}

int
cgfs_parse_start_time(const char *stat, uint64_t *out)
{
	const char *p = strrchr(stat, ')');
	unsigned long long v;
	int field;

	/* "PID (comm) S ppid ...": comm may hold spaces and ')', so fields
	 * are counted from the last ')'; starttime is field 22, the 20th
	 * after it */
	if (p == NULL)
		return -EINVAL;
	p++;
	for (field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		if (*p == '\0' || *p == '\n')
			return -EINVAL;
		while (*p != ' ' && *p != '\0' && *p != '\n')
			p++;
	}
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (v = 0; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (*p != ' ' && *p != '\n' && *p != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

int
cgfs_pid_start_time(const struct cgfs *fs, pid_t pid, uint64_t *out)
{
	char path[PATH_MAX + 32], buf[1024];
	int rc;

	snprintf(path, sizeof(path), "%s/%d/stat", fs->proc_root, (int)pid);
	rc = cgfs_read_path(path, buf, sizeof(buf));
	if (rc < 0)
		return rc == -ENOENT ? -ESRCH : rc;
	return cgfs_parse_start_time(buf, out);
}

int
cgfs_oom_score_adj(const struct cgfs *fs, pid_t pid, int *adj)
{
	char path[PATH_MAX + 32], buf[32], *end;
	long v;
	int rc;

	snprintf(path, sizeof(path), "%s/%d/oom_score_adj", fs->proc_root,
		 (int)pid);
	rc = cgfs_read_path(path, buf, sizeof(buf));
	if (rc < 0)
		return rc == -ENOENT ? -ESRCH : rc;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end != '\0') ||
	    v < -1000 || v > 1000)
		return -EINVAL;
	*adj = (int)v;
	return 0;
}

int
cgfs_proc_rss(const struct cgfs *fs, pid_t pid, uint64_t *bytes)
{
	char path[PATH_MAX + 32], buf[128];
	unsigned long long size, res;
	int rc;

	snprintf(path, sizeof(path), "%s/%d/statm", fs->proc_root, (int)pid);
	rc = cgfs_read_path(path, buf, sizeof(buf));
	if (rc < 0)
		return rc == -ENOENT ? -ESRCH : rc;
	if (sscanf(buf, "%llu %llu", &size, &res) != 2 ||
	    res > UINT64_MAX / 65536)
		return -EINVAL;
	*bytes = (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

int
cgfs_proc_comm(const struct cgfs *fs, pid_t pid, char *buf, size_t len)
{
	char path[PATH_MAX + 32];
	int rc;

	snprintf(path, sizeof(path), "%s/%d/comm", fs->proc_root, (int)pid);
	rc = cgfs_read_path(path, buf, len);
	if (rc < 0)
		return rc == -ENOENT ? -ESRCH : rc;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Open each component of path below rootfd; fds[0] is the root itself.
 * Returns the count or -errno. */
static int
cgfs_open_chain(int rootfd, const char *path, int *fds, int max)
{
	char buf[CGFS_PATH_MAX], *c, *save = NULL;
	int n = 0;

	if (strlen(path) >= sizeof(buf) || path[0] != '/')
		return -EINVAL;
	strcpy(buf, path);
	fds[n] = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fds[n] < 0)
		return -errno;
	n++;
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, "..") == 0 || strcmp(c, ".") == 0 || n == max) {
			while (n > 0)
				close(fds[--n]);
			return -EINVAL;
		}
		fds[n] =
		    openat(fds[n - 1], c,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fds[n] < 0) {
			int err = -errno;

			while (n > 0)
				close(fds[--n]);
			return err;
		}
		n++;
	}
	return n;
}

int
cgfs_group_open(const struct cgfs *fs, const char *path, const char *psi_path,
		struct cgfs_group *g)
{
	int rc;

	memset(g, 0, sizeof(*g));
	g->dirfd = g->psidirfd = -1;
	if (strlen(path) >= sizeof(g->path))
		return -ENAMETOOLONG;
	strcpy(g->path, path);
	g->v2 = fs->memory_v2;
	{
		int chain[CGFS_MAX_DEPTH], i;

		/* walked one O_NOFOLLOW step at a time, but only the cgroup
		 * itself stays open: ancestors are read through "../" from
		 * it, so a deep cgroup costs one descriptor, not its depth */
		rc = cgfs_open_chain(fs->memfd, path, chain, CGFS_MAX_DEPTH);
		if (rc < 0)
			return rc;
		g->nanc = rc;
		g->dirfd = chain[rc - 1];
		for (i = 0; i < rc - 1; i++)
			close(chain[i]);
	}
	if (fs->memory_v2 && (psi_path == NULL || psi_path[0] == '\0'))
		psi_path = path;
	if (psi_path && psi_path[0] != '\0' && fs->unifd >= 0 &&
	    strlen(psi_path) < sizeof(g->psi_path)) {
		int chain[CGFS_MAX_DEPTH], n, i;

		n = cgfs_open_chain(fs->unifd, psi_path, chain, CGFS_MAX_DEPTH);
		if (n > 0) {
			g->psidirfd = chain[n - 1];
			for (i = 0; i < n - 1; i++)
				close(chain[i]);
			strcpy(g->psi_path, psi_path);
		}
		/* no v2 twin (hybrid without it): host PSI stands in */
	}
	return 0;
}

void
cgfs_group_close(struct cgfs_group *g)
{
	if (g->dirfd >= 0)
		close(g->dirfd);
	if (g->psidirfd >= 0)
		close(g->psidirfd);
	g->nanc = 0;
	g->dirfd = g->psidirfd = -1;
}

int
cgfs_parse_limit(const char *text, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (strcmp(text, "max\n") == 0 || strcmp(text, "max") == 0) {
		*out = CGFS_NO_LIMIT;
		return 0;
	}
	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || (*end != '\n' && *end != '\0') ||
	    (*end == '\n' && end[1] != '\0'))
		return -EINVAL;
	*out = v >= CGFS_UNLIMITED ? CGFS_NO_LIMIT : v;
	return 0;
}

int
cgfs_stat_find(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			char *end;

			errno = 0;
			*out = strtoull(p + kl + 1, &end, 10);
			if (errno || end == p + kl + 1 ||
			    (*end != '\n' && *end != '\0'))
				return -EINVAL;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

static int
cgfs_read_u64(int dirfd, const char *name, uint64_t *out)
{
	char buf[64];
	int rc = cgfs_read_at(dirfd, name, buf, sizeof(buf));

	if (rc < 0)
		return rc;
	return cgfs_parse_limit(buf, out);
}

int
cgfs_group_read(const struct cgfs_group *g, struct cgfs_sample *s)
{
	static const char *const v1lim[] = {"memory.limit_in_bytes", NULL};
	static const char *const v2lim[] = {"memory.max", "memory.high", NULL};
	const char *const *lim = g->v2 ? v2lim : v1lim;
	char stat[8192];
	int i, j, rc;

	memset(s, 0, sizeof(*s));
	s->limit_bytes = CGFS_NO_LIMIT;
	rc = cgfs_read_u64(g->dirfd,
			   g->v2 ? "memory.current" : "memory.usage_in_bytes",
			   &s->usage_bytes);
	if (rc < 0)
		return rc;
	if (s->usage_bytes == CGFS_NO_LIMIT)
		return -EINVAL;
	for (i = 0; i < g->nanc; i++) {
		char name[CGFS_MAX_DEPTH * 3 + 32];
		int up = g->nanc - 1 - i, k;

		for (j = 0; lim[j]; j++) {
			uint64_t v;

			for (k = 0; k < up; k++)
				memcpy(name + 3 * k, "../", 3);
			snprintf(name + 3 * up, sizeof(name) - 3 * (size_t)up,
				 "%s", lim[j]);
			rc = cgfs_read_u64(g->dirfd, name, &v);
			if (rc == -ENOENT && i < g->nanc - 1)
				continue; /* v2 root has no memory.max */
			if (rc < 0)
				return rc;
			if (v < s->limit_bytes)
				s->limit_bytes = v;
		}
	}
	rc = cgfs_read_at(g->dirfd, "memory.stat", stat, sizeof(stat));
	if (rc < 0)
		return rc;
	if (g->v2) {
		rc = cgfs_stat_find(stat, "inactive_file",
				    &s->inactive_file_bytes);
		if (rc == 0)
			rc = cgfs_stat_find(stat, "anon", &s->anon_bytes);
	} else {
		/* total_*: hierarchical, includes children */
		rc = cgfs_stat_find(stat, "total_inactive_file",
				    &s->inactive_file_bytes);
		if (rc == 0)
			rc = cgfs_stat_find(stat, "total_rss", &s->anon_bytes);
	}
	if (rc < 0)
		return rc == -ENOENT ? -EINVAL : rc;
	/* limit hits and OOMs: optional files (fake trees, old kernels) */
	if (g->v2) {
		/* "high" only wakes the loop (memory.events changes): going
		 * over memory.high throttles, it does not kill */
		rc = cgfs_read_at(g->dirfd, "memory.events", stat, sizeof(stat));
		if (rc >= 0) {
			(void)cgfs_stat_find(stat, "max", &s->max_events);
			(void)cgfs_stat_find(stat, "oom", &s->oom_events);
		}
	} else {
		if (cgfs_read_u64(g->dirfd, "memory.failcnt", &s->max_events) <
			0 ||
		    s->max_events == CGFS_NO_LIMIT)
			s->max_events = 0;
		rc = cgfs_read_at(g->dirfd, "memory.oom_control", stat,
				  sizeof(stat));
		if (rc >= 0)
			(void)cgfs_stat_find(stat, "oom_kill", &s->oom_events);
	}
	if (g->psidirfd >= 0) {
		int fd = openat(g->psidirfd, "memory.pressure",
				O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return errno == ENODEV ? -ENOENT : -errno;
		rc = psi_read_fd(fd, &s->psi);
		close(fd);
		if (rc == -ENODEV)
			return -ENOENT;
		if (rc < 0)
			return rc;
		s->has_psi = 1;
	}
	return 0;
}
