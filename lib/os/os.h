/*
 * os.h: the allocator's only door to the kernel for memory and time.
 *
 * Every mmap, munmap, madvise (on the plain path), mbind, clock read and
 * topology query the allocator makes goes through the table `mri_os`.  The
 * real table calls the kernel; unit tests install a fake one (a static arena,
 * recorded advice, a settable clock, a fake two-node topology, and a
 * fail-the-Nth-map switch) so the page heap and size classes are tested
 * without the kernel.  Nothing here allocates through malloc.
 */
#ifndef MRI_OS_H
#define MRI_OS_H

#include <stddef.h>
#include <stdint.h>

#define MRI_MAX_NODES 64
#define MRI_MAX_CPUS 1024

struct mri_topology {
	int nnodes;			/* >= 1 */
	int ncpus;			/* entries valid in cpu_node */
	uint8_t cpu_node[MRI_MAX_CPUS]; /* cpu -> node */
};

struct mri_os_ops {
	/* Anonymous read/write private mapping of len bytes (no alignment
	 * promise beyond the OS page); NULL with errno set on failure. */
	void *(*map)(size_t len);
	int (*unmap)(void *addr, size_t len);		   /* 0 or -errno */
	int (*advise)(void *addr, size_t len, int advice); /* 0 or -errno */
	/* Bind [addr, addr+len) to node: MPOL_PREFERRED, or MPOL_BIND when
	 * strict.  0 or -errno. */
	int (*bind)(void *addr, size_t len, int node, int strict);
	uint64_t (*now_ns)(void); /* CLOCK_MONOTONIC */
	int (*current_cpu)(void); /* sched_getcpu() or 0 */
	/* Fill *t.  Returns 0, or -errno when NUMA is unavailable (then the
	 * caller uses one node). */
	int (*topology)(struct mri_topology *t);
	/* Move the pages of [from, from+len) to [to, to+len) without copying
	 * (mremap MREMAP_FIXED) and map fresh zero pages back at from, so the
	 * caller's chunk stays whole.  0, -errno when nothing moved, or
	 * -EFAULT when the pages moved but the hole could not be refilled.
	 * NULL in fakes: callers then copy. */
	int (*move)(void *from, size_t len, void *to);
	int is_fake; /* real-kernel-only backends switch off */
};

/* The table in force.  Set before the allocator's first use (tests). */
extern const struct mri_os_ops *mri_os;
extern const struct mri_os_ops mri_os_real;
__attribute__((visibility("hidden"))) void
mri_os_set(const struct mri_os_ops *ops);

/* Map len bytes aligned to align (a power of two >= 4 KiB) through
 * mri_os->map, trimming the slop.  NULL with errno = ENOMEM on failure. */
__attribute__((visibility("hidden"))) void *mri_os_map_aligned(size_t len,
							       size_t align);

/* Write a NUL-terminated message to stderr with write(2) and abort.  Used
 * only for detected heap corruption (double free, foreign pointer). */
__attribute__((visibility("hidden"), noreturn, cold)) void
mri_fatal(const char *what, const void *ptr);

/* Internal consistency checks, compiled in with ./configure --enable-debug
 * (MR_DEBUG).  A failure is heap corruption: one line on stderr, abort. */
#define MRI_STR2(x) #x
#define MRI_STR(x) MRI_STR2(x)
#ifdef MR_DEBUG
#define mri_assert(cond)                                                       \
	do {                                                                   \
		if (__builtin_expect(!(cond), 0))                              \
			mri_fatal("assertion failed: " #cond " at " __FILE__   \
				  ":" MRI_STR(__LINE__),                       \
				  0);                                          \
	} while (0)
#else
#define mri_assert(cond) ((void)0)
#endif

/* Read /proc/self/smaps_rollup Rss and AnonHugePages (bytes) without
 * allocating.  0 or -errno. */
__attribute__((visibility("hidden"))) int mri_os_rss(uint64_t *rss,
						     uint64_t *anon_huge);

#endif
