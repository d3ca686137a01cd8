/*
 * prog_threads.c: 21000 short-lived threads, each allocating and exiting,
 * in a program linked with libmemreclaim (so every malloc, pthread's own
 * included, is served by it).  Thread caches must be flushed and their
 * metadata reused at thread exit.  After 1000 threads, 20000 more may add at
 * most 2 MiB of metadata (it is mapped 1 MiB at a time, and the page map a
 * leaf at a time: one more of each; which moment a new one is needed
 * depends on how thread exits overlap) and must not double the mappings.
 * A thread cache leaked at exit costs hundreds of KiB, and a record of even
 * 110 bytes per thread would add more than 2 MiB: both fail.
 * Prints the figures (prog_threads.sh keeps them in its log).
 */
#include "config.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memreclaim.h"

#define BATCH 8

/* The threads of a batch meet here while each holds its cache, so every
 * batch has BATCH caches alive at once: the pool of cache records reaches
 * its largest size in the first batch, not at some later moment when
 * the threads of a batch happen to overlap (a record is a few hundred
 * KiB of reserved slots, so that moment alone could pass the bound). */
static pthread_barrier_t batch_barrier;

struct job {
	int index;
	char *handoff[4];	/* freed by the main thread */
};

static void *
worker(void *arg)
{
	struct job *j = arg;
	char *local[32];
	int i;

	for (i = 0; i < 32; i++) {
		size_t n = (size_t)((i * 131 + j->index) % 3000) + 1;

		local[i] = malloc(n);
		if (!local[i])
			abort();
		memset(local[i], i, n);
	}
	for (i = 0; i < 4; i++) {
		size_t n = i == 3 ? 100000 : (size_t)(i + 1) * 200;

		j->handoff[i] = malloc(n);
		if (!j->handoff[i])
			abort();
		memset(j->handoff[i], 'x', n);
	}
	(void)pthread_barrier_wait(&batch_barrier);
	for (i = 0; i < 32; i++)
		free(local[i]);
	return NULL;
}

static void
run_threads(int total, int *started)
{
	while (*started < total) {
		pthread_t th[BATCH];
		struct job jobs[BATCH];
		int i, k;

		for (i = 0; i < BATCH; i++) {
			jobs[i].index = *started + i;
			if (pthread_create(&th[i], NULL, worker, &jobs[i]) != 0) {
				perror("pthread_create");
				exit(1);
			}
		}
		for (i = 0; i < BATCH; i++) {
			pthread_join(th[i], NULL);
			for (k = 0; k < 4; k++)
				free(jobs[i].handoff[k]);
		}
		*started += BATCH;
	}
}

/* Looked up at run time so this program links against a library built
 * without the stats module; then it fails here, by name. */
static void
stats(struct mr_stats *st)
{
	int (*get)(struct mr_stats *) =
		(int (*)(struct mr_stats *))dlsym(RTLD_DEFAULT, "mr_stats_get");

	if (!get) {
		fprintf(stderr, "FAIL: libmemreclaim exports no mr_stats_get\n");
		exit(1);
	}
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (get(st) != 0) {
		fprintf(stderr, "mr_stats_get failed\n");
		exit(1);
	}
}

int
main(void)
{
	struct mr_stats a, b;
	int started = 0, bad = 0;

	if (pthread_barrier_init(&batch_barrier, NULL, BATCH) != 0) {
		perror("pthread_barrier_init");
		return 1;
	}
	run_threads(1000, &started);
	stats(&a);
	run_threads(21000, &started);
	stats(&b);
	printf("after %d threads: metadata %llu mapped %llu\n", 1000,
	       (unsigned long long)a.metadata_bytes,
	       (unsigned long long)a.mapped_bytes);
	printf("after %d threads: metadata %llu mapped %llu\n", started,
	       (unsigned long long)b.metadata_bytes,
	       (unsigned long long)b.mapped_bytes);
	if (a.mapped_bytes == 0 || a.metadata_bytes == 0) {
		printf("FAIL: statistics report nothing mapped\n");
		bad = 1;
	}
	if (b.metadata_bytes > a.metadata_bytes + (2u << 20)) {
		printf("FAIL: metadata grew from %llu to %llu\n",
		       (unsigned long long)a.metadata_bytes,
		       (unsigned long long)b.metadata_bytes);
		bad = 1;
	}
	if (b.mapped_bytes >= 2 * a.mapped_bytes) {
		printf("FAIL: mappings grew from %llu to %llu\n",
		       (unsigned long long)a.mapped_bytes,
		       (unsigned long long)b.mapped_bytes);
		bad = 1;
	}
	return bad;
}
