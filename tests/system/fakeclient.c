/*
 * fakeclient.c: a memreclaimd client for the daemon's integration tests,
 * written against memreclaim/protocol.h alone (no libmemreclaim), so the
 * daemon is tested on its own.
 *
 * It holds real memory (an anonymous mapping it touches), reports it in
 * STATS as idle, and answers TRIM by really releasing the asked bytes with
 * madvise (MADV_FREE for LAZY, MADV_DONTNEED for NOW), measuring its RSS
 * before and after.  Every frame it gets is written as one line to the
 * --events file:
 *	REGISTERED
 *	TRIM <seq> <bytes> <lazy|now> <rss_before> <rss_after> <released>
 *	     <received_ns>  (CLOCK_MONOTONIC when the TRIM was read)
 *	CROSSED <ns> <working_set>  (hog with -u/-c: see below)
 *	LIMIT <bytes>
 *	BYE <reason>
 *	CLOSED
 * Hostile modes send garbage or flood, to be dropped.  With -s - it only
 * holds its memory (a hog creating pressure in a test cgroup); with
 * -u CGDIR -c LINE the hog touches its memory 256 KiB at a time, reading
 * the v1 cgroup's usage after each step, and logs the CLOCK_MONOTONIC time
 * at which the working set (usage - total_inactive_file, as the daemon
 * counts it) first reached LINE: the moment the headroom was crossed.
 * It always stops
 *by itself after --duration seconds.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <memreclaim/protocol.h>
#include "common/clock.h"
#include "common/protocol.h"

static FILE *events;
static unsigned char *mem;
static size_t held, released; /* released: tail bytes given back */
static uint32_t seq;

static uint64_t
rss_bytes(void)
{
	unsigned long size, res;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
event(const char *fmt, ...)
{
	va_list ap;

	if (events == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(events, fmt, ap);
	va_end(ap);
	fputc('\n', events);
	fflush(events);
}

static int
send_frame(int fd, uint16_t type, const void *p)
{
	unsigned char buf[MR_PROTO_MAX_FRAME];
	int n = mrc_proto_encode(buf, sizeof(buf), type, ++seq, p);

	if (n < 0)
		return n;
	return send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -errno;
}

static int
send_stats(int fd)
{
	struct mr_proto_stats s;

	memset(&s, 0, sizeof(s));
	s.mapped_bytes = held;
	s.idle_bytes = held - released;
	s.retained_bytes = held - released;
	s.released_bytes = released;
	s.rss_bytes = rss_bytes();
	s.purge_backend = 3;
	return send_frame(fd, MR_MSG_STATS, &s);
}

static uint64_t
cg_read(const char *dir, const char *file, const char *key)
{
	char path[4096], line[256];
	unsigned long long v = 0;
	size_t kl = key ? strlen(key) : 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (key == NULL) {
			v = strtoull(line, NULL, 10);
			break;
		}
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			v = strtoull(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The hog's touch: step by step, logging when the working set of the
 * cgroup at cgdir first reaches line. */
static void
touch_crossing(const char *cgdir, uint64_t line)
{
	uint64_t cache = cg_read(cgdir, "memory.stat", "total_inactive_file");
	size_t off, step = 256 << 10;
	int crossed = 0;

	for (off = 0; off < held; off += step) {
		size_t n = held - off < step ? held - off : step;
		uint64_t usage, t;

		memset(mem + off, 0x5a, n);
		if (crossed)
			continue;
		usage = cg_read(cgdir, "memory.usage_in_bytes", NULL);
		t = mrc_now_ns();
		if (usage - (cache < usage ? cache : usage) >= line) {
			event("CROSSED %llu %llu", (unsigned long long)t,
			      (unsigned long long)(usage - cache));
			crossed = 1;
		}
	}
	if (!crossed)
		event("NOT_CROSSED");
}

static void
do_trim(int fd, uint32_t tseq, const struct mr_proto_trim *t)
{
	struct mr_proto_trim_done d;
	uint64_t t0 = mrc_now_ns(), before = rss_bytes(), after;
	size_t give = t->bytes, pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char buf[MR_PROTO_MAX_FRAME];
	int n;

	if (give > held - released)
		give = held - released;
	give = give / pg * pg;
	memset(&d, 0, sizeof(d));
	if (give > 0) {
		unsigned char *at = mem + held - released - give;

		if (madvise(at, give,
			    t->urgency == MR_PROTO_URGENCY_NOW ? MADV_DONTNEED
							       : MADV_FREE) < 0)
			d.error = -errno;
		else
			released += give;
	}
	after = rss_bytes();
	d.released_bytes = d.error ? 0 : give;
	d.duration_ns = mrc_now_ns() - t0;
	d.backend = 3;
	event("TRIM %u %llu %s %llu %llu %llu %llu", tseq,
	      (unsigned long long)t->bytes,
	      t->urgency == MR_PROTO_URGENCY_NOW ? "now" : "lazy",
	      (unsigned long long)before, (unsigned long long)after,
	      (unsigned long long)d.released_bytes, (unsigned long long)t0);
	/* TRIM_DONE echoes the TRIM's sequence number */
	n = mrc_proto_encode_trim_done(buf, sizeof(buf), tseq, &d);
	if (n > 0)
		(void)send(fd, buf, (size_t)n, MSG_NOSIGNAL);
}

static void
usage(void)
{
	fprintf(
	    stderr,
	    "usage: fakeclient -s SOCKET [-a ADJ] [-m BYTES] "
	    "[-e EVENTS] [-i STATS_MS] [-d SECONDS] [-w MS] [-x] [-g|-f|-o]\n"
	    "  -w  touch the memory MS after registering (default: before)\n"
	    "  -x  exit after the first TRIM\n"
	    "  -u CGDIR -c LINE  (hog) log when the v1 cgroup's working set\n"
	    "      reaches LINE bytes while touching\n"
	    "  -g  hostile: send garbage after HELLO (expects to be dropped)\n"
	    "  -f  hostile: flood STATS (expects to be dropped)\n"
	    "  -o  hostile: STATS before HELLO (expects to be dropped)\n"
	    "  -q  hostile: connect and stay silent (expects to be dropped)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *sock = NULL, *evpath = NULL, *cgdir = NULL;
	uint64_t line = 0;
	long adj = 0, duration = 30, interval = 200, touch_ms = -1;
	int set_adj = 0, exit_after_trim = 0, hostile = 0, ch, fd;
	struct sockaddr_un sa;
	struct mr_proto_hello h;
	uint64_t end, next_stats = 0;

	while ((ch = getopt(argc, argv, "s:a:m:e:i:d:w:xgfoqu:c:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'a':
			adj = strtol(optarg, NULL, 10);
			set_adj = 1;
			break;
		case 'm':
			held = strtoull(optarg, NULL, 10);
			break;
		case 'e':
			evpath = optarg;
			break;
		case 'i':
			interval = strtol(optarg, NULL, 10);
			break;
		case 'd':
			duration = strtol(optarg, NULL, 10);
			break;
		case 'w':
			touch_ms = strtol(optarg, NULL, 10);
			break;
		case 'x':
			exit_after_trim = 1;
			break;
		case 'u':
			cgdir = optarg;
			break;
		case 'c':
			line = strtoull(optarg, NULL, 10);
			break;
		case 'g':
		case 'f':
		case 'o':
		case 'q':
			hostile = ch;
			break;
		default:
			usage();
		}
	}
	if (sock == NULL || interval <= 0 || duration <= 0)
		usage();
	if (evpath && (events = fopen(evpath, "a")) == NULL) {
		perror(evpath);
		return 2;
	}
	if (set_adj) {
		FILE *f = fopen("/proc/self/oom_score_adj", "w");

		if (f == NULL || fprintf(f, "%ld\n", adj) < 0 ||
		    fclose(f) != 0) {
			perror("oom_score_adj");
			return 2;
		}
	}
	if (held > 0) {
		mem = mmap(NULL, held, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED) {
			perror("mmap");
			return 2;
		}
		if (cgdir && line > 0)
			touch_crossing(cgdir, line);
		else if (touch_ms < 0)
			memset(mem, 0x5a, held); /* make it resident */
	}
	if (strcmp(sock, "-") == 0) {
		/* a memory hog: hold the memory, no daemon */
		sleep((unsigned)duration);
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(sock);
		return 2;
	}
	end = mrc_now_ns() + (uint64_t)duration * 1000000000ull;
	memset(&h, 0, sizeof(h));
	h.lib_version = MR_PROTO_LIBVERSION(0, 1, 0);
	h.features = MR_FEAT_ALL;
	h.stats_interval_ms = (uint32_t)interval;
	if (hostile == 'o') {
		(void)send_stats(fd);
	} else if (hostile == 'q') {
		/* silent: connect and say nothing */
	} else if (send_frame(fd, MR_MSG_HELLO, &h) < 0) {
		/* refused (max_clients): the BYE may be waiting */
		perror("send HELLO");
		goto drain;
	}
	event("REGISTERED");
	if (touch_ms >= 0 && held > 0) {
		/* registered first, then the memory arrives */
		(void)send_stats(fd);
		usleep((useconds_t)touch_ms * 1000);
		memset(mem, 0x5a, held);
		event("TOUCHED");
	}
	while (mrc_now_ns() < end) {
		unsigned char buf[MR_PROTO_MAX_FRAME + 1];
		struct mr_proto_msg m;
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;
		int rc;

		if (hostile == 'g') {
			/* not a frame at all, then a frame with a lie in its
			 * length field */
			static const char junk[] = "GET / HTTP/1.0\r\n\r\n";

			(void)send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
		} else if (hostile == 'f') {
			int i;

			for (i = 0; i < 1000; i++)
				if (send_stats(fd) < 0)
					break;
		} else if (hostile == 'q') {
			/* keep quiet */
		} else if (mrc_now_ns() >= next_stats) {
			if (send_stats(fd) < 0)
				break;
			next_stats = mrc_now_ns() + (uint64_t)interval * 1000000ull;
		}
		rc = poll(&p, 1, (int)(interval < 100 ? interval : 100));
		if (rc <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		rc = mrc_proto_decode(buf, (size_t)n, &m);
		if (rc < 0) {
			fprintf(stderr,
				"fakeclient: bad frame from daemon: "
				"%s\n",
				strerror(-rc));
			return 3;
		}
		if (rc == MR_MSG_TRIM) {
			do_trim(fd, m.hdr.seq, &m.u.trim);
			if (exit_after_trim)
				return 0;
		} else if (rc == MR_MSG_LIMIT) {
			event("LIMIT %llu",
			      (unsigned long long)m.u.limit.limit_bytes);
		} else if (rc == MR_MSG_BYE) {
			event("BYE %u", m.u.bye.reason);
		}
	}
drain:
	/* a send can fail before the BYE waiting in our queue was read */
	for (;;) {
		unsigned char buf[MR_PROTO_MAX_FRAME + 1];
		struct mr_proto_msg m;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		/* ECONNRESET is reported once, before queued frames */
		if (n < 0 && errno == ECONNRESET)
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		if (mrc_proto_decode(buf, (size_t)n, &m) == MR_MSG_BYE)
			event("BYE %u", m.u.bye.reason);
	}
	event("CLOSED");
	/* hostile modes succeed when the daemon threw them out */
	if (hostile)
		return mrc_now_ns() < end ? 0 : 1;
	return exit_after_trim ? 1 : 0;
}
