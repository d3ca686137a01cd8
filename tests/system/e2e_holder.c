/*
 * e2e_holder.c: the service in the client end-to-end test
 * (tests/system/sys_client_e2e.sh) and the systemd memory pressure test
 * (sys_sdpressure.sh).  A plain program that uses malloc/free and knows
 * nothing of memreclaim: run it with LD_PRELOAD=libmemreclaim.so and the
 * library serves its allocations and talks to memreclaimd for it.
 *
 * It allocates ALLOC bytes in 4 KiB objects and touches them, frees all but
 * the first KEEP bytes (so the freed tail is whole free spans: idle memory
 * a trim can take), then idles.  Every 100 ms it writes one status line to
 * FILE (replaced atomically), read by the test:
 *
 *	pid=N rss=BYTES trims=N connected=0|1 idle=BYTES released=BYTES
 *	lazy=BYTES limit=BYTES psi_watching=0|1 psi_events=N
 *	psi_released=BYTES
 *
 * The figures come from mr_stats_get, found with dlsym so the program also
 * runs (and says "lib=none") without the library.  It exits on SIGTERM or
 * after MAX_S seconds, so a failed test never leaves it behind.
 *
 * On SIGUSR1 it forks once: the child (a prefork worker, say) writes its
 * own status to FILE.child; it must register with the daemon as itself
 * while the parent keeps its own connection.
 *
 * Usage: e2e_holder -o FILE [-a ALLOC_MiB] [-k KEEP_MiB] [-t MAX_S]
 */
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memreclaim.h"

#define OBJ 4096

static volatile sig_atomic_t holder_stop, holder_fork;

static void
holder_on_signal(int sig)
{
	if (sig == SIGUSR1)
		holder_fork = 1;
	else
		holder_stop = 1;
}

static int
holder_report(const char *path, int (*stats_get)(struct mr_stats *))
{
	static struct mr_stats st;
	char tmp[8192];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	if (!stats_get) {
		fprintf(f, "pid=%d lib=none\n", (int)getpid());
	} else {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		if (stats_get(&st) < 0) {
			fclose(f);
			return -EINVAL;
		}
		fprintf(f,
			"pid=%d rss=%llu trims=%llu connected=%u idle=%llu "
			"released=%llu lazy=%llu limit=%llu psi_watching=%u "
			"psi_events=%llu psi_released=%llu \n",
			(int)getpid(), (unsigned long long)st.rss_bytes,
			(unsigned long long)st.trims_received,
			st.daemon_connected, (unsigned long long)st.idle_bytes,
			(unsigned long long)st.released_bytes,
			(unsigned long long)st.lazy_freed_bytes,
			(unsigned long long)st.limit_bytes,
			st.pressure_watching,
			(unsigned long long)st.pressure_events,
			(unsigned long long)st.pressure_released_bytes);
	}
	if (fclose(f) != 0)
		return -errno;
	return rename(tmp, path) < 0 ? -errno : 0;
}

int
main(int argc, char **argv)
{
	int (*stats_get)(struct mr_stats *);
	size_t alloc_mib = 256, keep_mib = 16, nobj, nkeep, i;
	const char *out = NULL;
	char child_out[4096];
	double max_s = 120;
	pid_t child = -1;
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	struct sigaction sa;
	time_t start;
	char **objs;
	int c;

	while ((c = getopt(argc, argv, "o:a:k:t:")) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'a': alloc_mib = strtoul(optarg, NULL, 10); break;
		case 'k': keep_mib = strtoul(optarg, NULL, 10); break;
		case 't': max_s = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: e2e_holder -o FILE "
				"[-a ALLOC_MiB]"
				" [-k KEEP_MiB] [-t MAX_S]\n");
			return 2;
		}
	}
	if (!out || alloc_mib == 0 || keep_mib > alloc_mib || max_s <= 0) {
		fprintf(stderr, "e2e_holder: need -o FILE, KEEP <= ALLOC\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = holder_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	/* Present when libmemreclaim is preloaded (it exports mr_*). */
	*(void **)&stats_get = dlsym(RTLD_DEFAULT, "mr_stats_get");

	nobj = alloc_mib * (1024 * 1024 / OBJ);
	nkeep = keep_mib * (1024 * 1024 / OBJ);
	objs = malloc(nobj * sizeof(*objs));
	if (!objs) {
		perror("e2e_holder: malloc");
		return 1;
	}
	for (i = 0; i < nobj; i++) {
		objs[i] = malloc(OBJ);
		if (!objs[i]) {
			perror("e2e_holder: malloc");
			return 1;
		}
		memset(objs[i], (int)(i & 0xff) | 1, OBJ);
	}
	/* Free the tail: newest first, as a cache evicting would. */
	for (i = nobj; i-- > nkeep;)
		free(objs[i]);

	snprintf(child_out, sizeof(child_out), "%s.child", out);
	start = time(NULL);
	while (!holder_stop && difftime(time(NULL), start) < max_s) {
		int rc;

		if (holder_fork && child < 0) {
			child = fork();
			if (child < 0) {
				perror("e2e_holder: fork");
				return 1;
			}
			if (child == 0) {
				out = child_out;
				nkeep = 0; /* the heap check is the parent's */
			}
		}
		rc = holder_report(out, stats_get);

		if (rc < 0) {
			fprintf(stderr, "e2e_holder: %s: %s\n", out,
				strerror(-rc));
			return 1;
		}
		nanosleep(&tick, NULL);
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	}
	/* The kept objects were in use to the end. */
	for (i = 0; i < nkeep; i++)
		if (objs[i][OBJ - 1] != (char)((int)(i & 0xff) | 1))
			return 1;
	return 0;
}
