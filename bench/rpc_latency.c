/*
 * bench/rpc_latency: round-trip latency of one unary gRPC call on loopback
 * through synergy's rpc wrapper (gRPC core + protobuf-c), with the message
 * a job sends every round (JobToScheduler/UpdateIters). Compares a
 * persistent channel (what synergy does) with a new channel per call (what
 * the reference's Python clients do).
 * usage: rpc_bench [CALLS]   (default 10000; 200 warm-up calls first)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "job_to_scheduler.pb-c.h"
#include "rpc.h"

static enum rpc_result h_update(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                ProtobufCMessage *rs)
{
    ((UpdateItersResponse *)rs)->num_steps_per_round = 447;
    return RPC_REPLY;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int one(rpc_client_t *c)
{
    UpdateItersRequest req = UPDATE_ITERS_REQUEST__INIT;
    req.job_id = 7;
    req.num_steps = 335;
    req.execution_time_s = 224.9;
    req.extend_lease = true;
    req.round_num = 3;
    ProtobufCMessage *resp = NULL;
    struct err err = {{0}};
    int st = rpc_client_call(c, &job_to_scheduler__descriptor, "UpdateIters", &req.base, &resp,
                             2000, &err);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    if (st != 0)
        fprintf(stderr, "rpc_bench: %s\n", err.msg);
    return st;
}

static void report(const char *what, double *lat, int n, double wall_us)
{
    qsort(lat, (size_t)n, sizeof *lat, cmp);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += lat[i];
    printf("%-34s calls %6d  mean %8.1f us  p50 %8.1f  p90 %8.1f  p99 %8.1f  %8.0f calls/s\n",
           what, n, sum / n, lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100], n / (wall_us / 1e6));
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    if (n < 100)
        n = 100;
    struct err err = {{0}};
    int port = 0;
    rpc_server_t *s = rpc_server_create("127.0.0.1:0", &port, &err);
    if (!s) {
        fprintf(stderr, "rpc_bench: %s\n", err.msg);
        return 1;
    }
    const struct rpc_method h[] = {{"UpdateIters", h_update}, {NULL, NULL}};
    rpc_server_add_service(s, &job_to_scheduler__descriptor, h, NULL);
    if (rpc_server_start(s, &err) < 0)
        return 1;
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    double *lat = malloc(sizeof *lat * (size_t)n);

    rpc_client_t *c = rpc_client_create(target);
    rpc_client_set_wait_for_ready(c, true);
    for (int i = 0; i < 200; i++)
        if (one(c) != 0)
            return 1;
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        double a = now_us();
        if (one(c) != 0)
            return 1;
        lat[i] = now_us() - a;
    }
    report("persistent channel", lat, n, now_us() - t0);
    rpc_client_destroy(c);

    int m = n / 20;
    t0 = now_us();
    for (int i = 0; i < m; i++) {
        double a = now_us();
        rpc_client_t *c2 = rpc_client_create(target);
        rpc_client_set_wait_for_ready(c2, true);
        if (one(c2) != 0)
            return 1;
        rpc_client_destroy(c2);
        lat[i] = now_us() - a;
    }
    report("new channel per call (reference)", lat, m, now_us() - t0);
    free(lat);
    rpc_server_destroy(s);
    return 0;
}
