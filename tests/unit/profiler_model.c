/* The profiler's arithmetic against hand-computed values: the reference's
 * CPU search, the measured curve, the memory model (spec §4) and the profile
 * built from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "profiler.h"

#define near(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9 * (fabs((double)(b)) > 1 ? fabs((double)(b)) : 1))

static void test_memory_model(void **state)
{
    (void)state;
    /* half of 10 GB cached at 10 GB/s, half from disk at 0.1 GB/s: 0.5 + 50 s */
    near(prof_epoch_time(20, 0.5, 10, 10, 0.1), 50.5);
    near(prof_epoch_time(100, 0.5, 10, 10, 0.1), 100); /* compute-bound */
    near(prof_epoch_time(0.2, 1, 10, 10, 0.1), 1);      /* all cached: 10 / 10 */
    near(prof_epoch_time(0.2, 0, 10, 10, 0.1), 100);    /* nothing cached: 10 / 0.1 */
    near(prof_epoch_time(0.2, 1.7, 10, 10, 0.1), 1);    /* m clamped to 1 */
    near(prof_epoch_time(7, 0.3, 0, 10, 0.1), 7);       /* no dataset */
    near(prof_cache_fraction(62.5, 125), 0.5);
    near(prof_cache_fraction(250, 125), 1);
    near(prof_cache_fraction(10, 0), 1);
}

static void test_curve(void **state)
{
    (void)state;
    struct prof_curve cv = {.p = {{4, 1.0}, {1, 3.0}, {2, 1.5}}, .n = 3};
    near(prof_curve_eval(&cv, 3), 1.25);  /* between 2 and 4 */
    near(prof_curve_eval(&cv, 1.5), 2.25);
    near(prof_curve_eval(&cv, 2), 1.5);   /* a measured point */
    near(prof_curve_eval(&cv, 8), 1.0);   /* above: no gain assumed */
    near(prof_curve_eval(&cv, 0.5), 6.0); /* below: perfect scaling from 1 CPU */
    struct prof_curve empty = {.n = 0};
    near(prof_curve_eval(&empty, 2), 0);
}

static void test_search(void **state)
{
    (void)state;
    assert_int_equal(prof_search_next(16, 1, 1.0, 1.0), 8);   /* the first point halves */
    assert_int_equal(prof_search_next(8, 1, 1.0, 1.05), 4);   /* within 10 %: halve */
    assert_int_equal(prof_search_next(8, 1, 1.0, 1.2), 7);    /* not: one GPU's step */
    assert_int_equal(prof_search_next(8, 2, 1.0, 1.2), 6);    /* two GPUs' step */
    assert_int_equal(prof_search_next(1, 1, 1.0, 2.0), 0);    /* done */
    /* the whole search on 2 cores with a job twice as fast on 2: points 2, 1 */
    int c = 2, seen[8], n = 0;
    double t[3] = {0, 0.2, 0.1}, prev = -1;
    while (c >= 1 && n < 8) {
        seen[n++] = c;
        int next = prof_search_next(c, 1, prev < 0 ? t[c] : prev, t[c]);
        prev = t[c];
        c = next;
    }
    assert_int_equal(n, 2);
    assert_int_equal(seen[0], 2);
    assert_int_equal(seen[1], 1);
}

static void test_profile(void **state)
{
    (void)state;
    struct prof_facts f = {.gpus = 1, .curve = {.p = {{1, 0.3}, {2, 0.15}, {4, 0.1}}, .n = 3},
                           .epoch_iters = 1000, .startup_s = 5, .checkpoint_s = 0.5};
    struct model_profile m;
    /* no dataset: compute only. fair (3 CPUs) = 0.125 s; 4+ CPUs 0.1 s -> 1.25 */
    prof_build_profile(&f, "toy", 64, &m);
    assert_string_equal(m.name, "toy");
    near(m.iter_time, 0.125);
    near(m.tput[0][1], 0.4167); /* 1 CPU: 0.125 / 0.3, to 4 decimals */
    near(m.tput[1][3], 0.8333);
    near(m.tput[2][1], 1);
    near(m.tput[3][0], 1.25);
    near(m.tput[8][4], 1.25);
    near(m.cpus, 4);
    near(m.mem, 20.83); /* memory does not matter: the smallest column */
    near(m.speedup, 1.25);
    near(m.startup_s, 5);
    near(m.checkpoint_s, 0.5);
    assert_int_equal(m.batch, 64);
    /* 100 GB at 10 GB/s from memory, 0.5 GB/s from disk, 1000 iterations an epoch:
     * 62.5 GB caches 0.625: 6.25 + 75 = 81.25 s < 125 s of compute at 3 CPUs;
     * 20.83 GB caches 0.2083: 2.083 + 158.34 = 160.42 s > compute */
    f.dataset_gb = 100;
    f.mem_bw_gbs = 10;
    f.disk_bw_gbs = 0.5;
    prof_build_profile(&f, "toy", 64, &m);
    near(m.iter_time, 0.125);
    double fetch = 0.2083 * 100 / 10 + (1 - 0.2083) * 100 / 0.5;
    near(m.tput[2][0], round(125 / fetch * 1e4) / 1e4);
    near(m.tput[3][1], 1.25); /* 4 CPUs, 62.5 GB: compute-bound at 100 s */
    near(m.tput[3][0], round(125 / fetch * 1e4) / 1e4);
    near(m.cpus, 4);
    near(m.mem, 62.5);
    near(m.speedup, 1.25);
    /* a job no faster beyond the fair share keeps the fair share as its ideal */
    struct prof_facts flat = {.gpus = 2, .curve = {.p = {{2, 0.2}, {4, 0.2}}, .n = 2},
                              .epoch_iters = 1};
    prof_build_profile(&flat, "flat", 8, &m);
    near(m.iter_time, 0.2);
    near(m.cpus, 3);
    near(m.mem, 62.5);
    near(m.speedup, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_model),
        cmocka_unit_test(test_curve),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
