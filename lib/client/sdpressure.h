/*
 * sdpressure.h: systemd's memory pressure protocol, served by the library
 * for the program it is linked into (systemd.io/PRESSURE, the service side
 * of sd_event_add_memory_pressure(3)).
 *
 * systemd 254 and later start a service with MemoryPressureWatch= on (the
 * default "auto" turns it on when the service's memory accounting is) with
 * $MEMORY_PRESSURE_WATCH, the path of a file to watch (usually its cgroup's
 * memory.pressure; also a FIFO or an AF_UNIX stream socket; "/dev/null" or
 * empty: off) and $MEMORY_PRESSURE_WRITE, base64 of what to write into it
 * right after opening (a PSI trigger such as "some 200000 2000000" with
 * its NUL).  The library opens the file on the scavenger thread, writes
 * the trigger, polls it there (POLLPRI for a PSI file, POLLIN for a FIFO
 * or a socket, whose data is read and discarded), and on each event gives
 * all idle memory back at once (mr_release(SIZE_MAX, MR_URGENCY_NOW)), so
 * an unmodified service releases under pressure with no daemon.
 *
 * Like every variable the library reads, they are ignored in a secure-
 * execution (setuid, setgid) process; the option "sd_pressure" (0) turns
 * the watch off.  A bad value is reported once on stderr and the watch
 * stays off; nothing is printed when the variables are absent.
 *
 * Threads: everything but mri_sdp_stats and the parsing functions runs on
 * the scavenger thread (the hooks in mri_sdp_client).
 */
#ifndef MRI_SDPRESSURE_H
#define MRI_SDPRESSURE_H

#include <stddef.h>
#include <stdint.h>
#include "memreclaim.h"

#define MRI_HIDDEN __attribute__((visibility("hidden")))

/* The longest trigger accepted (the kernel reads at most 128 bytes). */
#define MRI_SDP_WRITE_MAX 128

/* The protocol's settings, decoded. */
struct mri_sdp_conf {
	const char *watch;			/* absolute path */
	unsigned char write[MRI_SDP_WRITE_MAX]; /* decoded WRITE */
	size_t write_len;			/* 0: nothing to write */
};

/* Decode standard base64 (RFC 4648, '=' padding optional, white space
 * skipped) into out[cap].  Returns the decoded length, or -EINVAL (a
 * character outside the alphabet, bad padding) or -E2BIG (cap too small). */
MRI_HIDDEN int mri_sdp_base64(const char *in, unsigned char *out, size_t cap);

/* Check the two variables' values (either may be NULL: unset).  Returns
 * 0 with *c filled (c->watch points into watch), -ENODEV when the watch is
 * off (WATCH unset, empty or "/dev/null"; *why is NULL then unless WRITE
 * alone was set), or -EINVAL; *var names the variable *why is about. */
MRI_HIDDEN int mri_sdp_parse(const char *watch, const char *write,
			     struct mri_sdp_conf *c, const char **var,
			     const char **why);

/* The scavenger's hooks (client.h's counterpart). */
MRI_HIDDEN int mri_sdp_fd(void);
MRI_HIDDEN void mri_sdp_tick(uint64_t now_ns);
MRI_HIDDEN void mri_sdp_event(short revents, uint64_t now_ns);
MRI_HIDDEN uint64_t mri_sdp_next_ns(void);
MRI_HIDDEN void mri_sdp_stop(void);
MRI_HIDDEN void mri_sdp_atfork_child(void);
/* What poll should wait for on mri_sdp_fd() (POLLPRI or POLLIN). */
MRI_HIDDEN short mri_sdp_poll_events(void);
/* Fill st's pressure_* fields (any thread). */
MRI_HIDDEN void mri_sdp_stats(struct mr_stats *st);

/* The seam for tests: what an event calls (default mr_release); NULL
 * restores it. */
MRI_HIDDEN void mri_sdp_set_release(ssize_t (*release)(size_t,
						       enum mr_urgency));

#endif
