/*
 * stack.c: the call stack of a sampled allocation, without allocating.
 *
 * Two walkers.  The frame-pointer walk follows the chain of saved frame
 * pointers (x86-64 and AArch64 lay a frame record out as {previous frame,
 * return address}); it costs a few loads per frame, but code compiled
 * without frame pointers (gcc -O2's default) breaks the chain, so it sees
 * only the frames that keep them.  Each frame pointer must lie between the
 * walker's own frame and the top of the thread's stack, above the previous
 * one and aligned, so a register that holds something else ends the walk
 * instead of faulting.  libunwind's unw_backtrace reads the DWARF call
 * frame information every binary carries (.eh_frame), so it walks any
 * code, at a few microseconds a sample.  prof_unwind=auto uses libunwind
 * when it is loaded, the frame-pointer walk otherwise.
 *
 * libunwind is not linked: a process that never profiles must not map it
 * (and its liblzma) nor pay for it at start-up.  It is loaded with dlopen
 * (mri_prof_unwind_load) when profiling starts with MEMRECLAIM_PROF=1, and
 * when a profile is first asked for; never inside malloc, which is where
 * samples are taken.  Until then samples use the frame-pointer walk.
 *
 * Frames inside this library (the malloc family, the sampler) are cut off
 * the top: a stack starts at the program's call site, which the malloc
 * family passes down as its return address (it is not in any frame record
 * when the leaf function keeps no frame pointer).
 */
#include "config.h"
#include <fcntl.h>
#include <pthread.h>
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

static char exe_path[256];
static void stack_learn(void);

static void
maps_line(const char *l)
{
	uintptr_t self = (uintptr_t)&stack_learn;
	uintptr_t lo, hi;
	const char *e = strchr(l, '\0');

	l = mri_prof_hex(l, &lo);
	if (*l != '-')
		return;
	mri_prof_hex(l + 1, &hi);
	if (e - l > 7 && !strcmp(e - 7, "[stack]"))
		main_stack_hi = hi;
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

static __attribute__((noinline)) int
stack_fp(void **pcs, int max, void *ra)
{
	uintptr_t lo = (uintptr_t)__builtin_frame_address(0);
	uintptr_t hi = stack_hi();
	uintptr_t *fp = __builtin_frame_address(0);
	int n = 0, skipping = 1;

	pcs[n++] = ra;
	while (n < max && (uintptr_t)fp >= lo && hi &&
	       (uintptr_t)fp <= hi - 2 * sizeof(void *) &&
	       !((uintptr_t)fp & (sizeof(void *) - 1))) {
		uintptr_t pc = fp[1];
		uintptr_t *next = (uintptr_t *)fp[0];

		if (!pc)
			break;
		if (skipping && (in_lib(pc) || pc == (uintptr_t)ra)) {
			/* still in the malloc family, or the call site
			 * again (the leaf kept a frame) */
		} else {
			skipping = 0;
			pcs[n++] = (void *)pc;
		}
		if (next <= fp)
			break;
		fp = next;
	}
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

	if (__atomic_exchange_n(&tried, 1, __ATOMIC_ACQ_REL) ||
	    mri_opt(MRI_OPT_PROF_UNWIND) == MRI_PROF_UNWIND_FP)
		return;
	h = dlopen(MR_LIBUNWIND_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (h)
		__atomic_store_n(&unw_bt,
				 (int (*)(void **, int))dlsym(h, "unw_backtrace"),
				 __ATOMIC_RELEASE);
#endif
}

static int
stack_unwind(int (*bt)(void **, int), void **pcs, int max, void *ra)
{
	void *tmp[MRI_PROF_MAX_DEPTH + 8];
	int n = bt(tmp, MRI_PROF_MAX_DEPTH + 8), i = 0, k = 0;

	while (i < n && in_lib((uintptr_t)tmp[i]))
		i++;
	if (i == n || (lib_hi == 0 && tmp[i] != ra)) {
		/* No library range (static link): start at the call site. */
		for (i = 0; i < n && tmp[i] != ra; i++)
			;
		if (i == n) {
			pcs[k++] = ra;
			return k;
		}
	}
	for (; i < n && k < max; i++)
		pcs[k++] = tmp[i];
	return k;
}

int
mri_prof_unwinder(void)
{
	int u = (int)mri_opt(MRI_OPT_PROF_UNWIND);

	if (u == MRI_PROF_UNWIND_FP ||
	    !__atomic_load_n(&unw_bt, __ATOMIC_ACQUIRE))
		return MRI_PROF_UNWIND_FP;
	return MRI_PROF_UNWIND_LIBUNWIND;
}

int
mri_prof_stack(void **pcs, int max, void *ra)
{
	if (!__atomic_load_n(&lib_known, __ATOMIC_ACQUIRE))
		stack_learn();
	if (mri_prof_unwinder() == MRI_PROF_UNWIND_LIBUNWIND)
		return stack_unwind(__atomic_load_n(&unw_bt, __ATOMIC_ACQUIRE),
				    pcs, max, ra);
	return stack_fp(pcs, max, ra);
}
