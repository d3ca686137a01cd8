/*
 * metrics.c: Prometheus text exposition over a tiny HTTP/1.0 server.
 *
 * Owns the metric names (memreclaim_<subsystem>_<name>_<unit>[_total])
 * and the HTTP endpoint, by default on 127.0.0.1:9464.  The server runs
 * inside the daemon's epoll loop: each connection is read until the end
 * of the request head, answered (GET /metrics, else 404), and closed.  At
 * most METRICS_MAX_CONN connections at once, each with a 4 KiB request
 * limit; a slow or silent one is closed by the next accept past the limit.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"

#include "log.h"
#include "metrics.h"

#define METRICS_MAX_CONN 8
#define METRICS_REQ_MAX 4096

struct metrics_conn {
	int fd; /* -1: free slot */
	uint64_t start_ns;
	size_t len;
	char req[METRICS_REQ_MAX];
	char *out; /* answering: head and body, malloc'ed */
	size_t out_len, out_off;
};

static int metrics_fd = -1;
static struct metrics_conn metrics_conns[METRICS_MAX_CONN];

int
metrics_start(struct mrd *d)
{
	struct addrinfo hints, *ai = NULL;
	char host[64], *port;
	int fd, rc, one = 1, i;

	for (i = 0; i < METRICS_MAX_CONN; i++)
		metrics_conns[i].fd = -1;
	if (d->conf.metrics[0] == '\0')
		return 0;
	snprintf(host, sizeof(host), "%s", d->conf.metrics);
	port = strrchr(host, ':');
	if (port == NULL)
		return -EINVAL;
	*port++ = '\0';
	if (host[0] == '[' && port[-2] == ']') { /* [::1]:9464 */
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		rc = -errno;
		freeaddrinfo(ai);
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		freeaddrinfo(ai);
		close(fd);
		return rc;
	}
	freeaddrinfo(ai);
	rc = mrd_epoll_add(d->epfd, fd, EPOLLIN);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	metrics_fd = fd;
	return 0;
}

static void
metrics_conn_close(struct mrd *d, struct metrics_conn *mc)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, mc->fd, NULL);
	close(mc->fd);
	mc->fd = -1;
	free(mc->out);
	mc->out = NULL;
	mc->out_len = mc->out_off = 0;
}

void
metrics_stop(void)
{
	int i;

	for (i = 0; i < METRICS_MAX_CONN; i++)
		if (metrics_conns[i].fd >= 0) {
			close(metrics_conns[i].fd);
			metrics_conns[i].fd = -1;
			free(metrics_conns[i].out);
			metrics_conns[i].out = NULL;
		}
	if (metrics_fd >= 0)
		close(metrics_fd);
	metrics_fd = -1;
}

struct metrics_buf {
	char *p;
	size_t len, off; /* allocated, used */
	int err;	 /* out of memory: the page is not sent */
};

static void __attribute__((format(printf, 2, 3)))
mb_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		size_t room = b->len - b->off;
		char *p;

		va_start(ap, fmt);
		n = vsnprintf(b->p + b->off, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = 1;
			return;
		}
		if ((size_t)n < room) {
			b->off += (size_t)n;
			return;
		}
		/* too small: grow (doubling) and print the line again */
		p = realloc(b->p, b->len * 2 + (size_t)n + 1);
		if (p == NULL) {
			b->err = 1;
			return;
		}
		b->p = p;
		b->len = b->len * 2 + (size_t)n + 1;
	}
}

static void
mb_head(struct metrics_buf *b, const char *name, const char *type,
	const char *help)
{
	mb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values: cgroup paths may hold '"' or '\\' in theory. */
static void
mb_label(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 2 < len; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		if (*s == '\n') {
			out[o++] = ' ';
			continue;
		}
		out[o++] = *s;
	}
	out[o] = '\0';
}

int
metrics_render(const struct mrd *d, char **out, size_t *outlen,
	       size_t reserve)
{
	struct metrics_buf b = {NULL, 65536, reserve, 0};
	const struct mrd_client *c;
	const struct mrd_cgroup *cg;
	char lab[CGFS_PATH_MAX * 2];
	int nlib = 0;

	b.p = malloc(b.len);
	if (b.p == NULL)
		return -ENOMEM;
#define COUNTER(name, help, value)                                             \
	do {                                                                   \
		mb_head(&b, name, "counter", help);                            \
		mb_printf(&b, "%s %llu\n", name, (unsigned long long)(value)); \
	} while (0)
	mrc_list_for_each(c, &d->clients, link) nlib +=
	    c->kind == MRD_CLIENT_LIB;
	mb_head(&b, "memreclaim_server_clients", "gauge",
		"Registered library clients.");
	mb_printf(&b, "memreclaim_server_clients %d\n", nlib);
	mb_head(&b, "memreclaim_watch_cgroups", "gauge",
		"Cgroups being watched.");
	mb_printf(&b, "memreclaim_watch_cgroups %d\n", d->ncgroups);
	COUNTER("memreclaim_server_clients_accepted_total",
		"Connections accepted.", d->n.clients_accepted);
	COUNTER("memreclaim_server_clients_dropped_total",
		"Clients disconnected for malformed or abusive traffic.",
		d->n.clients_dropped);
	COUNTER("memreclaim_server_clients_refused_total",
		"Connections refused over max_clients or max_clients_per_uid.",
		d->n.clients_refused);
	COUNTER("memreclaim_server_clients_expired_total",
		"Clients dropped because their process was gone or they "
		"stopped sending STATS.",
		d->n.clients_expired);
	COUNTER("memreclaim_server_accept_pauses_total",
		"Times accepting paused for lack of descriptors or memory.",
		d->n.accept_pauses);
	COUNTER("memreclaim_server_frames_total", "Frames received.",
		d->n.frames_received);
	COUNTER("memreclaim_server_frames_rejected_total",
		"Frames rejected (malformed, out of order, over the rate).",
		d->n.frames_rejected);
	COUNTER("memreclaim_trim_requests_total", "TRIM frames sent.",
		d->n.trims_sent);
	COUNTER("memreclaim_trim_requested_bytes_total",
		"Bytes asked for by TRIM frames.", d->n.trim_bytes_requested);
	COUNTER("memreclaim_trim_released_bytes_total",
		"Bytes clients reported released in TRIM_DONE.",
		d->n.trim_bytes_released);
	COUNTER("memreclaim_trim_late_total",
		"TRIMs answered after trim_deadline_ms, or never.",
		d->n.trims_late);
	COUNTER("memreclaim_limit_updates_total", "LIMIT frames sent.",
		d->n.limits_sent);
	COUNTER("memreclaim_config_reloads_total", "Config reloads tried.",
		d->n.config_reloads);
	COUNTER("memreclaim_config_errors_total",
		"Reloads refused because of errors (old config kept).",
		d->n.config_errors);
	COUNTER("memreclaim_watch_cgroups_vanished_total",
		"Watched cgroups that disappeared.", d->n.cgroups_vanished);
	COUNTER("memreclaim_loop_cycles_total", "Sample-decide-act rounds run.",
		d->n.cycles);
	/* families are always described; samples only when there are any */
	mb_head(&b, "memreclaim_host_pressure_some_ratio", "gauge",
		"Host memory PSI some avg10, as a fraction.");
	if (d->host_psi_ok)
		mb_printf(&b, "memreclaim_host_pressure_some_ratio %.4f\n",
			  d->host_psi.some.avg10 / 100.0);
	mb_head(&b, "memreclaim_host_pressure_full_ratio", "gauge",
		"Host memory PSI full avg10, as a fraction.");
	if (d->host_psi_ok)
		mb_printf(&b, "memreclaim_host_pressure_full_ratio %.4f\n",
			  d->host_psi.full.avg10 / 100.0);

#define CG_GAUGE(name, type, help, fmt, expr)                                  \
	do {                                                                   \
		mb_head(&b, name, type, help);                                 \
		mrc_list_for_each(cg, &d->cgroups, link)                       \
		{                                                              \
			if (!cg->have_sample)                                  \
				continue;                                      \
			mb_label(lab, sizeof(lab), cg->g.path);                \
			mb_printf(&b, "%s{cgroup=\"%s\"} " fmt "\n", name,     \
				  lab, expr);                                  \
		}                                                              \
	} while (0)
	CG_GAUGE("memreclaim_cgroup_usage_bytes", "gauge",
		 "Memory charged to the cgroup.", "%llu",
		 (unsigned long long)cg->s.usage_bytes);
	CG_GAUGE("memreclaim_cgroup_limit_bytes", "gauge",
		 "Effective memory limit (-1: none).", "%lld",
		 cg->s.limit_bytes == CGFS_NO_LIMIT
		     ? -1LL
		     : (long long)cg->s.limit_bytes);
	CG_GAUGE("memreclaim_cgroup_headroom_bytes", "gauge",
		 "Headroom kept free below the limit.", "%llu",
		 (unsigned long long)cg->last.headroom_bytes);
	CG_GAUGE("memreclaim_cgroup_working_set_bytes", "gauge",
		 "Usage minus inactive page cache.", "%llu",
		 (unsigned long long)cg->last.working_set_bytes);
	CG_GAUGE("memreclaim_cgroup_pressure_some_ratio", "gauge",
		 "Memory PSI some avg10 of the cgroup, as a fraction.", "%.4f",
		 cg->s.psi.some.avg10 / 100.0);
	CG_GAUGE("memreclaim_cgroup_pressure_full_ratio", "gauge",
		 "Memory PSI full avg10 of the cgroup, as a fraction.", "%.4f",
		 cg->s.psi.full.avg10 / 100.0);
	CG_GAUGE("memreclaim_cgroup_pressure_some_stall_seconds_total",
		 "counter", "Cumulative memory stall (some) of the cgroup.",
		 "%.6f", (double)cg->s.psi.some.total_us / 1e6);
	CG_GAUGE("memreclaim_cgroup_trim_requested_bytes_total", "counter",
		 "Bytes asked of the cgroup's clients.", "%llu",
		 (unsigned long long)cg->trim_bytes);
	CG_GAUGE("memreclaim_cgroup_trim_released_bytes_total", "counter",
		 "Bytes the cgroup's clients released.", "%llu",
		 (unsigned long long)cg->released_bytes);
	CG_GAUGE("memreclaim_cgroup_events_total", "counter",
		 "Usage events (v1 thresholds, v2 memory.events, PSI "
		 "triggers) that woke the daemon for the cgroup.",
		 "%llu", (unsigned long long)cg->events);
	CG_GAUGE("memreclaim_cgroup_event_trim_seconds", "gauge",
		 "Event wake-up to TRIM sent, the last time an event led to "
		 "a TRIM.",
		 "%.6f", (double)cg->event_trim_ns / 1e9);

#define CL_GAUGE(name, help, field)                                            \
	do {                                                                   \
		mb_head(&b, name, "gauge", help);                              \
		mrc_list_for_each(c, &d->clients, link)                        \
		{                                                              \
			if (c->kind != MRD_CLIENT_LIB || !c->has_stats)        \
				continue;                                      \
			mb_label(lab, sizeof(lab), c->mem_path);               \
			mb_printf(&b, "%s{pid=\"%d\",cgroup=\"%s\"} %llu\n",   \
				  name, (int)c->pid, lab,                      \
				  (unsigned long long)c->stats.field);         \
		}                                                              \
	} while (0)
	CL_GAUGE("memreclaim_client_rss_bytes", "Client RSS.", rss_bytes);
	CL_GAUGE("memreclaim_client_retained_bytes",
		 "Bytes the client's allocator holds.", retained_bytes);
	CL_GAUGE("memreclaim_client_idle_bytes",
		 "Free bytes still backed: what a trim can take.", idle_bytes);
	CL_GAUGE("memreclaim_client_allocated_bytes",
		 "Bytes the program holds.", allocated_bytes);
	CL_GAUGE("memreclaim_client_lazy_freed_bytes",
		 "Bytes lazily freed (MADV_FREE): the kernel takes them on "
		 "demand.",
		 lazy_freed_bytes);
	if (b.err) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*outlen = b.off;
	return 0;
}

/* Send what the socket takes; 1 when all is sent (or it failed). */
static int
metrics_send_some(struct metrics_conn *mc)
{
	while (mc->out_off < mc->out_len) {
		ssize_t n = send(mc->fd, mc->out + mc->out_off,
				 mc->out_len - mc->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return 1;
		mc->out_off += (size_t)n;
	}
	return 1;
}

static void
metrics_answer(struct mrd *d, struct metrics_conn *mc)
{
	static const char notfound[] = "not found: try /metrics\n";
	struct epoll_event ev;
	char head[256];
	size_t blen = 0, total;
	char *page = NULL;
	int hlen, ok, rc = 0;

	ok = strncmp(mc->req, "GET /metrics ", 13) == 0 ||
	     strncmp(mc->req, "GET /metrics?", 13) == 0;
	/* the body is rendered after room for the head, then the head is
	 * written in front of it: one buffer, one send loop */
	if (ok)
		rc = metrics_render(d, &page, &total, sizeof(head));
	if (rc < 0) {
		log_warnc(rc, "metrics page");
		metrics_conn_close(d, mc);
		return;
	}
	if (!ok) {
		page = malloc(sizeof(head) + sizeof(notfound));
		if (page == NULL) {
			metrics_conn_close(d, mc);
			return;
		}
		memcpy(page + sizeof(head), notfound, sizeof(notfound) - 1);
		total = sizeof(head) + sizeof(notfound) - 1;
	}
	blen = total - sizeof(head);
	hlen = snprintf(head, sizeof(head),
			"HTTP/1.0 %s\r\n"
			"Content-Type: text/plain; version=0.0.4\r\n"
			"Content-Length: %zu\r\nConnection: close\r\n\r\n",
			ok ? "200 OK" : "404 Not Found", blen);
	memcpy(page + sizeof(head) - (size_t)hlen, head, (size_t)hlen);
	mc->out = page;
	mc->out_off = sizeof(head) - (size_t)hlen;
	mc->out_len = total;
	if (metrics_send_some(mc)) {
		metrics_conn_close(d, mc);
		return;
	}
	/* the rest when the scraper has read some */
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.fd = mc->fd;
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, mc->fd, &ev);
}

int
metrics_event(struct mrd *d, int fd, uint32_t events)
{
	int i;

	if (fd < 0)
		return 0;
	if (fd == metrics_fd) {
		struct metrics_conn *slot = NULL, *oldest = NULL;
		int cfd = accept4(metrics_fd, NULL, NULL,
				  SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			return 1;
		for (i = 0; i < METRICS_MAX_CONN; i++) {
			if (metrics_conns[i].fd < 0) {
				slot = &metrics_conns[i];
				break;
			}
			if (oldest == NULL ||
			    metrics_conns[i].start_ns < oldest->start_ns)
				oldest = &metrics_conns[i];
		}
		if (slot == NULL) {
			metrics_conn_close(d, oldest);
			slot = oldest;
		}
		slot->fd = cfd;
		slot->len = 0;
		slot->start_ns = mrc_now_ns();
		if (mrd_epoll_add(d->epfd, cfd, EPOLLIN) < 0) {
			close(cfd);
			slot->fd = -1;
		}
		return 1;
	}
	for (i = 0; i < METRICS_MAX_CONN; i++) {
		struct metrics_conn *mc = &metrics_conns[i];
		ssize_t n;

		if (mc->fd != fd)
			continue;
		if (mc->out != NULL) {
			if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
			    metrics_send_some(mc))
				metrics_conn_close(d, mc);
			return 1;
		}
		n = recv(fd, mc->req + mc->len, sizeof(mc->req) - 1 - mc->len,
			 MSG_DONTWAIT);
		if (n <= 0) {
			if (n < 0 && errno == EAGAIN)
				return 1;
			metrics_conn_close(d, mc);
			return 1;
		}
		mc->len += (size_t)n;
		mc->req[mc->len] = '\0';
		if (strstr(mc->req, "\r\n\r\n") || strstr(mc->req, "\n\n") ||
		    mc->len == sizeof(mc->req) - 1)
			metrics_answer(d, mc);
		return 1;
	}
	return 0;
}
