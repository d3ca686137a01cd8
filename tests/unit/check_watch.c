/*
 * check_watch.c: the daemon's round (watch.c with server.c and policy.c)
 * on fake cgroup and proc trees, with a client on a socketpair: a cgroup
 * near its limit gets its client a TRIM (then a LIMIT); a cgroup that
 * vanishes is forgotten and its client found in its new cgroup; a
 * directory without memory files is never watched and cannot make the
 * round loop.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "common/protocol.h"
#include "dispatch.h"
#include "transport.h"
#include "watch.h"
#include "check_main.h"
#include "daemon_test.h"

#define MIB (1ull << 20)

static struct mrd d;
static int peer = -1;

#define put dt_put
#define rm dt_rm

static void
v1_group(const char *name, const char *limit, const char *usage)
{
	char p[256];

	snprintf(p, sizeof(p), "mem/%s/memory.limit_in_bytes", name);
	put(p, limit);
	snprintf(p, sizeof(p), "mem/%s/memory.usage_in_bytes", name);
	put(p, usage);
	snprintf(p, sizeof(p), "mem/%s/memory.stat", name);
	put(p, "total_inactive_file 0\ntotal_rss 1\n");
}

static struct mrd_client *
add_client(pid_t pid, uint64_t idle)
{
	struct mrd_client *c = calloc(1, sizeof(*c));
	int sv[2];

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	c->fd = sv[0];
	peer = sv[1];
	c->pid = pid;
	c->kind = MRD_CLIENT_LIB;
	c->features = MR_FEAT_ALL;
	c->has_stats = 1;
	/* the tests' clock starts at 10 s: a STATS just before it */
	c->connected_ns = c->stats_ns = 9ull * 1000000000ull;
	c->stats.idle_bytes = idle;
	c->stats.retained_bytes = idle;
	mrc_list_add(&d.clients, &c->link);
	d.nclients++;
	return c;
}

/* The next frame the fake client received, or -EAGAIN. */
static int
next_frame(struct mr_proto_msg *m)
{
	unsigned char buf[MR_PROTO_MAX_FRAME + 1];
	ssize_t n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	return mrc_proto_decode(buf, (size_t)n, m);
}

static void
setup(void)
{
	dt_root_make("check_watch");
	v1_group("", "9223372036854771712\n", "1\n");
	v1_group("box", "1073741824\n", "1048576000\n"); /* 1000 MiB */
	put("uni/box/memory.pressure",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	put("proc/pressure/memory",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	put("proc/4242/cgroup", "4:memory:/box\n0::/box\n");
	put("proc/4242/oom_score_adj", "300\n");
	mrd_init(&d);
	dispatch_init(&d);
	conf_defaults(&d.conf);
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(d.epfd, 0);
	ck_assert_int_eq(cgfs_open(&d.fs, dt_path("mem"), 0, dt_path("uni"),
				   dt_path("proc")),
			 0);
	log_init(1, LOG_DEBUG, "check_watch");
}

static void
teardown(void)
{
	while (!mrc_list_empty(&d.clients))
		transport_drop(
		    &d, mrc_list_entry(d.clients.next, struct mrd_client, link),
		    MR_BYE_SHUTDOWN, "test over");
	transport_reap(&d);
	{
		struct mrd_cgroup *cg;

		/* every reference returned: what is left is idle, kept for
		 * its grace period */
		mrc_list_for_each(cg, &d.cgroups, link)
		    ck_assert_int_eq(cg->refs, 0);
	}
	watch_close_all(&d);
	cgfs_close(&d.fs);
	close(d.epfd);
	if (peer >= 0)
		close(peer);
	peer = -1;
	dt_root_remove();
}

START_TEST(test_watch_trims_client_of_cgroup_near_limit)
{
	struct mrd_client *c = add_client(4242, 200 * MIB);
	struct mr_proto_msg m;

	ck_assert_int_eq(watch_attach(&d, c), 0);
	ck_assert_ptr_nonnull(c->cg);
	ck_assert_str_eq(c->mem_path, "/box");
	ck_assert_str_eq(c->cg->g.psi_path, "/box");
	ck_assert_int_eq(d.ncgroups, 1);
	/* no trigger on a plain file: pressure is polled on the tick */
	ck_assert_int_eq(c->cg->trigger_fd, -1);
	ck_assert_int_eq(c->cg->s.has_psi, 1);
	watch_cycle(&d, 10ull * 1000000000ull);
	ck_assert_int_eq(c->oom_score_adj, 300); /* read from "/proc" */
	/* W 1000 MiB, L 1 GiB, H 102.4 MiB: 78.4 MiB to shed, urgent */
	ck_assert_int_eq(next_frame(&m), MR_MSG_TRIM);
	ck_assert_uint_eq(m.u.trim.bytes,
			  1048576000ull + 107374182ull - 1073741824ull);
	ck_assert_uint_eq(m.u.trim.urgency, MR_PROTO_URGENCY_NOW);
	ck_assert_uint_eq(c->pending_bytes, m.u.trim.bytes);
	ck_assert_int_eq(next_frame(&m), MR_MSG_LIMIT);
	ck_assert_uint_gt(m.u.limit.limit_bytes, 0);
	ck_assert_int_eq(next_frame(&m), -EAGAIN);
	ck_assert_uint_eq(d.n.trims_sent, 1);
	/* next round, same figures: the unanswered TRIM is not repeated */
	watch_cycle(&d, 11ull * 1000000000ull);
	ck_assert_int_eq(next_frame(&m), -EAGAIN);
}
END_TEST

START_TEST(test_watch_vanished_cgroup_is_forgotten_and_client_moves)
{
	struct mrd_client *c = add_client(4242, 0);
	struct mr_proto_msg m;

	ck_assert_int_eq(watch_attach(&d, c), 0);
	rm("mem/box");
	v1_group("box2", "9223372036854771712\n", "4096\n");
	put("proc/4242/cgroup", "4:memory:/box2\n0::/box\n");
	watch_cycle(&d, 10ull * 1000000000ull);
	ck_assert_uint_eq(d.n.cgroups_vanished, 1);
	ck_assert_ptr_nonnull(c->cg);
	ck_assert_str_eq(c->cg->g.path, "/box2");
	ck_assert_int_eq(d.ncgroups, 1);
	ck_assert_int_eq(next_frame(&m), -EAGAIN); /* nothing to do */
	/* the process's cgroup is gone too: no cgroup, no crash, retried */
	rm("mem/box2");
	put("proc/4242/cgroup", "4:memory:/box3\n0::/box\n");
	watch_cycle(&d, 11ull * 1000000000ull);
	ck_assert_ptr_null(c->cg);
	ck_assert_int_eq(d.ncgroups, 0);
	ck_assert_uint_eq(d.n.cgroups_vanished, 2);
	v1_group("box3", "9223372036854771712\n", "4096\n");
	watch_cycle(&d, 12ull * 1000000000ull);
	ck_assert_ptr_nonnull(c->cg);
	ck_assert_str_eq(c->cg->g.path, "/box3");
}
END_TEST

/* A client of a cgroup connecting, registering and leaving in a loop
 * must not cost a PSI trigger (and its open/close) each time: the cgroup
 * stays watched for WATCH_IDLE_GRACE_NS after its last client, and is
 * let go after that. */
START_TEST(test_watch_idle_cgroup_kept_for_a_grace_period)
{
	struct mrd_client *c = add_client(4242, 0);
	struct mrd_cgroup *first;
	uint64_t t = 10ull * 1000000000ull;
	int i;

	ck_assert_int_eq(watch_attach(&d, c), 0);
	first = c->cg;
	for (i = 0; i < 5; i++) {
		transport_free(&d, c);
		transport_reap(&d);
		ck_assert_int_eq(d.ncgroups, 1);
		ck_assert_int_eq(first->refs, 0);
		c = add_client(4242, 0);
		ck_assert_int_eq(watch_attach(&d, c), 0);
		ck_assert_ptr_eq(c->cg, first); /* the same, not a new one */
	}
	transport_free(&d, c);
	transport_reap(&d);
	first->idle_ns = t;
	watch_cycle(&d, t + WATCH_IDLE_GRACE_NS / 2);
	ck_assert_int_eq(d.ncgroups, 1);
	watch_cycle(&d, t + WATCH_IDLE_GRACE_NS + 1);
	ck_assert_int_eq(d.ncgroups, 0);
}
END_TEST

/* A library client whose process is gone (pid reused by another) or that
 * stopped sending STATS is dropped and counted, freeing its slot. */
START_TEST(test_watch_drops_gone_and_silent_clients)
{
	struct mrd_client *gone = add_client(4242, 0);
	struct mrd_client *silent = add_client(4243, 0);
	struct mrd_client *fine = add_client(4244, 0);

	put("proc/4243/cgroup", "4:memory:/box\n0::/box\n");
	put("proc/4244/cgroup", "4:memory:/box\n0::/box\n");
	put("proc/4242/stat", "4242 (a b) c) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 "
			      "20 0 1 0 5000 0 0\n");
	/* the pid was reused: another start time than at connect */
	gone->start_time = 4000;
	silent->stats_ns = 1;
	fine->stats_interval_ms = 1000;
	watch_cycle(&d, 12ull * 1000000000ull);
	ck_assert_int_eq(gone->dead, 1);
	ck_assert_int_eq(silent->dead, 1);
	ck_assert_int_eq(fine->dead, 0);
	ck_assert_uint_eq(d.n.clients_expired, 2);
	ck_assert_int_eq(d.nclients, 1);
	transport_reap(&d);
}
END_TEST

START_TEST(test_watch_dir_without_memory_files_is_not_watched)
{
	struct mrd_client *c = add_client(4243, 0);

	/* e.g. memory_root pointing at another controller's hierarchy */
	put("mem/cpuonly/cpu.shares", "1024\n");
	put("proc/4243/cgroup", "4:memory:/cpuonly\n0::/\n");
	put("proc/4243/oom_score_adj", "0\n");
	ck_assert_int_eq(watch_attach(&d, c), -ENOENT);
	ck_assert_ptr_null(c->cg);
	ck_assert_int_eq(d.ncgroups, 0);
	watch_cycle(&d, 10ull * 1000000000ull); /* returns */
	ck_assert_ptr_null(c->cg);
	ck_assert_int_eq(c->attach_warned, 1);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("fake");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_watch_trims_client_of_cgroup_near_limit);
	tcase_add_test(
	    tc, test_watch_vanished_cgroup_is_forgotten_and_client_moves);
	tcase_add_test(tc, test_watch_dir_without_memory_files_is_not_watched);
	tcase_add_test(tc, test_watch_idle_cgroup_kept_for_a_grace_period);
	tcase_add_test(tc, test_watch_drops_gone_and_silent_clients);
	suite_add_tcase(s, tc);
	return s;
}
