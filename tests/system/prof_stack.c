/*
 * prof_stack.c: the program of sys_prof_stack.sh, built twice (with and
 * without frame pointers), preloaded with libmemreclaim.
 *
 * `prof_stack check`: main and a second thread each allocate 32 objects
 * of 64 KiB through stack_a -> stack_b -> stack_c -> stack_d -> malloc,
 * calloc or realloc
 * (run with MEMRECLAIM_PROF_INTERVAL=1: every allocation is sampled), then
 * the program takes its own in-use profile (mr_profile_dump, heap_v2
 * text) and names the frames of each 64 KiB bucket with dladdr (built
 * with -rdynamic).  Prints one line per bucket: "stack: d c b a main".
 * Exits 0 if every bucket's stack reads stack_d stack_c stack_b stack_a
 * then run_check or thread_main, 2 if one is cut short, 1 on other
 * errors.
 *
 * `prof_stack bench N DEPTH`: N mallocs of 64 KiB at DEPTH frames below
 * main (each freed at once); prints the CPU time per malloc in ns, to
 * compare sampling off, the frame-pointer walk and libunwind.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include "memreclaim.h"

#define OBJ (64 << 10)
#define NOBJ 32

void *held[2][NOBJ];
volatile int sink;
int run_check(void);
int deep(int d, long n);
void stack_a(int t);
void stack_b(int t, int i);
void stack_c(int t, int i);
void stack_d(int t, int i);
void *thread_main(void *arg);

__attribute__((noinline)) void
stack_d(int t, int i)
{
	/* the three ways in: malloc, calloc, and realloc moving a small
	 * object (each must start the stack at stack_d) */
	if (i % 3 == 0)
		held[t][i] = malloc(OBJ);
	else if (i % 3 == 1)
		held[t][i] = calloc(1, OBJ);
	else
		held[t][i] = realloc(malloc(16), OBJ);
	((volatile char *)held[t][i])[0] = 1;
}

__attribute__((noinline)) void
stack_c(int t, int i)
{
	stack_d(t, i);
	sink++;
}

__attribute__((noinline)) void
stack_b(int t, int i)
{
	stack_c(t, i);
	sink++;
}

__attribute__((noinline)) void
stack_a(int t)
{
	int i;

	for (i = 0; i < NOBJ; i++)
		stack_b(t, i);
	sink++;
}

void *
thread_main(void *arg)
{
	stack_a(1);
	sink++;
	return arg;
}

static const char *
name_of(unsigned long pc)
{
	Dl_info di;

	if (dladdr((void *)(pc - 1), &di) && di.dli_sname)
		return di.dli_sname;
	return "?";
}

/* One "n: b [n: b] @ pc pc ..." line of a heap_v2 profile. */
static int
check_line(char *l)
{
	static const char *const want[] = {"stack_d", "stack_c", "stack_b",
					   "stack_a"};
	unsigned long n, b, pc;
	char *at = strchr(l, '@'), *p;
	int k = 0, ok = 1;

	if (sscanf(l, "%lu: %lu", &n, &b) != 2 || !at || !n || b / n != OBJ)
		return 0;
	printf("stack:");
	for (p = at + 1; sscanf(p, " 0x%lx", &pc) == 1; k++) {
		const char *f = name_of(pc);
		printf(" %s", f);
		if (k < 4 && strcmp(f, want[k]))
			ok = 0;
		if (k == 4 && strcmp(f, "run_check") &&
		    strcmp(f, "thread_main"))
			ok = 0;
		p = strchr(p + 1, ' ');
		if (!p)
			break;
	}
	printf("\n");
	return ok && k >= 4 ? 1 : -1;
}

__attribute__((noinline)) int
run_check(void)
{
	int (*dump)(int, int) =
	    (int (*)(int, int))dlsym(RTLD_DEFAULT, "mr_profile_dump");
	pthread_t t;
	char line[4096];
	int fd, r, buckets = 0, bad = 0;
	FILE *f;

	if (!dump) {
		fprintf(stderr, "prof_stack: mr_profile_dump not found "
				"(preload libmemreclaim)\n");
		return 1;
	}
	stack_a(0);
	if (pthread_create(&t, NULL, thread_main, NULL) ||
	    pthread_join(t, NULL))
		return 1;
	fd = memfd_create("profile", 0);
	if (fd < 0 || (r = dump(fd, MR_PROFILE_INUSE | MR_PROFILE_TEXT)) < 0) {
		fprintf(stderr, "prof_stack: mr_profile_dump failed\n");
		return 1;
	}
	lseek(fd, 0, SEEK_SET);
	f = fdopen(fd, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "MAPPED_LIBRARIES", 16))
			break;
		r = check_line(line);
		buckets += r != 0;
		bad += r < 0;
	}
	if (!buckets) {
		fprintf(stderr, "prof_stack: no 64 KiB bucket in profile\n");
		return 1;
	}
	return bad ? 2 : 0;
}

/* Called through a volatile pointer: the compiler cannot make the
 * recursion a loop. */
int (*volatile deep_fn)(int, long) = deep;

__attribute__((noinline)) int
deep(int d, long n)
{
	long i;

	if (d > 1)
		return deep_fn(d - 1, n) + 1;
	for (i = 0; i < n; i++) {
		void *p = malloc(OBJ);
		((volatile char *)p)[0] = 1;
		free(p);
	}
	return 0;
}

static double
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "check"))
		return run_check();
	if (argc == 4 && !strcmp(argv[1], "bench")) {
		long n = atol(argv[2]);
		double t;

		deep(atoi(argv[3]), n / 10 + 1); /* warm up */
		t = cpu_ns();
		sink += deep(atoi(argv[3]), n);
		printf("%.1f ns per malloc+free\n", (cpu_ns() - t) / n);
		return 0;
	}
	fprintf(stderr, "usage: prof_stack check | bench N DEPTH\n");
	return 1;
}
