/*
 * transport.c: sockets, accept, frame I/O and closing (see transport.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "common/clock.h"
#include "common/protocol.h"

#include "transport.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Log at most one line per MRD_WARN_INTERVAL_MS for rl, adding how many
 * were held back since the last one. */
static void __attribute__((format(printf, 3, 4)))
transport_warn_rl(struct mrd_ratelimit *rl, uint64_t now, const char *fmt,
		  ...)
{
	char msg[256];
	va_list ap;

	if (rl->last_ns != 0 &&
	    now - rl->last_ns < MRD_WARN_INTERVAL_MS * 1000000ull) {
		rl->suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rl->suppressed)
		log_warnx("%s (and %llu more like it in the last %d s)", msg,
			  (unsigned long long)rl->suppressed,
			  MRD_WARN_INTERVAL_MS / 1000);
	else
		log_warnx("%s", msg);
	rl->last_ns = now;
	rl->suppressed = 0;
}

struct mrd_client *
transport_find_fd(struct mrd *d, int fd)
{
	struct mrd_client *c;

	mrc_list_for_each(c, &d->clients, link) if (c->fd == fd) return c;
	return NULL;
}

/* mkdir -p of the socket's directory (systemd's RuntimeDirectory= usually
 * made it already). */
static int
transport_mkdirs(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], *s;

	snprintf(dir, sizeof(dir), "%s", path);
	s = strrchr(dir, '/');
	if (s == NULL || s == dir)
		return 0;
	*s = '\0';
	for (s = dir + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The socket's directory must be one only root (or we) can change: in a
 * directory others may write, the path could be swapped for a symlink
 * between bind and chown, or the socket replaced by another.  A sticky
 * directory (/tmp) is safe: others cannot remove what we create. */
static int
transport_dir_safe(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], *s;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	s = strrchr(dir, '/');
	if (s == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (s == dir)
		s[1] = '\0';
	else
		*s = '\0';
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return -EPERM;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return -EPERM;
	return 0;
}

/* A group named in the config (socket_group, client_group): *have stays 0
 * for "", else its gid.  0 or -ENOENT. */
static int
transport_group(const char *name, int *have, gid_t *gid)
{
	struct group *gr;

	*have = 0;
	if (name[0] == '\0')
		return 0;
	gr = getgrnam(name);
	if (gr == NULL)
		return -ENOENT;
	*have = 1;
	*gid = gr->gr_gid;
	return 0;
}

int
transport_listen(struct mrd *d)
{
	struct sockaddr_un sa;
	const char *path = d->conf.socket;
	int fd, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	rc = transport_mkdirs(path);
	if (rc < 0)
		return rc;
	rc = transport_dir_safe(path);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a socket file left by a dead daemon is removed; a live one is not */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (errno == ECONNREFUSED)
		unlink(path);
	close(fd);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* the mode comes from the umask at bind: a chmod(path) after it
	 * would follow whatever the path is by then */
	{
		mode_t old = umask(~d->conf.socket_mode & 0777);

		rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
	}
	if (rc < 0 || listen(fd, 128) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = transport_group(d->conf.client_group, &d->have_client_gid,
			     &d->client_gid);
	if (rc == 0)
		rc = transport_group(d->conf.socket_group, &d->have_sock_gid,
				     &d->sock_gid);
	if (rc == 0 && d->have_sock_gid &&
	    fchownat(AT_FDCWD, path, (uid_t)-1, d->sock_gid,
		     AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		unlink(path);
		return rc;
	}
	rc = mrd_epoll_add(d->epfd, fd, EPOLLIN);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	d->listen_fd = fd;
	return 0;
}

/* Close a peer's socket after its BYE.  A unix socket closed with frames
 * still unread resets the connection: the peer's next recv fails with
 * ECONNRESET and the BYE queued before it is never read, so a library
 * refused at HELLO (its STATS sent with it) could not tell why.  Read and
 * drop what is pending first, a bounded number of frames: a peer that
 * keeps sending only gets the reset. */
#define TRANSPORT_DRAIN_FRAMES 16
static void
transport_close_fd(int fd)
{
	char buf[64];
	int i;

	for (i = 0; i < TRANSPORT_DRAIN_FRAMES; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) <= 0)
			break;
	close(fd);
}

/* Closing and freeing are two steps: the connection is closed at once and
 * the struct moved to d->dead, freed by transport_reap once the event
 * loop iteration is over.  Code that still holds c after a call that may
 * drop it (a failed send deep in a control reply) reads c->dead, never
 * freed memory. */
void
transport_free(struct mrd *d, struct mrd_client *c)
{
	if (c->dead)
		return;
	if (d->hooks != NULL && d->hooks->closing != NULL)
		d->hooks->closing(d, c);
	mrc_list_del(&c->link);
	mrc_list_add(&d->dead, &c->link);
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	transport_close_fd(c->fd);
	if (c->have_pidfd)
		close(c->pidfd);
	c->have_pidfd = 0;
	c->fd = -1;
	c->dead = 1;
	d->nclients--;
}

void
transport_reap(struct mrd *d)
{
	while (!mrc_list_empty(&d->dead)) {
		struct mrd_client *c =
		    mrc_list_entry(d->dead.next, struct mrd_client, link);

		mrc_list_del(&c->link);
		free(c->outq);
		free(c);
	}
}

void
transport_close(struct mrd *d)
{
	while (!mrc_list_empty(&d->clients))
		transport_drop(
		    d, mrc_list_entry(d->clients.next, struct mrd_client, link),
		    MR_BYE_SHUTDOWN, "daemon exiting");
	transport_reap(d);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->conf.socket);
		d->listen_fd = -1;
	}
}

static void
transport_want_out(struct mrd *d, struct mrd_client *c, int on)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.fd = c->fd;
	(void)epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Keep a frame the socket had no room for; it goes out on EPOLLOUT.  A
 * control connection may queue a whole listing (MRD_CTL_QUEUE_MAX), a
 * library client a few frames: past that it is not reading (-ENOBUFS). */
static int
transport_queue(struct mrd *d, struct mrd_client *c, const void *buf,
		size_t n)
{
	size_t max = c->kind == MRD_CLIENT_CTL ? MRD_CTL_QUEUE_MAX
					       : MRD_LIB_QUEUE_MAX;
	uint16_t len = (uint16_t)n;

	if (c->outq_len + sizeof(len) + n > max)
		return -ENOBUFS;
	if (c->outq_len + sizeof(len) + n > c->outq_cap) {
		size_t cap = c->outq_cap ? c->outq_cap : 4096;
		unsigned char *q;

		while (cap < c->outq_len + sizeof(len) + n)
			cap *= 2;
		q = realloc(c->outq, cap);
		if (q == NULL)
			return -ENOMEM;
		c->outq = q;
		c->outq_cap = cap;
	}
	if (c->outq_len == 0)
		transport_want_out(d, c, 1);
	memcpy(c->outq + c->outq_len, &len, sizeof(len));
	memcpy(c->outq + c->outq_len + sizeof(len), buf, n);
	c->outq_len += sizeof(len) + n;
	return 0;
}

static int
transport_send_raw(struct mrd *d, struct mrd_client *c, uint16_t type,
		   const void *payload)
{
	unsigned char buf[MR_PROTO_MAX_FRAME];
	int n;

	if (c->dead)
		return -EPIPE;
	n = mrc_proto_encode(buf, sizeof(buf), type, ++c->seq_out, payload);
	if (n < 0)
		return n;
	/* never block on a peer: what the socket cannot take now waits in
	 * the queue, behind anything already there (frames keep order) */
	if (c->outq_len == 0) {
		if (send(c->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) ==
		    n)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
	}
	if (d == NULL)
		return -EAGAIN;
	return transport_queue(d, c, buf, (size_t)n);
}

void
transport_output(struct mrd *d, struct mrd_client *c)
{
	size_t off = 0;

	while (off < c->outq_len) {
		uint16_t len;
		ssize_t n;

		memcpy(&len, c->outq + off, sizeof(len));
		n = send(c->fd, c->outq + off + sizeof(len), len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			c->outq_len = 0;
			transport_drop(d, c, MR_BYE_NORMAL, strerror(errno));
			return;
		}
		off += sizeof(len) + len;
	}
	memmove(c->outq, c->outq + off, c->outq_len - off);
	c->outq_len -= off;
	if (c->outq_len == 0) {
		transport_want_out(d, c, 0);
		if (c->outq_cap > 65536) {
			free(c->outq);
			c->outq = NULL;
			c->outq_cap = 0;
		}
	}
}

void
transport_drop(struct mrd *d, struct mrd_client *c, uint32_t reason,
	       const char *why)
{
	struct mr_proto_bye bye = {reason, 0};

	if (c->dead)
		return;
	/* best effort, and not queued: the connection closes now */
	if (c->outq_len == 0)
		(void)transport_send_raw(NULL, c, MR_MSG_BYE, &bye);
	if (reason != MR_BYE_NORMAL && reason != MR_BYE_SHUTDOWN) {
		d->n.clients_dropped++;
		transport_warn_rl(&d->rl_dropped, mrc_now_ns(),
				  "client pid %d uid %u dropped: %s",
				  (int)c->pid, (unsigned)c->uid, why);
	} else {
		log_debug("client pid %d closed: %s", (int)c->pid, why);
	}
	transport_free(d, c);
}

int
transport_send(struct mrd *d, struct mrd_client *c, uint16_t type,
	       const void *payload)
{
	int rc = transport_send_raw(d, c, type, payload);

	if (rc < 0 && !c->dead) {
		char why[96];

		snprintf(why, sizeof(why), "send: %s%s",
			 rc == -ENOBUFS ? "queue full" : strerror(-rc),
			 rc == -ENOBUFS ? " (not reading)" : "");
		transport_drop(
		    d, c, rc == -ENOBUFS ? MR_BYE_LIMIT : MR_BYE_NORMAL, why);
	}
	return rc;
}

int
transport_send_trim(struct mrd *d, struct mrd_client *c, uint64_t bytes,
		    uint32_t urgency)
{
	struct mr_proto_trim t = {bytes, urgency, d->conf.trim_deadline_ms};
	int rc;

	rc = transport_send(d, c, MR_MSG_TRIM, &t);
	if (rc < 0)
		return rc;
	c->pending_bytes = bytes;
	c->pending_seq = c->seq_out;
	c->pending_ns = mrc_now_ns();
	c->trims++;
	c->last_trim_bytes = bytes;
	c->last_trim_released = 0;
	c->last_trim_ns = c->pending_ns;
	d->n.trims_sent++;
	d->n.trim_bytes_requested += bytes;
	if (c->cg) {
		c->cg->trims++;
		c->cg->trim_bytes += bytes;
	}
	log_info("TRIM %llu bytes %s -> pid %d (cgroup %s, oom_score_adj %d)",
		 (unsigned long long)bytes,
		 urgency == MR_PROTO_URGENCY_NOW ? "now" : "lazy", (int)c->pid,
		 c->mem_path[0] ? c->mem_path : "?", c->oom_score_adj);
	return 0;
}

/* Is gid the peer's primary group or one of its supplementary ones? */
static int
transport_in_group(gid_t gid, gid_t pgid, const gid_t *groups, int ngroups)
{
	int i;

	if (gid == pgid)
		return 1;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* Who the peer is, beyond SO_PEERCRED: its supplementary groups
 * (SO_PEERGROUPS) decide control and registration rights; its pidfd
 * (SO_PEERPIDFD, Linux 6.5) or else its start time pins the process, so
 * that a pid reused later is never taken for it. */
static void
transport_identify(struct mrd *d, struct mrd_client *c)
{
	gid_t small[64], *groups = small;
	socklen_t glen = sizeof(small);
	int ngroups = 0, pidfd;
	socklen_t plen = sizeof(pidfd);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) < 0) {
		groups = NULL;
		if (errno == ERANGE && glen > 0)
			groups = malloc(glen);
		if (groups != NULL &&
		    getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups,
			       &glen) < 0)
			glen = 0;
		if (groups == NULL)
			glen = 0;
	}
	ngroups = (int)(glen / sizeof(gid_t));
	/* never egid 0 alone: a root group in a container is no operator */
	c->ctl_ok = c->uid == 0 || c->uid == geteuid() ||
		    (d->have_sock_gid && transport_in_group(d->sock_gid, c->gid,
							      groups, ngroups));
	c->reg_ok = !d->have_client_gid || c->ctl_ok ||
		    transport_in_group(d->client_gid, c->gid, groups, ngroups);
	if (groups != small)
		free(groups);
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen) == 0 &&
	    pidfd >= 0) {
		c->have_pidfd = 1;
		c->pidfd = pidfd;
	}
	if (cgfs_pid_start_time(&d->fs, c->pid, &c->start_time) < 0)
		c->start_time = 0;
}

int
transport_peer_alive(struct mrd *d, struct mrd_client *c)
{
	uint64_t t;

	if (c->have_pidfd) {
		struct pollfd p = {c->pidfd, POLLIN, 0};

		/* a pidfd becomes readable when its process exits */
		return poll(&p, 1, 0) == 0;
	}
	if (c->start_time == 0)
		return 1; /* unknown: nothing to compare */
	return cgfs_pid_start_time(&d->fs, c->pid, &t) == 0 &&
	       t == c->start_time;
}

static int
transport_uid_count(struct mrd *d, uid_t uid)
{
	struct mrd_client *c;
	int n = 0;

	mrc_list_for_each(c, &d->clients, link) n += c->uid == uid;
	return n;
}

static const char *const transport_refusal[MRD_REFUSE_N] = {
    [MRD_REFUSE_MAX_CLIENTS] = "max_clients reached",
    [MRD_REFUSE_PER_UID] = "max_clients_per_uid reached",
    [MRD_REFUSE_GROUP] = "not a member of client_group",
    [MRD_REFUSE_VERSION] = "protocol version refused",
    [MRD_REFUSE_CREDENTIALS] = "SO_PEERCRED failed: peer unknown",
};

/* Count and log (at most one line per MRD_WARN_INTERVAL_MS) a refusal. */
static void
transport_count_refusal(struct mrd *d, pid_t pid, uid_t uid, int why)
{
	d->n.clients_refused[why]++;
	transport_warn_rl(&d->rl_refused[why], mrc_now_ns(),
			  "client pid %d uid %u refused: %s", (int)pid,
			  (unsigned)uid, transport_refusal[why]);
}

static void
transport_refuse(struct mrd *d, int fd, const struct ucred *cr, int why)
{
	struct mr_proto_bye bye = {MR_BYE_LIMIT, 0};
	unsigned char buf[64];
	int n = mrc_proto_encode_bye(buf, sizeof(buf), 1, &bye);

	(void)send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	transport_close_fd(fd);
	transport_count_refusal(d, cr->pid, cr->uid, why);
}

void
transport_refuse_client(struct mrd *d, struct mrd_client *c, int why,
			uint32_t bye_reason)
{
	struct mr_proto_bye bye = {bye_reason, 0};

	if (c->dead)
		return;
	if (c->outq_len == 0)
		(void)transport_send_raw(NULL, c, MR_MSG_BYE, &bye);
	transport_count_refusal(d, c->pid, c->uid, why);
	transport_free(d, c);
}

/* Out of descriptors (or memory): the pending connection stays in the
 * backlog and the listening socket, level-triggered, would wake us at
 * once, forever.  Take it out of epoll for a while instead. */
static void
transport_pause_accept(struct mrd *d, int err)
{
	uint64_t now = mrc_now_ns();

	epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->listen_fd, NULL);
	d->accept_paused_until = now + MRD_ACCEPT_PAUSE_MS * 1000000ull;
	d->n.accept_pauses++;
	transport_warn_rl(&d->rl_accept, now,
			  "accept: %s, not accepting for %d ms", strerror(err),
			  MRD_ACCEPT_PAUSE_MS);
}

int
transport_accept_due(struct mrd *d, uint64_t now)
{
	if (d->accept_paused_until == 0)
		return -1;
	if (now < d->accept_paused_until)
		return (int)((d->accept_paused_until - now) / 1000000) + 1;
	d->accept_paused_until = 0;
	if (mrd_epoll_add(d->epfd, d->listen_fd, EPOLLIN) < 0)
		log_warn("epoll_ctl: listening socket");
	return -1;
}

void
transport_accept(struct mrd *d)
{
	int i;

	/* bounded, so a connect flood cannot starve the clients */
	for (i = 0; i < 256; i++) {
		struct mrd_client *c;
		struct ucred cr;
		socklen_t crlen = sizeof(cr);
		uint32_t max = d->conf.max_clients;
		int fd, err;

		fd = accept4(d->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			err = errno;
			if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
			    err == ENOMEM)
				transport_pause_accept(d, err);
			else if (err != EAGAIN && err != EINTR &&
				 err != ECONNABORTED)
				log_warn("accept");
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
			/* nothing to decide rights on: refused, uid "-1" */
			memset(&cr, 0, sizeof(cr));
			cr.uid = (uid_t)-1;
			transport_refuse(d, fd, &cr, MRD_REFUSE_CREDENTIALS);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			log_warn("accept: client pid %d", (int)cr.pid);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->pid = cr.pid;
		c->uid = cr.uid;
		c->gid = cr.gid;
		transport_identify(d, c);
		/* operators get MRD_OPERATOR_SLOTS past max_clients; users
		 * other than root at most max_clients_per_uid each */
		if ((uint32_t)d->nclients >=
		    max + (c->ctl_ok ? MRD_OPERATOR_SLOTS : 0)) {
			transport_refuse(d, fd, &cr, MRD_REFUSE_MAX_CLIENTS);
			if (c->have_pidfd)
				close(c->pidfd);
			free(c);
			continue;
		}
		if (cr.uid != 0 && (uint32_t)transport_uid_count(d, cr.uid) >=
				       d->conf.max_clients_per_uid) {
			transport_refuse(d, fd, &cr, MRD_REFUSE_PER_UID);
			if (c->have_pidfd)
				close(c->pidfd);
			free(c);
			continue;
		}
		c->tokens = d->conf.max_frame_rate;
		c->prof_fd = -1;
		c->tokens_ns = c->connected_ns = mrc_now_ns();
		if (mrd_epoll_add(d->epfd, fd, EPOLLIN) < 0) {
			log_warn("epoll_ctl");
			close(fd);
			if (c->have_pidfd)
				close(c->pidfd);
			free(c);
			continue;
		}
		mrc_list_add(&d->clients, &c->link);
		d->nclients++;
		d->n.clients_accepted++;
		log_debug("connection from pid %d uid %u", (int)c->pid,
			  (unsigned)c->uid);
	}
}

/* Token bucket: max_frame_rate frames per second, bursts of as many. */
static int
transport_rate_ok(struct mrd *d, struct mrd_client *c, uint64_t now)
{
	double rate = d->conf.max_frame_rate;

	c->tokens += (double)(now - c->tokens_ns) * rate / 1e9;
	c->tokens_ns = now;
	if (c->tokens > rate)
		c->tokens = rate;
	if (c->tokens < 1.0)
		return 0;
	c->tokens -= 1.0;
	return 1;
}

void
transport_input(struct mrd *d, struct mrd_client *c)
{
	/* one byte more than any valid frame, to see oversized ones */
	unsigned char buf[MR_PROTO_MAX_FRAME + 1];
	struct mr_proto_msg m;
	int i;

	/* bounded work per wakeup, so one client cannot starve the rest */
	for (i = 0; i < 64; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		int rc;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			transport_drop(d, c, MR_BYE_NORMAL, strerror(errno));
			return;
		}
		if (n == 0) {
			log_debug("client pid %d disconnected", (int)c->pid);
			transport_free(d, c);
			return;
		}
		d->n.frames_received++;
		/* a profile asked for streams faster: profile.c bounds it */
		if (!mrd_prof_frame_expected(c, buf, (size_t)n) &&
		    !transport_rate_ok(d, c, mrc_now_ns())) {
			d->n.frames_rejected++;
			transport_drop(d, c, MR_BYE_LIMIT,
				       "frame rate over "
				       "max_frame_rate");
			return;
		}
		rc = mrc_proto_decode(buf, (size_t)n, &m);
		if (rc < 0) {
			char why[96];

			d->n.frames_rejected++;
			if (rc == -EPROTO && c->kind == MRD_CLIENT_NEW &&
			    n >= (ssize_t)sizeof(struct mr_proto_hdr) &&
			    m.hdr.magic == MR_PROTO_MAGIC &&
			    m.hdr.version != MR_PROTO_VERSION) {
				/* a library of another release: refused, not
				 * misbehaving */
				transport_refuse_client(d, c,
							MRD_REFUSE_VERSION,
							MR_BYE_VERSION);
				return;
			}
			snprintf(why, sizeof(why),
				 "malformed frame (%zd bytes): "
				 "%s",
				 n, strerror(-rc));
			transport_drop(
			    d, c,
			    rc == -EPROTO &&
				    n >= (ssize_t)sizeof(struct mr_proto_hdr) &&
				    m.hdr.magic == MR_PROTO_MAGIC &&
				    m.hdr.version != MR_PROTO_VERSION
				? MR_BYE_VERSION
				: MR_BYE_PROTOCOL,
			    why);
			return;
		}
		if (d->hooks == NULL || d->hooks->frame == NULL) {
			transport_drop(d, c, MR_BYE_PROTOCOL, "not served");
			return;
		}
		if (d->hooks->frame(d, c, &m) < 0 || c->dead)
			return;
	}
}
