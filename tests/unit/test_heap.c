/* Unit tests: the simulator's event heap orders by (time, type, push order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "sim.h"

static void test_orders_by_time_then_type_then_seq(void **state)
{
    struct sim_heap h = {0};
    int tags[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    sim_heap_push(&h, 300, EV_SCHEDULE, &tags[0]);
    sim_heap_push(&h, 300, EV_LEASE_END, &tags[1]);
    sim_heap_push(&h, 300, EV_ARRIVAL, &tags[2]);
    sim_heap_push(&h, 10, EV_SCHEDULE, &tags[3]);
    sim_heap_push(&h, 300, EV_LEASE_END, &tags[4]);
    sim_heap_push(&h, 300, EV_ARRIVAL, &tags[5]);
    sim_heap_push(&h, 0.5, EV_ARRIVAL, &tags[6]);
    int want[] = {6, 3, 2, 5, 1, 4, 0};
    struct sim_event e;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(sim_heap_pop(&h, &e));
        assert_int_equal(*(int *)e.data, want[i]);
    }
    assert_false(sim_heap_pop(&h, &e));
    sim_heap_free(&h);
}

/* Equal (time, type) events pop in push order: the documented tie rule for
 * jobs with equal arrival times (the reference's CPython heapq order differs). */
static void test_equal_events_fifo(void **state)
{
    struct sim_heap h = {0};
    int tags[100];
    for (int i = 0; i < 100; i++) {
        tags[i] = i;
        sim_heap_push(&h, 42, EV_ARRIVAL, &tags[i]);
    }
    struct sim_event e;
    for (int i = 0; i < 100; i++) {
        assert_true(sim_heap_pop(&h, &e));
        assert_int_equal(*(int *)e.data, i);
    }
    sim_heap_free(&h);
}

static void test_many_random_sorted(void **state)
{
    struct sim_heap h = {0};
    srand(7);
    for (int i = 0; i < 5000; i++)
        sim_heap_push(&h, rand() % 1000, 1 + rand() % 4, NULL);
    struct sim_event prev, e;
    assert_true(sim_heap_pop(&h, &prev));
    size_t n = 1;
    while (sim_heap_pop(&h, &e)) {
        assert_true(prev.time < e.time || (prev.time == e.time && prev.type < e.type) ||
                    (prev.time == e.time && prev.type == e.type && prev.seq < e.seq));
        prev = e;
        n++;
    }
    assert_int_equal(n, 5000);
    sim_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orders_by_time_then_type_then_seq),
        cmocka_unit_test(test_equal_events_fifo),
        cmocka_unit_test(test_many_random_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
