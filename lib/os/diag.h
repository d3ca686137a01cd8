/*
 * diag.h: the library's own lines on stderr (option warnings, the
 * MEMRECLAIM_TRACE and MEMRECLAIM_STATS lines, the daemon link's and the
 * memory pressure watch's reasons), built without allocating and written
 * with one write(2) each, so they are safe inside malloc and on the
 * scavenger thread.
 *
 * A line is built in a caller's buffer: mri_diag_begin puts the prefix,
 * "memreclaim: " alone or "memreclaim: COMM[PID]: " (the process's
 * command from /proc/self/comm, made printable, and its pid, read again
 * after a fork), then the put functions append (truncating, never
 * overflowing), and mri_diag_end writes it, newline-terminated.
 */
#ifndef MRI_DIAG_H
#define MRI_DIAG_H

#include <stddef.h>
#include <stdint.h>

#define MRI_HIDDEN __attribute__((visibility("hidden")))

struct mri_diag {
	char *buf;
	size_t cap; /* bytes in buf */
	size_t n;   /* bytes used, always < cap */
};

/* Start a line in buf[cap]; with_pid adds the command and pid. */
MRI_HIDDEN void mri_diag_begin(struct mri_diag *d, char *buf, size_t cap,
			       int with_pid);
MRI_HIDDEN void mri_diag_put(struct mri_diag *d, const char *s);
/* At most max bytes of s, stopping at stop (or NUL), non-printable bytes
 * as '?': for names and values that come from outside. */
MRI_HIDDEN void mri_diag_put_safe(struct mri_diag *d, const char *s, size_t max,
				  char stop);
MRI_HIDDEN void mri_diag_put_u(struct mri_diag *d, uint64_t v);
MRI_HIDDEN void mri_diag_put_i(struct mri_diag *d, int64_t v);
/* v / div with one decimal ("12.3"). */
MRI_HIDDEN void mri_diag_put_fixed(struct mri_diag *d, uint64_t v,
				   uint64_t div);
/* Add the newline and write the line to fd (2: stderr). */
MRI_HIDDEN void mri_diag_end(struct mri_diag *d, int fd);

/* "COMM[PID]" as mri_diag_begin puts it, NUL-terminated in buf[cap];
 * returns its length. */
MRI_HIDDEN size_t mri_diag_who(char *buf, size_t cap);

/* A short, stable text for the errnos the library reports ("permission
 * denied"), without strerror (which may allocate); NULL if not known. */
MRI_HIDDEN const char *mri_diag_errno(int err);
/* Append that text, or "errno N" for one it does not know. */
MRI_HIDDEN void mri_diag_put_errno(struct mri_diag *d, int err);

#endif
