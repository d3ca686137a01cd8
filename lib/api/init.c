/*
 * init.c: the library's start-up and its fork handlers, the one place that
 * starts every layer.  The core starts lazily on the first allocation
 * (core/init.c), which may come before main from another library's
 * constructor.  The library constructor then does what may allocate:
 * reading the NUMA topology (from sysfs, os/os.c), registering fork
 * handlers, deriving the memory
 * limit from the cgroup (which registers the release path's heap hooks),
 * plugging the daemon client into the scavenger, and starting the
 * scavenger.  Every call here is direct: a renamed function is a link
 * error, never a silent no-op.
 */
#include "config.h"
#include <pthread.h>
#include "memreclaim.h"
#include "client/client.h"
#include "core/init.h"
#include "os/purge.h"
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

__attribute__((constructor)) static void
mri_ctor(void)
{
	mri_init();
	(void)mri_numa_setup();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	mri_limit_init();
	mri_prof_init();
	mri_scavenger_set_client(&client_hooks);
	mri_scavenger_start();
}

MR_API const char *
mr_version(void)
{
	return MR_VERSION_STRING;
}
