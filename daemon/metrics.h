/*
 * metrics.h: Prometheus text exposition over a tiny HTTP/1.0 server.
 *
 * Owns the metric names (memreclaim_<subsystem>_<name>_<unit>[_total])
 * and the HTTP endpoint (conf "metrics", by default 127.0.0.1:9464),
 * served from the daemon's epoll loop.  Reads struct mrd, never changes
 * it.
 */
#ifndef MRD_METRICS_H
#define MRD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

int metrics_start(struct mrd *d);
void metrics_stop(void);
/* 1 if fd belongs to the metrics server (and was handled). */
int metrics_event(struct mrd *d, int fd, uint32_t events);
/* The page, in a malloc'ed buffer that grows to fit, after `reserve`
 * bytes left free at its start (for the HTTP head): *out, *outlen (the
 * reserve included).  0 or -ENOMEM. */
int metrics_render(const struct mrd *d, char **out, size_t *outlen,
		   size_t reserve);

#endif
