/*
 * init.h: start-up work the library defers until a process needs it, so
 * that a small single-threaded program does not pay for it (api/init.c).
 *
 * Two things are deferred.  The fork handlers (pthread_atfork pages in
 * about 100 KiB of libc that a program that never forks does not touch):
 * they are needed only once a second thread may hold an allocator lock
 * while another forks, so they are registered when the process first has
 * a second thread (glibc's __libc_single_threaded turns false), or before
 * the scavenger thread starts.  And the scavenger thread itself
 * (release/scavenger.h says when it is due).
 *
 * The allocator's slow paths call mri_startup_poll before they take any
 * lock: a new thread passes one before it can hold a lock, so the handlers
 * are in place by then.  While nothing is pending it costs one load.
 */
#ifndef MRI_API_INIT_H
#define MRI_API_INIT_H

#define MRI_HIDDEN __attribute__((visibility("hidden")))

extern int mri_startup_pending MRI_HIDDEN; /* atomic */
MRI_HIDDEN void mri_startup_poll_slow(void);

static inline void
mri_startup_poll(void)
{
	if (__builtin_expect(
		__atomic_load_n(&mri_startup_pending, __ATOMIC_RELAXED), 0))
		mri_startup_poll_slow();
}

#endif
