/*
 * scavenger.c: the background thread that gives free memory back to the
 * kernel (see scavenger.h).  It also hosts the clients registered with
 * mri_scavenger_add_client (the daemon client, the systemd memory pressure
 * watch): their fds are in its poll set, what poll reports on one goes to
 * that client's event(), and every client's tick() runs on every wake-up.
 *
 * What to release, with which advice, how old pages must be and when to
 * run next is decided by the release policy (policy.c: the goal, the two
 * stages, the excess rule, the sparse-heap split, the CPU budget and the
 * schedule are explained there); a cycle takes a snapshot of the heap,
 * asks the policy, carries out its plan (reclaim.c) and sleeps until the
 * next cycle the policy asks for, or until the second stage of the oldest
 * lazily freed hugepage is due.
 *
 * Waking.  A free that empties a hugepage, or frees a hugepage's worth of
 * pages, calls mri_scavenger_wake (through the core's freed hook,
 * mri_release_on_free).  It sets a flag and writes the eventfd only when the
 * thread was not kicked already since its last cycle began, so a burst of
 * frees costs one syscall per cycle at most.  A kick brings the next cycle
 * forward to SCAV_KICK_DELAY_NS from now (the rest of the burst lands in
 * the same batch), but never closer than SCAV_KICK_GAP_NS to the previous
 * cycle, so frees cannot drive cycles faster than that.  Freed memory is
 * thus lazily freed within about 10 ms of its free, whatever the timers.
 * With nothing to do the thread wakes every second for a cycle that reads
 * the heap's page counters (a few microseconds).  Without the thread
 * (MEMRECLAIM_SCAVENGER=0) nothing is released in the background: only
 * the soft limit, mr_release(), malloc_trim() and the daemon's trims do.
 *
 * Fork.  The prepare handler waits for a running cycle to finish (it holds
 * scav.cycle_lock until the parent/child handler), so the child never
 * inherits ranges taken out of the heap by a half-done release.  Call it
 * before the core takes its own locks.  In the child the eventfd (shared
 * with the parent) is closed and, if the parent had a scavenger, a new
 * thread is started from the child handler, after the core's.  Should that
 * fail, mr_release, mr_stats_get and mr_limit_set try again (one atomic
 * load when it runs).
 */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>
#include "core/heap.h"
#include "release/limit.h"
#include "os/diag.h"
#include "os/layout.h"
#include "os/options.h"
#include "os/os.h"
#include "os/purge.h"
#include "release/release.h"
#include "release/scavenger.h"

static int scav_deferred; /* start deferred (atomic) */
static int scav_wanted;	  /* a wake came while deferred (atomic) */
static void (*scav_prestart)(void);

/* The clients this thread hosts (the daemon client, the systemd memory
 * pressure watch).  Registered at start-up, before the thread starts
 * (mri_scavenger_add_client); slots fill in order and never empty. */
static const struct mri_scavenger_client *scav_clients[MRI_SCAV_MAX_CLIENTS];

#define SCAV_KICK_DELAY_NS 2000000ULL /* a kick: a cycle 2 ms later */
#define SCAV_KICK_GAP_NS 10000000ULL  /* kicked cycles 10 ms apart at most */

/* clang-format off */
static struct {
	pthread_mutex_t start_lock; /* start/stop/fork */
	pthread_mutex_t cycle_lock; /* held for a whole cycle */
	pthread_t thread;
	int running; /* thread exists (atomic) */
	int stop;    /* asked to exit (atomic) */
	int efd;     /* eventfd, -1 when not running */
	int kicked;  /* efd written since the last cycle began (atomic) */
	int pending; /* a wake came since the cycle began (atomic) */
	int named;   /* the thread has named itself (atomic, futex) */
	/* Scavenger thread only (and cycle_lock): */
	struct mri_rel_state st; /* the policy's carried state */
	uint64_t due_ns;	 /* next cycle */
	uint64_t broke_until_ns; /* out of CPU budget until then (0: not) */
	uint64_t last_ns;	 /* when the last cycle began */
	uint64_t start_ns;	 /* thread start, for the trace */
} scav = {
	.start_lock = PTHREAD_MUTEX_INITIALIZER,
	.cycle_lock = PTHREAD_MUTEX_INITIALIZER,
	.efd = -1,
};
/* clang-format on */

static const char *
scav_backend_name(enum mr_purge_backend b)
{
	switch (b) {
	case MR_PURGE_URING:
		return "uring";
	case MR_PURGE_PROCESS_MADVISE:
		return "process_madvise";
	case MR_PURGE_MADVISE:
		return "madvise";
	default:
		return "none";
	}
}

static void
scav_trace(uint64_t now, const struct mri_rel_in *in,
	   const struct mri_heap_counters *after, uint64_t goal,
	   uint64_t released, uint64_t spent_ns)
{
	char b[360];
	struct mri_diag d;
	const uint64_t mib = 1 << 20;

	mri_diag_begin(&d, b, sizeof(b), 1);
	mri_diag_put(&d, "scav #");
	mri_diag_put_u(
	    &d, __atomic_load_n(&mri_release_st.cycles, __ATOMIC_RELAXED));
	mri_diag_put(&d, " @");
	mri_diag_put_fixed(&d, now - scav.start_ns, 1000000000);
	mri_diag_put(&d, "s: in_use ");
	mri_diag_put_fixed(&d, in->in_use_bytes, mib);
	mri_diag_put(&d, " MiB, retained ");
	mri_diag_put_fixed(
	    &d, after->mapped_bytes - after->released_bytes - after->lazy_bytes,
	    mib);
	mri_diag_put(&d, " MiB, goal ");
	mri_diag_put_fixed(&d, goal, mib);
	mri_diag_put(&d, " MiB, released ");
	mri_diag_put_fixed(&d, released, mib);
	mri_diag_put(&d, " MiB, lazily freed ");
	mri_diag_put_fixed(&d, after->lazy_bytes, mib);
	mri_diag_put(&d, " MiB, backend ");
	mri_diag_put(&d, scav_backend_name(mri_purge_backend()));
	if (!mri_purge_free_ok())
		mri_diag_put(&d, " (no MADV_FREE)");
	mri_diag_put(&d, ", ");
	mri_diag_put_fixed(&d, spent_ns, 1000000);
	mri_diag_put(&d, " ms");
	mri_diag_end(&d, 2);
}

/* One cycle: snapshot, decide, release, schedule the next. */
static void
scav_cycle(void)
{
	struct mri_rel_in in;
	struct mri_rel_plan p;
	struct mri_heap_counters after;
	uint64_t got[MRI_REL_MAX_STEPS], released = 0, spent, next, due, now;
	unsigned i;

	pthread_mutex_lock(&scav.cycle_lock);
	/* Frees from now on kick again. */
	__atomic_store_n(&scav.kicked, 0, __ATOMIC_SEQ_CST);
	mri_limit_sync();
	mri_release_snapshot(&in, MRI_REL_CYCLE, 0);
	in.woken = __atomic_exchange_n(&scav.pending, 0, __ATOMIC_SEQ_CST);
	scav.last_ns = in.now_ns;
	mri_relpol_plan(&in, &scav.st, &p);
	spent = mri_release_run(&p, &scav.st, got);
	for (i = 0; i < p.nsteps; i++)
		released += got[i];
	mri_release_add(cycles, 1);
	mri_release_add(scav_bytes, released);
	mri_release_add(scav_ns, spent);
	__atomic_store_n(&mri_release_st.goal_bytes, p.goal_bytes,
			 __ATOMIC_RELAXED);
	now = mri_os->now_ns();
	next = mri_relpol_done(&in, &scav.st, &p, got, spent, now);
	mri_heap_page_counters(&after);
	due = mri_relpol_lazy_due(&in.opt, &scav.st, after.oldest_lazy_ns,
				  after.lazy_partial_bytes, now);
	if (due < next)
		next = due;
	/* Idle ticks that find nothing to do stay silent. */
	if (mri_opt(MRI_OPT_TRACE) && (released || p.nsteps))
		scav_trace(now, &in, &after, p.goal_bytes, released,
			   now - in.now_ns);
	scav.due_ns = next;
	scav.broke_until_ns = scav.st.credit_ns == 0 ? next : 0;
	pthread_mutex_unlock(&scav.cycle_lock);
}

/* Over the soft limit (which is never held to the CPU budget). */
static int
scav_over_limit(void)
{
	uint64_t lim = __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);

	return lim && mri_heap_retained() > lim;
}

static void *
scav_main(void *arg)
{
	const struct mri_scavenger_client *cls[MRI_SCAV_MAX_CLIENTS];
	uint64_t now;
	int i;

	(void)arg;
	/* Named from inside: pthread_setname_np on another thread formats a
	 * /proc path with sprintf, and the libc code that pages in costs
	 * every process about 250 KiB of RSS.  The starter waits for it. */
	prctl(PR_SET_NAME, "mr-scavenger", 0, 0, 0);
	__atomic_store_n(&scav.named, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &scav.named, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	for (i = 0; i < MRI_SCAV_MAX_CLIENTS; i++)
		cls[i] = __atomic_load_n(&scav_clients[i], __ATOMIC_ACQUIRE);
	/* Publish the limit in force (mri_limit_init read the cgroup at
	 * start-up; it is read here only if that did not run). */
	mri_limit_read_cgroup();
	now = mri_os->now_ns();
	scav.start_ns = now;
	memset(&scav.st, 0, sizeof(scav.st));
	scav.st.credit_at_ns = now;
	scav.st.credit_ns = MRI_REL_CREDIT_MAX_NS;
	scav.due_ns = now;
	while (!__atomic_load_n(&scav.stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd[1 + MRI_SCAV_MAX_CLIENTS];
		int slot[MRI_SCAV_MAX_CLIENTS]; /* client i's pfd, or -1 */
		uint64_t wake_at = scav.due_ns, timeout_ms;
		int nfd = 1, kicked = 0;

		pfd[0].fd = scav.efd;
		pfd[0].events = POLLIN;
		for (i = 0; i < MRI_SCAV_MAX_CLIENTS; i++) {
			const struct mri_scavenger_client *cl = cls[i];
			int cfd;

			slot[i] = -1;
			if (!cl)
				continue;
			if (cl->next_ns) {
				uint64_t cn = cl->next_ns();
				if (cn < wake_at)
					wake_at = cn;
			}
			if (cl->fd && (cfd = cl->fd()) >= 0) {
				pfd[nfd].fd = cfd;
				pfd[nfd].events = cl->poll_events
						      ? cl->poll_events()
						      : POLLIN;
				pfd[nfd].revents = 0;
				slot[i] = nfd++;
			}
		}
		now = mri_os->now_ns();
		timeout_ms =
		    wake_at > now ? (wake_at - now + 999999) / 1000000 : 0;
		if (timeout_ms > 60000)
			timeout_ms = 60000;
		pfd[0].revents = 0;
		if (poll(pfd, (nfds_t)nfd, (int)timeout_ms) > 0 &&
		    (pfd[0].revents & POLLIN)) {
			uint64_t v;
			(void)!read(scav.efd, &v, sizeof(v));
			kicked = 1;
		}
		if (__atomic_load_n(&scav.stop, __ATOMIC_ACQUIRE))
			break;
		now = mri_os->now_ns();
		for (i = 0; i < MRI_SCAV_MAX_CLIENTS; i++) {
			const struct mri_scavenger_client *cl = cls[i];

			if (!cl)
				continue;
			/* The revents go to the client: a PSI trigger's
			 * POLLPRI is consumed by the poll that saw it. */
			if (slot[i] >= 0 && pfd[slot[i]].revents && cl->event)
				cl->event(pfd[slot[i]].revents, now);
			if (cl->tick)
				cl->tick(now);
		}
		if (kicked) {
			/* Bring the next cycle forward: soon, to batch the
			 * rest of the burst, and not too soon after the
			 * last one. */
			uint64_t at = now + SCAV_KICK_DELAY_NS;

			if (at < scav.last_ns + SCAV_KICK_GAP_NS)
				at = scav.last_ns + SCAV_KICK_GAP_NS;
			/* Out of budget, a cycle could release nothing
			 * budgeted: frees wait for the credit (each cycle's
			 * snapshot and plan cost CPU too), the limit not. */
			if (at < scav.broke_until_ns && !scav_over_limit())
				at = scav.broke_until_ns;
			if (at < scav.due_ns)
				scav.due_ns = at;
		}
		if (now >= scav.due_ns)
			scav_cycle();
	}
	for (i = 0; i < MRI_SCAV_MAX_CLIENTS; i++)
		if (cls[i] && cls[i]->stop)
			cls[i]->stop();
	return NULL;
}

void
mri_scavenger_start(void)
{
	sigset_t all, old;
	int efd, rc;

	if (__atomic_load_n(&scav.running, __ATOMIC_ACQUIRE))
		return;
	if (scav_prestart)
		scav_prestart();
	mri_options_init();
	if (!mri_opt(MRI_OPT_SCAVENGER) || mri_os->is_fake)
		return;
	__atomic_store_n(&scav_deferred, 0, __ATOMIC_RELAXED);
	pthread_mutex_lock(&scav.start_lock);
	if (scav.running) {
		pthread_mutex_unlock(&scav.start_lock);
		return;
	}
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0) {
		/* Without an eventfd there is no sleeping thread to wake:
		 * limits and mr_release still work synchronously. */
		pthread_mutex_unlock(&scav.start_lock);
		mri_limit_read_cgroup();
		return;
	}
	scav.efd = efd;
	scav.stop = 0;
	scav.kicked = 0;
	/* The thread takes no signals meant for the program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	__atomic_store_n(&scav.named, 0, __ATOMIC_RELAXED);
	rc = pthread_create(&scav.thread, NULL, scav_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* Once we return, the thread is there under its name (tools and
	 * tests look for it right after start-up or fork). */
	while (rc == 0 && !__atomic_load_n(&scav.named, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &scav.named, FUTEX_WAIT_PRIVATE, 0, NULL,
			NULL, 0);
	if (rc != 0) {
		close(efd);
		scav.efd = -1;
		pthread_mutex_unlock(&scav.start_lock);
		mri_limit_read_cgroup(); /* as the thread would */
		return;
	} else {
		__atomic_store_n(&scav.running, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&scav.start_lock);
}

MRI_STARTUP void
mri_scavenger_defer(void)
{
	mri_options_init();
	if (!mri_opt(MRI_OPT_SCAVENGER) || mri_os->is_fake ||
	    __atomic_load_n(&scav.running, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&scav_deferred, 1, __ATOMIC_RELEASE);
}

int
mri_scavenger_deferred(void)
{
	return __atomic_load_n(&scav_deferred, __ATOMIC_ACQUIRE);
}

MRI_STARTUP int
mri_scavenger_due(void)
{
	return __atomic_load_n(&scav_deferred, __ATOMIC_ACQUIRE) &&
	       (__atomic_load_n(&scav_wanted, __ATOMIC_RELAXED) ||
		mri_heap_retained() >= MRI_SCAV_LAZY_BYTES);
}

MRI_STARTUP void
mri_scavenger_set_prestart(void (*fn)(void))
{
	scav_prestart = fn;
}

void
mri_scavenger_wake(void)
{
	int efd = __atomic_load_n(&scav.efd, __ATOMIC_RELAXED);
	uint64_t one = 1;

	if (efd < 0) {
		if (__atomic_load_n(&scav_deferred, __ATOMIC_RELAXED))
			__atomic_store_n(&scav_wanted, 1, __ATOMIC_RELAXED);
		return;
	}
	if (!__atomic_load_n(&scav.pending, __ATOMIC_RELAXED))
		__atomic_store_n(&scav.pending, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&scav.kicked, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&scav.kicked, 1, __ATOMIC_ACQ_REL))
		return;
	(void)!write(efd, &one, sizeof(one));
}

void
mri_scavenger_stop(void)
{
	uint64_t one = 1;

	/* A deferred start is called off too. */
	__atomic_store_n(&scav_deferred, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&scav.start_lock);
	if (!scav.running) {
		pthread_mutex_unlock(&scav.start_lock);
		return;
	}
	__atomic_store_n(&scav.stop, 1, __ATOMIC_RELEASE);
	(void)!write(scav.efd, &one, sizeof(one));
	pthread_join(scav.thread, NULL);
	close(scav.efd);
	__atomic_store_n(&scav.efd, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&scav.running, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&scav.start_lock);
}

void
mri_scavenger_atfork_prepare(void)
{
	pthread_mutex_lock(&scav.start_lock);
	pthread_mutex_lock(&scav.cycle_lock);
}

void
mri_scavenger_atfork_parent(void)
{
	pthread_mutex_unlock(&scav.cycle_lock);
	pthread_mutex_unlock(&scav.start_lock);
}

void
mri_scavenger_atfork_child(void)
{
	int was_running = scav.running, i;

	/* The locks were taken by this (now only) thread in prepare
	 * (api/init.c registers the two handlers together): unlock them.
	 * Re-making a locked mutex by assignment hid the unlock from
	 * ThreadSanitizer, which then saw a double lock in the child. */
	pthread_mutex_unlock(&scav.cycle_lock);
	pthread_mutex_unlock(&scav.start_lock);
	if (scav.efd >= 0)
		close(scav.efd); /* shared with the parent */
	scav.efd = -1;
	scav.running = 0;
	scav.stop = 0;
	scav.kicked = 0;
	mri_purge_atfork_child();
	for (i = 0; i < MRI_SCAV_MAX_CLIENTS; i++) {
		const struct mri_scavenger_client *cl =
		    __atomic_load_n(&scav_clients[i], __ATOMIC_ACQUIRE);
		if (cl && cl->atfork_child)
			cl->atfork_child();
	}
	/* A forked worker (prefork servers) should give memory back like
	 * its parent; the core's child handler has made its locks anew
	 * before calling us, so the allocator (which pthread_create uses)
	 * is ready.  This costs a thread per fork() in a process that
	 * scavenges; posix_spawn and vfork run no fork handlers. */
	if (was_running)
		mri_scavenger_start();
}

MRI_STARTUP int
mri_scavenger_add_client(const struct mri_scavenger_client *client)
{
	int i;

	for (i = 0; i < MRI_SCAV_MAX_CLIENTS; i++) {
		const struct mri_scavenger_client *cur =
		    __atomic_load_n(&scav_clients[i], __ATOMIC_ACQUIRE);
		if (cur == client)
			return 0;
		if (!cur) {
			__atomic_store_n(&scav_clients[i], client,
					 __ATOMIC_RELEASE);
			return 0;
		}
	}
	return -ENOSPC;
}

void
mri_scavenger_client_stats(struct mr_stats *st)
{
	int i;

	for (i = 0; i < MRI_SCAV_MAX_CLIENTS; i++) {
		const struct mri_scavenger_client *cl =
		    __atomic_load_n(&scav_clients[i], __ATOMIC_ACQUIRE);
		if (cl && cl->stats)
			cl->stats(st);
	}
}
