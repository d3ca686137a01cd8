/*
 * profile.h: heap profiles through the daemon.
 *
 * memreclaimctl asks (CTL_REQUEST PROFILE or PROF_SET, for one pid); this
 * module finds the registered client, checks that the asker is an
 * operator or the process's owner (SO_PEERCRED uids), sends the client a
 * PROF_REQUEST and, for a dump, forwards each PROF_DATA the client streams
 * back to the asker, then ends the reply with CTL_DONE (the client's
 * PROF_END status, or -EPROTO when PROF_END does not count the bytes
 * forwarded).  Every frame of the client is hostile: a malformed one, one
 * nobody asked for, a profile over MR_PROTO_PROF_MAX or a count that does
 * not match drops that client only, and the asker gets an error.  One dump per client at a time; a dump whose asker
 * went away is read and dropped; a client that goes away mid-dump ends it
 * with -ECONNRESET.  Calls down only (transport, control_done).
 */
#ifndef MRD_PROFILE_H
#define MRD_PROFILE_H

#include "state.h"

/* CTL_REQUEST PROFILE / PROF_SET from c (permission already checked). */
void profile_request(struct mrd *d, struct mrd_client *c,
		     const struct mr_proto_ctl_request *r);
/* 1 if c, not an operator, may still send r: a profile request about a
 * process of its own uid. */
int profile_owner_asks(struct mrd *d, const struct mrd_client *c,
		       const struct mr_proto_ctl_request *r);
/* PROF_DATA or PROF_END from library client c.  0, or -1 if c was
 * dropped. */
int profile_frame(struct mrd *d, struct mrd_client *c,
		  const struct mr_proto_msg *m);
/* Watch cycle: end c's dump with -ETIMEDOUT if it made no progress for
 * MRD_PROF_STALL_MS (a later PROF_DATA is then one nobody asked for). */
void profile_check(struct mrd *d, struct mrd_client *c, uint64_t now);
/* c is closing: end a dump it was sending. */
void profile_closing(struct mrd *d, struct mrd_client *c);

#endif
