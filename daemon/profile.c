/*
 * profile.c: heap profiles through the daemon (see profile.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "control.h"
#include "log.h"
#include "profile.h"
#include "transport.h"

static struct mrd_client *
profile_target(struct mrd *d, pid_t pid)
{
	struct mrd_client *k;

	mrc_list_for_each(k, &d->clients, link)
		if (k->kind == MRD_CLIENT_LIB && k->pid == pid)
			return k;
	return NULL;
}

int
profile_owner_asks(struct mrd *d, const struct mrd_client *c,
		   const struct mr_proto_ctl_request *r)
{
	const struct mrd_client *t;

	if (c->kind == MRD_CLIENT_LIB ||
	    (r->cmd != MR_CTL_PROFILE && r->cmd != MR_CTL_PROF_SET))
		return 0;
	t = profile_target(d, r->pid);
	return t != NULL && t->uid == c->uid;
}

/* The asker of c's dump, if it is still connected. */
static struct mrd_client *
profile_asker(struct mrd *d, const struct mrd_client *c)
{
	struct mrd_client *a = transport_find_fd(d, c->prof_fd);

	return a != NULL && a->connected_ns == c->prof_ctl_ns ? a : NULL;
}

void
profile_request(struct mrd *d, struct mrd_client *c,
		const struct mr_proto_ctl_request *r)
{
	struct mr_proto_prof_request pr;
	struct mrd_client *t = profile_target(d, r->pid);
	char msg[MR_PROTO_TEXT_MAX];

	if (t == NULL) {
		control_done(d, c, -ESRCH, 0,
			     "no registered client with that pid");
		return;
	}
	if (r->cmd == MR_CTL_PROFILE && t->prof_fd >= 0 &&
	    profile_asker(d, t) != NULL) {
		control_done(d, c, -EBUSY, 0, "a profile is being sent");
		return;
	}
	memset(&pr, 0, sizeof(pr));
	if (r->cmd == MR_CTL_PROFILE) {
		pr.op = MR_PROF_OP_DUMP;
		pr.kind = (uint32_t)r->bytes;
	} else {
		pr.op = MR_PROF_OP_SET;
		pr.interval_bytes = r->bytes;
	}
	log_info("heap profile %s for pid %d asked by pid %d",
		 r->cmd == MR_CTL_PROFILE ? "dump" : "switch", (int)t->pid,
		 (int)c->pid);
	if (transport_send(d, t, MR_MSG_PROF_REQUEST, &pr) < 0) {
		control_done(d, c, -ECONNRESET, 0, "client went away");
		return;
	}
	if (r->cmd == MR_CTL_PROF_SET) {
		snprintf(msg, sizeof(msg), "sampling %s",
			 r->bytes ? "on" : "off");
		control_done(d, c, 0, 1, msg);
		return;
	}
	t->prof_fd = c->fd;
	t->prof_ctl_ns = c->connected_ns;
	t->prof_bytes = 0;
	t->prof_last_ns = mrc_now_ns();
}

/* End c's dump: CTL_DONE to the asker if it is still there. */
static void
profile_finish(struct mrd *d, struct mrd_client *c, int status)
{
	struct mrd_client *a = profile_asker(d, c);
	char msg[MR_PROTO_TEXT_MAX];

	c->prof_fd = -1;
	if (a == NULL)
		return;
	snprintf(msg, sizeof(msg), "%llu bytes of profile%s%s",
		 (unsigned long long)c->prof_bytes, status ? ": " : "",
		 status ? strerror(-status) : "");
	control_done(d, a, status, 1, msg);
}

int
profile_frame(struct mrd *d, struct mrd_client *c,
	      const struct mr_proto_msg *m)
{
	struct mrd_client *a;

	if (c->prof_fd < 0) {
		d->n.frames_rejected++;
		transport_drop(d, c, MR_BYE_PROTOCOL,
			       "profile data nobody asked for");
		return -1;
	}
	if (m->hdr.type == MR_MSG_PROF_END) {
		/* A count that does not match what was forwarded means
		 * frames were lost or made up: the asker must not take what
		 * it got for a whole profile. */
		if (m->u.prof_end.status == 0 &&
		    m->u.prof_end.bytes != c->prof_bytes) {
			profile_finish(d, c, -EPROTO);
			d->n.frames_rejected++;
			transport_drop(d, c, MR_BYE_PROTOCOL,
				       "profile end does not count the "
				       "bytes sent");
			return -1;
		}
		profile_finish(d, c, m->u.prof_end.status);
		return 0;
	}
	c->prof_bytes += m->u.prof_data.len;
	c->prof_last_ns = mrc_now_ns();
	if (c->prof_bytes > MR_PROTO_PROF_MAX) {
		profile_finish(d, c, -EFBIG);
		d->n.frames_rejected++;
		transport_drop(d, c, MR_BYE_LIMIT, "profile too large");
		return -1;
	}
	a = profile_asker(d, c);
	if (a != NULL)
		(void)transport_send(d, a, MR_MSG_PROF_DATA, &m->u.prof_data);
	return 0;
}

void
profile_check(struct mrd *d, struct mrd_client *c, uint64_t now)
{
	if (c->prof_fd >= 0 &&
	    now - c->prof_last_ns > MRD_PROF_STALL_MS * 1000000ull) {
		log_warnx("client pid %d sent no profile data for %d ms",
			  (int)c->pid, MRD_PROF_STALL_MS);
		profile_finish(d, c, -ETIMEDOUT);
	}
}

void
profile_closing(struct mrd *d, struct mrd_client *c)
{
	if (c->kind == MRD_CLIENT_LIB && c->prof_fd >= 0)
		profile_finish(d, c, -ECONNRESET);
}
