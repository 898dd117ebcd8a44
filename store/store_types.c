/*
 * store: a run on a cluster with GPU types (schema 5, docs/heterogeneous.md):
 * each type's results (run_types) and each round's allocation of each
 * type's own GPUs, CPUs and memory (round_types). An untyped run has no rows
 * here; its jobs' gpu_type is NULL.
 */
#include "store_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void bind_real(sqlite3_stmt *s, int i, double v)
{
    if (v == v)
        sqlite3_bind_double(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

static int insert_run_types(store_t *st, const struct store_run *run, struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO run_types VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
                           -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "writing the run's GPU types");
    int rc = 0;
    for (int t = 0; t < run->n_types && rc == 0; t++) {
        const struct store_type *ty = &run->types[t];
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, run->id);
        sqlite3_bind_text(s, 2, ty->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 3, t);
        sqlite3_bind_int(s, 4, ty->gpus);
        sqlite3_bind_int64(s, 5, ty->jobs);
        bind_real(s, 6, ty->avg_jct_s);
        bind_real(s, 7, ty->p50_jct_s);
        bind_real(s, 8, ty->p99_jct_s);
        bind_real(s, 9, ty->gpu_alloc);
        bind_real(s, 10, ty->cpu_alloc);
        bind_real(s, 11, ty->mem_alloc);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store__fail(st, err, "writing the run's GPU types");
    }
    sqlite3_finalize(s);
    return rc;
}

static int insert_round_types(store_t *st, const struct store_run *run,
                              const struct store_round *rounds, size_t n, struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "INSERT INTO round_types VALUES (?1,?2,?3,?4,?5,?6)", -1, &s,
                           NULL) != SQLITE_OK)
        return store__fail(st, err, "writing the rounds' GPU types");
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++)
        for (int t = 0; t < rounds[k].n_types && t < run->n_types && rc == 0; t++) {
            sqlite3_reset(s);
            sqlite3_bind_int64(s, 1, run->id);
            sqlite3_bind_int64(s, 2, (int64_t)k);
            sqlite3_bind_text(s, 3, run->types[t].name, -1, SQLITE_STATIC);
            for (int q = 0; q < 3; q++)
                sqlite3_bind_double(s, 4 + q, rounds[k].type_alloc[t][q]);
            if (sqlite3_step(s) != SQLITE_DONE)
                rc = store__fail(st, err, "writing the rounds' GPU types");
        }
    sqlite3_finalize(s);
    return rc;
}

int store__insert_types(store_t *st, const struct store_run *run,
                        const struct store_round *rounds, size_t n_rounds, struct err *err)
{
    if (run->n_types == 0)
        return 0;
    if (insert_run_types(st, run, err) < 0)
        return -1;
    return insert_round_types(st, run, rounds, n_rounds, err);
}

static double col_real(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN : sqlite3_column_double(s, i);
}

int store_run_types_load(store_t *st, struct store_run *run, struct err *err)
{
    sqlite3_stmt *s;
    run->n_types = 0;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT gpu_type, gpus, jobs, avg_jct_s, p50_jct_s, p99_jct_s,"
                           " gpu_alloc, cpu_alloc, mem_alloc FROM run_types WHERE run_id = ?1"
                           " ORDER BY type_index",
                           -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "reading the run's GPU types");
    sqlite3_bind_int64(s, 1, run->id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && run->n_types < STORE_MAX_TYPES) {
        struct store_type *ty = &run->types[run->n_types++];
        const unsigned char *name = sqlite3_column_text(s, 0);
        snprintf(ty->name, sizeof ty->name, "%s", name ? (const char *)name : "");
        ty->gpus = sqlite3_column_int(s, 1);
        ty->jobs = (long)sqlite3_column_int64(s, 2);
        ty->avg_jct_s = col_real(s, 3);
        ty->p50_jct_s = col_real(s, 4);
        ty->p99_jct_s = col_real(s, 5);
        ty->gpu_alloc = col_real(s, 6);
        ty->cpu_alloc = col_real(s, 7);
        ty->mem_alloc = col_real(s, 8);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return store__fail(st, err, "reading the run's GPU types");
    return 0;
}

int store_round_types_load(store_t *st, const struct store_run *run, struct store_round *rounds,
                           size_t n, struct err *err)
{
    sqlite3_stmt *s;
    for (size_t k = 0; k < n; k++)
        rounds[k].n_types = run->n_types;
    if (run->n_types == 0)
        return 0;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT round, gpu_type, gpu_alloc, cpu_alloc, mem_alloc"
                           " FROM round_types WHERE run_id = ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "reading the rounds' GPU types");
    sqlite3_bind_int64(s, 1, run->id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(s, 0);
        const char *name = (const char *)sqlite3_column_text(s, 1);
        int t = 0;
        while (t < run->n_types && name && strcmp(run->types[t].name, name) != 0)
            t++;
        if (k < 0 || (size_t)k >= n || t == run->n_types)
            continue;
        for (int q = 0; q < 3; q++)
            rounds[k].type_alloc[t][q] = sqlite3_column_double(s, 2 + q);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store__fail(st, err, "reading the rounds' GPU types");
    return 0;
}
