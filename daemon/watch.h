/*
 * watch.h: the cgroups memreclaimd watches, and the sample-decide-act
 * round over them.
 *
 * Owns struct mrd_cgroup's life (a cgroup is watched while at least one
 * registered client lives in it), attaching a client to its cgroup, the
 * PSI trigger fds, and each round: sample every watched cgroup, ask
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
void watch_put(struct mrd *d, struct mrd_cgroup *cg);
/* Find the client's cgroup from /proc and attach it (0 or -errno). */
int watch_attach(struct mrd *d, struct mrd_client *c);
struct mrd_cgroup *watch_find_trigger(struct mrd *d, int fd);
/* Re-arm every PSI trigger with the current config (after reload). */
void watch_retrigger(struct mrd *d);
/* One sample-decide-act round over every watched cgroup. */
void watch_cycle(struct mrd *d, uint64_t now_ns);
/* The policy's view of a client (what policy_eval and policy_before
 * read). */
void watch_policy_client(const struct mrd_client *c, struct policy_client *pc);

#endif
