/*
 * log.c: stderr or syslog output for memreclaimd (see log.h).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int log_fg = 1;
static int log_level = LOG_INFO;

void
log_init(int foreground, int level, const char *ident)
{
	log_fg = foreground;
	log_level = level;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setlevel(int level)
{
	log_level = level;
}

static void
log_vwrite(int pri, int err, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	if (pri > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	if (err != 0 && n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
	if (log_fg) {
		struct timespec ts;
		struct tm tm;
		char t[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(t, sizeof(t), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld memreclaimd: %s\n", t,
			ts.tv_nsec / 1000000, msg);
	} else {
		syslog(pri, "%s", msg);
	}
}

#define LOG_FN(name, pri, witherr)                                             \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		int e = errno;                                                 \
		va_list ap;                                                    \
                                                                               \
		va_start(ap, fmt);                                             \
		log_vwrite(pri, (witherr) ? e : 0, fmt, ap);                   \
		va_end(ap);                                                    \
		errno = e;                                                     \
	}

LOG_FN(log_warn, LOG_WARNING, 1)
LOG_FN(log_warnx, LOG_WARNING, 0)
LOG_FN(log_notice, LOG_NOTICE, 0)
LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_debug, LOG_DEBUG, 0)

void
log_warnc(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, err < 0 ? -err : err, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
