/*
 * prog_overhead.c: what the allocator costs a small program, in the
 * kernel's figures (prog_overhead.sh runs it with and without the
 * library and compares).  Modes:
 *   trivial    one small malloc, as a program that barely allocates
 *              (also says whether a scavenger thread exists)
 *   thread     the same and a thread that mallocs and frees (prints
 *              only text_rss, below)
 *   smallheap  a 3 MiB heap of small objects, half freed and refilled
 *   grow       32 MiB allocated and touched, then freed
 *   wake       4 MiB (two hugepages) allocated and touched, then freed
 * Each prints "VmHWM <kB>" and "AnonHugePages <kB>"; trivial also the
 * read(2) calls made by the time main's first malloc returned
 * ("startup_reads", from /proc/self/io, -1 without task I/O accounting)
 * and the Rss of libmemreclaim's text mapping ("text_rss", kB; -1 when
 * not loaded);
 * grow and wake also whether the background scavenger thread (started
 * only once the heap needs it) exists before and after the free
 * ("scavenger_before_free 1").
 * Only read(2) and write(2) report, so stdio's own buffers do not count.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[16384];

static long
field_kb(const char *path, const char *key)
{
	ssize_t n, t = 0;
	char *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf + t, sizeof(buf) - 1 - (size_t)t)) > 0)
		t += n;
	close(fd);
	buf[t] = '\0';
	p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void
put(const char *key, long v)
{
	char line[64];
	int i = 0, k;
	char d[24];

	while (*key)
		line[i++] = *key++;
	line[i++] = ' ';
	if (v < 0) {
		line[i++] = '-';
		v = -v;
	}
	k = 0;
	do
		d[k++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (k)
		line[i++] = d[--k];
	line[i++] = '\n';
	(void)!write(1, line, (size_t)i);
}

/* Rss in kB of the executable mapping of the file whose path contains
 * name (its text), from /proc/self/smaps read a chunk at a time; -1 when
 * there is none. */
static long
text_rss_kb(const char *name)
{
	char line[512];
	size_t len = 0;
	ssize_t n;
	int in = 0, fd = open("/proc/self/smaps", O_RDONLY);
	long v = -1;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		ssize_t i;

		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			len = 0;
			/* a mapping's first line, "start-end perms ...",
			 * starts with a hex digit; its fields with a capital */
			if ((line[0] >= '0' && line[0] <= '9') ||
			    (line[0] >= 'a' && line[0] <= 'f'))
				in = strstr(line, " r-xp ") && strstr(line, name);
			else if (in && !strncmp(line, "Rss:", 4) && v < 0)
				v = strtol(line + 4, NULL, 10);
		}
	}
	close(fd);
	return v;
}

static void *
thread_malloc(void *arg)
{
	volatile char *p = malloc(32);

	(void)arg;
	if (p)
		p[0] = 1;
	free((void *)p);
	return NULL;
}

/* Is there a thread named mr-scavenger in this process? */
static int
scavenger_thread(void)
{
	char path[300], comm[32];
	struct dirent *e;
	int found = 0;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		ssize_t n;
		int fd;
		if (e->d_name[0] == '.')
			continue;
		strcpy(path, "/proc/self/task/");
		strcat(path, e->d_name);
		strcat(path, "/comm");
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		found = n >= 12 && !memcmp(comm, "mr-scavenger", 12);
	}
	closedir(d);
	return found;
}

/* The thread, waited for up to 2 s (it starts asynchronously). */
static int
scavenger_wait(void)
{
	int tries;

	for (tries = 0; tries < 200 && !scavenger_thread(); tries++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return scavenger_thread();
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "trivial";
	volatile char *keep = malloc(16);
	/* read(2) calls so far: the dynamic loader's, libc's and the
	 * allocator's start-up (prog_overhead.sh compares with glibc's) */
	long reads = field_kb("/proc/self/io", "syscr:");

	if (!keep)
		return 2;
	keep[0] = 1;
	if (!strcmp(mode, "smallheap")) {
		/* 24576 objects of 16..240 bytes: about 3 MiB live. */
		enum { N = 24576 };
		static char *obj[N];
		int i, round;
		for (i = 0; i < N; i++)
			if (!(obj[i] = malloc(16 + (size_t)(i % 15) * 16)))
				return 2;
		for (round = 0; round < 4; round++) {
			for (i = round & 1; i < N; i += 2) {
				free(obj[i]);
				obj[i] = NULL;
			}
			for (i = round & 1; i < N; i += 2)
				if (!(obj[i] = malloc(16 + (size_t)((i + round) %
							       15) * 16)))
					return 2;
			for (i = 0; i < N; i++)
				obj[i][0] = (char)i;
		}
		for (i = 0; i < N; i++)
			free(obj[i]);
	} else if (!strcmp(mode, "grow") || !strcmp(mode, "wake")) {
		/* grow: 32 MiB in use; wake: 4 MiB, then freed. */
		size_t len = (size_t)(mode[0] == 'g' ? 32 : 4) << 20;
		volatile char *p = malloc(len);
		size_t i;
		if (!p)
			return 2;
		for (i = 0; i < len; i += 4096)
			p[i] = 1; /* volatile: the stores stay */
		put("scavenger_before_free", scavenger_thread());
		free((void *)p);
		put("scavenger_after_free", scavenger_wait());
	} else if (!strcmp(mode, "trivial")) {
		put("scavenger", scavenger_thread());
		put("startup_reads", reads);
		put("text_rss", text_rss_kb("libmemreclaim"));
	} else if (!strcmp(mode, "thread")) {
		/* a second thread that allocates (fork handlers, its cache) */
		pthread_t t;
		if (pthread_create(&t, NULL, thread_malloc, NULL) ||
		    pthread_join(t, NULL))
			return 2;
		put("text_rss", text_rss_kb("libmemreclaim"));
	} else {
		return 2;
	}
	put("VmHWM", field_kb("/proc/self/status", "VmHWM:"));
	put("AnonHugePages",
	    field_kb("/proc/self/smaps_rollup", "AnonHugePages:"));
	free((void *)keep);
	return 0;
}
