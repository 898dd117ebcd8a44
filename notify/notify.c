/*
 * The sd_notify wrapper (see notify.h). The watchdog interval is read once;
 * the time of the last ping is kept under a mutex so that any thread's loop
 * may call notify_watchdog().
 */
#include "notify.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "common.h"

const char *const notify_env_vars[] = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", NULL};

static pthread_once_t wd_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t wd_half_ns; /* 0: no watchdog */
static uint64_t wd_last_ns;

static void wd_init(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        wd_half_ns = usec * 1000ULL / 2;
}

static void send_with_status(const char *head, const char *fmt, va_list ap)
{
    if (!getenv("NOTIFY_SOCKET"))
        return;
    char status[512] = "";
    if (fmt)
        vsnprintf(status, sizeof status, fmt, ap);
    if (status[0])
        sd_notifyf(0, "%s%sSTATUS=%s", head, head[0] ? "\n" : "", status);
    else if (head[0])
        sd_notify(0, head);
}

void notify_ready(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_with_status("READY=1", fmt, ap);
    va_end(ap);
}

void notify_status(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_with_status("", fmt, ap);
    va_end(ap);
}

void notify_stopping(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_with_status("STOPPING=1", fmt, ap);
    va_end(ap);
}

bool notify_watchdog_enabled(void)
{
    pthread_once(&wd_once, wd_init);
    return wd_half_ns > 0;
}

void notify_watchdog(void)
{
    if (!notify_watchdog_enabled())
        return;
    uint64_t now = (uint64_t)mono_ns();
    pthread_mutex_lock(&wd_mu);
    bool due = wd_last_ns == 0 || now - wd_last_ns >= wd_half_ns;
    if (due)
        wd_last_ns = now;
    pthread_mutex_unlock(&wd_mu);
    if (due)
        sd_notify(0, "WATCHDOG=1");
}
