/*
 * client.h: the library's side of the memreclaimd protocol (owned by the
 * daemon work).  Runs only on the scavenger thread, never inside malloc.
 * Connects without blocking when the socket exists (MEMRECLAIM_SOCKET or
 * the default), registers with HELLO, sends STATS periodically, obeys TRIM
 * (through mr_release) and LIMIT (through mr_limit_set), reconnects with
 * backoff after a daemon restart, and is silent when there is no daemon.
 *
 * Threads: mri_client_fd, _tick, _next_ns and _stop belong to the scavenger
 * thread (one caller at a time).  mri_client_stats and mri_client_counters
 * may be called from any thread: they read relaxed atomic counters.
 */
#ifndef MRI_CLIENT_H
#define MRI_CLIENT_H

#include <stdint.h>
#include <sys/types.h>
#include "memreclaim.h"

#define MRI_HIDDEN __attribute__((visibility("hidden")))

/* Reconnect backoff: the first retry after a failure waits MIN, each
 * further failure doubles the wait up to MAX.  A connection that stayed up
 * for at least MRI_CLIENT_STABLE_NS resets the wait to MIN, so a daemon
 * restart is rejoined within about 100 ms of the new daemon listening,
 * while a daemon that drops us at once is not hammered. */
#define MRI_CLIENT_BACKOFF_MIN_NS 100000000ULL	 /* 100 ms */
#define MRI_CLIENT_BACKOFF_MAX_NS 10000000000ULL /* 10 s */
#define MRI_CLIENT_STABLE_NS 1000000000ULL	 /* 1 s */

/* The fd the scavenger should poll for input, or -1. */
MRI_HIDDEN int mri_client_fd(void);
/* Do whatever is due at now_ns: connect/reconnect, read frames, obey them,
 * send STATS.  Never blocks. */
MRI_HIDDEN void mri_client_tick(uint64_t now_ns);
/* The next time (CLOCK_MONOTONIC ns) mri_client_tick wants to run;
 * UINT64_MAX when the client is switched off (option "daemon" = 0). */
MRI_HIDDEN uint64_t mri_client_next_ns(void);
/* After fork, in the child: drop the connection (it is the parent's). */
MRI_HIDDEN void mri_client_atfork_child(void);
/* Say BYE and close (scavenger stop, exit).  The next tick reconnects. */
MRI_HIDDEN void mri_client_stop(void);

/* Fill st's daemon fields: trims_received, daemon_connected, and the
 * version 2 link fields (daemon_error and its message, connects, ...) (for
 * mr_stats_get, which fills a full-size struct). */
MRI_HIDDEN void mri_client_stats(struct mr_stats *st);
/* At start-up, the daemon's socket at path could not be found (err): the
 * scavenger, and so the first connect, is deferred; record why as a
 * failed connect would (mr_stats_get, MEMRECLAIM_STATS, trace), without
 * counting an attempt. */
MRI_HIDDEN void mri_client_absent(const char *path, int err);

/* Everything the client counts, for tests and trace output. */
struct mri_client_counters {
	uint64_t connects;	      /* connections made (HELLO sent) */
	uint64_t connect_failures;    /* attempts that found no daemon */
	uint64_t disconnects;	      /* connections lost or closed */
	uint64_t trims_received;      /* TRIM frames obeyed */
	uint64_t trim_bytes_released; /* sum of what those trims released */
	uint64_t limits_received;     /* LIMIT frames applied */
	uint64_t stats_sent;	      /* STATS frames sent */
	uint64_t frames_dropped;      /* frames not sent: daemon not reading */
	uint64_t frames_rejected; /* malformed or unexpected frames received */
	uint64_t servers_refused; /* listeners not running as root/daemon_uid */
	uint32_t connected;	  /* 1 while registered */
};
MRI_HIDDEN void mri_client_counters(struct mri_client_counters *c);

/*
 * The seam for unit tests: what the client calls to obey the daemon.  The
 * default table calls mr_release, mr_limit_hint and mr_stats_get.  A test
 * installs its own before the first tick; NULL restores the default.
 */
struct mri_client_ops {
	ssize_t (*release)(size_t bytes, enum mr_urgency urgency);
	int (*limit_set)(size_t bytes);
	int (*stats_get)(struct mr_stats *st);
	int (*profile_write)(int kind,
			     int (*write)(void *ctx, const void *p, size_t n),
			     void *ctx);
	int (*option_set)(const char *name, const char *value);
};
MRI_HIDDEN void mri_client_set_ops(const struct mri_client_ops *ops);

#endif
