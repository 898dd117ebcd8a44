/*
 * store: a run with tenants (schemas 6 and 7, docs/tenants.md): each
 * tenant's results (run_tenants), what `report` shows per tenant, and the
 * GPUs each held in each round (round_tenants), what `report --plot` draws
 * against its quota. A run without tenants has no rows here.
 */
#include "store_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bind_real(sqlite3_stmt *s, int i, double v)
{
    if (v == v)
        sqlite3_bind_double(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

static double col_real(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN : sqlite3_column_double(s, i);
}

/* Each round's GPUs per tenant (round_tenants). */
static int insert_round_tenants(store_t *st, int64_t id, const struct store_round *rounds,
                                size_t n, struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "INSERT INTO round_tenants VALUES (?1,?2,?3,?4)", -1, &s,
                           NULL) != SQLITE_OK)
        return store__fail(st, err, "writing the rounds' tenants");
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++)
        for (int t = 0; t < rounds[k].n_tenants && rc == 0; t++) {
            sqlite3_reset(s);
            sqlite3_bind_int64(s, 1, id);
            sqlite3_bind_int64(s, 2, (int64_t)k);
            sqlite3_bind_int(s, 3, t);
            sqlite3_bind_int(s, 4, rounds[k].tenant_held[t]);
            if (sqlite3_step(s) != SQLITE_DONE)
                rc = store__fail(st, err, "writing the rounds' tenants");
        }
    sqlite3_finalize(s);
    return rc;
}

int store_round_tenants_load(store_t *st, int64_t run_id, struct store_round *rounds, size_t n,
                             struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT round, tenant_index, gpus FROM round_tenants WHERE run_id = ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "reading the rounds' tenants");
    sqlite3_bind_int64(s, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(s, 0);
        int t = sqlite3_column_int(s, 1);
        if (k < 0 || (size_t)k >= n || t < 0 || t >= STORE_MAX_ROUND_TENANTS)
            continue;
        rounds[k].tenant_held[t] = sqlite3_column_int(s, 2);
        if (t >= rounds[k].n_tenants)
            rounds[k].n_tenants = t + 1;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : store__fail(st, err, "reading the rounds' tenants");
}

int store__insert_tenants(store_t *st, const struct store_run *run,
                          const struct store_round *rounds, size_t n_rounds, struct err *err)
{
    if (run->n_tenants <= 0 || !run->tenants)
        return 0;
    if (insert_round_tenants(st, run->id, rounds, n_rounds, err) < 0)
        return -1;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "INSERT INTO run_tenants VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
                           -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "writing the run's tenants");
    int rc = 0;
    for (int t = 0; t < run->n_tenants && rc == 0; t++) {
        const struct store_tenant *tn = &run->tenants[t];
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, run->id);
        sqlite3_bind_text(s, 2, tn->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 3, t);
        sqlite3_bind_int(s, 4, tn->quota);
        sqlite3_bind_int64(s, 5, tn->jobs);
        bind_real(s, 6, tn->avg_jct_s);
        bind_real(s, 7, tn->p50_jct_s);
        bind_real(s, 8, tn->p99_jct_s);
        bind_real(s, 9, tn->gpu_hours);
        bind_real(s, 10, tn->mean_gpus);
        bind_real(s, 11, tn->entitled_hours);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store__fail(st, err, "writing the run's tenants");
    }
    sqlite3_finalize(s);
    return rc;
}

int store_run_tenants_load(store_t *st, int64_t run_id, struct store_tenant **out, size_t *n,
                           struct err *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT tenant, quota, jobs, avg_jct_s, p50_jct_s, p99_jct_s, gpu_hours,"
                           " mean_gpus, entitled_hours FROM run_tenants WHERE run_id = ?1"
                           " ORDER BY tenant_index",
                           -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "reading the run's tenants");
    sqlite3_bind_int64(s, 1, run_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)out, &cap, *n + 1, sizeof **out);
        struct store_tenant *t = &(*out)[(*n)++];
        memset(t, 0, sizeof *t);
        const unsigned char *name = sqlite3_column_text(s, 0);
        snprintf(t->name, sizeof t->name, "%s", name ? (const char *)name : "");
        t->quota = sqlite3_column_int(s, 1);
        t->jobs = (long)sqlite3_column_int64(s, 2);
        t->avg_jct_s = col_real(s, 3);
        t->p50_jct_s = col_real(s, 4);
        t->p99_jct_s = col_real(s, 5);
        t->gpu_hours = col_real(s, 6);
        t->mean_gpus = col_real(s, 7);
        t->entitled_hours = col_real(s, 8);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return store__fail(st, err, "reading the run's tenants");
    }
    return 0;
}
