/*
 * os.c: the real kernel behind mri_os (mmap, madvise, mbind, clocks,
 * topology from libnuma), aligned mapping on top of it, the fatal-error
 * path, and an allocation-free reader of /proc/self/smaps_rollup.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "common/clock.h"
#include "os/os.h"

static void *
os_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int
os_unmap(void *addr, size_t len)
{
	return munmap(addr, len) == 0 ? 0 : -errno;
}

static int
os_move(void *from, size_t len, void *to)
{
	void *p = mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);

	if (p == MAP_FAILED)
		return -errno;
	p = mmap(from, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
		 0);
	return p == MAP_FAILED ? -EFAULT : 0;
}

static int
os_advise(void *addr, size_t len, int advice)
{
	return madvise(addr, len, advice) == 0 ? 0 : -errno;
}

static int
os_bind(void *addr, size_t len, int node, int strict)
{
	unsigned long mask[MRI_MAX_NODES / (8 * sizeof(unsigned long))];

	if (node < 0 || node >= MRI_MAX_NODES)
		return -EINVAL;
	memset(mask, 0, sizeof(mask));
	mask[node / (8 * sizeof(unsigned long))] |=
	    1UL << (node % (8 * sizeof(unsigned long)));
	/* libnuma's mbind(2) wrapper; maxnode counts bits. */
	if (mbind(addr, len, strict ? MPOL_BIND : MPOL_PREFERRED, mask,
		  MRI_MAX_NODES + 1, 0) != 0)
		return -errno;
	return 0;
}

static uint64_t
os_now_ns(void)
{
	return mrc_now_ns();
}

static int
os_current_cpu(void)
{
	int c = sched_getcpu();
	return c < 0 ? 0 : c;
}

/*
 * libnuma answers from tables it built in its own constructor, which runs
 * before ours (we depend on it).  numa_node_of_cpu() does not allocate.
 * numa_available() fails where get_mempolicy is blocked (default Docker):
 * then the caller runs one heap.
 */
static int
os_topology(struct mri_topology *t)
{
	int cpu, maxnode;

	if (numa_available() < 0)
		return -ENOSYS;
	maxnode = numa_max_node();
	if (maxnode < 0 || maxnode >= MRI_MAX_NODES)
		return -ERANGE;
	t->nnodes = maxnode + 1;
	t->ncpus = numa_num_configured_cpus();
	if (t->ncpus > MRI_MAX_CPUS)
		t->ncpus = MRI_MAX_CPUS;
	for (cpu = 0; cpu < t->ncpus; cpu++) {
		int n = numa_node_of_cpu(cpu);
		t->cpu_node[cpu] = (uint8_t)(n < 0 ? 0 : n);
	}
	return 0;
}

/* clang-format off */
const struct mri_os_ops mri_os_real = {
	.map = os_map,
	.unmap = os_unmap,
	.advise = os_advise,
	.bind = os_bind,
	.move = os_move,
	.now_ns = os_now_ns,
	.current_cpu = os_current_cpu,
	.topology = os_topology,
	.is_fake = 0,
};
/* clang-format on */

const struct mri_os_ops *mri_os = &mri_os_real;

void
mri_os_set(const struct mri_os_ops *ops)
{
	mri_os = ops ? ops : &mri_os_real;
}

void *
mri_os_map_aligned(size_t len, size_t align)
{
	uintptr_t p, a;
	size_t total = len + align;
	char *m;

	if (total < len) {
		errno = ENOMEM;
		return NULL;
	}
	m = mri_os->map(total);
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	p = (uintptr_t)m;
	a = (p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > p)
		mri_os->unmap(m, a - p);
	if (p + total > a + len)
		mri_os->unmap((void *)(a + len), p + total - (a + len));
	return (void *)a;
}

static size_t
os_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

void
mri_fatal(const char *what, const void *ptr)
{
	char buf[256], hex[19];
	size_t n = 0, i;
	uintptr_t v = (uintptr_t)ptr;
	static const char pfx[] = "memreclaim: fatal: ";

	memcpy(buf, pfx, sizeof(pfx) - 1);
	n = sizeof(pfx) - 1;
	i = os_strlen(what);
	if (i > 180)
		i = 180;
	memcpy(buf + n, what, i);
	n += i;
	if (ptr) {
		hex[0] = ' ';
		hex[1] = '0';
		hex[2] = 'x';
		for (i = 0; i < 16; i++)
			hex[3 + i] =
			    "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
		memcpy(buf + n, hex, 19);
		n += 19;
	}
	buf[n++] = '\n';
	(void)!write(2, buf, n);
	abort();
}

/* Parse "Key:   1234 kB" lines without stdio. */
int
mri_os_rss(uint64_t *rss, uint64_t *anon_huge)
{
	char buf[4096];
	ssize_t len;
	int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
	char *p, *end;

	*rss = *anon_huge = 0;
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -EIO;
	buf[len] = '\0';
	end = buf + len;
	for (p = buf; p < end;) {
		uint64_t *dst = NULL, v = 0;
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (!strncmp(p, "Rss:", 4))
			dst = rss;
		else if (!strncmp(p, "AnonHugePages:", 14))
			dst = anon_huge;
		if (dst) {
			char *q = strchr(p, ':') + 1;
			while (*q == ' ' || *q == '\t')
				q++;
			while (*q >= '0' && *q <= '9')
				v = v * 10 + (uint64_t)(*q++ - '0');
			*dst = v * 1024;
		}
		p = nl + 1;
	}
	return 0;
}
