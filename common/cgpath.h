/*
 * common/cgpath.h: where the cgroup hierarchies are and which cgroup a
 * process is in.
 *
 * Owns the parsing of /proc/PID/mountinfo (the cgroup v1 mount holding a
 * controller, the cgroup2 mount, with the kernel's octal escapes \040
 * \011 \012 \134 decoded) and of /proc/PID/cgroup (the v1 path of a
 * controller, the v2 "0::" path).  Reading limits, usage and pressure is
 * left to the callers (lib/ cgroup limit, daemon/cgroupfs).
 *
 * The proc root is a parameter, so tests run on fake trees.  Nothing here
 * allocates or uses stdio (the library calls it): text and results live in
 * caller buffers.  Every function returns 0 or -errno.
 */
#ifndef MRC_CGPATH_H
#define MRC_CGPATH_H

#include <stddef.h>
#include <sys/types.h>

/* Read the whole file at path into buf (NUL-ended).  Returns the length,
 * or -errno; -E2BIG when it does not fit in cap - 1 bytes. */
ssize_t mrc_cgpath_read(const char *path, char *buf, size_t cap);

/* Copy the mountinfo field f (len bytes) into out, decoding the octal
 * escapes (\040 is a space).  0 or -ENAMETOOLONG. */
int mrc_cgpath_unescape(char *out, size_t cap, const char *f, size_t len);

/*
 * In the text of a mountinfo file, find the mount of the cgroup v1
 * hierarchy whose super options list `controller`, or, controller NULL,
 * the cgroup2 mount.  The first match wins.  Sets mnt to its mount point
 * and, unless root is NULL, root to the mount's root inside the hierarchy
 * (not "/" in a cgroup namespace), both decoded.  Returns 0, -ENOENT, or
 * -ENAMETOOLONG.
 */
int mrc_cgpath_mountinfo_find(const char *text, const char *controller,
			      char *mnt, size_t mntlen, char *root,
			      size_t rootlen);

/*
 * In the text of a /proc/PID/cgroup file, the path of the v1 hierarchy
 * holding `controller` (mem; "" when none) and the cgroup2 path (v2, the
 * "0::" line; "" when none).  Either output may be NULL when not wanted.
 * Returns 0, -EINVAL for a line that is not ID:CONTROLLERS:/PATH, or
 * -ENAMETOOLONG.
 */
int mrc_cgpath_proc_cgroup(const char *text, const char *controller, char *mem,
			   size_t memlen, char *v2, size_t v2len);

/* Take a mount's root (from mrc_cgpath_mountinfo_find) off the front of a
 * /proc/PID/cgroup path, in place: in a cgroup namespace "/ns/app" under
 * a mount of root "/ns" is "/app" below the mount point. */
void mrc_cgpath_strip_root(char *path, const char *root);

/*
 * The memory controller of the calling process: mount point (mnt), our
 * path below it (rel, starting with '/'), and whether it is cgroup2.  The
 * v1 memory hierarchy wins (hybrid hosts); else the cgroup2 mount if
 * "memory" is in its cgroup.controllers.  proc_root is "/proc" outside
 * tests; buf is scratch for the /proc files (64 KiB is plenty).  Returns
 * 0, -ENOENT (no memory controller, or we are in none), or -errno.
 */
int mrc_cgpath_self_memory(const char *proc_root, char *buf, size_t cap,
			   char *mnt, size_t mntlen, char *rel, size_t rellen,
			   int *is_v2);

#endif
