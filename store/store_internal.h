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

#endif
