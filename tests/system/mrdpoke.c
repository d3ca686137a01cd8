/*
 * mrdpoke.c: small hostile or bulk peers of memreclimd for the system
 * tests (sys_daemon_limits.sh), speaking the protocol through the shared
 * codec.  One mode per run:
 *
 *   mrdpoke -s SOCK ctlclose N   N times: connect, send CTL_REQUEST
 *                                (STATUS, then CLIENTS), close without
 *                                reading a byte.  Prints "done N".
 *   mrdpoke -s SOCK hold N SEC   open N connections, each sending HELLO
 *                                and STATS, hold them SEC seconds; prints
 *                                "open K refused R" (R got BYE LIMIT or
 *                                could not connect) after 1 s.
 *   mrdpoke -s SOCK ctlslow      send CTL_REQUEST CLIENTS, wait 1 s before
 *                                reading (a slow operator), then count
 *                                the records: prints "records N done D"
 *                                (D: CTL_DONE's count, -1 if none came).
 *   mrdpoke -s SOCK orphan       connect, then fork and exit: the child,
 *                                holding the connection, sends HELLO and
 *                                STATS after 300 ms; prints "dropped" if
 *                                the daemon closes it, else "kept".
 *   mrdpoke -s SOCK trimdone K   register, wait (10 s at most) for a TRIM,
 *                                answer it K times with TRIM_DONE of 1 MiB;
 *                                prints "trim", then "bye REASON" if the
 *                                daemon said BYE, "closed" if it closed
 *                                without one, else "alive".
 *   mrdpoke -s SOCK refused N    N times: connect, send HELLO and STATS
 *                                at once (as the library does) and read
 *                                the answer; prints "bye R K reset X
 *                                other Y": K answers were BYE with
 *                                reason R (the last seen), X resets or
 *                                closes with no frame before them.
 *
 * Exit status 0 when the mode ran, 2 on a usage error.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/protocol.h"
#include "peer.h"

static const char *sock;

static int
poke_connect(void)
{
	return peer_connect(sock);
}

static void
poke_send(int fd, uint16_t type, uint32_t seq, const void *payload)
{
	unsigned char buf[MR_PROTO_MAX_FRAME];
	int n = mrc_proto_encode(buf, sizeof(buf), type, seq, payload);

	if (n > 0)
		(void)send(fd, buf, (size_t)n, MSG_NOSIGNAL);
}

static void
poke_register(int fd)
{
	struct mr_proto_hello h;
	struct mr_proto_stats st;

	memset(&h, 0, sizeof(h));
	h.lib_version = MR_PROTO_LIBVERSION(0, 1, 0);
	h.features = MR_FEAT_TRIM_LAZY | MR_FEAT_TRIM_NOW | MR_FEAT_LIMIT;
	h.stats_interval_ms = 1000;
	poke_send(fd, MR_MSG_HELLO, 1, &h);
	memset(&st, 0, sizeof(st));
	st.retained_bytes = st.idle_bytes = 64 << 20;
	st.rss_bytes = 64 << 20;
	poke_send(fd, MR_MSG_STATS, 2, &st);
}

static int
poke_ctlclose(int n)
{
	struct mr_proto_ctl_request r;
	int i, fd;

	for (i = 0; i < n; i++) {
		fd = poke_connect();
		if (fd < 0)
			continue;
		memset(&r, 0, sizeof(r));
		r.cmd = i % 2 ? MR_CTL_CLIENTS : MR_CTL_STATUS;
		poke_send(fd, MR_MSG_CTL_REQUEST, 1, &r);
		close(fd);
	}
	printf("done %d\n", n);
	return 0;
}

static int
poke_hold(int n, int sec)
{
	struct mr_proto_msg m;
	int *fds = calloc((size_t)n, sizeof(int));
	int i, open = 0, refused = 0;

	if (fds == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		fds[i] = poke_connect();
		if (fds[i] >= 0)
			poke_register(fds[i]);
	}
	sleep(1);
	for (i = 0; i < n; i++) {
		if (fds[i] < 0) {
			refused++;
			continue;
		}
		int t = peer_recv(fds[i], 0, &m);

		if (t == MR_MSG_BYE || t < 0) {
			refused++;
			close(fds[i]);
			fds[i] = -1;
			continue;
		}
		open++;
	}
	printf("open %d refused %d\n", open, refused);
	fflush(stdout);
	sleep((unsigned)sec);
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return 0;
}

static int
poke_trimdone(int k)
{
	struct mr_proto_trim_done td;
	struct mr_proto_msg m;
	uint32_t seq = 3;
	int fd = poke_connect(), i, type = 0;
	time_t end = time(NULL) + 10;

	if (fd < 0)
		return 1;
	poke_register(fd);
	while (time(NULL) < end && type != MR_MSG_TRIM) {
		type = peer_recv(fd, 200, &m);
		if (type == MR_MSG_TRIM)
			break;
	}
	if (type != MR_MSG_TRIM) {
		printf("no trim\n");
		return 1;
	}
	printf("trim\n");
	memset(&td, 0, sizeof(td));
	td.released_bytes = 1 << 20;
	for (i = 0; i < k; i++) {
		unsigned char buf[MR_PROTO_MAX_FRAME];
		int n = mrc_proto_encode_trim_done(buf, sizeof(buf), m.hdr.seq,
						   &td);

		(void)seq;
		if (n > 0)
			(void)send(fd, buf, (size_t)n, MSG_NOSIGNAL);
	}
	for (;;) {
		struct mr_proto_msg b;

		type = peer_recv(fd, 1000, &b);
		if (type == MR_MSG_BYE) {
			printf("bye %u\n", b.u.bye.reason);
			return 0;
		}
		if (type <= 0)
			break;
	}
	printf(type < 0 ? "closed\n" : "alive\n");
	return 0;
}

static int
poke_ctlslow(void)
{
	struct mr_proto_ctl_request r;
	struct mr_proto_msg m;
	int fd = poke_connect(), t, records = 0;
	long done = -1;

	if (fd < 0)
		return 1;
	memset(&r, 0, sizeof(r));
	r.cmd = MR_CTL_CLIENTS;
	poke_send(fd, MR_MSG_CTL_REQUEST, 1, &r);
	sleep(1);
	while ((t = peer_recv(fd, 2000, &m)) > 0) {
		if (t == MR_MSG_CTL_CLIENT)
			records++;
		if (t == MR_MSG_CTL_DONE) {
			done = m.u.ctl_done.count;
			break;
		}
	}
	printf("records %d done %ld\n", records, done);
	return 0;
}

static int
poke_orphan(void)
{
	struct mr_proto_msg m;
	int fd = poke_connect(), t;
	pid_t pid;

	if (fd < 0)
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid > 0) {
		/* the parent, whose pid SO_PEERCRED gave, goes away; the
		 * shell waits for the child through its output pipe */
		_exit(0);
	}
	usleep(300000);
	poke_register(fd);
	do
		t = peer_recv(fd, 2000, &m);
	while (t > 0 && t != MR_MSG_BYE);
	printf(t == 0 ? "kept\n" : "dropped\n");
	return 0;
}

static int
poke_refused(int n)
{
	struct mr_proto_msg m;
	int i, fd, t, bye = 0, reset = 0, other = 0;
	unsigned reason = 0;

	for (i = 0; i < n; i++) {
		fd = poke_connect();
		if (fd < 0) {
			reset++;
			continue;
		}
		poke_register(fd);
		t = peer_recv(fd, 2000, &m);
		if (t == MR_MSG_BYE) {
			bye++;
			reason = m.u.bye.reason;
		} else if (t < 0) {
			reset++;
		} else {
			other++;
		}
		close(fd);
	}
	printf("bye %u %d reset %d other %d\n", reason, bye, reset, other);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "-s")) {
		sock = argv[2];
		setvbuf(stdout, NULL, _IOLBF, 0);
		if (!strcmp(argv[3], "orphan"))
			return poke_orphan();
		if (!strcmp(argv[3], "ctlslow"))
			return poke_ctlslow();
	}
	if (argc < 5 || strcmp(argv[1], "-s") != 0) {
		fprintf(stderr, "usage: mrdpoke -s SOCK ctlclose N | hold N SEC"
				" | trimdone K | refused N | orphan | ctlslow\n");
		return 2;
	}
	sock = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[3], "ctlclose"))
		return poke_ctlclose(atoi(argv[4]));
	if (!strcmp(argv[3], "hold") && argc == 6)
		return poke_hold(atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(argv[3], "trimdone"))
		return poke_trimdone(atoi(argv[4]));
	if (!strcmp(argv[3], "refused"))
		return poke_refused(atoi(argv[4]));
	return 2;
}
