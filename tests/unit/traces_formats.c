/*
 * The trace-format registry (traces/workload.h): every format complete and
 * findable by name in any case, detection of each format from a file's first
 * bytes (a BOM and leading blanks skipped), options a format does not read
 * refused, and each shipped sample read through wl_load with the format
 * detected, the same as named. And `trace stats`'s summary
 * (trace_stats_compute) of three hand-built jobs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "trace.h"
#include "workload.h"

static void registry_is_complete(void **state)
{
    (void)state;
    size_t n = 0;
    for (; trace_formats[n]; n++) {
        const struct trace_format_ops *f = trace_formats[n];
        assert_non_null(f->name);
        assert_non_null(f->summary);
        assert_non_null(f->detect);
        assert_non_null(f->read);
        for (size_t k = 0; k < n; k++)
            assert_string_not_equal(trace_formats[k]->name, f->name);
        assert_ptr_equal(trace_format_find(f->name), f);
    }
    assert_int_equal(n, 4);
    assert_ptr_equal(trace_format_find("PoLLuX"), trace_formats[2]);
    assert_null(trace_format_find("csv"));
    assert_null(trace_format_find(""));
    char buf[64];
    assert_string_equal(trace_format_list(buf, sizeof buf, ", "), "synergy, philly, pollux, gavel");
    /* truncated, still terminated */
    assert_int_equal(strlen(trace_format_list(buf, 10, "|")), 9);
}

static const char *detect_text(const char *text)
{
    char path[] = "/tmp/synergy-fmt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    const struct trace_format_ops *f = NULL;
    struct err err = {{0}};
    assert_int_equal(trace_format_detect(path, &f, &err), 0);
    unlink(path);
    return f->name;
}

static void detection(void **state)
{
    (void)state;
    assert_string_equal(detect_text("0,alexnet,0,100,1\n"), "synergy");
    assert_string_equal(detect_text(""), "synergy");
    assert_string_equal(detect_text("[{\"jobid\": 1}]"), "philly");
    assert_string_equal(detect_text("\xEF\xBB\xBF \n [{}]"), "philly");
    assert_string_equal(detect_text("timestamp,duration,num_gpus,gpu_time,cluster\n1,2,3,4,x\n"),
                        "pollux");
    assert_string_equal(detect_text("1\tResNet-50 (batch size 128)\t1\t2\t3\t4\t5\n"), "gavel");
    /* a tab after the first line does not make a replay trace gavel */
    assert_string_equal(detect_text("0,alexnet,0,100,1\n\t\n"), "synergy");
    const struct trace_format_ops *f;
    struct err err = {{0}};
    assert_int_equal(trace_format_detect("/nonexistent/x.trace", &f, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/x.trace: cannot open trace"));
}

static model_zoo_t *zoo(void)
{
    struct err err = {{0}};
    model_zoo_t *z = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", "default", &err);
    assert_non_null(z);
    return z;
}

/* path read with the format detected and with it named: the same jobs */
static size_t load_both_ways(const char *path, const char *name, model_zoo_t *z)
{
    struct wl_opts o;
    wl_opts_init(&o);
    o.trace_path = path;
    o.quiet = true;
    o.synth.max_jobs = 50;
    struct job_spec *a, *b;
    size_t na, nb;
    struct err err = {{0}};
    if (wl_load(&o, z, &a, &na, &err) < 0)
        fail_msg("%s: %s", path, err.msg);
    assert_string_equal(o.fmt->name, name);
    o.fmt = trace_format_find(name);
    assert_int_equal(wl_load(&o, z, &b, &nb, &err), 0);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    free(a);
    free(b);
    return na;
}

static void samples_load(void **state)
{
    (void)state;
    model_zoo_t *z = zoo();
    assert_int_equal(load_both_ways(SYNERGY_SOURCE_DIR "/traces/synergy-deploy/test_trace",
                                    "synergy", z), 50);
    assert_int_equal(load_both_ways(SYNERGY_SOURCE_DIR "/traces/pollux-philly/philly.csv",
                                    "pollux", z), 50);
    assert_int_equal(load_both_ways(SYNERGY_SOURCE_DIR "/tests/fixtures/philly/small.json",
                                    "philly", z), 50);
    assert_int_equal(load_both_ways(SYNERGY_SOURCE_DIR "/traces/gavel-msr-philly-vc/seed=0/"
                                                       "11cb48.trace", "gavel", z), 50);
    model_zoo_destroy(z);
}

static void options_a_format_does_not_read(void **state)
{
    (void)state;
    model_zoo_t *z = zoo();
    struct wl_opts o;
    wl_opts_init(&o);
    o.trace_path = SYNERGY_SOURCE_DIR "/traces/synergy-deploy/test_trace";
    o.vc = "11cb48";
    struct job_spec *j = NULL;
    size_t n;
    struct err err = {{0}};
    assert_int_equal(wl_load(&o, z, &j, &n, &err), -1);
    assert_null(j);
    assert_non_null(strstr(err.msg, "--vc applies to pollux traces;"));
    assert_non_null(strstr(err.msg, "is a synergy trace"));
    wl_opts_init(&o);
    o.trace_path = SYNERGY_SOURCE_DIR "/traces/pollux-philly/philly.csv";
    o.philly_flag = "--multigpu";
    assert_int_equal(wl_load(&o, z, &j, &n, &err), -1);
    assert_non_null(strstr(err.msg, "--multigpu applies to philly traces;"));
    assert_non_null(strstr(err.msg, "is a pollux trace"));
    model_zoo_destroy(z);
}

/* alexnet runs 0.6 s per iteration at the fair share (configs/models.ini);
 * a model that is not profiled counts as alexnet. */
static void stats_of_three_jobs(void **state)
{
    (void)state;
    model_zoo_t *z = zoo();
    const struct job_spec jobs[] = {
        {.id = 0, .model = "alexnet", .arrival = 0, .iterations = 6000, .gpus = 1},
        {.id = 1, .model = "alexnet", .arrival = 3600, .iterations = 12000, .gpus = 4},
        {.id = 2, .model = "no-such-model", .arrival = 1800, .iterations = 600, .gpus = 1},
    };
    struct trace_stats st;
    double *dur = trace_stats_compute(jobs, 3, z, 2, &st);
    assert_float_equal(dur[0], 360, 1e-9); /* 600 x 0.6 s, ascending */
    assert_float_equal(dur[1], 3600, 1e-9);
    assert_float_equal(dur[2], 7200, 1e-9);
    assert_int_equal(st.n_gpus, 2);
    assert_int_equal(st.gpus[0], 1);
    assert_int_equal(st.count[0], 2);
    assert_int_equal(st.gpus[1], 4);
    assert_int_equal(st.count[1], 1);
    assert_float_equal(st.gpu_h, 1 + 8 + 0.1, 1e-9);
    assert_float_equal(st.first, 0, 0);
    assert_float_equal(st.last, 3600, 0);
    assert_int_equal(st.unknown, 1);
    assert_int_equal(st.too_big, 1); /* 4 GPUs on a 2-GPU cluster */
    free(dur);
    model_zoo_destroy(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_is_complete),
        cmocka_unit_test(detection),
        cmocka_unit_test(samples_load),
        cmocka_unit_test(options_a_format_does_not_read),
        cmocka_unit_test(stats_of_three_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
