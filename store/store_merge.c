/*
 * store: merging the databases of a sharded sweep (`synergy report --merge`).
 * Each shard of `sweep --shard K/N` writes its own SQLite file (on the node's
 * local disk: never one file on NFS for many writers); the merge copies their
 * complete runs, with jobs and rounds, into one database. A run is identified
 * by its grid's fingerprint and its point number, so a merge never duplicates
 * a run and can be repeated; shards of different grids are refused.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one grid fingerprint of db's runs ("" if it has none); -1 with err if
 * runs of several grids, or runs from outside a sweep, are mixed in. */
static int grid_of(store_t *st, const char *schema, char grid[17], struct err *err)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT grid, COUNT(*) FROM %s.runs GROUP BY grid ORDER BY grid IS NULL, grid", schema);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "reading the runs' grids");
    int n = 0, rc = 0;
    bool plain = false;
    grid[0] = '\0';
    while (sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *g = sqlite3_column_text(s, 0);
        if (!g)
            plain = true;
        else if (n++ == 0)
            snprintf(grid, 17, "%s", (const char *)g);
    }
    sqlite3_finalize(s);
    if (n > 1)
        rc = errprintf(err, "runs of %d different sweep grids", n);
    else if (plain && n > 0)
        rc = errprintf(err, "sweep runs mixed with runs that are not from a sweep");
    else if (plain)
        rc = errprintf(err, "runs that are not from a sweep (nothing to merge by)");
    return rc;
}

int store_sweep_grid(const char *path, char grid[17], struct err *err)
{
    store_t *st = store_open(path, err); /* migrates, and reaps dead 'running' rows */
    if (!st)
        return -1;
    struct err e = {{0}};
    int rc = grid_of(st, "main", grid, &e);
    if (rc < 0)
        errprintf(err, "%s: %s", path, e.msg);
    store_close(st);
    return rc;
}

/* "a, b, c" of the runs table's columns other than id and batch_id. */
static int run_columns(store_t *st, char *buf, size_t n, struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "PRAGMA main.table_info(runs)", -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "reading the runs table");
    size_t at = 0;
    buf[0] = '\0';
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(s, 1);
        if (strcmp(c, "id") == 0 || strcmp(c, "batch_id") == 0)
            continue;
        at += (size_t)snprintf(buf + at, n > at ? n - at : 0, "%s%s", at ? ", " : "", c);
    }
    sqlite3_finalize(s);
    return at < n ? 0 : errprintf(err, "runs table: too many columns");
}

/* The statements of one merge: the shard's runs, and copies of a run, its
 * jobs and its rounds from src into main. */
struct merge_stmts {
    sqlite3_stmt *sel, *ins, *jobs, *rounds, *types, *rtypes, *tenants, *rtenants;
};

static void merge_stmts_finalize(struct merge_stmts *m)
{
    sqlite3_finalize(m->sel);
    sqlite3_finalize(m->ins);
    sqlite3_finalize(m->jobs);
    sqlite3_finalize(m->rounds);
    sqlite3_finalize(m->types);
    sqlite3_finalize(m->rtypes);
    sqlite3_finalize(m->tenants);
    sqlite3_finalize(m->rtenants);
    *m = (struct merge_stmts){0};
}

static int merge_prepare(store_t *st, struct merge_stmts *m, struct err *err)
{
    char cols[4096];
    if (run_columns(st, cols, sizeof cols, err) < 0)
        return -1;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT r.id, r.status,"
                           " EXISTS(SELECT 1 FROM main.runs m WHERE m.grid = r.grid AND"
                           "        m.point = r.point AND m.status = 'complete')"
                           " FROM src.runs r ORDER BY r.point, r.id",
                           -1, &m->sel, NULL) != SQLITE_OK)
        return store__fail(st, err, "reading the shard's runs");
    char sql[8192];
    snprintf(sql, sizeof sql,
             "INSERT INTO main.runs(batch_id, %s) SELECT ?2, %s FROM src.runs WHERE id = ?1", cols,
             cols);
    if (sqlite3_prepare_v2(st->db, sql, -1, &m->ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO main.jobs SELECT ?2, job_id, model, gpus, arrival_s,"
                           " first_start_s, finish_s, jct_s, attained_s, rounds_run,"
                           " rounds_demoted, preemptions, gpu_type FROM src.jobs WHERE run_id = ?1",
                           -1, &m->jobs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO main.rounds SELECT ?2, round, t_s, runnable, placed,"
                           " started, preempted, demoted, gpu_alloc, cpu_alloc, mem_alloc,"
                           " gpu_util, cpu_util, mem_util, gpu_demand, cpu_demand, mem_demand"
                           " FROM src.rounds WHERE run_id = ?1",
                           -1, &m->rounds, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO main.run_types SELECT ?2, gpu_type, type_index, gpus, jobs,"
                           " avg_jct_s, p50_jct_s, p99_jct_s, gpu_alloc, cpu_alloc, mem_alloc"
                           " FROM src.run_types WHERE run_id = ?1",
                           -1, &m->types, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO main.round_types SELECT ?2, round, gpu_type, gpu_alloc,"
                           " cpu_alloc, mem_alloc FROM src.round_types WHERE run_id = ?1",
                           -1, &m->rtypes, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO main.run_tenants SELECT ?2, tenant, tenant_index, quota, jobs, avg_jct_s,"
                           " p50_jct_s, p99_jct_s, gpu_hours, mean_gpus, entitled_hours"
                           " FROM src.run_tenants WHERE run_id = ?1",
                           -1, &m->tenants, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO main.round_tenants SELECT ?2, round, tenant_index, gpus"
                           " FROM src.round_tenants WHERE run_id = ?1",
                           -1, &m->rtenants, NULL) != SQLITE_OK)
        return store__fail(st, err, "preparing the merge");
    return 0;
}

/* Copy src's run ID, with its jobs and rounds, into main as a run of BATCH. */
static int merge_copy_run(store_t *st, struct merge_stmts *m, int64_t id, int64_t batch,
                          struct err *err)
{
    sqlite3_reset(m->ins);
    sqlite3_bind_int64(m->ins, 1, id);
    sqlite3_bind_int64(m->ins, 2, batch);
    if (sqlite3_step(m->ins) != SQLITE_DONE)
        return store__fail(st, err, "copying a run");
    int64_t nid = sqlite3_last_insert_rowid(st->db);
    sqlite3_stmt *kids[6] = {m->jobs, m->rounds, m->types, m->rtypes, m->tenants, m->rtenants};
    for (int k = 0; k < 6; k++) {
        sqlite3_reset(kids[k]);
        sqlite3_bind_int64(kids[k], 1, id);
        sqlite3_bind_int64(kids[k], 2, nid);
        if (sqlite3_step(kids[k]) != SQLITE_DONE)
            return store__fail(st, err, k == 0   ? "copying a run's jobs"
                                        : k == 1 ? "copying a run's rounds"
                                        : k >= 4 ? "copying a run's tenants"
                                                 : "copying a run's GPU types");
    }
    return 0;
}

/* The batch main already holds grid's runs in (0: none yet). The shards of
 * one sweep become one batch, so that the default report (the newest batch)
 * shows the whole grid, not the last shard's half. */
static int64_t grid_batch(store_t *st, const char *grid)
{
    sqlite3_stmt *s;
    int64_t batch = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT MIN(batch_id) FROM main.runs WHERE grid = ?1", -1, &s,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(s, 1, grid, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW)
        batch = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return batch;
}

/* Copy every complete run of the attached shard that main does not hold yet,
 * inside the caller's transaction, into the batch of its grid (made at the
 * first copy of the grid). */
static int merge_runs(store_t *st, const char *src_path, const char *grid,
                      struct store_merge_stats *stats, struct err *err)
{
    struct merge_stmts m = {0};
    int rc = merge_prepare(st, &m, err);
    int64_t batch = grid_batch(st, grid);
    int step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(m.sel)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(m.sel, 0);
        const char *status = (const char *)sqlite3_column_text(m.sel, 1);
        if (strcmp(status, "complete") != 0) {
            stats->skipped++;
            continue;
        }
        if (sqlite3_column_int(m.sel, 2)) {
            stats->present++;
            continue;
        }
        if (batch == 0) {
            char cmd[1200];
            snprintf(cmd, sizeof cmd, "report --merge %s", src_path);
            if ((batch = store_batch_insert(st, "merge", cmd, err)) < 0) {
                rc = -1;
                break;
            }
        }
        rc = merge_copy_run(st, &m, id, batch, err);
        stats->added += rc == 0;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = store__fail(st, err, "reading the shard's runs");
    merge_stmts_finalize(&m);
    return rc;
}

int store_merge(store_t *st, const char *src_path, struct store_merge_stats *stats,
                struct err *err)
{
    memset(stats, 0, sizeof *stats);
    char src_grid[17], dst_grid[17];
    if (store_sweep_grid(src_path, src_grid, err) < 0)
        return -1;
    struct err e = {{0}};
    if (grid_of(st, "main", dst_grid, &e) < 0)
        return errprintf(err, "%s: %s; merge into a new file", st->path, e.msg);
    if (dst_grid[0] && src_grid[0] && strcmp(dst_grid, src_grid) != 0)
        return errprintf(err, "%s: runs of sweep grid %s, but %s holds grid %s: shards of "
                              "different grids are not merged",
                         src_path, src_grid, st->path, dst_grid);
    if (!src_grid[0])
        return 0; /* an empty shard */

    sqlite3_stmt *att;
    if (sqlite3_prepare_v2(st->db, "ATTACH DATABASE ?1 AS src", -1, &att, NULL) != SQLITE_OK)
        return store__fail(st, err, "attaching the shard");
    sqlite3_bind_text(att, 1, src_path, -1, SQLITE_TRANSIENT);
    int arc = sqlite3_step(att);
    sqlite3_finalize(att);
    if (arc != SQLITE_DONE)
        return store__fail(st, err, "attaching the shard");

    int rc = store__exec(st, "BEGIN IMMEDIATE", err);
    if (rc == 0) {
        rc = merge_runs(st, src_path, src_grid, stats, err);
        if (rc == 0)
            rc = store__exec(st, "COMMIT", err);
        if (rc < 0)
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_exec(st->db, "DETACH DATABASE src", NULL, NULL, NULL);
    return rc;
}
