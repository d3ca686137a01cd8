/*
 * prog_fork.c: fork() while other threads allocate (prog_fork.sh runs it with
 * and without LD_PRELOAD).
 *
 * Four threads allocate, fill, verify and free in a loop; the main thread
 * forks repeatedly.  Each child allocates and frees objects of every kind
 * (small, large, aligned, realloc'd), checks them, and exits 0.  A child
 * that deadlocks on a lock some parent thread held at fork time is killed
 * by its alarm and counted as a failure.  Output is a deterministic summary.
 */
#include "config.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS 4
#define NFORKS 60

static volatile int stop;	/* set once by main after the last fork */
static unsigned long thread_rounds[NTHREADS];

static void *
churn(void *arg)
{
	int t = (int)(intptr_t)arg;
	unsigned x = 77u + (unsigned)t;
	unsigned long rounds = 0;
	void *keep[64] = { 0 };

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int i = (int)((x = x * 1103515245u + 12345u) >> 8) % 64;
		size_t n = (x >> 4) % (i % 8 == 0 ? 300000 : 2000) + 1;

		free(keep[i]);
		keep[i] = malloc(n);
		if (!keep[i])
			abort();
		memset(keep[i], t, n);
		rounds++;
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	thread_rounds[t] = rounds;
	return NULL;
}

static int
child_work(int round)
{
	void *p[200];
	int i;

	alarm(20);
	for (i = 0; i < 200; i++) {
		size_t n = (size_t)(i * 977 + round) % (i % 10 == 0 ? 500000 : 4000) + 1;

		if (i % 7 == 0) {
			if (posix_memalign(&p[i], 4096, n) != 0)
				return 2;
		} else {
			p[i] = malloc(n);
		}
		if (!p[i])
			return 3;
		memset(p[i], i & 0xff, n);
		if (i % 5 == 0) {
			p[i] = realloc(p[i], n * 3);
			if (!p[i] || ((unsigned char *)p[i])[n - 1] != (i & 0xff))
				return 4;
		}
	}
	for (i = 0; i < 200; i++)
		free(p[i]);
	/* stdio allocates too. */
	char *s = NULL;
	if (asprintf(&s, "child %d", round) < 0)
		return 5;
	free(s);
	return 0;
}

int
main(void)
{
	pthread_t th[NTHREADS];
	int i, ok = 0, bad = 0;

	for (i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, churn, (void *)(intptr_t)i))
			return 1;
	for (i = 0; i < NFORKS; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0)
			exit(child_work(i));
		if (waitpid(pid, &status, 0) != pid)
			return 1;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			ok++;
		} else {
			bad++;
			fprintf(stderr, "fork %d: child %s %d\n", i,
				WIFSIGNALED(status) ? "killed by signal" :
				"exited with", WIFSIGNALED(status) ?
				WTERMSIG(status) : WEXITSTATUS(status));
		}
		/* Let the threads run between forks. */
		usleep(2000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NTHREADS; i++)
		if (thread_rounds[i] == 0)
			bad++;
	printf("forks %d ok %d failed %d\n", NFORKS, ok, bad);
	return bad ? 1 : 0;
}
