/*
 * The sweep grid (sweep/grid.c), from hand-worked grids: its points in their
 * fixed order (cluster, split, load heaviest first, seed, policy, mode), each
 * numbered by its place; shard K/N keeps the points K-1, K-1+N, ...; the
 * experiment file's errors name file, line and key; the grid's checks name
 * the keys that do not fit together; and the fingerprint ignores how a grid
 * is run (shard, workers, db) but not what it computes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sweep.h"

static void grid(struct sweep_grid *g)
{
    sweep_grid_defaults(g, SYNERGY_SOURCE_DIR "/configs/default_cluster.ini",
                        SYNERGY_SOURCE_DIR "/configs/models.ini");
}

static void set(struct sweep_grid *g, const char *key, const char *value)
{
    struct err err = {{0}};
    assert_int_equal(sweep_grid_set(g, key, value, &err), 0);
}

/* 2 loads x 2 policies x 2 modes: 8 points, the 9 jobs/h load first */
static void points_in_order(void **state)
{
    (void)state;
    struct sweep_grid *g = malloc(sizeof *g);
    grid(g);
    set(g, "loads", "4, 9");
    set(g, "policies", "FIFO,LAS");
    size_t n;
    struct sweep_point *p = sweep_grid_points(g, &n);
    assert_int_equal(n, 8);
    /* load index 1 (9/h) before load index 0 (4/h); policy before mode */
    static const int want[8][3] = {{1, 0, 0}, {1, 0, 1}, {1, 1, 0}, {1, 1, 1},
                                   {0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1}};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(p[i].index, (long)i);
        assert_int_equal(p[i].load, want[i][0]);
        assert_int_equal(p[i].policy, want[i][1]);
        assert_int_equal(p[i].mode, want[i][2]);
        assert_int_equal(p[i].cluster, 0);
        assert_int_equal(p[i].seed, 0);
    }
    free(p);
    /* shard 3/4: points 2 and 6 */
    set(g, "shard", "3/4");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sweep_grid_in_shard(g, i), i == 2 || i == 6);
    free(g);
}

static int load_text(struct sweep_grid *g, const char *text, struct err *err)
{
    char path[] = "/tmp/synergy-sweep-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    grid(g);
    int rc = sweep_grid_load(g, path, err);
    unlink(path);
    return rc;
}

static void file_errors(void **state)
{
    (void)state;
    struct sweep_grid *g = malloc(sizeof *g);
    struct err err = {{0}};
    assert_int_equal(load_text(g, "[sweep]\nmodes = fair, tune, opt\nseeds = 1,2,3\n", &err), 0);
    assert_int_equal(g->n_modes, 3);
    assert_int_equal(g->n_seeds, 3);
    assert_int_equal(load_text(g, "[sweep]\npolicies = FIFO\npolicies = FIFOO\n", &err), -1);
    assert_non_null(strstr(err.msg, ":3: "));
    assert_non_null(strstr(err.msg, "FIFOO"));
    assert_int_equal(load_text(g, "[sweep]\nseeds = 1, 2, 1\n", &err), -1);
    assert_non_null(strstr(err.msg, ":2: seeds: seed 1 given twice"));
    assert_int_equal(load_text(g, "[other]\nx = 1\n", &err), -1);
    assert_non_null(strstr(err.msg, ":2: unknown section [other]"));
    assert_int_equal(load_text(g, "[sweep]\nshard = 5/4\n", &err), -1);
    assert_non_null(strstr(err.msg, ":2: shard:"));
    free(g);
}

static void checks(void **state)
{
    (void)state;
    struct sweep_grid *g = malloc(sizeof *g);
    struct err err = {{0}};
    grid(g);
    assert_int_equal(sweep_grid_check(g, &err), 0);
    set(g, "static", "yes");
    assert_int_equal(sweep_grid_check(g, &err), -1);
    assert_string_equal(err.msg, "static and stop_on_gap need a trace (--trace)");
    grid(g);
    set(g, "opt_compat", "yes");
    assert_int_equal(sweep_grid_check(g, &err), -1);
    assert_string_equal(err.msg, "opt_compat applies to the opt mode only (modes: opt)");
    set(g, "modes", "tune,opt");
    assert_int_equal(sweep_grid_check(g, &err), 0);
    /* 32 clusters x 2 splits x 32 loads x 32 seeds x 7 policies x 4 modes */
    grid(g);
    char clusters[32 * 8], loads[32 * 4], seeds[32 * 4];
    size_t c = 0, l = 0, s = 0;
    for (int i = 0; i < 32; i++) {
        c += (size_t)snprintf(clusters + c, sizeof clusters - c, "%sc%d", i ? "," : "", i);
        l += (size_t)snprintf(loads + l, sizeof loads - l, "%s%d", i ? "," : "", i + 1);
        s += (size_t)snprintf(seeds + s, sizeof seeds - s, "%s%d", i ? "," : "", i);
    }
    set(g, "clusters", clusters);
    set(g, "splits", "50,50,0; 0,50,50");
    set(g, "loads", loads);
    set(g, "seeds", seeds);
    set(g, "policies", "FIFO,SRTF,LAS,FTF,DRF,TETRIS,SRSF");
    set(g, "modes", "fair,greedy,tune,opt");
    assert_int_equal(sweep_grid_check(g, &err), -1);
    assert_string_equal(err.msg, "the grid has 1835008 points (clusters x splits x loads x seeds "
                                 "x policies x modes); at most 1000000");
    set(g, "seeds", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"); /* 974848 */
    assert_int_equal(sweep_grid_check(g, &err), 0);
    free(g);
}

static void fingerprint(void **state)
{
    (void)state;
    struct sweep_grid *g = malloc(sizeof *g);
    char a[17], b[17];
    grid(g);
    sweep_grid_fingerprint(g, a);
    assert_int_equal(strlen(a), 16);
    set(g, "shard", "2/3");
    set(g, "workers", "3");
    set(g, "db", "elsewhere.db");
    sweep_grid_fingerprint(g, b);
    assert_string_equal(a, b);
    set(g, "loads", "5");
    sweep_grid_fingerprint(g, b);
    assert_string_not_equal(a, b);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(points_in_order),
        cmocka_unit_test(file_errors),
        cmocka_unit_test(checks),
        cmocka_unit_test(fingerprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
