/*
 * prog_phase.c: a program that changes phase.  It first works with
 * medium objects (12 sizes of 640 B..6 KiB, 1000 of each allocated and
 * freed, twice), then holds PHASE2_MB MiB of 48-byte objects; with the
 * argument "second" it runs the second phase alone.  Once the first phase
 * is over its sizes are idle, and the thread cache's GC must give their
 * objects back, so the second phase reuses their pages.  Prints, in kB
 * from /proc/self/status, "rss1 <VmRSS after phase 1>" and "hwm <VmHWM at
 * the end>" (prog_phase.sh compares the two runs' hwm).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PHASE2_MB 8
#define SMALL 48

/* The value of key (e.g. "VmHWM:") in /proc/self/status, in kB. */
static long
status_kb(const char *key)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (kb < 0 && fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			kb = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return kb;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		exit(2);
	memset(p, 0x5a, n);
	return p;
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = {640,  768,  1024, 1280, 1536, 2048,
				       2560, 3072, 3584, 4096, 5120, 6144};
	static void *v[1000];
	size_t nsmall = ((size_t)PHASE2_MB << 20) / SMALL, i, k;
	void **small;
	int round;
	long rss1;

	/* "second": the second phase alone, for comparison */
	int first = !(argc > 1 && strcmp(argv[1], "second") == 0);

	for (round = 0; first && round < 2; round++)
		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			for (i = 0; i < 1000; i++)
				v[i] = xmalloc(sizes[k]);
			for (i = 0; i < 1000; i++)
				free(v[i]);
		}
	rss1 = status_kb("VmRSS:");
	small = xmalloc(nsmall * sizeof(*small));
	for (i = 0; i < nsmall; i++)
		small[i] = xmalloc(SMALL);
	printf("rss1 %ld\nhwm %ld\n", rss1, status_kb("VmHWM:"));
	for (i = 0; i < nsmall; i++)
		free(small[i]);
	free(small);
	return 0;
}
