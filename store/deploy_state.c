/*
 * SQLite persistence of the deployment state (see deploy_state.h). Prepared
 * statements, upserts keyed on the natural ids, WAL so readers can look at a
 * live run.
 */
#include "deploy_state.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct deploy_state {
    sqlite3 *db;
    sqlite3_stmt *worker, *job, *lease, *count, *count_all, *round;
};

static const char *schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS workers(server INTEGER PRIMARY KEY, ip TEXT, port INTEGER,"
    " state TEXT, gpus INTEGER, updated REAL);"
    "CREATE TABLE IF NOT EXISTS jobs(id INTEGER PRIMARY KEY, model TEXT, state TEXT,"
    " attempt INTEGER, executed INTEGER, total INTEGER, arrival REAL, finish REAL);"
    "CREATE TABLE IF NOT EXISTS leases(job INTEGER, attempt INTEGER, server INTEGER, gpus TEXT,"
    " cpus REAL, mem REAL, t REAL, t_end REAL, state TEXT,"
    " PRIMARY KEY(job, attempt, server, t));"
    "CREATE TABLE IF NOT EXISTS rounds(n INTEGER PRIMARY KEY, t REAL);";

static int fail(deploy_state_t *st, struct err *err, const char *what)
{
    return errprintf(err, "sqlite: %s: %s", what, sqlite3_errmsg(st->db));
}

deploy_state_t *deploy_state_open(const char *path, struct err *err)
{
    deploy_state_t *st = xcalloc(1, sizeof *st);
    if (sqlite3_open(path, &st->db) != SQLITE_OK) {
        errprintf(err, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
        goto error;
    }
    sqlite3_busy_timeout(st->db, 2000);
    char *msg = NULL;
    if (sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        errprintf(err, "%s: %s", path, msg ? msg : "schema");
        sqlite3_free(msg);
        goto error;
    }
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
        sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO rounds VALUES(?1,?2)", -1, &st->round,
                           NULL) != SQLITE_OK) {
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
    sqlite3_close(st->db);
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
    return exec(st, "BEGIN", err);
}

int deploy_state_commit(deploy_state_t *st, struct err *err)
{
    return exec(st, "COMMIT", err);
}

static int step(deploy_state_t *st, sqlite3_stmt *s, struct err *err, const char *what)
{
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

int deploy_state_round(deploy_state_t *st, long n, double t, struct err *err)
{
    sqlite3_bind_int64(st->round, 1, n);
    sqlite3_bind_double(st->round, 2, t);
    int rc = sqlite3_step(st->round);
    sqlite3_reset(st->round);
    if (rc != SQLITE_DONE)
        return fail(st, err, "round");
    return 0;
}
