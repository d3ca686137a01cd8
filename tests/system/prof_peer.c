/*
 * prof_peer.c: a library client of memreclaimd, written against the
 * protocol alone, that answers heap profile requests well or badly, for
 * sys_prof_hostile.sh.
 *
 *   prof_peer -s SOCK [-d SEC] MODE
 *
 * It registers (HELLO, STATS), then waits for PROF_REQUEST DUMP frames
 * (at most SEC seconds, default 20; MODE unasked sends at once) and
 * answers each:
 *
 *   good       PROFILE_TEXT below in two PROF_DATA frames and PROF_END,
 *              for every request until SEC runs out; prints "set N"
 *              for each PROF_SET (N: the interval, 0 = off)
 *   zero       one good PROF_DATA, then one whose len is 0
 *   long       one good PROF_DATA, then one whose len is CHUNK + 1
 *   tail       one good PROF_DATA, then one with bytes after its len
 *   short      one good PROF_DATA, then one cut 100 bytes short
 *   big        one good PROF_DATA, then a datagram longer than a frame
 *   endbytes   the good profile, ended by a PROF_END that claims 5 bytes
 *              more than were sent
 *   endstatus  one good PROF_DATA, then PROF_END with status 5
 *   wrongtype  one good PROF_DATA, then a PROF_REQUEST (daemon's type)
 *   flood      valid PROF_DATA frames without end (past the 64 MiB cap)
 *   unasked    PROF_DATA before anything was asked
 *   twice      the good profile, then a second PROF_END
 *   stall      nothing: the request is never answered (the daemon ends
 *              the dump, the client stays; it exits at the end of SEC)
 *
 * and, as memreclaimctl would (no HELLO), bad requests for the profile of
 * PID (-p PID): askkind (a kind that is none), askpid (pid -5),
 * askcgroup (a cgroup path with it), each patched into a valid
 * CTL_REQUEST PROFILE after encoding.
 *
 * The bad modes print "dropped" and exit 0 when the daemon closes the
 * connection within SEC seconds of the bad frame, else print "kept" and
 * exit 1.  good exits 0 at the end of SEC.  Exit 2: usage or set-up.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <memreclaim/protocol.h>
#include "common/protocol.h"
#include "peer.h"

#define PROFILE_TEXT "memreclaim test profile: every byte must arrive\n"

static int fd = -1;
static uint32_t seq;

static int
send_raw(const void *b, size_t n)
{
	return send(fd, b, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Encode a valid frame into buf; its length. */
static int
encode(unsigned char *buf, uint16_t type, const void *payload)
{
	return mrc_proto_encode(buf, MR_PROTO_MAX_FRAME, type, ++seq, payload);
}

static int
send_frame(uint16_t type, const void *payload)
{
	unsigned char buf[MR_PROTO_MAX_FRAME];
	int n = encode(buf, type, payload);

	return n < 0 ? -1 : send_raw(buf, (size_t)n);
}

static int
send_data(const char *s, size_t n)
{
	struct mr_proto_prof_data pd;

	memset(&pd, 0, sizeof(pd));
	pd.len = (uint32_t)n;
	memcpy(pd.data, s, n);
	return send_frame(MR_MSG_PROF_DATA, &pd);
}

static int
send_end(int32_t status, uint64_t bytes)
{
	struct mr_proto_prof_end pe = {status, 0, bytes};

	return send_frame(MR_MSG_PROF_END, &pe);
}

/* The whole good profile; its length. */
static size_t
send_good(void)
{
	size_t n = strlen(PROFILE_TEXT), half = n / 2;

	send_data(PROFILE_TEXT, half);
	send_data(PROFILE_TEXT + half, n - half);
	send_end(0, n);
	return n;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait until the daemon closes the connection (BYE may come first). */
static int
await_drop(double end)
{
	struct mr_proto_msg m;

	while (now_s() < end)
		if (peer_recv(fd, 100, &m) < 0) {
			printf("dropped\n");
			return 0;
		}
	printf("kept\n");
	return 1;
}

/* A bad PROF_DATA: a valid frame of text, then patched. */
static int
send_bad_data(const char *mode)
{
	unsigned char buf[MR_PROTO_MAX_FRAME + 200];
	struct mr_proto_prof_data pd;
	struct mr_proto_hdr h;
	uint32_t len;
	int n;

	memset(&pd, 0, sizeof(pd));
	pd.len = 4;
	memcpy(pd.data, "bad!", 4);
	n = encode(buf, MR_MSG_PROF_DATA, &pd);
	if (n < 0)
		return -1;
	/* the payload follows the header: len first */
	if (!strcmp(mode, "zero") || !strcmp(mode, "long")) {
		len = !strcmp(mode, "zero") ? 0 : MR_PROTO_PROF_CHUNK + 1;
		memcpy(buf + sizeof(h), &len, sizeof(len));
	} else if (!strcmp(mode, "tail")) {
		buf[sizeof(h) + 8 + 500] = 'x';
	} else if (!strcmp(mode, "short")) {
		n -= 100;
	} else if (!strcmp(mode, "big")) {
		memset(buf + n, 'x', sizeof(buf) - (size_t)n);
		n = (int)sizeof(buf);
		memcpy(&h, buf, sizeof(h));
		h.length = (uint32_t)n;
		memcpy(buf, &h, sizeof(h));
	}
	return send_raw(buf, (size_t)n);
}

static int
answer(const char *mode, double end)
{
	struct mr_proto_prof_request pr;
	size_t n = strlen(PROFILE_TEXT);

	if (!strcmp(mode, "endbytes")) {
		send_data(PROFILE_TEXT, n);
		return send_end(0, n + 5);
	}
	if (!strcmp(mode, "twice")) {
		send_good();
		send_end(0, 0);
		return 0;
	}
	if (!strcmp(mode, "flood")) {
		static const char chunk[MR_PROTO_PROF_CHUNK] = {'x'};
		while (now_s() < end)
			if (send_data(chunk, sizeof(chunk)) < 0)
				return 0;
		return 0;
	}
	send_data(PROFILE_TEXT, 10);
	if (!strcmp(mode, "endstatus")) {
		/* the encoder refuses it: patch a valid PROF_END */
		unsigned char buf[MR_PROTO_MAX_FRAME];
		struct mr_proto_prof_end pe = {0, 0, 10};
		int32_t bad = 5;
		int k = encode(buf, MR_MSG_PROF_END, &pe);

		if (k < 0)
			return -1;
		memcpy(buf + sizeof(struct mr_proto_hdr), &bad, sizeof(bad));
		return send_raw(buf, (size_t)k);
	}
	if (!strcmp(mode, "wrongtype")) {
		memset(&pr, 0, sizeof(pr));
		pr.op = MR_PROF_OP_DUMP;
		pr.kind = MR_PROF_KIND_INUSE;
		return send_frame(MR_MSG_PROF_REQUEST, &pr);
	}
	return send_bad_data(mode);
}

/* A CTL_REQUEST PROFILE for pid, made bad after encoding. */
static int
ask_bad(const char *mode, int pid, double end)
{
	unsigned char buf[MR_PROTO_MAX_FRAME];
	struct mr_proto_ctl_request r;
	size_t at = sizeof(struct mr_proto_hdr);
	uint64_t kind = 7;
	int32_t bad_pid = -5;
	int n;

	memset(&r, 0, sizeof(r));
	r.cmd = MR_CTL_PROFILE;
	r.pid = pid;
	r.bytes = MR_PROF_KIND_INUSE;
	n = encode(buf, MR_MSG_CTL_REQUEST, &r);
	if (n < 0)
		return 2;
	if (!strcmp(mode, "askkind"))
		memcpy(buf + at + offsetof(struct mr_proto_ctl_request, bytes),
		       &kind, sizeof(kind));
	else if (!strcmp(mode, "askpid"))
		memcpy(buf + at + offsetof(struct mr_proto_ctl_request, pid),
		       &bad_pid, sizeof(bad_pid));
	else
		buf[at + offsetof(struct mr_proto_ctl_request, cgroup)] = '/';
	if (send_raw(buf, (size_t)n) < 0)
		return 2;
	return await_drop(end);
}

int
main(int argc, char **argv)
{
	static const char *const modes[] = {
	    "good",	 "zero",     "long",	  "tail",      "short",
	    "big",	 "endbytes", "endstatus", "wrongtype", "flood",
	    "unasked",	 "twice",    "stall",	  "askkind",   "askpid",
	    "askcgroup", NULL};
	struct mr_proto_hello hello;
	struct mr_proto_stats st;
	struct mr_proto_msg m;
	const char *sock = NULL, *mode;
	double secs = 20, end, last;
	int ch, i, t, pid = 0;

	while ((ch = getopt(argc, argv, "s:d:p:")) != -1) {
		if (ch == 's')
			sock = optarg;
		else if (ch == 'p')
			pid = atoi(optarg);
		else if (ch == 'd')
			secs = atof(optarg);
		else
			return 2;
	}
	if (!sock || optind != argc - 1)
		return 2;
	mode = argv[optind];
	for (i = 0; modes[i] && strcmp(modes[i], mode); i++)
		;
	if (!modes[i] || (fd = peer_connect(sock)) < 0) {
		fprintf(stderr, "prof_peer: bad mode or no daemon\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strncmp(mode, "ask", 3))
		return ask_bad(mode, pid, now_s() + secs);
	memset(&hello, 0, sizeof(hello));
	hello.lib_version = MR_PROTO_LIBVERSION(0, 1, 0);
	hello.features = MR_FEAT_TRIM_LAZY | MR_FEAT_TRIM_NOW;
	hello.stats_interval_ms = 1000;
	memset(&st, 0, sizeof(st));
	if (send_frame(MR_MSG_HELLO, &hello) < 0 ||
	    send_frame(MR_MSG_STATS, &st) < 0)
		return 2;
	printf("registered\n");
	end = now_s() + secs;
	if (!strcmp(mode, "unasked")) {
		send_data(PROFILE_TEXT, 10);
		return await_drop(end);
	}
	last = now_s();
	while (now_s() < end) {
		/* STATS every second, as the library does: a client silent
		 * for 10 s is dropped */
		if (now_s() - last >= 1) {
			send_frame(MR_MSG_STATS, &st);
			last = now_s();
		}
		t = peer_recv(fd, 100, &m);
		if (t < 0) {
			printf(strcmp(mode, "good") ? "dropped\n" : "closed\n");
			return strcmp(mode, "good") ? 0 : 1;
		}
		if (t != MR_MSG_PROF_REQUEST)
			continue;
		if (m.u.prof_request.op == MR_PROF_OP_SET) {
			printf("set %llu\n", (unsigned long long)m.u
						 .prof_request.interval_bytes);
			continue;
		}
		if (!strcmp(mode, "good")) {
			send_good();
			continue;
		}
		if (!strcmp(mode, "stall"))
			continue;
		answer(mode, end);
		return await_drop(now_s() + 10);
	}
	return strcmp(mode, "good") ? 1 : 0;
}
