/*
 * client.c: the library's memreclaimd client.  It owns one SOCK_SEQPACKET
 * connection to the daemon and the state machine around it: connect
 * (non-blocking) when the socket exists, HELLO, STATS every
 * stats_interval_ms, obey TRIM (mr_release, answered with TRIM_DONE) and
 * LIMIT (mr_limit_hint: the daemon's opinion, which can tighten the
 * process's own limit but never erase or loosen it, and which is withdrawn
 * when the connection ends), and on EOF, error, BYE or a malformed frame
 * close and reconnect with exponential backoff.  With no daemon it stays silent:
 * a failed connect costs one socket() and one connect() per backoff step.
 *
 * It leaves the thread, the poll and the clock to the scavenger
 * (scavenger.c): the scavenger polls mri_client_fd(), sleeps at most until
 * mri_client_next_ns(), and calls mri_client_tick(now).  Because it runs on
 * that thread and never inside malloc, this file may call mr_stats_get (it
 * reads /proc/self/smaps_rollup) and mr_release; it still allocates nothing
 * itself.  Frame layout and validation belong to memreclaim/protocol.h.
 *
 * State (scavenger thread only): cl.fd >= 0 means connected and
 * registered; cl.fd < 0 means waiting until cl.next_connect_ns.  The
 * counters are relaxed atomics because mr_stats_get reads them from any
 * thread.
 */
#include "config.h"
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "memreclaim.h"
#include "memreclaim/protocol.h"
#include "common/protocol.h"
#include "client/client.h"
#include "os/diag.h"
#include "os/layout.h"
#include "os/options.h"
#include "os/os.h"

/* Frames handled per tick, so one tick stays short even if the daemon
 * queues many; poll() wakes the scavenger again for the rest. */
#define CLIENT_FRAMES_PER_TICK 16

/* clang-format off */
static const struct mri_client_ops client_ops_real = {
	.release = mr_release,
	.limit_set = mr_limit_hint,
	.stats_get = mr_stats_get,
	.profile_write = mr_profile_write,
	.option_set = mr_option_set,
};
/* clang-format on */

/* clang-format off */
static struct {
	const struct mri_client_ops *ops;
	int fd;			      /* registered connection, or -1 */
	uint32_t seq;		      /* our frame counter */
	uint64_t next_connect_ns;     /* fd < 0: next attempt */
	uint64_t backoff_ns;	      /* wait after the next failure */
	uint64_t connected_ns;	      /* fd >= 0: when it connected */
	uint64_t next_stats_ns;	      /* fd >= 0: next STATS */
	int limit_held;		      /* a LIMIT of this connection applies */
	struct mr_stats st;	      /* scratch for mr_stats_get (too big for
				       * a thread stack we do not size) */
	struct mri_client_counters n; /* relaxed atomics */
	pthread_mutex_t err_lock;     /* err, err_msg (read by any thread) */
	int err;		      /* last failure, -errno, 0 = none */
	char err_msg[256];	      /* its one-line reason */
	int err_said;		      /* err/err_msg printed already */
	int up_said;		      /* "connected" printed since then */
	uint64_t frames_in;	      /* frames received on this link */
} cl = {
	.err_lock = PTHREAD_MUTEX_INITIALIZER,
	.ops = &client_ops_real,
	.fd = -1,
	.backoff_ns = MRI_CLIENT_BACKOFF_MIN_NS,
};
/* clang-format on */

#define CLIENT_COUNT(field, v)                                                 \
	__atomic_add_fetch(&cl.n.field, (v), __ATOMIC_RELAXED)

static uint64_t
client_interval_ns(void)
{
	int64_t ms = mri_opt(MRI_OPT_STATS_INTERVAL_MS);

	/* 0 would mean "flood"; HELLO must announce a positive period. */
	if (ms <= 0)
		ms = 1000;
	if (ms > UINT32_MAX)
		ms = UINT32_MAX;
	return (uint64_t)ms * 1000000ULL;
}

/* Send one frame without blocking.  0, or -errno: -EAGAIN means the daemon
 * is not reading (the frame is dropped and counted), anything else means
 * the connection is gone. */
static int
client_send(const void *buf, int len)
{
	ssize_t n;

	do
		n = send(cl.fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == len)
		return 0;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		CLIENT_COUNT(frames_dropped, 1);
		return -EAGAIN;
	}
	return n < 0 ? -errno : -EMSGSIZE;
}

/* Plan the next connect after the current wait, and double the wait. */
static void
client_retry_later(uint64_t now_ns)
{
	cl.next_connect_ns = now_ns + cl.backoff_ns;
	cl.backoff_ns *= 2;
	if (cl.backoff_ns > MRI_CLIENT_BACKOFF_MAX_NS)
		cl.backoff_ns = MRI_CLIENT_BACKOFF_MAX_NS;
}

/* Close the connection and plan the next attempt. */
static void
client_close(uint64_t now_ns, uint64_t backoff_ns)
{
	if (cl.fd < 0)
		return;
	close(cl.fd);
	cl.fd = -1;
	__atomic_store_n(&cl.n.connected, 0, __ATOMIC_RELAXED);
	/* The daemon's limit lapses with the connection that carried it. */
	if (cl.limit_held) {
		cl.limit_held = 0;
		(void)cl.ops->limit_set(0);
	}
	CLIENT_COUNT(disconnects, 1);
	if (now_ns - cl.connected_ns >= MRI_CLIENT_STABLE_NS)
		cl.backoff_ns = MRI_CLIENT_BACKOFF_MIN_NS;
	if (backoff_ns > cl.backoff_ns)
		cl.backoff_ns = backoff_ns;
	client_retry_later(now_ns);
}

static int
client_send_bye(uint32_t reason)
{
	struct mr_proto_bye bye = {.reason = reason};
	char buf[MR_PROTO_MAX_FRAME];
	int len = mrc_proto_encode_bye(buf, sizeof(buf), ++cl.seq, &bye);

	return len < 0 ? len : client_send(buf, len);
}

/* Close after a protocol error, telling the daemon why (best effort). */
static void
client_reject(uint64_t now_ns)
{
	CLIENT_COUNT(frames_rejected, 1);
	(void)client_send_bye(MR_BYE_PROTOCOL);
	client_close(now_ns, 0);
}

static uint32_t
client_backend(uint32_t b)
{
	return b <= MR_PURGE_MADVISE ? b : MR_PURGE_NONE;
}

static int
client_send_stats(void)
{
	struct mr_proto_stats ps;
	char buf[MR_PROTO_MAX_FRAME];
	int len, rc;

	memset(&cl.st, 0, sizeof(cl.st));
	cl.st.size = sizeof(cl.st);
	rc = cl.ops->stats_get(&cl.st);
	if (rc < 0)
		return 0; /* nothing to report; try next interval */
	memset(&ps, 0, sizeof(ps));
	ps.allocated_bytes = cl.st.allocated_bytes;
	ps.in_use_bytes = cl.st.in_use_bytes;
	ps.idle_bytes = cl.st.idle_bytes;
	ps.released_bytes = cl.st.released_bytes;
	ps.lazy_freed_bytes = cl.st.lazy_freed_bytes;
	ps.mapped_bytes = cl.st.mapped_bytes;
	ps.retained_bytes = cl.st.retained_bytes;
	ps.rss_bytes = cl.st.rss_bytes;
	ps.limit_bytes = cl.st.limit_bytes;
	ps.trims_received =
	    __atomic_load_n(&cl.n.trims_received, __ATOMIC_RELAXED);
	ps.purge_backend = client_backend(cl.st.purge_backend);
	len = mrc_proto_encode_stats(buf, sizeof(buf), ++cl.seq, &ps);
	if (len < 0)
		return 0;
	rc = client_send(buf, len);
	if (rc == 0)
		CLIENT_COUNT(stats_sent, 1);
	return rc == -EAGAIN ? 0 : rc;
}

/*
 * Why the daemon link is down, in one line, for mr_stats_get
 * (daemon_error, daemon_error_msg), the MEMRECLAIM_STATS summary and, when
 * MEMRECLAIM_TRACE or MEMRECLAIM_STATS is set, stderr: once per new
 * reason, not at every retry.  A non-root service not in the socket's
 * group gets EACCES: the line names the socket's group and mode and the
 * caller's uid, which is all it takes to fix.
 */
MRI_STARTUP static void
client_failed(int err, const char *msg)
{
	int same;

	pthread_mutex_lock(&cl.err_lock);
	same = cl.err == err && !strcmp(cl.err_msg, msg);
	if (!same) {
		cl.err = err;
		memcpy(cl.err_msg, msg, strlen(msg) + 1);
		cl.err_said = 0;
		cl.up_said = 0; /* a later connect is news again */
	}
	pthread_mutex_unlock(&cl.err_lock);
	if (!cl.err_said &&
	    (mri_opt(MRI_OPT_TRACE) || mri_opt(MRI_OPT_STATS))) {
		char b[sizeof(cl.err_msg) + 64];
		struct mri_diag d;

		cl.err_said = 1;
		mri_diag_begin(&d, b, sizeof(b), 1);
		mri_diag_put(&d, "daemon: ");
		mri_diag_put(&d, msg);
		mri_diag_end(&d, 2);
	}
}

/* "connect PATH: permission denied (...)" for a connect that failed
 * with err. */
MRI_STARTUP static void
client_connect_failed(const char *path, int err)
{
	char m[sizeof(cl.err_msg)];
	struct mri_diag d = {m, sizeof(m), 0};
	struct stat st;

	m[0] = '\0';
	mri_diag_put(&d, "cannot connect to ");
	mri_diag_put_safe(&d, path, 108, '\0');
	mri_diag_put(&d, ": ");
	mri_diag_put_errno(&d, err);
	switch (err) {
	case ENOENT:
		mri_diag_put(&d, " (memreclaimd not running?)");
		break;
	case ECONNREFUSED:
		mri_diag_put(&d, " (stale socket: memreclaimd not running)");
		break;
	case EACCES:
		if (stat(path, &st) < 0) {
			mri_diag_put(&d, " (its directory is closed to uid ");
			mri_diag_put_u(&d, (uint64_t)geteuid());
			mri_diag_put(&d, ")");
			break;
		}
		mri_diag_put(&d, " (socket 0");
		mri_diag_put_u(&d, (uint64_t)((st.st_mode >> 6) & 7));
		mri_diag_put_u(&d, (uint64_t)((st.st_mode >> 3) & 7));
		mri_diag_put_u(&d, (uint64_t)(st.st_mode & 7));
		mri_diag_put(&d, " gid ");
		mri_diag_put_u(&d, (uint64_t)st.st_gid);
		mri_diag_put(&d, "; uid ");
		mri_diag_put_u(&d, (uint64_t)geteuid());
		mri_diag_put(&d, " is not in that group: add it, e.g. to "
				 "group memreclaim)");
		break;
	case EAGAIN:
		mri_diag_put(&d, " (its backlog is full)");
		break;
	}
	client_failed(-err, m);
}

MRI_STARTUP void
mri_client_absent(const char *path, int err)
{
	/* not a connect: connect_failures counts real attempts */
	client_connect_failed(path, err);
}

/* The next frame the daemon sent, without waiting: its length, 0 on EOF,
 * -EAGAIN when none is queued, or -errno. */
static ssize_t
client_recv(char *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(cl.fd, buf, len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

/* The daemon said BYE: say why it closed the link, and close. */
static void
client_bye(uint64_t now_ns, uint32_t reason)
{
	static const char *const why[] = {
	    [MR_BYE_NORMAL] = "memreclaimd closed the connection",
	    [MR_BYE_VERSION] = "memreclaimd refused this library's protocol "
			       "version",
	    [MR_BYE_PROTOCOL] = "memreclaimd refused a frame of this client",
	    [MR_BYE_LIMIT] = "memreclaimd refused this client: too many "
			     "clients or frames",
	    [MR_BYE_SHUTDOWN] = "memreclaimd is shutting down",
	    [MR_BYE_DENIED] = "memreclaimd refused this client (not a member "
			      "of its client_group)",
	};
	_Static_assert(sizeof(why) / sizeof(why[0]) == MR_BYE_MAX + 1,
		       "a reason for every BYE");

	/* The decoder admits only reasons up to MR_BYE_MAX, but a reason
	 * added to protocol.h without a line here must not be a NULL. */
	client_failed(-ECONNRESET, reason <= MR_BYE_MAX && why[reason]
				       ? why[reason]
				       : "memreclaimd closed the connection");
	/* A daemon that refuses our version, or our user (client_group),
	 * will refuse it again until its operator acts: come back rarely. */
	client_close(now_ns, reason == MR_BYE_VERSION || reason == MR_BYE_DENIED
				 ? MRI_CLIENT_BACKOFF_MAX_NS
				 : 0);
}

/* The connection broke (EOF, an error, a send that failed).  A daemon
 * that refuses a client (client_group, too many clients) says BYE and
 * closes, and the break can come before the BYE is read: our STATS sent
 * after the daemon closed fails with EPIPE, and a close with our frames
 * unread is reported (ECONNRESET) ahead of the frames queued before it.
 * So read what is still queued first: a BYE there says why.  A connection
 * that ends before any frame came is named as a refusal. */
static void
client_lost(uint64_t now_ns)
{
	char buf[MR_PROTO_MAX_FRAME + 1];
	struct mr_proto_msg m;
	int i;

	for (i = 0; i < CLIENT_FRAMES_PER_TICK; i++) {
		ssize_t n = client_recv(buf, sizeof(buf));

		if (n == 0 || n == -EAGAIN)
			break;
		if (n > 0 && mrc_proto_decode(buf, (size_t)n, &m) ==
				 MR_MSG_BYE) {
			cl.frames_in++;
			client_bye(now_ns, m.u.bye.reason);
			return;
		}
		/* an error already reported, or a frame we no longer obey */
	}
	if (cl.frames_in == 0)
		client_failed(-ECONNRESET,
			      "memreclaimd dropped the connection before "
			      "answering (refused: not a member of its "
			      "client_group, or too many clients; its log "
			      "says which)");
	else
		client_failed(-ECONNRESET, "memreclaimd closed the connection");
	client_close(now_ns, 0);
}

/* Connect, register, and send the first STATS at once so the daemon can
 * decide about us without waiting a whole interval. */
/* Who listens on the socket path is not proof of who it is: a shared
 * hostPath or a writable directory lets anyone bind there and send TRIM
 * and LIMIT.  The daemon runs as root (or as the uid in the daemon_uid
 * option); anything else is refused like a failed connect. */
static int
client_server_trusted(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    len != sizeof(cr))
		return 0;
	if (cr.uid == 0 || cr.uid == (uid_t)mri_opt(MRI_OPT_DAEMON_UID))
		return 1;
	CLIENT_COUNT(servers_refused, 1);
	{
		char m[sizeof(cl.err_msg)];
		struct mri_diag d = {m, sizeof(m), 0};

		m[0] = '\0';
		mri_diag_put(&d, "refused the listener on ");
		mri_diag_put_safe(&d, mri_opt_socket(), 80, '\0');
		mri_diag_put(&d, ": it runs as uid ");
		mri_diag_put_u(&d, (uint64_t)cr.uid);
		mri_diag_put(&d, ", not root or MEMRECLAIM_DAEMON_UID");
		client_failed(-EPERM, m);
	}
	return 0;
}

static void
client_connect(uint64_t now_ns)
{
	struct sockaddr_un sa;
	struct mr_proto_hello hello;
	char buf[MR_PROTO_MAX_FRAME];
	const char *path = mri_opt_socket();
	size_t plen = strlen(path);
	int len, rc;

	cl.connected_ns = now_ns;
	if (plen == 0 || plen >= sizeof(sa.sun_path)) {
		client_connect_failed(path, ENAMETOOLONG);
		goto failed;
	}
	cl.fd =
	    socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cl.fd < 0) {
		client_connect_failed(path, errno);
		goto failed;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen + 1);
	/* A Unix socket connects at once or fails (ENOENT: no daemon,
	 * ECONNREFUSED: stale socket, EAGAIN: backlog full): nothing to
	 * wait for, so no EINPROGRESS state. */
	do
		rc = connect(cl.fd, (struct sockaddr *)&sa, sizeof(sa));
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		client_connect_failed(path, errno);
		goto failed;
	}
	if (!client_server_trusted(cl.fd))
		goto failed;

	memset(&hello, 0, sizeof(hello));
	hello.lib_version = MR_PROTO_LIBVERSION(
	    MR_VERSION_MAJOR, MR_VERSION_MINOR, MR_VERSION_PATCH);
	hello.features = MR_FEAT_TRIM_LAZY | MR_FEAT_TRIM_NOW | MR_FEAT_LIMIT;
	hello.stats_interval_ms = (uint32_t)(client_interval_ns() / 1000000);
	len = mrc_proto_encode_hello(buf, sizeof(buf), ++cl.seq, &hello);
	if (len < 0 || client_send(buf, len) < 0)
		goto failed;
	__atomic_store_n(&cl.n.connected, 1, __ATOMIC_RELAXED);
	CLIENT_COUNT(connects, 1);
	cl.frames_in = 0;
	if (mri_opt(MRI_OPT_TRACE) && !cl.up_said) {
		char b[200];
		struct mri_diag d;

		mri_diag_begin(&d, b, sizeof(b), 1);
		mri_diag_put(&d, "daemon: connected to memreclaimd at ");
		mri_diag_put_safe(&d, path, 108, '\0');
		mri_diag_put(&d, " (HELLO sent)");
		mri_diag_end(&d, 2);
		cl.up_said = 1;
	}
	if (client_send_stats() < 0) {
		client_lost(now_ns);
		return;
	}
	cl.next_stats_ns = now_ns + client_interval_ns();
	return;

failed:
	if (cl.fd >= 0)
		close(cl.fd);
	cl.fd = -1;
	CLIENT_COUNT(connect_failures, 1);
	client_retry_later(now_ns);
}

/* Release what the daemon asks and say how it went.  0, or -errno when
 * the connection is gone. */
static int
client_obey_trim(const struct mr_proto_msg *m)
{
	struct mr_proto_trim_done done;
	enum mr_urgency urg = m->u.trim.urgency == MR_PROTO_URGENCY_NOW
				  ? MR_URGENCY_NOW
				  : MR_URGENCY_LAZY;
	size_t bytes =
	    m->u.trim.bytes > SIZE_MAX ? SIZE_MAX : (size_t)m->u.trim.bytes;
	char buf[MR_PROTO_MAX_FRAME];
	uint64_t t0;
	ssize_t r;
	int len;

	CLIENT_COUNT(trims_received, 1);
	t0 = mri_os->now_ns();
	r = cl.ops->release(bytes, urg);
	memset(&done, 0, sizeof(done));
	done.duration_ns = mri_os->now_ns() - t0;
	if (r >= 0) {
		done.released_bytes = (uint64_t)r;
		CLIENT_COUNT(trim_bytes_released, (uint64_t)r);
	} else {
		done.error = r < -4095 ? -EIO : (int32_t)r;
	}
	memset(&cl.st, 0, sizeof(cl.st));
	cl.st.size = sizeof(cl.st);
	if (cl.ops->stats_get(&cl.st) == 0)
		done.backend = client_backend(cl.st.purge_backend);
	len = mrc_proto_encode_trim_done(buf, sizeof(buf), m->hdr.seq, &done);
	if (len < 0)
		return 0;
	len = client_send(buf, len);
	return len == -EAGAIN ? 0 : len;
}

/* A heap profile in PROF_DATA frames.  The socket is non-blocking and the
 * daemon forwards as it reads: on a full socket wait for room, up to a
 * second per frame, then give up (the daemon sees the dump end). */
struct client_prof {
	struct mr_proto_prof_data pd;
	uint64_t bytes;
};

static int
client_send_wait(const void *buf, int len)
{
	struct pollfd p = {.fd = cl.fd, .events = POLLOUT};
	int rc;

	while ((rc = client_send(buf, len)) == -EAGAIN)
		if (poll(&p, 1, 1000) <= 0)
			return -ETIMEDOUT;
	return rc;
}

static int
client_prof_flush(struct client_prof *cp)
{
	char buf[MR_PROTO_MAX_FRAME];
	int len;

	if (cp->pd.len == 0)
		return 0;
	len = mrc_proto_encode(buf, sizeof(buf), MR_MSG_PROF_DATA, ++cl.seq,
			       &cp->pd);
	if (len < 0)
		return len;
	cp->bytes += cp->pd.len;
	memset(&cp->pd, 0, sizeof(cp->pd));
	return client_send_wait(buf, len);
}

static int
client_prof_sink(void *ctx, const void *p, size_t n)
{
	struct client_prof *cp = ctx;
	const unsigned char *b = p;
	int rc;

	while (n) {
		size_t k = MR_PROTO_PROF_CHUNK - cp->pd.len;
		if (k > n)
			k = n;
		if (cp->bytes + cp->pd.len + k > MR_PROTO_PROF_MAX)
			return -EFBIG;
		memcpy(cp->pd.data + cp->pd.len, b, k);
		cp->pd.len += (uint32_t)k;
		b += k;
		n -= k;
		if (cp->pd.len == MR_PROTO_PROF_CHUNK &&
		    (rc = client_prof_flush(cp)) < 0)
			return rc;
	}
	return 0;
}

/* PROF_REQUEST: dump (PROF_DATA..., PROF_END) or switch sampling. */
static int
client_obey_prof(const struct mr_proto_prof_request *r)
{
	static struct client_prof cp; /* scavenger thread only */
	struct mr_proto_prof_end end = {0};
	char buf[MR_PROTO_MAX_FRAME], num[24];
	int len, rc, i;
	uint64_t v;

	if (r->op == MR_PROF_OP_SET) {
		if (r->interval_bytes == 0)
			return cl.ops->option_set("prof", "0") < 0 ? -EINVAL : 0;
		/* decimal, no stdio */
		for (v = r->interval_bytes, i = (int)sizeof(num) - 1,
		    num[i] = '\0';
		     v; v /= 10)
			num[--i] = (char)('0' + v % 10);
		if (cl.ops->option_set("prof_interval", num + i) == 0)
			(void)cl.ops->option_set("prof", "1");
		return 0;
	}
	memset(&cp, 0, sizeof(cp));
	rc = cl.ops->profile_write((int)r->kind, client_prof_sink, &cp);
	if (rc == 0)
		rc = client_prof_flush(&cp);
	if (rc == -ETIMEDOUT || (rc < 0 && cl.fd < 0))
		return rc;
	end.status = rc < -4095 ? -EIO : rc;
	end.bytes = cp.bytes;
	len = mrc_proto_encode(buf, sizeof(buf), MR_MSG_PROF_END, ++cl.seq,
			       &end);
	return len < 0 ? len : client_send_wait(buf, len);
}

/* Read and obey what the daemon sent.  Closes the connection on EOF, error,
 * BYE, or a frame a client must not receive. */
static void
client_read(uint64_t now_ns)
{
	/* One byte more than any valid frame: an oversized datagram shows. */
	char buf[MR_PROTO_MAX_FRAME + 1];
	struct mr_proto_msg m;
	int i, type;

	for (i = 0; i < CLIENT_FRAMES_PER_TICK && cl.fd >= 0; i++) {
		ssize_t n = client_recv(buf, sizeof(buf));

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			/* EOF (daemon gone) or a socket error. */
			client_lost(now_ns);
			return;
		}
		type = mrc_proto_decode(buf, (size_t)n, &m);
		cl.frames_in++;
		switch (type) {
		case MR_MSG_TRIM:
			if (client_obey_trim(&m) < 0)
				client_close(now_ns, 0);
			break;
		case MR_MSG_LIMIT: {
			uint64_t lim = m.u.limit.limit_bytes;

			CLIENT_COUNT(limits_received, 1);
			cl.limit_held = lim != 0;
			(void)cl.ops->limit_set(lim > SIZE_MAX ? SIZE_MAX
							       : (size_t)lim);
			break;
		}
		case MR_MSG_PROF_REQUEST:
			if (client_obey_prof(&m.u.prof_request) < 0)
				client_close(now_ns, 0);
			break;
		case MR_MSG_BYE:
			client_bye(now_ns, m.u.bye.reason);
			break;
		default:
			/* Malformed, or a type only clients send. */
			client_reject(now_ns);
			break;
		}
	}
}

int
mri_client_fd(void)
{
	return cl.fd;
}

void
mri_client_tick(uint64_t now_ns)
{
	if (!mri_opt(MRI_OPT_DAEMON)) {
		if (cl.fd >= 0)
			mri_client_stop();
		return;
	}
	if (cl.fd < 0) {
		if (now_ns < cl.next_connect_ns)
			return;
		client_connect(now_ns);
		if (cl.fd < 0)
			return;
	}
	client_read(now_ns);
	if (cl.fd >= 0 && now_ns >= cl.next_stats_ns) {
		if (client_send_stats() < 0) {
			client_lost(now_ns);
			return;
		}
		/* Keep the period even if a tick came late. */
		cl.next_stats_ns += client_interval_ns();
		if (cl.next_stats_ns <= now_ns)
			cl.next_stats_ns = now_ns + client_interval_ns();
	}
}

uint64_t
mri_client_next_ns(void)
{
	if (!mri_opt(MRI_OPT_DAEMON))
		return UINT64_MAX;
	return cl.fd >= 0 ? cl.next_stats_ns : cl.next_connect_ns;
}

void
mri_client_stop(void)
{
	if (cl.fd < 0)
		return;
	(void)client_send_bye(MR_BYE_NORMAL);
	close(cl.fd);
	cl.fd = -1;
	__atomic_store_n(&cl.n.connected, 0, __ATOMIC_RELAXED);
	CLIENT_COUNT(disconnects, 1);
	cl.next_connect_ns = 0;
	cl.backoff_ns = MRI_CLIENT_BACKOFF_MIN_NS;
}

/* The child shares the parent's socket: closing our copy leaves the
 * parent's connection alone, and the child registers as itself (its own
 * SO_PEERCRED pid) on its first tick.  Async-signal-safe. */
void
mri_client_atfork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	/* held, maybe, by a thread that does not exist in the child */
	cl.err_lock = fresh;
	if (cl.fd >= 0)
		close(cl.fd);
	cl.fd = -1;
	__atomic_store_n(&cl.n.connected, 0, __ATOMIC_RELAXED);
	cl.next_connect_ns = 0;
	cl.backoff_ns = MRI_CLIENT_BACKOFF_MIN_NS;
}

void
mri_client_stats(struct mr_stats *st)
{
	st->trims_received =
	    __atomic_load_n(&cl.n.trims_received, __ATOMIC_RELAXED);
	st->daemon_connected =
	    __atomic_load_n(&cl.n.connected, __ATOMIC_RELAXED);
	st->daemon_connects = __atomic_load_n(&cl.n.connects, __ATOMIC_RELAXED);
	st->daemon_connect_failures =
	    __atomic_load_n(&cl.n.connect_failures, __ATOMIC_RELAXED);
	st->trim_released_bytes =
	    __atomic_load_n(&cl.n.trim_bytes_released, __ATOMIC_RELAXED);
	pthread_mutex_lock(&cl.err_lock);
	st->daemon_error = cl.err;
	_Static_assert(sizeof(st->daemon_error_msg) == sizeof(cl.err_msg),
		       "the reason fits mr_stats");
	memcpy(st->daemon_error_msg, cl.err_msg, sizeof(st->daemon_error_msg));
	pthread_mutex_unlock(&cl.err_lock);
}

void
mri_client_counters(struct mri_client_counters *c)
{
#define CLIENT_LOAD(field)                                                     \
	c->field = __atomic_load_n(&cl.n.field, __ATOMIC_RELAXED)
	CLIENT_LOAD(connects);
	CLIENT_LOAD(connect_failures);
	CLIENT_LOAD(disconnects);
	CLIENT_LOAD(trims_received);
	CLIENT_LOAD(trim_bytes_released);
	CLIENT_LOAD(limits_received);
	CLIENT_LOAD(stats_sent);
	CLIENT_LOAD(frames_dropped);
	CLIENT_LOAD(frames_rejected);
	CLIENT_LOAD(servers_refused);
	CLIENT_LOAD(connected);
#undef CLIENT_LOAD
}

void
mri_client_set_ops(const struct mri_client_ops *ops)
{
	cl.ops = ops ? ops : &client_ops_real;
}
