/*
 * purge.c: flushing release batches to the kernel (see purge.h).
 *
 * Three backends, tried in this order unless MEMRECLAIM_PURGE picks the
 * first one to try:
 *
 *   uring            one io_uring, IORING_OP_MADVISE per range; the whole
 *                    batch costs one io_uring_enter and the kernel runs the
 *                    advice in its io-wq workers.
 *   process_madvise  process_madvise(2) on a pidfd of ourselves: one call
 *                    per batch (an iovec per range).  Linux 6.13+ accepts
 *                    any advice on self; older kernels say EINVAL.
 *   madvise          one madvise(2) per range through mri_os->advise, so a
 *                    fake OS sees every call.  Always there.
 *
 * Fallback rule: every range a backend fails is redone through the next
 * backend, so nothing is lost.  A backend is switched off for good when it
 * cannot be set up (io_uring_queue_init fails: seccomp, io_uring_disabled)
 * or when it failed a range with EPERM, ENOSYS or EINVAL that the next
 * backend then advised: then the fault is the backend's, not the range's.
 * (A range every backend rejects, say a bad address, switches nothing off.)
 *
 * The ring, the pidfd and the switched-off flags are protected by
 * purge_lock, which is held for a whole flush; flushes are rare and large,
 * so one lock costs nothing.  Nothing here calls malloc: the io_uring probe
 * uses io_uring_register_probe() on a static buffer because liburing's
 * io_uring_get_probe_ring() calls calloc, and a flush may run inside an
 * allocation (the soft limit releases synchronously).  After fork the ring
 * and the pidfd belong to the parent (the rings are shared memory and the
 * pidfd names the parent): the child notices the pid change, drops them and
 * makes its own at its next flush.
 */
#include "config.h"
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "os/options.h"
#include "os/os.h"
#include "os/purge.h"

#define PURGE_RING_ENTRIES 64
/* IORING_OP_MADVISE takes its length from the 32-bit sqe->len (liburing
 * 2.3's io_uring_prep_madvise casts to __u32): longer ranges are cut into
 * pieces of at most this, a multiple of 2 MiB so pieces of a hugepage
 * aligned range stay hugepage aligned. */
#define PURGE_URING_MAX_LEN (((size_t)1 << 32) - ((size_t)2 << 20))

enum purge_backend_idx { PB_URING, PB_PMADV, PB_MADV, PB__N };

/* Set once MADV_FREE was refused by every backend (mri_purge_free_ok). */
static int purge_free_refused;

/* clang-format off */
static const enum mr_purge_backend purge_public[PB__N] = {
	MR_PURGE_URING,
	MR_PURGE_PROCESS_MADVISE,
	MR_PURGE_MADVISE,
};
/* clang-format on */

static pthread_mutex_t purge_lock = PTHREAD_MUTEX_INITIALIZER;

/* All fields under purge_lock. */
static struct {
	int off[PB__N];	    /* 1: switched off for good */
	int off_err[PB__N]; /* the -errno that switched it off */
	struct io_uring ring;
	int ring_ready;
	pid_t ring_pid; /* process that owns ring */
	int pidfd;	/* -1 until opened */
	pid_t pidfd_pid;
} purge = {.pidfd = -1};

/* Counters, updated with relaxed atomics so mri_purge_stats needs no lock. */
static struct {
	uint64_t batches, ranges, bytes, errors, ns;
	uint32_t fallbacks;
	uint32_t last; /* enum mr_purge_backend */
} purge_st;

/* Probe buffer: header plus one entry per possible opcode (u8). */
static union {
	struct io_uring_probe p;
	char bytes[sizeof(struct io_uring_probe) +
		   256 * sizeof(struct io_uring_probe_op)];
} purge_probe;

void
mri_purge_batch_init(struct mri_purge_batch *b, int advice)
{
	b->advice = advice;
	b->n = 0;
}

int
mri_purge_add(struct mri_purge_batch *b, void *addr, size_t len)
{
	struct mri_purge_range *r;

	if (b->n >= MRI_PURGE_MAX)
		return 1;
	r = &b->r[b->n++];
	r->addr = addr;
	r->len = len;
	r->err = 0;
	return b->n == MRI_PURGE_MAX;
}

static void
purge_switch_off(int b, int err)
{
	if (purge.off[b])
		return;
	purge.off[b] = 1;
	purge.off_err[b] = err;
	__atomic_add_fetch(&purge_st.fallbacks, 1, __ATOMIC_RELAXED);
}

/* Drop a ring or pidfd inherited from the parent across fork. */
static void
purge_check_owner(void)
{
	pid_t me = getpid();

	if (purge.ring_ready && purge.ring_pid != me) {
		/* Unmaps our copy of the rings and closes our fd; the
		 * parent's ring lives on through its own fd. */
		io_uring_queue_exit(&purge.ring);
		purge.ring_ready = 0;
	}
	if (purge.pidfd >= 0 && purge.pidfd_pid != me) {
		close(purge.pidfd);
		purge.pidfd = -1;
	}
}

/* Set up the ring and probe for IORING_OP_MADVISE.  0 or -errno. */
static int
purge_uring_setup(void)
{
	int rc;

	if (purge.ring_ready)
		return 0;
	rc = io_uring_queue_init(PURGE_RING_ENTRIES, &purge.ring, 0);
	if (rc < 0)
		return rc;
	memset(&purge_probe, 0, sizeof(purge_probe));
	rc = io_uring_register_probe(&purge.ring, &purge_probe.p, 256);
	if (rc < 0 ||
	    !io_uring_opcode_supported(&purge_probe.p, IORING_OP_MADVISE)) {
		io_uring_queue_exit(&purge.ring);
		return rc < 0 ? rc : -EINVAL;
	}
	purge.ring_ready = 1;
	purge.ring_pid = getpid();
	return 0;
}

/* Mark every pending range as failed with err (-errno); returns err. */
static int
purge_fail_pending(struct mri_purge_batch *b, const uint8_t *pending, int err)
{
	unsigned i;

	for (i = 0; i < b->n; i++)
		if (pending[i])
			b->r[i].err = err;
	return err;
}

/* Wait until at least wait_nr completions are there (one syscall), then
 * record every completion available.  Returns how many were reaped, or
 * -errno (the ring is broken). */
static int
purge_uring_reap(struct mri_purge_batch *b, unsigned wait_nr)
{
	struct io_uring_cqe *cqe;
	int rc, n = 0;

	do
		rc = io_uring_wait_cqe_nr(&purge.ring, &cqe, wait_nr);
	while (rc == -EINTR);
	if (rc < 0)
		return rc;
	while (io_uring_peek_cqe(&purge.ring, &cqe) == 0) {
		if (cqe->res < 0 && cqe->user_data < b->n &&
		    b->r[cqe->user_data].err == 0)
			b->r[cqe->user_data].err = cqe->res;
		io_uring_cqe_seen(&purge.ring, cqe);
		n++;
	}
	return n;
}

/*
 * Advise the ranges marked pending through the ring.  Returns 0, or -errno
 * when the ring cannot be used at all (then every pending range is marked
 * with that error).
 */
static int
purge_uring_run(struct mri_purge_batch *b, const uint8_t *pending)
{
	unsigned i, inflight = 0;
	int rc;

	rc = purge_uring_setup();
	if (rc < 0)
		return purge_fail_pending(b, pending, rc);
	for (i = 0; i < b->n; i++) {
		struct mri_purge_range *r = &b->r[i];
		size_t off;

		if (!pending[i])
			continue;
		r->err = 0;
		for (off = 0; off < r->len; off += PURGE_URING_MAX_LEN) {
			size_t len = r->len - off;
			struct io_uring_sqe *sqe;

			if (len > PURGE_URING_MAX_LEN)
				len = PURGE_URING_MAX_LEN;
			while (!(sqe = io_uring_get_sqe(&purge.ring))) {
				rc = io_uring_submit(&purge.ring);
				if (rc < 0 && rc != -EINTR && rc != -EAGAIN &&
				    rc != -EBUSY)
					goto broken;
				/* Free SQ slots by reaping; completions
				 * bound the queue. */
				if (inflight) {
					rc = purge_uring_reap(b, 1);
					if (rc < 0)
						goto broken;
					inflight -= (unsigned)rc;
				}
			}
			io_uring_prep_madvise(sqe, (char *)r->addr + off,
					      (off_t)len, b->advice);
			/* MADVISE cannot complete without blocking: skip
			 * the inline attempt, go straight to io-wq. */
			sqe->flags |= IOSQE_ASYNC;
			sqe->user_data = i;
			inflight++;
		}
	}
	do
		rc = io_uring_submit(&purge.ring);
	while (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY);
	if (rc < 0)
		goto broken;
	while (inflight) {
		rc = purge_uring_reap(b, inflight);
		if (rc < 0)
			goto broken;
		inflight -= (unsigned)rc;
	}
	return 0;
broken:
	/* The ring itself failed: drop it (a new one is made next time) and
	 * let the next backend redo the whole run. */
	io_uring_queue_exit(&purge.ring);
	purge.ring_ready = 0;
	return purge_fail_pending(b, pending, rc);
}

static int
purge_pmadv_run(struct mri_purge_batch *b, const uint8_t *pending)
{
	struct iovec iov[MRI_PURGE_MAX];
	unsigned idx[MRI_PURGE_MAX];
	unsigned i, n = 0, k;

	if (purge.pidfd < 0) {
		long fd = syscall(SYS_pidfd_open, getpid(), 0);
		if (fd < 0)
			return purge_fail_pending(b, pending, -errno);
		purge.pidfd = (int)fd;
		purge.pidfd_pid = getpid();
	}
	for (i = 0; i < b->n; i++) {
		if (!pending[i])
			continue;
		b->r[i].err = 0;
		iov[n].iov_base = b->r[i].addr;
		iov[n].iov_len = b->r[i].len;
		idx[n++] = i;
	}
	/* The kernel caps one call at MAX_RW_COUNT (about 2 GiB) and returns
	 * a short count; carry on from where it stopped. */
	for (k = 0; k < n;) {
		long ret = syscall(SYS_process_madvise, purge.pidfd, &iov[k],
				   (size_t)(n - k), b->advice, 0U);
		size_t done;

		if (ret < 0) {
			int err = -errno;
			if (err == -EINTR || err == -EAGAIN)
				continue;
			if (err == -EPERM || err == -ENOSYS || err == -EINVAL) {
				/* Most likely the call itself (old kernel,
				 * seccomp): the rest goes to the next
				 * backend, which tells whose fault it is. */
				for (; k < n; k++)
					b->r[idx[k]].err = err;
				break;
			}
			b->r[idx[k++]].err = err;
			continue;
		}
		done = (size_t)ret;
		if (done == 0) { /* no progress: hand it on */
			b->r[idx[k++]].err = -EAGAIN;
			continue;
		}
		while (k < n && done >= iov[k].iov_len) {
			done -= iov[k].iov_len;
			k++;
		}
		if (k < n && done) {
			iov[k].iov_base = (char *)iov[k].iov_base + done;
			iov[k].iov_len -= done;
		}
	}
	return 0;
}

static int
purge_madv_run(struct mri_purge_batch *b, const uint8_t *pending)
{
	unsigned i;

	for (i = 0; i < b->n; i++)
		if (pending[i])
			b->r[i].err = mri_os->advise(b->r[i].addr, b->r[i].len,
						     b->advice);
	return 0;
}

static int
purge_is_backend_fault(int err)
{
	return err == -EPERM || err == -ENOSYS || err == -EINVAL;
}

/* First backend to try: MEMRECLAIM_PURGE, or the fastest.  A fake OS only
 * gets the madvise backend, which goes through it. */
static int
purge_first_backend(void)
{
	if (mri_os->is_fake)
		return PB_MADV;
	switch (mri_opt(MRI_OPT_PURGE)) {
	case MRI_PURGE_CHOICE_PROCESS_MADVISE:
		return PB_PMADV;
	case MRI_PURGE_CHOICE_MADVISE:
		return PB_MADV;
	default:
		return PB_URING;
	}
}

size_t
mri_purge_flush(struct mri_purge_batch *b)
{
	/* pending[i]: 0 done, 1 to do, 2 to do after the previous backend
	 * failed it with a backend-fault errno (suspect_err). */
	uint8_t pending[MRI_PURGE_MAX];
	int suspect = -1, suspect_err = 0, last_ok = -1;
	unsigned i, npending = b->n, redone = 0;
	size_t done = 0;
	uint64_t t0;
	int be;

	if (b->n == 0)
		return 0;
	pthread_mutex_lock(&purge_lock);
	t0 = mri_os->now_ns();
	purge_check_owner();
	memset(pending, 1, b->n);
	for (be = purge_first_backend(); be < PB__N && npending; be++) {
		unsigned nfault = 0, nok = 0;
		int rc;

		if (purge.off[be] && be != PB_MADV)
			continue;
		if (be == PB_URING)
			rc = purge_uring_run(b, pending);
		else if (be == PB_PMADV)
			rc = purge_pmadv_run(b, pending);
		else
			rc = purge_madv_run(b, pending);
		if (rc < 0 && be != PB_MADV) {
			/* Could not even start (no ring, no pidfd). */
			purge_switch_off(be, rc);
			continue;
		}
		for (i = 0; i < b->n; i++) {
			if (!pending[i])
				continue;
			if (b->r[i].err == 0) {
				/* The previous backend failed this range
				 * with a "not supported" error that this one
				 * did not: the previous one is broken here. */
				if (pending[i] == 2 && suspect >= 0)
					purge_switch_off(suspect, suspect_err);
				pending[i] = 0;
				npending--;
				done += b->r[i].len;
				nok++;
			} else if (purge_is_backend_fault(b->r[i].err)) {
				pending[i] = 2;
				nfault++;
				suspect_err = b->r[i].err;
			} else {
				pending[i] = 1;
			}
		}
		if (nok)
			last_ok = be;
		if (be == PB_MADV || !npending)
			break;
		redone += npending;
		suspect = nfault ? be : -1;
	}
	/* MADV_FREE refused by the last backend with a "not supported"
	 * error, after every backend before it failed too: the kernel does
	 * not take it here.  Remember, once, and let the callers fall back
	 * to MADV_DONTNEED (the failed ranges stay backed: nothing lost). */
	if (b->advice == MADV_FREE && npending) {
		for (i = 0; i < b->n; i++)
			if (pending[i] &&
			    purge_is_backend_fault(b->r[i].err)) {
				__atomic_store_n(&purge_free_refused, 1,
						 __ATOMIC_RELAXED);
				break;
			}
	}
	__atomic_add_fetch(&purge_st.batches, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&purge_st.ranges, b->n - npending, __ATOMIC_RELAXED);
	__atomic_add_fetch(&purge_st.bytes, done, __ATOMIC_RELAXED);
	__atomic_add_fetch(&purge_st.errors, redone, __ATOMIC_RELAXED);
	if (last_ok >= 0)
		__atomic_store_n(&purge_st.last, purge_public[last_ok],
				 __ATOMIC_RELAXED);
	__atomic_add_fetch(&purge_st.ns, mri_os->now_ns() - t0,
			   __ATOMIC_RELAXED);
	pthread_mutex_unlock(&purge_lock);
	return done;
}

int
mri_purge_free_ok(void)
{
	return !__atomic_load_n(&purge_free_refused, __ATOMIC_RELAXED);
}

enum mr_purge_backend
mri_purge_backend(void)
{
	return (enum mr_purge_backend)__atomic_load_n(&purge_st.last,
						      __ATOMIC_RELAXED);
}

void
mri_purge_stats(struct mr_stats *st)
{
	st->purge_backend = __atomic_load_n(&purge_st.last, __ATOMIC_RELAXED);
	st->purge_fallbacks =
	    __atomic_load_n(&purge_st.fallbacks, __ATOMIC_RELAXED);
	st->purge_batches =
	    __atomic_load_n(&purge_st.batches, __ATOMIC_RELAXED);
	st->purge_ranges = __atomic_load_n(&purge_st.ranges, __ATOMIC_RELAXED);
	st->purge_bytes = __atomic_load_n(&purge_st.bytes, __ATOMIC_RELAXED);
	st->purge_errors = __atomic_load_n(&purge_st.errors, __ATOMIC_RELAXED);
	st->purge_ns = __atomic_load_n(&purge_st.ns, __ATOMIC_RELAXED);
}

/*
 * In the child after fork.  The lock may have been held by a thread that
 * does not exist here, so it is made anew; the ring and pidfd are dropped
 * (purge_check_owner would also notice the pid change at the next flush).
 */
void
mri_purge_atfork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	purge_lock = fresh;
	purge_check_owner();
}
