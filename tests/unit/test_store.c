/*
 * Unit tests of the results store: a run written and read back field for
 * field; the two-transaction protocol (a run not completed stays out of the
 * default selection and is marked incomplete once its process is gone);
 * schema versions (a fresh file is at STORE_SCHEMA_VERSION, a file from a
 * newer synergy is refused, an empty version-0 file migrates forward, a
 * version-1 file with a run keeps it and gains the OPT columns).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/test_store.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.db", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static struct store_run sample_run(void)
{
    struct store_run r = {0};
    strcpy(r.policy, "SRTF");
    strcpy(r.mode, "tune");
    strcpy(r.placement, "first-fit");
    strcpy(r.workload, "synthetic");
    r.jobs_per_hour = 4;
    r.split[0] = 20, r.split[1] = 70, r.split[2] = 10;
    r.seed = 42;
    strcpy(r.cluster, "configs/default_cluster.ini");
    r.servers = 16, r.gpus_per_server = 8, r.cpus_per_server = 24, r.mem_per_server = 500;
    r.gpus = 128;
    strcpy(r.models, "configs/models.ini");
    strcpy(r.profiles, "default");
    r.round_duration = 300;
    r.measure_lo = 0, r.measure_hi = 2;
    return r;
}

static void test_run_round_trip(void **state)
{
    struct err err = {{0}};
    store_t *st = store_open(path, &err);
    assert_non_null(st);
    int64_t batch = store_batch_insert(st, "simulate", "synergy simulate --db r.db", &err);
    assert_true(batch > 0);
    struct store_run r = sample_run();
    r.batch_id = batch;
    assert_int_equal(store_run_insert(st, &r, &err), 0);
    assert_true(r.id > 0);
    assert_string_equal(r.status, "running");

    struct store_job jobs[2] = {
        {.id = 0, .model = "res18", .gpus = 1, .arrival = 0, .first_start = 0, .finish = 3600,
         .jct = 3600, .attained = 3600, .rounds_run = 12},
        {.id = 1, .model = "gnmt", .gpus = 4, .arrival = 100, .first_start = 300, .finish = 7300,
         .jct = 7200, .attained = 6000, .rounds_run = 20, .rounds_demoted = 3, .preemptions = 1}};
    struct store_round rounds[3] = {
        {.t = 0, .runnable = 1, .placed = 1, .started = 1, .alloc = {0.5, 0.25, 0.125}},
        {.t = 300, .runnable = 2, .placed = 2, .started = 1, .demoted = 1,
         .alloc = {1, 0.5, 0.5}, .util = {1, 0.4, 0.3}, .demand = {1.5, 0.75, 0.5}},
        {.t = 600, .runnable = 1, .placed = 1, .preempted = 0}};
    r.jobs_measured = 2, r.window_size = 2, r.window_complete = true;
    r.avg_jct_s = 5400, r.p50_jct_s = 5400, r.makespan_s = 7300, r.rounds = 3;
    r.gpu_alloc = 0.5, r.cpu_alloc = 0.25, r.mem_alloc = 0.2;
    r.p99_jct_s = r.p999_jct_s = r.max_jct_s = 7200;
    r.end_time_s = NAN;
    assert_int_equal(store_run_complete(st, &r, jobs, 2, rounds, 3, &err), 0);
    /* a run completes once */
    assert_int_equal(store_run_complete(st, &r, jobs, 2, rounds, 3, &err), -1);
    store_close(st);

    st = store_open(path, &err);
    assert_non_null(st);
    struct store_filter f = {.batch_id = STORE_LAST_BATCH};
    struct store_run *runs;
    size_t n;
    assert_int_equal(store_runs_select(st, &f, &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].status, "complete");
    assert_string_equal(runs[0].policy, "SRTF");
    assert_string_equal(runs[0].mode, "tune");
    assert_int_equal(runs[0].split[1], 70);
    assert_int_equal(runs[0].seed, 42);
    assert_int_equal(runs[0].gpus, 128);
    assert_true(runs[0].avg_jct_s == 5400);
    assert_true(runs[0].makespan_s == 7300);
    assert_true(isnan(runs[0].end_time_s)); /* never set: NaN in, NULL stored, NaN out */
    assert_string_equal(runs[0].version, SYNERGY_VERSION);
    store_runs_free(runs, n);

    struct store_job *j;
    assert_int_equal(store_jobs_load(st, r.id, &j, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(j[1].model, "gnmt");
    assert_int_equal(j[1].gpus, 4);
    assert_true(j[1].jct == 7200 && j[1].attained == 6000);
    assert_int_equal(j[1].rounds_demoted, 3);
    assert_int_equal(j[1].preemptions, 1);
    free(j);
    struct store_round *rr;
    assert_int_equal(store_rounds_load(st, r.id, &rr, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_true(rr[1].t == 300 && rr[1].util[1] == 0.4 && rr[1].demand[0] == 1.5);
    assert_int_equal(rr[1].demoted, 1);
    free(rr);

    /* an unknown run id is an error naming it */
    int64_t missing = 99;
    struct store_filter fi = {.ids = &missing, .n_ids = 1};
    assert_int_equal(store_runs_select(st, &fi, &runs, &n, &err), -1);
    assert_non_null(strstr(err.msg, "no run 99"));
    store_close(st);
}

static void test_abandoned_run_is_incomplete(void **state)
{
    struct err err = {{0}};
    /* a child inserts a run and dies before completing it */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        store_t *st = store_open(path, &err);
        struct store_run r = sample_run();
        _exit(st && store_run_insert(st, &r, &err) == 0 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* a run of this (live) process stays running */
    store_t *st = store_open(path, &err);
    assert_non_null(st);
    struct store_run mine = sample_run();
    assert_int_equal(store_run_insert(st, &mine, &err), 0);
    store_close(st);

    st = store_open(path, &err);
    assert_non_null(st);
    struct store_filter f = {.batch_id = 0};
    struct store_run *runs;
    size_t n;
    assert_int_equal(store_runs_select(st, &f, &runs, &n, &err), 0);
    assert_int_equal(n, 0); /* neither is complete */
    store_runs_free(runs, n);
    f.all_statuses = true;
    assert_int_equal(store_runs_select(st, &f, &runs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(runs[0].status, "incomplete");
    assert_string_equal(runs[1].status, "running");
    store_runs_free(runs, n);
    assert_int_equal(store_run_abandon(st, mine.id, &err), 0);
    assert_int_equal(store_runs_select(st, &f, &runs, &n, &err), 0);
    assert_string_equal(runs[1].status, "incomplete");
    store_runs_free(runs, n);
    /* an abandoned run cannot be completed afterwards */
    assert_int_equal(store_run_complete(st, &mine, NULL, 0, NULL, 0, &err), -1);
    store_close(st);
}

static void set_user_version(int v)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_schema_versions(void **state)
{
    struct err err = {{0}};
    /* an empty file (version 0) migrates to the current version */
    set_user_version(0);
    store_t *st = store_open(path, &err);
    assert_non_null(st);
    store_close(st);
    sqlite3 *db;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), STORE_SCHEMA_VERSION);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);

    /* opening again is a no-op */
    st = store_open(path, &err);
    assert_non_null(st);
    store_close(st);

    /* a newer schema is refused with a message, not guessed at */
    set_user_version(STORE_SCHEMA_VERSION + 1);
    assert_null(store_open(path, &err));
    assert_non_null(strstr(err.msg, "newer"));
}

/* What migration 4 -> 5 added (GPU types). */
#define UNDO_V7 "DROP TABLE round_tenants;"
#define UNDO_V6 UNDO_V7 "DROP TABLE run_tenants;"
#define UNDO_V5                                                                                    \
    UNDO_V6 "DROP TABLE run_types; DROP TABLE round_types; ALTER TABLE runs DROP COLUMN hetero;"    \
    "ALTER TABLE jobs DROP COLUMN gpu_type;"

/* A version-1 file (made by dropping what migration 1 -> 2 added) with one
 * complete run migrates to version 2: the run reads back unchanged, its OPT
 * counters 0 and its solver times NaN; a new OPT run keeps its counters. */
static void test_migrate_v1_to_v2(void **state)
{
    struct err err = {{0}};
    store_t *st = store_open(path, &err);
    assert_non_null(st);
    struct store_run r = sample_run();
    assert_int_equal(store_run_insert(st, &r, &err), 0);
    r.jobs_measured = 1, r.avg_jct_s = 7200, r.opt_rounds = 5;
    assert_int_equal(store_run_complete(st, &r, NULL, 0, NULL, 0, &err), 0);
    store_close(st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* what migrations 2 -> 3, 3 -> 4 and 4 -> 5 added, too */
    assert_int_equal(sqlite3_exec(db, UNDO_V5, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP INDEX runs_grid_point;"
                                      "ALTER TABLE runs DROP COLUMN grid;"
                                      "ALTER TABLE runs DROP COLUMN point;"
                                      "ALTER TABLE runs DROP COLUMN opt_capped;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    static const char *const added[] = {"arrival", "opt_compat", "opt_time_limit_s",
                                        "opt_rounds", "opt_fallbacks", "opt_lowered",
                                        "opt_unplaced", "opt_packed", "opt_solve_mean_s",
                                        "opt_solve_max_s"};
    for (size_t i = 0; i < sizeof added / sizeof added[0]; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "ALTER TABLE runs DROP COLUMN %s", added[i]);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    st = store_open(path, &err);
    assert_non_null(st);
    struct store_run *runs = NULL;
    size_t n = 0;
    struct store_filter f = {0};
    assert_int_equal(store_runs_select(st, &f, &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].policy, "SRTF");
    assert_true(runs[0].avg_jct_s == 7200);
    assert_int_equal(runs[0].opt_rounds, 0);
    assert_true(isnan(runs[0].opt_solve_mean_s));
    assert_string_equal(runs[0].arrival, "");
    assert_string_equal(runs[0].grid, ""); /* not a sweep run */
    assert_int_equal(runs[0].point, -1);
    store_runs_free(runs, n);

    struct store_run o = sample_run();
    strcpy(o.mode, "opt");
    strcpy(o.arrival, "poisson:6");
    o.opt_compat = true;
    o.opt_time_limit_s = 30;
    assert_int_equal(store_run_insert(st, &o, &err), 0);
    o.jobs_measured = 1, o.avg_jct_s = 3600;
    o.opt_rounds = 12, o.opt_fallbacks = 1, o.opt_lowered = 3, o.opt_unplaced = 2;
    o.opt_packed = 4, o.opt_solve_mean_s = 0.25, o.opt_solve_max_s = 1.5;
    assert_int_equal(store_run_complete(st, &o, NULL, 0, NULL, 0, &err), 0);
    int64_t id = o.id;
    f.ids = &id, f.n_ids = 1;
    assert_int_equal(store_runs_select(st, &f, &runs, &n, &err), 0);
    assert_string_equal(runs[0].arrival, "poisson:6");
    assert_true(runs[0].opt_compat);
    assert_true(runs[0].opt_time_limit_s == 30);
    assert_int_equal(runs[0].opt_rounds, 12);
    assert_int_equal(runs[0].opt_fallbacks, 1);
    assert_int_equal(runs[0].opt_lowered, 3);
    assert_int_equal(runs[0].opt_unplaced, 2);
    assert_int_equal(runs[0].opt_packed, 4);
    assert_true(runs[0].opt_solve_mean_s == 0.25);
    assert_true(runs[0].opt_solve_max_s == 1.5);
    store_runs_free(runs, n);
    store_close(st);
}

/* A version-3 file (no opt_capped column) with a complete OPT run migrates to
 * version 4: the old run reads back with opt_capped 0 and its other counters
 * unchanged; a new run's opt_capped round-trips. */
static void test_migrate_v3_to_v4(void **state)
{
    struct err err = {{0}};
    store_t *st = store_open(path, &err);
    assert_non_null(st);
    struct store_run r = sample_run();
    strcpy(r.mode, "opt");
    assert_int_equal(store_run_insert(st, &r, &err), 0);
    r.jobs_measured = 1, r.avg_jct_s = 7200, r.opt_rounds = 5, r.opt_fallbacks = 2;
    assert_int_equal(store_run_complete(st, &r, NULL, 0, NULL, 0, &err), 0);
    store_close(st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, UNDO_V5 "ALTER TABLE runs DROP COLUMN opt_capped;"
                                      "PRAGMA user_version = 3",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    st = store_open(path, &err);
    assert_non_null(st);
    struct store_run *runs = NULL;
    size_t n = 0;
    struct store_filter f = {0};
    assert_int_equal(store_runs_select(st, &f, &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(runs[0].opt_rounds, 5);
    assert_int_equal(runs[0].opt_fallbacks, 2);
    assert_int_equal(runs[0].opt_capped, 0);
    store_runs_free(runs, n);

    struct store_run o = sample_run();
    strcpy(o.mode, "opt");
    assert_int_equal(store_run_insert(st, &o, &err), 0);
    o.jobs_measured = 1, o.avg_jct_s = 3600, o.opt_rounds = 9, o.opt_fallbacks = 7;
    o.opt_capped = 7;
    assert_int_equal(store_run_complete(st, &o, NULL, 0, NULL, 0, &err), 0);
    int64_t id = o.id;
    f.ids = &id, f.n_ids = 1;
    assert_int_equal(store_runs_select(st, &f, &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(runs[0].opt_capped, 7);
    assert_int_equal(runs[0].opt_fallbacks, 7);
    store_runs_free(runs, n);
    store_close(st);
}

/* A version-4 file (before GPU types) migrates to version 5: its run reads
 * back untyped (no hetero, no types, jobs without a type); a typed run's
 * hetero, types, jobs' types and per-round type allocation round-trip. */
static void test_migrate_v4_to_v5(void **state)
{
    struct err err = {{0}};
    store_t *st = store_open(path, &err);
    assert_non_null(st);
    struct store_run r = sample_run();
    assert_int_equal(store_run_insert(st, &r, &err), 0);
    struct store_job j = {.id = 3, .model = "res18", .gpus = 1, .jct = 60};
    r.jobs_measured = 1, r.avg_jct_s = 60;
    assert_int_equal(store_run_complete(st, &r, &j, 1, NULL, 0, &err), 0);
    store_close(st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, UNDO_V5 "PRAGMA user_version = 4", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    st = store_open(path, &err);
    assert_non_null(st);
    struct store_run *runs = NULL;
    size_t n = 0;
    struct store_filter f = {0};
    assert_int_equal(store_runs_select(st, &f, &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].hetero, "");
    assert_int_equal(store_run_types_load(st, &runs[0], &err), 0);
    assert_int_equal(runs[0].n_types, 0);
    store_runs_free(runs, n);

    struct store_run t = sample_run();
    strcpy(t.hetero, "agnostic");
    assert_int_equal(store_run_insert(st, &t, &err), 0);
    t.n_types = 2;
    t.types[0] = (struct store_type){"V100", 36, 5, 100, 90, 200, 0.5, 0.25, 0.125};
    t.types[1] = (struct store_type){"K80", 36, 2, 300, 300, 310, 1, 0.5, 0.75};
    struct store_job tj[2] = {{.id = 1, .model = "a3c", .gpus = 1, .jct = 100, .gpu_type = "V100"},
                              {.id = 2, .model = "a3c", .gpus = 1, .jct = 300, .gpu_type = "K80"}};
    struct store_round rd[2] = {{.t = 0, .n_types = 2, .type_alloc = {{0.5, 0.25, 0.125}, {1, 0, 0}}},
                                {.t = 300, .n_types = 2, .type_alloc = {{0, 0, 0}, {0.75, 1, 1}}}};
    assert_int_equal(store_run_complete(st, &t, tj, 2, rd, 2, &err), 0);
    int64_t id = t.id;
    f.ids = &id, f.n_ids = 1;
    assert_int_equal(store_runs_select(st, &f, &runs, &n, &err), 0);
    assert_string_equal(runs[0].hetero, "agnostic");
    assert_int_equal(store_run_types_load(st, &runs[0], &err), 0);
    assert_int_equal(runs[0].n_types, 2);
    assert_string_equal(runs[0].types[1].name, "K80");
    assert_true(runs[0].types[0].p99_jct_s == 200 && runs[0].types[1].mem_alloc == 0.75);
    struct store_job *jobs;
    size_t nj;
    assert_int_equal(store_jobs_load(st, id, &jobs, &nj, &err), 0);
    assert_int_equal(nj, 2);
    assert_string_equal(jobs[1].gpu_type, "K80");
    free(jobs);
    struct store_round *rounds;
    size_t nr;
    assert_int_equal(store_rounds_load(st, id, &rounds, &nr, &err), 0);
    assert_int_equal(store_round_types_load(st, &runs[0], rounds, nr, &err), 0);
    assert_int_equal(nr, 2);
    assert_true(rounds[1].type_alloc[1][0] == 0.75 && rounds[0].type_alloc[0][2] == 0.125);
    free(rounds);
    store_runs_free(runs, n);
    store_close(st);
}

/* Schema 6 (docs/tenants.md): a run's tenants read back in the file's order
 * (not by name), NaN kept as NULL; a version-5 file with a run migrates to 6
 * and that run has no tenants. */
static void test_tenants_v6(void **state)
{
    struct err err = {{0}};
    store_t *st = store_open(path, &err);
    assert_non_null(st);
    struct store_run r = sample_run();
    assert_int_equal(store_run_insert(st, &r, &err), 0);
    assert_int_equal(store_run_complete(st, &r, NULL, 0, NULL, 0, &err), 0);
    store_close(st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, UNDO_V6 "PRAGMA user_version = 5", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    st = store_open(path, &err);
    assert_non_null(st);
    struct store_tenant *got;
    size_t n;
    assert_int_equal(store_run_tenants_load(st, r.id, &got, &n, &err), 0);
    assert_int_equal(n, 0);
    free(got);
    struct store_run t = sample_run();
    assert_int_equal(store_run_insert(st, &t, &err), 0);
    struct store_tenant tn[2] = {{"vision", 96, 150, 53254.2, 17661.6, 511720.2, 3919.6, 21.0,
                                  3919.5},
                                 {"guests", 0, 0, NAN, NAN, NAN, 2246, 12.03, 0}};
    t.tenants = tn;
    t.n_tenants = 2;
    assert_int_equal(store_run_complete(st, &t, NULL, 0, NULL, 0, &err), 0);
    assert_int_equal(store_run_tenants_load(st, t.id, &got, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].name, "vision");
    assert_int_equal(got[0].quota, 96);
    assert_int_equal(got[0].jobs, 150);
    assert_true(got[0].avg_jct_s == 53254.2 && got[0].p99_jct_s == 511720.2);
    assert_true(got[0].gpu_hours == 3919.6 && got[0].entitled_hours == 3919.5);
    assert_string_equal(got[1].name, "guests");
    assert_true(isnan(got[1].avg_jct_s) && got[1].mean_gpus == 12.03);
    free(got);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_run_is_incomplete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v1_to_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v3_to_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v4_to_v5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenants_v6, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
