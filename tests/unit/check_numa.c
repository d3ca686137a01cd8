/*
 * check_numa.c: one page heap per NUMA node.  The multi-node logic runs
 * against a fake two-node topology (these machines have one node); the
 * binding itself is also checked on the real kernel with get_mempolicy.
 */
#include "config.h"
#include <check.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/central.h"
#include "fake_os.h"
#include "core/init.h"
#include "memreclaim.h"
#include "core/pageheap.h"
#include "core/pagemap.h"
#include "core/sizeclass.h"
#include "core_alone.h"
#include "check_main.h"

struct job {
	int cpu;
	size_t size;
	void *in;		/* freed by the thread */
	void *out;		/* allocated by the thread */
};

static void *
run_job(void *arg)
{
	struct job *j = arg;

	fake_cpu = j->cpu;
	if (j->size)
		j->out = mr_malloc(j->size);
	if (j->in)
		mr_free(j->in);
	return NULL;
}

static void
on_cpu(int cpu, size_t size, void *in, void **out)
{
	struct job j = { cpu, size, in, NULL };
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, run_job, &j), 0);
	pthread_join(t, NULL);
	if (out)
		*out = j.out;
}

static int
bound_node(uintptr_t a)
{
	int i;

	for (i = 0; i < fake.nbind; i++)
		if (a >= fake.bind[i].addr && a < fake.bind[i].addr + fake.bind[i].len)
			return fake.bind[i].arg;
	return -1;
}

START_TEST(test_numa_threads_allocate_from_their_node)
{
	void *small0, *small1, *large1;

	fake_install(2);
	ck_assert_int_eq(mri_numa_setup(), 0);
	ck_assert_int_eq(mri_nnodes, 2);
	on_cpu(0, 100, NULL, &small0);
	on_cpu(3, 100, NULL, &small1);
	on_cpu(2, 5 << 20, NULL, &large1);
	ck_assert_int_eq(mri_pagemap_lookup(small0)->node, 0);
	ck_assert_int_eq(mri_pagemap_lookup(small1)->node, 1);
	ck_assert_int_eq(mri_pagemap_lookup(large1)->node, 1);
	/* and their chunks are bound to those nodes */
	ck_assert_int_eq(bound_node((uintptr_t)small0), 0);
	ck_assert_int_eq(bound_node((uintptr_t)small1), 1);
	ck_assert_int_eq(bound_node((uintptr_t)large1), 1);
}
END_TEST

/* Where is object p in node's central list of class cls: 1 when it sits
 * in the transfer cache, 0 when not. */
static int
in_xfer(int node, unsigned cls, void *p)
{
	struct mri_central *c = &mri_centrals[node][cls];
	uint32_t i;

	for (i = 0; i < c->nxfer; i++)
		if (c->xfer[i] == p)
			return 1;
	return 0;
}

START_TEST(test_numa_cross_node_free_goes_to_owner)
{
	void *p, *q;
	struct mri_central *c0, *c1;
	unsigned cls = mri_size_class(200);
	uint64_t out1, held1;

	fake_install(2);
	ck_assert_int_eq(mri_numa_setup(), 0);
	on_cpu(2, 200, NULL, &p);	/* node 1 */
	ck_assert_int_eq(mri_pagemap_lookup(p)->node, 1);
	c0 = &mri_centrals[0][cls];
	c1 = &mri_centrals[1][cls];
	/* the allocating thread exited: its cache went back to node 1 */
	ck_assert(!in_xfer(1, cls, p));
	out1 = c1->out;
	held1 = c1->out - c1->nxfer;	/* objects held outside node 1 */
	on_cpu(0, 0, p, NULL);		/* freed by a node-0 thread */
	/* The object is back in node 1's books: in its transfer cache, or in
	 * its span (then node 1 counts one object fewer out).  Node 0 holds
	 * nothing of this class: it never allocated one. */
	ck_assert_msg(in_xfer(1, cls, p) || c1->out == out1 - 1,
		      "object of node 1 not returned to node 1");
	ck_assert_uint_eq(c1->out - c1->nxfer, held1 - 1);
	ck_assert(!in_xfer(0, cls, p));
	ck_assert_uint_eq(c0->nxfer, 0);
	ck_assert_uint_eq(c0->out, 0);
	/* and a node-1 thread gets node-1 memory again */
	on_cpu(3, 200, NULL, &q);
	ck_assert_int_eq(mri_pagemap_lookup(q)->node, 1);
}
END_TEST

/* A thread fills its cache on node 1, moves to a node-0 CPU and refills
 * another class there (its cache now works for node 0), then exits: the
 * node-1 objects still in its cache must go back to node 1's central
 * list, each by the node of its own span, not by the thread's node. */
static void *
migrating_thread(void *arg)
{
	void **p = arg;

	fake_cpu = 2;			/* node 1 */
	p[0] = mr_malloc(200);		/* the cache keeps a batch of them */
	fake_cpu = 0;			/* moved to node 0 */
	p[1] = mr_malloc(3000);		/* refill: the cache is node 0's */
	mr_free(p[0]);
	mr_free(p[1]);
	return NULL;			/* exit flushes the cache */
}

START_TEST(test_numa_cache_flush_returns_each_object_to_its_node)
{
	void *p[2];
	pthread_t t;
	unsigned cls = mri_size_class(200);
	struct mri_central *c0, *c1;

	fake_install(2);
	ck_assert_int_eq(mri_numa_setup(), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, migrating_thread, p), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(mri_pagemap_lookup(p[0])->node, 1);
	ck_assert_int_eq(mri_pagemap_lookup(p[1])->node, 0);
	c0 = &mri_centrals[0][cls];
	c1 = &mri_centrals[1][cls];
	/* nothing of the class is live: every object is back in node 1 */
	ck_assert_uint_eq(c0->nxfer, 0);
	ck_assert_uint_eq(c0->out, 0);
	ck_assert_uint_eq(c1->out, c1->nxfer);
	ck_assert_uint_gt(c1->nxfer + c1->spans, 0);
}
END_TEST

/* numa=strict binds chunks with MPOL_BIND (the strict flag of the OS
 * seam), numa=preferred without it, numa=off not at all and with one
 * heap. */
static int
bind_strict_of(uintptr_t a)
{
	int i;

	for (i = 0; i < fake.nbind; i++)
		if (a >= fake.bind[i].addr &&
		    a < fake.bind[i].addr + fake.bind[i].len)
			return fake.bind[i].strict;
	return -1;
}

START_TEST(test_numa_modes_strict_preferred_off)
{
	void *p;

	ck_assert_int_eq(mr_option_set("numa", "strict"), 0);
	fake_install(2);
	ck_assert_int_eq(mri_numa_setup(), 0);
	on_cpu(2, 5 << 20, NULL, &p);
	ck_assert_int_eq(bound_node((uintptr_t)p), 1);
	ck_assert_int_eq(bind_strict_of((uintptr_t)p), 1);
	ck_assert_int_eq(mr_option_set("numa", "preferred"), 0);
	on_cpu(0, 5 << 20, NULL, &p);
	ck_assert_int_eq(bound_node((uintptr_t)p), 0);
	ck_assert_int_eq(bind_strict_of((uintptr_t)p), 0);
}
END_TEST

START_TEST(test_numa_off_one_heap_no_binding)
{
	void *p;

	ck_assert_int_eq(mr_option_set("numa", "off"), 0);
	fake_install(2);
	ck_assert_int_eq(mri_numa_setup(), 0);
	ck_assert_int_eq(mri_nnodes, 1);
	on_cpu(3, 5 << 20, NULL, &p);
	ck_assert_int_eq(mri_pagemap_lookup(p)->node, 0);
	ck_assert_int_eq(fake.nbind, 0);
}
END_TEST

START_TEST(test_numa_unavailable_means_one_heap)
{
	void *p;

	fake_install(0);
	ck_assert_int_lt(mri_numa_setup(), 0);
	ck_assert_int_eq(mri_nnodes, 1);
	on_cpu(3, 1 << 20, NULL, &p);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(mri_pagemap_lookup(p)->node, 0);
	ck_assert_int_eq(fake.nbind, 0);	/* no mbind without NUMA */
}
END_TEST

/* The real kernel: chunks are mbind()ed MPOL_PREFERRED to the node. */
START_TEST(test_numa_real_chunks_are_bound_preferred)
{
	void *p;
	int mode = -1;
	unsigned long mask[16] = { 0 };

	if (numa_available() < 0)
		return;		/* reported by main as a skip */
	p = mr_malloc(4 << 20);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(get_mempolicy(&mode, mask, 16 * 8 * sizeof(long), p, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_PREFERRED);
	ck_assert(mask[0] & (1UL << numa_node_of_cpu(0)));
	mr_free(p);
}
END_TEST

/* The library reads the topology from sysfs itself (linking libnuma costs
 * every preloaded process its constructor's memory): it must agree with
 * libnuma's answer. */
START_TEST(test_numa_real_topology_agrees_with_libnuma)
{
	static struct mri_topology t;
	int cpu;

	if (numa_available() < 0)
		return;		/* reported by main as a skip */
	ck_assert_int_eq(mri_os_real.topology(&t), 0);
	ck_assert_int_eq(t.nnodes, numa_max_node() + 1);
	ck_assert_int_ge(t.ncpus, 1);
	for (cpu = 0; cpu < t.ncpus && cpu < numa_num_configured_cpus(); cpu++) {
		int n = numa_node_of_cpu(cpu);
		ck_assert_int_eq(t.cpu_node[cpu], n < 0 ? 0 : n);
	}
}
END_TEST


Suite *
test_suite(void)
{
	Suite *s = suite_create("numa");
	TCase *tc = tcase_create("core");

	core_alone();
	tcase_add_test(tc, test_numa_threads_allocate_from_their_node);
	tcase_add_test(tc, test_numa_cross_node_free_goes_to_owner);
	tcase_add_test(tc,
		       test_numa_cache_flush_returns_each_object_to_its_node);
	tcase_add_test(tc, test_numa_modes_strict_preferred_off);
	tcase_add_test(tc, test_numa_off_one_heap_no_binding);
	tcase_add_test(tc, test_numa_unavailable_means_one_heap);
	tcase_add_test(tc, test_numa_real_chunks_are_bound_preferred);
	tcase_add_test(tc, test_numa_real_topology_agrees_with_libnuma);
	suite_add_tcase(s, tc);
	if (numa_available() < 0)
		check_partial("NUMA unavailable here; real binding not checked");
	return s;
}
