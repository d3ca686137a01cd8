/*
 * cgroupfs.h: reading cgroup memory limits, usage and pressure.
 *
 * Owns the layout of the cgroup filesystems: cgroup v2 (memory.max,
 * memory.high, memory.current, memory.stat, memory.pressure in one
 * directory), v1 (memory.limit_in_bytes, memory.usage_in_bytes,
 * memory.stat in the memory hierarchy, no PSI) and hybrid (v1 memory
 * controller, PSI from the v2 hierarchy, as systemd's "hybrid" mode sets
 * up).  Every root (memory hierarchy, unified hierarchy, procfs) is a
 * parameter, so the unit tests run on fake trees.  cgfs_discover() finds
 * the real ones with libcgroup and /proc/self/mountinfo; parsing the
 * mountinfo and /proc/PID/cgroup files is common/cgpath's.
 *
 * Periodic reads use openat()/pread() relative to directory fds opened once
 * per watched cgroup.  A cgroup that disappears is normal: reads return
 * -ENOENT and the caller forgets the group.  Policy is not here.
 */
#ifndef MRD_CGROUPFS_H
#define MRD_CGROUPFS_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "psi.h"

#define CGFS_PATH_MAX 256 /* a cgroup path relative to its root */
#define CGFS_MAX_DEPTH 32 /* ancestors whose limits we read */
#define CGFS_NO_LIMIT UINT64_MAX

struct cgfs {
	char memory_root[PATH_MAX];  /* memory controller mount */
	char unified_root[PATH_MAX]; /* cgroup2 mount for PSI, "" none */
	char proc_root[PATH_MAX];    /* procfs mount */
	int memory_v2;		     /* memory controller on cgroup2 */
	int use_libcgroup;	     /* cgfs_pid_paths asks libcgroup */
	int memfd;		     /* O_PATH dir fd of memory_root */
	int unifd;		     /* dir fd of unified_root, or -1 */
};

/* Set up fs for explicit roots (tests, config overrides).  unified_root
 * may be NULL or "" (no PSI per cgroup).  Returns 0 or -errno. */
int cgfs_open(struct cgfs *fs, const char *memory_root, int memory_v2,
	      const char *unified_root, const char *proc_root);

/* Find the real roots: the memory controller's mount through libcgroup
 * (cgroup_get_subsys_mount_point, else mountinfo), the cgroup2 mount from
 * <proc_root>/self/mountinfo (its \040 escapes decoded).  Returns 0 or
 * -errno (-ENOENT: no memory controller mounted). */
int cgfs_discover(struct cgfs *fs, const char *proc_root);

void cgfs_close(struct cgfs *fs);

/* The cgroup of pid: the memory controller's path (mem) and its cgroup2
 * path (v2, for PSI; "" when not on a v2 hierarchy).  Paths start with
 * '/'.  Returns 0, -ESRCH (no such process) or -errno. */
int cgfs_pid_paths(const struct cgfs *fs, pid_t pid, char *mem, size_t memlen,
		   char *v2, size_t v2len);

/* starttime (field 22, clock ticks since boot) of /proc/PID/stat: with
 * the pid, it names one process for good.  0, -ESRCH, -EINVAL. */
int cgfs_pid_start_time(const struct cgfs *fs, pid_t pid, uint64_t *out);
int cgfs_parse_start_time(const char *stat, uint64_t *out);
/* /proc/PID/oom_score_adj into *adj.  Returns 0 or -errno. */
int cgfs_oom_score_adj(const struct cgfs *fs, pid_t pid, int *adj);

/* Resident bytes of pid from /proc/PID/statm (the daemon's own view, not
 * the client's report).  Returns 0 or -errno (-ESRCH: gone). */
int cgfs_proc_rss(const struct cgfs *fs, pid_t pid, uint64_t *bytes);

/* /proc/PID/comm as the kernel wrote it (newline dropped), into buf of
 * len bytes.  Returns 0 or -errno (-ESRCH: gone). */
int cgfs_proc_comm(const struct cgfs *fs, pid_t pid, char *buf, size_t len);

struct cgfs_group {
	char path[CGFS_PATH_MAX];     /* memory cgroup, from memory_root */
	char psi_path[CGFS_PATH_MAX]; /* pressure cgroup, "" none */
	int v2;			      /* memory files are v2 names */
	int dirfd;		      /* the memory cgroup directory */
	int nanc;		      /* depth + 1: dirfd's "../"s to root */
	int psidirfd; /* dir of memory.pressure or -1 */
};

struct cgfs_sample {
	/* smallest limit up the tree (v2: max and high), CGFS_NO_LIMIT if
	 * none */
	uint64_t limit_bytes;
	uint64_t usage_bytes;	      /* memory.current / usage_in_bytes */
	uint64_t inactive_file_bytes; /* reclaimable cache, from memory.stat */
	uint64_t anon_bytes;	      /* anon (v2) / total_rss (v1) */
	/* times the limit was hit: v2 memory.events "max", v1
	 * memory.failcnt; and OOMs: v2 "oom", v1
	 * memory.oom_control "oom_kill" (0 where the file lacks it) */
	uint64_t max_events;
	uint64_t oom_events;
	int has_psi;
	struct psi_sample psi;
};

/* Open the directories of a cgroup.  psi_path may be NULL/"" (no PSI).
 * Returns 0, -ENOENT if the cgroup does not exist, or -errno. */
int cgfs_group_open(const struct cgfs *fs, const char *path,
		    const char *psi_path, struct cgfs_group *g);
void cgfs_group_close(struct cgfs_group *g);

/* Read limits, usage, stat and pressure.  Returns 0, -ENOENT when the
 * cgroup has gone, or -errno/-EINVAL for unreadable/garbled files. */
int cgfs_group_read(const struct cgfs_group *g, struct cgfs_sample *s);

/* Parse a limit file's text: a number, or "max" (v2).  Values at or above
 * 2^62 (v1's "unlimited" page-rounded LLONG_MAX) mean no limit.  0 or
 * -EINVAL. */
int cgfs_parse_limit(const char *text, uint64_t *out);

/* Find `key` in memory.stat text; 0 or -ENOENT/-EINVAL. */
int cgfs_stat_find(const char *text, const char *key, uint64_t *out);

#endif
