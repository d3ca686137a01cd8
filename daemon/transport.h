/*
 * transport.h: the SOCK_SEQPACKET socket clients and memreclaimctl use.
 *
 * Owns the listening socket, accepting (max_clients with slots kept for
 * operators, max_clients_per_uid, a pause when descriptors run out), the
 * peer's identity (SO_PEERCRED, SO_PEERGROUPS, SO_PEERPIDFD or the
 * process start time), the per-client frame-rate bucket, the queue of
 * frames a slow reader has not taken yet (sent on EPOLLOUT),
 * reading and strictly decoding frames, sending, and closing.  What a
 * valid frame means is not decided here: each decoded frame goes up
 * through the hooks dispatch.c registers, and so does the news that a
 * client is about to be freed.  This module calls nothing above it.
 *
 * Our peers are untrusted: a malformed frame, a frame too many per second,
 * or a socket that stops reading gets that client a BYE and a close,
 * counted in clients_dropped.  A connection that may not register (over
 * max_clients or max_clients_per_uid, no peer credentials, outside
 * client_group, another protocol version) is refused instead: a BYE that
 * says why, counted in clients_refused[enum mrd_refusal], and one log line
 * per reason per MRD_WARN_INTERVAL_MS.  Nothing a client sends reaches
 * fatal().
 */
#ifndef MRD_TRANSPORT_H
#define MRD_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* How transport tells the layer above (dispatch.c) what happened. */
struct transport_hooks {
	/* A valid frame from c.  Returns 0, or -1 if c was freed. */
	int (*frame)(struct mrd *d, struct mrd_client *c,
		     const struct mr_proto_msg *m);
	/* c is about to be freed: drop every reference to it. */
	void (*closing)(struct mrd *d, struct mrd_client *c);
};

int transport_listen(struct mrd *d);
/* Say BYE to every client, free them, and close the listening socket. */
void transport_close(struct mrd *d);
void transport_accept(struct mrd *d);
/* Read and pass up every frame waiting on c; may close c (c->dead). */
void transport_input(struct mrd *d, struct mrd_client *c);
/* Send one frame; on failure the client is dropped (returns -errno). */
int transport_send(struct mrd *d, struct mrd_client *c, uint16_t type,
		   const void *payload);
/* Send a TRIM and record it as c's outstanding one (0 or -errno; on
 * failure c is dropped). */
int transport_send_trim(struct mrd *d, struct mrd_client *c, uint64_t bytes,
			uint32_t urgency);
/* Disconnect c (reason MR_BYE_*; counted as dropped unless NORMAL or
 * SHUTDOWN) and free it. */
void transport_drop(struct mrd *d, struct mrd_client *c, uint32_t reason,
		    const char *why);
/* Refuse c's registration (why: enum mrd_refusal): BYE bye_reason,
 * counted in clients_refused[why], logged (rate-limited), freed. */
void transport_refuse_client(struct mrd *d, struct mrd_client *c, int why,
			     uint32_t bye_reason);
/* Free c without a BYE (the peer said BYE or hung up). */
void transport_free(struct mrd *d, struct mrd_client *c);
struct mrd_client *transport_find_fd(struct mrd *d, int fd);
/* Free the clients closed since the last call (end of a loop iteration). */
void transport_reap(struct mrd *d);
/* Send what c's queue holds (EPOLLOUT); may drop c. */
void transport_output(struct mrd *d, struct mrd_client *c);
/* Is c's process still the one that connected (pidfd, or pid and start
 * time)?  1 yes or unknown, 0 gone. */
int transport_peer_alive(struct mrd *d, struct mrd_client *c);
/* While accepting is paused (out of descriptors): ms until it resumes,
 * resuming it when due; -1 when not paused. */
int transport_accept_due(struct mrd *d, uint64_t now);

#endif
