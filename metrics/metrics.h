/*
 * metrics: a Prometheus /metrics endpoint for the deploy driver. The driver
 * fills a plain snapshot (struct metrics_snapshot) under its own mutex at
 * each round boundary and publishes it; the HTTP thread (libmicrohttpd's
 * internal polling thread) formats the last published snapshot under this
 * module's lock. So a scrape never touches the driver's state, never waits
 * for a round, and sees one consistent round: every value of one scrape
 * comes from the same publish. The only code that includes microhttpd.h.
 *
 * Per-job series are capped at METRICS_MAX_JOBS (running jobs first, then
 * queued ones, each in arrival order); the jobs left out are counted in
 * synergy_job_progress_dropped, so the cardinality of a scrape is bounded
 * whatever the trace size.
 */
#ifndef SYNERGY_METRICS_H
#define SYNERGY_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#define METRICS_MAX_JOBS 100
#define METRICS_MAX_TENANTS 64

/* A tenant's gauges (with a tenants file; docs/tenants.md). */
struct metrics_tenant {
    char name[32];
    double quota;      /* nominal GPUs */
    double held;       /* GPUs its running jobs hold */
    double borrowed;   /* of them, above its quota (this round's plan) */
    double usage;      /* decayed usage U */
    long queued, running;
};

struct metrics_job {
    int id;
    char model[32];
    bool running;
    long executed, total; /* iterations */
};

/* One round's view of the deployment. Counters (crashes, ...) are totals
 * since the start; allocations are what the current round's plan holds. */
struct metrics_snapshot {
    long rounds;              /* rounds planned so far */
    double round_time_s;      /* logical time of the last round boundary processed (-1 before) */
    long jobs_pending;        /* in the trace, not arrived yet */
    long jobs_queued, jobs_running, jobs_finished, jobs_failed;
    double gpus_allocated, gpus_total;
    double cpus_allocated, cpus_total;
    double mem_allocated_gb, mem_total_gb;
    int workers_up, workers_total;
    double lateness_s, lateness_max_s; /* how late the last round / the latest round was processed */
    long crashes, preemptions, relaunches, lease_kills, workers_lost;
    size_t n_jobs;            /* per-job rows below (<= METRICS_MAX_JOBS) */
    long jobs_dropped;        /* jobs in the system without a per-job series */
    struct metrics_job jobs[METRICS_MAX_JOBS];
    size_t n_tenants;         /* per-tenant rows (<= METRICS_MAX_TENANTS) */
    struct metrics_tenant tenants[METRICS_MAX_TENANTS];
};

typedef struct metrics metrics_t;

/* Parse "IP:PORT" (IPv4, or [IPv6]:PORT; port 0 picks a free one) and start
 * serving GET /metrics on it. NULL + err ("--metrics-listen: ...") when the
 * address is malformed or cannot be bound. Until the first publish the
 * endpoint serves an all-zero snapshot with synergy_round_time_seconds -1. */
metrics_t *metrics_create(const char *listen, struct err *err);
/* Check an "IP:PORT" / "[IPv6]:PORT" address without binding it: 0, or -1
 * with err ("--metrics-listen: ...") and errno EINVAL. */
int metrics_check_listen(const char *listen, struct err *err);
/* The bound port (useful with port 0). */
int metrics_port(const metrics_t *m);
/* Copy s as the snapshot to serve. m NULL: no-op. */
void metrics_publish(metrics_t *m, const struct metrics_snapshot *s);
/* Stop serving and free. NULL: no-op. */
void metrics_destroy(metrics_t *m);

/* Format s in the Prometheus text exposition format (0.0.4). Caller frees. */
char *metrics_format(const struct metrics_snapshot *s);

#endif
