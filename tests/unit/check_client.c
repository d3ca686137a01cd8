/*
 * check_client.c: the library's daemon client (lib/client/client.c) against a
 * fake memreclaimd made of a real SOCK_SEQPACKET listening socket in a
 * temporary directory.  The fake reads and writes frames with the shared
 * codec (memreclaim/protocol.h), so what it sees is what the real daemon
 * would see.  The client's heap side (mr_release, mr_limit_set,
 * mr_stats_get) goes through the mri_client_ops seam, so the tests know
 * exactly what the client was told to do.  Time is passed in: no test
 * depends on how fast this machine is.
 *
 * Each test runs in its own process (Check's fork mode is forced), so the
 * client's static state starts fresh.  The end-to-end test with the real
 * daemon and the real allocator is tests/system/sys_client_e2e.sh.
 */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memreclaim.h"
#include "memreclaim/protocol.h"
#include "common/protocol.h"
#include "client/client.h"
#include "os/options.h"
#include "check_main.h"

#define MS(x) ((uint64_t)(x) * 1000000ULL)
#define MiB (1024ULL * 1024)
/* Fake clock origin: far from 0 so "never" and "now" differ. */
#define T0 MS(1000000)

static char tmpdir[64];
static char sockpath[108];
static int lfd = -1;	/* the fake daemon's listening socket */
static int cfd = -1;	/* its accepted connection to the client */

/* What the client asked of the heap. */
static struct {
	int releases;
	size_t release_bytes;
	enum mr_urgency release_urgency;
	ssize_t release_ret;
	int limits;
	size_t limit_bytes;
} heap;

static ssize_t
fake_release(size_t bytes, enum mr_urgency urgency)
{
	heap.releases++;
	heap.release_bytes = bytes;
	heap.release_urgency = urgency;
	return heap.release_ret;
}

static int
fake_limit_set(size_t bytes)
{
	heap.limits++;
	heap.limit_bytes = bytes;
	return 0;
}

/* Distinct figures so a field sent in the wrong slot shows. */
static int
fake_stats_get(struct mr_stats *st)
{
	st->version = MR_STATS_VERSION;
	st->allocated_bytes = 11 * MiB;
	st->in_use_bytes = 12 * MiB;
	st->idle_bytes = 13 * MiB;
	st->released_bytes = 14 * MiB;
	st->lazy_freed_bytes = 15 * MiB;
	st->mapped_bytes = 16 * MiB;
	st->retained_bytes = 17 * MiB;
	st->rss_bytes = 18 * MiB;
	st->limit_bytes = 19 * MiB;
	st->purge_backend = MR_PURGE_URING;
	return 0;
}

static const struct mri_client_ops fake_ops = {
	.release = fake_release,
	.limit_set = fake_limit_set,
	.stats_get = fake_stats_get,
};

static void
daemon_listen(void)
{
	struct sockaddr_un sa;

	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sockpath);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
}

/* The daemon goes away: connection and socket file both. */
static void
daemon_stop(void)
{
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	cfd = lfd = -1;
	unlink(sockpath);
}

/* Accept the client's pending connection; fails the test if none. */
static void
daemon_accept(void)
{
	if (cfd >= 0)
		close(cfd);
	cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ck_assert_msg(cfd >= 0, "no pending connection: %s", strerror(errno));
}

/* Next frame from the client: its type, 0 on EOF, -EAGAIN when nothing is
 * queued, or the decode error. */
static int
daemon_recv(struct mr_proto_msg *m)
{
	char buf[MR_PROTO_MAX_FRAME + 1];
	ssize_t n = recv(cfd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	return mrc_proto_decode(buf, (size_t)n, m);
}

static void
daemon_expect(int type, struct mr_proto_msg *m)
{
	int got = daemon_recv(m);

	ck_assert_msg(got == type, "expected frame type %d, got %d", type,
		      got);
}

static void
daemon_send_raw(const void *buf, size_t len)
{
	ck_assert_int_eq(send(cfd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void
daemon_send(uint16_t type, uint32_t seq, const void *payload)
{
	char buf[MR_PROTO_MAX_FRAME];
	int len = mrc_proto_encode(buf, sizeof(buf), type, seq, payload);

	ck_assert_int_gt(len, 0);
	daemon_send_raw(buf, (size_t)len);
}

static void
daemon_send_trim(uint64_t bytes, uint32_t urgency, uint32_t seq)
{
	struct mr_proto_trim t = { .bytes = bytes, .urgency = urgency,
				   .deadline_ms = 500 };

	daemon_send(MR_MSG_TRIM, seq, &t);
}

static struct mri_client_counters
counters(void)
{
	struct mri_client_counters c;

	mri_client_counters(&c);
	return c;
}

/* Client connects at T0, daemon accepts and eats HELLO and first STATS. */
static void
connect_client(uint64_t now)
{
	struct mr_proto_msg m;

	mri_client_tick(now);
	ck_assert_int_ge(mri_client_fd(), 0);
	daemon_accept();
	daemon_expect(MR_MSG_HELLO, &m);
	daemon_expect(MR_MSG_STATS, &m);
	ck_assert_int_eq(daemon_recv(&m), -EAGAIN);
}

static char uidbuf[16];

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/check_client.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(sockpath, sizeof(sockpath), "%s/d.sock", tmpdir);
	ck_assert_int_eq(mr_option_set("socket", sockpath), 0);
	ck_assert_int_eq(mr_option_set("daemon", "1"), 0);
	ck_assert_int_eq(mr_option_set("stats_interval_ms", "1000"), 0);
	/* the fake daemon runs as us: trust our uid as the daemon's */
	snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned)getuid());
	ck_assert_int_eq(mr_option_set("daemon_uid", uidbuf), 0);
	memset(&heap, 0, sizeof(heap));
	mri_client_set_ops(&fake_ops);
}

static void
teardown(void)
{
	mri_client_stop();
	daemon_stop();
	rmdir(tmpdir);
}

START_TEST(test_client_silent_without_daemon)
{
	uint64_t now = T0, want = MRI_CLIENT_BACKOFF_MIN_NS;
	struct mri_client_counters c;
	int i;

	/* No socket file: every attempt fails quietly and the wait doubles
	 * from 100 ms to the 10 s cap. */
	for (i = 0; i < 12; i++) {
		mri_client_tick(now);
		ck_assert_int_eq(mri_client_fd(), -1);
		ck_assert_uint_eq(mri_client_next_ns() - now, want);
		/* A tick before the next attempt does not try. */
		mri_client_tick(mri_client_next_ns() - 1);
		ck_assert_uint_eq(counters().connect_failures, (uint64_t)i + 1);
		now = mri_client_next_ns();
		want *= 2;
		if (want > MRI_CLIENT_BACKOFF_MAX_NS)
			want = MRI_CLIENT_BACKOFF_MAX_NS;
	}
	ck_assert_uint_eq(want, MRI_CLIENT_BACKOFF_MAX_NS);
	c = counters();
	ck_assert_uint_eq(c.connects, 0);
	ck_assert_uint_eq(c.connected, 0);
	ck_assert_int_eq(heap.releases, 0);
}
END_TEST

START_TEST(test_client_sends_hello_first_then_periodic_stats)
{
	struct mr_proto_msg m;
	struct mr_stats st;

	daemon_listen();
	mri_client_tick(T0);
	ck_assert_int_ge(mri_client_fd(), 0);
	daemon_accept();

	daemon_expect(MR_MSG_HELLO, &m);
	ck_assert_uint_eq(m.u.hello.lib_version,
			  MR_PROTO_LIBVERSION(MR_VERSION_MAJOR,
					      MR_VERSION_MINOR,
					      MR_VERSION_PATCH));
	ck_assert_uint_eq(m.u.hello.features,
			  MR_FEAT_TRIM_LAZY | MR_FEAT_TRIM_NOW | MR_FEAT_LIMIT);
	ck_assert_uint_eq(m.u.hello.stats_interval_ms, 1000);

	/* The first STATS follows HELLO at once, with the heap's figures in
	 * their own fields. */
	daemon_expect(MR_MSG_STATS, &m);
	ck_assert_uint_eq(m.u.stats.allocated_bytes, 11 * MiB);
	ck_assert_uint_eq(m.u.stats.in_use_bytes, 12 * MiB);
	ck_assert_uint_eq(m.u.stats.idle_bytes, 13 * MiB);
	ck_assert_uint_eq(m.u.stats.released_bytes, 14 * MiB);
	ck_assert_uint_eq(m.u.stats.lazy_freed_bytes, 15 * MiB);
	ck_assert_uint_eq(m.u.stats.mapped_bytes, 16 * MiB);
	ck_assert_uint_eq(m.u.stats.retained_bytes, 17 * MiB);
	ck_assert_uint_eq(m.u.stats.rss_bytes, 18 * MiB);
	ck_assert_uint_eq(m.u.stats.limit_bytes, 19 * MiB);
	ck_assert_uint_eq(m.u.stats.purge_backend, MR_PURGE_URING);
	ck_assert_int_eq(daemon_recv(&m), -EAGAIN);

	/* Nothing before the interval, one STATS per interval after. */
	ck_assert_uint_eq(mri_client_next_ns(), T0 + MS(1000));
	mri_client_tick(T0 + MS(999));
	ck_assert_int_eq(daemon_recv(&m), -EAGAIN);
	mri_client_tick(T0 + MS(1000));
	daemon_expect(MR_MSG_STATS, &m);
	ck_assert_int_eq(daemon_recv(&m), -EAGAIN);
	ck_assert_uint_eq(mri_client_next_ns(), T0 + MS(2000));
	/* A late tick sends one STATS, not a burst. */
	mri_client_tick(T0 + MS(4500));
	daemon_expect(MR_MSG_STATS, &m);
	ck_assert_int_eq(daemon_recv(&m), -EAGAIN);
	ck_assert_uint_gt(mri_client_next_ns(), T0 + MS(4500));

	ck_assert_uint_eq(counters().stats_sent, 3);
	memset(&st, 0, sizeof(st));
	mri_client_stats(&st);
	ck_assert_uint_eq(st.daemon_connected, 1);
}
END_TEST

START_TEST(test_client_obeys_trim_and_answers_trim_done)
{
	struct mr_proto_msg m;
	struct mr_stats st;

	daemon_listen();
	connect_client(T0);

	heap.release_ret = 4 * MiB;
	daemon_send_trim(5 * MiB, MR_PROTO_URGENCY_NOW, 77);
	ck_assert_int_eq(heap.releases, 0);	/* only on the tick */
	mri_client_tick(T0 + MS(10));
	ck_assert_int_eq(heap.releases, 1);
	ck_assert_uint_eq(heap.release_bytes, 5 * MiB);
	ck_assert_int_eq(heap.release_urgency, MR_URGENCY_NOW);

	daemon_expect(MR_MSG_TRIM_DONE, &m);
	ck_assert_uint_eq(m.hdr.seq, 77);	/* echoes the TRIM's */
	ck_assert_uint_eq(m.u.trim_done.released_bytes, 4 * MiB);
	ck_assert_int_eq(m.u.trim_done.error, 0);
	ck_assert_uint_eq(m.u.trim_done.backend, MR_PURGE_URING);

	/* Mild pressure: MADV_FREE. */
	heap.release_ret = 1 * MiB;
	daemon_send_trim(2 * MiB, MR_PROTO_URGENCY_LAZY, 78);
	mri_client_tick(T0 + MS(20));
	ck_assert_int_eq(heap.release_urgency, MR_URGENCY_LAZY);
	daemon_expect(MR_MSG_TRIM_DONE, &m);
	ck_assert_uint_eq(m.hdr.seq, 78);
	ck_assert_uint_eq(m.u.trim_done.released_bytes, 1 * MiB);

	/* Counted for mr_stats and reported in the next STATS. */
	memset(&st, 0, sizeof(st));
	mri_client_stats(&st);
	ck_assert_uint_eq(st.trims_received, 2);
	ck_assert_uint_eq(counters().trim_bytes_released, 5 * MiB);
	mri_client_tick(T0 + MS(1000));
	daemon_expect(MR_MSG_STATS, &m);
	ck_assert_uint_eq(m.u.stats.trims_received, 2);
}
END_TEST

START_TEST(test_client_reports_a_failed_release)
{
	struct mr_proto_msg m;

	daemon_listen();
	connect_client(T0);
	heap.release_ret = -ENOMEM;
	daemon_send_trim(8 * MiB, MR_PROTO_URGENCY_NOW, 5);
	mri_client_tick(T0 + MS(1));
	daemon_expect(MR_MSG_TRIM_DONE, &m);
	ck_assert_uint_eq(m.u.trim_done.released_bytes, 0);
	ck_assert_int_eq(m.u.trim_done.error, -ENOMEM);
	/* Still connected and still obeying. */
	heap.release_ret = 0;
	daemon_send_trim(1, MR_PROTO_URGENCY_LAZY, 6);
	mri_client_tick(T0 + MS(2));
	daemon_expect(MR_MSG_TRIM_DONE, &m);
	ck_assert_uint_eq(m.hdr.seq, 6);
}
END_TEST

START_TEST(test_client_applies_limit)
{
	struct mr_proto_limit l = { .limit_bytes = 256 * MiB };

	daemon_listen();
	connect_client(T0);
	daemon_send(MR_MSG_LIMIT, 9, &l);
	mri_client_tick(T0 + MS(1));
	ck_assert_int_eq(heap.limits, 1);
	ck_assert_uint_eq(heap.limit_bytes, 256 * MiB);
	/* 0 lifts the limit. */
	l.limit_bytes = 0;
	daemon_send(MR_MSG_LIMIT, 10, &l);
	mri_client_tick(T0 + MS(2));
	ck_assert_int_eq(heap.limits, 2);
	ck_assert_uint_eq(heap.limit_bytes, 0);
	ck_assert_uint_eq(counters().limits_received, 2);
}
END_TEST

/* With the real heap side: the daemon's LIMIT tightens the process's own
 * limit but never erases or loosens it, 0 means "no opinion", and the
 * daemon's limit lapses with its connection (on 38dc707 a LIMIT of 0
 * erased MEMRECLAIM_LIMIT and the daemon's limit outlived the daemon). */
START_TEST(test_client_daemon_limit_never_erases_the_process_limit)
{
	struct mr_proto_limit l = { .limit_bytes = 64 * MiB };

	mri_client_set_ops(NULL);
	ck_assert_int_eq(mr_limit_set(128 * MiB), 0);
	daemon_listen();
	connect_client(T0);
	daemon_send(MR_MSG_LIMIT, 9, &l);
	mri_client_tick(T0 + MS(1));
	ck_assert_uint_eq(mr_limit_get(), 64 * MiB);
	/* 0: no opinion; the process's own limit stands */
	l.limit_bytes = 0;
	daemon_send(MR_MSG_LIMIT, 10, &l);
	mri_client_tick(T0 + MS(2));
	ck_assert_uint_eq(mr_limit_get(), 128 * MiB);
	/* a looser limit does not loosen */
	l.limit_bytes = 1024 * MiB;
	daemon_send(MR_MSG_LIMIT, 11, &l);
	mri_client_tick(T0 + MS(3));
	ck_assert_uint_eq(mr_limit_get(), 128 * MiB);
	/* tighter again, then the daemon goes away: the hint lapses */
	l.limit_bytes = 32 * MiB;
	daemon_send(MR_MSG_LIMIT, 12, &l);
	mri_client_tick(T0 + MS(4));
	ck_assert_uint_eq(mr_limit_get(), 32 * MiB);
	daemon_stop();
	mri_client_tick(T0 + MS(5));
	ck_assert_int_eq(mri_client_fd(), -1);
	ck_assert_uint_eq(mr_limit_get(), 128 * MiB);
	/* the process may still lift its own */
	ck_assert_int_eq(mr_limit_set(0), 0);
	ck_assert_uint_eq(mr_limit_get(), 0);
}
END_TEST

START_TEST(test_client_rejoins_a_restarted_daemon)
{
	struct mr_proto_msg m;
	struct mr_stats st;
	uint64_t now = T0 + MS(5000), retry;

	/* Started before the daemon: three failures (100, 200, 400 ms). */
	mri_client_tick(T0 - MS(700));
	mri_client_tick(T0 - MS(600));
	mri_client_tick(T0 - MS(400));
	ck_assert_uint_eq(counters().connect_failures, 3);
	ck_assert_uint_eq(mri_client_next_ns(), T0);
	daemon_listen();
	connect_client(T0);
	mri_client_tick(T0 + MS(1000));		/* up for a while */
	daemon_expect(MR_MSG_STATS, &m);

	/* The daemon dies: the client sees EOF and plans a retry 100 ms on
	 * (the connection was stable, so the backoff starts over). */
	daemon_stop();
	mri_client_tick(now);
	ck_assert_int_eq(mri_client_fd(), -1);
	memset(&st, 0, sizeof(st));
	mri_client_stats(&st);
	ck_assert_uint_eq(st.daemon_connected, 0);
	ck_assert_uint_eq(counters().disconnects, 1);
	ck_assert_uint_eq(mri_client_next_ns(), now + MS(100));

	/* Still down: the waits grow. */
	now = mri_client_next_ns();
	mri_client_tick(now);
	ck_assert_int_eq(mri_client_fd(), -1);
	ck_assert_uint_eq(mri_client_next_ns(), now + MS(200));
	now = mri_client_next_ns();
	mri_client_tick(now);
	ck_assert_uint_eq(mri_client_next_ns(), now + MS(400));

	/* It comes back: the next attempt registers again, HELLO first. */
	daemon_listen();
	retry = mri_client_next_ns();
	mri_client_tick(retry - 1);
	ck_assert_int_eq(mri_client_fd(), -1);
	mri_client_tick(retry);
	ck_assert_int_ge(mri_client_fd(), 0);
	daemon_accept();
	daemon_expect(MR_MSG_HELLO, &m);
	daemon_expect(MR_MSG_STATS, &m);
	ck_assert_uint_eq(counters().connects, 2);

	/* And it obeys the new daemon. */
	heap.release_ret = 3 * MiB;
	daemon_send_trim(3 * MiB, MR_PROTO_URGENCY_NOW, 1);
	mri_client_tick(retry + MS(1));
	daemon_expect(MR_MSG_TRIM_DONE, &m);
	ck_assert_uint_eq(m.u.trim_done.released_bytes, 3 * MiB);
}
END_TEST

START_TEST(test_client_backs_off_from_a_daemon_that_drops_it_at_once)
{
	uint64_t now = T0;
	int i;

	daemon_listen();
	/* Each connection is accepted then closed within the same ms: the
	 * backoff keeps doubling instead of restarting at 100 ms. */
	for (i = 0; i < 4; i++) {
		connect_client(now);
		close(cfd);
		cfd = -1;
		mri_client_tick(now + MS(1));
		ck_assert_int_eq(mri_client_fd(), -1);
		ck_assert_uint_eq(mri_client_next_ns() - (now + MS(1)),
				  MS(100) << i);
		now = mri_client_next_ns();
	}
}
END_TEST

START_TEST(test_client_drops_a_malformed_frame)
{
	struct mr_proto_msg m;
	struct mr_proto_stats s;
	char junk[40];
	uint64_t disconnects, now;

	daemon_listen();
	connect_client(T0);
	memset(junk, 0x5a, sizeof(junk));
	daemon_send_raw(junk, sizeof(junk));
	mri_client_tick(T0 + MS(1));
	ck_assert_int_eq(mri_client_fd(), -1);
	ck_assert_uint_eq(counters().frames_rejected, 1);
	/* The daemon is told why, then sees EOF. */
	daemon_expect(MR_MSG_BYE, &m);
	ck_assert_uint_eq(m.u.bye.reason, MR_BYE_PROTOCOL);
	ck_assert_int_eq(daemon_recv(&m), 0);
	ck_assert_int_eq(heap.releases, 0);
	disconnects = counters().disconnects;
	ck_assert_uint_eq(disconnects, 1);

	/* A frame only a client may send (STATS) is refused too. */
	now = mri_client_next_ns();
	connect_client(now);
	memset(&s, 0, sizeof(s));
	daemon_send(MR_MSG_STATS, 1, &s);
	mri_client_tick(now + MS(1));
	ck_assert_int_eq(mri_client_fd(), -1);
	ck_assert_uint_eq(counters().frames_rejected, 2);
}
END_TEST

START_TEST(test_client_rejects_an_oversized_frame)
{
	char big[MR_PROTO_MAX_FRAME + 100];
	struct mr_proto_trim t = { .bytes = MiB, .urgency = 2 };
	int len;

	daemon_listen();
	connect_client(T0);
	/* A valid TRIM followed by garbage: too long, so not obeyed. */
	memset(big, 0, sizeof(big));
	len = mrc_proto_encode(big, sizeof(big), MR_MSG_TRIM, 1, &t);
	ck_assert_int_gt(len, 0);
	daemon_send_raw(big, sizeof(big));
	mri_client_tick(T0 + MS(1));
	ck_assert_int_eq(heap.releases, 0);
	ck_assert_int_eq(mri_client_fd(), -1);
	ck_assert_uint_eq(counters().frames_rejected, 1);
}
END_TEST

/* Refused for its version or its user: both hold until an operator acts. */
START_TEST(test_client_bye_version_waits_longest)
{
	struct mr_proto_bye b = { .reason = _i ? MR_BYE_DENIED
					      : MR_BYE_VERSION };
	struct mr_proto_msg m;

	daemon_listen();
	connect_client(T0);
	daemon_send(MR_MSG_BYE, 1, &b);
	mri_client_tick(T0 + MS(1));
	ck_assert_int_eq(mri_client_fd(), -1);
	ck_assert_uint_eq(mri_client_next_ns(),
			  T0 + MS(1) + MRI_CLIENT_BACKOFF_MAX_NS);
	ck_assert_int_eq(daemon_recv(&m), 0);	/* closed, no answer */
}
END_TEST

/* Every reason a daemon may give is said in words: the refusal of a
 * client_group (MR_BYE_DENIED) once had no line and the client read a NULL
 * (sys_client_nonroot, 1 run in 15). */
START_TEST(test_client_names_every_bye_reason)
{
	struct mr_proto_bye b = { .reason = (uint32_t)_i };
	struct mr_stats st;

	daemon_listen();
	connect_client(T0);
	daemon_send(MR_MSG_BYE, 1, &b);
	mri_client_tick(T0 + MS(1));
	ck_assert_int_eq(mri_client_fd(), -1);
	memset(&st, 0, sizeof(st));
	mri_client_stats(&st);
	ck_assert_int_eq(st.daemon_error, -ECONNRESET);
	ck_assert_msg(strstr(st.daemon_error_msg, "memreclaimd") != NULL,
		      "reason %d: \"%s\"", _i, st.daemon_error_msg);
	/* a reason of its own, not the fallback for one without a line */
	if (_i != MR_BYE_NORMAL)
		ck_assert_msg(strcmp(st.daemon_error_msg,
				     "memreclaimd closed the connection") != 0,
			      "reason %d has no line", _i);
	if (_i == MR_BYE_DENIED)
		ck_assert_ptr_nonnull(strstr(st.daemon_error_msg,
					     "client_group"));
}
END_TEST

/* A daemon that refuses at HELLO and closes with our STATS unread resets
 * the connection: the first recv fails with ECONNRESET although the BYE
 * was queued before it.  The client reads on and names the refusal (and
 * waits longest), instead of a connection dropped without an answer. */
START_TEST(test_client_reads_the_bye_behind_a_reset)
{
	struct mr_proto_bye b = { .reason = MR_BYE_DENIED };
	struct mr_stats st;

	daemon_listen();
	mri_client_tick(T0);
	ck_assert_int_ge(mri_client_fd(), 0);
	daemon_accept();
	daemon_send(MR_MSG_BYE, 1, &b);
	close(cfd);	/* HELLO and STATS unread */
	cfd = -1;
	mri_client_tick(T0 + MS(1));
	ck_assert_int_eq(mri_client_fd(), -1);
	memset(&st, 0, sizeof(st));
	mri_client_stats(&st);
	ck_assert_int_eq(st.daemon_error, -ECONNRESET);
	ck_assert_msg(strstr(st.daemon_error_msg, "refused this client") !=
			  NULL, "\"%s\"", st.daemon_error_msg);
	ck_assert_uint_eq(mri_client_next_ns(),
			  T0 + MS(1) + MRI_CLIENT_BACKOFF_MAX_NS);
}
END_TEST

START_TEST(test_client_off_when_daemon_option_is_0)
{
	daemon_listen();
	ck_assert_int_eq(mr_option_set("daemon", "0"), 0);
	mri_client_tick(T0);
	ck_assert_int_eq(mri_client_fd(), -1);
	ck_assert_uint_eq(mri_client_next_ns(), UINT64_MAX);
	ck_assert_int_lt(accept(lfd, NULL, NULL), 0);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(counters().connect_failures, 0);

	/* Switching it off later says BYE and closes. */
	ck_assert_int_eq(mr_option_set("daemon", "1"), 0);
	connect_client(T0 + MS(1));
	ck_assert_int_eq(mr_option_set("daemon", "0"), 0);
	mri_client_tick(T0 + MS(2));
	ck_assert_int_eq(mri_client_fd(), -1);
	{
		struct mr_proto_msg m;

		daemon_expect(MR_MSG_BYE, &m);
		ck_assert_uint_eq(m.u.bye.reason, MR_BYE_NORMAL);
		ck_assert_int_eq(daemon_recv(&m), 0);
	}
}
END_TEST

START_TEST(test_client_fork_child_drops_the_parents_connection)
{
	struct mr_proto_msg m;
	int status;
	pid_t pid;

	daemon_listen();
	connect_client(T0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct mr_stats st;

		mri_client_atfork_child();
		memset(&st, 0, sizeof(st));
		mri_client_stats(&st);
		/* The child has no connection and will register as itself
		 * on its first tick. */
		_exit(mri_client_fd() == -1 && st.daemon_connected == 0 &&
		      mri_client_next_ns() == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The child's close left the parent's connection working. */
	heap.release_ret = MiB;
	daemon_send_trim(MiB, MR_PROTO_URGENCY_NOW, 3);
	mri_client_tick(T0 + MS(1));
	daemon_expect(MR_MSG_TRIM_DONE, &m);
	ck_assert_uint_eq(m.hdr.seq, 3);
	ck_assert_int_ge(mri_client_fd(), 0);
}
END_TEST

START_TEST(test_client_handles_a_burst_of_trims_in_order)
{
	struct mr_proto_msg m;
	uint32_t i, n = 40;

	daemon_listen();
	connect_client(T0);
	heap.release_ret = 4096;
	for (i = 1; i <= n; i++)
		daemon_send_trim(4096, MR_PROTO_URGENCY_LAZY, i);
	/* A tick handles a bounded number; repeated ticks drain them all,
	 * each answered in order. */
	for (i = 0; i < 10 && heap.releases < (int)n; i++)
		mri_client_tick(T0 + MS(1));
	ck_assert_int_eq(heap.releases, (int)n);
	for (i = 1; i <= n; i++) {
		daemon_expect(MR_MSG_TRIM_DONE, &m);
		ck_assert_uint_eq(m.hdr.seq, i);
	}
}
END_TEST

/* A fake daemon bound on the socket path by an unprivileged user (a
 * shared hostPath, a world-writable directory) gets no HELLO and cannot
 * send TRIM or LIMIT: the client checks SO_PEERCRED before it registers. */
START_TEST(test_client_refuses_a_server_of_another_uid)
{
	struct mri_client_counters c0 = counters(), c1;
	struct sockaddr_un sa;
	int ready[2], done[2], fd;
	pid_t pid;
	char ok;

	if (geteuid() != 0) {
		check_skip("needs root to run a listener as another uid");
		return;
	}
	ck_assert_int_eq(mr_option_set("daemon_uid", "0"), 0);
	ck_assert_int_eq(chmod(tmpdir, 0777), 0);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(done), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(1);
		fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		strcpy(sa.sun_path, sockpath);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(fd, 8) < 0)
			_exit(1);
		(void)!write(ready[1], "r", 1);
		/* hold the socket until the parent closes its end */
		close(done[1]);
		(void)!read(done[0], &ok, 1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	ck_assert_int_eq(read(ready[0], &ok, 1), 1);
	mri_client_tick(T0);
	ck_assert_int_lt(mri_client_fd(), 0);
	c1 = counters();
	ck_assert_uint_eq(c1.servers_refused, c0.servers_refused + 1);
	ck_assert_uint_eq(c1.connects, c0.connects);
	close(done[1]);
	close(ready[0]);
	waitpid(pid, NULL, 0);
	unlink(sockpath);
}
END_TEST

static Suite *
client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("fake daemon");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_client_silent_without_daemon);
	tcase_add_test(tc, test_client_sends_hello_first_then_periodic_stats);
	tcase_add_test(tc, test_client_obeys_trim_and_answers_trim_done);
	tcase_add_test(tc, test_client_reports_a_failed_release);
	tcase_add_test(tc, test_client_applies_limit);
	tcase_add_test(tc,
		       test_client_daemon_limit_never_erases_the_process_limit);
	tcase_add_test(tc, test_client_rejoins_a_restarted_daemon);
	tcase_add_test(tc,
		test_client_backs_off_from_a_daemon_that_drops_it_at_once);
	tcase_add_test(tc, test_client_drops_a_malformed_frame);
	tcase_add_test(tc, test_client_rejects_an_oversized_frame);
	tcase_add_loop_test(tc, test_client_bye_version_waits_longest, 0, 2);
	tcase_add_loop_test(tc, test_client_names_every_bye_reason, 0,
			    MR_BYE_MAX + 1);
	tcase_add_test(tc, test_client_reads_the_bye_behind_a_reset);
	tcase_add_test(tc, test_client_off_when_daemon_option_is_0);
	tcase_add_test(tc, test_client_fork_child_drops_the_parents_connection);
	tcase_add_test(tc, test_client_handles_a_burst_of_trims_in_order);
	tcase_add_test(tc, test_client_refuses_a_server_of_another_uid);
	suite_add_tcase(s, tc);
	return s;
}

Suite *
test_suite(void)
{
	static char *const argv[] = { "check_client", NULL };

	/* The library's constructor starts the scavenger, which ticks the
	 * client on its own clock.  The tests drive the client by hand, so
	 * run them in a process whose scavenger is off from the start. */
	if (mri_opt(MRI_OPT_SCAVENGER) != 0) {
		if (getenv("CHECK_CLIENT_REEXEC")) {
			fprintf(stderr, "check_client: MEMRECLAIM_SCAVENGER=0 "
				"not in force after re-exec\n");
			exit(1);
		}
		setenv("MEMRECLAIM_SCAVENGER", "0", 1);
		setenv("CHECK_CLIENT_REEXEC", "1", 1);
		execv("/proc/self/exe", argv);
		perror("check_client: re-exec");
		exit(1);
	}
	/* Every test needs a fresh client: one process each, whatever
	 * CK_FORK says in the environment. */
	setenv("CK_FORK", "yes", 1);
	return client_suite();
}
