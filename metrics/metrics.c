/*
 * The /metrics endpoint (see metrics.h): one libmicrohttpd daemon with its
 * internal polling thread; the handler formats the published snapshot under
 * m->mu and hands the text to MHD, which frees it.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct metrics {
    struct MHD_Daemon *daemon;
    int port;
    pthread_mutex_t mu;
    struct metrics_snapshot snap; /* guarded by mu */
};

/* ------------------------------------------------------------ formatting */

struct buf {
    char *s;
    size_t len, cap;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
}

/* One metric family with a single unlabelled sample. */
static void family(struct buf *b, const char *name, const char *type, const char *help,
                   double v)
{
    bprintf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", name, help, name, type, name, v);
}

/* A label value with \, " and newline escaped, as the format requires. */
static void label_escape(char *out, size_t n, const char *in)
{
    size_t k = 0;
    for (; *in && k + 3 < n; in++) {
        if (*in == '\\' || *in == '"') {
            out[k++] = '\\';
            out[k++] = *in;
        } else if (*in == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else {
            out[k++] = *in;
        }
    }
    out[k] = '\0';
}

/* Per-tenant gauges (none without tenants). */
static void tenant_families(struct buf *b, const struct metrics_snapshot *s)
{
    static const struct {
        const char *name, *help;
    } fam[] = {
        {"synergy_tenant_gpus_quota", "A tenant's nominal GPU quota."},
        {"synergy_tenant_gpus_held", "GPUs a tenant's running jobs hold this round."},
        {"synergy_tenant_gpus_borrowed", "GPUs a tenant holds above its quota this round."},
        {"synergy_tenant_usage_ratio",
         "A tenant's decayed usage: its GPUs over the capacity, half-life weighted."},
        {"synergy_tenant_jobs_queued", "A tenant's jobs waiting for GPUs."},
        {"synergy_tenant_jobs_running", "A tenant's jobs holding a lease this round."},
    };
    size_t n = s->n_tenants < METRICS_MAX_TENANTS ? s->n_tenants : METRICS_MAX_TENANTS;
    for (size_t f = 0; n > 0 && f < sizeof fam / sizeof fam[0]; f++) {
        bprintf(b, "# HELP %s %s\n# TYPE %s gauge\n", fam[f].name, fam[f].help, fam[f].name);
        for (size_t i = 0; i < n; i++) {
            const struct metrics_tenant *t = &s->tenants[i];
            char name[sizeof t->name * 2 + 4], tmp[sizeof t->name + 1];
            snprintf(tmp, sizeof tmp, "%s", t->name);
            label_escape(name, sizeof name, tmp);
            double v[] = {t->quota, t->held, t->borrowed, t->usage, (double)t->queued,
                          (double)t->running};
            bprintf(b, "%s{tenant=\"%s\"} %.15g\n", fam[f].name, name, v[f]);
        }
    }
}

char *metrics_format(const struct metrics_snapshot *s)
{
    struct buf b = {.s = xmalloc(4096), .cap = 4096};
    b.s[0] = '\0';
    family(&b, "synergy_rounds_total", "counter", "Scheduling rounds planned.",
           (double)s->rounds);
    family(&b, "synergy_round_time_seconds", "gauge",
           "Logical time of the last round boundary processed (-1 before the first).",
           s->round_time_s);
    family(&b, "synergy_jobs_pending", "gauge", "Jobs of the trace that have not arrived yet.",
           (double)s->jobs_pending);
    family(&b, "synergy_jobs_queued", "gauge", "Jobs waiting for GPUs.", (double)s->jobs_queued);
    family(&b, "synergy_jobs_running", "gauge", "Jobs holding a lease this round.",
           (double)s->jobs_running);
    family(&b, "synergy_jobs_finished_total", "counter", "Jobs that ran to their total.",
           (double)s->jobs_finished);
    family(&b, "synergy_jobs_failed_total", "counter",
           "Jobs given up after too many crashes.", (double)s->jobs_failed);
    family(&b, "synergy_gpus_allocated", "gauge", "GPUs held by this round's plan.",
           s->gpus_allocated);
    family(&b, "synergy_gpus_total", "gauge", "GPUs of the cluster.", s->gpus_total);
    family(&b, "synergy_cpus_allocated", "gauge", "CPUs held by this round's plan.",
           s->cpus_allocated);
    family(&b, "synergy_cpus_total", "gauge", "CPUs of the cluster.", s->cpus_total);
    family(&b, "synergy_memory_allocated_bytes", "gauge",
           "Memory held by this round's plan (the config's GB times 1e9).",
           s->mem_allocated_gb * 1e9);
    family(&b, "synergy_memory_total_bytes", "gauge", "Memory of the cluster.",
           s->mem_total_gb * 1e9);
    family(&b, "synergy_workers_up", "gauge", "Workers registered and not lost.",
           s->workers_up);
    family(&b, "synergy_workers", "gauge", "Workers the deployment expects.", s->workers_total);
    family(&b, "synergy_round_lateness_seconds", "gauge",
           "How late the last round boundary was processed (wall seconds).", s->lateness_s);
    family(&b, "synergy_round_lateness_max_seconds", "gauge",
           "The latest any round boundary was processed so far (wall seconds).",
           s->lateness_max_s);
    family(&b, "synergy_job_crashes_total", "counter", "Job exits that were not asked for.",
           (double)s->crashes);
    family(&b, "synergy_job_preemptions_total", "counter",
           "Leases ended by the plan, summed over jobs.", (double)s->preemptions);
    family(&b, "synergy_job_relaunches_total", "counter",
           "Launches after a crash or a lost worker.", (double)s->relaunches);
    family(&b, "synergy_lease_kills_total", "counter",
           "Jobs killed by their worker at lease expiry.", (double)s->lease_kills);
    family(&b, "synergy_workers_lost_total", "counter", "Workers lost (heartbeat overdue).",
           (double)s->workers_lost);
    bprintf(&b, "# HELP synergy_job_progress_ratio Executed / total iterations of a job in the "
                "system (at most %d series: running jobs first).\n"
                "# TYPE synergy_job_progress_ratio gauge\n",
            METRICS_MAX_JOBS);
    size_t n = s->n_jobs < METRICS_MAX_JOBS ? s->n_jobs : METRICS_MAX_JOBS;
    for (size_t i = 0; i < n; i++) {
        const struct metrics_job *j = &s->jobs[i];
        char model[sizeof j->model * 2 + 4];
        char tmp[sizeof j->model + 1];
        snprintf(tmp, sizeof tmp, "%s", j->model);
        label_escape(model, sizeof model, tmp);
        bprintf(&b, "synergy_job_progress_ratio{job=\"%d\",model=\"%s\",state=\"%s\"} %.15g\n",
                j->id, model, j->running ? "running" : "queued",
                j->total > 0 ? (double)j->executed / (double)j->total : 0.0);
    }
    family(&b, "synergy_job_progress_dropped", "gauge",
           "Jobs in the system left out of synergy_job_progress_ratio by the series cap.",
           (double)s->jobs_dropped);
    tenant_families(&b, s);
    return b.s;
}

/* ------------------------------------------------------------- the server */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    metrics_t *m = cls;
    unsigned status = MHD_HTTP_OK;
    char *body;
    const char *type = "text/plain; version=0.0.4; charset=utf-8";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        body = xstrdup("only GET\n");
        type = "text/plain";
    } else if (strcmp(url, "/metrics") != 0) {
        status = MHD_HTTP_NOT_FOUND;
        body = xstrdup("synergy: metrics are at /metrics\n");
        type = "text/plain";
    } else {
        pthread_mutex_lock(&m->mu);
        body = metrics_format(&m->snap);
        pthread_mutex_unlock(&m->mu);
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* "IP:PORT" or "[IP6]:PORT" -> a socket address. 0 or -1 + err. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
                        struct err *err)
{
    char host[128];
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            return errprintf(err, "--metrics-listen: '%s' must be IP:PORT or [IPv6]:PORT", s);
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s || (size_t)(colon - s) >= sizeof host)
            return errprintf(err, "--metrics-listen: '%s' must be IP:PORT or [IPv6]:PORT", s);
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    long port;
    if (parse_long(colon + 1, &port) < 0 || port < 0 || port > 65535)
        return errprintf(err, "--metrics-listen: '%s': port must be 0..65535", s);
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
    } else {
        return errprintf(err, "--metrics-listen: '%s': '%s' is not an IP address", s, host);
    }
    return 0;
}

int metrics_check_listen(const char *listen, struct err *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_listen(listen, &ss, &len, err) < 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

metrics_t *metrics_create(const char *listen, struct err *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_listen(listen, &ss, &len, err) < 0) {
        errno = EINVAL;
        return NULL;
    }
    metrics_t *m = xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->snap.round_time_s = -1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* the port argument is ignored when a socket address is given */
    m->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)10, MHD_OPTION_END);
    if (!m->daemon) {
        int e = errno;
        errprintf(err, "--metrics-listen: cannot serve on %s: %s", listen,
                  e ? strerror(e) : "libmicrohttpd failed to start");
        pthread_mutex_destroy(&m->mu);
        free(m);
        errno = e ? e : EADDRINUSE;
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : 0;
    (void)len;
    return m;
}

int metrics_port(const metrics_t *m)
{
    return m ? m->port : 0;
}

void metrics_publish(metrics_t *m, const struct metrics_snapshot *s)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->snap = *s;
    pthread_mutex_unlock(&m->mu);
}

void metrics_destroy(metrics_t *m)
{
    if (!m)
        return;
    int e = errno;
    MHD_stop_daemon(m->daemon);
    pthread_mutex_destroy(&m->mu);
    free(m);
    errno = e;
}
