/*
 * init.c: the library's start-up and its fork handlers, the one place that
 * starts every layer.  The core starts lazily on the first allocation
 * (core/init.c), which may come before main from another library's
 * constructor.  The library constructor then does what may allocate:
 * reading the NUMA topology (from sysfs, os/os.c), registering fork
 * handlers, deriving the memory
 * limit from the cgroup (which registers the release path's heap hooks),
 * plugging the daemon client into the scavenger, and starting the
 * scavenger: at once when a daemon listens or cycles are traced, else
 * when the heap first needs it (release/scavenger.h).  Every call here is
 * direct: a renamed function is a link error, never a silent no-op.
 */
#include "config.h"
#include <pthread.h>
#include <unistd.h>
#include "memreclaim.h"
#include "client/client.h"
#include "core/init.h"
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

/* Does the scavenger have work from the start?  The daemon must hear
 * from us (HELLO) as soon as we run, and a trace is asked for to be read.
 * Otherwise a small program never pays for the thread. */
static int
init_scavenger_now(void)
{
	const char *sock = mri_opt_socket();

	if (mri_opt(MRI_OPT_TRACE))
		return 1;
	return mri_opt(MRI_OPT_DAEMON) && sock[0] && access(sock, F_OK) == 0;
}

__attribute__((constructor)) static void
mri_ctor(void)
{
	mri_init();
	(void)mri_numa_setup();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	mri_limit_init();
	mri_prof_init();
	mri_scavenger_set_client(&client_hooks);
	if (init_scavenger_now())
		mri_scavenger_start();
	else
		mri_scavenger_defer();
}

MR_API const char *
mr_version(void)
{
	return MR_VERSION_STRING;
}
