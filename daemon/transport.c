/*
 * transport.c: sockets, accept, frame I/O and closing (see transport.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, d->conf.socket_mode) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	d->sock_gid = getegid();
	if (d->conf.socket_group[0] != '\0') {
		struct group *gr = getgrnam(d->conf.socket_group);

		if (gr == NULL) {
			close(fd);
			unlink(path);
			return -ENOENT;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) < 0) {
			rc = -errno;
			close(fd);
			unlink(path);
			return rc;
		}
		d->sock_gid = gr->gr_gid;
	}
	rc = mrd_epoll_add(d->epfd, fd, EPOLLIN);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	d->listen_fd = fd;
	return 0;
}

void
transport_free(struct mrd *d, struct mrd_client *c)
{
	if (d->hooks != NULL && d->hooks->closing != NULL)
		d->hooks->closing(d, c);
	mrc_list_del(&c->link);
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	d->nclients--;
	free(c);
}

void
transport_close(struct mrd *d)
{
	while (!mrc_list_empty(&d->clients))
		transport_drop(
		    d, mrc_list_entry(d->clients.next, struct mrd_client, link),
		    MR_BYE_SHUTDOWN, "daemon exiting");
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->conf.socket);
		d->listen_fd = -1;
	}
}

static int
transport_send_raw(struct mrd_client *c, uint16_t type, const void *payload)
{
	unsigned char buf[MR_PROTO_MAX_FRAME];
	int n;

	n = mrc_proto_encode(buf, sizeof(buf), type, ++c->seq_out, payload);
	if (n < 0)
		return n;
	/* never block on a peer: a full socket means it stopped reading */
	if (send(c->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

void
transport_drop(struct mrd *d, struct mrd_client *c, uint32_t reason,
	       const char *why)
{
	struct mr_proto_bye bye = {reason, 0};

	(void)transport_send_raw(c, MR_MSG_BYE, &bye);
	if (reason != MR_BYE_NORMAL && reason != MR_BYE_SHUTDOWN) {
		d->n.clients_dropped++;
		log_warnx("client pid %d uid %u dropped: %s", (int)c->pid,
			  (unsigned)c->uid, why);
	} else {
		log_debug("client pid %d closed: %s", (int)c->pid, why);
	}
	transport_free(d, c);
}

int
transport_send(struct mrd *d, struct mrd_client *c, uint16_t type,
	       const void *payload)
{
	int rc = transport_send_raw(c, type, payload);

	if (rc < 0) {
		char why[96];

		snprintf(why, sizeof(why), "send: %s%s", strerror(-rc),
			 rc == -EAGAIN ? " (not reading)" : "");
		transport_drop(
		    d, c, rc == -EAGAIN ? MR_BYE_LIMIT : MR_BYE_NORMAL, why);
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

void
transport_accept(struct mrd *d)
{
	for (;;) {
		struct mrd_client *c;
		struct ucred cr;
		socklen_t crlen = sizeof(cr);
		int fd;

		fd = accept4(d->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
			log_warn("SO_PEERCRED");
			close(fd);
			continue;
		}
		if ((uint32_t)d->nclients >= d->conf.max_clients) {
			struct mr_proto_bye bye = {MR_BYE_LIMIT, 0};
			unsigned char buf[64];
			int n = mrc_proto_encode_bye(buf, sizeof(buf), 1, &bye);

			(void)send(fd, buf, (size_t)n,
				   MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			d->n.clients_refused++;
			log_warnx("client pid %d refused: max_clients (%u) "
				  "reached",
				  (int)cr.pid, d->conf.max_clients);
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
		c->tokens = d->conf.max_frame_rate;
		c->prof_fd = -1;
		c->tokens_ns = c->connected_ns = mrc_now_ns();
		if (mrd_epoll_add(d->epfd, fd, EPOLLIN) < 0) {
			log_warn("epoll_ctl");
			close(fd);
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
		if (d->hooks->frame(d, c, &m) < 0)
			return;
	}
}
