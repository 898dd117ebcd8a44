/*
 * deploy: the workers file reader and the SQLite deployment state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"
#include "deploy_state.h"

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/synergy-workers-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    return path;
}

static void workers_file(void **state)
{
    struct deploy_worker_addr *w;
    size_t n;
    struct err err = {{0}};
    char *p = write_tmp("# ip,port,start_gpu,start_cpu,numa\n10.0.0.5,16000,0,0,1\n\n"
                        "10.0.0.6, 16001, 4, 8, 0\n");
    assert_int_equal(deploy_workers_read(p, &w, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(w[1].ip, "10.0.0.6");
    assert_int_equal(w[1].port, 16001);
    assert_int_equal(w[1].start_gpu, 4);
    assert_int_equal(w[1].start_cpu, 8);
    assert_int_equal(w[1].numa, 0);
    free(w);
    unlink(p);
    /* port 0: the worker reports the port it bound (issue 9) */
    p = write_tmp("10.0.0.5,0,0,0,1\n");
    assert_int_equal(deploy_workers_read(p, &w, &n, &err), 0);
    assert_int_equal(w[0].port, 0);
    free(w);
    unlink(p);
    p = write_tmp("10.0.0.5,16000,0,0,1\n10.0.0.6,99999,0,0,1\n");
    assert_int_equal(deploy_workers_read(p, &w, &n, &err), -1);
    assert_non_null(strstr(err.msg, ":2: expected ip,port,start_gpu,start_cpu,numa"));
    unlink(p);
}

static void state_round_trip(void **state)
{
    struct err err = {{0}};
    deploy_state_t *st = deploy_state_open(":memory:", &err);
    assert_non_null(st);
    assert_int_equal(deploy_state_begin(st, &err), 0);
    assert_int_equal(deploy_state_worker(st, 0, "127.0.0.1", 5000, "registered", 8, &err), 0);
    assert_int_equal(deploy_state_job(st, 1, "res18", "queued", 0, 0, 100, 0.5, -1, &err), 0);
    assert_int_equal(deploy_state_job(st, 2, "gnmt", "queued", 0, 0, 100, 0.5, -1, &err), 0);
    assert_int_equal(deploy_state_lease(st, 1, 1, 0, "0,1", 6, 125, 300, 600, "active", &err), 0);
    assert_int_equal(deploy_state_lease(st, 1, 1, 0, "0,1", 6, 125, 300, 600, "ended", &err), 0);
    assert_int_equal(deploy_state_job(st, 1, "res18", "finished", 1, 100, 100, 0.5, 600, &err), 0);
    assert_int_equal(deploy_state_commit(st, &err), 0);
    assert_int_equal(deploy_state_count_jobs(st, NULL), 2);
    assert_int_equal(deploy_state_count_jobs(st, "finished"), 1);
    assert_int_equal(deploy_state_count_jobs(st, "queued"), 1);
    deploy_state_close(st);
    assert_null(deploy_state_open("/nonexistent/dir/x.db", &err));
}

static int collect(void *ctx, const struct deploy_state_sample *r)
{
    struct deploy_state_sample *out = ctx;
    int k = 0;
    while (out[k].t >= 0)
        k++;
    out[k] = *r;
    return 0;
}

/* deploy --db's rounds: a re-planned round (after a restart) replaces its
 * sample, they come back by time, and a fresh run forgets them */
static void samples(void **state)
{
    struct err err = {{0}};
    deploy_state_t *st = deploy_state_open(":memory:", &err);
    assert_non_null(st);
    struct deploy_state_sample a = {.t = 300, .runnable = 4, .placed = 3, .started = 1,
                                    .preempted = 2, .demoted = 1, .alloc = {0.5, 0.25, 0.125},
                                    .util = {0.5, 0.2, 0.1}, .demand = {1.5, 0.75, 0.5}};
    struct deploy_state_sample b = a;
    b.t = 0;
    b.placed = 2;
    assert_int_equal(deploy_state_sample(st, &a, &err), 0);
    assert_int_equal(deploy_state_sample(st, &b, &err), 0);
    b.placed = 4; /* the round at 0 planned again */
    assert_int_equal(deploy_state_sample(st, &b, &err), 0);
    struct deploy_state_sample got[4];
    for (int i = 0; i < 4; i++)
        got[i].t = -1;
    assert_int_equal(deploy_state_samples_each(st, collect, got, &err), 0);
    assert_true(got[0].t == 0 && got[0].placed == 4);
    assert_true(got[1].t == 300 && got[1].runnable == 4 && got[1].placed == 3 &&
                got[1].started == 1 && got[1].preempted == 2 && got[1].demoted == 1);
    assert_true(got[1].alloc[2] == 0.125 && got[1].util[1] == 0.2 && got[1].demand[0] == 1.5);
    assert_true(got[2].t == -1);
    assert_int_equal(deploy_state_reset(st, &err), 0);
    for (int i = 0; i < 4; i++)
        got[i].t = -1;
    assert_int_equal(deploy_state_samples_each(st, collect, got, &err), 0);
    assert_true(got[0].t == -1);
    deploy_state_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workers_file),
        cmocka_unit_test(state_round_trip),
        cmocka_unit_test(samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
