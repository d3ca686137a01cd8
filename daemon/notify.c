/*
 * notify.c: the systemd watchdog, pinged from the event loop (notify.h).
 */
#include "config.h"

#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

/* Both only touched by the loop's thread. */
static uint64_t notify_interval_ns; /* 0: no watchdog */
static uint64_t notify_last_ns;	    /* when the last WATCHDOG=1 went out */

uint64_t
notify_watchdog_init(uint64_t now_ns)
{
	uint64_t usec = 0;
	int rc;

	/* 0: unset, or WATCHDOG_PID names another process (a fork) */
	rc = sd_watchdog_enabled(0, &usec);
	if (rc < 0)
		log_warnc(rc, "WATCHDOG_USEC, running without the watchdog");
	if (rc <= 0 || usec == 0)
		return notify_interval_ns = 0;
	/* half the timeout, as sd_watchdog_enabled(3) advises: a ping that
	 * is a little late still arrives in time */
	notify_interval_ns = usec * 1000 / 2;
	notify_last_ns = now_ns;
	log_info("systemd watchdog: %llu ms, pinged every %llu ms",
		 (unsigned long long)(usec / 1000),
		 (unsigned long long)(notify_interval_ns / 1000000));
	sd_notify(0, "WATCHDOG=1");
	return notify_interval_ns;
}

void
notify_loop_turned(uint64_t now_ns)
{
	if (notify_interval_ns == 0 ||
	    now_ns - notify_last_ns < notify_interval_ns)
		return;
	notify_last_ns = now_ns;
	sd_notify(0, "WATCHDOG=1");
}

int
notify_wait_ms(uint64_t now_ns)
{
	uint64_t due;

	if (notify_interval_ns == 0)
		return -1;
	due = notify_last_ns + notify_interval_ns;
	if (now_ns >= due)
		return 0;
	/* round up: waking just before the ping is due would spin */
	return (int)((due - now_ns + 999999) / 1000000);
}
