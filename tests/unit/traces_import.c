/*
 * Unit tests for the trace importers: the Philly reader's counts and jobs on
 * the fixtures (hand-checked against the JSON in tests/fixtures/philly), the
 * Pollux and Gavel readers, the date parser, the class-split assigner (the
 * same stream as the synthetic generator), and the arrival processes.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

#define FIX SYNERGY_SOURCE_DIR "/tests/fixtures/philly/"

struct jobs {
    struct raw_job j[32];
    int n;
};

static int keep(void *ctx, const struct raw_job *j)
{
    struct jobs *js = ctx;
    if (js->n < 32)
        js->j[js->n++] = *j;
    return 0;
}

static int read_fixture(const char *name, const struct philly_opts *o, struct jobs *js,
                        struct philly_stats *st, struct err *err)
{
    FILE *f = fopen(name, "r");
    assert_non_null(f);
    memset(js, 0, sizeof *js);
    int rc = trace_philly_read(f, name, o, keep, js, st, err);
    fclose(f);
    return rc;
}

static void philly_small_sums_attempts(void **state)
{
    struct philly_opts o;
    philly_opts_defaults(&o);
    o.multigpu = true;
    o.philly_arrival = true;
    struct jobs js;
    struct philly_stats st;
    struct err err = {{0}};
    assert_int_equal(read_fixture(FIX "small.json", &o, &js, &st, &err), 0);
    assert_int_equal(st.records, 4);
    assert_int_equal(st.jobs, 2);
    assert_int_equal(st.no_attempts, 1);
    assert_int_equal(st.filtered, 1); /* the 10-minute job */
    assert_int_equal(st.malformed, 0);
    /* time zero: 2017-10-01 00:00:00 (the job with no attempts is earlier but dropped) */
    assert_true(st.min_submit == 1506816000.0);
    assert_true(js.j[0].duration == 3600);
    assert_int_equal(js.j[0].gpus, 2);
    /* 20 min on 1 GPU + 30 min on 8 GPUs: 3000 s, the last attempt's 8 GPUs */
    assert_true(js.j[1].duration == 3000);
    assert_int_equal(js.j[1].gpus, 8);
    assert_true(js.j[1].submit - st.min_submit == 3600);

    /* per attempt: the 20- and 30-minute attempts are each under 31.6 min */
    o.per_attempt = true;
    assert_int_equal(read_fixture(FIX "small.json", &o, &js, &st, &err), 0);
    assert_int_equal(st.jobs, 1);
    assert_int_equal(st.filtered, 3);
    o.max_duration = 0; /* no filter: 1 + 2 + 1 attempts */
    assert_int_equal(read_fixture(FIX "small.json", &o, &js, &st, &err), 0);
    assert_int_equal(st.jobs, 4);
    /* the retry arrives when it started (02:00), not at submission */
    assert_true(js.j[2].submit - st.min_submit == 7200);
    assert_int_equal(js.j[2].gpus, 8);

    /* single-GPU mode */
    philly_opts_defaults(&o);
    assert_int_equal(read_fixture(FIX "small.json", &o, &js, &st, &err), 0);
    assert_int_equal(js.j[1].gpus, 1);
}

static void philly_nasty_counts(void **state)
{
    struct philly_opts o;
    philly_opts_defaults(&o);
    o.multigpu = true;
    o.philly_arrival = true;
    struct jobs js;
    struct philly_stats st;
    struct err err = {{0}};
    assert_int_equal(read_fixture(FIX "nasty.json", &o, &js, &st, &err), 0);
    assert_int_equal(st.records, 17);
    assert_int_equal(st.malformed, 8);
    assert_int_equal(st.no_valid_attempt, 6);
    assert_int_equal(st.filtered, 1);
    assert_int_equal(st.jobs, 2);
    assert_int_equal(st.attempt_none_time, 2);
    assert_int_equal(st.attempt_bad, 1);
    assert_int_equal(st.attempt_nonpositive, 2);
    assert_int_equal(st.attempt_gpus_skipped, 2); /* 3 GPUs with philly arrival; 24 GPUs */
    assert_int_equal(st.n_problems, 5);
    assert_string_equal(st.first_problems[0], FIX "nasty.json:5: record 2: not an object");
    assert_string_equal(st.first_problems[2], FIX "nasty.json:7: record 4: missing submitted_time");
    assert_int_equal(js.j[1].gpus, 2);
    assert_true(js.j[1].submit - st.min_submit == 13 * 3600);

    /* re-drawn arrivals: the odd 3-GPU attempt becomes 1 GPU and is kept */
    o.philly_arrival = false;
    assert_int_equal(read_fixture(FIX "nasty.json", &o, &js, &st, &err), 0);
    assert_int_equal(st.jobs, 3);
    assert_int_equal(js.j[1].gpus, 1);

    /* strict: the first malformed record is an error with its line */
    o.strict = true;
    assert_int_equal(read_fixture(FIX "nasty.json", &o, &js, &st, &err), -1);
    assert_string_equal(err.msg, FIX "nasty.json:5: record 2: not an object");
}

static int read_string(const char *text, const struct philly_opts *o, struct philly_stats *st,
                       struct err *err)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    int rc = trace_philly_read(f, "x.json", o, NULL, NULL, st, err);
    fclose(f);
    return rc;
}

static void philly_syntax_errors(void **state)
{
    struct philly_opts o;
    philly_opts_defaults(&o);
    struct philly_stats st;
    struct err err = {{0}};
    assert_int_equal(read_string("[\n{\"a\": 1},\n{\"b\": ]\n", &o, &st, &err), -1);
    assert_true(strncmp(err.msg, "x.json:3: JSON syntax error", 27) == 0);
    assert_int_equal(read_string("{\"jobs\": []}", &o, &st, &err), -1);
    assert_string_equal(err.msg, "x.json:1: expected a JSON array of jobs at the top level");
    assert_int_equal(read_string("[{\"submitted_time\": \"2017-10-01 00:00:00\", \"attempts\": []}",
                                 &o, &st, &err), -1);
    assert_true(strstr(err.msg, "at end of file") != NULL);
    assert_int_equal(read_string("", &o, &st, &err), -1);
    assert_int_equal(read_string("[]", &o, &st, &err), 0);
    assert_int_equal(st.records, 0);
}

static void datetime_parses_exactly(void **state)
{
    double t;
    assert_int_equal(trace_parse_datetime("1970-01-01 00:00:00", 19, &t), 0);
    assert_true(t == 0);
    assert_int_equal(trace_parse_datetime("2017-10-01 00:00:00", 19, &t), 0);
    assert_true(t == 1506816000.0);
    assert_int_equal(trace_parse_datetime("2016-02-29 12:30:15", 19, &t), 0);
    assert_true(t == 1456749015.0);
    assert_int_equal(trace_parse_datetime("2017-13-01 00:00:00", 19, &t), -1);
    assert_int_equal(trace_parse_datetime("2017-10-01T00:00:00", 19, &t), -1);
    assert_int_equal(trace_parse_datetime("None", 4, &t), -1);
}

static model_zoo_t *zoo(void)
{
    struct err err = {{0}};
    model_zoo_t *z = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err);
    assert_non_null(z);
    return z;
}

static void pollux_rows_become_jobs(void **state)
{
    model_zoo_t *z = zoo();
    const char *csv = "timestamp,duration,num_gpus,gpu_time,cluster\n"
                      "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
                      "2017-10-09 06:13:03,2951.0,2,5902.0,6214e9\n"
                      "2017-10-09 06:13:03,600.0,4,2400.0,6214e9\n";
    FILE *f = fmemopen((void *)csv, strlen(csv), "r");
    struct raw_job *raw;
    size_t n;
    struct err err = {{0}};
    assert_int_equal(trace_read_pollux(f, "p.csv", NULL, &raw, &n, &err), 0);
    fclose(f);
    assert_int_equal(n, 3);
    struct import_params ip = {.time_zero = NAN, .split = {20, 70, 10}};
    struct job_spec *jobs;
    size_t nj;
    assert_int_equal(trace_import_finish(z, raw, n, &ip, &jobs, &nj, &err), 0);
    /* sorted by submit time, ties in file order */
    assert_true(jobs[0].arrival == 0 && jobs[0].gpus == 2);
    assert_string_equal(jobs[0].model, "alexnet");
    assert_int_equal(jobs[0].iterations, 4918); /* floor(2951 / 0.6) */
    assert_true(jobs[1].arrival == 0 && jobs[1].gpus == 4);
    assert_string_equal(jobs[1].model, "gnmt");
    assert_int_equal(jobs[1].iterations, 5000); /* 600 / 0.12 */
    assert_true(jobs[2].arrival == 2932);       /* 07:01:55 - 06:13:03 */
    assert_string_equal(jobs[2].model, "transformer");
    assert_int_equal(jobs[2].iterations, 98); /* floor(66 / 0.67) */
    free(jobs);
    /* cyclic reuse at a fixed rate: 5 jobs, one every 1800 s */
    ip.max_jobs = 5;
    struct err e2;
    ip.arrivals = arrival_create("fixed-rate:2", 1, &e2);
    assert_int_equal(trace_import_finish(z, raw, n, &ip, &jobs, &nj, &err), 0);
    assert_int_equal(nj, 5);
    assert_true(jobs[4].arrival == 9000);
    assert_int_equal(jobs[3].gpus, 2);
    assert_int_equal(jobs[4].id, 4);
    arrival_destroy(ip.arrivals);
    free(jobs);
    free(raw);

    const char *bad = "timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,x,1,1,a\n";
    f = fmemopen((void *)bad, strlen(bad), "r");
    assert_int_equal(trace_read_pollux(f, "p.csv", NULL, &raw, &n, &err), -1);
    fclose(f);
    assert_string_equal(err.msg, "p.csv:2: duration: 'x' is not a non-negative number of seconds");
    model_zoo_destroy(z);
}

static void gavel_maps_types(void **state)
{
    model_zoo_t *z = zoo();
    const char *tsv = "ResNet-50 (batch size 128)\tcmd %s\t--num_steps\t1\t1000\t6.000000\t4\n"
                      "LM (batch size 20)\tcmd\t--steps\t1\t500\t0.000000\t1\n";
    FILE *f = fmemopen((void *)tsv, strlen(tsv), "r");
    struct raw_job *raw;
    size_t n;
    struct err err = {{0}};
    assert_int_equal(trace_read_gavel(f, "g.trace", z, &raw, &n, &err), 0);
    fclose(f);
    struct import_params ip = {.time_zero = NAN, .split = {20, 70, 10}};
    struct job_spec *jobs;
    size_t nj;
    assert_int_equal(trace_import_finish(z, raw, n, &ip, &jobs, &nj, &err), 0);
    assert_string_equal(jobs[0].model, "lstm");
    assert_int_equal(jobs[0].iterations, 500);
    assert_string_equal(jobs[1].model, "res50");
    assert_true(jobs[1].arrival == 6);
    assert_int_equal(jobs[1].gpus, 4);
    free(jobs);
    free(raw);
    assert_null(trace_gavel_model("ResNet-101 (batch size 1)"));
    const char *bad = "Foo (batch size 1)\tc\t-n\t1\t10\t0\t1\n";
    f = fmemopen((void *)bad, strlen(bad), "r");
    assert_int_equal(trace_read_gavel(f, "g.trace", z, &raw, &n, &err), -1);
    fclose(f);
    assert_true(strncmp(err.msg, "g.trace:1: job_type: unknown type 'Foo (batch size 1)'", 54) == 0);
    model_zoo_destroy(z);
}

static void assigner_matches_reference_order(void **state)
{
    model_zoo_t *z = zoo();
    struct model_assigner a;
    int split[3] = {20, 70, 10};
    model_assigner_init(&a, z, split);
    /* the first jobs of the shipped synthetic trace (seed 42, 20/70/10) */
    const char *want[] = {"alexnet", "gnmt", "transformer", "m5", "lstm", "gnmt", "res18"};
    for (int i = 0; i < 7; i++)
        assert_string_equal(model_assigner_next(&a)->name, want[i]);
    model_zoo_destroy(z);
}

static void arrival_processes(void **state)
{
    struct err err = {{0}};
    double t = 0;
    arrival_t *a = arrival_create("poisson:9", 42, &err);
    assert_int_equal(arrival_next(a, 0, &t), 0);
    assert_true(t == 409); /* the synthetic stream's first arrival */
    arrival_destroy(a);
    a = arrival_create("fixed-rate:4", 1, &err);
    arrival_next(a, 0, &t);
    arrival_next(a, t, &t);
    assert_true(t == 1800);
    arrival_destroy(a);
    /* schedule: 9 jobs/h, x2 every 1000 s; at t=1000 the rate is 18/h,
     * so the same u gives half the gap: ceil(409/2 ...) from the same draw */
    a = arrival_create("schedule:9,2,1000", 42, &err);
    arrival_next(a, 1000, &t);
    assert_true(t == 1000 + 205); /* ceil(408.x / 2) */
    arrival_destroy(a);
    FILE *f = fopen("deltas.tmp", "w");
    fputs("1500,a\n# note\n\n250.5,b\n", f);
    fclose(f);
    a = arrival_create("deltas:deltas.tmp", 1, &err);
    assert_non_null(a);
    assert_int_equal(arrival_next(a, 0, &t), 0);
    assert_true(t == 1.5);
    assert_int_equal(arrival_next(a, t, &t), 0);
    assert_true(t == 1.5 + 0.2505);
    assert_int_equal(arrival_next(a, t, &t), -1);
    arrival_destroy(a);
    f = fopen("deltas.tmp", "w");
    fputs("10,a\n-5,b\n", f);
    fclose(f);
    assert_null(arrival_create("deltas:deltas.tmp", 1, &err));
    assert_string_equal(err.msg, "deltas.tmp:2: delay_ms: '-5' is not a non-negative number");
    remove("deltas.tmp");
    assert_null(arrival_create("poisson:-1", 1, &err));
    assert_null(arrival_create("burst:3", 1, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(philly_small_sums_attempts),
        cmocka_unit_test(philly_nasty_counts),
        cmocka_unit_test(philly_syntax_errors),
        cmocka_unit_test(datetime_parses_exactly),
        cmocka_unit_test(pollux_rows_become_jobs),
        cmocka_unit_test(gavel_maps_types),
        cmocka_unit_test(assigner_matches_reference_order),
        cmocka_unit_test(arrival_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
