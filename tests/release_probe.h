/*
 * release_probe.h: kernel feature probes shared by the release path's
 * tests, so a test that needs a feature is left out (and the program exits
 * 77) where the kernel lacks it, and runs for real where it is there.
 */
#ifndef RELEASE_PROBE_H
#define RELEASE_PROBE_H

#include <liburing.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* io_uring can be set up here (not blocked by seccomp or sysctl). */
static inline int
probe_uring(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(4, &ring, 0) < 0)
		return 0;
	io_uring_queue_exit(&ring);
	return 1;
}

/* process_madvise(MADV_DONTNEED) on ourselves works (Linux 6.13+). */
static inline int
probe_process_madvise_self(void)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec iov = { p, 4096 };
	long fd = syscall(SYS_pidfd_open, getpid(), 0), rc;

	if (p == MAP_FAILED)
		return 0;
	if (fd < 0) {
		munmap(p, 4096);
		return 0;
	}
	p[0] = 1;
	rc = syscall(SYS_process_madvise, fd, &iov, 1, MADV_DONTNEED, 0U);
	close((int)fd);
	munmap(p, 4096);
	return rc == 4096;
}

#endif
