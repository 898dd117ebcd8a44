/*
 * Opening the deployment's state file (deploy_state.h), before anything in it
 * is trusted:
 *  - one scheduler per file: an exclusive flock on FILE.lock beside it, held
 *    until the handle is closed (the kernel drops it when the process dies,
 *    SIGKILL included); the holder writes its PID into it, so a second
 *    scheduler can say who holds the file. A lock file, not SQLite's
 *    exclusive locking mode, so that readers (sqlite3, report, tests) can
 *    still look at a live run. Not for network file systems whose flock is
 *    local to one host.
 *  - a file that exists must be a state file: an empty one (a crash of some
 *    copy or editor, a wrong path) is refused, never taken for a new run, and
 *    PRAGMA quick_check must answer ok (a torn or corrupt page is refused,
 *    not overwritten).
 *  - its schema version lives in PRAGMA user_version; migrations[i] takes a
 *    file from version i to i+1 inside one transaction, like the results
 *    database (store.c), and a file from a newer synergy is refused.
 *  - synchronous=FULL in WAL mode: a commit returns once the WAL is on disk,
 *    so what the scheduler acknowledged survives a power loss, not only a
 *    crash of the process (NORMAL may lose the last commits). It costs
 *    about 6 fdatasync calls a round with the WAL checkpoints (40 in a
 *    7-round run, 171 us each here: docs/deploy.md).
 */
#include "deploy_state_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* migrations[i]: version i -> i+1. Append only; never edit a shipped entry. */
static const char *const migrations[] = {
    /* 0 -> 1: the tables of the state files written before they had a
     * version (IF NOT EXISTS: such a file has them already) */
    "CREATE TABLE IF NOT EXISTS workers(server INTEGER PRIMARY KEY, ip TEXT, port INTEGER,"
    " state TEXT, gpus INTEGER, updated REAL);"
    "CREATE TABLE IF NOT EXISTS jobs(id INTEGER PRIMARY KEY, model TEXT, state TEXT,"
    " attempt INTEGER, executed INTEGER, total INTEGER, arrival REAL, finish REAL);"
    "CREATE TABLE IF NOT EXISTS leases(job INTEGER, attempt INTEGER, server INTEGER, gpus TEXT,"
    " cpus REAL, mem REAL, t REAL, t_end REAL, state TEXT,"
    " PRIMARY KEY(job, attempt, server, t));"
    /* what a restarted scheduler continues from (deploy_state.h) */
    "CREATE TABLE IF NOT EXISTS run(id INTEGER PRIMARY KEY CHECK(id = 1), args TEXT,"
    " finished INTEGER, t0_real REAL, b REAL, next_arrival INTEGER, rounds INTEGER,"
    " util0 REAL, util1 REAL, util2 REAL, stats TEXT);"
    "CREATE TABLE IF NOT EXISTS saved_jobs(id INTEGER PRIMARY KEY, state INTEGER,"
    " attempt INTEGER, crashes INTEGER, terminated INTEGER, executed INTEGER,"
    " round_base INTEGER, attained REAL, priority INTEGER, last_exec REAL, first_start REAL,"
    " finish REAL, failed INTEGER, rounds_run INTEGER, rounds_demoted INTEGER,"
    " preemptions INTEGER, placed_last INTEGER, runnable_rank INTEGER, lease_t REAL);"
    "CREATE TABLE IF NOT EXISTS saved_ranks(job INTEGER, rank INTEGER, server INTEGER,"
    " gpus TEXT, cpus INTEGER, mem REAL, share_gpu REAL, share_cpu REAL, share_mem REAL,"
    " share_sspeed REAL, PRIMARY KEY(job, rank));"
    "CREATE TABLE IF NOT EXISTS attempts(job INTEGER, attempt INTEGER, launched REAL,"
    " startup_s REAL, PRIMARY KEY(job, attempt));"
    /* each job's current and previous attempt's token (deploy_state_token) */
    "CREATE TABLE IF NOT EXISTS tokens(job INTEGER PRIMARY KEY, attempt INTEGER, token TEXT,"
    " prev_attempt INTEGER, prev_token TEXT);"
    "CREATE TABLE IF NOT EXISTS rounds(n INTEGER PRIMARY KEY, t REAL, done INTEGER);"
    /* each planned round's sample, for deploy --db (deploy_state_sample) */
    "CREATE TABLE IF NOT EXISTS samples(t REAL PRIMARY KEY, runnable INTEGER, placed INTEGER,"
    " started INTEGER, preempted INTEGER, demoted INTEGER, alloc0 REAL, alloc1 REAL,"
    " alloc2 REAL, util0 REAL, util1 REAL, util2 REAL, demand0 REAL, demand1 REAL,"
    " demand2 REAL);"
    /* online submissions and cancellations (admin service) */
    "CREATE TABLE IF NOT EXISTS admin_jobs(id INTEGER PRIMARY KEY, name TEXT, user TEXT,"
    " model TEXT, gpus INTEGER, iterations INTEGER, arrival REAL, priority INTEGER,"
    " submitted INTEGER, cancelled INTEGER, gpu_types TEXT);",
    /* 1 -> 2 (issue 20): a running lease's iterator processes; the plan
     * log's length at the last commit (-1: none); completion reports, stored
     * before they are acknowledged */
    "ALTER TABLE saved_jobs ADD COLUMN procs INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE run ADD COLUMN plan_log_bytes INTEGER NOT NULL DEFAULT -1;"
    "CREATE TABLE reports(job INTEGER, attempt INTEGER, rank INTEGER, steps INTEGER);",
    /* 2 -> 3 (issue 25): an online submission's tenant ("" without tenants) */
    "ALTER TABLE admin_jobs ADD COLUMN tenant TEXT NOT NULL DEFAULT '';",
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])
_Static_assert(N_MIGRATIONS == DEPLOY_STATE_VERSION, "one migration per schema version");

static int lock_file(deploy_state_t *st, const char *path, struct err *err)
{
    char lp[4200];
    snprintf(lp, sizeof lp, "%s.lock", path);
    st->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock_fd < 0)
        return errprintf(err, "%s: %s", lp, strerror(errno));
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(st->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            return errprintf(err, "%s: in use by another scheduler (pid %s, lock %s): one "
                                  "scheduler per state file",
                             path, pid[0] ? pid : "not written yet", lp);
        return errprintf(err, "%s: flock: %s", lp, strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(st->lock_fd, 0) < 0 || pwrite(st->lock_fd, pid, (size_t)n, 0) != n)
        return errprintf(err, "%s: %s", lp, strerror(errno));
    return 0;
}

void deploy_state__unlock(deploy_state_t *st)
{
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* drops the flock */
    st->lock_fd = -1;
}

static int pragma_int(deploy_state_t *st, const char *sql, int *out)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* An existing file must read back whole: PRAGMA quick_check. */
static int check_file(deploy_state_t *st, const char *path, struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "PRAGMA quick_check(1)", -1, &s, NULL) != SQLITE_OK)
        return errprintf(err, "%s: not a usable state file (%s): not replaced; restore a copy, "
                              "or remove it to start a new run",
                         path, sqlite3_errmsg(st->db));
    int rc = sqlite3_step(s);
    const unsigned char *t = rc == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
    char res[200];
    snprintf(res, sizeof res, "%s", t ? (const char *)t : sqlite3_errmsg(st->db));
    sqlite3_finalize(s);
    if (rc == SQLITE_ROW && strcmp(res, "ok") == 0)
        return 0;
    /* "*** in database main ***\nPage 4: ...": the page's line */
    char *nl = strchr(res, '\n');
    if (nl && strncmp(res, "***", 3) == 0)
        memmove(res, nl + 1, strlen(nl + 1) + 1);
    res[strcspn(res, "\n")] = '\0';
    return errprintf(err, "%s: corrupt (PRAGMA quick_check: %s): not replaced; restore a copy, "
                          "or remove it to start a new run",
                     path, res);
}

/* Version 0 files differ: admin_jobs gained gpu_types before versions did.
 * Version 1 has it. */
static int fix_unversioned(deploy_state_t *st)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM pragma_table_info('admin_jobs')"
                                   " WHERE name = 'gpu_types'",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    int have = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_finalize(s);
    if (have < 0)
        return -1;
    if (have)
        return 0;
    return sqlite3_exec(st->db, "ALTER TABLE admin_jobs ADD COLUMN gpu_types TEXT", NULL, NULL,
                        NULL) == SQLITE_OK ? 0 : -1;
}

static int migrate(deploy_state_t *st, const char *path, struct err *err)
{
    /* BEGIN IMMEDIATE: the version is read and raised under the write lock */
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return errprintf(err, "%s: %s", path, sqlite3_errmsg(st->db));
    int version;
    if (pragma_int(st, "PRAGMA user_version", &version) < 0) {
        errprintf(err, "%s: reading the schema version: %s", path, sqlite3_errmsg(st->db));
        goto rollback;
    }
    if (version > DEPLOY_STATE_VERSION) {
        errprintf(err, "%s: state file version %d is newer than this synergy's (%d): run it "
                       "with the synergy that wrote it, or use another --state",
                  path, version, DEPLOY_STATE_VERSION);
        goto rollback;
    }
    for (int v = version; v < DEPLOY_STATE_VERSION; v++) {
        char *msg = NULL;
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(st->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            (v == 0 && fix_unversioned(st) < 0) ||
            sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
            errprintf(err, "%s: migrating the state file from version %d: %s", path, v,
                      msg ? msg : sqlite3_errmsg(st->db));
            sqlite3_free(msg);
            goto rollback;
        }
    }
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    errprintf(err, "%s: %s", path, sqlite3_errmsg(st->db));
rollback:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int deploy_state__open_file(deploy_state_t *st, const char *path, struct err *err)
{
    /* ":memory:", or "": a private temporary file SQLite deletes itself */
    bool mem = !path[0] || strcmp(path, ":memory:") == 0;
    struct stat sb;
    bool existed = !mem && stat(path, &sb) == 0;
    if (!mem && lock_file(st, path, err) < 0)
        return -1;
    if (existed && sb.st_size == 0)
        return errprintf(err, "%s: empty (0 bytes), not a state file: not replaced; remove it "
                              "to start a new run",
                         path);
    if (sqlite3_open(path, &st->db) != SQLITE_OK)
        return errprintf(err, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
    sqlite3_busy_timeout(st->db, 2000);
    if (existed && check_file(st, path, err) < 0)
        return -1;
    char *msg = NULL;
    if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     &msg) != SQLITE_OK) {
        errprintf(err, "%s: %s", path, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return migrate(st, path, err);
}
