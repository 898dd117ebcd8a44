/* Unit tests: common's monotonic clock, line reader and JSON strings, on
 * inputs whose answers are written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* The clock moves forward by what nanosleep waited, in both units. */
static void test_mono_clock(void **state)
{
    (void)state;
    int64_t a = mono_ns();
    double as = mono_s();
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    int64_t b = mono_ns();
    double bs = mono_s();
    assert_true(b - a >= 20 * 1000 * 1000);
    assert_true(bs - as >= 0.020);
    /* the two units read the same clock */
    assert_true(bs - (double)b * 1e-9 < 0.001 && (double)b * 1e-9 - bs < 0.001);
}

static FILE *mem(const char *s, size_t n)
{
    FILE *f = fmemopen(NULL, n + 1, "w+");
    assert_non_null(f);
    fwrite(s, 1, n, f);
    rewind(f);
    return f;
}

/* comments: trimmed lines, blank and '#' lines skipped, line numbers kept,
 * "\r\n" and a last line without a newline read like the others */
static void test_lines_comments(void **state)
{
    (void)state;
    const char text[] = "# head\n\n  a, b  \r\n\t# indented comment\n\n last";
    FILE *f = mem(text, sizeof text - 1);
    struct line_reader r = {.f = f, .path = "t.txt", .comments = true};
    struct err err = {{0}};
    char *l;
    assert_int_equal(line_next(&r, &l, &err), 1);
    assert_string_equal(l, "a, b");
    assert_int_equal(r.lineno, 3);
    assert_int_equal(line_next(&r, &l, &err), 1);
    assert_string_equal(l, "last");
    assert_int_equal(r.lineno, 6);
    assert_int_equal(line_next(&r, &l, &err), 0);
    assert_int_equal(r.lineno, 6);
    line_reader_free(&r);
    fclose(f);
}

/* without comments: every line, "\r\n" stripped, blanks kept */
static void test_lines_raw(void **state)
{
    (void)state;
    const char text[] = " x \r\n\n#y\n";
    FILE *f = mem(text, sizeof text - 1);
    struct line_reader r = {.f = f, .path = "t.txt"};
    struct err err = {{0}};
    char *l;
    const char *want[] = {" x ", "", "#y"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(line_next(&r, &l, &err), 1);
        assert_string_equal(l, want[i]);
        assert_int_equal(r.lineno, i + 1);
    }
    assert_int_equal(line_next(&r, &l, &err), 0);
    line_reader_free(&r);
    fclose(f);
}

/* a NUL byte is an error naming the file and line */
static void test_lines_nul(void **state)
{
    (void)state;
    const char text[] = "ok\nbad\0byte\n";
    FILE *f = mem(text, sizeof text - 1);
    struct line_reader r = {.f = f, .path = "t.txt", .comments = true};
    struct err err = {{0}};
    char *l;
    assert_int_equal(line_next(&r, &l, &err), 1);
    assert_int_equal(line_next(&r, &l, &err), -1);
    assert_string_equal(err.msg, "t.txt:2: line contains a NUL byte");
    line_reader_free(&r);
    fclose(f);
}

/* open and close: a missing file names the path, what it is, and why */
static void test_lines_open(void **state)
{
    (void)state;
    struct line_reader r;
    struct err err = {{0}};
    assert_int_equal(line_reader_open(&r, "/nonexistent/t.trace", "trace", true, &err), -1);
    assert_string_equal(err.msg, "/nonexistent/t.trace: cannot open trace: No such file or directory");
    assert_int_equal(line_reader_open(&r, "/nonexistent/w.txt", NULL, true, &err), -1);
    assert_string_equal(err.msg, "/nonexistent/w.txt: No such file or directory");
    char path[] = "/tmp/test_common.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "# c\n x \n", 8), 8);
    close(fd);
    assert_int_equal(line_reader_open(&r, path, NULL, true, &err), 0);
    char *l;
    assert_int_equal(line_next(&r, &l, &err), 1);
    assert_string_equal(l, "x");
    assert_int_equal(r.lineno, 2);
    assert_int_equal(line_next(&r, &l, &err), 0);
    line_reader_close(&r);
    unlink(path);
}

static void json_is(const char *in, const char *want)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    json_write_str(f, in);
    fclose(f);
    assert_string_equal(buf, want);
    free(buf);
}

static void test_json_str(void **state)
{
    (void)state;
    json_is("plain", "\"plain\"");
    json_is("a\"b\\c", "\"a\\\"b\\\\c\"");
    json_is("tab\tnl\n\x01", "\"tab\\u0009nl\\u000a\\u0001\"");
    json_is("caf\xc3\xa9", "\"caf\xc3\xa9\"");
    json_is("", "\"\"");
    json_is(NULL, "\"\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mono_clock),
        cmocka_unit_test(test_lines_comments),
        cmocka_unit_test(test_lines_raw),
        cmocka_unit_test(test_lines_nul),
        cmocka_unit_test(test_lines_open),
        cmocka_unit_test(test_json_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
