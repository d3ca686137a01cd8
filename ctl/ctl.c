/*
 * ctl.c: memreclaimctl, the operator's view of a running memreclaimd.
 *
 * Sends one CTL_REQUEST over the daemon's socket, gathers the whole reply
 * and prints it, as a table whose columns fit the data for people, or as
 * JSON (--json) for scripts; `top` does that again every few seconds.
 * Names that come from others (cgroup paths, commands, config errors) are
 * printed with control bytes escaped, so a terminal never acts on them.
 * Only root, the daemon's user and the socket's group may ask; the daemon
 * checks that with SO_PEERCRED.  Exit status: 0 success, 1 the daemon
 * said no or could not be reached (or trim --wait released nothing), 2
 * usage.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <memreclaim/protocol.h>

#include "common/parse.h"
#include "common/protocol.h"

static int json;

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: memreclaimctl [-s socket] [--json] command [options]\n"
	    "\n"
	    "commands:\n"
	    "  status                    daemon counters and host pressure\n"
	    "  clients                   registered processes\n"
	    "  cgroups                   watched cgroups\n"
	    "  top [-n N] [-d SECS] [--sort idle|rss]\n"
	    "                            live view of the clients, a frame\n"
	    "                            every SECS (default 2), N times\n"
	    "                            (default: until interrupted)\n"
	    "  trim [--wait] PID|CGROUP BYTES\n"
	    "                            ask a client (by pid) or the clients\n"
	    "                            of a cgroup (a path starting with /)\n"
	    "                            to release BYTES (e.g. 64MiB); with\n"
	    "                            --wait, print what they released\n"
	    "                            (exit 1 if nothing)\n"
	    "  reload                    reload the daemon's config file and\n"
	    "                            print its errors\n"
	    "  config CGROUP             the config section and settings that\n"
	    "                            apply to CGROUP\n"
	    "  profile [alloc] [text] PID\n"
	    "                            heap profile of PID on stdout: in use\n"
	    "                            (or allocated since start), gzipped\n"
	    "                            pprof protobuf (or google-pprof text)\n"
	    "  prof PID on [INTERVAL]|off  switch PID's heap sampling (mean\n"
	    "                            INTERVAL, default 512KiB)\n"
	    "\n"
	    "options:\n"
	    "  -s, --socket PATH  daemon socket (default $%s or %s)\n"
	    "  -j, --json         JSON output\n"
	    "  -u, --urgent       trim with MADV_DONTNEED (default MADV_FREE)\n"
	    "  -w, --wait         trim: wait for the answers\n"
	    "  -n, --iterations N top: frames to print\n"
	    "  -d, --delay SECS   top: time between frames (default 2s)\n"
	    "  -o, --sort KEY     top: idle (default) or rss\n"
	    "  -h, --help         this text\n"
	    "  -V, --version      print the version\n",
	    MR_PROTO_SOCKET_ENV, MR_PROTO_SOCKET_PATH);
}

/* A profile as it arrives, written out only once it is whole. */
struct prof_buf {
	unsigned char *buf;
	size_t len, cap;
};

/* Append one PROF_DATA (already checked by the decoder); -1 past
 * MR_PROTO_PROF_MAX, which the daemon enforces too, or out of memory. */
static int
prof_add(struct prof_buf *b, const struct mr_proto_prof_data *d)
{
	if (b->len + d->len > MR_PROTO_PROF_MAX)
		return -1;
	if (b->len + d->len > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64 << 10;
		unsigned char *n;

		while (cap < b->len + d->len)
			cap *= 2;
		n = realloc(b->buf, cap);
		if (n == NULL)
			return -1;
		b->buf = n;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, d->data, d->len);
	b->len += d->len;
	return 0;
}

/* "profile [alloc] [text] PID" and "prof PID on [INTERVAL]|off".
 * 0 or -1 (usage). */
static int
ctl_prof_args(const char *cmd, int argc, char **argv,
	      struct mr_proto_ctl_request *req)
{
	long pid = 0;
	char *end;
	int i;

	if (!strcmp(cmd, "profile")) {
		req->cmd = MR_CTL_PROFILE;
		req->bytes = MR_PROF_KIND_INUSE;
		for (i = 0; i < argc - 1; i++) {
			if (!strcmp(argv[i], "alloc"))
				req->bytes = (req->bytes & MR_PROF_KIND_TEXT) |
					     MR_PROF_KIND_ALLOC;
			else if (!strcmp(argv[i], "text"))
				req->bytes |= MR_PROF_KIND_TEXT;
			else
				return -1;
		}
		if (argc < 1)
			return -1;
		pid = strtol(argv[argc - 1], &end, 10);
	} else {
		req->cmd = MR_CTL_PROF_SET;
		if (argc < 2 || argc > 3)
			return -1;
		pid = strtol(argv[0], &end, 10);
		if (!strcmp(argv[1], "off") && argc == 2)
			req->bytes = 0;
		else if (!strcmp(argv[1], "on"))
			req->bytes = 512 * 1024;
		else
			return -1;
		if (argc == 3 && (mrc_parse_size(argv[2], &req->bytes) < 0 ||
				  req->bytes == 0)) {
			fprintf(stderr, "memreclaimctl: bad size '%s'\n",
				argv[2]);
			return -1;
		}
	}
	if (*end != '\0' || pid <= 0 || pid > INT32_MAX)
		return -1;
	req->pid = (int32_t)pid;
	return 0;
}

static void
human(char *out, size_t len, uint64_t b)
{
	static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int i = 0;

	if (b == UINT64_MAX) {
		snprintf(out, len, "-");
		return;
	}
	while (v >= 1024.0 && i < 4) {
		v /= 1024.0;
		i++;
	}
	if (i == 0)
		snprintf(out, len, "%" PRIu64 "B", b);
	else
		snprintf(out, len, "%.1f%s", v, u[i]);
}

/* A cgroup name comes from whoever created the cgroup: control bytes
 * (terminal escape sequences), DEL and non-ASCII bytes are printed as
 * \xNN, and a backslash as \\, so the table shows the name without
 * the terminal acting on it. */
static const char *
ctl_safe(char *out, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch >= 0x7f || ch == '\\') {
			out[o++] = '\\';
			if (ch == '\\') {
				out[o++] = '\\';
				continue;
			}
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
	return out;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* Receive one valid frame within wait_ms.  Returns its type or -errno. */
static int
ctl_recv(int fd, struct mr_proto_msg *m, int wait_ms)
{
	unsigned char buf[MR_PROTO_MAX_FRAME + 1];
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n;
	int rc;

	rc = poll(&p, 1, wait_ms);
	if (rc == 0)
		return -ETIMEDOUT;
	if (rc < 0)
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	/* a peer that closed with our request unread reports ECONNRESET
	 * once, before the frames it sent (its BYE) can be read */
	if (n < 0 && errno == ECONNRESET)
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	return mrc_proto_decode(buf, (size_t)n, m);
}

/* The daemon said BYE: print why; the exit status. */
static int
ctl_bye(const struct mr_proto_msg *m)
{
	static const char *const why[] = {
	    [MR_BYE_NORMAL] = "closed",
	    [MR_BYE_VERSION] = "protocol version refused",
	    [MR_BYE_PROTOCOL] = "not allowed: root, the daemon's user or "
				"the socket's group only",
	    [MR_BYE_LIMIT] = "too many connections",
	    [MR_BYE_SHUTDOWN] = "shutting down",
	};

	fprintf(stderr,
		"memreclaimctl: the daemon closed the connection "
		"(%s)\n",
		why[m->u.bye.reason]);
	return 1;
}

static void
print_status(const struct mr_proto_ctl_status *s)
{
	char a[32], b[32];

	if (json) {
		printf(
		    "{\"daemon_version\":\"%u.%u.%u\",\"pid\":%u,"
		    "\"uptime_ms\":%" PRIu64 ",\"clients\":%u,\"cgroups\":%u,"
		    "\"tick_ms\":%u,\"psi_triggers\":%u,\"trims_sent\":%" PRIu64
		    ",\"trim_bytes_requested\":%" PRIu64
		    ",\"trim_bytes_released\":%" PRIu64
		    ",\"clients_dropped\":%" PRIu64
		    ",\"frames_rejected\":%" PRIu64
		    ",\"config_reloads\":%" PRIu64 ",\"config_errors\":%" PRIu64
		    ",\"host_some_avg10\":%.2f,\"host_full_avg10\":%.2f}\n",
		    s->daemon_version >> 16, (s->daemon_version >> 8) & 0xff,
		    s->daemon_version & 0xff, s->daemon_pid, s->uptime_ms,
		    s->clients, s->cgroups, s->tick_ms, s->psi_triggers,
		    s->trims_sent, s->trim_bytes_requested,
		    s->trim_bytes_released, s->clients_dropped,
		    s->frames_rejected, s->config_reloads, s->config_errors,
		    s->host_some_avg10, s->host_full_avg10);
		return;
	}
	printf("memreclaimd %u.%u.%u  pid %u  up %" PRIu64 " s  tick %u ms\n",
	       s->daemon_version >> 16, (s->daemon_version >> 8) & 0xff,
	       s->daemon_version & 0xff, s->daemon_pid, s->uptime_ms / 1000,
	       s->tick_ms);
	printf("clients %u  cgroups %u (%u with PSI triggers)\n", s->clients,
	       s->cgroups, s->psi_triggers);
	human(a, sizeof(a), s->trim_bytes_requested);
	human(b, sizeof(b), s->trim_bytes_released);
	printf("trims %" PRIu64 " sent, %s asked, %s released\n", s->trims_sent,
	       a, b);
	printf("dropped clients %" PRIu64 "  rejected frames %" PRIu64
	       "  config reloads %" PRIu64 " (%" PRIu64 " refused)\n",
	       s->clients_dropped, s->frames_rejected, s->config_reloads,
	       s->config_errors);
	printf("host memory pressure  some %.2f%%  full %.2f%%\n",
	       s->host_some_avg10, s->host_full_avg10);
}

/* ---- one request and its whole reply ---- */

struct ctl_client_rec {
	struct mr_proto_ctl_client r;
	char comm[16]; /* from CTL_TEXT COMM, "" unknown */
};

struct ctl_reply {
	int have_status;
	struct mr_proto_ctl_status status;
	struct ctl_client_rec *cl;
	size_t ncl, capcl;
	struct mr_proto_ctl_cgroup *cg;
	size_t ncg, capcg;
	struct mr_proto_ctl_text *text; /* ERROR and LINE lines */
	size_t ntext, captext;
	struct mr_proto_ctl_done done;
	struct prof_buf prof; /* PROF_DATA, written only once whole */
};

static void *
ctl_grow(void *p, size_t *cap, size_t n, size_t size)
{
	void *q;

	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	q = realloc(p, *cap * size);
	if (q == NULL) {
		fprintf(stderr, "memreclaimctl: out of memory\n");
		exit(1);
	}
	return q;
}

static void
ctl_reply_free(struct ctl_reply *rep)
{
	free(rep->cl);
	free(rep->cg);
	free(rep->text);
	free(rep->prof.buf);
	memset(rep, 0, sizeof(*rep));
}

/* Send req and gather the reply up to CTL_DONE into *rep (profile data
 * into rep->prof).  wait_ms: how long the daemon may take for
 * each frame.  0, or the exit status after saying why on stderr. */
static int
ctl_call(const char *sock, const struct mr_proto_ctl_request *req,
	 struct ctl_reply *rep, int wait_ms)
{
	unsigned char buf[MR_PROTO_MAX_FRAME];
	struct mr_proto_msg m;
	int fd, n, rc;

	memset(rep, 0, sizeof(*rep));
	fd = ctl_connect(sock);
	if (fd < 0) {
		fprintf(stderr,
			"memreclaimctl: %s: %s (is memreclaimd "
			"running?)\n",
			sock, strerror(-fd));
		return 1;
	}
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, req);
	if (n < 0) {
		close(fd);
		return 2;
	}
	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
		int e = errno;

		/* refused connections get a BYE first: say why */
		rc = ctl_recv(fd, &m, wait_ms) == MR_MSG_BYE ? ctl_bye(&m) : 1;
		if (rc == 1 && m.hdr.type != MR_MSG_BYE)
			fprintf(stderr, "memreclaimctl: send: %s\n",
				strerror(e));
		close(fd);
		return rc;
	}
	for (;;) {
		rc = ctl_recv(fd, &m, wait_ms);
		if (rc < 0) {
			fprintf(stderr, "memreclaimctl: %s\n", strerror(-rc));
			close(fd);
			return 1;
		}
		if (rc == MR_MSG_BYE) {
			close(fd);
			return ctl_bye(&m);
		}
		if (rc == MR_MSG_CTL_STATUS) {
			rep->status = m.u.ctl_status;
			rep->have_status = 1;
		} else if (rc == MR_MSG_CTL_CLIENT) {
			rep->cl = ctl_grow(rep->cl, &rep->capcl, rep->ncl,
					   sizeof(*rep->cl));
			rep->cl[rep->ncl].r = m.u.ctl_client;
			rep->cl[rep->ncl++].comm[0] = '\0';
		} else if (rc == MR_MSG_CTL_TEXT &&
			   m.u.ctl_text.kind == MR_CTL_TEXT_COMM) {
			/* the command of the record just before */
			if (rep->ncl > 0 &&
			    rep->cl[rep->ncl - 1].r.pid == m.u.ctl_text.pid)
				snprintf(rep->cl[rep->ncl - 1].comm,
					 sizeof(rep->cl[0].comm), "%.15s",
					 m.u.ctl_text.text);
		} else if (rc == MR_MSG_CTL_TEXT) {
			rep->text = ctl_grow(rep->text, &rep->captext,
					     rep->ntext, sizeof(*rep->text));
			rep->text[rep->ntext++] = m.u.ctl_text;
		} else if (rc == MR_MSG_CTL_CGROUP) {
			rep->cg = ctl_grow(rep->cg, &rep->capcg, rep->ncg,
					   sizeof(*rep->cg));
			rep->cg[rep->ncg++] = m.u.ctl_cgroup;
		} else if (rc == MR_MSG_PROF_DATA &&
			   req->cmd == MR_CTL_PROFILE) {
			if (prof_add(&rep->prof, &m.u.prof_data) < 0) {
				fprintf(stderr, "memreclaimctl: profile: %s\n",
					strerror(ENOMEM));
				close(fd);
				return 1;
			}
		} else if (rc == MR_MSG_CTL_DONE) {
			rep->done = m.u.ctl_done;
			break;
		}
	}
	close(fd);
	return 0;
}

/* ---- tables whose columns fit their data ---- */

#define TABLE_MAXCOL 16

struct table {
	int ncol;
	const char *align; /* per column: 'l' or 'r' */
	char **cells;	   /* row-major, row 0 the heading */
	size_t nrows, cap;
};

static void
table_init(struct table *t, const char *align, const char *const *head)
{
	int i;

	memset(t, 0, sizeof(*t));
	t->ncol = (int)strlen(align);
	t->align = align;
	t->cells = calloc(TABLE_MAXCOL, sizeof(char *));
	t->cap = 1;
	if (t->cells == NULL)
		exit(1);
	for (i = 0; i < t->ncol; i++)
		t->cells[i] = strdup(head[i]);
	t->nrows = 1;
}

/* Add a cell to the current last row, starting a row as needed. */
static void __attribute__((format(printf, 2, 3)))
table_cell(struct table *t, const char *fmt, ...)
{
	static size_t col;
	char buf[1200];
	va_list ap;

	if (col == 0) {
		if (t->nrows == t->cap) {
			t->cap *= 2;
			t->cells = realloc(t->cells, t->cap * TABLE_MAXCOL *
							 sizeof(char *));
			if (t->cells == NULL)
				exit(1);
		}
		t->nrows++;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	t->cells[(t->nrows - 1) * TABLE_MAXCOL + col] = strdup(buf);
	col = (col + 1) % (size_t)t->ncol;
}

/* Print with each column as wide as its widest cell (the last column is
 * not padded), and free the cells. */
static void
table_print(struct table *t)
{
	size_t w[TABLE_MAXCOL] = {0}, r;
	int c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncol; c++) {
			size_t l = strlen(t->cells[r * TABLE_MAXCOL + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncol; c++) {
			char *s = t->cells[r * TABLE_MAXCOL + c];
			int last = c == t->ncol - 1;

			if (t->align[c] == 'r')
				printf("%*s", (int)w[c], s);
			else if (last)
				printf("%s", s);
			else
				printf("%-*s", (int)w[c], s);
			printf(last ? "\n" : "  ");
			free(s);
		}
	}
	free(t->cells);
	t->cells = NULL;
}

/* ---- the commands' output ---- */

static const char *
ctl_comm(const struct ctl_client_rec *k, char *safe, size_t len)
{
	return k->comm[0] ? ctl_safe(safe, len, k->comm) : "?";
}

static void
print_clients(const struct ctl_reply *rep)
{
	static const char *const head[] = {
	    "PID",	"COMMAND", "UID",   "ADJ",   "RSS",
	    "RETAINED", "IDLE",	   "LAZYFREE", "LIMIT", "TRIMS",
	    "LAST TRIM", "CGROUP"};
	char safe[4 * MR_PROTO_CGROUP_MAX + 1], comm[64];
	char rss[32], ret[32], idle[32], lazy[32], lim[32], ask[32], rel[32];
	struct table t;
	size_t i;

	if (json) {
		printf("[");
		for (i = 0; i < rep->ncl; i++) {
			const struct mr_proto_ctl_client *r = &rep->cl[i].r;

			printf("%s{\"pid\":%d,\"comm\":", i ? "," : "",
			       r->pid);
			json_str(rep->cl[i].comm);
			printf(",\"uid\":%u,\"oom_score_adj\":%d,\"cgroup\":",
			       r->uid, r->oom_score_adj);
			json_str(r->cgroup);
			printf(",\"rss_bytes\":%" PRIu64
			       ",\"retained_bytes\":%" PRIu64
			       ",\"idle_bytes\":%" PRIu64
			       ",\"lazy_freed_bytes\":%" PRIu64
			       ",\"allocated_bytes\":%" PRIu64
			       ",\"in_use_bytes\":%" PRIu64
			       ",\"released_bytes\":%" PRIu64
			       ",\"soft_limit_bytes\":%" PRIu64
			       ",\"trims\":%" PRIu64
			       ",\"last_trim_bytes\":%" PRIu64
			       ",\"last_trim_released_bytes\":%" PRIu64
			       ",\"last_trim_age_ms\":",
			       r->stats.rss_bytes, r->stats.retained_bytes,
			       r->stats.idle_bytes, r->stats.lazy_freed_bytes,
			       r->stats.allocated_bytes, r->stats.in_use_bytes,
			       r->stats.released_bytes, r->soft_limit_bytes,
			       r->trims, r->last_trim_bytes,
			       r->last_trim_released);
			if (r->last_trim_age_ms == UINT64_MAX)
				printf("null}");
			else
				printf("%" PRIu64 "}", r->last_trim_age_ms);
		}
		printf("]\n");
		return;
	}
	if (rep->ncl == 0) {
		printf("(none)\n");
		return;
	}
	table_init(&t, "rlrrrrrrrrll", head);
	for (i = 0; i < rep->ncl; i++) {
		const struct mr_proto_ctl_client *r = &rep->cl[i].r;

		human(rss, sizeof(rss), r->stats.rss_bytes);
		human(ret, sizeof(ret), r->stats.retained_bytes);
		human(idle, sizeof(idle), r->stats.idle_bytes);
		human(lazy, sizeof(lazy), r->stats.lazy_freed_bytes);
		human(lim, sizeof(lim),
		      r->soft_limit_bytes ? r->soft_limit_bytes : UINT64_MAX);
		table_cell(&t, "%d", r->pid);
		table_cell(&t, "%s", ctl_comm(&rep->cl[i], comm, sizeof(comm)));
		table_cell(&t, "%u", r->uid);
		table_cell(&t, "%d", r->oom_score_adj);
		table_cell(&t, "%s", rss);
		table_cell(&t, "%s", ret);
		table_cell(&t, "%s", idle);
		table_cell(&t, "%s", lazy);
		table_cell(&t, "%s", lim);
		table_cell(&t, "%" PRIu64, r->trims);
		if (r->last_trim_age_ms == UINT64_MAX) {
			table_cell(&t, "-");
		} else {
			human(ask, sizeof(ask), r->last_trim_bytes);
			human(rel, sizeof(rel), r->last_trim_released);
			table_cell(&t, "%s/%s, %" PRIu64 " s ago", ask, rel,
				   r->last_trim_age_ms / 1000);
		}
		table_cell(&t, "%s",
			   r->cgroup[0] ? ctl_safe(safe, sizeof(safe),
						   r->cgroup)
					: "?");
	}
	table_print(&t);
}

static void
print_cgroups(const struct ctl_reply *rep)
{
	static const char *const mode[] = {"none", "trigger", "poll"};
	static const char *const head[] = {"SOME10", "FULL10",	 "LIMIT",
					   "USAGE",  "HEADROOM", "SHED",
					   "CLIENTS", "PSI",	 "CGROUP"};
	char lim[32], use[32], hr[32], shed[32];
	char safe[4 * MR_PROTO_CGROUP_MAX + 1];
	struct table t;
	size_t i;

	if (json) {
		printf("[");
		for (i = 0; i < rep->ncg; i++) {
			const struct mr_proto_ctl_cgroup *r = &rep->cg[i];

			printf("%s{\"cgroup\":", i ? "," : "");
			json_str(r->path);
			printf(",\"some_avg10\":%.2f,\"full_avg10\":%.2f,"
			       "\"some_total_us\":%" PRIu64
			       ",\"full_total_us\":%" PRIu64
			       ",\"limit_bytes\":",
			       r->some_avg10, r->full_avg10, r->some_total_us,
			       r->full_total_us);
			if (r->limit_bytes == UINT64_MAX)
				printf("null");
			else
				printf("%" PRIu64, r->limit_bytes);
			printf(",\"usage_bytes\":%" PRIu64
			       ",\"headroom_bytes\":%" PRIu64
			       ",\"shed_bytes\":%" PRIu64 ",\"clients\":%u,"
			       "\"psi\":\"%s\"}",
			       r->usage_bytes, r->headroom_bytes,
			       r->shed_bytes, r->clients, mode[r->psi_mode]);
		}
		printf("]\n");
		return;
	}
	if (rep->ncg == 0) {
		printf("(none)\n");
		return;
	}
	table_init(&t, "rrrrrrrll", head);
	for (i = 0; i < rep->ncg; i++) {
		const struct mr_proto_ctl_cgroup *r = &rep->cg[i];

		human(lim, sizeof(lim), r->limit_bytes);
		human(use, sizeof(use), r->usage_bytes);
		human(hr, sizeof(hr), r->headroom_bytes);
		human(shed, sizeof(shed), r->shed_bytes);
		table_cell(&t, "%.2f%%", r->some_avg10);
		table_cell(&t, "%.2f%%", r->full_avg10);
		table_cell(&t, "%s", lim);
		table_cell(&t, "%s", use);
		table_cell(&t, "%s", hr);
		table_cell(&t, "%s", shed);
		table_cell(&t, "%u", r->clients);
		table_cell(&t, "%s", mode[r->psi_mode]);
		table_cell(&t, "%s", ctl_safe(safe, sizeof(safe), r->path));
	}
	table_print(&t);
}

/* trim, reload and config: the reply's lines and CTL_DONE.  The exit
 * status: 1 when the daemon refused, or (trim --wait) nothing was
 * released. */
static int
print_done(const char *cmd, const struct mr_proto_ctl_request *req,
	   const struct ctl_reply *rep)
{
	int wait = (req->flags & MR_CTL_F_WAIT) != 0;
	uint64_t released = 0;
	char safe[4 * MR_PROTO_LINE_MAX + 1], comm[64], a[32], b[32];
	size_t i;

	for (i = 0; i < rep->ncl; i++)
		released += rep->cl[i].r.last_trim_released;
	if (json) {
		printf("{\"status\":%d,\"count\":%u,\"message\":",
		       rep->done.status, rep->done.count);
		json_str(rep->done.message);
		if (wait) {
			printf(",\"released_bytes\":%" PRIu64 ",\"clients\":[",
			       released);
			for (i = 0; i < rep->ncl; i++) {
				printf("%s{\"pid\":%d,\"comm\":", i ? "," : "",
				       rep->cl[i].r.pid);
				json_str(rep->cl[i].comm);
				printf(",\"asked_bytes\":%" PRIu64
				       ",\"released_bytes\":%" PRIu64 "}",
				       rep->cl[i].r.last_trim_bytes,
				       rep->cl[i].r.last_trim_released);
			}
			printf("]");
		}
		if (req->cmd == MR_CTL_RELOAD || req->cmd == MR_CTL_CONFIG) {
			printf(",\"%s\":[",
			       req->cmd == MR_CTL_RELOAD ? "errors" : "lines");
			for (i = 0; i < rep->ntext; i++) {
				printf("%s", i ? "," : "");
				json_str(rep->text[i].text);
			}
			printf("]");
		}
		printf("}\n");
	} else {
		for (i = 0; i < rep->ncl; i++) {
			human(a, sizeof(a), rep->cl[i].r.last_trim_bytes);
			human(b, sizeof(b), rep->cl[i].r.last_trim_released);
			printf("pid %d (%s): asked %s, released %s (%" PRIu64
			       " bytes)\n",
			       rep->cl[i].r.pid,
			       ctl_comm(&rep->cl[i], comm, sizeof(comm)), a, b,
			       rep->cl[i].r.last_trim_released);
		}
		/* reload errors go with the verdict, to stderr */
		for (i = 0; i < rep->ntext; i++)
			fprintf(rep->text[i].kind == MR_CTL_TEXT_ERROR ? stderr
								    : stdout,
				"%s\n",
				ctl_safe(safe, sizeof(safe),
					 rep->text[i].text));
		if (rep->done.message[0] != '\0')
			printf("%s\n", rep->done.message);
	}
	if (rep->done.status < 0) {
		fprintf(stderr, "memreclaimctl: %s: %s\n", cmd,
			strerror(-rep->done.status));
		return 1;
	}
	if (wait && released == 0) {
		fprintf(stderr, "memreclaimctl: trim: nothing was released\n");
		return 1;
	}
	return 0;
}

/* ---- top ---- */

static int top_sort_rss;

static int
top_cmp(const void *a, const void *b)
{
	const struct ctl_client_rec *ra = a, *rb = b;
	const struct mr_proto_stats *x = &ra->r.stats, *y = &rb->r.stats;
	uint64_t vx = top_sort_rss ? x->rss_bytes : x->idle_bytes;
	uint64_t vy = top_sort_rss ? y->rss_bytes : y->idle_bytes;

	return vx < vy ? 1 : vx > vy ? -1 : 0;
}

static const struct mr_proto_ctl_cgroup *
top_cgroup(const struct ctl_reply *cgs, const char *path)
{
	size_t i;

	for (i = 0; i < cgs->ncg; i++)
		if (!strcmp(cgs->cg[i].path, path))
			return &cgs->cg[i];
	return NULL;
}

/* One frame: a heading and the clients, sorted. */
static void
top_frame(const struct ctl_reply *st, struct ctl_reply *cl,
	  const struct ctl_reply *cgs, int lines)
{
	static const char *const head[] = {
	    "PID", "COMMAND", "INUSE", "IDLE",	 "LAZYFREE", "RELEASED",
	    "RSS", "TRIMS",   "SOME10", "FULL10", "CGROUP"};
	char safe[4 * MR_PROTO_CGROUP_MAX + 1], comm[64], v[6][32], when[32];
	const struct mr_proto_ctl_status *s = &st->status;
	uint64_t idle = 0, lazy = 0;
	struct table t;
	time_t now = time(NULL);
	size_t i;

	qsort(cl->cl, cl->ncl, sizeof(*cl->cl), top_cmp);
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	for (i = 0; i < cl->ncl; i++) {
		idle += cl->cl[i].r.stats.idle_bytes;
		lazy += cl->cl[i].r.stats.lazy_freed_bytes;
	}
	if (json) {
		printf("{\"time\":%lld,\"clients\":[", (long long)now);
		for (i = 0; i < cl->ncl; i++) {
			const struct mr_proto_ctl_client *r = &cl->cl[i].r;
			const struct mr_proto_ctl_cgroup *g =
			    top_cgroup(cgs, r->cgroup);

			printf("%s{\"pid\":%d,\"comm\":", i ? "," : "",
			       r->pid);
			json_str(cl->cl[i].comm);
			printf(",\"cgroup\":");
			json_str(r->cgroup);
			printf(",\"in_use_bytes\":%" PRIu64
			       ",\"idle_bytes\":%" PRIu64
			       ",\"lazy_freed_bytes\":%" PRIu64
			       ",\"released_bytes\":%" PRIu64
			       ",\"rss_bytes\":%" PRIu64 ",\"trims\":%" PRIu64,
			       r->stats.in_use_bytes, r->stats.idle_bytes,
			       r->stats.lazy_freed_bytes,
			       r->stats.released_bytes, r->stats.rss_bytes,
			       r->trims);
			if (g != NULL)
				printf(",\"some_avg10\":%.2f,\"full_avg10\":"
				       "%.2f}",
				       g->some_avg10, g->full_avg10);
			else
				printf(",\"some_avg10\":null,\"full_avg10\":"
				       "null}");
		}
		printf("]}\n");
		fflush(stdout);
		return;
	}
	human(v[0], sizeof(v[0]), idle);
	human(v[1], sizeof(v[1]), lazy);
	printf("memreclaimd %u.%u.%u pid %u, %s: %u clients, %u cgroups, "
	       "idle %s, lazily freed %s; host PSI some %.2f%% full "
	       "%.2f%%\n",
	       s->daemon_version >> 16, (s->daemon_version >> 8) & 0xff,
	       s->daemon_version & 0xff, s->daemon_pid, when, s->clients,
	       s->cgroups, v[0], v[1], s->host_some_avg10, s->host_full_avg10);
	human(v[0], sizeof(v[0]), s->trim_bytes_requested);
	human(v[1], sizeof(v[1]), s->trim_bytes_released);
	printf("trims %" PRIu64 ": %s asked, %s released; sorted by %s\n\n",
	       s->trims_sent, v[0], v[1], top_sort_rss ? "RSS" : "idle");
	table_init(&t, "rlrrrrrrrrl", head);
	for (i = 0; i < cl->ncl && (lines <= 0 || (int)i < lines); i++) {
		const struct mr_proto_ctl_client *r = &cl->cl[i].r;
		const struct mr_proto_ctl_cgroup *g =
		    top_cgroup(cgs, r->cgroup);

		human(v[0], sizeof(v[0]), r->stats.in_use_bytes);
		human(v[1], sizeof(v[1]), r->stats.idle_bytes);
		human(v[2], sizeof(v[2]), r->stats.lazy_freed_bytes);
		human(v[3], sizeof(v[3]), r->stats.released_bytes);
		human(v[4], sizeof(v[4]), r->stats.rss_bytes);
		table_cell(&t, "%d", r->pid);
		table_cell(&t, "%s", ctl_comm(&cl->cl[i], comm, sizeof(comm)));
		table_cell(&t, "%s", v[0]);
		table_cell(&t, "%s", v[1]);
		table_cell(&t, "%s", v[2]);
		table_cell(&t, "%s", v[3]);
		table_cell(&t, "%s", v[4]);
		table_cell(&t, "%" PRIu64, r->trims);
		if (g != NULL) {
			table_cell(&t, "%.2f%%", g->some_avg10);
			table_cell(&t, "%.2f%%", g->full_avg10);
		} else {
			table_cell(&t, "-");
			table_cell(&t, "-");
		}
		table_cell(&t, "%s",
			   r->cgroup[0] ? ctl_safe(safe, sizeof(safe),
						   r->cgroup)
					: "?");
	}
	if (cl->ncl == 0)
		printf("(no clients)\n");
	else
		table_print(&t);
	fflush(stdout);
}

/* `top`: a frame every `delay_ms`, `iterations` times (0: until
 * interrupted).  On a terminal each frame replaces the last; otherwise
 * frames follow each other, separated by a blank line. */
static int
ctl_top(const char *sock, int iterations, int delay_ms)
{
	struct ctl_reply st, cl, cgs;
	struct mr_proto_ctl_request req;
	int tty = isatty(STDOUT_FILENO) && !json, i, rc, lines = 0;
	struct winsize ws;

	for (i = 0; iterations <= 0 || i < iterations; i++) {
		memset(&req, 0, sizeof(req));
		req.cmd = MR_CTL_STATUS;
		rc = ctl_call(sock, &req, &st, 5000);
		if (rc == 0) {
			req.cmd = MR_CTL_CLIENTS;
			rc = ctl_call(sock, &req, &cl, 5000);
			if (rc == 0) {
				req.cmd = MR_CTL_CGROUPS;
				rc = ctl_call(sock, &req, &cgs, 5000);
				if (rc != 0)
					ctl_reply_free(&cl);
			}
			if (rc != 0)
				ctl_reply_free(&st);
		}
		if (rc != 0)
			return rc;
		if (tty) {
			lines = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
					ws.ws_row > 4
				    ? ws.ws_row - 4
				    : 0;
			printf("\033[H\033[2J");
		} else if (i > 0 && !json) {
			printf("\n");
		}
		top_frame(&st, &cl, &cgs, lines);
		ctl_reply_free(&st);
		ctl_reply_free(&cl);
		ctl_reply_free(&cgs);
		if (iterations > 0 && i + 1 >= iterations)
			break;
		poll(NULL, 0, delay_ms);
	}
	return 0;
}

static int ctl_wait, ctl_urgent, ctl_iterations, ctl_delay_ms = 2000;

/* One option, before or after the command.  0, or 2 (usage). */
static int
ctl_option(int ch, const char *arg, const char **sock)
{
	char *end;
	uint64_t ns;

	switch (ch) {
	case 's':
		*sock = arg;
		return 0;
	case 'j':
		json = 1;
		return 0;
	case 'u':
		ctl_urgent = 1;
		return 0;
	case 'w':
		ctl_wait = 1;
		return 0;
	case 'n':
		ctl_iterations = (int)strtol(arg, &end, 10);
		return *end != '\0' || ctl_iterations <= 0 ? 2 : 0;
	case 'd':
		if (mrc_parse_duration_ns(arg, 1000000000ull, &ns) < 0 ||
		    ns < 100000000ull || ns > 3600000000000ull) {
			fprintf(stderr,
				"memreclaimctl: bad delay '%s' (0.1s to 1h)\n",
				arg);
			return 2;
		}
		ctl_delay_ms = (int)(ns / 1000000);
		return 0;
	case 'o':
		if (strcmp(arg, "rss") != 0 && strcmp(arg, "idle") != 0)
			return 2;
		top_sort_rss = !strcmp(arg, "rss");
		return 0;
	default:
		return 2;
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"urgent", no_argument, NULL, 'u'},
	    {"wait", no_argument, NULL, 'w'},
	    {"iterations", required_argument, NULL, 'n'},
	    {"delay", required_argument, NULL, 'd'},
	    {"sort", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static const char shortopts[] = "+s:juwn:d:o:hV";
	const char *sock = getenv(MR_PROTO_SOCKET_ENV);
	struct mr_proto_ctl_request req;
	struct ctl_reply rep;
	const char *cmd;
	int ch, rc, status;
	char *end;

	/* options come before the command or right after it ("trim --wait
	 * PID BYTES", "top -n 3"): getopt runs again from the command */
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	       -1) {
		if (ch == 'h') {
			usage(stdout);
			return 0;
		}
		if (ch == 'V') {
			printf("memreclaimctl %s (protocol %d)\n",
			       PACKAGE_VERSION, MR_PROTO_VERSION);
			return 0;
		}
		if (ctl_option(ch, optarg, &sock) != 0) {
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 1;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	       -1) {
		if (ch == 'h' || ch == 'V' ||
		    ctl_option(ch, optarg, &sock) != 0) {
			usage(stderr);
			return 2;
		}
	}
	if (sock == NULL || sock[0] == '\0')
		sock = MR_PROTO_SOCKET_PATH;
	memset(&req, 0, sizeof(req));
	if (!strcmp(cmd, "top")) {
		if (optind != argc) {
			usage(stderr);
			return 2;
		}
		return ctl_top(sock, ctl_iterations, ctl_delay_ms);
	}
	if (!strcmp(cmd, "status") || !strcmp(cmd, "clients") ||
	    !strcmp(cmd, "cgroups") || !strcmp(cmd, "reload")) {
		req.cmd = !strcmp(cmd, "status")    ? MR_CTL_STATUS
			  : !strcmp(cmd, "clients") ? MR_CTL_CLIENTS
			  : !strcmp(cmd, "cgroups") ? MR_CTL_CGROUPS
						    : MR_CTL_RELOAD;
		if (optind != argc) {
			usage(stderr);
			return 2;
		}
	} else if (!strcmp(cmd, "config")) {
		if (argc - optind != 1 || argv[optind][0] != '/' ||
		    strlen(argv[optind]) >= sizeof(req.cgroup)) {
			usage(stderr);
			return 2;
		}
		req.cmd = MR_CTL_CONFIG;
		strcpy(req.cgroup, argv[optind]);
	} else if (!strcmp(cmd, "trim")) {
		const char *who;

		if (argc - optind != 2) {
			usage(stderr);
			return 2;
		}
		who = argv[optind];
		if (mrc_parse_size(argv[optind + 1], &req.bytes) < 0 ||
		    req.bytes == 0) {
			fprintf(stderr, "memreclaimctl: bad size '%s'\n",
				argv[optind + 1]);
			return 2;
		}
		req.urgency =
		    ctl_urgent ? MR_PROTO_URGENCY_NOW : MR_PROTO_URGENCY_LAZY;
		req.flags = ctl_wait ? MR_CTL_F_WAIT : 0;
		if (who[0] == '/') {
			req.cmd = MR_CTL_TRIM_CGROUP;
			if (strlen(who) >= sizeof(req.cgroup)) {
				fprintf(stderr, "memreclaimctl: cgroup path "
						"too long\n");
				return 2;
			}
			strcpy(req.cgroup, who);
		} else {
			long pid = strtol(who, &end, 10);

			if (*end != '\0' || pid <= 0 || pid > INT32_MAX) {
				fprintf(stderr,
					"memreclaimctl: '%s' is neither "
					"a pid nor a cgroup path\n",
					who);
				return 2;
			}
			req.cmd = MR_CTL_TRIM_PID;
			req.pid = (int32_t)pid;
		}
	} else if (!strcmp(cmd, "profile") || !strcmp(cmd, "prof")) {
		if (ctl_prof_args(cmd, argc - optind, argv + optind, &req) <
		    0) {
			usage(stderr);
			return 2;
		}
	} else {
		fprintf(stderr, "memreclaimctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}

	/* a trim --wait lasts up to the daemon's trim deadline */
	rc = ctl_call(sock, &req, &rep, ctl_wait ? 660000 : 5000);
	if (rc != 0)
		return rc;
	switch (req.cmd) {
	case MR_CTL_STATUS:
		if (rep.have_status)
			print_status(&rep.status);
		break;
	case MR_CTL_CLIENTS:
		print_clients(&rep);
		break;
	case MR_CTL_CGROUPS:
		print_cgroups(&rep);
		break;
	case MR_CTL_PROFILE:
		/* Only a whole profile goes to stdout: one cut short by an
		 * error would look like a profile to whoever reads it.  The
		 * summary goes to stderr. */
		if (rep.done.status == 0 && rep.prof.len &&
		    fwrite(rep.prof.buf, 1, rep.prof.len, stdout) !=
			    rep.prof.len) {
			fprintf(stderr, "memreclaimctl: stdout: %s\n",
				strerror(errno));
			ctl_reply_free(&rep);
			return 1;
		}
		if (fflush(stdout) != 0)
			return 1;
		if (rep.done.status == 0 && rep.done.message[0] != '\0')
			fprintf(stderr, "memreclaimctl: %s\n",
				rep.done.message);
		break;
	default:
		rc = print_done(cmd, &req, &rep);
		ctl_reply_free(&rep);
		return rc;
	}
	status = rep.done.status;
	ctl_reply_free(&rep);
	if (status < 0) {
		fprintf(stderr, "memreclaimctl: %s: %s\n", cmd,
			strerror(-status));
		return 1;
	}
	return 0;
}
