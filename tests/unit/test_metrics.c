/*
 * metrics: the Prometheus text of a hand-built snapshot (values, label
 * escaping, the per-job series cap) and the libmicrohttpd endpoint serving
 * exactly that text, fetched over a plain socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"

static struct metrics_snapshot *sample(void)
{
    struct metrics_snapshot *s = calloc(1, sizeof *s);
    s->rounds = 7;
    s->round_time_s = 1801;
    s->jobs_pending = 2;
    s->jobs_queued = 4;
    s->jobs_running = 3;
    s->jobs_finished = 11;
    s->jobs_failed = 1;
    s->gpus_allocated = 12;
    s->gpus_total = 16;
    s->cpus_allocated = 30.5;
    s->cpus_total = 48;
    s->mem_allocated_gb = 250;
    s->mem_total_gb = 1000;
    s->workers_up = 1;
    s->workers_total = 2;
    s->lateness_s = 0.25;
    s->lateness_max_s = 1.5;
    s->crashes = 5;
    s->preemptions = 9;
    s->relaunches = 4;
    s->n_jobs = 2;
    s->jobs[0] = (struct metrics_job){.id = 3, .model = "res18", .running = true,
                                      .executed = 250, .total = 1000};
    s->jobs[1] = (struct metrics_job){.id = 4, .model = "a\"b\\c", .running = false,
                                      .executed = 0, .total = 10};
    return s;
}

static void has_line(const char *text, const char *line)
{
    char want[512];
    snprintf(want, sizeof want, "\n%s\n", line);
    if (!strstr(text, want))
        fail_msg("missing line '%s' in:\n%s", line, text);
}

static void format_values(void **state)
{
    struct metrics_snapshot *s = sample();
    char *t = metrics_format(s);
    has_line(t, "synergy_rounds_total 7");
    has_line(t, "synergy_round_time_seconds 1801");
    has_line(t, "synergy_jobs_pending 2");
    has_line(t, "synergy_jobs_queued 4");
    has_line(t, "synergy_jobs_running 3");
    has_line(t, "synergy_jobs_finished_total 11");
    has_line(t, "synergy_jobs_failed_total 1");
    has_line(t, "synergy_gpus_allocated 12");
    has_line(t, "synergy_gpus_total 16");
    has_line(t, "synergy_cpus_allocated 30.5");
    has_line(t, "synergy_cpus_total 48");
    has_line(t, "synergy_memory_allocated_bytes 250000000000");
    has_line(t, "synergy_memory_total_bytes 1000000000000");
    has_line(t, "synergy_workers_up 1");
    has_line(t, "synergy_workers 2");
    has_line(t, "synergy_round_lateness_seconds 0.25");
    has_line(t, "synergy_round_lateness_max_seconds 1.5");
    has_line(t, "synergy_job_crashes_total 5");
    has_line(t, "synergy_job_preemptions_total 9");
    has_line(t, "synergy_job_relaunches_total 4");
    has_line(t, "# TYPE synergy_job_crashes_total counter");
    has_line(t, "# TYPE synergy_jobs_running gauge");
    has_line(t, "synergy_job_progress_ratio{job=\"3\",model=\"res18\",state=\"running\"} 0.25");
    /* a quote and a backslash in a label value are escaped */
    has_line(t, "synergy_job_progress_ratio{job=\"4\",model=\"a\\\"b\\\\c\",state=\"queued\"} 0");
    has_line(t, "synergy_job_progress_dropped 0");
    assert_true(t[strlen(t) - 1] == '\n');
    free(t);
    free(s);
}

static void format_cap(void **state)
{
    struct metrics_snapshot *s = sample();
    s->n_jobs = METRICS_MAX_JOBS;
    for (int i = 0; i < METRICS_MAX_JOBS; i++)
        s->jobs[i] = (struct metrics_job){.id = i, .model = "lstm", .executed = i, .total = 100};
    s->jobs_dropped = 23;
    char *t = metrics_format(s);
    int n = 0;
    for (const char *p = t; (p = strstr(p, "\nsynergy_job_progress_ratio{")); p++)
        n++;
    assert_int_equal(n, METRICS_MAX_JOBS);
    has_line(t, "synergy_job_progress_ratio{job=\"99\",model=\"lstm\",state=\"queued\"} 0.99");
    has_line(t, "synergy_job_progress_dropped 23");
    free(t);
    free(s);
}

/* GET path over a raw socket; returns the whole response (caller frees). */
static char *http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while ((r = read(fd, buf + len, cap - len - 1)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fd);
    return buf;
}

static void endpoint(void **state)
{
    struct err err = {{0}};
    metrics_t *m = metrics_create("127.0.0.1:0", &err);
    assert_non_null(m);
    int port = metrics_port(m);
    assert_true(port > 0);
    /* before any publish: zeros, round time -1 */
    char *r = http_get(port, "/metrics");
    assert_non_null(strstr(r, "HTTP/1.0 200") ? r : strstr(r, "HTTP/1.1 200"));
    has_line(r, "synergy_round_time_seconds -1");
    has_line(r, "synergy_gpus_total 0");
    free(r);
    struct metrics_snapshot *s = sample();
    metrics_publish(m, s);
    char *want = metrics_format(s);
    r = http_get(port, "/metrics");
    assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
    const char *body = strstr(r, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, want);
    free(r);
    r = http_get(port, "/");
    assert_non_null(strstr(r, " 404 "));
    free(r);
    /* the port is taken now: a second server cannot bind it (runtime error) */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    errno = 0;
    assert_null(metrics_create(addr, &err));
    assert_true(errno != EINVAL);
    assert_non_null(strstr(err.msg, "--metrics-listen"));
    metrics_destroy(m);
    metrics_destroy(NULL);
    free(want);
    free(s);
}

static void bad_addresses(void **state)
{
    const char *bad[] = {"127.0.0.1", "127.0.0.1:", "localhost:9000", "127.0.0.1:70000",
                         "[::1:9000", ":9000", "1.2.3.4:x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct err err = {{0}};
        errno = 0;
        assert_null(metrics_create(bad[i], &err));
        assert_int_equal(errno, EINVAL);
        assert_non_null(strstr(err.msg, "--metrics-listen"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_values),
        cmocka_unit_test(format_cap),
        cmocka_unit_test(endpoint),
        cmocka_unit_test(bad_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
