/* Unit tests: cluster INI, model profiles and replay-line parsing, including
 * the file:line errors users see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"

static char path[64];

static const char *write_tmp(const char *text)
{
    snprintf(path, sizeof path, "/tmp/synergy-test-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_reference_default_cluster(void **state)
{
    struct synergy_config c;
    struct err err;
    synergy_config_defaults(&c);
    assert_int_equal(synergy_config_load(SYNERGY_SOURCE_DIR "/configs/default_cluster.ini", &c,
                                         &err), 0);
    assert_int_equal(c.cluster.servers_per_rack, 16);
    assert_int_equal(c.cluster.gpus_per_server, 8);
    assert_int_equal(c.cluster.cpus_per_server, 24);
    assert_int_equal(c.cluster.dram_per_server, 500);
    assert_int_equal(c.cluster.sspeed_per_server, 500);
    assert_int_equal(c.cluster.net_per_server, 40); /* built-in default */
    assert_string_equal(c.policy, "FIFO");
    assert_true(c.round_duration == 300);
}

static void test_extension_keys_and_case(void **state)
{
    struct synergy_config c;
    struct err err;
    synergy_config_defaults(&c);
    const char *p = write_tmp("[cluster]\nGPUS_per_server = 4\n[SCHEDULER]\nround_duration = 60\n"
                              "mode = tune\n[WORKLOAD]\nsplit = 30,60,10\nseed = 7\n");
    assert_int_equal(synergy_config_load(p, &c, &err), 0);
    assert_int_equal(c.cluster.gpus_per_server, 4);
    assert_true(c.round_duration == 60);
    assert_string_equal(c.mode, "tune");
    assert_int_equal(c.split[0], 30);
    assert_int_equal(c.seed, 7);
    unlink(p);
}

static void expect_error(const char *text, const char *needle)
{
    struct synergy_config c;
    struct err err = {{0}};
    synergy_config_defaults(&c);
    const char *p = write_tmp(text);
    assert_int_equal(synergy_config_load(p, &c, &err), -1);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
    assert_non_null(strstr(err.msg, p));
    unlink(p);
}

static void test_errors_name_line_and_key(void **state)
{
    expect_error("[CLUSTER]\nracks = 1\ngpus = 8\n", ":3: unknown key 'gpus'");
    expect_error("[CLUSTER]\ncpus_per_server = many\n", ":2: cpus_per_server: 'many' is not an integer");
    expect_error("[CLUSTER]\n\ngpus_per_server = -8\n", ":3: gpus_per_server: -8 is out of range");
    expect_error("[CLUSTER]\nracks = 2\n", ":2: racks: 2 is out of range");
    expect_error("[NETWORK]\nfoo = 1\n", ":2: unknown section [NETWORK]");
    expect_error("[CLUSTER]\nthis line has no equals sign\n",
                 ":2: 'this line has no equals sign': expected [section] or key = value");
    expect_error("[WORKLOAD]\nsplit = 50,60,10\n", ":2: split:");
    expect_error("[SCHEDULER]\nround_duration = 0\n", ":2: round_duration: 0 is out of range");
}

static void test_missing_file(void **state)
{
    struct synergy_config c;
    struct err err;
    synergy_config_defaults(&c);
    assert_int_equal(synergy_config_load("/nonexistent/x.ini", &c, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/x.ini: cannot open"));
}

static void test_models(void **state)
{
    struct err err;
    model_zoo_t *z = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err);
    assert_non_null(z);
    const struct model_profile *m = model_zoo_find(z, "alexnet");
    assert_true(m->cpus == 12 && m->mem == 125 && m->speedup == 2.94 && m->iter_time == 0.6);
    assert_true(m->tput[2][1] == 1 && m->tput[8][4] == 2.94);
    assert_true(model_zoo_find(z, "gnmt")->mem == 20);
    /* outside the reference zoo: a model, in no task's rotation */
    const struct model_profile *bert = model_zoo_find(z, "bert");
    assert_non_null(bert);
    assert_true(bert->iter_time == 0.011 && bert->task == TASK_NONE);
    assert_null(model_zoo_find(z, "shufflenet_12")); /* [shufflenet:12]: not a :1 section */
    const struct model_profile *const *image;
    assert_int_equal(model_zoo_task_models(z, TASK_IMAGE, &image), 5);
    assert_string_equal(image[4]->name, "shufflenet");
    for (int t = 0; t < TASK_COUNT; t++) {
        const struct model_profile *const *ms;
        size_t n = model_zoo_task_models(z, (enum model_task)t, &ms);
        for (size_t i = 0; i < n; i++)
            assert_string_not_equal(ms[i]->name, "bert");
    }
    assert_string_equal(model_zoo_at(z, 0)->name, "alexnet");
    assert_true(model_zoo_count(z) == 12); /* the ten, bert, vae */

    /* an added file: a new model, and a zoo model replaced as a whole */
    char path[] = "/tmp/synergy-test-models-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("[mine:1]\ncpus = 6\nmem = 10\nspeedup = 1.5\niter_time = 0.2\nstartup_s = 4.5\n"
          "[mine:2]\nbogus = 1\n"          /* not a :1 section: never read */
          "[res18:1]\ncpus = 3\nmem = 62.5\nspeedup = 1\niter_time = 2\n", f);
    fclose(f);
    assert_int_equal(model_zoo_add(z, path, &err), 0);
    const struct model_profile *mine = model_zoo_find(z, "mine");
    assert_non_null(mine);
    assert_true(mine->cpus == 6 && mine->mem == 10 && mine->speedup == 1.5 &&
                mine->iter_time == 0.2 && mine->startup_s == 4.5 && !mine->has_tput &&
                mine->placement_penalty == 1 && mine->batch == 512);
    const struct model_profile *r18 = model_zoo_find(z, "res18");
    assert_true(r18->iter_time == 2 && !r18->has_tput && r18->task == TASK_IMAGE);
    assert_ptr_equal(image[1], r18); /* same slot in the rotation */
    model_zoo_destroy(z);
    /* under a profile set, a model without an @set section keeps its plain one */
    z = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", "models-4", &err);
    assert_non_null(z);
    assert_int_equal(model_zoo_add(z, path, &err), 0);
    assert_true(model_zoo_find(z, "mine")->iter_time == 0.2);
    model_zoo_destroy(z);
    /* errors name the file and line */
    f = fopen(path, "w");
    fputs("[mine:1]\ncpus = 6\nmem = 10\nspeedup = 0\n", f);
    fclose(f);
    z = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err);
    assert_int_equal(model_zoo_add(z, path, &err), -1);
    assert_non_null(strstr(err.msg, ":4: speedup must be greater than 0"));
    model_zoo_destroy(z);
    unlink(path);
    z = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", "models-4", &err);
    assert_non_null(z);
    assert_true(model_zoo_find(z, "alexnet")->iter_time == 0.48);
    model_zoo_destroy(z);
    assert_null(model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", "models-9", &err));
}

static void test_replay_lines(void **state)
{
    struct job_spec j;
    struct err err = {{0}};
    assert_int_equal(trace_parse_replay_line("0,alexnet,.123,3349,4", &j, &err, "t", 1), 0);
    assert_true(j.id == 0 && j.arrival == 0.123 && j.iterations == 3349 && j.gpus == 4);
    assert_string_equal(j.model, "alexnet");
    assert_string_equal(j.gpu_types, "");
    /* the GPU types a job may use: a sixth field, '|'-separated */
    assert_int_equal(trace_parse_replay_line("5,res18,1,10,2,V100|P100", &j, &err, "t", 1), 0);
    assert_true(j.id == 5 && j.gpus == 2);
    assert_string_equal(j.gpu_types, "V100|P100");
    struct {
        const char *line, *needle;
    } bad[] = {
        {"x,alexnet,0,1,1", "t:7: id: 'x'"},
        {"1,alexnet,abc,1,1", "t:7: arrival: 'abc'"},
        {"1,alexnet,-5,1,1", "t:7: arrival: -5 is negative"},
        {"1,alexnet,0,1.5,1", "t:7: iterations"},
        {"1,alexnet,0,1,0", "t:7: gpus: 0 must be at least 1"},
        {"1,alexnet,0,1,-2", "t:7: gpus"},
        {"1,alexnet,0,1", "got 4"},
        {"1,alexnet,0,1,1,V100,t,9", "got more"},
        {"1,alexnet,0,1,1,,a/b", "tenant: 'a/b' must be 1 to 31 letters"},
        {"1,alexnet,0,1,1,", "gpu_types: '' must be GPU type names"},
        {"1,alexnet,0,1,1,V 100", "t:7: gpu_types: 'V 100'"},
        {"1,alexnet,0,1,1,V100||K80", "t:7: gpu_types"},
        {"1,alexnet,0,1,1,", "t:7: gpu_types"},
        {"1,alexnet,0,1,1,ABCDEFGHIJKLMNOP", "t:7: gpu_types"},
        {"1,,0,1,1", "t:7: model"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(trace_parse_replay_line(bad[i].line, &j, &err, "t", 7), -1);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("'%s': error '%s' lacks '%s'", bad[i].line, err.msg, bad[i].needle);
    }
}

/* "#cancel,ID,TIME_S" lines (docs/traces.md): parsed, resolved to their
 * job, written back the same; bad ones name the file, line and problem. */
static void test_replay_cancels(void **state)
{
    int id;
    double at;
    struct err err = {{0}};
    assert_int_equal(trace_parse_replay_cancel("#cancel,6,1200", &id, &at, &err, "t", 3), 1);
    assert_true(id == 6 && at == 1200);
    assert_int_equal(trace_parse_replay_cancel("#cancel, 7 , 0.5", &id, &at, &err, "t", 3), 1);
    assert_true(id == 7 && at == 0.5);
    assert_int_equal(trace_parse_replay_cancel("# a comment", &id, &at, &err, "t", 3), 0);
    assert_int_equal(trace_parse_replay_cancel("#cancelled,1,2", &id, &at, &err, "t", 3), 0);
    struct {
        const char *line, *needle;
    } bad_lines[] = {
        {"#cancel,6", "t:4: cancel: expected #cancel,ID,TIME_S"},
        {"#cancel,6,1,2", "t:4: cancel: expected"},
        {"#cancel,x,1", "t:4: cancel: id 'x'"},
        {"#cancel,-1,1", "t:4: cancel: id '-1'"},
        {"#cancel,6,soon", "t:4: cancel: time 'soon'"},
        {"#cancel,6,-3", "t:4: cancel: time '-3'"},
        {"#cancel,6,inf", "t:4: cancel: time 'inf'"},
    };
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        assert_int_equal(
            trace_parse_replay_cancel(bad_lines[i].line, &id, &at, &err, "t", 4), -1);
        if (!strstr(err.msg, bad_lines[i].needle))
            fail_msg("'%s': error '%s' lacks '%s'", bad_lines[i].line, err.msg,
                     bad_lines[i].needle);
    }

    /* a whole file: the cancel resolves to its job, wherever the line is */
    struct job_spec *jobs;
    size_t n;
    const char *p = write_tmp("#cancel,1,600\n0,alexnet,0,10,1\n# note\n1,res18,120.5,20,2\n");
    assert_int_equal(trace_read_replay(p, &jobs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_false(jobs[0].cancelled);
    assert_true(jobs[1].cancelled && jobs[1].cancel_at == 600);
    char buf[256] = "";
    FILE *m = fmemopen(buf, sizeof buf, "w");
    for (size_t i = 0; i < n; i++)
        trace_write_replay_line(m, &jobs[i]);
    trace_write_replay_cancel(m, jobs[1].id, jobs[1].cancel_at);
    fclose(m);
    assert_string_equal(buf, "0,alexnet,0,10,1\n1,res18,120.5,20,2\n#cancel,1,600\n");
    free(jobs);
    unlink(p);
    struct {
        const char *text, *needle;
    } bad_files[] = {
        {"0,alexnet,0,10,1\n#cancel,3,600\n", ":2: cancel: job 3 is not in the trace"},
        {"0,alexnet,0,10,1\n#cancel,0,600\n#cancel,0,900\n",
         ":3: cancel: job 0 is cancelled twice (first on line 2)"},
        {"0,alexnet,700,10,1\n#cancel,0,600\n", ":2: cancel: at 600 s, before job 0 arrives (700 s)"},
        {"0,alexnet,0,10,1\n#cancel,0\n", ":2: cancel: expected #cancel,ID,TIME_S"},
    };
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        p = write_tmp(bad_files[i].text);
        assert_int_equal(trace_read_replay(p, &jobs, &n, &err), -1);
        if (!strstr(err.msg, bad_files[i].needle))
            fail_msg("file %zu: error '%s' lacks '%s'", i, err.msg, bad_files[i].needle);
        unlink(p);
    }
}

static void test_shortest_double(void **state)
{
    char b[64];
    format_double_shortest(b, sizeof b, 409);
    assert_string_equal(b, "409");
    format_double_shortest(b, sizeof b, 0.123);
    assert_string_equal(b, "0.123");
    format_double_shortest(b, sizeof b, 0.1 + 0.2);
    assert_string_equal(b, "0.30000000000000004");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_default_cluster),
        cmocka_unit_test(test_extension_keys_and_case),
        cmocka_unit_test(test_errors_name_line_and_key),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_models),
        cmocka_unit_test(test_replay_lines),
        cmocka_unit_test(test_replay_cancels),
        cmocka_unit_test(test_shortest_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
