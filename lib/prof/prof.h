/*
 * prof.h: sampled heap profiles, the layer between the malloc family
 * (api/alloc.c, which calls in) and the core (whose page map marks the
 * spans that hold a sample).
 *
 * Sampling.  Each thread counts down the bytes until its next sample
 * (mri_tls_prof_left, initial-exec TLS).  malloc subtracts every size from
 * it, on or off, and reads the "prof" switch only when it goes below zero
 * (as tcmalloc does): off, the count then restarts at MRI_PROF_RECHECK
 * bytes, so sampling switched on reaches another thread within that many
 * of its bytes (the thread that switches it starts at once), and on, the
 * fast path has no instruction more than off.  When an allocation takes
 * the count below zero with sampling on it is sampled and the count is
 * redrawn from an exponential distribution of mean prof_interval bytes (as
 * tcmalloc and Go do): sample points form a Poisson process over the bytes
 * allocated, so an
 * object of s bytes is sampled with probability 1 - exp(-s / interval)
 * whatever its neighbours, and weighting each sample by the inverse of
 * that probability gives unbiased estimates of the totals.
 *
 * Worked example: interval 512 KiB, objects of 256 KiB.  Each is sampled
 * with p = 1 - e^-0.5 = 0.393; a sample stands for 1/p = 2.54 objects and
 * 651 KiB.  Holding 64 MiB (256 objects) gives 101 samples on average,
 * with a standard deviation of 7.8, so the estimate is 64 MiB +- 7.8%.
 *
 * Books.  A sample goes to a bucket keyed by (stack, size, interval), the
 * unit pprof reports, which counts samples and bytes allocated and freed;
 * buckets live forever (metadata), prepended to a list that a dump reads
 * without the lock.  Each live sampled object has a record in an
 * open-addressing table keyed by its address, and its span counts its live
 * samples (`sampled`).  free() looks in the table only for pointers of
 * spans whose count is not zero: the count is in the cache line free()
 * reads anyway, so the other frees (nearly all: at the default interval a
 * 1 GiB heap holds ~2000 samples, so at most ~2000 spans hold one) pay one
 * byte compare and never the table's lock.  A per-object bit would need
 * memory per object or a second lookup; a Bloom filter a shared cache
 * line written on every sample.  Everything is
 * metadata (core/meta.h): a sample never calls malloc.
 *
 * Lock order: prof lock is a leaf; the central and page heap locks are
 * never held while it is taken, and it is not held while a stack is taken.
 */
#ifndef MRI_PROF_H
#define MRI_PROF_H

#include <stddef.h>
#include <stdint.h>
#include "common/pprof.h"

#define MRI_HIDDEN __attribute__((visibility("hidden")))
#define MRI_TLS_IE __attribute__((tls_model("initial-exec")))

#define MRI_PROF_MAX_DEPTH 64
/* With sampling off, the bytes between two looks at the switch. */
#define MRI_PROF_RECHECK ((int64_t)256 << 10)

/* Bytes this thread may still allocate before its next sample (or, with
 * sampling off, before it looks at the switch again). */
extern __thread int64_t mri_tls_prof_left MRI_TLS_IE MRI_HIDDEN;

/* The countdown went below zero: 1 if the allocation of `size` bytes is to
 * be sampled (then the countdown is redrawn), 0 if not (sampling off; the
 * first call since it was on, which draws a fresh countdown; a malloc from
 * inside the sampler itself). */
MRI_HIDDEN int mri_prof_tick(size_t size);
/* Have this thread's next malloc look at the switch and draw afresh. */
MRI_HIDDEN void mri_prof_restart(void);
/* Record p (size bytes requested) as a sample.  frame: the frame record
 * ({saved frame pointer, return address}) of the malloc family's function
 * that samples, where the stack starts. */
MRI_HIDDEN void mri_prof_record(void *p, size_t size, const void *frame);
/* p, of span s which holds samples, is being freed. */
struct mri_span;
MRI_HIDDEN void mri_prof_free(void *p, struct mri_span *s);
/* A large sampled object moved (realloc by remapping). */
MRI_HIDDEN void mri_prof_move(void *from, void *to);

/* The profile (kind: MR_PROFILE_* of memreclaim.h) through sink. */
MRI_HIDDEN int mri_prof_write(int kind, mrc_sink_fn sink, void *ctx);

/* Library constructor: MEMRECLAIM_PROF_FILE, the profile at exit. */
MRI_HIDDEN void mri_prof_init(void);
/* Load libunwind (dlopen) if the prof_unwind option allows; once.  Never
 * from inside malloc: at start-up and from the profile API. */
MRI_HIDDEN void mri_prof_unwind_load(void);
MRI_HIDDEN void mri_prof_atfork_prepare(void);
MRI_HIDDEN void mri_prof_atfork_parent(void);
MRI_HIDDEN void mri_prof_atfork_child(void);

/* Stacks (stack.c), from frame record frame (see mri_prof_record).
 * pcs[0] is the allocation's call site; returns the depth. */
MRI_HIDDEN int mri_prof_stack(void **pcs, int max, const void *frame);
/* Stacks taken by each walker, indexed by enum mri_prof_unwind (FP,
 * LIBUNWIND; relaxed atomics): what prof_unwind=auto chose. */
extern uint64_t mri_prof_walks[3] MRI_HIDDEN;

/* /proc/self/maps (write.c): each line (NUL-terminated, no newline) to
 * line, and the raw bytes to raw(ctx) when raw is given.  0 or -errno. */
MRI_HIDDEN int mri_prof_maps(void (*line)(const char *), mrc_sink_fn raw,
			     void *ctx);
/* Parse lower-case hex at s into *v; returns the first other char. */
MRI_HIDDEN const char *mri_prof_hex(const char *s, uintptr_t *v);

/* Sample books (sample.c), read by the writer. */
struct mri_prof_bucket {
	struct mri_prof_bucket *hnext; /* hash chain (prof lock) */
	struct mri_prof_bucket *next;  /* all buckets, newest first */
	uint64_t hash;
	uint64_t size;	   /* bytes requested per object */
	uint64_t interval; /* mean sampling interval in force */
	uint64_t allocs;   /* samples taken (prof lock; relaxed reads) */
	uint64_t frees;	   /* of those, freed */
	uint32_t depth;
	void *pcs[];
};
/* Newest bucket; the list behind it never changes. */
MRI_HIDDEN struct mri_prof_bucket *mri_prof_buckets(void);

/* The estimates a bucket stands for: n samples of size bytes at interval
 * (weight = 1 / (1 - exp(-size / interval)) per sample). */
MRI_HIDDEN void mri_prof_scale(uint64_t n, uint64_t size, uint64_t interval,
			       uint64_t *objects, uint64_t *bytes);

#endif
