/*
 * store: reads for reports and plots. Runs come back as store_run values with
 * their configuration and summary; jobs and rounds as plain arrays. NULL
 * columns (no measured job) read back as NaN.
 */
#include "store_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_COLUMNS                                                                                \
    "id, batch_id, status, version, started_at, policy, mode, placement, workload,"               \
    " jobs_per_hour, split_image, split_language, split_speech, seed, max_jobs, cluster,"        \
    " cluster_ini, servers, gpus_per_server, cpus_per_server, mem_per_server, gpus, models,"     \
    " profiles, round_duration_s, measure_lo, measure_hi, static, stop_on_gap, jobs_arrived,"    \
    " jobs_finished, jobs_measured, window_size, window_complete, avg_jct_s, p50_jct_s,"        \
    " p99_jct_s, p999_jct_s, max_jct_s, makespan_s, end_time_s, rounds, gpu_alloc, cpu_alloc,"  \
    " mem_alloc, wall_s, arrival, opt_compat, opt_time_limit_s, opt_rounds, opt_fallbacks,"     \
    " opt_lowered, opt_unplaced, opt_packed, opt_solve_mean_s, opt_solve_max_s, grid, point,"   \
    " opt_capped, hetero,"                                                                       \
    " (SELECT kind FROM batches WHERE batches.id = runs.batch_id)"

static double col_real(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN : sqlite3_column_double(s, i);
}

static void col_text(sqlite3_stmt *s, int i, char *buf, size_t n)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(buf, n, "%s", t ? (const char *)t : "");
}

static void read_run(sqlite3_stmt *s, struct store_run *r)
{
    memset(r, 0, sizeof *r);
    int i = 0;
    r->id = sqlite3_column_int64(s, i++);
    r->batch_id = sqlite3_column_int64(s, i++);
    col_text(s, i++, r->status, sizeof r->status);
    col_text(s, i++, r->version, sizeof r->version);
    col_text(s, i++, r->started_at, sizeof r->started_at);
    col_text(s, i++, r->policy, sizeof r->policy);
    col_text(s, i++, r->mode, sizeof r->mode);
    col_text(s, i++, r->placement, sizeof r->placement);
    col_text(s, i++, r->workload, sizeof r->workload);
    r->jobs_per_hour = col_real(s, i++);
    for (int k = 0; k < 3; k++)
        r->split[k] = sqlite3_column_int(s, i++);
    r->seed = (uint64_t)sqlite3_column_int64(s, i++);
    r->max_jobs = (long)sqlite3_column_int64(s, i++);
    col_text(s, i++, r->cluster, sizeof r->cluster);
    const unsigned char *ini = sqlite3_column_text(s, i++);
    r->cluster_ini = ini ? xstrdup((const char *)ini) : NULL;
    r->servers = sqlite3_column_int(s, i++);
    r->gpus_per_server = sqlite3_column_int(s, i++);
    r->cpus_per_server = sqlite3_column_int(s, i++);
    r->mem_per_server = sqlite3_column_int(s, i++);
    r->gpus = sqlite3_column_int(s, i++);
    col_text(s, i++, r->models, sizeof r->models);
    col_text(s, i++, r->profiles, sizeof r->profiles);
    r->round_duration = col_real(s, i++);
    r->measure_lo = (long)sqlite3_column_int64(s, i++);
    r->measure_hi = (long)sqlite3_column_int64(s, i++);
    r->is_static = sqlite3_column_int(s, i++);
    r->stop_on_gap = sqlite3_column_int(s, i++);
    r->jobs_arrived = (long)sqlite3_column_int64(s, i++);
    r->jobs_finished = (long)sqlite3_column_int64(s, i++);
    r->jobs_measured = (long)sqlite3_column_int64(s, i++);
    r->window_size = (long)sqlite3_column_int64(s, i++);
    r->window_complete = sqlite3_column_int(s, i++);
    r->avg_jct_s = col_real(s, i++);
    r->p50_jct_s = col_real(s, i++);
    r->p99_jct_s = col_real(s, i++);
    r->p999_jct_s = col_real(s, i++);
    r->max_jct_s = col_real(s, i++);
    r->makespan_s = col_real(s, i++);
    r->end_time_s = col_real(s, i++);
    r->rounds = (long)sqlite3_column_int64(s, i++);
    r->gpu_alloc = col_real(s, i++);
    r->cpu_alloc = col_real(s, i++);
    r->mem_alloc = col_real(s, i++);
    r->wall_s = col_real(s, i++);
    col_text(s, i++, r->arrival, sizeof r->arrival);
    r->opt_compat = sqlite3_column_int(s, i++);
    r->opt_time_limit_s = col_real(s, i++);
    r->opt_rounds = (long)sqlite3_column_int64(s, i++); /* NULL (schema 1 runs) reads 0 */
    r->opt_fallbacks = (long)sqlite3_column_int64(s, i++);
    r->opt_lowered = (long)sqlite3_column_int64(s, i++);
    r->opt_unplaced = (long)sqlite3_column_int64(s, i++);
    r->opt_packed = (long)sqlite3_column_int64(s, i++);
    r->opt_solve_mean_s = col_real(s, i++);
    r->opt_solve_max_s = col_real(s, i++);
    col_text(s, i++, r->grid, sizeof r->grid);
    r->point = sqlite3_column_type(s, i) == SQLITE_NULL ? -1 : (long)sqlite3_column_int64(s, i);
    i++;
    r->opt_capped = (long)sqlite3_column_int64(s, i++); /* NULL (schema < 4) reads 0 */
    col_text(s, i++, r->hetero, sizeof r->hetero);      /* NULL: untyped (or schema < 5) */
    col_text(s, i++, r->kind, sizeof r->kind);
}

void store_runs_free(struct store_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(runs[i].cluster_ini);
    free(runs);
}

static int select_by_ids(store_t *st, const struct store_filter *f, struct store_run **out,
                         size_t *n, struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT " RUN_COLUMNS " FROM runs WHERE id=?", -1, &s,
                           NULL) != SQLITE_OK)
        return store__fail(st, err, "reading runs");
    struct store_run *runs = xcalloc(f->n_ids, sizeof *runs);
    size_t k = 0;
    for (; k < f->n_ids; k++) {
        sqlite3_bind_int64(s, 1, f->ids[k]);
        if (sqlite3_step(s) != SQLITE_ROW) {
            errprintf(err, "%s: no run %lld", st->path, (long long)f->ids[k]);
            goto error;
        }
        read_run(s, &runs[k]);
        sqlite3_reset(s);
        if (!f->all_statuses && strcmp(runs[k].status, "complete") != 0) {
            errprintf(err, "%s: run %lld is %s, not complete", st->path, (long long)f->ids[k],
                      runs[k].status);
            k++;
            goto error;
        }
    }
    sqlite3_finalize(s);
    *out = runs;
    *n = f->n_ids;
    return 0;
error:
    sqlite3_finalize(s);
    store_runs_free(runs, k);
    return -1;
}

int store_runs_select(store_t *st, const struct store_filter *f, struct store_run **out,
                      size_t *n, struct err *err)
{
    *out = NULL;
    *n = 0;
    if (f->n_ids > 0)
        return select_by_ids(st, f, out, n, err);
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT " RUN_COLUMNS " FROM runs WHERE %s %s ORDER BY id",
             f->batch_id == STORE_LAST_BATCH ? "batch_id = (SELECT max(batch_id) FROM runs)"
             : f->batch_id > 0               ? "batch_id = ?1"
                                             : "1",
             f->all_statuses ? "" : "AND status = 'complete'");
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "reading runs");
    if (f->batch_id > 0)
        sqlite3_bind_int64(s, 1, f->batch_id);
    struct store_run *runs = NULL;
    size_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&runs, &cap, cnt + 1, sizeof *runs);
        read_run(s, &runs[cnt++]);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        store_runs_free(runs, cnt);
        return store__fail(st, err, "reading runs");
    }
    *out = runs;
    *n = cnt;
    return 0;
}

/* The rows of `sql` (one ? for the run id), each read by `row` into the next
 * `size`-byte element of an array: 0 with *out (caller frees) and *n, or -1
 * with err "reading WHAT". */
static int load_rows(store_t *st, const char *sql, int64_t run_id, size_t size,
                     void (*row)(sqlite3_stmt *s, void *elem), void **out, size_t *n,
                     const char *what, struct err *err)
{
    sqlite3_stmt *s;
    char msg[64];
    snprintf(msg, sizeof msg, "reading %s", what);
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, msg);
    sqlite3_bind_int64(s, 1, run_id);
    char *rows = NULL;
    size_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&rows, &cap, cnt + 1, size);
        row(s, rows + size * cnt++);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(rows);
        return store__fail(st, err, msg);
    }
    *out = rows;
    *n = cnt;
    return 0;
}

static void job_row(sqlite3_stmt *s, void *elem)
{
    struct store_job *j = elem;
    j->id = sqlite3_column_int(s, 0);
    col_text(s, 1, j->model, sizeof j->model);
    j->gpus = sqlite3_column_int(s, 2);
    j->arrival = col_real(s, 3);
    j->first_start = col_real(s, 4);
    j->finish = col_real(s, 5);
    j->jct = col_real(s, 6);
    j->attained = col_real(s, 7);
    j->rounds_run = sqlite3_column_int(s, 8);
    j->rounds_demoted = sqlite3_column_int(s, 9);
    j->preemptions = sqlite3_column_int(s, 10);
    col_text(s, 11, j->gpu_type, sizeof j->gpu_type);
}

int store_jobs_load(store_t *st, int64_t run_id, struct store_job **out, size_t *n,
                    struct err *err)
{
    return load_rows(st,
                     "SELECT job_id, model, gpus, arrival_s, first_start_s, finish_s, jct_s,"
                     " attained_s, rounds_run, rounds_demoted, preemptions, gpu_type FROM jobs"
                     " WHERE run_id=? ORDER BY job_id",
                     run_id, sizeof **out, job_row, (void **)out, n, "jobs", err);
}

static void round_row(sqlite3_stmt *s, void *elem)
{
    struct store_round *r = elem;
    memset(r, 0, sizeof *r);
    r->t = sqlite3_column_double(s, 0);
    r->runnable = (long)sqlite3_column_int64(s, 1);
    r->placed = (long)sqlite3_column_int64(s, 2);
    r->started = (long)sqlite3_column_int64(s, 3);
    r->preempted = (long)sqlite3_column_int64(s, 4);
    r->demoted = (long)sqlite3_column_int64(s, 5);
    for (int q = 0; q < 3; q++) {
        r->alloc[q] = sqlite3_column_double(s, 6 + q);
        r->util[q] = sqlite3_column_double(s, 9 + q);
        r->demand[q] = sqlite3_column_double(s, 12 + q);
    }
}

int store_rounds_load(store_t *st, int64_t run_id, struct store_round **out, size_t *n,
                      struct err *err)
{
    return load_rows(st,
                     "SELECT t_s, runnable, placed, started, preempted, demoted, gpu_alloc,"
                     " cpu_alloc, mem_alloc, gpu_util, cpu_util, mem_util, gpu_demand,"
                     " cpu_demand, mem_demand FROM rounds WHERE run_id=? ORDER BY round",
                     run_id, sizeof **out, round_row, (void **)out, n, "rounds", err);
}
