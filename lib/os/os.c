/*
 * os.c: the real kernel behind mri_os (mmap, madvise, mbind, clocks, the
 * NUMA topology from sysfs), aligned mapping on top of it, the fatal-error
 * path, and an allocation-free reader of /proc/self/smaps_rollup.
 *
 * The topology is read here, with open/read and no stdio, rather than
 * through libnuma: linking libnuma costs every process that preloads us
 * about 370 KiB of RSS (its constructor runs stdio, scanf and opendir
 * and allocates its node masks), more than the allocator's own overhead.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mempolicy.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

	/* mremap's own EFAULT (a range over two mappings on kernels before
	 * 6.17) moved nothing: it must not read as "moved, hole lost". */
	if (p == MAP_FAILED)
		return errno == EFAULT ? -EINVAL : -errno;
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
	/* maxnode counts bits (the kernel reads maxnode - 1 of them). */
	if (syscall(SYS_mbind, addr, len, strict ? MPOL_BIND : MPOL_PREFERRED,
		    mask, MRI_MAX_NODES + 1, 0) != 0)
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

/* Read a small sysfs file, NUL-terminated, into buf.  0 or -errno. */
static int
os_read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

/* The next range of a sysfs list ("0-3,8,10-11\n") from *s into lo..hi.
 * Returns 1, or 0 at the end or on a malformed list. */
static int
os_list_next(const char **s, int *lo, int *hi)
{
	const char *p = *s;
	int v;

	if (*p == ',')
		p++;
	if (*p < '0' || *p > '9')
		return 0;
	for (v = 0; *p >= '0' && *p <= '9' && v < (1 << 20); p++)
		v = v * 10 + (*p - '0');
	*lo = *hi = v;
	if (*p == '-') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		for (v = 0; *p >= '0' && *p <= '9' && v < (1 << 20); p++)
			v = v * 10 + (*p - '0');
		*hi = v;
	}
	*s = p;
	return *lo <= *hi;
}

/* Formats "<pfx><n><sfx>" into buf (64 bytes) without stdio. */
static void
os_node_path(char *buf, const char *pfx, int n, const char *sfx)
{
	char digits[12];
	int i = 0, k = 0;

	while (*pfx)
		buf[k++] = *pfx++;
	do
		digits[i++] = (char)('0' + n % 10);
	while ((n /= 10) && i < 11);
	while (i)
		buf[k++] = digits[--i];
	while (*sfx)
		buf[k++] = *sfx++;
	buf[k] = '\0';
}

/*
 * The nodes are the online ones (each has a directory under
 * /sys/devices/system/node), a cpu's node is the one whose cpulist names
 * it; a cpu in no list (offline) counts as node 0.  With one node online
 * (most machines) the node list is the only file read.  get_mempolicy fails
 * where NUMA is compiled out or blocked (default Docker's seccomp): then
 * the caller runs one heap, as it would have with numa_available() < 0.
 */
static int
os_topology(struct mri_topology *t)
{
	static char buf[4096]; /* a cpulist of 1024 cpus fits; not on stack */
	char path[64];
	const char *s;
	int lo, hi, node, cpu, maxnode = 0;
	uint64_t online[MRI_MAX_NODES / 64] = {0};

	if (syscall(SYS_get_mempolicy, NULL, NULL, 0UL, NULL, 0UL) != 0)
		return -ENOSYS;
	if (os_read_small("/sys/devices/system/node/online", buf,
			  sizeof(buf)) == 0) {
		for (s = buf; os_list_next(&s, &lo, &hi);) {
			if (hi >= MRI_MAX_NODES)
				return -ERANGE;
			for (node = lo; node <= hi; node++)
				online[node / 64] |= 1ULL << (node % 64);
			maxnode = hi > maxnode ? hi : maxnode;
		}
	}
	t->nnodes = maxnode + 1;
	memset(t->cpu_node, 0, sizeof(t->cpu_node));
	if (maxnode == 0) {
		/* One node: every cpu is on it, no more files to read (each
		 * costs a process's start-up a path walk in sysfs). */
		t->ncpus = MRI_MAX_CPUS;
		return 0;
	}
	t->ncpus = 1;
	if (os_read_small("/sys/devices/system/cpu/present", buf,
			  sizeof(buf)) == 0)
		for (s = buf; os_list_next(&s, &lo, &hi);)
			t->ncpus = hi + 1 > t->ncpus ? hi + 1 : t->ncpus;
	if (t->ncpus > MRI_MAX_CPUS)
		t->ncpus = MRI_MAX_CPUS;
	for (node = 0; node <= maxnode; node++) {
		if (!(online[node / 64] & (1ULL << (node % 64))))
			continue;
		os_node_path(path, "/sys/devices/system/node/node", node,
			     "/cpulist");
		if (os_read_small(path, buf, sizeof(buf)) < 0)
			continue;
		for (s = buf; os_list_next(&s, &lo, &hi);)
			for (cpu = lo; cpu <= hi && cpu < MRI_MAX_CPUS; cpu++)
				t->cpu_node[cpu] = (uint8_t)node;
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
