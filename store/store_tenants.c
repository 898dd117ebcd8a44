/*
 * store: a run with tenants (schema 6, docs/tenants.md): each tenant's
 * results (run_tenants), what `report` shows per tenant. A run without
 * tenants has no rows here.
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

int store__insert_tenants(store_t *st, const struct store_run *run, struct err *err)
{
    if (run->n_tenants <= 0 || !run->tenants)
        return 0;
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
