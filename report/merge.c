/*
 * report: merging sharded sweep databases into one (`synergy report --merge`).
 * Every source is checked before anything is written: all runs must come
 * from one sweep grid (the destination's, if it has runs). Then each shard's
 * complete runs are copied in its own transaction (store_merge), skipping
 * runs the destination already has, so a merge can be re-run after a shard
 * is re-done, or repeated, without duplicates.
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* errprintf for bad input: -2. */
static int refuse(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -2;
}

int report_merge(const char *dst_path, const char *const *srcs, size_t n, FILE *out,
                 struct err *err)
{
    char grid[17] = "", g[17];
    const char *grid_from = NULL;
    if (access(dst_path, F_OK) == 0) {
        if (store_sweep_grid(dst_path, grid, err) < 0)
            return -2;
        grid_from = dst_path;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(srcs[i], dst_path) == 0)
            return refuse(err, "%s: is also the destination (--db)", srcs[i]);
        if (access(srcs[i], R_OK) != 0)
            return refuse(err, "%s: no such shard database", srcs[i]);
        if (store_sweep_grid(srcs[i], g, err) < 0)
            return -2;
        if (!g[0]) {
            continue;
        } else if (!grid[0]) {
            memcpy(grid, g, sizeof grid);
            grid_from = srcs[i];
        } else if (strcmp(grid, g) != 0) {
            return refuse(err, "%s: runs of sweep grid %s, but %s holds grid %s: shards of "
                                  "different grids are not merged",
                             srcs[i], g, grid_from, grid);
        }
    }
    store_t *st = store_open(dst_path, err);
    if (!st)
        return -1;
    struct store_merge_stats tot = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct store_merge_stats s;
        rc = store_merge(st, srcs[i], &s, err);
        if (rc < 0)
            break;
        fprintf(out, "%s: %ld runs added, %ld already there, %ld not complete (left out)\n",
                srcs[i], s.added, s.present, s.skipped);
        tot.added += s.added;
        tot.present += s.present;
        tot.skipped += s.skipped;
    }
    if (rc == 0)
        fprintf(out, "merged %zu shard%s of grid %s into %s: %ld runs added, %ld already there\n",
                n, n == 1 ? "" : "s", grid[0] ? grid : "-", dst_path, tot.added, tot.present);
    store_close(st);
    return rc;
}
