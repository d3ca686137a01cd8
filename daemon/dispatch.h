/*
 * dispatch.h: what each frame a client sends means, and in which order
 * frames may come.
 *
 * Owns the client conversation (HELLO first, then STATS and TRIM_DONE;
 * BYE at any time), telling a library connection from a memreclaimctl one,
 * and the permission check for control requests (root, the daemon's user,
 * or the socket's group).  It sits above transport.c, which hands it each
 * decoded frame through struct transport_hooks, and below nothing: it
 * passes control requests to control.c and new clients to watch.c.
 */
#ifndef MRD_DISPATCH_H
#define MRD_DISPATCH_H

#include "state.h"

/* Register dispatch's hooks with the transport of d. */
void dispatch_init(struct mrd *d);

#endif
