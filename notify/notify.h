/*
 * notify: tell the service manager what the process is doing, over the
 * sd_notify(3) protocol (libsystemd). A server calls notify_ready() once it
 * serves, notify_status() on state changes, notify_stopping() when it winds
 * down, and notify_watchdog() from its main loop's timed waits. Every call is
 * a cheap no-op when the process was not started by systemd with
 * Type=notify (NOTIFY_SOCKET unset), so tests and interactive runs pay
 * nothing. The only code that includes systemd headers: scheduler/ and the
 * other libraries stay free of them.
 */
#ifndef SYNERGY_NOTIFY_H
#define SYNERGY_NOTIFY_H

#include <stdbool.h>

/* READY=1 plus a STATUS= line formatted from fmt (may be NULL). */
void notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A STATUS= line ("round 12 at 3600 s: 5 running, 2 queued"). */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* STOPPING=1 plus a STATUS= line. */
void notify_stopping(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* WATCHDOG=1, at most once per half of the interval that systemd gave the
 * process (WatchdogSec= -> $WATCHDOG_USEC, read once by sd_watchdog_enabled);
 * a no-op without a watchdog. Thread-safe; call it as often as you like. */
void notify_watchdog(void);
/* Whether the manager asked for watchdog pings. */
bool notify_watchdog_enabled(void);
/* Environment variables of the protocol (NOTIFY_SOCKET, WATCHDOG_USEC,
 * WATCHDOG_PID), NULL-terminated: a process that starts helpers of its own
 * (deploy --local workers) leaves them out of the helpers' environment, so
 * only the service's main process speaks for it. */
extern const char *const notify_env_vars[];

#endif
