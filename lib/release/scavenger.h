/*
 * scavenger.h: the background thread that keeps retained memory near its
 * goal (part of the release path).  It also hosts clients (the daemon
 * client, the systemd memory pressure watch) through the hooks each
 * registers: their fds are in its poll set and their ticks run on every
 * wake-up.  The scavenger knows nothing else of them.
 */
#ifndef MRI_SCAVENGER_H
#define MRI_SCAVENGER_H

#include <stdint.h>
#include "memreclaim.h"

#define MRI_HIDDEN __attribute__((visibility("hidden")))

/* Start the thread if the "scavenger" option allows and it is not running.
 * Must be called with no allocator lock held; may allocate. */
MRI_HIDDEN void mri_scavenger_start(void);
/*
 * Or start it later, once the heap needs it.  A thread costs a process
 * about 100 KiB of RSS (its stack, and the libc code that creating it and
 * its cycles page in), more than a small program's whole heap may be:
 * mri_scavenger_defer marks the start as deferred, and mri_scavenger_due
 * says when to start it after all: a wake came (a hugepage's worth of
 * pages was freed) or the heap retains MRI_SCAV_LAZY_BYTES.  The library's
 * start-up layer (api/init.c) asks from the allocator's slow paths, where
 * they hold no lock and their own state is whole, as pthread_create
 * allocates.
 */
#define MRI_SCAV_LAZY_BYTES ((uint64_t)8 << 20)
MRI_HIDDEN void mri_scavenger_defer(void);
MRI_HIDDEN int mri_scavenger_deferred(void);
MRI_HIDDEN int mri_scavenger_due(void);
/* Called by mri_scavenger_start before it creates a thread (api/init.c
 * registers its fork handlers there: they must be in place before a
 * second thread can hold an allocator lock).  Static storage; NULL: none. */
MRI_HIDDEN void mri_scavenger_set_prestart(void (*fn)(void));
/* Nudge it (e.g. after a large free).  Cheap; async-signal-safe.  While
 * the start is deferred, it makes mri_scavenger_due true. */
MRI_HIDDEN void mri_scavenger_wake(void);
/* Stop and join (tests, exit); a deferred start is called off. */
MRI_HIDDEN void mri_scavenger_stop(void);
/* fork() handlers: the child has no scavenger thread until restarted. */
MRI_HIDDEN void mri_scavenger_atfork_prepare(void);
MRI_HIDDEN void mri_scavenger_atfork_parent(void);
MRI_HIDDEN void mri_scavenger_atfork_child(void);

/*
 * A client the scavenger thread hosts.  fd, event, tick, next_ns and stop
 * run on the scavenger thread only; atfork_child in the child's fork
 * handler; stats on any thread (mr_stats_get).  Any may be NULL.
 *   fd():          the fd to poll, or -1
 *   poll_events(): what to poll fd for (NULL: POLLIN)
 *   event(revents, now_ns): poll reported revents on fd (called before
 *                  tick; a PSI trigger's POLLPRI is seen only once)
 *   tick(now_ns):  do whatever is due; never blocks
 *   next_ns():     when tick wants to run next (UINT64_MAX: never)
 *   stop():        say goodbye and close (the scavenger stops)
 *   atfork_child(): drop what belongs to the parent
 *   stats(st):     fill the client's fields of st (st->size covers them)
 */
struct mri_scavenger_client {
	int (*fd)(void);
	void (*tick)(uint64_t now_ns);
	uint64_t (*next_ns)(void);
	void (*stop)(void);
	void (*atfork_child)(void);
	void (*stats)(struct mr_stats *st);
	short (*poll_events)(void);
	void (*event)(short revents, uint64_t now_ns);
};
#define MRI_SCAV_MAX_CLIENTS 2
/* Register a client (static storage).  Call before mri_scavenger_start: a
 * running thread keeps the clients it started with.  0, or -ENOSPC when
 * MRI_SCAV_MAX_CLIENTS are registered already. */
MRI_HIDDEN int mri_scavenger_add_client(const struct mri_scavenger_client *c);
/* Every registered client's stats(st) (mr_stats_get). */
MRI_HIDDEN void mri_scavenger_client_stats(struct mr_stats *st);

#endif
