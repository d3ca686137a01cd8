/*
 * init.c: bringing the core up and keeping it sane across fork().
 *
 * The core starts lazily on the first allocation, which may come before
 * main from another library's constructor; that part (options, the first
 * page heap and central lists, the thread-exit key) allocates nothing
 * through malloc.  The library constructor then does what may allocate:
 * reading the NUMA topology from libnuma (whose own constructor has run,
 * as we depend on it), registering fork handlers, deriving the memory
 * limit from the cgroup, and starting the scavenger.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "memreclaim.h"
#include "central.h"
#include "init.h"
#include "limit.h"
#include "meta.h"
#include "options.h"
#include "pageheap.h"
#include "purge.h"
#include "scavenger.h"
#include "tcache.h"

/* The release path is a separate part of the library (see pageheap.c). */
extern __typeof__(mri_limit_init) mri_limit_init __attribute__((weak));
extern __typeof__(mri_limit_atfork_child) mri_limit_atfork_child __attribute__((weak));
extern __typeof__(mri_scavenger_start) mri_scavenger_start __attribute__((weak));
extern __typeof__(mri_scavenger_atfork_prepare) mri_scavenger_atfork_prepare __attribute__((weak));
extern __typeof__(mri_scavenger_atfork_parent) mri_scavenger_atfork_parent __attribute__((weak));
extern __typeof__(mri_scavenger_atfork_child) mri_scavenger_atfork_child __attribute__((weak));

int mri_inited;
int mri_nnodes = 1;
int mri_numa_ok;
uint8_t mri_cpu_node[MRI_MAX_CPUS];
static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;

void
mri_init_slow(void)
{
	pthread_mutex_lock(&init_mu);
	if (!mri_inited) {
		mri_options_init();
		/* Without these the allocator cannot serve anything; there is
		 * no one to report to, so later allocations fail with ENOMEM
		 * (mri_heaps[0] stays NULL and pageheap_alloc checks it). */
		if (mri_pageheap_init(0) == 0 && mri_central_init(0) == 0 &&
		    mri_tcache_init() == 0)
			__atomic_store_n(&mri_inited, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&init_mu);
}

int
mri_numa_nodes(void)
{
	return __atomic_load_n(&mri_numa_ok, __ATOMIC_RELAXED) ? mri_nnodes : 0;
}

int
mri_numa_setup(void)
{
	static struct mri_topology t;	/* 1 KiB: not on the stack */
	int node, rc;

	mri_init();
	pthread_mutex_lock(&init_mu);
	memset(&t, 0, sizeof(t));
	rc = mri_os->topology(&t);
	if (rc < 0 || t.nnodes < 1 || mri_opt(MRI_OPT_NUMA) == 2) {
		/* One heap; libnuma unavailable (e.g. Docker's seccomp blocks
		 * get_mempolicy) or NUMA switched off. */
		__atomic_store_n(&mri_numa_ok, rc == 0, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&init_mu);
		return rc < 0 ? rc : 0;
	}
	for (node = 0; node < t.nnodes; node++) {
		if (mri_pageheap_init(node) < 0 || mri_central_init(node) < 0) {
			pthread_mutex_unlock(&init_mu);
			return -ENOMEM;
		}
	}
	memcpy(mri_cpu_node, t.cpu_node, sizeof(mri_cpu_node));
	__atomic_store_n(&mri_numa_ok, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&mri_nnodes, t.nnodes, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&init_mu);
	return 0;
}

/*
 * fork(): take every allocator lock in the prepare handler (in lock order)
 * so the child starts with consistent structures, then release them in
 * both parent and child.
 */
static void
atfork_prepare(void)
{
	if (mri_scavenger_atfork_prepare)
		mri_scavenger_atfork_prepare();
	pthread_mutex_lock(&init_mu);
	mri_tcache_lock();
	mri_central_lock_all();
	mri_pageheap_lock_all();
	mri_meta_lock();
}

static void
atfork_parent(void)
{
	mri_meta_unlock();
	mri_pageheap_unlock_all();
	mri_central_unlock_all();
	mri_tcache_unlock();
	pthread_mutex_unlock(&init_mu);
	if (mri_scavenger_atfork_parent)
		mri_scavenger_atfork_parent();
}

static void
atfork_child(void)
{
	/* The forking thread holds every lock (prepare took them): release
	 * them.  Re-initialising a locked mutex is undefined (ThreadSanitizer
	 * reports it as a double lock). */
	mri_meta_unlock();
	mri_pageheap_unlock_all();
	mri_central_unlock_all();
	mri_tcache_atfork_child();
	pthread_mutex_unlock(&init_mu);
	mri_purge_atfork_child();
	if (mri_limit_atfork_child)
		mri_limit_atfork_child();
	if (mri_scavenger_atfork_child)
		mri_scavenger_atfork_child();
}

__attribute__((constructor)) static void
mri_ctor(void)
{
	mri_init();
	(void)mri_numa_setup();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	if (mri_limit_init)
		mri_limit_init();
	if (mri_scavenger_start)
		mri_scavenger_start();
}

MR_API const char *
mr_version(void)
{
	return MR_VERSION_STRING;
}
