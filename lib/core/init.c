/*
 * init.c: bringing the core up: lazy initialisation on first use (options,
 * the first page heap and central lists, the thread-exit key; nothing is
 * allocated through malloc, as this may run inside the first malloc,
 * before main), the NUMA topology and a heap per node, and the core's
 * locks around fork().  The library constructor and the fork handlers
 * themselves are api/init.c's: they also start the layers above the core.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "os/options.h"
#include "core/central.h"
#include "core/init.h"
#include "core/meta.h"
#include "core/pageheap.h"
#include "core/tcache.h"

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
	static struct mri_topology t; /* 1 KiB: not on the stack */
	int node, rc;

	mri_init();
	pthread_mutex_lock(&init_mu);
	memset(&t, 0, sizeof(t));
	rc = mri_os->topology(&t);
	if (rc < 0 || t.nnodes < 1 || mri_opt(MRI_OPT_NUMA) == MRI_NUMA_OFF) {
		/* One heap; NUMA unavailable (e.g. Docker's seccomp blocks
		 * get_mempolicy) or NUMA switched off. */
		__atomic_store_n(&mri_numa_ok, rc == 0, __ATOMIC_RELAXED);
		mri_pageheap_set_numa(mri_numa_nodes());
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
	mri_pageheap_set_numa(t.nnodes);
	pthread_mutex_unlock(&init_mu);
	return 0;
}

/*
 * fork(): every core lock is taken in lock order before fork, so the child
 * starts with consistent structures, then released in both parent and
 * child.
 */
void
mri_core_lock_all(void)
{
	pthread_mutex_lock(&init_mu);
	mri_tcache_lock();
	mri_central_lock_all();
	mri_pageheap_lock_all();
	mri_meta_lock();
}

void
mri_core_unlock_all(void)
{
	mri_meta_unlock();
	mri_pageheap_unlock_all();
	mri_central_unlock_all();
	mri_tcache_unlock();
	pthread_mutex_unlock(&init_mu);
}

void
mri_core_atfork_child(void)
{
	/* The forking thread holds every lock (prepare took them): release
	 * them.  Re-initialising a locked mutex is undefined (ThreadSanitizer
	 * reports it as a double lock). */
	mri_meta_unlock();
	mri_pageheap_unlock_all();
	mri_central_unlock_all();
	mri_tcache_atfork_child();
	pthread_mutex_unlock(&init_mu);
}
