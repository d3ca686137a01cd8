/*
 * fake_os.h: a fake kernel for the allocator's OS seam (lib/os/os.h), for
 * unit tests.  Mappings are real (the allocator writes into its spans) but
 * counted and can fail on the Nth call; advice and NUMA bindings are
 * recorded instead of made; the clock is set by the test; the topology is
 * two nodes, CPUs 0-1 on node 0 and 2-3 on node 1, and the current CPU is
 * a per-thread variable.  Header-only: each test program has one copy.
 */
#ifndef FAKE_OS_H
#define FAKE_OS_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include "os/os.h"

#define FAKE_MAX_REC 4096

struct fake_rec {
	uintptr_t addr;
	size_t len;
	int arg;		/* advice, or node */
	int strict;		/* bind: MPOL_BIND asked (numa=strict) */
};

static struct {
	int maps, fail_at;	/* fail the fail_at-th map (1-based), 0 never */
	uint64_t now_ns;
	int nadvice, nbind;
	struct fake_rec advice[FAKE_MAX_REC];
	struct fake_rec bind[FAKE_MAX_REC];
	int nnodes;		/* 0: topology fails (no NUMA) */
	uintptr_t refuse_addr;	/* advice on a range starting here fails */
	/* called on each advice, before it is recorded (NULL: none): a test
	 * acts while a release has its pages claimed */
	void (*on_advise)(void *addr, size_t len, int advice);
} fake;
static __thread int fake_cpu;

static void *
fake_map(size_t len)
{
	void *p;

	fake.maps++;
	if (fake.fail_at && fake.maps == fake.fail_at) {
		errno = ENOMEM;
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int
fake_unmap(void *addr, size_t len)
{
	return munmap(addr, len) ? -errno : 0;
}

static int
fake_advise(void *addr, size_t len, int advice)
{
	if (fake.on_advise)
		fake.on_advise(addr, len, advice);
	if (fake.refuse_addr && (uintptr_t)addr == fake.refuse_addr)
		return -EIO;
	if (fake.nadvice < FAKE_MAX_REC)
		fake.advice[fake.nadvice++] = (struct fake_rec){ (uintptr_t)addr, len, advice };
	return 0;
}

static int
fake_bind(void *addr, size_t len, int node, int strict)
{
	if (fake.nbind < FAKE_MAX_REC)
		fake.bind[fake.nbind++] =
		    (struct fake_rec){ (uintptr_t)addr, len, node, strict };
	return 0;
}

static uint64_t
fake_now(void)
{
	return fake.now_ns;
}

static int
fake_current_cpu(void)
{
	return fake_cpu;
}

static int
fake_topology(struct mri_topology *t)
{
	int c;

	if (!fake.nnodes)
		return -ENOSYS;
	t->nnodes = fake.nnodes;
	t->ncpus = 4;
	for (c = 0; c < 4; c++)
		t->cpu_node[c] = (uint8_t)(fake.nnodes > 1 ? c / 2 : 0);
	return 0;
}

static const struct mri_os_ops fake_ops = {
	.map = fake_map,
	.unmap = fake_unmap,
	.advise = fake_advise,
	.bind = fake_bind,
	.now_ns = fake_now,
	.current_cpu = fake_current_cpu,
	.topology = fake_topology,
	.is_fake = 1,
};

/* Count recorded advice calls of a kind. */
static int
fake_count_advice(int advice)
{
	int i, n = 0;

	for (i = 0; i < fake.nadvice; i++)
		n += fake.advice[i].arg == advice;
	return n;
}

static void
fake_install(int nnodes)
{
	memset(&fake, 0, sizeof(fake));
	fake.nnodes = nnodes;
	fake.now_ns = 1000000000ULL;
	mri_os_set(&fake_ops);
}

#endif
