/* Unit tests: MT19937 seeded like CPython. Expected values are CPython 3.11's
 * own outputs (random.seed(n); random.random() etc.). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "trace.h"

static void test_random_seed42(void **state)
{
    struct pyrandom r;
    pyrandom_seed(&r, 42);
    assert_true(pyrandom_random(&r) == 0.6394267984578837);
    assert_true(pyrandom_random(&r) == 0.025010755222666936);
    assert_true(pyrandom_random(&r) == 0.27502931836911926);
}

static void test_getrandbits_seed42(void **state)
{
    struct pyrandom r;
    pyrandom_seed(&r, 42);
    assert_int_equal(pyrandom_getrandbits(&r, 32), 2746317213u);
    assert_int_equal(pyrandom_getrandbits(&r, 32), 478163327u);
    assert_int_equal(pyrandom_getrandbits(&r, 32), 107420369u);
}

static void test_randrange_seed42(void **state)
{
    struct pyrandom r;
    pyrandom_seed(&r, 42);
    uint32_t want[] = {1, 0, 4, 3, 3, 2, 1, 8};
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(pyrandom_randbelow(&r, 10), want[i]);
}

static void test_other_seeds(void **state)
{
    struct pyrandom r;
    pyrandom_seed(&r, 0);
    assert_true(pyrandom_random(&r) == 0.8444218515250481);
    pyrandom_seed(&r, (1ULL << 40) + 5); /* a two-word key */
    assert_true(pyrandom_random(&r) == 0.5043802970418443);
    pyrandom_seed(&r, 7);
    assert_true(pyrandom_uniform(&r, 1.5, 3) == 1.9857491472497435);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_seed42),
        cmocka_unit_test(test_getrandbits_seed42),
        cmocka_unit_test(test_randrange_seed42),
        cmocka_unit_test(test_other_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
