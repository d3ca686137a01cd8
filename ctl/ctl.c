/*
 * ctl.c: memreclaimctl, the operator's view of a running memreclaimd.
 *
 * Sends one CTL_REQUEST over the daemon's socket and prints the records
 * of the reply, as a table for people or as JSON (--json) for scripts.
 * Only root, the daemon's user and the socket's group may ask; the daemon
 * checks that with SO_PEERCRED.  Exit status: 0 success, 1 the daemon
 * said no or could not be reached, 2 usage.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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
	    "usage: memreclaimctl [-s socket] [--json] command\n"
	    "\n"
	    "commands:\n"
	    "  status                    daemon counters and host pressure\n"
	    "  clients                   registered processes\n"
	    "  cgroups                   watched cgroups\n"
	    "  trim PID|CGROUP BYTES     ask a client (by pid) or the clients\n"
	    "                            of a cgroup (a path starting with /)\n"
	    "                            to release BYTES (e.g. 64MiB)\n"
	    "  reload                    reload the daemon's config file\n"
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

/* Receive one valid frame within 5 s.  Returns its type or -errno. */
static int
ctl_recv(int fd, struct mr_proto_msg *m)
{
	unsigned char buf[MR_PROTO_MAX_FRAME + 1];
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n;
	int rc;

	rc = poll(&p, 1, 5000);
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

static void
print_client(const struct mr_proto_ctl_client *r, int first)
{
	char rss[32], ret[32], idle[32], lazy[32], lim[32], ask[32], rel[32];
	char age[96], safe[4 * MR_PROTO_CGROUP_MAX + 1];

	if (json) {
		printf("%s{\"pid\":%d,\"uid\":%u,\"oom_score_adj\":%d,"
		       "\"cgroup\":",
		       first ? "" : ",", r->pid, r->uid, r->oom_score_adj);
		json_str(r->cgroup);
		printf(",\"rss_bytes\":%" PRIu64 ",\"retained_bytes\":%" PRIu64
		       ",\"idle_bytes\":%" PRIu64
		       ",\"lazy_freed_bytes\":%" PRIu64
		       ",\"allocated_bytes\":%" PRIu64
		       ",\"soft_limit_bytes\":%" PRIu64 ",\"trims\":%" PRIu64
		       ",\"last_trim_bytes\":%" PRIu64
		       ",\"last_trim_released_bytes\":%" PRIu64
		       ",\"last_trim_age_ms\":",
		       r->stats.rss_bytes, r->stats.retained_bytes,
		       r->stats.idle_bytes, r->stats.lazy_freed_bytes,
		       r->stats.allocated_bytes,
		       r->soft_limit_bytes, r->trims, r->last_trim_bytes,
		       r->last_trim_released);
		if (r->last_trim_age_ms == UINT64_MAX)
			printf("null}");
		else
			printf("%" PRIu64 "}", r->last_trim_age_ms);
		return;
	}
	if (first)
		printf("%-8s %-6s %5s %-28s %9s %9s %9s %9s %9s %5s %s\n",
		       "PID", "UID", "ADJ", "CGROUP", "RSS", "RETAINED", "IDLE",
		       "LAZYFREE", "LIMIT", "TRIMS",
		       "LAST TRIM (asked/released, age)");
	human(rss, sizeof(rss), r->stats.rss_bytes);
	human(ret, sizeof(ret), r->stats.retained_bytes);
	human(idle, sizeof(idle), r->stats.idle_bytes);
	human(lazy, sizeof(lazy), r->stats.lazy_freed_bytes);
	human(lim, sizeof(lim),
	      r->soft_limit_bytes ? r->soft_limit_bytes : UINT64_MAX);
	if (r->last_trim_age_ms == UINT64_MAX) {
		snprintf(age, sizeof(age), "-");
	} else {
		human(ask, sizeof(ask), r->last_trim_bytes);
		human(rel, sizeof(rel), r->last_trim_released);
		snprintf(age, sizeof(age), "%s/%s, %" PRIu64 " s ago", ask, rel,
			 r->last_trim_age_ms / 1000);
	}
	printf("%-8d %-6u %5d %-28s %9s %9s %9s %9s %9s %5" PRIu64 " %s\n",
	       r->pid, r->uid, r->oom_score_adj,
	       r->cgroup[0] ? ctl_safe(safe, sizeof(safe), r->cgroup) : "?", rss, ret, idle, lazy, lim,
	       r->trims, age);
}

static void
print_cgroup(const struct mr_proto_ctl_cgroup *r, int first)
{
	static const char *const mode[] = {"none", "trigger", "poll"};
	char lim[32], use[32], head[32], shed[32];
	char safe[4 * MR_PROTO_CGROUP_MAX + 1];

	if (json) {
		printf("%s{\"cgroup\":", first ? "" : ",");
		json_str(r->path);
		printf(",\"some_avg10\":%.2f,\"full_avg10\":%.2f,"
		       "\"some_total_us\":%" PRIu64
		       ",\"full_total_us\":%" PRIu64 ",\"limit_bytes\":",
		       r->some_avg10, r->full_avg10, r->some_total_us,
		       r->full_total_us);
		if (r->limit_bytes == UINT64_MAX)
			printf("null");
		else
			printf("%" PRIu64, r->limit_bytes);
		printf(",\"usage_bytes\":%" PRIu64
		       ",\"headroom_bytes\":%" PRIu64 ",\"shed_bytes\":%" PRIu64
		       ",\"clients\":%u,"
		       "\"psi\":\"%s\"}",
		       r->usage_bytes, r->headroom_bytes, r->shed_bytes,
		       r->clients, mode[r->psi_mode]);
		return;
	}
	if (first)
		printf("%-32s %7s %7s %9s %9s %9s %9s %7s %s\n", "CGROUP",
		       "SOME10", "FULL10", "LIMIT", "USAGE", "HEADROOM", "SHED",
		       "CLIENTS", "PSI");
	human(lim, sizeof(lim), r->limit_bytes);
	human(use, sizeof(use), r->usage_bytes);
	human(head, sizeof(head), r->headroom_bytes);
	human(shed, sizeof(shed), r->shed_bytes);
	printf("%-32s %6.2f%% %6.2f%% %9s %9s %9s %9s %7u %s\n",
	       ctl_safe(safe, sizeof(safe), r->path),
	       r->some_avg10, r->full_avg10, lim, use, head, shed, r->clients,
	       mode[r->psi_mode]);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"urgent", no_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *sock = getenv(MR_PROTO_SOCKET_ENV);
	struct mr_proto_ctl_request req;
	struct mr_proto_msg m;
	struct prof_buf prof = {NULL, 0, 0};
	unsigned char buf[MR_PROTO_MAX_FRAME];
	const char *cmd;
	int ch, fd, n, rc, records = 0, urgent = 0;

	while ((ch = getopt_long(argc, argv, "s:juhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'u':
			urgent = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("memreclaimctl %s (protocol %d)\n",
			       PACKAGE_VERSION, MR_PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (sock == NULL || sock[0] == '\0')
		sock = MR_PROTO_SOCKET_PATH;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	memset(&req, 0, sizeof(req));
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
	} else if (!strcmp(cmd, "trim")) {
		const char *who;
		char *end;

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
		    urgent ? MR_PROTO_URGENCY_NOW : MR_PROTO_URGENCY_LAZY;
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
		if (ctl_prof_args(cmd, argc - optind, argv + optind, &req) < 0) {
			usage(stderr);
			return 2;
		}
	} else {
		fprintf(stderr, "memreclaimctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}

	fd = ctl_connect(sock);
	if (fd < 0) {
		fprintf(stderr,
			"memreclaimctl: %s: %s (is memreclaimd "
			"running?)\n",
			sock, strerror(-fd));
		return 1;
	}
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, &req);
	if (n < 0)
		return 1;
	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
		int e = errno;

		/* refused connections get a BYE first: say why */
		if (ctl_recv(fd, &m) == MR_MSG_BYE)
			return ctl_bye(&m);
		fprintf(stderr, "memreclaimctl: send: %s\n", strerror(e));
		return 1;
	}
	if (json && (req.cmd == MR_CTL_CLIENTS || req.cmd == MR_CTL_CGROUPS))
		printf("[");
	for (;;) {
		rc = ctl_recv(fd, &m);
		if (rc < 0) {
			fprintf(stderr, "memreclaimctl: %s\n", strerror(-rc));
			return 1;
		}
		if (rc == MR_MSG_BYE)
			return ctl_bye(&m);
		if (rc == MR_MSG_CTL_STATUS)
			print_status(&m.u.ctl_status);
		else if (rc == MR_MSG_CTL_CLIENT)
			print_client(&m.u.ctl_client, records++ == 0);
		else if (rc == MR_MSG_CTL_CGROUP)
			print_cgroup(&m.u.ctl_cgroup, records++ == 0);
		else if (rc == MR_MSG_PROF_DATA &&
			 req.cmd == MR_CTL_PROFILE) {
			if (prof_add(&prof, &m.u.prof_data) < 0) {
				fprintf(stderr, "memreclaimctl: profile: %s\n",
					strerror(ENOMEM));
				return 1;
			}
		} else if (rc == MR_MSG_CTL_DONE)
			break;
	}
	if (req.cmd == MR_CTL_PROFILE) {
		/* Only a whole profile goes to stdout: one cut short by an
		 * error would look like a profile to whoever reads it.  The
		 * summary goes to stderr. */
		if (m.u.ctl_done.status == 0 && prof.len &&
		    fwrite(prof.buf, 1, prof.len, stdout) != prof.len) {
			fprintf(stderr, "memreclaimctl: stdout: %s\n",
				strerror(errno));
			return 1;
		}
		free(prof.buf);
		if (fflush(stdout) != 0)
			return 1;
		if (m.u.ctl_done.status == 0)
			fprintf(stderr, "memreclaimctl: %s\n",
				m.u.ctl_done.message);
		m.u.ctl_done.message[0] = '\0';
		json = 0;
	}
	close(fd);
	if (json && (req.cmd == MR_CTL_CLIENTS || req.cmd == MR_CTL_CGROUPS))
		printf("]\n");
	if (json &&
	    (req.cmd == MR_CTL_TRIM_PID || req.cmd == MR_CTL_TRIM_CGROUP ||
	     req.cmd == MR_CTL_RELOAD)) {
		printf("{\"status\":%d,\"count\":%u,\"message\":",
		       m.u.ctl_done.status, m.u.ctl_done.count);
		json_str(m.u.ctl_done.message);
		printf("}\n");
	} else if (!json && m.u.ctl_done.message[0] != '\0') {
		printf("%s\n", m.u.ctl_done.message);
	} else if (!json && records == 0 &&
		   (req.cmd == MR_CTL_CLIENTS || req.cmd == MR_CTL_CGROUPS)) {
		printf("(none)\n");
	}
	if (m.u.ctl_done.status < 0) {
		fprintf(stderr, "memreclaimctl: %s: %s\n", cmd,
			strerror(-m.u.ctl_done.status));
		return 1;
	}
	return 0;
}
