/*
 * metrics.c: Prometheus text exposition over a tiny HTTP/1.0 server.
 *
 * Owns the metric names (memreclaim_<subsystem>_<name>_<unit>[_total])
 * and the HTTP endpoint, by default on 127.0.0.1:9464.  The server runs
 * inside the daemon's epoll loop: each connection is read until the end
 * of the request head, answered (GET /metrics, else 404), and closed.  At
 * most METRICS_MAX_CONN connections at once, each with a 4 KiB request
 * limit; a slow or silent one is closed by the next accept past the limit.
 *
 * Cardinality: every series is per daemon, per watched cgroup (label
 * cgroup) or per client cgroup, except the memreclaim_client_* families,
 * which are given only for the metrics_top_clients clients holding the
 * most idle bytes (labels pid, comm, cgroup, container, pod): a pid that
 * comes and goes makes at most that many series at once.  Every client
 * is counted in the per-cgroup memreclaim_cgroup_client_* sums, and
 * memreclaim_cgroup_info joins a cgroup to its container, pod or unit.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <dirent.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"

#include "log.h"
#include "metrics.h"
#include "metrics_names.h"

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

/* The daemon's own process, as Prometheus client libraries export it
 * (process_* families): /proc/self/stat, /proc/self/fd, RLIMIT_NOFILE. */
static void
mb_process(struct metrics_buf *b)
{
	char buf[1024], *p;
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
	long long rss = 0;
	double btime = 0, hz = (double)sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	struct dirent *de;
	FILE *f;
	DIR *dir;
	int nfd = -1, ok = 0;

	f = fopen("/proc/self/stat", "re");
	if (f != NULL) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);

		buf[n] = '\0';
		fclose(f);
		/* after the command, which may hold spaces and ')' */
		p = strrchr(buf, ')');
		ok = p != NULL &&
		     sscanf(p + 2,
			    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			    "%llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
			    &utime, &stime, &start, &vsize, &rss) == 5;
	}
	f = fopen("/proc/stat", "re");
	if (f != NULL) {
		while (fgets(buf, sizeof(buf), f) != NULL)
			if (sscanf(buf, "btime %lf", &btime) == 1)
				break;
		fclose(f);
	}
	dir = opendir("/proc/self/fd");
	if (dir != NULL) {
		nfd = 0;
		while ((de = readdir(dir)) != NULL)
			nfd += de->d_name[0] != '.';
		nfd--; /* the one opendir holds */
		closedir(dir);
	}
	mb_head(b, "process_cpu_seconds_total", "counter",
		"Total user and system CPU time spent in seconds.");
	if (ok)
		mb_printf(b, "process_cpu_seconds_total %.2f\n",
			  (double)(utime + stime) / hz);
	mb_head(b, "process_virtual_memory_bytes", "gauge",
		"Virtual memory size in bytes.");
	if (ok)
		mb_printf(b, "process_virtual_memory_bytes %llu\n", vsize);
	mb_head(b, "process_resident_memory_bytes", "gauge",
		"Resident memory size in bytes.");
	if (ok)
		mb_printf(b, "process_resident_memory_bytes %lld\n",
			  rss * (long long)page);
	mb_head(b, "process_start_time_seconds", "gauge",
		"Start time of the process since unix epoch in seconds.");
	if (ok && btime > 0)
		mb_printf(b, "process_start_time_seconds %.2f\n",
			  btime + (double)start / hz);
	mb_head(b, "process_open_fds", "gauge",
		"Number of open file descriptors.");
	if (nfd >= 0)
		mb_printf(b, "process_open_fds %d\n", nfd);
	mb_head(b, "process_max_fds", "gauge",
		"Maximum number of open file descriptors.");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		mb_printf(b, "process_max_fds %llu\n",
			  rl.rlim_cur == RLIM_INFINITY
			      ? (unsigned long long)-1
			      : (unsigned long long)rl.rlim_cur);
}

/* Clients with STATS, for the per-client and per-cgroup families. */
static int
cl_by_idle(const void *a, const void *b)
{
	const struct mrd_client *x = *(const struct mrd_client *const *)a;
	const struct mrd_client *y = *(const struct mrd_client *const *)b;

	if (x->stats.idle_bytes != y->stats.idle_bytes)
		return x->stats.idle_bytes > y->stats.idle_bytes ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int
cl_by_cgroup(const void *a, const void *b)
{
	const struct mrd_client *x = *(const struct mrd_client *const *)a;
	const struct mrd_client *y = *(const struct mrd_client *const *)b;

	return strcmp(x->mem_path, y->mem_path);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* cgroup="...",container="...",pod="..." for path, into out. */
static void
mb_owner_labels(char *out, size_t len, const char *path)
{
	char lab[CGFS_PATH_MAX * 2];
	struct mrd_owner o;

	mrd_owner_parse(path, &o);
	mb_label(lab, sizeof(lab), path);
	snprintf(out, len, "cgroup=\"%s\",container=\"%s\",pod=\"%s\"", lab,
		 o.container, o.pod);
}

static void
mb_info(struct metrics_buf *b, const char *path)
{
	char lab[CGFS_PATH_MAX * 2], unit[256];
	struct mrd_owner o;

	mrd_owner_parse(path, &o);
	mb_label(lab, sizeof(lab), path);
	mb_label(unit, sizeof(unit), o.unit);
	mb_printf(b,
		  "memreclaim_cgroup_info{cgroup=\"%s\",runtime=\"%s\","
		  "container=\"%s\",pod=\"%s\",unit=\"%s\"} 1\n",
		  lab, o.runtime, o.container, o.pod, unit);
}

/* Per-client families for the top clients by idle bytes, per-cgroup sums
 * of every client, and the cgroup info series. */
static void
mb_clients(struct metrics_buf *b, const struct mrd *d)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} fam[] = {
#define F(n, h, f) {n, h, offsetof(struct mr_proto_stats, f)}
	    F("rss_bytes", "RSS.", rss_bytes),
	    F("retained_bytes", "Bytes the allocator holds.",
	      retained_bytes),
	    F("idle_bytes", "Free bytes still backed: what a trim can take.",
	      idle_bytes),
	    F("allocated_bytes", "Bytes the program holds.", allocated_bytes),
	    F("lazy_freed_bytes",
	      "Bytes lazily freed (MADV_FREE): the kernel takes them on "
	      "demand.",
	      lazy_freed_bytes),
	    F("released_bytes", "Bytes the allocator gave back to the kernel.",
	      released_bytes),
#undef F
	};
	const struct mrd_client *c, **v = NULL;
	const struct mrd_cgroup *cg;
	const char **paths = NULL;
	char lab[CGFS_PATH_MAX * 3], comm[64], name[96], help[160];
	size_t n = 0, np = 0, i, j, k, top;

	mrc_list_for_each(c, &d->clients, link) n++;
	mrc_list_for_each(cg, &d->cgroups, link) np++;
	v = calloc(n + 1, sizeof(*v));
	paths = calloc(n + np + 1, sizeof(*paths));
	if (v == NULL || paths == NULL) {
		b->err = 1;
		goto out;
	}
	n = np = 0;
	mrc_list_for_each(c, &d->clients, link)
	{
		if (c->kind != MRD_CLIENT_LIB)
			continue;
		if (c->mem_path[0])
			paths[np++] = c->mem_path;
		if (c->has_stats)
			v[n++] = c;
	}
	mrc_list_for_each(cg, &d->cgroups, link) paths[np++] = cg->g.path;

	mb_head(b, "memreclaim_cgroup_info", "gauge",
		"1 for each cgroup with clients or watched: its container, "
		"pod or systemd unit as the path says.");
	qsort(paths, np, sizeof(*paths), str_cmp);
	for (i = 0; i < np; i++)
		if (i == 0 || strcmp(paths[i], paths[i - 1]) != 0)
			mb_info(b, paths[i]);

	/* the top clients by idle bytes */
	qsort(v, n, sizeof(*v), cl_by_idle);
	top = n < d->conf.metrics_top_clients ? n
					       : d->conf.metrics_top_clients;
	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		snprintf(name, sizeof(name), "memreclaim_client_%s",
			 fam[k].name);
		snprintf(help, sizeof(help), "%s (top metrics_top_clients "
			 "clients by idle bytes)", fam[k].help);
		mb_head(b, name, "gauge", help);
		for (i = 0; i < top; i++) {
			uint64_t val;

			memcpy(&val, (const char *)&v[i]->stats + fam[k].off,
			       sizeof(val));
			mb_owner_labels(lab, sizeof(lab), v[i]->mem_path);
			mb_label(comm, sizeof(comm),
				 v[i]->comm[0] ? v[i]->comm : "?");
			mb_printf(b, "%s{pid=\"%d\",comm=\"%s\",%s} %llu\n",
				  name, (int)v[i]->pid, comm, lab,
				  (unsigned long long)val);
		}
	}

	/* sums per client cgroup, every client */
	qsort(v, n, sizeof(*v), cl_by_cgroup);
	mb_head(b, "memreclaim_cgroup_clients", "gauge",
		"Registered clients (with statistics) in the cgroup.");
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && !strcmp(v[j]->mem_path, v[i]->mem_path);
		     j++)
			;
		mb_owner_labels(lab, sizeof(lab), v[i]->mem_path);
		mb_printf(b, "memreclaim_cgroup_clients{%s} %zu\n", lab, j - i);
	}
	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		snprintf(name, sizeof(name), "memreclaim_cgroup_client_%s",
			 fam[k].name);
		snprintf(help, sizeof(help),
			 "%s Sum over the cgroup's clients.", fam[k].help);
		mb_head(b, name, "gauge", help);
		for (i = 0; i < n; i = j) {
			unsigned long long sum = 0;

			for (j = i; j < n && !strcmp(v[j]->mem_path,
						     v[i]->mem_path);
			     j++) {
				uint64_t val;

				memcpy(&val,
				       (const char *)&v[j]->stats + fam[k].off,
				       sizeof(val));
				sum += val;
			}
			mb_owner_labels(lab, sizeof(lab), v[i]->mem_path);
			mb_printf(b, "%s{%s} %llu\n", name, lab, sum);
		}
	}
out:
	free(v);
	free(paths);
}

int
metrics_render(const struct mrd *d, char **out, size_t *outlen,
	       size_t reserve)
{
	struct metrics_buf b = {NULL, 65536, reserve, 0};
	const struct mrd_client *c;
	const struct mrd_cgroup *cg;
	static const char *const refusal[MRD_REFUSE_N] = {
	    [MRD_REFUSE_MAX_CLIENTS] = "max_clients",
	    [MRD_REFUSE_PER_UID] = "max_clients_per_uid",
	    [MRD_REFUSE_GROUP] = "client_group",
	    [MRD_REFUSE_VERSION] = "version",
	    [MRD_REFUSE_CREDENTIALS] = "credentials",
	};
	char lab[CGFS_PATH_MAX * 2];
	int nlib = 0, i;

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
	mb_head(&b, "memreclaim_build_info", "gauge",
		"1, labelled with the daemon's version and protocol.");
	mb_printf(&b,
		  "memreclaim_build_info{version=\"%s\",protocol=\"%d\"} 1\n",
		  PACKAGE_VERSION, MR_PROTO_VERSION);
	mb_process(&b);
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
	mb_head(&b, "memreclaim_server_clients_refused_total", "counter",
		"Connections that could not register, by reason.");
	for (i = 0; i < MRD_REFUSE_N; i++)
		mb_printf(&b,
			  "memreclaim_server_clients_refused_total"
			  "{reason=\"%s\"} %llu\n",
			  refusal[i],
			  (unsigned long long)d->n.clients_refused[i]);
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
	mb_head(&b, "memreclaim_config_last_reload_successful", "gauge",
		"0 while the config file in force is not the one on disk "
		"(the last reload was refused), else 1.");
	mb_printf(&b, "memreclaim_config_last_reload_successful %d\n",
		  !d->reload_failed);
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
	CG_GAUGE("memreclaim_cgroup_pressure_full_stall_seconds_total",
		 "counter", "Cumulative memory stall (full) of the cgroup.",
		 "%.6f", (double)cg->s.psi.full.total_us / 1e6);
	CG_GAUGE("memreclaim_cgroup_oom_events_total", "counter",
		 "OOM events in the cgroup (v2 memory.events oom, v1 "
		 "oom_kill), as the kernel counts them.",
		 "%llu", (unsigned long long)cg->s.oom_events);
	CG_GAUGE("memreclaim_cgroup_limit_hits_total", "counter",
		 "Times usage hit the limit (v2 memory.events max, v1 "
		 "failcnt).",
		 "%llu", (unsigned long long)cg->s.max_events);
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

	mb_clients(&b, d);
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
