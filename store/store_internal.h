/*
 * store internals shared by store.c (schema, writes) and store_query.c (reads).
 */
#ifndef SYNERGY_STORE_INTERNAL_H
#define SYNERGY_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

struct store {
    sqlite3 *db;
    char *path;
    char host[256];
};

/* errprintf "<path>: <what>: <sqlite message>"; returns -1. */
int store__fail(store_t *st, struct err *err, const char *what);
/* Run SQL without results; -1 with err on failure. */
int store__exec(store_t *st, const char *sql, struct err *err);
/* A typed run's run_types and round_types rows (store_types.c; nothing for an
 * untyped run). 0 or -1 with err, inside the caller's transaction. */
int store__insert_types(store_t *st, const struct store_run *run,
                        const struct store_round *rounds, size_t n_rounds, struct err *err);
/* store_tenants.c: a run's tenants (run_tenants; none without tenants). */
int store__insert_tenants(store_t *st, const struct store_run *run,
                          const struct store_round *rounds, size_t n_rounds, struct err *err);

#endif
