/*
 * log.h: memreclaimd's logging, in the OpenBSD daemons' manner.
 *
 * To stderr (with a timestamp) in the foreground, to syslog otherwise.
 * log_warn appends strerror(errno) (or of an explicit -errno with
 * log_warnc), log_warnx does not.  fatal/fatalx are for start-up only:
 * once the loop runs, nothing a peer does may stop the daemon.
 */
#ifndef MRD_LOG_H
#define MRD_LOG_H

void log_init(int foreground, int level, const char *ident);
void log_setlevel(int level);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnc(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
