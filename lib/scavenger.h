/*
 * scavenger.h: the background thread that keeps retained memory near its
 * goal (owned by the release path).  It also hosts the daemon client: the
 * client's socket is in its poll set and mri_client_tick() runs on it.
 */
#ifndef MRI_SCAVENGER_H
#define MRI_SCAVENGER_H

#define MRI_HIDDEN __attribute__((visibility("hidden")))

/* Start the thread if the "scavenger" option allows and it is not running.
 * Must be called with no allocator lock held; may allocate. */
MRI_HIDDEN void mri_scavenger_start(void);
/* Nudge it (e.g. after a large free).  Cheap; async-signal-safe. */
MRI_HIDDEN void mri_scavenger_wake(void);
/* Stop and join (tests, exit). */
MRI_HIDDEN void mri_scavenger_stop(void);
/* fork() handlers: the child has no scavenger thread until restarted. */
MRI_HIDDEN void mri_scavenger_atfork_prepare(void);
MRI_HIDDEN void mri_scavenger_atfork_parent(void);
MRI_HIDDEN void mri_scavenger_atfork_child(void);

#endif
