/*
 * init.h: start-up of the core and its process-wide state: lazy
 * initialisation on first use (before main, from any library's
 * constructor), NUMA topology, the core's locks around fork().  The
 * library constructor and fork handlers that drive these are api/init.c's.
 */
#ifndef MRI_INIT_H
#define MRI_INIT_H

#include <stdint.h>
#include "os/os.h"

#define MRI_HIDDEN __attribute__((visibility("hidden")))

extern int mri_inited MRI_HIDDEN;
extern int mri_nnodes MRI_HIDDEN;  /* page heaps in use, >= 1 */
extern int mri_numa_ok MRI_HIDDEN; /* libnuma answered */
extern uint8_t mri_cpu_node[MRI_MAX_CPUS] MRI_HIDDEN;

MRI_HIDDEN void mri_init_slow(void);

/* Make sure the core is up.  Cheap after the first call; never allocates
 * through malloc, so it is safe from inside malloc. */
static inline void
mri_init(void)
{
	if (__builtin_expect(!__atomic_load_n(&mri_inited, __ATOMIC_ACQUIRE),
			     0))
		mri_init_slow();
}

/* Nodes libnuma reported (0 when NUMA is unavailable). */
MRI_HIDDEN int mri_numa_nodes(void);

/* Node of the CPU the caller runs on. */
static inline int
mri_current_node(void)
{
	int cpu;

	if (__atomic_load_n(&mri_nnodes, __ATOMIC_ACQUIRE) <= 1)
		return 0;
	cpu = mri_os->current_cpu();
	return cpu >= 0 && cpu < MRI_MAX_CPUS ? mri_cpu_node[cpu] : 0;
}

/* (Re)read the topology through mri_os and create a heap per node.  Called
 * once from the library constructor; tests call it after installing a fake
 * OS.  0 or -errno. */
MRI_HIDDEN int mri_numa_setup(void);

/* fork(): take every core lock in lock order (prepare), release them
 * (parent), release them in the child, whose other threads are gone. */
MRI_HIDDEN void mri_core_lock_all(void);
MRI_HIDDEN void mri_core_unlock_all(void);
MRI_HIDDEN void mri_core_atfork_child(void);

#endif
