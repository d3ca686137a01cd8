/*
 * stack.c: the call stack of a sampled allocation, without allocating.
 *
 * Two walkers.  The frame-pointer walk follows the chain of saved frame
 * pointers (x86-64 and AArch64 lay a frame record out as {previous frame,
 * return address}): a few loads per frame, 30..60 ns a stack.  Code built
 * without frame pointers (gcc -O2's default) uses the register for other
 * things, so the chain ends (or goes astray) at its first frame.  Each
 * frame pointer must lie above the previous one, aligned and inside the
 * thread's stack, so a register that holds something else ends the walk
 * instead of faulting.  libunwind's unw_backtrace reads the DWARF call
 * frame information every binary carries (.eh_frame), so it walks any
 * code, at a few microseconds a stack.
 *
 * prof_unwind=auto takes the frame-pointer walk when it is complete: it
 * went through at least one frame of the program and ended in libc's
 * thread entry (__libc_start_call_main or start_thread: their frames are
 * the outermost that glibc's own code, built without frame pointers, can
 * be reached from).  A program built without frame pointers gives a walk
 * that ends at the call site, in the program: that sample is taken again
 * with libunwind, when it is loaded.  So a program that keeps frame
 * pointers pays the cheap walk, one that does not the libunwind walk, and
 * neither has to say which it is.  fp and libunwind force one walker.
 *
 * libunwind is not linked: a process that never profiles must not map it
 * (and its liblzma) nor pay for it at start-up.  It is loaded with dlopen
 * (mri_prof_unwind_load) when profiling starts with MEMRECLAIM_PROF=1,
 * when it is switched on through mr_option_set, and when a profile is
 * first asked for; never inside malloc, which is where samples are taken.
 * Until then samples use the frame-pointer walk.
 *
 * A walk starts at the frame record of the malloc family's sampling
 * function (api/alloc.c passes it down): its return address is the
 * program's call site, or a frame of the malloc family itself (calloc,
 * realloc), which is skipped.  The library is built with
 * -fno-omit-frame-pointer, so no frame of ours breaks the chain between
 * the program and that record.
 */
#include "config.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <dlfcn.h>
#include "os/options.h"
#include "prof/prof.h"

/* This library's executable mapping, [lib_lo, lib_hi), found once; empty
 * when the library is linked into the executable itself. */
static uintptr_t lib_lo, lib_hi;
static int lib_known;
/* Top of the main thread's stack ([stack] in /proc/self/maps). */
static uintptr_t main_stack_hi;
static __thread uintptr_t tls_stack_hi MRI_TLS_IE;

/* libc's executable mapping: where a complete frame-pointer walk ends. */
static uintptr_t libc_lo, libc_hi;

uint64_t mri_prof_walks[3];

static char exe_path[256];
static void stack_learn(void);

static void
maps_line(const char *l)
{
	uintptr_t self = (uintptr_t)&stack_learn;
	/* exit() is in libc's text, however the library was linked */
	uintptr_t libc = (uintptr_t)&exit;
	uintptr_t lo, hi;
	const char *e = strchr(l, '\0');

	l = mri_prof_hex(l, &lo);
	if (*l != '-')
		return;
	mri_prof_hex(l + 1, &hi);
	if (e - l > 7 && !strcmp(e - 7, "[stack]"))
		main_stack_hi = hi;
	if (libc >= lo && libc < hi) {
		libc_lo = lo;
		libc_hi = hi;
	}
	if (self >= lo && self < hi) {
		const char *path = strchr(l, '/');
		/* Only a shared object: in a static link the executable's
		 * frames are the program's. */
		if (path && strcmp(path, exe_path)) {
			lib_lo = lo;
			lib_hi = hi;
		}
	}
}

static void
stack_learn(void)
{
	ssize_t k = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);

	exe_path[k > 0 ? k : 0] = '\0';
	(void)mri_prof_maps(maps_line, NULL, NULL);
	__atomic_store_n(&lib_known, 1, __ATOMIC_RELEASE);
}

static int
in_lib(uintptr_t pc)
{
	return pc >= lib_lo && pc < lib_hi;
}

/* Top of this thread's stack, 0 if unknown. */
static uintptr_t
stack_hi(void)
{
	pthread_attr_t a;
	void *lo;
	size_t sz;

	if (tls_stack_hi)
		return tls_stack_hi;
	if (getpid() == (pid_t)syscall(SYS_gettid)) {
		tls_stack_hi = main_stack_hi;
	} else if (pthread_getattr_np(pthread_self(), &a) == 0) {
		/* Not for the main thread: glibc reads /proc there with
		 * stdio.  Here it may malloc a CPU set, which the caller's
		 * busy flag keeps from being sampled. */
		if (pthread_attr_getstack(&a, &lo, &sz) == 0)
			tls_stack_hi = (uintptr_t)lo + sz;
		pthread_attr_destroy(&a);
	}
	return tls_stack_hi;
}

/*
 * Walk from frame record fp0.  Returns the depth; *complete is set when the
 * walk ended in libc's thread entry after a frame of the program's.
 */
static int
stack_fp(void **pcs, int max, const uintptr_t *fp0, int *complete)
{
	uintptr_t lo = (uintptr_t)__builtin_frame_address(0);
	uintptr_t hi = stack_hi();
	const uintptr_t *fp = fp0;
	uintptr_t pc = 0;
	int n = 0;

	*complete = 0;
	for (;;) {
		uintptr_t next = fp[0];

		pc = fp[1];
		if (!pc)
			break;
		if (n || !in_lib(pc))
			pcs[n++] = (void *)pc;
		if (n == max) {
			*complete = 1; /* deeper than we keep */
			return n;
		}
		/* the next record must be above this one, aligned, and
		 * inside this thread's stack */
		if (next <= (uintptr_t)fp || next < lo || !hi ||
		    next > hi - 2 * sizeof(void *) ||
		    (next & (sizeof(void *) - 1)))
			break;
		fp = (const uintptr_t *)next;
	}
	*complete = n >= 2 && pc >= libc_lo && pc < libc_hi;
	return n;
}

/* libunwind's unw_backtrace, once loaded (NULL: not loaded). */
static int (*unw_bt)(void **, int);

void
mri_prof_unwind_load(void)
{
#ifdef HAVE_LIBUNWIND
	static int tried;
	void *h;

	/* fp first: a process told fp may be told auto later */
	if (mri_opt(MRI_OPT_PROF_UNWIND) == MRI_PROF_UNWIND_FP ||
	    __atomic_exchange_n(&tried, 1, __ATOMIC_ACQ_REL))
		return;
	h = dlopen(MR_LIBUNWIND_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (h)
		__atomic_store_n(&unw_bt,
				 (int (*)(void **, int))dlsym(h, "unw_backtrace"),
				 __ATOMIC_RELEASE);
#endif
}

/* ra: the return address of the first frame record (the call site, or a
 * frame of the malloc family). */
static int
stack_unwind(int (*bt)(void **, int), void **pcs, int max, void *ra)
{
	void *tmp[MRI_PROF_MAX_DEPTH + 8];
	int n = bt(tmp, MRI_PROF_MAX_DEPTH + 8), i = 0, k = 0;

	if (lib_hi) {
		while (i < n && in_lib((uintptr_t)tmp[i]))
			i++;
	} else {
		/* No library range (static link): start at ra. */
		while (i < n && tmp[i] != ra)
			i++;
	}
	if (i == n) {
		pcs[k++] = ra;
		return k;
	}
	for (; i < n && k < max; i++)
		pcs[k++] = tmp[i];
	return k;
}

int
mri_prof_stack(void **pcs, int max, const void *frame)
{
	const uintptr_t *fp0 = frame;
	int (*bt)(void **, int) = __atomic_load_n(&unw_bt, __ATOMIC_ACQUIRE);
	int u = (int)mri_opt(MRI_OPT_PROF_UNWIND), n, complete;

	if (!__atomic_load_n(&lib_known, __ATOMIC_ACQUIRE))
		stack_learn();
	if (bt && u == MRI_PROF_UNWIND_LIBUNWIND) {
		__atomic_fetch_add(&mri_prof_walks[MRI_PROF_UNWIND_LIBUNWIND],
				   1, __ATOMIC_RELAXED);
		return stack_unwind(bt, pcs, max, (void *)fp0[1]);
	}
	n = stack_fp(pcs, max, fp0, &complete);
	if (!complete && bt && u == MRI_PROF_UNWIND_AUTO) {
		__atomic_fetch_add(&mri_prof_walks[MRI_PROF_UNWIND_LIBUNWIND],
				   1, __ATOMIC_RELAXED);
		return stack_unwind(bt, pcs, max, (void *)fp0[1]);
	}
	__atomic_fetch_add(&mri_prof_walks[MRI_PROF_UNWIND_FP], 1,
			   __ATOMIC_RELAXED);
	return n;
}
