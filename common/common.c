/*
 * common: error formatting, aborting allocators, logging, strict number
 * parsing and the monotonic clock. See common.h.
 */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

enum log_level log_max_level = LOG_WARN;

int errprintf(struct err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void oom(size_t n)
{
    fprintf(stderr, "synergy: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

#define HUGE_PAGE ((size_t)2 << 20)

void xadvise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

void *xmalloc_huge(size_t n)
{
    size_t align = n >= HUGE_PAGE ? HUGE_PAGE : 64;
    size_t size = (n + align - 1) / align * align;
    void *p = aligned_alloc(align, size);
    if (!p) {
        fprintf(stderr, "synergy: out of memory allocating %zu bytes\n", size);
        abort();
    }
    if (align == HUGE_PAGE)
        xadvise_huge(p, size);
    return p;
}

void xgrow_slow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    *arr = xrealloc(*arr, ncap * size);
    *cap = ncap;
    if (ncap * size >= 4 * HUGE_PAGE)
        xadvise_huge(*arr, ncap * size);
}

enum log_format log_format = LOG_FORMAT_PLAIN;

/* Is stderr the journal? systemd sets JOURNAL_STREAM=DEV:INODE for it. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int log_format_set(const char *name)
{
    if (strcmp(name, "plain") == 0)
        log_format = LOG_FORMAT_PLAIN;
    else if (strcmp(name, "rfc3339") == 0)
        log_format = LOG_FORMAT_RFC3339;
    else if (strcmp(name, "journal") == 0)
        log_format = LOG_FORMAT_JOURNAL;
    else if (strcmp(name, "auto") == 0)
        log_format = stderr_is_journal() ? LOG_FORMAT_JOURNAL : LOG_FORMAT_RFC3339;
    else
        return -1;
    return 0;
}

void log_write(enum log_level lvl, const char *tag, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    static const int prio[] = {3, 4, 6, 7}; /* syslog's err, warning, info, debug */
    char line[8192];
    int n = 0;
    if (log_format == LOG_FORMAT_JOURNAL) {
        n = snprintf(line, sizeof line, "<%d>%s: ", prio[lvl], tag);
    } else {
        if (log_format == LOG_FORMAT_RFC3339) {
            struct timespec ts;
            struct tm tm;
            clock_gettime(CLOCK_REALTIME, &ts);
            gmtime_r(&ts.tv_sec, &tm);
            n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
            n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ ", ts.tv_nsec / 1000000);
        }
        n += snprintf(line + n, sizeof line - (size_t)n, "[%s] %s: ", names[lvl], tag);
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m < sizeof line - 1 ? (size_t)n + (size_t)m : sizeof line - 2;
    line[len] = '\n';
    /* one write: lines of concurrent threads do not interleave */
    fwrite(line, 1, len + 1, stderr);
}

char *str_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* s past its leading blanks; NULL (errno EINVAL) when nothing else is left */
static const char *num_begin(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0') {
        errno = EINVAL;
        return NULL;
    }
    errno = 0;
    return s;
}

/* Did the conversion that stopped at end take the whole string? 0, or -1
 * with errno (ERANGE from the conversion, or EINVAL: more than blanks left). */
static int num_end(const char *end)
{
    if (errno == ERANGE)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0') {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int parse_long(const char *s, long *out)
{
    char *end;
    if (!(s = num_begin(s)))
        return -1;
    long v = strtol(s, &end, 10);
    if (num_end(end) < 0)
        return -1;
    *out = v;
    return 0;
}

int parse_double(const char *s, double *out)
{
    char *end;
    if (!(s = num_begin(s)))
        return -1;
    double v = strtod(s, &end);
    if (num_end(end) < 0)
        return -1;
    if (!isfinite(v)) {
        errno = EINVAL;
        return -1;
    }
    *out = v;
    return 0;
}

bool str_ieq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

int str_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int *row = xcalloc(lb + 1, sizeof *row);
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int best = prev + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    int d = row[lb];
    free(row);
    return d;
}

int str_split(char *s, char sep, char **out, int max)
{
    int n = 0;
    for (char *t = s;;) {
        char *end = strchr(t, sep);
        if (end)
            *end = '\0';
        char *item = str_trim(t);
        if (!*item)
            return -2;
        if (n == max)
            return -1;
        out[n++] = item;
        if (!end)
            return n;
        t = end + 1;
    }
}

int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
