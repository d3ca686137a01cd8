/*
 * scavenger.c: the background thread that gives free memory back to the
 * kernel (see scavenger.h).  It also hosts the daemon client: the client's
 * socket is in its poll set and mri_client_tick() runs on every wake-up.
 *
 * The goal (Go's rule).  Retained memory (mapped, not released) should
 * stay at most goal_percent (10%) above the memory the heap is using in
 * spans, and with a soft limit at most limit_goal_percent (95%) of it:
 *
 *	goal = min(in_use * (100 + goal_percent) / 100,
 *		   limit * limit_goal_percent / 100)
 *
 * Example: 800 MiB in spans, 1 GiB retained, no limit: goal 880 MiB, so
 * 144 MiB of free pages go back.  With a 900 MiB limit the limit goal is
 * 855 MiB and wins: 169 MiB go back.
 *
 * Delay.  A page freed less than release_delay_ms ago is left alone (it
 * is passed to mri_heap_release as min_age_ns), so a burst that repeats
 * every few hundred ms reuses its pages instead of faulting them in again.
 * When a cycle could not reach the goal because pages were too young, the
 * next cycle is due a quarter of a delay later, so memory is back at most
 * about 1.25 delays after its free; after more than a whole delay of
 * fruitless cycles (the rest is inside partly used hugepages, which only a
 * limit may split) it goes back to the slow tick.  A cycle short of its
 * goal also drains the transfer caches once (MRI_RELEASE_DRAIN): objects
 * parked there keep otherwise empty spans, and so whole hugepages, alive.
 *
 * Hugepages.  mri_heap_release gives whole free hugepages first and splits
 * a partly used one only with MRI_RELEASE_SPLIT, which the scavenger sets
 * when retained memory is above the limit goal, and for a sparse heap:
 * when the heap in use is under half of what it retains, nothing was freed
 * for a whole delay and whole hugepages are exhausted, the free runs inside
 * the (then mostly empty) partly used hugepages go back too.  Example: a
 * burst of 1 GiB of mixed objects is freed; whole hugepages go back a delay
 * later, but 200 MiB stay in hugepages each pinned by a span or two that
 * the thread caches hold; one more delay later those runs are released and
 * retained falls to a few MiB.  A dense heap (the normal state of a
 * running service) never has its hugepages split by the scavenger.  Past
 * the limit goal the delay is also ignored and MADV_DONTNEED used whatever
 * the advice option says: the limit is about RSS.
 *
 * CPU budget.  Time spent in mri_heap_release earns debt against a credit
 * that grows at scavenger_cpu percent of wall time, capped at
 * SCAV_CREDIT_MAX_NS: a process that was quiet may release a burst at once
 * (1 GiB of hugepages takes a few ms), but steady churn is held to about
 * scavenger_cpu % of one CPU.  With 1% and 20 ms spent, the credit is back
 * after 2 s.  Wall time is measured, not thread CPU time, because the
 * io_uring backend does its work in kernel workers.  The limit goal is not
 * held to the budget.
 *
 * Sleeping.  The thread blocks in poll() on an eventfd (mri_scavenger_wake
 * writes it, only when the thread is idle and not already kicked, so frees
 * cost a syscall at most once per idle period; otherwise it only sets a
 * flag the running cycle looks at before going idle) and the client's fd; the
 * timeout is the earlier of the next due cycle and mri_client_next_ns().
 * With nothing to do it wakes every SCAV_IDLE_TICK_NS (1 s) for a cycle
 * that reads the heap's counters (a few microseconds): small frees do not
 * wake the thread, the tick finds them.
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
#include <sys/mman.h>
#include <unistd.h>
#include "core/heap.h"
#include "release/limit.h"
#include "os/options.h"
#include "os/os.h"
#include "os/purge.h"
#include "release/release.h"
#include "release/scavenger.h"

/* The daemon client this thread hosts (NULL: none).  Registered at
 * start-up, before the thread starts (mri_scavenger_set_client). */
static const struct mri_scavenger_client *scav_client;

#define SCAV_IDLE_TICK_NS 1000000000ULL	   /* 1 s */
#define SCAV_SHORT_STEPS 4		   /* checks per delay while short */
#define SCAV_CREDIT_MAX_NS 200000000ULL	   /* 200 ms of releasing */
#define SCAV_STEP_BYTES ((size_t)64 << 20) /* per heap release */
#define SCAV_MIN_SLEEP_NS 1000000ULL	   /* 1 ms */

/* clang-format off */
static struct {
	pthread_mutex_t start_lock; /* start/stop/fork */
	pthread_mutex_t cycle_lock; /* held for a whole cycle */
	pthread_t thread;
	int running; /* thread exists (atomic) */
	int stop;    /* asked to exit (atomic) */
	int efd;     /* eventfd, -1 when not running */
	int idle;    /* thread sleeps the slow tick (atomic) */
	int kicked;  /* efd written since the thread last read */
	int pending; /* a wake came since the cycle began */
	/* Scavenger thread only: */
	uint64_t credit_ns;   /* may spend this much releasing now */
	uint64_t credit_at;   /* when credit_ns was last brought up */
	uint64_t due_ns;      /* next cycle */
	unsigned fruitless;   /* cycles that fell short in a row */
	uint64_t in_use_seen; /* heap in use at the last cycle */
	uint64_t freed_at;    /* last cycle that saw heap activity */
	uint64_t start_ns;    /* thread start, for the trace */
} scav = {
	.start_lock = PTHREAD_MUTEX_INITIALIZER,
	.cycle_lock = PTHREAD_MUTEX_INITIALIZER,
	.efd = -1,
};
/* clang-format on */

uint64_t
mri_scavenger_goal(uint64_t in_use_bytes)
{
	uint64_t pct = (uint64_t)mri_opt(MRI_OPT_GOAL_PERCENT);
	uint64_t goal = in_use_bytes + in_use_bytes / 100 * pct +
			in_use_bytes % 100 * pct / 100;
	uint64_t lgoal = mri_limit_goal();

	if (lgoal && lgoal < goal)
		goal = lgoal;
	return goal;
}

int
mri_release_advice(void)
{
	return mri_opt(MRI_OPT_ADVICE) == MRI_ADVICE_FREE ? MADV_FREE
							  : MADV_DONTNEED;
}

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

/* Tiny allocation-free formatting for the trace line. */
static size_t
scav_put(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	return at;
}

static size_t
scav_put_u(char *buf, size_t at, size_t cap, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < 24);
	while (n && at + 1 < cap)
		buf[at++] = tmp[--n];
	return at;
}

/* v/div with one decimal ("12.3"). */
static size_t
scav_put_fixed(char *buf, size_t at, size_t cap, uint64_t v, uint64_t div)
{
	at = scav_put_u(buf, at, cap, v / div);
	at = scav_put(buf, at, cap, ".");
	return scav_put_u(buf, at, cap, v % div * 10 / div);
}

static void
scav_trace(uint64_t now, uint64_t in_use, uint64_t retained, uint64_t goal,
	   uint64_t released, uint64_t spent_ns)
{
	char b[256];
	size_t n = 0;
	const uint64_t mib = 1 << 20;

	n = scav_put(b, n, sizeof(b), "memreclaim: scav #");
	n = scav_put_u(
	    b, n, sizeof(b),
	    __atomic_load_n(&mri_release_st.cycles, __ATOMIC_RELAXED));
	n = scav_put(b, n, sizeof(b), " @");
	n = scav_put_fixed(b, n, sizeof(b), now - scav.start_ns, 1000000000);
	n = scav_put(b, n, sizeof(b), "s: in_use ");
	n = scav_put_fixed(b, n, sizeof(b), in_use, mib);
	n = scav_put(b, n, sizeof(b), " MiB, retained ");
	n = scav_put_fixed(b, n, sizeof(b), retained, mib);
	n = scav_put(b, n, sizeof(b), " MiB, goal ");
	n = scav_put_fixed(b, n, sizeof(b), goal, mib);
	n = scav_put(b, n, sizeof(b), " MiB, released ");
	n = scav_put_fixed(b, n, sizeof(b), released, mib);
	n = scav_put(b, n, sizeof(b), " MiB, backend ");
	n = scav_put(b, n, sizeof(b), scav_backend_name(mri_purge_backend()));
	n = scav_put(b, n, sizeof(b), ", ");
	n = scav_put_fixed(b, n, sizeof(b), spent_ns, 1000000);
	n = scav_put(b, n, sizeof(b), " ms\n");
	(void)!write(2, b, n);
}

/* The scavenger_cpu option, as a percentage in 1..100. */
static uint64_t
scav_cpu_pct(void)
{
	int64_t pct = mri_opt(MRI_OPT_SCAVENGER_CPU);

	return pct < 1 ? 1 : pct > 100 ? 100 : (uint64_t)pct;
}

/* Bring the CPU credit up to date at now. */
static void
scav_earn(uint64_t now)
{
	uint64_t pct = scav_cpu_pct();

	if (now > scav.credit_at) {
		uint64_t earned = (now - scav.credit_at) / 100 * pct;
		scav.credit_ns = scav.credit_ns + earned > SCAV_CREDIT_MAX_NS
				     ? SCAV_CREDIT_MAX_NS
				     : scav.credit_ns + earned;
	}
	scav.credit_at = now;
}

/* How long until the credit is back above zero after spending `debt`. */
static uint64_t
scav_debt_wait(uint64_t debt)
{
	return debt / scav_cpu_pct() * 100;
}

/* One cycle: compute the goal, release towards it, schedule the next. */
static void
scav_cycle(uint64_t now)
{
	struct mri_heap_counters c;
	uint64_t retained, goal, lgoal, released = 0, spent = 0, debt = 0;
	uint64_t delay_ns =
	    (uint64_t)mri_opt(MRI_OPT_RELEASE_DELAY_MS) * 1000000ULL;
	int short_of_goal = 0, drained = 0, woken;

	pthread_mutex_lock(&scav.cycle_lock);
	woken = __atomic_exchange_n(&scav.pending, 0, __ATOMIC_SEQ_CST);
	mri_limit_sync();
	scav_earn(now);
	memset(&c, 0, sizeof(c));
	mri_heap_counters(&c);
	/* Activity since the last cycle (a wake after a large free, or the
	 * heap in use changed: objects came and went) restarts the delay:
	 * the free memory may be young. */
	if (woken || c.in_use_bytes != scav.in_use_seen) {
		scav.fruitless = 0;
		scav.freed_at = now;
	}
	scav.in_use_seen = c.in_use_bytes;
	retained = c.mapped_bytes - c.released_bytes - c.lazy_bytes;
	goal = mri_scavenger_goal(c.in_use_bytes);
	lgoal = mri_limit_goal();
	__atomic_store_n(&mri_release_st.goal_bytes, goal, __ATOMIC_RELAXED);
	while (retained > goal + released) {
		uint64_t want = retained - goal - released, t0, dt, got;
		int urgent = lgoal && retained - released > lgoal;

		if (!urgent && scav.credit_ns == 0)
			break;
		if (want > SCAV_STEP_BYTES)
			want = SCAV_STEP_BYTES;
		t0 = mri_os->now_ns();
		got = urgent ? mri_heap_release(
				   want, MADV_DONTNEED,
				   MRI_RELEASE_SPLIT | MRI_RELEASE_DRAIN, 0)
			     : mri_heap_release(want, mri_release_advice(), 0,
						delay_ns);
		dt = mri_os->now_ns() - t0;
		spent += dt;
		if (!urgent) {
			if (dt > scav.credit_ns) {
				debt = dt - scav.credit_ns;
				scav.credit_ns = 0;
			} else {
				scav.credit_ns -= dt;
			}
		}
		released += got;
		if (got < want) {
			/* Nothing more eligible in whole free hugepages.
			 * Once per cycle, return the objects parked in
			 * transfer caches to their spans: spans that empty
			 * go back to the heap and may free whole hugepages
			 * (released a delay later, as they are fresh). */
			if (urgent || drained)
				break;
			drained = 1;
			t0 = mri_os->now_ns();
			got = mri_heap_release(retained - goal - released,
					       mri_release_advice(),
					       MRI_RELEASE_DRAIN, delay_ns);
			dt = mri_os->now_ns() - t0;
			spent += dt;
			scav.credit_ns =
			    dt > scav.credit_ns ? 0 : scav.credit_ns - dt;
			released += got;
			break;
		}
	}
	/* Sparse heap: all free memory has been free for a delay (in_use
	 * has not changed for that long), whole hugepages are done, and the
	 * heap uses less than half of what it retains.  Then the rest sits
	 * in mostly empty hugepages pinned by a few spans: release free runs
	 * inside them, emptiest first (Go's scavenger likewise breaks sparse
	 * hugepages and spares dense ones). */
	if (retained > goal + released &&
	    !(lgoal && retained - released > lgoal) &&
	    now - scav.freed_at >= delay_ns && scav.credit_ns > 0 &&
	    c.in_use_bytes * 2 < retained - released) {
		uint64_t t0 = mri_os->now_ns(), dt;

		released += mri_heap_release(retained - goal - released,
					     mri_release_advice(),
					     MRI_RELEASE_SPLIT, 0);
		dt = mri_os->now_ns() - t0;
		spent += dt;
		scav.credit_ns = dt > scav.credit_ns ? 0 : scav.credit_ns - dt;
	}
	short_of_goal = retained > goal + released;
	mri_release_add(cycles, 1);
	mri_release_add(scav_bytes, released);
	mri_release_add(scav_ns, spent);
	/* Idle ticks that find nothing to do stay silent. */
	if (mri_opt(MRI_OPT_TRACE) && (released || retained > goal))
		scav_trace(now, c.in_use_bytes, retained - released, goal,
			   released, spent);

	/* Schedule the next cycle. */
	now = mri_os->now_ns();
	if (!short_of_goal) {
		scav.fruitless = 0;
		scav.due_ns = now + SCAV_IDLE_TICK_NS;
	} else if (scav.credit_ns == 0 && released) {
		/* Out of budget: come back when it is earned again. */
		scav.fruitless = 0;
		scav.due_ns = now + scav_debt_wait(debt ? debt : 1000000ULL);
	} else {
		/* Pages too young (or inside used hugepages).  Pages freed
		 * before now are old enough one delay later; after a whole
		 * delay of fruitless cycles with no activity (the sparse
		 * split above has had its chance), what is left cannot go
		 * without splitting a dense heap: slow tick until more is
		 * freed. */
		scav.fruitless = released ? 0 : scav.fruitless + 1;
		if (scav.fruitless > SCAV_SHORT_STEPS &&
		    now - scav.freed_at > delay_ns)
			scav.due_ns = now + SCAV_IDLE_TICK_NS;
		else if (delay_ns / SCAV_SHORT_STEPS > SCAV_MIN_SLEEP_NS)
			scav.due_ns = now + delay_ns / SCAV_SHORT_STEPS;
		else
			scav.due_ns = now + SCAV_MIN_SLEEP_NS;
	}
	if (scav.due_ns >= now + SCAV_IDLE_TICK_NS) {
		/* Going idle.  Store idle, then look for a wake that came
		 * during the cycle; mri_scavenger_wake does the opposite, so
		 * one of the two sees the other (no lost wake-up). */
		__atomic_store_n(&scav.idle, 1, __ATOMIC_SEQ_CST);
		if (__atomic_exchange_n(&scav.pending, 0, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&scav.idle, 0, __ATOMIC_SEQ_CST);
			scav.fruitless = 0;
			scav.freed_at = now;
			scav.due_ns = now + SCAV_MIN_SLEEP_NS;
		}
	} else {
		__atomic_store_n(&scav.idle, 0, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&scav.cycle_lock);
}

static void *
scav_main(void *arg)
{
	const struct mri_scavenger_client *cl =
	    __atomic_load_n(&scav_client, __ATOMIC_ACQUIRE);
	uint64_t now = mri_os->now_ns();

	(void)arg;
	/* Publish the limit in force (mri_limit_init read the cgroup at
	 * start-up; it is read here only if that did not run). */
	mri_limit_read_cgroup();
	now = mri_os->now_ns();
	scav.start_ns = now;
	scav.credit_at = now;
	scav.credit_ns = SCAV_CREDIT_MAX_NS;
	scav.due_ns = now;
	scav.fruitless = 0;
	while (!__atomic_load_n(&scav.stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd[2];
		uint64_t wake_at = scav.due_ns, timeout_ms;
		int nfd = 1, kicked = 0;

		pfd[0].fd = scav.efd;
		pfd[0].events = POLLIN;
		if (cl && cl->fd && cl->next_ns) {
			uint64_t cn = cl->next_ns();
			int cfd = cl->fd();
			if (cn < wake_at)
				wake_at = cn;
			if (cfd >= 0) {
				pfd[1].fd = cfd;
				pfd[1].events = POLLIN;
				nfd = 2;
			}
		}
		now = mri_os->now_ns();
		timeout_ms =
		    wake_at > now ? (wake_at - now + 999999) / 1000000 : 0;
		if (timeout_ms > 60000)
			timeout_ms = 60000;
		if (poll(pfd, (nfds_t)nfd, (int)timeout_ms) > 0 &&
		    (pfd[0].revents & POLLIN)) {
			uint64_t v;
			(void)!read(scav.efd, &v, sizeof(v));
			__atomic_store_n(&scav.kicked, 0, __ATOMIC_RELEASE);
			kicked = 1;
		}
		if (__atomic_load_n(&scav.stop, __ATOMIC_ACQUIRE))
			break;
		now = mri_os->now_ns();
		if (cl && cl->tick)
			cl->tick(now);
		/* A kick only matters when idle: otherwise a cycle is
		 * already due soon and frees must not drive the rate. */
		if (now >= scav.due_ns ||
		    (kicked && __atomic_load_n(&scav.idle, __ATOMIC_RELAXED))) {
			scav_cycle(now);
		}
	}
	if (cl && cl->stop)
		cl->stop();
	return NULL;
}

void
mri_scavenger_start(void)
{
	sigset_t all, old;
	int efd, rc;

	if (__atomic_load_n(&scav.running, __ATOMIC_ACQUIRE))
		return;
	mri_options_init();
	if (!mri_opt(MRI_OPT_SCAVENGER) || mri_os->is_fake)
		return;
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
	scav.idle = 0;
	/* The thread takes no signals meant for the program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&scav.thread, NULL, scav_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(efd);
		scav.efd = -1;
		pthread_mutex_unlock(&scav.start_lock);
		mri_limit_read_cgroup(); /* as the thread would */
		return;
	} else {
		pthread_setname_np(scav.thread, "mr-scavenger");
		__atomic_store_n(&scav.running, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&scav.start_lock);
}

void
mri_scavenger_wake(void)
{
	int efd = __atomic_load_n(&scav.efd, __ATOMIC_RELAXED);
	uint64_t one = 1;

	if (efd < 0)
		return;
	if (!__atomic_load_n(&scav.pending, __ATOMIC_RELAXED))
		__atomic_store_n(&scav.pending, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&scav.idle, __ATOMIC_SEQ_CST))
		return;
	if (__atomic_exchange_n(&scav.kicked, 1, __ATOMIC_ACQ_REL))
		return;
	(void)!write(efd, &one, sizeof(one));
}

void
mri_scavenger_stop(void)
{
	uint64_t one = 1;

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
	const struct mri_scavenger_client *cl =
	    __atomic_load_n(&scav_client, __ATOMIC_ACQUIRE);
	int was_running = scav.running;

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
	scav.idle = 0;
	scav.kicked = 0;
	mri_purge_atfork_child();
	if (cl && cl->atfork_child)
		cl->atfork_child();
	/* A forked worker (prefork servers) should give memory back like
	 * its parent; the core's child handler has made its locks anew
	 * before calling us, so the allocator (which pthread_create uses)
	 * is ready.  This costs a thread per fork() in a process that
	 * scavenges; posix_spawn and vfork run no fork handlers. */
	if (was_running)
		mri_scavenger_start();
}

void
mri_scavenger_set_client(const struct mri_scavenger_client *client)
{
	__atomic_store_n(&scav_client, client, __ATOMIC_RELEASE);
}

void
mri_scavenger_client_stats(struct mr_stats *st)
{
	const struct mri_scavenger_client *cl =
	    __atomic_load_n(&scav_client, __ATOMIC_ACQUIRE);

	if (cl && cl->stats)
		cl->stats(st);
}
