/*
 * dispatch.c: frame routing and the client conversation (see dispatch.h).
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/protocol.h"

#include "control.h"
#include "dispatch.h"
#include "log.h"
#include "metrics_names.h"
#include "profile.h"
#include "transport.h"
#include "watch.h"

static void
dispatch_hello(struct mrd *d, struct mrd_client *c,
	       const struct mr_proto_hello *h)
{
	c->kind = MRD_CLIENT_LIB;
	c->lib_version = h->lib_version;
	c->features = h->features;
	c->stats_interval_ms = h->stats_interval_ms;
	if (cgfs_oom_score_adj(&d->fs, c->pid, &c->oom_score_adj) < 0)
		c->oom_score_adj = 0;
	/* -ESRCH (gone) is seen below by transport_peer_alive */
	if (cgfs_proc_comm(&d->fs, c->pid, c->comm, sizeof(c->comm)) == 0)
		mrd_comm_safe(c->comm, sizeof(c->comm), c->comm);
	/* a client whose cgroup cannot be found stays registered (listed,
	 * trimmable by hand) and is looked up again every round */
	(void)watch_attach(d, c);
	/* the lookups above went by pid: if the process that connected is
	 * gone, they may have read another one's files (a reused pid) */
	if (!transport_peer_alive(d, c)) {
		d->n.clients_expired++;
		/* not misbehaviour (a short-lived process may exit right
		 * after HELLO): closed without a warning, counted expired */
		transport_drop(d, c, MR_BYE_NORMAL,
			       "the connecting process is gone");
		return;
	}
	log_info("client pid %d (%s) uid %u registered (library %u.%u.%u, "
		 "cgroup %s, oom_score_adj %d)",
		 (int)c->pid, c->comm[0] ? c->comm : "?", (unsigned)c->uid,
		 h->lib_version >> 16,
		 (h->lib_version >> 8) & 0xff, h->lib_version & 0xff,
		 c->mem_path[0] ? c->mem_path : "?", c->oom_score_adj);
}

static void
dispatch_trim_done(struct mrd *d, struct mrd_client *c, uint32_t seq,
		   const struct mr_proto_trim_done *t)
{
	uint64_t now = mrc_now_ns();

	c->last_trim_released = t->released_bytes;
	d->n.trim_bytes_released += t->released_bytes;
	if (c->cg) {
		c->cg->released_since_action += t->released_bytes;
		c->cg->released_bytes += t->released_bytes;
	}
	if (c->pending_bytes != 0 && seq == c->pending_seq) {
		if (now - c->pending_ns >
		    (uint64_t)d->conf.trim_deadline_ms * 1000000ull) {
			c->trims_late++;
			d->n.trims_late++;
		}
		c->pending_bytes = 0;
	}
	control_trim_answered(d, c, 1);
	log_info("TRIM_DONE pid %d: %llu bytes released in %llu us%s%s",
		 (int)c->pid, (unsigned long long)t->released_bytes,
		 (unsigned long long)(t->duration_ns / 1000),
		 t->error ? ", error: " : "",
		 t->error ? strerror(-t->error) : "");
}

/* Handle one decoded frame.  Returns 0, or -1 if c was dropped. */
static int
dispatch_frame(struct mrd *d, struct mrd_client *c,
	       const struct mr_proto_msg *m)
{
	int type = m->hdr.type;

	if (type == MR_MSG_CTL_REQUEST) {
		if (c->kind == MRD_CLIENT_LIB) {
			transport_drop(
			    d, c, MR_BYE_PROTOCOL,
			    "control request on a client connection");
			return -1;
		}
		if (!c->ctl_ok &&
		    !profile_owner_asks(d, c, &m->u.ctl_request)) {
			d->n.frames_rejected++;
			transport_drop(d, c, MR_BYE_PROTOCOL,
				       "control request without permission");
			return -1;
		}
		c->kind = MRD_CLIENT_CTL;
		control_request(d, c, &m->u.ctl_request);
		return c->dead ? -1 : 0;
	}
	if (!mrc_proto_from_client(type) || c->kind == MRD_CLIENT_CTL) {
		d->n.frames_rejected++;
		transport_drop(d, c, MR_BYE_PROTOCOL,
			       "frame type not allowed "
			       "from a client");
		return -1;
	}
	if (type == MR_MSG_BYE) {
		transport_free(d, c);
		return -1;
	}
	if (type == MR_MSG_HELLO) {
		if (c->kind != MRD_CLIENT_NEW) {
			d->n.frames_rejected++;
			transport_drop(d, c, MR_BYE_PROTOCOL, "second HELLO");
			return -1;
		}
		if (!c->reg_ok) {
			transport_refuse_client(d, c, MRD_REFUSE_GROUP,
						MR_BYE_DENIED);
			return -1;
		}
		dispatch_hello(d, c, &m->u.hello);
		return c->dead ? -1 : 0;
	}
	if (c->kind != MRD_CLIENT_LIB) {
		d->n.frames_rejected++;
		transport_drop(d, c, MR_BYE_PROTOCOL, "frame before HELLO");
		return -1;
	}
	if (type == MR_MSG_PROF_DATA || type == MR_MSG_PROF_END)
		return profile_frame(d, c, m);
	if (type == MR_MSG_STATS) {
		c->stats = m->u.stats;
		c->has_stats = 1;
		c->stats_ns = mrc_now_ns();
		return 0;
	}
	/* TRIM_DONE: must answer a TRIM we sent, once: seqs only grow, so
	 * one not above the last answered is a repeat (it would inflate the
	 * released counters and defeat the back-off) */
	if (m->hdr.seq == 0 || m->hdr.seq > c->seq_out ||
	    c->last_trim_ns == 0 || m->hdr.seq <= c->last_done_seq) {
		d->n.frames_rejected++;
		transport_drop(d, c, MR_BYE_PROTOCOL,
			       "TRIM_DONE without a TRIM");
		return -1;
	}
	c->last_done_seq = m->hdr.seq;
	dispatch_trim_done(d, c, m->hdr.seq, &m->u.trim_done);
	return 0;
}

/* c is going away: its cgroup loses a reference. */
static void
dispatch_closing(struct mrd *d, struct mrd_client *c)
{
	profile_closing(d, c);
	control_trim_answered(d, c, 0);
	if (c->cg) {
		watch_put(d, c->cg);
		c->cg = NULL;
	}
}

static const struct transport_hooks dispatch_hooks = {
    .frame = dispatch_frame,
    .closing = dispatch_closing,
};

void
dispatch_init(struct mrd *d)
{
	d->hooks = &dispatch_hooks;
}
