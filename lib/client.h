/*
 * client.h: the library's side of the memreclaimd protocol (owned by the
 * daemon work).  Runs only on the scavenger thread, never inside malloc.
 * Connects without blocking when the socket exists (MEMRECLAIM_SOCKET or
 * the default), registers with HELLO, sends STATS periodically, obeys TRIM
 * (through mr_release) and LIMIT (through mr_limit_set), reconnects with
 * backoff after a daemon restart, and is silent when there is no daemon.
 */
#ifndef MRI_CLIENT_H
#define MRI_CLIENT_H

#include <stdint.h>

#define MRI_HIDDEN __attribute__((visibility("hidden")))

/* The fd the scavenger should poll for input, or -1. */
MRI_HIDDEN int mri_client_fd(void);
/* Do whatever is due at now_ns: connect/reconnect, read frames, obey them,
 * send STATS.  Never blocks. */
MRI_HIDDEN void mri_client_tick(uint64_t now_ns);
/* The next time (CLOCK_MONOTONIC ns) mri_client_tick wants to run. */
MRI_HIDDEN uint64_t mri_client_next_ns(void);
/* After fork, in the child: drop the connection (it is the parent's). */
MRI_HIDDEN void mri_client_atfork_child(void);

#endif
