/*
 * diag.c: allocation-free lines on stderr with the process's command and
 * pid (see diag.h).  The command is read from /proc/self/comm once per pid
 * (a fork keeps the command, an exec reloads the library); a process
 * without /proc says "?".
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "os/diag.h"

/* The command of diag_who_cache.pid.  Written once per pid by the one
 * thread that wins `filling`; read after an acquire load of pid, so a
 * reader never sees it half-written.  A thread that loses the race reads
 * /proc itself. */
static struct {
	pid_t pid;   /* comm belongs to this pid (0: not yet) */
	int filling; /* a thread is writing comm */
	char comm[20];
} diag_who_cache;

/* /proc/self/comm into c[cap], without the newline ("?" when absent). */
static void
diag_read_comm(char *c, size_t cap)
{
	ssize_t n = -1;
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, c, cap - 1);
		close(fd);
	}
	if (n <= 0) {
		c[0] = '?';
		n = 1;
	}
	if (c[n - 1] == '\n')
		n--;
	c[n] = '\0';
}

void
mri_diag_put(struct mri_diag *d, const char *s)
{
	while (*s && d->n + 1 < d->cap)
		d->buf[d->n++] = *s++;
	d->buf[d->n] = '\0';
}

void
mri_diag_put_safe(struct mri_diag *d, const char *s, size_t max, char stop)
{
	size_t i;

	for (i = 0; s[i] && s[i] != stop && i < max && d->n + 1 < d->cap; i++)
		d->buf[d->n++] = s[i] >= ' ' && s[i] < 0x7f ? s[i] : '?';
	d->buf[d->n] = '\0';
}

void
mri_diag_put_u(struct mri_diag *d, uint64_t v)
{
	char tmp[24];
	int k = 0;

	do
		tmp[k++] = (char)('0' + v % 10);
	while ((v /= 10) && k < 24);
	while (k && d->n + 1 < d->cap)
		d->buf[d->n++] = tmp[--k];
	d->buf[d->n] = '\0';
}

void
mri_diag_put_i(struct mri_diag *d, int64_t v)
{
	if (v < 0) {
		mri_diag_put(d, "-");
		mri_diag_put_u(d, -(uint64_t)v);
	} else {
		mri_diag_put_u(d, (uint64_t)v);
	}
}

void
mri_diag_put_fixed(struct mri_diag *d, uint64_t v, uint64_t div)
{
	mri_diag_put_u(d, v / div);
	mri_diag_put(d, ".");
	mri_diag_put_u(d, v % div * 10 / div);
}

size_t
mri_diag_who(char *buf, size_t cap)
{
	pid_t pid = getpid();
	struct mri_diag d = {buf, cap, 0};
	char c[sizeof(diag_who_cache.comm)];

	if (cap == 0)
		return 0;
	if (__atomic_load_n(&diag_who_cache.pid, __ATOMIC_ACQUIRE) == pid) {
		memcpy(c, diag_who_cache.comm, sizeof(c));
	} else {
		diag_read_comm(c, sizeof(c));
		if (!__atomic_exchange_n(&diag_who_cache.filling, 1,
					 __ATOMIC_ACQUIRE)) {
			/* another thread may have filled it meanwhile:
			 * then readers may be copying it, leave it */
			if (__atomic_load_n(&diag_who_cache.pid,
					    __ATOMIC_ACQUIRE) != pid) {
				memcpy(diag_who_cache.comm, c, sizeof(c));
				__atomic_store_n(&diag_who_cache.pid, pid,
						 __ATOMIC_RELEASE);
			}
			__atomic_store_n(&diag_who_cache.filling, 0,
					 __ATOMIC_RELEASE);
		}
	}
	buf[0] = '\0';
	mri_diag_put_safe(&d, c, 16, '\0');
	mri_diag_put(&d, "[");
	mri_diag_put_u(&d, (uint64_t)pid);
	mri_diag_put(&d, "]");
	return d.n;
}

void
mri_diag_begin(struct mri_diag *d, char *buf, size_t cap, int with_pid)
{
	d->buf = buf;
	d->cap = cap;
	d->n = 0;
	buf[0] = '\0';
	mri_diag_put(d, "memreclaim: ");
	if (with_pid) {
		d->n += mri_diag_who(buf + d->n, cap - d->n);
		mri_diag_put(d, ": ");
	}
}

void
mri_diag_end(struct mri_diag *d, int fd)
{
	/* keep room for the newline: replace the last byte if full */
	if (d->n + 1 >= d->cap && d->n > 0)
		d->n--;
	d->buf[d->n++] = '\n';
	(void)!write(fd, d->buf, d->n);
}

const char *
mri_diag_errno(int err)
{
	switch (err) {
	case ENOENT:
		return "no such file";
	case EACCES:
		return "permission denied";
	case EPERM:
		return "operation not permitted";
	case ECONNREFUSED:
		return "connection refused";
	case EAGAIN:
		return "resource busy (try again)";
	case EINVAL:
		return "invalid argument";
	case ENAMETOOLONG:
		return "path too long";
	case ENOTSOCK:
		return "not a socket";
	case ECONNRESET:
		return "connection closed by the peer";
	case EMFILE:
	case ENFILE:
		return "too many open files";
	case ENOTSUP:
		return "not supported";
	case EBADF:
		return "unsupported file type";
	default:
		return NULL;
	}
}

void
mri_diag_put_errno(struct mri_diag *d, int err)
{
	const char *e = mri_diag_errno(err);

	if (e) {
		mri_diag_put(d, e);
	} else {
		mri_diag_put(d, "errno ");
		mri_diag_put_u(d, (uint64_t)err);
	}
}
