/*
 * daemon_test.h: helpers shared by the daemon's Check tests: fake
 * directory trees (cgroupfs, procfs) under a temporary root.  Running a
 * suite is check_main.c's.  Implemented in daemon_test.c.
 */
#ifndef MRD_DAEMON_TEST_H
#define MRD_DAEMON_TEST_H

#include <check.h>

/* Make a fresh temporary root ("/tmp/<name>.XXXXXX"); remove it. */
void dt_root_make(const char *name);
void dt_root_remove(void);
/* Absolute path of rel under the root.  Three results stay valid at
 * once (cgfs_open takes three roots). */
const char *dt_path(const char *rel);
/* Write text to rel, creating its directories. */
void dt_put(const char *rel, const char *text);
/* rm -rf rel ("" is the whole root). */
void dt_rm(const char *rel);

#endif
