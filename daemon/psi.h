/*
 * psi.h: memory pressure stall information (PSI), parsed and watched.
 *
 * Owns the format of memory.pressure and /proc/pressure/memory ("some" and
 * "full" lines with avg10/avg60/avg300/total), and PSI triggers: a trigger
 * is written with its trailing NUL to an O_RDWR fd that then reports
 * EPOLLPRI when the stall threshold is crossed within the window.  Without
 * CAP_SYS_RESOURCE the kernel accepts only windows that are multiples of
 * 2 s, so psi_trigger_open() falls back to that; where no trigger can be
 * set at all (read-only cgroupfs) the caller polls `total` on its tick.
 * Which files to watch is the caller's business (cgroupfs.c).
 */
#ifndef MRD_PSI_H
#define MRD_PSI_H

#include <stddef.h>
#include <stdint.h>

struct psi_line {
	double avg10, avg60, avg300; /* percent of wall time stalled */
	uint64_t total_us;	     /* cumulative stall, microseconds */
};

struct psi_sample {
	struct psi_line some; /* some task stalled */
	struct psi_line full; /* all non-idle tasks stalled */
	int has_full;	      /* 0: old kernels / CPU host file */
};

/* Parse the text of a pressure file (len bytes, need not be NUL-ended).
 * "some" is required, "full" optional; unknown lines are rejected.
 * Returns 0 or -EINVAL. */
int psi_parse(const char *buf, size_t len, struct psi_sample *out);

/* pread() the pressure file behind fd from offset 0 and parse it.
 * Returns 0, -errno from the read (-ENODEV once the cgroup is gone) or
 * -EINVAL. */
int psi_read_fd(int fd, struct psi_sample *out);

/* The kernel's rule for unprivileged triggers: window rounded up to a
 * multiple of 2 s, stall scaled in proportion (so the stall share stays
 * the same).  Pure; exposed for tests. */
void psi_trigger_round(uint64_t stall_us, uint64_t window_us,
		       uint64_t *stall_out, uint64_t *window_out);

/*
 * Open path (a pressure file) and set a "some" trigger of stall_us within
 * window_us.  If the kernel refuses the window (EINVAL), retry once with
 * the 2 s rounding above.  On success returns the fd (poll it for
 * EPOLLPRI) and stores the window used in *window_used_us; otherwise
 * -errno (EACCES/EROFS/EPERM: triggers unavailable, poll instead;
 * ENOTSUP: a regular file with content, not a kernel pressure file).
 * dirfd/path as for openat().
 */
int psi_trigger_open(int dirfd, const char *path, uint64_t stall_us,
		     uint64_t window_us, uint64_t *window_used_us);

/* Stall percentage between two samples dt_us apart, from `some` totals
 * (counter reset or dt 0: 0). */
double psi_stall_pct(uint64_t prev_total_us, uint64_t total_us, uint64_t dt_us);

#endif
