/*
 * purge.c: flushing release batches.  This first version has the plain
 * madvise(2) backend only (through mri_os->advise); the io_uring and
 * process_madvise backends and their fallback come with the release path.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include "os.h"
#include "purge.h"

static struct {
	uint64_t batches, ranges, bytes, errors, ns;
	enum mr_purge_backend last;
} purge_st;

void
mri_purge_batch_init(struct mri_purge_batch *b, int advice)
{
	b->advice = advice;
	b->n = 0;
}

int
mri_purge_add(struct mri_purge_batch *b, void *addr, size_t len)
{
	struct mri_purge_range *r = &b->r[b->n++];

	r->addr = addr;
	r->len = len;
	r->err = 0;
	return b->n == MRI_PURGE_MAX;
}

size_t
mri_purge_flush(struct mri_purge_batch *b)
{
	uint64_t t0 = mri_os->now_ns();
	size_t done = 0;
	unsigned i;

	for (i = 0; i < b->n; i++) {
		struct mri_purge_range *r = &b->r[i];
		r->err = mri_os->advise(r->addr, r->len, b->advice);
		if (r->err == 0)
			done += r->len;
		else
			__atomic_add_fetch(&purge_st.errors, 1, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&purge_st.batches, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&purge_st.ranges, b->n, __ATOMIC_RELAXED);
	__atomic_add_fetch(&purge_st.bytes, done, __ATOMIC_RELAXED);
	__atomic_add_fetch(&purge_st.ns, mri_os->now_ns() - t0, __ATOMIC_RELAXED);
	purge_st.last = MR_PURGE_MADVISE;
	return done;
}

enum mr_purge_backend
mri_purge_backend(void)
{
	return purge_st.last;
}

void
mri_purge_stats(struct mr_stats *st)
{
	st->purge_backend = purge_st.last;
	st->purge_fallbacks = 0;
	st->purge_batches = purge_st.batches;
	st->purge_ranges = purge_st.ranges;
	st->purge_bytes = purge_st.bytes;
	st->purge_errors = purge_st.errors;
	st->purge_ns = purge_st.ns;
}

void
mri_purge_atfork_child(void)
{
}
