/*
 * notify.h: memreclaimd's side of systemd's service notification protocol
 * (sd_notify(3) over $NOTIFY_SOCKET, through libsystemd, which the daemon
 * links already).
 *
 * It owns the watchdog: under WatchdogSec= systemd sets WATCHDOG_USEC and
 * kills the service when no WATCHDOG=1 arrives within that time.  The ping
 * is sent from the epoll loop after each turn (notify_loop_turned), never
 * from a timer or a thread of its own, so a loop stuck in a read or a
 * decision stops the pings and systemd restarts the daemon.  The loop
 * sleeps at most notify_wait_ms so an idle daemon still pings in time.
 * READY=1, RELOADING=1 and STOPPING=1 are sent by their callers with
 * sd_notify directly; without $NOTIFY_SOCKET all of this does nothing.
 */
#ifndef MRD_NOTIFY_H
#define MRD_NOTIFY_H

#include <stdint.h>

/* Read WATCHDOG_USEC (and WATCHDOG_PID) once, after any fork: pings are
 * then due every half of it.  Returns the ping interval in ns, 0 when no
 * watchdog is asked for. */
uint64_t notify_watchdog_init(uint64_t now_ns);

/* The loop finished a turn at now_ns: send WATCHDOG=1 if one is due. */
void notify_loop_turned(uint64_t now_ns);

/* Milliseconds the loop may sleep before the next ping is due (0 if it is
 * due now); -1 with no watchdog. */
int notify_wait_ms(uint64_t now_ns);

#endif
