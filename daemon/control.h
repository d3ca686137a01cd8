/*
 * control.h: memreclaimctl's requests, and config reload.
 *
 * Owns the meaning of CTL_REQUEST: status, the client and cgroup tables,
 * operator trims (given to clients in the policy's order,
 * policy_before()), and reloading the config file (also used by SIGHUP).
 * Permission is checked by dispatch.c before a request gets here; every
 * reply ends with CTL_DONE.  Calls down only (watch, transport, conf).
 */
#ifndef MRD_CONTROL_H
#define MRD_CONTROL_H

#include <stddef.h>

#include "state.h"

void control_request(struct mrd *d, struct mrd_client *c,
		     const struct mr_proto_ctl_request *r);
/* End a reply: CTL_DONE with status (0 or -errno), count and msg. */
void control_done(struct mrd *d, struct mrd_client *c, int status,
		  uint32_t count, const char *msg);
/* Client k answered its TRIM (answered 1) or is going away (0): tell the
 * `trim --wait` waiting for it, if any. */
void control_trim_answered(struct mrd *d, struct mrd_client *k,
			   int answered);
/* Finish the `trim --wait` replies whose deadline has passed. */
void control_wait_due(struct mrd *d, uint64_t now);
/* Reload the config file; 0 or the number of errors (old one kept). */
int control_reload(struct mrd *d, char *msg, size_t msglen);

#endif
