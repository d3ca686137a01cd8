/*
 * control.c: memreclaimctl's requests and config reload (see control.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include <memreclaim.h>

#include "common/clock.h"

#include "control.h"
#include "log.h"
#include "policy.h"
#include "profile.h"
#include "transport.h"
#include "watch.h"

/* Errors of a reload: logged, and sent to the memreclaimctl that asked
 * (at most CONTROL_MAX_ERRORS lines: a garbage file says enough by then). */
#define CONTROL_MAX_ERRORS 50

struct control_errs {
	struct mrd *d;
	struct mrd_client *c; /* NULL: SIGHUP */
	int n;
};

/* One CTL_TEXT line to c (its pid 0 but for MR_CTL_TEXT_COMM). */
static int
control_text(struct mrd *d, struct mrd_client *c, uint32_t kind, pid_t pid,
	     const char *text)
{
	struct mr_proto_ctl_text t;

	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.pid = pid;
	snprintf(t.text, sizeof(t.text), "%s", text);
	return transport_send(d, c, MR_MSG_CTL_TEXT, &t);
}

static void
control_log_error(void *arg, const char *msg)
{
	struct control_errs *e = arg;

	log_warnx("%s", msg);
	if (e->c != NULL && !e->c->dead && e->n++ < CONTROL_MAX_ERRORS)
		(void)control_text(e->d, e->c, MR_CTL_TEXT_ERROR, 0, msg);
}

static int control_reload_for(struct mrd *d, struct mrd_client *c,
			      char *msg, size_t msglen);

int
control_reload(struct mrd *d, char *msg, size_t msglen)
{
	return control_reload_for(d, NULL, msg, msglen);
}

static int
control_reload_for(struct mrd *d, struct mrd_client *c, char *msg,
		   size_t msglen)
{
	struct control_errs errs = {d, c, 0};
	struct conf *nc;
	int rc;

	d->n.config_reloads++;
	if (d->conf_path == NULL) {
		snprintf(msg, msglen, "no config file: built-in defaults kept");
		return 0;
	}
	nc = malloc(sizeof(*nc));
	if (nc == NULL) {
		d->n.config_errors++;
		d->reload_failed = 1;
		snprintf(msg, msglen, "out of memory: old config kept");
		return 1;
	}
	sd_notify(0, "RELOADING=1");
	rc = conf_load(d->conf_path, nc, control_log_error, &errs);
	if (rc == -ENOENT && !d->conf_explicit) {
		conf_defaults(nc);
		rc = 0;
	}
	if (rc != 0) {
		d->n.config_errors++;
		d->reload_failed = 1;
		snprintf(msg, msglen, "%s: %d error%s, old config kept",
			 d->conf_path, rc < 0 ? 1 : rc,
			 rc == 1 || rc < 0 ? "" : "s");
		log_warnx("%s", msg);
		sd_notify(0, "READY=1");
		free(nc);
		return rc < 0 ? 1 : rc;
	}
	/* the socket and roots are bound at start: keep them */
	memcpy(nc->socket, d->conf.socket, sizeof(nc->socket));
	nc->socket_mode = d->conf.socket_mode;
	memcpy(nc->socket_group, d->conf.socket_group,
	       sizeof(nc->socket_group));
	memcpy(nc->client_group, d->conf.client_group,
	       sizeof(nc->client_group));
	memcpy(nc->metrics, d->conf.metrics, sizeof(nc->metrics));
	memcpy(nc->memory_root, d->conf.memory_root, sizeof(nc->memory_root));
	memcpy(nc->unified_root, d->conf.unified_root,
	       sizeof(nc->unified_root));
	memcpy(nc->proc_root, d->conf.proc_root, sizeof(nc->proc_root));
	d->conf = *nc;
	d->reload_failed = 0;
	free(nc);
	log_setlevel(d->conf.log_level);
	watch_retrigger(d);
	snprintf(msg, msglen, "%s reloaded", d->conf_path);
	log_info("%s", msg);
	sd_notify(0, "READY=1");
	return 0;
}

void
control_done(struct mrd *d, struct mrd_client *c, int status, uint32_t count,
	     const char *msg)
{
	struct mr_proto_ctl_done done;

	memset(&done, 0, sizeof(done));
	done.status = status;
	done.count = count;
	snprintf(done.message, sizeof(done.message), "%s", msg);
	(void)transport_send(d, c, MR_MSG_CTL_DONE, &done);
}

static void
control_status(struct mrd *d, struct mrd_client *c)
{
	struct mr_proto_ctl_status s;
	struct mrd_cgroup *cg;
	struct mrd_client *k;

	memset(&s, 0, sizeof(s));
	s.daemon_version = MR_PROTO_LIBVERSION(
	    MR_VERSION_MAJOR, MR_VERSION_MINOR, MR_VERSION_PATCH);
	s.daemon_pid = (uint32_t)getpid();
	s.uptime_ms = (mrc_now_ns() - d->start_ns) / 1000000;
	mrc_list_for_each(k, &d->clients, link) if (k->kind == MRD_CLIENT_LIB)
	    s.clients++;
	s.cgroups = (uint32_t)d->ncgroups;
	s.tick_ms = d->conf.tick_ms;
	mrc_list_for_each(cg, &d->cgroups, link) if (cg->trigger_fd >= 0)
	    s.psi_triggers++;
	s.trims_sent = d->n.trims_sent;
	s.trim_bytes_requested = d->n.trim_bytes_requested;
	s.trim_bytes_released = d->n.trim_bytes_released;
	s.clients_dropped = d->n.clients_dropped;
	s.frames_rejected = d->n.frames_rejected;
	s.config_reloads = d->n.config_reloads;
	s.config_errors = d->n.config_errors;
	s.host_some_avg10 = d->host_psi_ok ? d->host_psi.some.avg10 : 0;
	s.host_full_avg10 = d->host_psi_ok ? d->host_psi.full.avg10 : 0;
	if (transport_send(d, c, MR_MSG_CTL_STATUS, &s) == 0)
		control_done(d, c, 0, 1, "");
}

/* A CTL_CLIENT record of k, then its command as a CTL_TEXT COMM.  0 or
 * -errno (c dropped). */
static int
control_send_client(struct mrd *d, struct mrd_client *c,
		    const struct mrd_client *k, uint64_t now)
{
	struct mr_proto_ctl_client r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.pid = k->pid;
	r.uid = k->uid;
	r.oom_score_adj = k->oom_score_adj;
	r.lib_version = k->lib_version;
	if (k->has_stats)
		r.stats = k->stats;
	r.stats.reserved = 0;
	r.trims = k->trims;
	r.last_trim_bytes = k->last_trim_bytes;
	r.last_trim_released = k->last_trim_released;
	r.last_trim_age_ms =
	    k->last_trim_ns ? (now - k->last_trim_ns) / 1000000 : UINT64_MAX;
	r.soft_limit_bytes = k->limit_sent;
	snprintf(r.cgroup, sizeof(r.cgroup), "%s", k->mem_path);
	rc = transport_send(d, c, MR_MSG_CTL_CLIENT, &r);
	if (rc == 0 && k->comm[0] != '\0')
		rc = control_text(d, c, MR_CTL_TEXT_COMM, k->pid, k->comm);
	return rc;
}

static void
control_clients(struct mrd *d, struct mrd_client *c)
{
	struct mrd_client *k;
	uint64_t now = mrc_now_ns();
	uint32_t count = 0;

	mrc_list_for_each(k, &d->clients, link)
	{
		if (k->kind != MRD_CLIENT_LIB)
			continue;
		if (control_send_client(d, c, k, now) < 0)
			return;
		count++;
	}
	if (!c->dead)
		control_done(d, c, 0, count, "");
}

static void
control_cgroups(struct mrd *d, struct mrd_client *c)
{
	struct mrd_cgroup *cg;
	uint32_t count = 0;

	mrc_list_for_each(cg, &d->cgroups, link)
	{
		struct mr_proto_ctl_cgroup r;

		memset(&r, 0, sizeof(r));
		if (cg->s.has_psi) {
			r.some_avg10 = cg->s.psi.some.avg10;
			r.full_avg10 = cg->s.psi.full.avg10;
			r.some_total_us = cg->s.psi.some.total_us;
			r.full_total_us = cg->s.psi.full.total_us;
		}
		r.limit_bytes = cg->s.limit_bytes;
		r.usage_bytes = cg->s.usage_bytes;
		r.headroom_bytes = cg->last.headroom_bytes;
		r.shed_bytes = cg->last.shed_bytes;
		r.clients = (uint32_t)cg->refs;
		r.psi_mode = cg->g.psidirfd < 0	   ? MR_PSI_MODE_NONE
			     : cg->trigger_fd >= 0 ? MR_PSI_MODE_TRIGGER
						   : MR_PSI_MODE_POLL;
		snprintf(r.path, sizeof(r.path), "%s", cg->g.path);
		if (transport_send(d, c, MR_MSG_CTL_CGROUP, &r) < 0)
			return;
		count++;
	}
	control_done(d, c, 0, count, "");
}

/* An operator's trim: ask clients in the policy's order (policy_before:
 * highest oom_score_adj first, -1000 last, ties by idle bytes then pid;
 * idle bytes alone with order = idle) for their idle bytes until `bytes`
 * are covered; the last asked also takes any remainder, releasing what it
 * can. */
static void
control_trim(struct mrd *d, struct mrd_client *c,
	     const struct mr_proto_ctl_request *r)
{
	struct policy_client pc[256];
	struct mrd_client *pick[256], *k;
	const struct conf_cg *cfg;
	uint64_t left = r->bytes;
	uint32_t asked = 0;
	char msg[MR_PROTO_TEXT_MAX];
	int n = 0, i, j;

	mrc_list_for_each(k, &d->clients, link)
	{
		struct policy_client t;

		if (n == 256)
			break;
		if (k->kind != MRD_CLIENT_LIB)
			continue;
		if (r->cmd == MR_CTL_TRIM_PID
			? k->pid != r->pid
			: strcmp(k->mem_path, r->cgroup) != 0)
			continue;
		/* the order rule of the client's own cgroup */
		cfg = conf_match(&d->conf, k->mem_path);
		watch_policy_client(k, &t);
		for (j = n; j > 0 && policy_before(&t, &pc[j - 1], cfg->order);
		     j--) {
			pick[j] = pick[j - 1];
			pc[j] = pc[j - 1];
		}
		pick[j] = k;
		pc[j] = t;
		n++;
	}
	if (n == 0) {
		control_done(d, c, -ESRCH, 0,
			     r->cmd == MR_CTL_TRIM_PID
				 ? "no registered client with that pid"
				 : "no registered client in that cgroup");
		return;
	}
	for (i = 0; i < n && left > 0; i++) {
		uint64_t give = pick[i]->has_stats &&
					pick[i]->stats.idle_bytes < left &&
					i < n - 1
				    ? pick[i]->stats.idle_bytes
				    : left;

		if (give == 0)
			continue;
		if (transport_send_trim(d, pick[i], give, r->urgency) == 0) {
			asked++;
			left -= give;
			if (r->flags & MR_CTL_F_WAIT) {
				pick[i]->wait_fd = c->fd;
				pick[i]->wait_ctl_ns = c->connected_ns;
			}
		}
	}
	if ((r->flags & MR_CTL_F_WAIT) && asked > 0) {
		/* CTL_DONE when the last answers (control_trim_answered) or
		 * at the deadline (control_wait_due) */
		c->wait_left = c->wait_asked = asked;
		c->wait_released = 0;
		c->wait_deadline_ns =
		    mrc_now_ns() +
		    (uint64_t)(d->conf.trim_deadline_ms + 1000) * 1000000ull;
		return;
	}
	snprintf(msg, sizeof(msg), "asked %u client%s", asked,
		 asked == 1 ? "" : "s");
	control_done(d, c, 0, asked, msg);
}

/* The end of a trim --wait: how many answered and what they released. */
static void
control_wait_finish(struct mrd *d, struct mrd_client *c)
{
	char msg[MR_PROTO_TEXT_MAX];
	uint32_t answered = c->wait_asked - c->wait_left;

	snprintf(msg, sizeof(msg),
		 "asked %u client%s, %u answered, released %llu bytes",
		 c->wait_asked, c->wait_asked == 1 ? "" : "s", answered,
		 (unsigned long long)c->wait_released);
	c->wait_deadline_ns = 0;
	c->wait_left = 0;
	control_done(d, c, 0, c->wait_asked, msg);
}

void
control_trim_answered(struct mrd *d, struct mrd_client *k, int answered)
{
	struct mrd_client *c;

	if (k->wait_ctl_ns == 0)
		return;
	mrc_list_for_each(c, &d->clients, link)
	{
		if (c->fd != k->wait_fd || c->connected_ns != k->wait_ctl_ns ||
		    c->wait_deadline_ns == 0)
			continue;
		if (answered) {
			c->wait_released += k->last_trim_released;
			if (control_send_client(d, c, k, mrc_now_ns()) < 0)
				break;
		}
		if (--c->wait_left == 0)
			control_wait_finish(d, c);
		break;
	}
	k->wait_ctl_ns = 0;
}

void
control_wait_due(struct mrd *d, uint64_t now)
{
	struct mrd_client *c;

	mrc_list_for_each(c, &d->clients, link)
	{
		if (c->kind == MRD_CLIENT_CTL && c->wait_deadline_ns != 0 &&
		    now >= c->wait_deadline_ns)
			control_wait_finish(d, c);
	}
}

/* `memreclaimctl config CGROUP`: which section applies, and its keys. */
static void
control_config(struct mrd *d, struct mrd_client *c,
	       const struct mr_proto_ctl_request *r)
{
	static const char *const order[] = {"oom", "idle"};
	const struct conf_cg *g = conf_match(&d->conf, r->cgroup);
	char line[MR_PROTO_LINE_MAX];
	int n = 0;

#define LINE(...)                                                              \
	do {                                                                   \
		snprintf(line, sizeof(line), __VA_ARGS__);                     \
		if (control_text(d, c, MR_CTL_TEXT_LINE, 0, line) < 0)        \
			return;                                                \
		n++;                                                           \
	} while (0)
	LINE("# cgroup %s", r->cgroup);
	if (g->pattern[0] != '\0')
		LINE("# section [cgroup %s] at %.200s:%d, the first that "
		     "matches",
		     g->pattern, d->conf_path ? d->conf_path : "?", g->line);
	else
		LINE("# no [cgroup] section matches: the defaults "
		     "([memreclaimd] of %.200s, else built in)",
		     d->conf_path ? d->conf_path : "no file");
	LINE("watch = %s", g->watch ? "yes" : "no");
	LINE("headroom_percent = %g", g->headroom_percent);
	LINE("headroom_min = %llu", (unsigned long long)g->headroom_min_bytes);
	LINE("pressure_target = %g", g->pressure_target);
	LINE("pressure_urgent = %g", g->pressure_urgent);
	LINE("full_urgent = %g", g->full_urgent);
	LINE("cooldown_ms = %u", g->cooldown_ms);
	LINE("max_cooldown_ms = %u", g->max_cooldown_ms);
	LINE("min_trim = %llu", (unsigned long long)g->min_trim_bytes);
	LINE("soft_limits = %s", g->soft_limits ? "yes" : "no");
	LINE("order = %s", order[g->order == CONF_ORDER_IDLE]);
	LINE("trigger_stall_ms = %u", g->trigger_stall_ms);
	LINE("trigger_window_ms = %u", g->trigger_window_ms);
	LINE("events = %s", g->events ? "yes" : "no");
	LINE("near_oom_margin = %llu",
	     (unsigned long long)g->near_oom_margin_bytes);
#undef LINE
	control_done(d, c, 0, (uint32_t)n, "");
}

void
control_request(struct mrd *d, struct mrd_client *c,
		const struct mr_proto_ctl_request *r)
{
	char msg[MR_PROTO_TEXT_MAX];
	int rc;

	switch (r->cmd) {
	case MR_CTL_STATUS:
		control_status(d, c);
		break;
	case MR_CTL_CLIENTS:
		control_clients(d, c);
		break;
	case MR_CTL_CGROUPS:
		control_cgroups(d, c);
		break;
	case MR_CTL_TRIM_PID:
	case MR_CTL_TRIM_CGROUP:
		log_info("operator trim of %llu bytes requested by pid %d",
			 (unsigned long long)r->bytes, (int)c->pid);
		control_trim(d, c, r);
		break;
	case MR_CTL_PROFILE:
	case MR_CTL_PROF_SET:
		profile_request(d, c, r);
		break;
	case MR_CTL_RELOAD:
		rc = control_reload_for(d, c, msg, sizeof(msg));
		if (!c->dead)
			control_done(d, c, rc ? -EINVAL : 0, 0, msg);
		break;
	case MR_CTL_CONFIG:
		control_config(d, c, r);
		break;
	}
}
