/*
 * psi.c: parse PSI pressure files and set PSI triggers (see psi.h).
 *
 * The format is fixed by the kernel (Documentation/accounting/psi.rst):
 *
 *	some avg10=0.12 avg60=0.05 avg300=0.01 total=12345
 *	full avg10=0.00 avg60=0.00 avg300=0.00 total=678
 *
 * We accept exactly that: one or two lines, "some" first, each with the
 * four fields in order.  Anything else is -EINVAL, so a file that is not a
 * pressure file is never taken for zero pressure.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psi.h"

#define PSI_WINDOW_UNIT_US 2000000ull /* unprivileged window granule */

/* Parse "avg10=X avg60=Y avg300=Z total=N" from s (NUL-ended). */
static int
psi_parse_fields(const char *s, struct psi_line *l)
{
	static const char *const keys[] = {"avg10=", "avg60=", "avg300="};
	double *dst[] = {&l->avg10, &l->avg60, &l->avg300};
	char *end;
	size_t i;

	for (i = 0; i < 3; i++) {
		size_t kl = strlen(keys[i]);

		if (*s != ' ')
			return -EINVAL;
		s++;
		if (strncmp(s, keys[i], kl) != 0)
			return -EINVAL;
		s += kl;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		*dst[i] = strtod(s, &end);
		if (errno != 0 || end == s || *dst[i] < 0 || *dst[i] > 100)
			return -EINVAL;
		s = end;
	}
	if (strncmp(s, " total=", 7) != 0)
		return -EINVAL;
	s += 7;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	l->total_us = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -EINVAL;
	return 0;
}

int
psi_parse(const char *buf, size_t len, struct psi_sample *out)
{
	char line[256];
	size_t pos = 0;
	int nlines = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		int rc;

		if (ll == 0 || ll >= sizeof(line))
			return -EINVAL;
		memcpy(line, buf + pos, ll);
		line[ll] = '\0';
		if (memchr(line, '\0', ll) != NULL)
			return -EINVAL;
		if (nlines == 0 && strncmp(line, "some", 4) == 0)
			rc = psi_parse_fields(line + 4, &out->some);
		else if (nlines == 1 && strncmp(line, "full", 4) == 0) {
			rc = psi_parse_fields(line + 4, &out->full);
			out->has_full = 1;
		} else
			return -EINVAL;
		if (rc < 0)
			return rc;
		nlines++;
		pos += ll + (nl ? 1 : 0);
	}
	return nlines > 0 ? 0 : -EINVAL;
}

int
psi_read_fd(int fd, struct psi_sample *out)
{
	char buf[512];
	ssize_t n;

	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n == sizeof(buf))
		return -EINVAL;
	return psi_parse(buf, (size_t)n, out);
}

void
psi_trigger_round(uint64_t stall_us, uint64_t window_us, uint64_t *stall_out,
		  uint64_t *window_out)
{
	uint64_t w = window_us == 0 ? PSI_WINDOW_UNIT_US : window_us;
	uint64_t r = (w + PSI_WINDOW_UNIT_US - 1) / PSI_WINDOW_UNIT_US *
		     PSI_WINDOW_UNIT_US;

	*window_out = r;
	/* keep stall/window: 150 ms in 1 s becomes 300 ms in 2 s */
	*stall_out = stall_us * r / w;
	if (*stall_out > r)
		*stall_out = r;
	if (*stall_out == 0)
		*stall_out = 1;
}

static int
psi_trigger_write(int fd, uint64_t stall_us, uint64_t window_us)
{
	char t[64];
	int n = snprintf(t, sizeof(t), "some %llu %llu",
			 (unsigned long long)stall_us,
			 (unsigned long long)window_us);

	/* the kernel wants the NUL written too */
	if (write(fd, t, (size_t)n + 1) < 0)
		return -errno;
	return 0;
}

int
psi_trigger_open(int dirfd, const char *path, uint64_t stall_us,
		 uint64_t window_us, uint64_t *window_used_us)
{
	struct stat st;
	uint64_t s2, w2;
	int fd, rc;

	fd = openat(dirfd, path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* kernel pressure files report size 0; a regular file with content
	 * (a test's fake tree, a copy) would only be overwritten */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		close(fd);
		return -ENOTSUP;
	}
	rc = psi_trigger_write(fd, stall_us, window_us);
	if (rc == -EINVAL) {
		psi_trigger_round(stall_us, window_us, &s2, &w2);
		if (w2 != window_us) {
			window_us = w2;
			rc = psi_trigger_write(fd, s2, w2);
		}
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	if (window_used_us)
		*window_used_us = window_us;
	return fd;
}

double
psi_stall_pct(uint64_t prev_total_us, uint64_t total_us, uint64_t dt_us)
{
	if (dt_us == 0 || total_us < prev_total_us)
		return 0.0;
	return (double)(total_us - prev_total_us) * 100.0 / (double)dt_us;
}
