/*
 * memreclaim.h: the public interface of libmemreclaim.
 *
 * libmemreclaim is a malloc replacement.  Link it (-lmemreclaim, see
 * memreclaim.pc) or LD_PRELOAD it and the libc names (malloc, free, ...)
 * are served by it.  Every libc-shaped function is also available as mr_*,
 * so a program can use the allocator explicitly without replacing its own
 * malloc.  The rest of this header is the control surface: release memory
 * now, set a soft limit, read statistics, set options.
 *
 * Conventions: functions that are not libc-shaped return 0 (or a count) on
 * success and -errno on failure.  Self-contained C99; usable from C++.
 */
#ifndef MEMRECLAIM_H
#define MEMRECLAIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MR_API __attribute__((visibility("default")))
#define MR_MALLOC_ATTR __attribute__((malloc, warn_unused_result))
#else
#define MR_API
#define MR_MALLOC_ATTR
#endif

#define MR_VERSION_MAJOR 0
#define MR_VERSION_MINOR 1
#define MR_VERSION_PATCH 0
#define MR_VERSION_STRING "0.1.0"

/* Library version, as MR_VERSION_STRING of the library actually loaded. */
MR_API const char *mr_version(void);

/* The malloc family, with POSIX/glibc behaviour (NULL + ENOMEM on failure,
 * EINVAL for bad alignments, overflow checked in calloc/reallocarray,
 * malloc(0) returns a unique pointer, realloc(p, 0) frees p and returns
 * NULL with errno unchanged, as glibc does).  aligned_alloc rejects an
 * alignment that is not a power of two with EINVAL, as glibc 2.38+ does. */
MR_API void *mr_malloc(size_t size) MR_MALLOC_ATTR;
MR_API void mr_free(void *ptr);
MR_API void *mr_calloc(size_t nmemb, size_t size) MR_MALLOC_ATTR;
MR_API void *mr_realloc(void *ptr, size_t size);
MR_API void *mr_reallocarray(void *ptr, size_t nmemb, size_t size);
MR_API int mr_posix_memalign(void **memptr, size_t alignment, size_t size);
MR_API void *mr_aligned_alloc(size_t alignment, size_t size) MR_MALLOC_ATTR;
MR_API void *mr_memalign(size_t alignment, size_t size) MR_MALLOC_ATTR;
MR_API void *mr_valloc(size_t size) MR_MALLOC_ATTR;
MR_API void *mr_pvalloc(size_t size) MR_MALLOC_ATTR;
MR_API size_t mr_malloc_usable_size(void *ptr);
MR_API void mr_free_sized(void *ptr, size_t size);
MR_API void mr_free_aligned_sized(void *ptr, size_t alignment, size_t size);

/* How hard a release works.  LAZY uses MADV_FREE: cheap, the kernel takes
 * the frames only when it needs them, so RSS does not drop at once (the
 * bytes are reported as lazily freed).  NOW uses MADV_DONTNEED and may split
 * huge pages to reach the target. */
enum mr_urgency {
	MR_URGENCY_LAZY = 1,
	MR_URGENCY_NOW = 2,
};

/* Release up to `bytes` of free memory to the kernel now (SIZE_MAX: all that
 * is free).  Returns the bytes released (>= 0) or -errno. */
MR_API ssize_t mr_release(size_t bytes, enum mr_urgency urgency);

/* Soft memory limit in bytes (0: none), like Go's GOMEMLIMIT.  Crossing it
 * makes the allocating thread release memory before mapping more.  The
 * default comes from MEMRECLAIM_LIMIT or the process's cgroup.
 * mr_limit_set returns 0 or -errno.
 * mr_limit_hint sets a second, outside opinion (memreclaimd's LIMIT, passed
 * on by the library's daemon client; 0 withdraws it): the limit in force,
 * which mr_limit_get returns, is the smaller of the process's own and the
 * hint, so a hint can tighten the limit but never erase or loosen it. */
MR_API int mr_limit_set(size_t bytes);
MR_API int mr_limit_hint(size_t bytes);
MR_API size_t mr_limit_get(void);

/* Options: the same names as the MEMRECLAIM_* environment variables,
 * lower-case and without the prefix ("limit", "purge", "trace", ...).
 * See libmemreclaim(3).  mr_option_get writes a NUL-terminated value into
 * buf and returns its length, or -ERANGE if len is too small; unknown names
 * give -ENOENT, bad values -EINVAL. */
MR_API int mr_option_set(const char *name, const char *value);
MR_API int mr_option_get(const char *name, char *buf, size_t len);

/* Purge backends, in order of preference. */
enum mr_purge_backend {
	MR_PURGE_NONE = 0,	/* nothing released yet / no backend works */
	MR_PURGE_URING = 1,	/* io_uring IORING_OP_MADVISE batches */
	MR_PURGE_PROCESS_MADVISE = 2, /* process_madvise(2) on self */
	MR_PURGE_MADVISE = 3,	/* one madvise(2) per range */
};

#define MR_STATS_VERSION 2
#define MR_STATS_MAX_CLASSES 96

struct mr_class_stats {
	uint32_t size;		/* object size in bytes */
	uint32_t span_pages;	/* 8 KiB pages per span of this class */
	uint64_t spans;		/* spans currently owned by the class */
	uint64_t objects_in_use; /* handed to the program, not yet freed */
	uint64_t objects_cached; /* free in thread/transfer caches */
	uint64_t refills;	/* batches moved central -> thread cache */
	uint64_t flushes;	/* batches moved thread cache -> central */
};

/*
 * Statistics.  Versioned: set `size` to sizeof(struct mr_stats) before the
 * call; the library fills at most that many bytes and sets `version`.
 * Byte figures are a consistent-enough snapshot (other threads keep
 * running), not an atomic one.
 */
struct mr_stats {
	uint32_t version;	/* out: MR_STATS_VERSION */
	uint32_t size;		/* in: sizeof(struct mr_stats) */

	uint64_t allocated_bytes; /* in objects the program holds */
	uint64_t in_use_bytes;	/* in spans owned by size classes or large
				 * objects (allocated + cached + span slack) */
	uint64_t idle_bytes;	/* free pages still backed by memory */
	uint64_t released_bytes; /* free pages returned with MADV_DONTNEED */
	uint64_t lazy_freed_bytes; /* free pages returned with MADV_FREE: the
				 * kernel may not have taken them yet */
	uint64_t mapped_bytes;	/* all chunk mappings */
	uint64_t metadata_bytes; /* allocator bookkeeping */
	uint64_t retained_bytes; /* mapped - released - lazy_freed */
	uint64_t rss_bytes;	/* process RSS from /proc/self/smaps_rollup */
	uint64_t anon_huge_bytes; /* AnonHugePages from smaps_rollup */
	uint32_t hugepage_coverage_permille; /* anon_huge / rss * 1000 */
	uint32_t nodes;		/* page heaps (NUMA nodes) in use */

	uint64_t limit_bytes;	/* soft limit in force, 0 = none */
	uint64_t goal_bytes;	/* scavenger's retained-bytes goal */
	uint64_t scavenger_cycles;
	uint64_t sync_releases;	/* releases done by allocating threads */

	uint32_t purge_backend;	/* enum mr_purge_backend last used */
	uint32_t purge_fallbacks; /* backends switched off after failing */
	uint64_t purge_batches;	/* batches flushed */
	uint64_t purge_ranges;	/* ranges advised */
	uint64_t purge_bytes;	/* bytes advised */
	uint64_t purge_errors;	/* ranges a backend failed and redid */
	uint64_t purge_ns;	/* time spent in purges */

	uint64_t trims_received; /* TRIM requests from memreclaimd */
	uint32_t daemon_connected; /* 1 while registered with memreclaimd */
	uint32_t nclasses;
	struct mr_class_stats classes[MR_STATS_MAX_CLASSES];

	/* Version 2 (appended: a program built with version 1's shorter
	 * struct gets none of these, and its size still works). */
	/* enum mr_limit_source of limit_bytes */
	uint32_t limit_source;
	/* Why the last connection to memreclaimd failed, -errno (0: none
	 * yet): -ENOENT no socket, -EACCES not allowed to open it,
	 * -ECONNREFUSED nobody listening, -EPERM listener not trusted,
	 * -ECONNRESET the daemon closed it or refused the client. */
	int32_t daemon_error;
	uint64_t daemon_connects;	  /* registrations with memreclaimd */
	uint64_t daemon_connect_failures; /* attempts that failed */
	uint64_t trim_released_bytes;	  /* released for its trims */
	/* systemd's memory pressure protocol ($MEMORY_PRESSURE_WATCH):
	 * events obeyed, bytes released for them, 1 while the file is
	 * watched, -errno when the watch could not be set up. */
	uint64_t pressure_events;
	uint64_t pressure_released_bytes;
	uint32_t pressure_watching;
	int32_t pressure_error;
	/* daemon_error as one line of text, NUL-terminated ("" if none) */
	char daemon_error_msg[256];
};

/* Where limit_bytes comes from. */
enum mr_limit_source {
	MR_LIMIT_SOURCE_NONE = 0,   /* no limit */
	MR_LIMIT_SOURCE_CGROUP = 1, /* the process's cgroup */
	MR_LIMIT_SOURCE_ENV = 2,    /* the "limit" option: MEMRECLAIM_LIMIT,
				     * MEMRECLAIM_CONF or mr_option_set */
	MR_LIMIT_SOURCE_API = 3,    /* mr_limit_set */
	MR_LIMIT_SOURCE_DAEMON = 4, /* memreclaimd's LIMIT (mr_limit_hint),
				     * tighter than the process's own */
};

/* Fill *st (see above).  Returns 0 or -EINVAL (NULL, or size too small to
 * hold the header). */
MR_API int mr_stats_get(struct mr_stats *st);

/* Write the size class table with its waste columns to fd. Returns 0 or
 * -errno. */
MR_API int mr_print_classes(int fd);

/* Heap profiles (see mr_profile_dump(3)).  Sampling is on with the option
 * "prof" (MEMRECLAIM_PROF=1, or mr_option_set("prof", "1")), one sample
 * per "prof_interval" bytes allocated on average (default 512 KiB). */
enum mr_profile_kind {
	MR_PROFILE_INUSE = 1, /* live sampled objects, scaled to estimates:
			       * inuse_objects, inuse_space */
	MR_PROFILE_ALLOC = 2, /* all sampled since start: alloc_objects,
			       * alloc_space */
};
/* Or'ed into kind: the legacy "heap_v2" text format that gperftools'
 * pprof (google-pprof) reads, with both in-use and allocated figures,
 * instead of gzipped profile.proto (go tool pprof reads both). */
#define MR_PROFILE_TEXT 0x100

/* Write a heap profile to fd.  Returns 0 or -errno (-EINVAL: bad kind). */
MR_API int mr_profile_dump(int fd, int kind);
/* The same through a callback that must take all n bytes or return -errno
 * (which stops the dump and is returned).  Called on the caller's thread;
 * it may allocate. */
MR_API int mr_profile_write(int kind,
			    int (*write)(void *ctx, const void *p, size_t n),
			    void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* MEMRECLAIM_H */
