/*
 * store: schema, migrations and writes of the results database (reads are in
 * store_query.c). The schema version lives in PRAGMA user_version; each entry
 * of `migrations` takes the file from version i to i+1 inside one
 * transaction, so a file is always at a version this code knows, and a file
 * from a newer synergy is refused rather than guessed at.
 */
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* migrations[i]: version i -> i+1. Append only; never edit a shipped entry. */
static const char *const migrations[] = {
    /* 0 -> 1: the initial schema (docs/results-schema.md) */
    "CREATE TABLE batches ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  command TEXT,"
    "  started_at TEXT NOT NULL);"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  batch_id INTEGER REFERENCES batches(id),"
    "  status TEXT NOT NULL CHECK (status IN ('running','complete','incomplete')),"
    "  pid INTEGER, host TEXT,"
    "  started_at TEXT NOT NULL, finished_at TEXT,"
    "  version TEXT NOT NULL,"
    "  policy TEXT NOT NULL, mode TEXT NOT NULL, placement TEXT NOT NULL,"
    "  workload TEXT NOT NULL, jobs_per_hour REAL,"
    "  split_image INTEGER, split_language INTEGER, split_speech INTEGER,"
    "  seed INTEGER NOT NULL, max_jobs INTEGER,"
    "  cluster TEXT NOT NULL, cluster_ini TEXT,"
    "  servers INTEGER, gpus_per_server INTEGER, cpus_per_server INTEGER,"
    "  mem_per_server INTEGER, gpus INTEGER,"
    "  models TEXT, profiles TEXT, round_duration_s REAL,"
    "  measure_lo INTEGER, measure_hi INTEGER, static INTEGER, stop_on_gap INTEGER,"
    "  jobs_arrived INTEGER, jobs_finished INTEGER, jobs_measured INTEGER,"
    "  window_size INTEGER, window_complete INTEGER,"
    "  avg_jct_s REAL, p50_jct_s REAL, p99_jct_s REAL, p999_jct_s REAL, max_jct_s REAL,"
    "  makespan_s REAL, end_time_s REAL, rounds INTEGER,"
    "  gpu_alloc REAL, cpu_alloc REAL, mem_alloc REAL, wall_s REAL);"
    "CREATE INDEX runs_batch ON runs(batch_id);"
    "CREATE TABLE jobs ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  job_id INTEGER NOT NULL, model TEXT NOT NULL, gpus INTEGER NOT NULL,"
    "  arrival_s REAL, first_start_s REAL, finish_s REAL, jct_s REAL, attained_s REAL,"
    "  rounds_run INTEGER, rounds_demoted INTEGER, preemptions INTEGER,"
    "  PRIMARY KEY (run_id, job_id)) WITHOUT ROWID;"
    "CREATE TABLE rounds ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  round INTEGER NOT NULL, t_s REAL NOT NULL,"
    "  runnable INTEGER, placed INTEGER, started INTEGER, preempted INTEGER, demoted INTEGER,"
    "  gpu_alloc REAL, cpu_alloc REAL, mem_alloc REAL,"
    "  gpu_util REAL, cpu_util REAL, mem_util REAL,"
    "  gpu_demand REAL, cpu_demand REAL, mem_demand REAL,"
    "  PRIMARY KEY (run_id, round)) WITHOUT ROWID;",
    /* 1 -> 2: a trace's arrival process, and Synergy-OPT's settings and counters */
    "ALTER TABLE runs ADD COLUMN arrival TEXT;"
    "ALTER TABLE runs ADD COLUMN opt_compat INTEGER;"
    "ALTER TABLE runs ADD COLUMN opt_time_limit_s REAL;"
    "ALTER TABLE runs ADD COLUMN opt_rounds INTEGER;"
    "ALTER TABLE runs ADD COLUMN opt_fallbacks INTEGER;"
    "ALTER TABLE runs ADD COLUMN opt_lowered INTEGER;"
    "ALTER TABLE runs ADD COLUMN opt_unplaced INTEGER;"
    "ALTER TABLE runs ADD COLUMN opt_packed INTEGER;"
    "ALTER TABLE runs ADD COLUMN opt_solve_mean_s REAL;"
    "ALTER TABLE runs ADD COLUMN opt_solve_max_s REAL;",
    /* 2 -> 3: a sweep run's grid fingerprint and point number (shards, merge) */
    "ALTER TABLE runs ADD COLUMN grid TEXT;"
    "ALTER TABLE runs ADD COLUMN point INTEGER;"
    "CREATE INDEX runs_grid_point ON runs(grid, point);",
    /* 3 -> 4: OPT rounds cut short by the wall-clock safety cap (docs/opt.md) */
    "ALTER TABLE runs ADD COLUMN opt_capped INTEGER;",
    /* 4 -> 5: clusters with GPU types (docs/heterogeneous.md): the placement, each
     * job's type, each type's results and per-round allocation */
    "ALTER TABLE runs ADD COLUMN hetero TEXT;"
    "ALTER TABLE jobs ADD COLUMN gpu_type TEXT;"
    "CREATE TABLE run_types ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  gpu_type TEXT NOT NULL, type_index INTEGER NOT NULL, gpus INTEGER, jobs INTEGER,"
    "  avg_jct_s REAL, p50_jct_s REAL, p99_jct_s REAL,"
    "  gpu_alloc REAL, cpu_alloc REAL, mem_alloc REAL,"
    "  PRIMARY KEY (run_id, gpu_type)) WITHOUT ROWID;"
    "CREATE TABLE round_types ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  round INTEGER NOT NULL, gpu_type TEXT NOT NULL,"
    "  gpu_alloc REAL, cpu_alloc REAL, mem_alloc REAL,"
    "  PRIMARY KEY (run_id, round, gpu_type)) WITHOUT ROWID;",
    /* 5 -> 6: runs with tenants (docs/tenants.md): each tenant's results */
    "CREATE TABLE run_tenants ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  tenant TEXT NOT NULL, tenant_index INTEGER NOT NULL, quota INTEGER, jobs INTEGER,"
    "  avg_jct_s REAL, p50_jct_s REAL, p99_jct_s REAL,"
    "  gpu_hours REAL, mean_gpus REAL, entitled_hours REAL,"
    "  PRIMARY KEY (run_id, tenant)) WITHOUT ROWID;",
    /* 6 -> 7: the GPUs each tenant held in each round (the allocation plot) */
    "CREATE TABLE round_tenants ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  round INTEGER NOT NULL, tenant_index INTEGER NOT NULL, gpus INTEGER,"
    "  PRIMARY KEY (run_id, round, tenant_index)) WITHOUT ROWID;",
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])
_Static_assert(N_MIGRATIONS == STORE_SCHEMA_VERSION, "one migration per schema version");

int store__fail(store_t *st, struct err *err, const char *what)
{
    return errprintf(err, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

int store__exec(store_t *st, const char *sql, struct err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        errprintf(err, "%s: %s", st->path, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static void utc_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int migrate(store_t *st, struct err *err)
{
    /* BEGIN IMMEDIATE: two processes opening a fresh file must not both migrate */
    if (store__exec(st, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK) {
        store__fail(st, err, "reading the schema version");
        goto rollback;
    }
    int version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    if (version > STORE_SCHEMA_VERSION) {
        errprintf(err, "%s: schema version %d is newer than this synergy's (%d); upgrade synergy",
                  st->path, version, STORE_SCHEMA_VERSION);
        goto rollback;
    }
    for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
        if (store__exec(st, migrations[v], err) < 0)
            goto rollback;
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (store__exec(st, sql, err) < 0)
            goto rollback;
    }
    return store__exec(st, "COMMIT", err);
rollback:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

store_t *store_open(const char *path, struct err *err)
{
    store_t *st = xcalloc(1, sizeof *st);
    st->path = xstrdup(path);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        errprintf(err, "%s: cannot open: %s", path,
                  st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto error;
    }
    /* Concurrent writers (sweep workers) wait for each other instead of failing. */
    sqlite3_busy_timeout(st->db, 60000);
    if (store__exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                        "PRAGMA foreign_keys = ON;", err) < 0)
        goto error;
    if (migrate(st, err) < 0)
        goto error;
    if (gethostname(st->host, sizeof st->host - 1) < 0)
        strcpy(st->host, "?");
    if (store_runs_reap(st, err) < 0)
        goto error;
    return st;
error:
    store_close(st);
    return NULL;
}

void store_close(store_t *st)
{
    if (!st)
        return;
    int saved = errno;
    sqlite3_close(st->db);
    free(st->path);
    free(st);
    errno = saved;
}

int64_t store_batch_insert(store_t *st, const char *kind, const char *command, struct err *err)
{
    sqlite3_stmt *s;
    char now[32];
    utc_now(now, sizeof now);
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO batches(kind, command, started_at) VALUES (?,?,?)", -1,
                           &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "adding a batch");
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, command, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, now, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store__fail(st, err, "adding a batch");
    return sqlite3_last_insert_rowid(st->db);
}

int store_run_insert(store_t *st, struct store_run *run, struct err *err)
{
    static const char sql[] =
        "INSERT INTO runs(batch_id, status, pid, host, started_at, version, policy, mode,"
        " placement, workload, jobs_per_hour, split_image, split_language, split_speech, seed,"
        " max_jobs, cluster, cluster_ini, servers, gpus_per_server, cpus_per_server,"
        " mem_per_server, gpus, models, profiles, round_duration_s, measure_lo, measure_hi,"
        " static, stop_on_gap, arrival, opt_compat, opt_time_limit_s, grid, point, hetero)"
        " VALUES (?1,'running',?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,"
        "?20,?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,?35)";
    sqlite3_stmt *s;
    utc_now(run->started_at, sizeof run->started_at);
    if (!run->version[0])
        snprintf(run->version, sizeof run->version, "%s", SYNERGY_VERSION);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "adding a run");
    int i = 1;
    if (run->batch_id > 0)
        sqlite3_bind_int64(s, i, run->batch_id);
    i++;
    sqlite3_bind_int64(s, i++, (int64_t)getpid());
    sqlite3_bind_text(s, i++, st->host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, i++, run->started_at, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, i++, run->version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, i++, run->policy, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, i++, run->mode, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, i++, run->placement, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, i++, run->workload, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, i++, run->jobs_per_hour);
    for (int k = 0; k < 3; k++)
        sqlite3_bind_int(s, i++, run->split[k]);
    sqlite3_bind_int64(s, i++, (int64_t)run->seed);
    sqlite3_bind_int64(s, i++, run->max_jobs);
    sqlite3_bind_text(s, i++, run->cluster, -1, SQLITE_TRANSIENT);
    if (run->cluster_ini)
        sqlite3_bind_text(s, i, run->cluster_ini, -1, SQLITE_TRANSIENT);
    i++;
    sqlite3_bind_int(s, i++, run->servers);
    sqlite3_bind_int(s, i++, run->gpus_per_server);
    sqlite3_bind_int(s, i++, run->cpus_per_server);
    sqlite3_bind_int(s, i++, run->mem_per_server);
    sqlite3_bind_int(s, i++, run->gpus);
    sqlite3_bind_text(s, i++, run->models, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, i++, run->profiles, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, i++, run->round_duration);
    sqlite3_bind_int64(s, i++, run->measure_lo);
    sqlite3_bind_int64(s, i++, run->measure_hi);
    sqlite3_bind_int(s, i++, run->is_static);
    sqlite3_bind_int(s, i++, run->stop_on_gap);
    if (run->arrival[0])
        sqlite3_bind_text(s, i, run->arrival, -1, SQLITE_TRANSIENT);
    i++;
    sqlite3_bind_int(s, i++, run->opt_compat);
    sqlite3_bind_double(s, i++, run->opt_time_limit_s);
    if (run->grid[0]) {
        sqlite3_bind_text(s, i, run->grid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, i + 1, run->point);
    }
    i += 2;
    if (run->hetero[0])
        sqlite3_bind_text(s, i, run->hetero, -1, SQLITE_TRANSIENT);
    i++;
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store__fail(st, err, "adding a run");
    run->id = sqlite3_last_insert_rowid(st->db);
    snprintf(run->status, sizeof run->status, "running");
    return 0;
}

/* NaN (no measured job) is stored as NULL. */
static void bind_real(sqlite3_stmt *s, int i, double v)
{
    if (v == v)
        sqlite3_bind_double(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

static int insert_jobs(store_t *st, int64_t run_id, const struct store_job *jobs, size_t n,
                       struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO jobs VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                           -1,
                           &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "writing jobs");
    for (size_t k = 0; k < n; k++) {
        const struct store_job *j = &jobs[k];
        sqlite3_bind_int64(s, 1, run_id);
        sqlite3_bind_int(s, 2, j->id);
        sqlite3_bind_text(s, 3, j->model, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 4, j->gpus);
        bind_real(s, 5, j->arrival);
        bind_real(s, 6, j->first_start);
        bind_real(s, 7, j->finish);
        bind_real(s, 8, j->jct);
        bind_real(s, 9, j->attained);
        sqlite3_bind_int(s, 10, j->rounds_run);
        sqlite3_bind_int(s, 11, j->rounds_demoted);
        sqlite3_bind_int(s, 12, j->preemptions);
        if (j->gpu_type[0])
            sqlite3_bind_text(s, 13, j->gpu_type, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 13);
        if (sqlite3_step(s) != SQLITE_DONE) {
            sqlite3_finalize(s);
            return store__fail(st, err, "writing jobs");
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return 0;
}

static int insert_rounds(store_t *st, int64_t run_id, const struct store_round *rounds, size_t n,
                         struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO rounds VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,"
                           "?13,?14,?15,?16,?17)",
                           -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "writing rounds");
    for (size_t k = 0; k < n; k++) {
        const struct store_round *r = &rounds[k];
        sqlite3_bind_int64(s, 1, run_id);
        sqlite3_bind_int64(s, 2, (int64_t)k);
        sqlite3_bind_double(s, 3, r->t);
        sqlite3_bind_int64(s, 4, r->runnable);
        sqlite3_bind_int64(s, 5, r->placed);
        sqlite3_bind_int64(s, 6, r->started);
        sqlite3_bind_int64(s, 7, r->preempted);
        sqlite3_bind_int64(s, 8, r->demoted);
        for (int q = 0; q < 3; q++) {
            sqlite3_bind_double(s, 9 + q, r->alloc[q]);
            sqlite3_bind_double(s, 12 + q, r->util[q]);
            sqlite3_bind_double(s, 15 + q, r->demand[q]);
        }
        if (sqlite3_step(s) != SQLITE_DONE) {
            sqlite3_finalize(s);
            return store__fail(st, err, "writing rounds");
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return 0;
}

static int update_summary(store_t *st, const struct store_run *r, struct err *err)
{
    static const char sql[] =
        "UPDATE runs SET status='complete', finished_at=?2, jobs_arrived=?3, jobs_finished=?4,"
        " jobs_measured=?5, window_size=?6, window_complete=?7, avg_jct_s=?8, p50_jct_s=?9,"
        " p99_jct_s=?10, p999_jct_s=?11, max_jct_s=?12, makespan_s=?13, end_time_s=?14,"
        " rounds=?15, gpu_alloc=?16, cpu_alloc=?17, mem_alloc=?18, wall_s=?19,"
        " opt_rounds=?20, opt_fallbacks=?21, opt_lowered=?22, opt_unplaced=?23, opt_packed=?24,"
        " opt_solve_mean_s=?25, opt_solve_max_s=?26, opt_capped=?27"
        " WHERE id=?1 AND status='running'";
    sqlite3_stmt *s;
    char now[32];
    utc_now(now, sizeof now);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "completing a run");
    sqlite3_bind_int64(s, 1, r->id);
    sqlite3_bind_text(s, 2, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, r->jobs_arrived);
    sqlite3_bind_int64(s, 4, r->jobs_finished);
    sqlite3_bind_int64(s, 5, r->jobs_measured);
    sqlite3_bind_int64(s, 6, r->window_size);
    sqlite3_bind_int(s, 7, r->window_complete);
    bind_real(s, 8, r->avg_jct_s);
    bind_real(s, 9, r->p50_jct_s);
    bind_real(s, 10, r->p99_jct_s);
    bind_real(s, 11, r->p999_jct_s);
    bind_real(s, 12, r->max_jct_s);
    bind_real(s, 13, r->makespan_s);
    bind_real(s, 14, r->end_time_s);
    sqlite3_bind_int64(s, 15, r->rounds);
    bind_real(s, 16, r->gpu_alloc);
    bind_real(s, 17, r->cpu_alloc);
    bind_real(s, 18, r->mem_alloc);
    bind_real(s, 19, r->wall_s);
    sqlite3_bind_int64(s, 20, r->opt_rounds);
    sqlite3_bind_int64(s, 21, r->opt_fallbacks);
    sqlite3_bind_int64(s, 22, r->opt_lowered);
    sqlite3_bind_int64(s, 23, r->opt_unplaced);
    sqlite3_bind_int64(s, 24, r->opt_packed);
    bind_real(s, 25, r->opt_solve_mean_s);
    bind_real(s, 26, r->opt_solve_max_s);
    sqlite3_bind_int64(s, 27, r->opt_capped);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store__fail(st, err, "completing a run");
    if (sqlite3_changes(st->db) != 1)
        return errprintf(err, "%s: run %lld is no longer running (marked incomplete?)", st->path,
                         (long long)r->id);
    return 0;
}

int store_run_complete(store_t *st, const struct store_run *run, const struct store_job *jobs,
                       size_t n_jobs, const struct store_round *rounds, size_t n_rounds,
                       struct err *err)
{
    if (store__exec(st, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    if (insert_jobs(st, run->id, jobs, n_jobs, err) < 0 ||
        insert_rounds(st, run->id, rounds, n_rounds, err) < 0 || update_summary(st, run, err) < 0 ||
        store__insert_types(st, run, rounds, n_rounds, err) < 0 ||
        store__insert_tenants(st, run, rounds, n_rounds, err) < 0 ||
        store__exec(st, "COMMIT", err) < 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

int store_run_abandon(store_t *st, int64_t id, struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "UPDATE runs SET status='incomplete' WHERE id=? AND status='running'",
                           -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "marking a run incomplete");
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : store__fail(st, err, "marking a run incomplete");
}

int store_runs_reap(store_t *st, struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT id, pid FROM runs WHERE status='running' AND host=?",
                           -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "looking for abandoned runs");
    sqlite3_bind_text(s, 1, st->host, -1, SQLITE_STATIC);
    int64_t *dead = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        pid_t pid = (pid_t)sqlite3_column_int64(s, 1);
        if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH) {
            xgrow((void **)&dead, &cap, n + 1, sizeof *dead);
            dead[n++] = sqlite3_column_int64(s, 0);
        }
    }
    sqlite3_finalize(s);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = store_run_abandon(st, dead[i], err);
    free(dead);
    return rc;
}
