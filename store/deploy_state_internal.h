/*
 * Internals of store/deploy_state: the handle, shared by the statements
 * (deploy_state.c) and the opening of the file (deploy_state_file.c: the
 * lock, the checks, the schema version and its migrations).
 */
#ifndef SYNERGY_DEPLOY_STATE_INTERNAL_H
#define SYNERGY_DEPLOY_STATE_INTERNAL_H

#include <sqlite3.h>

#include "deploy_state.h"

struct deploy_state {
    sqlite3 *db;
    char *path;
    int lock_fd; /* flock'd FILE.lock, held until close; -1 none (":memory:", "") */
    /* a round's transaction (deploy_state_begin): open, and the first write
     * that failed in it (the commit then rolls back instead) */
    bool txn;
    char txn_err[400];
    sqlite3_stmt *worker, *job, *lease, *count, *count_all, *round;
    sqlite3_stmt *run_put, *run_get, *saved_put, *saved_get, *rank_del, *rank_put, *rank_get,
        *attempt_put, *token_put, *token_get, *report_put, *report_del, *report_get;
};

/* The schema version this code writes (PRAGMA user_version). */
#define DEPLOY_STATE_VERSION 3

/* Take the lock, check the file, open it, bring its schema to
 * DEPLOY_STATE_VERSION (deploy_state_file.c). 0 or -1 + err. */
int deploy_state__open_file(deploy_state_t *st, const char *path, struct err *err);
/* Release the lock (after the database is closed). */
void deploy_state__unlock(deploy_state_t *st);

#endif
