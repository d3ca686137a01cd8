/*
 * watch.h: the cgroups memreclaimd watches, and the sample-decide-act
 * round over them.
 *
 * Owns struct mrd_cgroup's life (a cgroup is watched while at least one
 * registered client lives in it), attaching a client to its cgroup, the
 * PSI trigger fds and usage event fds (v1 thresholds, v2 memory.events),
 * the decision at once when one fires, and each round: sample every watched cgroup, ask
 * policy_eval() what to do, send the TRIMs and LIMITs it decides through
 * transport.c.  It calls down only (transport, cgroupfs, psi, policy).
 */
#ifndef MRD_WATCH_H
#define MRD_WATCH_H

#include <stdint.h>

#include "policy.h"
#include "state.h"

/* Watch the cgroup at mem (v2: its cgroup2 twin for PSI), or take one
 * more reference to it.  0 or -errno (-ENOENT: no memory cgroup there). */
int watch_get(struct mrd *d, const char *mem, const char *v2,
	      struct mrd_cgroup **out);
/* A client leaves cg; with none left it is kept WATCH_IDLE_GRACE_NS. */
void watch_put(struct mrd *d, struct mrd_cgroup *cg);
/* Stop watching every cgroup (exit). */
void watch_close_all(struct mrd *d);
#define WATCH_IDLE_GRACE_NS (30ull * 1000000000ull)
/* Find the client's cgroup from /proc and attach it (0 or -errno). */
int watch_attach(struct mrd *d, struct mrd_client *c);
struct mrd_cgroup *watch_find_trigger(struct mrd *d, int fd);

enum watch_event_kind {
	WATCH_EV_NONE = 0,
	WATCH_EV_V1_THRESHOLD = 1, /* eventfd, cgroup.event_control */
	WATCH_EV_V2_EVENTS = 2,	   /* memory.events, EPOLLPRI */
};
/* Events closer together than this for one cgroup are handled once,
 * this long after the previous: a usage line crossed back and forth
 * cannot spin the loop. */
#define WATCH_EVENT_MIN_NS 2000000ull

/* The cgroup whose usage event fd is fd, or NULL. */
struct mrd_cgroup *watch_find_event(struct mrd *d, int fd);
/*
 * An event woke the loop for cg at wake_ns (a usage threshold, a
 * memory.events change, or its PSI trigger: `what` for the log): drain
 * it, sample cg and decide at once, without waiting for the tick.  The
 * time from wake_ns to the last TRIM sent is logged and kept for the
 * metrics.  May forget cg if it vanished.
 */
void watch_event(struct mrd *d, struct mrd_cgroup *cg, int fd, uint64_t wake_ns,
		 const char *what);
/* Handle events put off by WATCH_EVENT_MIN_NS; returns the ms until the
 * next one is due (-1: none pending). */
int watch_events_due(struct mrd *d, uint64_t now_ns);
/* Re-arm every PSI trigger and usage event with the current config
 * (after reload). */
void watch_retrigger(struct mrd *d);
/* One sample-decide-act round over every watched cgroup. */
void watch_cycle(struct mrd *d, uint64_t now_ns);
/* The policy's view of a client (what policy_eval and policy_before
 * read). */
void watch_policy_client(const struct mrd_client *c, struct policy_client *pc);

#endif
