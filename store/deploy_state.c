/*
 * SQLite persistence of the deployment state (see deploy_state.h). Prepared
 * statements, upserts keyed on the natural ids, WAL so readers can look at a
 * live run. The file itself (lock, checks, schema version) is opened in
 * deploy_state_file.c. A write that fails inside a round's transaction marks
 * it failed: the writes after it are skipped and the commit rolls the whole
 * round back, so a file never holds half a round (SQLite may roll back a
 * transaction by itself on SQLITE_FULL, after which writes would otherwise
 * commit one by one).
 */
#include "deploy_state_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fail(deploy_state_t *st, struct err *err, const char *what)
{
    if (st->txn && !st->txn_err[0])
        snprintf(st->txn_err, sizeof st->txn_err, "%s: %s", what, sqlite3_errmsg(st->db));
    return errprintf(err, "sqlite: %s: %s", what, sqlite3_errmsg(st->db));
}

/* May a write go ahead? Not in a round whose transaction failed (or that
 * SQLite rolled back by itself): its commit will roll back. */
static int writable(deploy_state_t *st, struct err *err, const char *what)
{
    if (st->txn && !st->txn_err[0] && sqlite3_get_autocommit(st->db))
        snprintf(st->txn_err, sizeof st->txn_err, "%s: the transaction was rolled back", what);
    if (st->txn && st->txn_err[0])
        return errprintf(err, "sqlite: %s: skipped: %s", what, st->txn_err);
    return 0;
}

/* chmod 0600 the file and its -wal and -shm (when they exist). 0 or -1 + err. */
static int owner_only(const char *path, struct err *err)
{
    static const char *const ext[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s%s", path, ext[i]);
        if (chmod(p, 0600) < 0 && (i == 0 || errno != ENOENT))
            return errprintf(err, "%s: %s", p, strerror(errno));
    }
    return 0;
}

deploy_state_t *deploy_state_open(const char *path, struct err *err)
{
    deploy_state_t *st = xcalloc(1, sizeof *st);
    st->lock_fd = -1;
    st->path = xstrdup(path);
    if (deploy_state__open_file(st, path, err) < 0)
        goto error;
    /* it holds running jobs' tokens: the owner's alone (its -wal and -shm
     * files take the same mode) */
    if (st->lock_fd >= 0 && owner_only(path, err) < 0) /* a file of ours, locked */
        goto error;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO workers VALUES(?1,?2,?3,?4,?5,julianday('now'))"
                           " ON CONFLICT(server) DO UPDATE SET ip=?2, port=?3, state=?4, gpus=?5,"
                           " updated=julianday('now')",
                           -1, &st->worker, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO jobs VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"
                           " ON CONFLICT(id) DO UPDATE SET state=?3, attempt=?4, executed=?5,"
                           " finish=?8",
                           -1, &st->job, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO leases VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"
                           " ON CONFLICT(job, attempt, server, t) DO UPDATE SET t_end=?8, state=?9",
                           -1, &st->lease, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "SELECT count(*) FROM jobs WHERE state=?1", -1, &st->count,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "SELECT count(*) FROM jobs", -1, &st->count_all, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO rounds VALUES(?1,?2,?3)", -1, &st->round,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO run VALUES(1,?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,"
                           "?11)",
                           -1, &st->run_put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "SELECT args, finished, t0_real, b, next_arrival, rounds, util0, util1,"
                           " util2, stats, plan_log_bytes FROM run WHERE id = 1",
                           -1, &st->run_get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO saved_jobs VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,"
                           "?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)",
                           -1, &st->saved_put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "SELECT * FROM saved_jobs ORDER BY id", -1, &st->saved_get,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "DELETE FROM saved_ranks WHERE job = ?1", -1, &st->rank_del,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO saved_ranks VALUES(?1,?2,?3,?4,?5,?6,?7,?8,"
                           "?9,?10)",
                           -1, &st->rank_put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "SELECT * FROM saved_ranks ORDER BY job, rank", -1,
                           &st->rank_get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO attempts VALUES(?1,?2,?3,?4) ON CONFLICT(job, attempt)"
                           " DO UPDATE SET startup_s = coalesce(?4, startup_s)",
                           -1, &st->attempt_put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO tokens VALUES(?1,?2,?3,?4,?5)", -1,
                           &st->token_put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "SELECT * FROM tokens ORDER BY job", -1, &st->token_get,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "INSERT INTO reports VALUES(?1,?2,?3,?4)", -1,
                           &st->report_put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "DELETE FROM reports WHERE job = ?1", -1, &st->report_del,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "SELECT job, attempt, rank, steps FROM reports ORDER BY rowid",
                           -1, &st->report_get, NULL) != SQLITE_OK) {
        fail(st, err, "prepare");
        goto error;
    }
    return st;
error:
    deploy_state_close(st);
    return NULL;
}

void deploy_state_close(deploy_state_t *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->worker);
    sqlite3_finalize(st->job);
    sqlite3_finalize(st->lease);
    sqlite3_finalize(st->round);
    sqlite3_finalize(st->count);
    sqlite3_finalize(st->count_all);
    sqlite3_finalize(st->run_put);
    sqlite3_finalize(st->run_get);
    sqlite3_finalize(st->saved_put);
    sqlite3_finalize(st->saved_get);
    sqlite3_finalize(st->rank_del);
    sqlite3_finalize(st->rank_put);
    sqlite3_finalize(st->rank_get);
    sqlite3_finalize(st->attempt_put);
    sqlite3_finalize(st->token_put);
    sqlite3_finalize(st->token_get);
    sqlite3_finalize(st->report_put);
    sqlite3_finalize(st->report_del);
    sqlite3_finalize(st->report_get);
    sqlite3_close(st->db);
    deploy_state__unlock(st);
    free(st->path);
    free(st);
}

static int exec(deploy_state_t *st, const char *sql, struct err *err)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail(st, err, sql);
    return 0;
}

int deploy_state_begin(deploy_state_t *st, struct err *err)
{
    if (st->txn)
        return errprintf(err, "sqlite: BEGIN: a transaction is open");
    /* a BEGIN that fails fails the round: its writes are skipped, not
     * committed one by one */
    st->txn_err[0] = '\0';
    st->txn = true;
    if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    snprintf(st->txn_err, sizeof st->txn_err, "BEGIN: %s", sqlite3_errmsg(st->db));
    return errprintf(err, "sqlite: %s", st->txn_err);
}

int deploy_state_commit(deploy_state_t *st, struct err *err)
{
    if (!st->txn)
        return 0;
    st->txn = false;
    if (st->txn_err[0]) {
        errprintf(err, "%s", st->txn_err);
        if (!sqlite3_get_autocommit(st->db))
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    errprintf(err, "sqlite: COMMIT: %s", sqlite3_errmsg(st->db));
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static int step(deploy_state_t *st, sqlite3_stmt *s, struct err *err, const char *what)
{
    if (writable(st, err, what) < 0) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return -1;
    }
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        return fail(st, err, what);
    return 0;
}

int deploy_state_worker(deploy_state_t *st, int server, const char *ip, int port,
                        const char *state, int n_gpus, struct err *err)
{
    sqlite3_stmt *s = st->worker;
    sqlite3_bind_int(s, 1, server);
    sqlite3_bind_text(s, 2, ip, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, port);
    sqlite3_bind_text(s, 4, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 5, n_gpus);
    return step(st, s, err, "workers");
}

int deploy_state_job(deploy_state_t *st, int id, const char *model, const char *state,
                     int attempt, long executed, long total, double arrival, double finish,
                     struct err *err)
{
    sqlite3_stmt *s = st->job;
    sqlite3_bind_int(s, 1, id);
    sqlite3_bind_text(s, 2, model, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 4, attempt);
    sqlite3_bind_int64(s, 5, executed);
    sqlite3_bind_int64(s, 6, total);
    sqlite3_bind_double(s, 7, arrival);
    if (finish >= 0)
        sqlite3_bind_double(s, 8, finish);
    else
        sqlite3_bind_null(s, 8);
    return step(st, s, err, "jobs");
}

int deploy_state_lease(deploy_state_t *st, int id, int attempt, int server, const char *gpus,
                       double cpus, double mem, double t, double t_end, const char *state,
                       struct err *err)
{
    sqlite3_stmt *s = st->lease;
    sqlite3_bind_int(s, 1, id);
    sqlite3_bind_int(s, 2, attempt);
    sqlite3_bind_int(s, 3, server);
    sqlite3_bind_text(s, 4, gpus, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 5, cpus);
    sqlite3_bind_double(s, 6, mem);
    sqlite3_bind_double(s, 7, t);
    sqlite3_bind_double(s, 8, t_end);
    sqlite3_bind_text(s, 9, state, -1, SQLITE_TRANSIENT);
    return step(st, s, err, "leases");
}

long deploy_state_count_jobs(deploy_state_t *st, const char *state)
{
    sqlite3_stmt *s = state ? st->count : st->count_all;
    if (state)
        sqlite3_bind_text(s, 1, state, -1, SQLITE_TRANSIENT);
    long n = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return n;
}

int deploy_state_reset(deploy_state_t *st, struct err *err)
{
    return exec(st, "DELETE FROM workers; DELETE FROM jobs; DELETE FROM leases; DELETE FROM run;"
                    " DELETE FROM saved_jobs; DELETE FROM saved_ranks; DELETE FROM attempts;"
                    " DELETE FROM rounds; DELETE FROM samples; DELETE FROM admin_jobs;"
                    " DELETE FROM tokens; DELETE FROM reports;",
                err);
}

int deploy_state_run_put(deploy_state_t *st, const struct deploy_state_run *r, struct err *err)
{
    sqlite3_stmt *s = st->run_put;
    sqlite3_bind_text(s, 1, r->args, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 2, r->finished);
    sqlite3_bind_double(s, 3, r->t0_real);
    sqlite3_bind_double(s, 4, r->b);
    sqlite3_bind_int64(s, 5, r->next_arrival);
    sqlite3_bind_int64(s, 6, r->rounds);
    for (int k = 0; k < 3; k++)
        sqlite3_bind_double(s, 7 + k, r->util_sum[k]);
    char stats[256] = "";
    for (int k = 0; k < DEPLOY_STATE_STATS; k++)
        snprintf(stats + strlen(stats), sizeof stats - strlen(stats), "%s%ld", k ? " " : "",
                 r->stats[k]);
    sqlite3_bind_text(s, 10, stats, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 11, r->plan_log_bytes);
    return step(st, s, err, "run");
}

int deploy_state_run_get(deploy_state_t *st, struct deploy_state_run *r, struct err *err)
{
    sqlite3_stmt *s = st->run_get;
    memset(r, 0, sizeof *r);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *a = sqlite3_column_text(s, 0);
        snprintf(r->args, sizeof r->args, "%s", a ? (const char *)a : "");
        r->finished = sqlite3_column_int(s, 1);
        r->t0_real = sqlite3_column_double(s, 2);
        r->b = sqlite3_column_double(s, 3);
        r->next_arrival = sqlite3_column_int64(s, 4);
        r->rounds = sqlite3_column_int64(s, 5);
        for (int k = 0; k < 3; k++)
            r->util_sum[k] = sqlite3_column_double(s, 6 + k);
        r->plan_log_bytes = sqlite3_column_int64(s, 10);
        const char *p = (const char *)sqlite3_column_text(s, 9);
        for (int k = 0; k < DEPLOY_STATE_STATS && p && *p; k++) {
            char *end;
            r->stats[k] = strtol(p, &end, 10);
            p = end;
        }
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return fail(st, err, "run");
}

int deploy_state_saved_put(deploy_state_t *st, const struct deploy_state_job *j, struct err *err)
{
    sqlite3_stmt *s = st->saved_put;
    sqlite3_bind_int(s, 1, j->id);
    sqlite3_bind_int(s, 2, j->state);
    sqlite3_bind_int(s, 3, j->attempt);
    sqlite3_bind_int(s, 4, j->crashes);
    sqlite3_bind_int(s, 5, j->terminated);
    sqlite3_bind_int64(s, 6, j->executed);
    sqlite3_bind_int64(s, 7, j->round_base);
    sqlite3_bind_double(s, 8, j->attained);
    sqlite3_bind_int(s, 9, j->priority);
    sqlite3_bind_double(s, 10, j->last_exec);
    sqlite3_bind_double(s, 11, j->first_start);
    sqlite3_bind_double(s, 12, j->finish);
    sqlite3_bind_int(s, 13, j->failed);
    sqlite3_bind_int(s, 14, j->rounds_run);
    sqlite3_bind_int(s, 15, j->rounds_demoted);
    sqlite3_bind_int(s, 16, j->preemptions);
    sqlite3_bind_int(s, 17, j->placed_last);
    sqlite3_bind_int64(s, 18, j->runnable_rank);
    sqlite3_bind_double(s, 19, j->lease_t);
    sqlite3_bind_int(s, 20, j->procs);
    return step(st, s, err, "saved_jobs");
}

int deploy_state_saved_each(deploy_state_t *st,
                            int (*fn)(void *ctx, const struct deploy_state_job *j), void *ctx,
                            struct err *err)
{
    sqlite3_stmt *s = st->saved_get;
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct deploy_state_job j = {
            .id = sqlite3_column_int(s, 0),
            .state = sqlite3_column_int(s, 1),
            .attempt = sqlite3_column_int(s, 2),
            .crashes = sqlite3_column_int(s, 3),
            .terminated = sqlite3_column_int(s, 4) != 0,
            .executed = sqlite3_column_int64(s, 5),
            .round_base = sqlite3_column_int64(s, 6),
            .attained = sqlite3_column_double(s, 7),
            .priority = sqlite3_column_int(s, 8),
            .last_exec = sqlite3_column_double(s, 9),
            .first_start = sqlite3_column_double(s, 10),
            .finish = sqlite3_column_double(s, 11),
            .failed = sqlite3_column_int(s, 12) != 0,
            .rounds_run = sqlite3_column_int(s, 13),
            .rounds_demoted = sqlite3_column_int(s, 14),
            .preemptions = sqlite3_column_int(s, 15),
            .placed_last = sqlite3_column_int(s, 16) != 0,
            .runnable_rank = sqlite3_column_int64(s, 17),
            .lease_t = sqlite3_column_double(s, 18),
            .procs = sqlite3_column_int(s, 19),
        };
        out = fn(ctx, &j);
    }
    sqlite3_reset(s);
    if (out == 0 && rc != SQLITE_DONE)
        return fail(st, err, "saved_jobs");
    return out;
}

int deploy_state_ranks_put(deploy_state_t *st, int job, const struct deploy_state_rank *r,
                           int n, struct err *err)
{
    sqlite3_bind_int(st->rank_del, 1, job);
    if (step(st, st->rank_del, err, "saved_ranks") < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        sqlite3_stmt *s = st->rank_put;
        sqlite3_bind_int(s, 1, job);
        sqlite3_bind_int(s, 2, i);
        sqlite3_bind_int(s, 3, r[i].server);
        sqlite3_bind_text(s, 4, r[i].gpus, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 5, r[i].cpus);
        sqlite3_bind_double(s, 6, r[i].mem);
        sqlite3_bind_double(s, 7, r[i].share_gpu);
        sqlite3_bind_double(s, 8, r[i].share_cpu);
        sqlite3_bind_double(s, 9, r[i].share_mem);
        sqlite3_bind_double(s, 10, r[i].share_sspeed);
        if (step(st, s, err, "saved_ranks") < 0)
            return -1;
    }
    return 0;
}

int deploy_state_ranks_each(deploy_state_t *st,
                            int (*fn)(void *ctx, int job, int rank,
                                      const struct deploy_state_rank *r),
                            void *ctx, struct err *err)
{
    sqlite3_stmt *s = st->rank_get;
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct deploy_state_rank r = {
            .server = sqlite3_column_int(s, 2),
            .cpus = sqlite3_column_int(s, 4),
            .mem = sqlite3_column_double(s, 5),
            .share_gpu = sqlite3_column_double(s, 6),
            .share_cpu = sqlite3_column_double(s, 7),
            .share_mem = sqlite3_column_double(s, 8),
            .share_sspeed = sqlite3_column_double(s, 9),
        };
        const unsigned char *g = sqlite3_column_text(s, 3);
        snprintf(r.gpus, sizeof r.gpus, "%s", g ? (const char *)g : "");
        out = fn(ctx, sqlite3_column_int(s, 0), sqlite3_column_int(s, 1), &r);
    }
    sqlite3_reset(s);
    if (out == 0 && rc != SQLITE_DONE)
        return fail(st, err, "saved_ranks");
    return out;
}

int deploy_state_attempt(deploy_state_t *st, int job, int attempt, double launched,
                         double startup_s, struct err *err)
{
    sqlite3_stmt *s = st->attempt_put;
    sqlite3_bind_int(s, 1, job);
    sqlite3_bind_int(s, 2, attempt);
    sqlite3_bind_double(s, 3, launched);
    if (startup_s >= 0)
        sqlite3_bind_double(s, 4, startup_s);
    else
        sqlite3_bind_null(s, 4);
    return step(st, s, err, "attempts");
}

int deploy_state_round(deploy_state_t *st, long n, double t, bool done, struct err *err)
{
    sqlite3_bind_int64(st->round, 1, n);
    sqlite3_bind_double(st->round, 2, t);
    sqlite3_bind_int(st->round, 3, done);
    return step(st, st->round, err, "round");
}

int deploy_state_sample(deploy_state_t *st, const struct deploy_state_sample *r, struct err *err)
{
    if (writable(st, err, "sample") < 0)
        return -1;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO samples VALUES(?1,?2,?3,?4,?5,?6,?7,"
                                   "?8,?9,?10,?11,?12,?13,?14,?15)", -1, &s, NULL) != SQLITE_OK)
        return fail(st, err, "sample");
    sqlite3_bind_double(s, 1, r->t);
    sqlite3_bind_int64(s, 2, r->runnable);
    sqlite3_bind_int64(s, 3, r->placed);
    sqlite3_bind_int64(s, 4, r->started);
    sqlite3_bind_int64(s, 5, r->preempted);
    sqlite3_bind_int64(s, 6, r->demoted);
    for (int k = 0; k < 3; k++) {
        sqlite3_bind_double(s, 7 + k, r->alloc[k]);
        sqlite3_bind_double(s, 10 + k, r->util[k]);
        sqlite3_bind_double(s, 13 + k, r->demand[k]);
    }
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : fail(st, err, "sample");
}

int deploy_state_samples_each(deploy_state_t *st,
                              int (*fn)(void *ctx, const struct deploy_state_sample *r),
                              void *ctx, struct err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT * FROM samples ORDER BY t", -1, &s, NULL) !=
        SQLITE_OK)
        return fail(st, err, "samples");
    int rc, out = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct deploy_state_sample r = {
            .t = sqlite3_column_double(s, 0), .runnable = sqlite3_column_int64(s, 1),
            .placed = sqlite3_column_int64(s, 2), .started = sqlite3_column_int64(s, 3),
            .preempted = sqlite3_column_int64(s, 4), .demoted = sqlite3_column_int64(s, 5)};
        for (int k = 0; k < 3; k++) {
            r.alloc[k] = sqlite3_column_double(s, 6 + k);
            r.util[k] = sqlite3_column_double(s, 9 + k);
            r.demand[k] = sqlite3_column_double(s, 12 + k);
        }
        if ((out = fn(ctx, &r)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = fail(st, err, "samples");
    sqlite3_finalize(s);
    return out;
}

bool deploy_state_in_txn(deploy_state_t *st)
{
    return st->txn;
}

int deploy_state_admin_put(deploy_state_t *st, const struct deploy_state_admin *a,
                           struct err *err)
{
    if (writable(st, err, "admin_jobs") < 0)
        return -1;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO admin_jobs VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,"
                           "?10,?11,?12)",
                           -1, &s, NULL) != SQLITE_OK)
        return fail(st, err, "admin_jobs");
    sqlite3_bind_int(s, 1, a->id);
    sqlite3_bind_text(s, 2, a->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, a->user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, a->model, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 5, a->gpus);
    sqlite3_bind_int64(s, 6, a->iterations);
    sqlite3_bind_double(s, 7, a->arrival);
    sqlite3_bind_int(s, 8, a->priority);
    sqlite3_bind_int(s, 9, a->submitted);
    sqlite3_bind_int(s, 10, a->cancelled);
    sqlite3_bind_text(s, 11, a->gpu_types, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 12, a->tenant, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return fail(st, err, "admin_jobs");
    return 0;
}

static void col_text(sqlite3_stmt *s, int i, char *buf, size_t n)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(buf, n, "%s", t ? (const char *)t : "");
}

int deploy_state_admin_each(deploy_state_t *st,
                            int (*fn)(void *ctx, const struct deploy_state_admin *a), void *ctx,
                            struct err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT * FROM admin_jobs ORDER BY id", -1, &s, NULL) !=
        SQLITE_OK)
        return fail(st, err, "admin_jobs");
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct deploy_state_admin a = {
            .id = sqlite3_column_int(s, 0),
            .gpus = sqlite3_column_int(s, 4),
            .iterations = sqlite3_column_int64(s, 5),
            .arrival = sqlite3_column_double(s, 6),
            .priority = sqlite3_column_int(s, 7),
            .submitted = sqlite3_column_int(s, 8) != 0,
            .cancelled = sqlite3_column_int(s, 9) != 0,
        };
        col_text(s, 1, a.name, sizeof a.name);
        col_text(s, 2, a.user, sizeof a.user);
        col_text(s, 3, a.model, sizeof a.model);
        col_text(s, 10, a.gpu_types, sizeof a.gpu_types);
        col_text(s, 11, a.tenant, sizeof a.tenant);
        out = fn(ctx, &a);
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = fail(st, err, "admin_jobs");
    sqlite3_finalize(s);
    return out;
}

int deploy_state_token(deploy_state_t *st, const struct deploy_state_token *t, struct err *err)
{
    sqlite3_stmt *s = st->token_put;
    sqlite3_bind_int(s, 1, t->job);
    sqlite3_bind_int(s, 2, t->attempt);
    sqlite3_bind_text(s, 3, t->token, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 4, t->prev_attempt);
    sqlite3_bind_text(s, 5, t->prev_token, -1, SQLITE_TRANSIENT);
    return step(st, s, err, "tokens");
}

int deploy_state_tokens_each(deploy_state_t *st,
                             int (*fn)(void *ctx, const struct deploy_state_token *t), void *ctx,
                             struct err *err)
{
    sqlite3_stmt *s = st->token_get;
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct deploy_state_token t = {.job = sqlite3_column_int(s, 0),
                                       .attempt = sqlite3_column_int(s, 1),
                                       .prev_attempt = sqlite3_column_int(s, 3)};
        const unsigned char *a = sqlite3_column_text(s, 2), *b = sqlite3_column_text(s, 4);
        snprintf(t.token, sizeof t.token, "%s", a ? (const char *)a : "");
        snprintf(t.prev_token, sizeof t.prev_token, "%s", b ? (const char *)b : "");
        out = fn(ctx, &t);
    }
    sqlite3_reset(s);
    if (out == 0 && rc != SQLITE_DONE)
        return fail(st, err, "tokens");
    return out;
}

int deploy_state_report(deploy_state_t *st, int job, int attempt, int rank, long steps,
                        struct err *err)
{
    sqlite3_stmt *s = st->report_put;
    sqlite3_bind_int(s, 1, job);
    sqlite3_bind_int(s, 2, attempt);
    sqlite3_bind_int(s, 3, rank);
    sqlite3_bind_int64(s, 4, steps);
    return step(st, s, err, "reports");
}

int deploy_state_reports_clear(deploy_state_t *st, int job, struct err *err)
{
    sqlite3_bind_int(st->report_del, 1, job);
    return step(st, st->report_del, err, "reports");
}

int deploy_state_reports_each(deploy_state_t *st,
                              int (*fn)(void *ctx, int job, int attempt, int rank, long steps),
                              void *ctx, struct err *err)
{
    sqlite3_stmt *s = st->report_get;
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
        out = fn(ctx, sqlite3_column_int(s, 0), sqlite3_column_int(s, 1),
                 sqlite3_column_int(s, 2), (long)sqlite3_column_int64(s, 3));
    sqlite3_reset(s);
    if (out == 0 && rc != SQLITE_DONE)
        return fail(st, err, "reports");
    return out;
}
