/*
 * main.c: memreclaimd's command line, start-up and epoll loop.
 *
 * One thread, one epoll set: the listening socket, client sockets, PSI
 * trigger fds, usage event fds (v1 thresholds, v2 memory.events), a
 * timerfd tick, a signalfd (SIGHUP reload, SIGTERM/SIGINT exit) and the
 * metrics server.  A usage event or PSI trigger samples and decides its
 * own cgroup at once (watch_event; events of one cgroup at most every
 * WATCH_EVENT_MIN_NS).  The tick is the fallback: it runs one round of
 * sample -> decide -> act -> record over every cgroup (watch.c); rounds
 * are at least MAIN_MIN_ROUND_MS apart.  After each whole turn the loop
 * pings systemd's watchdog when one is set (notify.c), and never sleeps
 * past the next ping.
 * Start-up problems are fatal; after READY=1 nothing is.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "common/clock.h"

#include "control.h"
#include "dispatch.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "transport.h"
#include "watch.h"

#define MAIN_MIN_ROUND_MS 100

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: memreclaimd [-dnv] [-f file] [-t seconds]\n"
	    "\n"
	    "Watch cgroup memory pressure and limits, and ask processes that\n"
	    "use libmemreclaim to give memory back.\n"
	    "\n"
	    "  -d, --foreground   stay in the foreground, log to stderr\n"
	    "  -f, --config FILE  configuration file (default %s;\n"
	    "                     without it the built-in defaults run)\n"
	    "  -n, --check        check the configuration and exit: prints\n"
	    "                     file:line: message for every error\n"
	    "  -v, --verbose      log debug messages too\n"
	    "  -t, --timeout SEC  exit by itself after SEC seconds (tests)\n"
	    "  -h, --help         this text\n"
	    "  -V, --version      print the version\n"
	    "\n"
	    "See memreclaimd(8), memreclaim.conf(5), memreclaimctl(8).\n",
	    CONF_DEFAULT_PATH);
}

static void
main_conf_error(void *arg, const char *msg)
{
	int *tostderr = arg;

	if (*tostderr)
		fprintf(stderr, "%s\n", msg);
	else
		log_warnx("%s", msg);
}

static int
main_timer(struct mrd *d, int fd)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = d->conf.tick_ms / 1000;
	its.it_value.tv_nsec = (long)(d->conf.tick_ms % 1000) * 1000000L;
	its.it_interval = its.it_value;
	return timerfd_settime(fd, 0, &its, NULL);
}

/* Each client costs a descriptor (two with a pidfd), each watched cgroup
 * two to four: the default soft limit of 1024 is reached by a few hundred
 * containers.  Take the hard limit (LimitNOFILE= in the unit sets it). */
static void
main_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("setrlimit(RLIMIT_NOFILE, %llu)",
			 (unsigned long long)rl.rlim_max);
	else
		log_debug("descriptor limit raised to %llu",
			  (unsigned long long)rl.rlim_max);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"foreground", no_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'f'},
	    {"check", no_argument, NULL, 'n'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static struct mrd d;
	const char *conf_path = NULL;
	int foreground = 0, check = 0, verbose = 0, ch, rc, tostderr = 1;
	int sfd, tfd, running = 1;
	long timeout_s = 0;
	uint64_t deadline = 0;
	sigset_t mask;

	mrd_init(&d);
	dispatch_init(&d);
	while ((ch = getopt_long(argc, argv, "df:nvt:hV", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			conf_path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 't': {
			char *end;

			timeout_s = strtol(optarg, &end, 10);
			if (*end != '\0' || timeout_s <= 0) {
				fprintf(stderr,
					"memreclaimd: bad timeout "
					"'%s'\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("memreclaimd %s (protocol %d)\n",
			       PACKAGE_VERSION, MR_PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	/* configuration: -f must exist; the default path may be absent */
	d.conf_explicit = conf_path != NULL;
	d.conf_path = conf_path ? conf_path : CONF_DEFAULT_PATH;
	if (!d.conf_explicit && access(d.conf_path, F_OK) < 0 &&
	    errno == ENOENT) {
		conf_defaults(&d.conf);
		if (check) {
			printf(
			    "%s: no such file, the built-in defaults apply\n",
			    d.conf_path);
			return 0;
		}
		rc = 0;
	} else {
		rc =
		    conf_load(d.conf_path, &d.conf, main_conf_error, &tostderr);
	}
	if (check) {
		if (rc == 0)
			printf("%s: configuration OK\n", d.conf_path);
		return rc == 0 ? 0 : 1;
	}
	if (rc != 0)
		return 1;
	if (verbose)
		d.conf.log_level = LOG_DEBUG;

	if (!foreground && daemon(0, 0) < 0) {
		perror("memreclaimd: daemon");
		return 1;
	}
	log_init(foreground, d.conf.log_level, "memreclaimd");
	tostderr = 0;
	main_raise_nofile();

	d.start_ns = mrc_now_ns();
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.epfd < 0)
		fatal("epoll_create1");
	if (d.conf.memory_root[0] != '\0') {
		char mem[PATH_MAX + 32];

		snprintf(mem, sizeof(mem), "%s/cgroup.controllers",
			 d.conf.memory_root);
		rc =
		    cgfs_open(&d.fs, d.conf.memory_root, access(mem, F_OK) == 0,
			      d.conf.unified_root, d.conf.proc_root);
	} else {
		rc = cgfs_discover(&d.fs, d.conf.proc_root);
	}
	if (rc < 0)
		fatalx("cgroup filesystem: %s (is the memory controller "
		       "mounted?)",
		       strerror(-rc));
	log_info("memory cgroups at %s (%s), PSI from %s", d.fs.memory_root,
		 d.fs.memory_v2 ? "v2" : "v1",
		 d.fs.unifd >= 0 ? d.fs.unified_root : "the host only");

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sfd < 0 || tfd < 0 || main_timer(&d, tfd) < 0 ||
	    mrd_epoll_add(d.epfd, sfd, EPOLLIN) < 0 ||
	    mrd_epoll_add(d.epfd, tfd, EPOLLIN) < 0)
		fatal("signalfd/timerfd");
	rc = transport_listen(&d);
	if (rc < 0)
		fatalx("socket %s: %s", d.conf.socket, strerror(-rc));
	rc = metrics_start(&d);
	if (rc < 0) {
		/* metrics are a convenience: a busy port must not stop the
		 * daemon protecting the host */
		log_warnc(rc, "metrics on %s, running without them",
			  d.conf.metrics);
		d.conf.metrics[0] = '\0';
	}
	if (timeout_s > 0)
		deadline = d.start_ns + (uint64_t)timeout_s * 1000000000ull;
	log_info("memreclaimd %s ready on %s (config: %s%s%s)", PACKAGE_VERSION,
		 d.conf.socket,
		 access(d.conf_path, R_OK) == 0 ? d.conf_path
						: "built-in defaults",
		 d.conf.metrics[0] ? ", metrics on " : "", d.conf.metrics);
	sd_notify(0, "READY=1");
	(void)notify_watchdog_init(mrc_now_ns());

	while (running) {
		struct epoll_event evs[32];
		uint64_t now;
		uint64_t wake;
		int n, i, due = 0, wait_ms;

		wait_ms = watch_events_due(&d, mrc_now_ns());
		rc = transport_accept_due(&d, mrc_now_ns());
		if (rc >= 0 && (wait_ms < 0 || rc < wait_ms))
			wait_ms = rc;
		rc = notify_wait_ms(mrc_now_ns());
		if (rc >= 0 && (wait_ms < 0 || rc < wait_ms))
			wait_ms = rc;
		n = epoll_wait(d.epfd, evs, 32,
			       wait_ms >= 0 && wait_ms < 1000 ? wait_ms : 1000);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		wake = mrc_now_ns();
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			struct mrd_client *c;
			struct mrd_cgroup *cg;

			if (fd == d.listen_fd) {
				transport_accept(&d);
			} else if (fd == tfd) {
				uint64_t exp;

				while (read(tfd, &exp, sizeof(exp)) > 0)
					;
				due = 1;
			} else if (fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) ==
				       sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						char msg[MR_PROTO_TEXT_MAX];

						log_info("SIGHUP: reloading");
						(void)control_reload(
						    &d, msg, sizeof(msg));
						main_timer(&d, tfd);
					} else {
						log_info("signal %u: exiting",
							 si.ssi_signo);
						running = 0;
					}
				}
			} else if ((cg = watch_find_event(&d, fd)) != NULL) {
				watch_event(&d, cg, fd, wake,
					    cg->event_kind ==
						    WATCH_EV_V1_THRESHOLD
						? "usage threshold"
						: "memory.events");
			} else if ((cg = watch_find_trigger(&d, fd)) != NULL) {
				watch_event(&d, cg, -1, wake, "PSI trigger");
			} else if ((c = transport_find_fd(&d, fd)) != NULL) {
				if (evs[i].events & EPOLLOUT)
					transport_output(&d, c);
				if (!c->dead &&
				    (evs[i].events & (EPOLLIN | EPOLLHUP |
						      EPOLLERR)))
					transport_input(&d, c);
			} else {
				(void)metrics_event(&d, fd, evs[i].events);
			}
		}
		transport_reap(&d);
		now = mrc_now_ns();
		(void)transport_accept_due(&d, now);
		if (due &&
		    now - d.last_cycle_ns >= MAIN_MIN_ROUND_MS * 1000000ull)
			watch_cycle(&d, now);
		control_wait_due(&d, now);
		if (deadline && now >= deadline) {
			log_info("run time of %ld s over: exiting", timeout_s);
			running = 0;
		}
		/* only here, after a whole turn: a hung loop stops pinging */
		notify_loop_turned(now);
	}
	sd_notify(0, "STOPPING=1");
	transport_close(&d);
	metrics_stop();
	watch_close_all(&d);
	cgfs_close(&d.fs);
	close(tfd);
	close(sfd);
	close(d.epfd);
	return 0;
}
