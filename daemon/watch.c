/*
 * watch.c: watched cgroups and the sample-decide-act round (see watch.h).
 *
 * A cgroup is watched while at least one registered client lives in it
 * (found from /proc/PID/cgroup: the memory controller's path for limits,
 * the cgroup2 path for PSI; on hybrid hosts they are different trees).
 * Each watched cgroup keeps its directory fds open (cgroupfs.c) and, where
 * the kernel lets us, a PSI trigger fd in the epoll set that wakes the
 * loop early; otherwise PSI totals are polled on the tick.
 *
 * Usage events come first, the tick is a fallback: without swap a cgroup
 * goes from no stall to an OOM kill in a few hundred milliseconds, far
 * less than a tick.  On v1 an eventfd is registered through
 * cgroup.event_control with two memory.usage_in_bytes thresholds: the
 * headroom line (L - H, raised by the reclaimable bytes of the last
 * sample, since the policy's working set excludes them, and by twice
 * min_trim, so the excess at the line is worth a TRIM) and the near-OOM
 * line (L - near_oom_margin).  The kernel signals each crossing, up or
 * down.  The lines move with the limit, the headroom and the page cache;
 * after each sample they are re-armed when the headroom line rose by more
 * than min_trim (armed lower, it would be crossed with an excess not worth
 * a TRIM, and then stay crossed), or fell by more than WATCH_REARM_SLACK.
 * Re-arming is not free: the kernel waits for an RCU grace period per
 * threshold registered (tens of ms on these machines, the loop blocked),
 * so it is done after the TRIMs are sent and only when a line moved.  On
 * v2, memory.events (high, max, oom, oom_kill) notifies a change with
 * EPOLLPRI; it is read after every event, which also re-arms it.  When
 * one fires, that cgroup alone is sampled and decided at once.  A cgroup that
 * vanishes is forgotten and its clients looked up again (they may have
 * been moved).  The decision itself is policy_eval(); this file only
 * gathers its inputs and carries out its outputs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"

#include "log.h"
#include "profile.h"
#include "transport.h"
#include "watch.h"

static void
watch_trigger_close(struct mrd *d, struct mrd_cgroup *cg)
{
	if (cg->trigger_fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, cg->trigger_fd, NULL);
		close(cg->trigger_fd);
		cg->trigger_fd = -1;
	}
}

static void
watch_trigger_open(struct mrd *d, struct mrd_cgroup *cg)
{
	const struct conf_cg *cfg = conf_match(&d->conf, cg->g.path);
	int fd, rc;

	watch_trigger_close(d, cg);
	if (cg->g.psidirfd < 0 || !cfg->watch)
		return;
	fd = psi_trigger_open(cg->g.psidirfd, "memory.pressure",
			      (uint64_t)cfg->trigger_stall_ms * 1000,
			      (uint64_t)cfg->trigger_window_ms * 1000,
			      &cg->trigger_window_us);
	if (fd < 0) {
		log_warnc(fd,
			  "cgroup %s: PSI trigger, polling pressure on "
			  "the tick instead",
			  cg->g.path);
		return;
	}
	rc = mrd_epoll_add(d->epfd, fd, EPOLLPRI);
	if (rc < 0) {
		log_warnc(rc,
			  "cgroup %s: epoll on PSI trigger, polling "
			  "instead",
			  cg->g.path);
		close(fd);
		return;
	}
	cg->trigger_fd = fd;
	if (cg->trigger_window_us != (uint64_t)cfg->trigger_window_ms * 1000)
		log_info("cgroup %s: PSI trigger window rounded to %llu ms "
			 "(no CAP_SYS_RESOURCE)",
			 cg->g.path,
			 (unsigned long long)(cg->trigger_window_us / 1000));
}

#define WATCH_REARM_SLACK (1ull << 20)

static void
watch_events_close(struct mrd *d, struct mrd_cgroup *cg)
{
	if (cg->event_fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, cg->event_fd, NULL);
		close(cg->event_fd);
	}
	cg->event_fd = -1;
	cg->event_kind = WATCH_EV_NONE;
	cg->armed_line = cg->armed_oom_line = 0;
}

/* v1: register one usage threshold on efd.  0 or -errno. */
static int
watch_threshold_add(struct mrd_cgroup *cg, int efd, uint64_t line)
{
	char buf[96];
	int ufd, cfd, n, rc = 0;

	ufd = openat(cg->g.dirfd, "memory.usage_in_bytes",
		     O_RDONLY | O_CLOEXEC);
	if (ufd < 0)
		return -errno;
	cfd = openat(cg->g.dirfd, "cgroup.event_control", O_WRONLY | O_CLOEXEC);
	if (cfd < 0) {
		rc = -errno;
		close(ufd);
		return rc;
	}
	n = snprintf(buf, sizeof(buf), "%d %d %llu", efd, ufd,
		     (unsigned long long)line);
	if (write(cfd, buf, (size_t)n) != n)
		rc = -errno;
	/* the kernel keeps what it needs; these fds are done */
	close(cfd);
	close(ufd);
	return rc;
}

/* The v1 lines for the cgroup's last sample; 0 each: nothing to arm. */
static void
watch_lines(const struct conf_cg *cfg, const struct cgfs_sample *s,
	    uint64_t *line, uint64_t *oom_line)
{
	uint64_t L = s->limit_bytes, h, r, m;

	*line = *oom_line = 0;
	if (L == CGFS_NO_LIMIT || L == 0)
		return;
	h = policy_headroom(cfg, L);
	m = cfg->near_oom_margin_bytes < L ? cfg->near_oom_margin_bytes : L;
	*oom_line = L - m;
	/* usage counts reclaimable cache the working set does not; and at
	 * the line the excess must be worth a TRIM (min_trim), or the one
	 * event of the crossing would decide to do nothing */
	r = s->inactive_file_bytes;
	r = 2 * cfg->min_trim_bytes > UINT64_MAX - r
		? UINT64_MAX
		: r + 2 * cfg->min_trim_bytes;
	*line = L - h;
	*line = r > UINT64_MAX - *line ? UINT64_MAX : *line + r;
	if (*line > *oom_line)
		*line = *oom_line;
}

/* Events cannot be armed on cg (rc): said once per cgroup, since arming
 * is tried every round (a read-only cgroupfs, a fake tree) */
static void
watch_events_failed(struct mrd_cgroup *cg, int rc, const char *what)
{
	if (cg->event_warned) {
		log_debug("cgroup %s: %s: %s", cg->g.path, what,
			  strerror(-rc));
		return;
	}
	cg->event_warned = 1;
	log_warnc(rc, "cgroup %s: %s, polling on the tick instead",
		  cg->g.path, what);
}

/* Arm (or re-arm, when the lines moved) the usage events of cg. */
static void
watch_events_arm(struct mrd *d, struct mrd_cgroup *cg)
{
	const struct conf_cg *cfg = conf_match(&d->conf, cg->g.path);
	uint64_t line, oom_line;
	int fd, rc;

	if (!cfg->watch || !cfg->events) {
		watch_events_close(d, cg);
		return;
	}
	if (cg->g.v2) {
		char buf[512];

		if (cg->event_kind == WATCH_EV_V2_EVENTS)
			return;
		fd = openat(cg->g.dirfd, "memory.events", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return; /* fake tree or old kernel: tick and PSI */
		(void)pread(fd, buf, sizeof(buf), 0);
		rc = mrd_epoll_add(d->epfd, fd, EPOLLPRI);
		if (rc < 0) {
			watch_events_failed(cg, rc, "epoll on memory.events");
			close(fd);
			return;
		}
		cg->event_fd = fd;
		cg->event_kind = WATCH_EV_V2_EVENTS;
		log_info("cgroup %s: woken by memory.events", cg->g.path);
		return;
	}
	if (!cg->have_sample)
		return;
	watch_lines(cfg, &cg->s, &line, &oom_line);
	/* a line armed too low is crossed before the excess is worth a
	 * TRIM and then stays crossed: re-arm on any rise; a line armed a
	 * little high only costs a little delay */
	if (cg->event_kind == WATCH_EV_V1_THRESHOLD &&
	    (line <= cg->armed_line
		 ? cg->armed_line - line <= WATCH_REARM_SLACK
		 : line - cg->armed_line <= cfg->min_trim_bytes) &&
	    oom_line == cg->armed_oom_line)
		return;
	watch_events_close(d, cg);
	if (oom_line == 0)
		return; /* no limit: nothing to cross */
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0) {
		log_warn("cgroup %s: eventfd, usage on the tick instead",
			 cg->g.path);
		return;
	}
	rc = watch_threshold_add(cg, fd, line);
	if (rc == 0 && oom_line != line)
		rc = watch_threshold_add(cg, fd, oom_line);
	if (rc == 0)
		rc = mrd_epoll_add(d->epfd, fd, EPOLLIN);
	if (rc < 0) {
		watch_events_failed(cg, rc, "usage thresholds");
		close(fd);
		return;
	}
	cg->event_fd = fd;
	cg->event_kind = WATCH_EV_V1_THRESHOLD;
	cg->armed_line = line;
	cg->armed_oom_line = oom_line;
	log_debug("cgroup %s: usage thresholds at %llu (headroom) and %llu "
		  "(near-OOM)",
		  cg->g.path, (unsigned long long)line,
		  (unsigned long long)oom_line);
}

struct mrd_cgroup *
watch_find_event(struct mrd *d, int fd)
{
	struct mrd_cgroup *cg;

	mrc_list_for_each(cg, &d->cgroups,
			  link) if (cg->event_fd == fd) return cg;
	return NULL;
}

int
watch_get(struct mrd *d, const char *mem, const char *v2,
	  struct mrd_cgroup **out)
{
	struct mrd_cgroup *cg;
	int rc;

	*out = NULL;
	mrc_list_for_each(cg, &d->cgroups,
			  link) if (strcmp(cg->g.path, mem) == 0)
	{
		cg->refs++;
		*out = cg;
		return 0;
	}
	cg = calloc(1, sizeof(*cg));
	if (cg == NULL)
		return -ENOMEM;
	rc = cgfs_group_open(&d->fs, mem, v2, &cg->g);
	if (rc < 0) {
		free(cg);
		return rc;
	}
	cg->trigger_fd = cg->event_fd = -1;
	cg->refs = 1;
	/* a first sample now, so memreclaimctl never shows a blank one; a
	 * directory without memory files is not a memory cgroup (a wrong
	 * memory_root, or one being removed) and is not watched */
	rc = cgfs_group_read(&cg->g, &cg->s);
	if (rc == -ENOENT) {
		cgfs_group_close(&cg->g);
		free(cg);
		return -ENOENT;
	}
	cg->have_sample = rc == 0;
	cg->round = d->n.cycles;
	watch_trigger_open(d, cg);
	watch_events_arm(d, cg);
	mrc_list_add(&d->cgroups, &cg->link);
	d->ncgroups++;
	log_info("watching cgroup %s (pressure from %s%s)", mem,
		 cg->g.psidirfd >= 0 ? "cgroup2 " : "the host",
		 cg->g.psidirfd >= 0 ? cg->g.psi_path : "");
	*out = cg;
	return 0;
}

static void
watch_free(struct mrd *d, struct mrd_cgroup *cg)
{
	mrc_list_del(&cg->link);
	watch_trigger_close(d, cg);
	watch_events_close(d, cg);
	cgfs_group_close(&cg->g);
	d->ncgroups--;
	free(cg);
}

/* The last client leaving does not end the watch at once: a process that
 * connects, registers and exits in a loop would otherwise make us open
 * and close a PSI trigger each time (milliseconds of this one thread).
 * The cgroup stays, idle, for WATCH_IDLE_GRACE_NS; watch_cycle frees it
 * after that. */
void
watch_put(struct mrd *d, struct mrd_cgroup *cg)
{
	(void)d;
	if (--cg->refs <= 0) {
		cg->refs = 0;
		cg->idle_ns = mrc_now_ns();
		log_debug("no client left in cgroup %s", cg->g.path);
	}
}

void
watch_close_all(struct mrd *d)
{
	while (!mrc_list_empty(&d->cgroups))
		watch_free(d, mrc_list_entry(d->cgroups.next,
					     struct mrd_cgroup, link));
}

int
watch_attach(struct mrd *d, struct mrd_client *c)
{
	char mem[CGFS_PATH_MAX], v2[CGFS_PATH_MAX];
	int rc;

	rc = cgfs_pid_paths(&d->fs, c->pid, mem, sizeof(mem), v2, sizeof(v2));
	if (rc < 0) {
		/* -ESRCH: the process exited after connecting; the caller
		 * sees it gone (transport_peer_alive) and closes it quietly */
		if (!c->attach_warned && rc != -ESRCH)
			log_warnc(rc, "client pid %d: its cgroup", (int)c->pid);
		c->attach_warned = 1;
		return rc;
	}
	if (c->cg && strcmp(c->cg->g.path, mem) == 0)
		return 0;
	if (c->cg) {
		watch_put(d, c->cg);
		c->cg = NULL;
	}
	strcpy(c->mem_path, mem);
	strcpy(c->v2_path, v2);
	rc = watch_get(d, mem, v2, &c->cg);
	if (rc < 0) {
		/* once per client: it is retried every round */
		if (!c->attach_warned)
			log_warnc(rc, "client pid %d: cgroup %s not watched",
				  (int)c->pid, mem);
		c->attach_warned = 1;
		return rc;
	}
	c->attach_warned = 0;
	return 0;
}

struct mrd_cgroup *
watch_find_trigger(struct mrd *d, int fd)
{
	struct mrd_cgroup *cg;

	mrc_list_for_each(cg, &d->cgroups,
			  link) if (cg->trigger_fd == fd) return cg;
	return NULL;
}

void
watch_retrigger(struct mrd *d)
{
	struct mrd_cgroup *cg;

	mrc_list_for_each(cg, &d->cgroups, link)
	{
		watch_trigger_open(d, cg);
		watch_events_close(d, cg);
		watch_events_arm(d, cg);
	}
}

/* A cgroup went away: detach its clients and look each up again. */
static void
watch_vanished(struct mrd *d, struct mrd_cgroup *cg)
{
	struct mrd_client *c, *next;

	log_info("cgroup %s is gone", cg->g.path);
	d->n.cgroups_vanished++;
	cg->refs++; /* keep it alive while its clients move */
	mrc_list_for_each(c, &d->clients, link) if (c->cg == cg)
	{
		c->cg = NULL;
		cg->refs--;
		c->mem_path[0] = '\0';
	}
	if (--cg->refs <= 0)
		watch_free(d, cg);
	mrc_list_for_each_safe(c, next, &d->clients,
			       link) if (c->kind == MRD_CLIENT_LIB &&
					 c->cg == NULL)(void)
	    watch_attach(d, c);
}

void
watch_policy_client(const struct mrd_client *c, struct policy_client *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->pid = c->pid;
	pc->oom_score_adj = c->oom_score_adj;
	pc->has_stats = c->has_stats;
	pc->idle_bytes = c->stats.idle_bytes;
	pc->retained_bytes = c->stats.retained_bytes;
	pc->in_use_bytes = c->stats.in_use_bytes;
	pc->lazy_freed_bytes = c->stats.lazy_freed_bytes;
	pc->proc_rss_bytes = c->proc_rss_bytes;
	pc->pending_bytes = c->pending_bytes;
	pc->limit_sent = c->features & MR_FEAT_LIMIT ? c->limit_sent : 0;
}

/* Decide for one cgroup and carry the decision out.  Returns the number
 * of TRIMs sent. */
static int
watch_decide(struct mrd *d, struct mrd_cgroup *cg, uint64_t now)
{
	struct policy_client pcs[256];
	struct mrd_client *who[256], *c;
	struct policy_client_out co[256];
	struct policy_in in;
	struct policy_out out;
	int n = 0, i, asked, sent = 0;

	mrc_list_for_each(c, &d->clients, link)
	{
		if (n == 256)
			break;
		if (c->cg != cg || c->kind != MRD_CLIENT_LIB)
			continue;
		/* the daemon's own view of its size bounds the report */
		if (cgfs_proc_rss(&d->fs, c->pid, &c->proc_rss_bytes) < 0)
			c->proc_rss_bytes = 0;
		watch_policy_client(c, &pcs[n]);
		who[n++] = c;
	}
	memset(&in, 0, sizeof(in));
	in.cfg = conf_match(&d->conf, cg->g.path);
	in.s = cg->s;
	in.psi_valid = cg->s.has_psi;
	if (!cg->s.has_psi && d->host_psi_ok) {
		in.s.psi = d->host_psi; /* v1 only: the host stands in */
		in.psi_valid = 1;
	}
	in.released_since_action = cg->released_since_action;
	in.prev = cg->st;
	in.clients = pcs;
	in.nclients = n;
	asked = policy_eval(&in, now, &out, co);
	if (asked < 0) {
		log_warnc(asked, "cgroup %s: policy, skipping this round",
			  cg->g.path);
		return 0;
	}
	cg->st = out.next;
	cg->last = out;
	if (asked > 0) {
		cg->released_since_action = 0;
		log_info("cgroup %s: shed %llu bytes (%s, stall %.2f%%, "
			 "working set %llu, limit %lld, headroom %llu)",
			 cg->g.path, (unsigned long long)out.shed_bytes,
			 out.reason == POLICY_NEAR_OOM ? "near OOM"
			 : out.reason == POLICY_LIMIT  ? "near limit"
						       : "pressure",
			 out.stall_pct,
			 (unsigned long long)out.working_set_bytes,
			 cg->s.limit_bytes == CGFS_NO_LIMIT
			     ? -1LL
			     : (long long)cg->s.limit_bytes,
			 (unsigned long long)out.headroom_bytes);
	}
	/* sending may drop a client: act through the saved pointers, and
	 * check each is still there */
	for (i = 0; i < n; i++) {
		c = who[i];
		if (transport_find_fd(d, c->fd) != c)
			continue;
		if (co[i].trim_bytes > 0) {
			if (transport_send_trim(d, c, co[i].trim_bytes,
						co[i].urgency) < 0)
				continue;
			sent++;
		}
		if (co[i].limit_bytes != POLICY_LIMIT_KEEP &&
		    (c->features & MR_FEAT_LIMIT)) {
			struct mr_proto_limit l = {co[i].limit_bytes};

			if (transport_send(d, c, MR_MSG_LIMIT, &l) < 0)
				continue;
			c->limit_sent = co[i].limit_bytes;
			d->n.limits_sent++;
			log_debug("LIMIT %llu -> pid %d",
				  (unsigned long long)l.limit_bytes,
				  (int)c->pid);
		}
	}
	return sent;
}

/* Sample cg and decide: 0, or -ENOENT when it vanished (then it is
 * forgotten and the caller must not touch it), or -errno. */
static int
watch_round_one(struct mrd *d, struct mrd_cgroup *cg, uint64_t now, int *sent)
{
	int rc;

	*sent = 0;
	rc = cgfs_group_read(&cg->g, &cg->s);
	if (rc == -ENOENT) {
		watch_vanished(d, cg);
		return rc;
	}
	if (rc < 0) {
		log_warnc(rc, "cgroup %s: read, skipping this round",
			  cg->g.path);
		return rc;
	}
	cg->have_sample = 1;
	*sent = watch_decide(d, cg, now);
	if (*sent > 0)
		cg->trim_sent_ns = mrc_now_ns();
	watch_events_arm(d, cg); /* after sending: it may block (RCU) */
	return 0;
}

void
watch_event(struct mrd *d, struct mrd_cgroup *cg, int fd, uint64_t wake_ns,
	    const char *what)
{
	uint64_t now = mrc_now_ns(), cnt;
	char buf[512];
	int sent;

	/* drain first: the kernel signals again on the next change */
	if (fd >= 0 && fd == cg->event_fd) {
		if (cg->event_kind == WATCH_EV_V1_THRESHOLD)
			while (read(fd, &cnt, sizeof(cnt)) == sizeof(cnt))
				;
		else
			(void)pread(fd, buf, sizeof(buf), 0);
	}
	if (cg->last_event_ns != 0 &&
	    now - cg->last_event_ns < WATCH_EVENT_MIN_NS) {
		cg->event_pending = 1;
		return;
	}
	cg->event_pending = 0;
	cg->last_event_ns = now;
	cg->events++;
	log_debug("cgroup %s: %s event", cg->g.path, what);
	if (watch_round_one(d, cg, now, &sent) < 0 || sent == 0)
		return;
	cg->event_trims++;
	cg->event_trim_ns = cg->trim_sent_ns - wake_ns;
	log_info("cgroup %s: %s event -> TRIM sent in %llu us (usage %llu, "
		 "limit %llu)",
		 cg->g.path, what,
		 (unsigned long long)(cg->event_trim_ns / 1000),
		 (unsigned long long)cg->s.usage_bytes,
		 (unsigned long long)cg->s.limit_bytes);
}

int
watch_events_due(struct mrd *d, uint64_t now_ns)
{
	struct mrd_cgroup *cg;
	uint64_t wait = UINT64_MAX;

restart:
	mrc_list_for_each(cg, &d->cgroups, link)
	{
		uint64_t due;

		if (!cg->event_pending)
			continue;
		due = cg->last_event_ns + WATCH_EVENT_MIN_NS;
		if (now_ns >= due) {
			/* may forget cg (vanished): walk again */
			watch_event(d, cg, -1, now_ns, "delayed");
			now_ns = mrc_now_ns();
			goto restart;
		}
		if (due - now_ns < wait)
			wait = due - now_ns;
	}
	return wait == UINT64_MAX ? -1 : (int)((wait + 999999) / 1000000);
}

/* How long a library client may stay without sending STATS. */
static uint64_t
watch_silent_ns(const struct mrd_client *c)
{
	uint64_t ms = 3ull * c->stats_interval_ms;

	if (ms < MRD_SILENT_MIN_MS)
		ms = MRD_SILENT_MIN_MS;
	if (ms > MRD_SILENT_MAX_MS)
		ms = MRD_SILENT_MAX_MS;
	return ms * 1000000ull;
}

void
watch_cycle(struct mrd *d, uint64_t now)
{
	struct mrc_list *l, *lnext;
	struct mrd_client *c, *cnext;
	char path[PATH_MAX + 32];
	int fd;

	d->n.cycles++;
	d->last_cycle_ns = now;
	/* host pressure: shown by memreclaimctl, stands in for v1 cgroups */
	snprintf(path, sizeof(path), "%s/pressure/memory", d->fs.proc_root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	d->host_psi_ok = fd >= 0 && psi_read_fd(fd, &d->host_psi) == 0;
	if (fd >= 0)
		close(fd);
	mrc_list_for_each_safe(c, cnext, &d->clients, link)
	{
		uint64_t dl = (uint64_t)d->conf.trim_deadline_ms * 1000000ull;

		if (c->kind == MRD_CLIENT_NEW &&
		    now - c->connected_ns > MRD_HELLO_TIMEOUT_MS * 1000000ull) {
			transport_drop(d, c, MR_BYE_PROTOCOL,
				       "no frame within "
				       "5 s of connecting");
			continue;
		}
		if (c->kind != MRD_CLIENT_LIB)
			continue;
		if (!transport_peer_alive(d, c)) {
			/* it exited, its socket not read yet: no warning */
			d->n.clients_expired++;
			transport_drop(d, c, MR_BYE_NORMAL,
				       "its process is gone");
			continue;
		}
		if (now - (c->has_stats ? c->stats_ns : c->connected_ns) >
		    watch_silent_ns(c)) {
			d->n.clients_expired++;
			transport_drop(d, c, MR_BYE_PROTOCOL,
				       "no STATS for too long");
			continue;
		}
		profile_check(d, c, now);
		(void)cgfs_oom_score_adj(&d->fs, c->pid, &c->oom_score_adj);
		/* an unanswered TRIM stops blocking the policy after twice
		 * the deadline; it is counted late */
		if (c->pending_bytes && now - c->pending_ns > 2 * dl) {
			c->pending_bytes = 0;
			c->trims_late++;
			d->n.trims_late++;
			log_warnx("client pid %d did not answer TRIM in %u ms",
				  (int)c->pid, 2 * d->conf.trim_deadline_ms);
		}
		if (c->cg == NULL)
			(void)watch_attach(d, c);
	}
	for (l = d->cgroups.next; l != &d->cgroups; l = lnext) {
		struct mrd_cgroup *cg =
		    mrc_list_entry(l, struct mrd_cgroup, link);
		int rc;

		int sent;

		lnext = l->next;
		if (cg->refs <= 0) {
			if (now - cg->idle_ns > WATCH_IDLE_GRACE_NS) {
				log_info("no client left in cgroup %s, not "
					 "watching it",
					 cg->g.path);
				watch_free(d, cg);
			}
			continue;
		}
		if (cg->round == d->n.cycles)
			continue; /* done this round (list restarted) */
		cg->round = d->n.cycles;
		rc = watch_round_one(d, cg, now, &sent);
		if (rc == -ENOENT) {
			/* the list changed under us: start over, skipping
			 * what this round has done */
			lnext = d->cgroups.next;
			continue;
		}
	}
}
