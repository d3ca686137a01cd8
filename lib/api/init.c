/*
 * init.c: the library's start-up and its fork handlers, the one place that
 * starts every layer.  The core starts lazily on the first allocation
 * (core/init.c), which may come before main from another library's
 * constructor.  The library constructor then does what may allocate:
 * reading the NUMA topology (from sysfs, os/os.c), deriving the memory
 * limit from the cgroup (which registers the release path's heap hooks),
 * plugging the daemon client and the systemd memory pressure watch into
 * the scavenger, and starting the scavenger: at once when a daemon
 * listens, a memory pressure watch is set or cycles are traced, else
 * when the heap first needs it.  Fork handlers are registered once a
 * second thread exists (init.h says why and how).  Every call here is
 * direct: a renamed function is a link error, never a silent no-op.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <unistd.h>
#include "memreclaim.h"
#include "api/init.h"
#include "client/client.h"
#include "client/sdpressure.h"
#include "core/init.h"
#include "os/layout.h"
#include "os/purge.h"
#include "os/options.h"
#include "prof/prof.h"
#include "release/limit.h"
#include "release/scavenger.h"

/* The daemon client, run by the scavenger thread. */
/* clang-format off */
static const struct mri_scavenger_client client_hooks = {
	.fd = mri_client_fd,
	.tick = mri_client_tick,
	.next_ns = mri_client_next_ns,
	.stop = mri_client_stop,
	.atfork_child = mri_client_atfork_child,
	.stats = mri_client_stats,
};

/* systemd's memory pressure protocol, run by the scavenger thread too. */
static const struct mri_scavenger_client sdpressure_hooks = {
	.fd = mri_sdp_fd,
	.tick = mri_sdp_tick,
	.next_ns = mri_sdp_next_ns,
	.stop = mri_sdp_stop,
	.atfork_child = mri_sdp_atfork_child,
	.stats = mri_sdp_stats,
	.poll_events = mri_sdp_poll_events,
	.event = mri_sdp_event,
};
/* clang-format on */

/*
 * fork(): take every allocator lock in the prepare handler (in lock order,
 * the scavenger's first) so the child starts with consistent structures,
 * then release them in both parent and child.
 */
static void
atfork_prepare(void)
{
	mri_scavenger_atfork_prepare();
	mri_prof_atfork_prepare();
	mri_core_lock_all();
}

static void
atfork_parent(void)
{
	mri_core_unlock_all();
	mri_prof_atfork_parent();
	mri_scavenger_atfork_parent();
}

static void
atfork_child(void)
{
	mri_core_atfork_child();
	mri_prof_atfork_child();
	mri_purge_atfork_child();
	mri_limit_atfork_child();
	mri_scavenger_atfork_child();
}

int mri_startup_pending;
static int init_forkh_done; /* handlers registered (atomic) */
static pthread_mutex_t init_forkh_mu = PTHREAD_MUTEX_INITIALIZER;
static __thread int init_forkh_busy __attribute__((tls_model("initial-exec")));

/* pthread_atfork is not in libc.so: libc_nonshared.a links a two-line
 * stub of it into the library, after all of our text, which cost a
 * threaded program that window of text (see os/layout.h).  Its body is
 * this call to glibc's exported __register_atfork with our DSO handle. */
extern void *__dso_handle;
extern int __register_atfork(void (*prepare)(void), void (*parent)(void),
			     void (*child)(void), void *dso);

/* Register the fork handlers once.  Registering may allocate (the list
 * grows): that nested malloc's poll finds this thread busy and goes on,
 * and another thread waits on the mutex until they are in place. */
static void
init_fork_handlers(void)
{
	if (__atomic_load_n(&init_forkh_done, __ATOMIC_ACQUIRE) ||
	    init_forkh_busy)
		return;
	init_forkh_busy = 1;
	pthread_mutex_lock(&init_forkh_mu);
	if (!init_forkh_done) {
		__register_atfork(atfork_prepare, atfork_parent, atfork_child,
				  &__dso_handle);
		__atomic_store_n(&init_forkh_done, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&init_forkh_mu);
	init_forkh_busy = 0;
}

void
mri_startup_poll_slow(void)
{
	if (!__libc_single_threaded)
		init_fork_handlers();
	/* Starting it registers the fork handlers first (the prestart
	 * hook); it starts once, whoever gets there first. */
	if (mri_scavenger_due())
		mri_scavenger_start();
	if (__atomic_load_n(&init_forkh_done, __ATOMIC_ACQUIRE) &&
	    !mri_scavenger_deferred())
		__atomic_store_n(&mri_startup_pending, 0, __ATOMIC_RELAXED);
}

/* Does the scavenger have work from the start?  The daemon must hear
 * from us (HELLO) as soon as we run, and a trace is asked for to be read.
 * Otherwise a small program never pays for the thread. */
static int
init_scavenger_now(void)
{
	const char *sock = mri_opt_socket();
	const char *watch = mri_env_get("MEMORY_PRESSURE_WATCH");

	if (mri_opt(MRI_OPT_TRACE))
		return 1;
	/* systemd's memory pressure protocol: the watch must be armed from
	 * the start, whatever the heap's size */
	if (mri_opt(MRI_OPT_SD_PRESSURE) && watch && watch[0] &&
	    strcmp(watch, "/dev/null") != 0)
		return 1;
	if (!mri_opt(MRI_OPT_DAEMON) || !sock[0])
		return 0;
	if (access(sock, F_OK) == 0)
		return 1;
	/* no daemon yet: say so where the link's state is reported (stats,
	 * trace), as a connect would have */
	mri_client_absent(sock, errno);
	return 0;
}

__attribute__((constructor)) static void
mri_ctor(void)
{
	mri_init();
	(void)mri_numa_setup();
	/* Loaded into a process that has threads already (dlopen). */
	if (!__libc_single_threaded)
		init_fork_handlers();
	mri_limit_init();
	mri_prof_init();
	(void)mri_scavenger_add_client(&client_hooks);
	(void)mri_scavenger_add_client(&sdpressure_hooks);
	mri_scavenger_set_prestart(init_fork_handlers);
	if (init_scavenger_now())
		mri_scavenger_start();
	else
		mri_scavenger_defer();
	__atomic_store_n(&mri_startup_pending, 1, __ATOMIC_RELEASE);
}

MR_API const char *
mr_version(void)
{
	return MR_VERSION_STRING;
}

/*
 * The library's DT_FINI (linked with -fini=mri_dt_fini, lib/Makefile.am).
 * The linker's default, crtn's _fini, does nothing (destructors run from
 * .fini_array) but sits in .fini after all of the text, in its last
 * 64 KiB: the loader's call at exit faulted that window in, 44 KiB that
 * a small program's peak RSS counted for nothing (see os/layout.h).
 */
MRI_STARTUP void mri_dt_fini(void);
MRI_STARTUP void
mri_dt_fini(void)
{
}
