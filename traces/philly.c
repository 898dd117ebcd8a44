/*
 * Streaming reader for the Microsoft Philly `cluster_job_log` (a single JSON
 * array of job objects, 6.6 GB unpacked; schema in docs/traces.md). yajl's
 * event parser feeds a small state machine, 64 KiB at a time, so memory stays
 * flat whatever the file size: only the current record's valid attempts are
 * buffered. Jobs are built with the reference's sum-attempts rules (or one job
 * per attempt) and handed to a callback with their absolute submit time.
 *
 * Malformed records (not an object, a missing or mistyped key, a time that is
 * not "YYYY-MM-DD HH:MM:SS") are counted and skipped; --strict makes the first
 * one an error. `None` times are normal in the real log (a job still running
 * when the snapshot was taken): they skip the attempt and are only counted.
 */
#include "trace.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

enum ctx { C_TOP, C_JOBS, C_JOB, C_ATTEMPTS, C_ATTEMPT, C_DETAILS, C_DETAIL, C_GPUS, C_SKIP };
enum key { K_OTHER, K_SUBMITTED, K_JOBID, K_VC, K_ATTEMPTS, K_START, K_END, K_DETAIL, K_GPUS };

#define MAX_DEPTH 8

struct attempt {
    double start, end;
    int gpus;
};

struct parser {
    const struct philly_opts *o;
    const char *path;
    philly_job_fn fn;
    void *ctx;
    struct philly_stats *st;
    struct err *err;
    yajl_handle h;
    enum ctx stack[MAX_DEPTH];
    int depth;      /* stack[depth - 1] is the current container */
    long skip;      /* nesting inside an ignored value */
    enum key key;   /* the key whose value comes next */
    bool fatal;     /* set by a callback that wants to stop (strict, callback) */
    bool stopped;   /* the callback asked to stop: not an error */
    bool toplevel_seen;
    /* line tracking: newlines counted up to chunk[counted] */
    const unsigned char *chunk;
    size_t counted;
    long line;      /* line of chunk[counted] */
    long rec_line;  /* line where the current record started */
    /* the current record */
    bool rec_bad;
    bool have_submit, have_attempts;
    long rec_attempts;
    double submit;
    char jobid[64];
    char vc[32];             /* the record's virtual cluster ("": none, or not a name) */
    struct attempt cur;      /* the current attempt */
    bool cur_bad, cur_none, have_start, have_end;
    int cur_gpus;
    struct attempt *att;     /* this record's valid attempts */
    size_t n_att, cap_att;
};

static long line_here(struct parser *p)
{
    size_t off = yajl_get_bytes_consumed(p->h);
    const unsigned char *s = p->chunk + p->counted, *e = p->chunk + off;
    while (s < e && (s = memchr(s, '\n', (size_t)(e - s))) != NULL) {
        p->line++;
        s++;
    }
    if (off > p->counted)
        p->counted = off;
    return p->line;
}

static void problem(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct parser *p, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->st->n_problems < 5)
        snprintf(p->st->first_problems[p->st->n_problems++], sizeof p->st->first_problems[0],
                 "%.80s:%ld: %.150s", p->path, p->rec_line, msg);
}

/* A malformed record: counted once, skipped; fatal with --strict. */
static void record_bad(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void record_bad(struct parser *p, const char *fmt, ...)
{
    if (p->rec_bad)
        return;
    p->rec_bad = true;
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    problem(p, "record %ld: %s", p->st->records, msg);
    if (p->o->strict) {
        errprintf(p->err, "%s:%ld: record %ld: %s", p->path, p->rec_line, p->st->records, msg);
        p->fatal = true;
    }
}

static void attempt_bad(struct parser *p, const char *what)
{
    if (!p->cur_bad && !p->rec_bad) {
        p->st->attempt_bad++;
        problem(p, "record %ld: attempt: %s", p->st->records, what);
        if (p->o->strict) {
            errprintf(p->err, "%s:%ld: record %ld: attempt: %s", p->path, p->rec_line,
                      p->st->records, what);
            p->fatal = true;
        }
    }
    p->cur_bad = true;
}

static enum key key_of(const unsigned char *k, size_t n)
{
#define IS(s) (n == sizeof(s) - 1 && memcmp(k, s, n) == 0)
    if (IS("gpus"))
        return K_GPUS;
    if (IS("start_time"))
        return K_START;
    if (IS("end_time"))
        return K_END;
    if (IS("detail"))
        return K_DETAIL;
    if (IS("submitted_time"))
        return K_SUBMITTED;
    if (IS("attempts"))
        return K_ATTEMPTS;
    if (IS("jobid"))
        return K_JOBID;
    if (IS("vc"))
        return K_VC;
    return K_OTHER;
#undef IS
}

static enum ctx top(struct parser *p)
{
    return p->depth ? p->stack[p->depth - 1] : C_TOP;
}

static void begin_record(struct parser *p)
{
    p->st->records++;
    p->rec_line = line_here(p);
    p->rec_bad = false;
    p->have_submit = p->have_attempts = false;
    p->jobid[0] = '\0';
    p->vc[0] = '\0';
    p->n_att = 0;
    p->rec_attempts = 0;
}

static void begin_attempt(struct parser *p)
{
    p->cur_bad = p->cur_none = p->have_start = p->have_end = false;
    p->cur_gpus = 0;
    p->rec_attempts++;
    if (!p->rec_bad)
        p->st->attempts++;
}

static bool gpus_ok(const int *allowed, int g)
{
    for (int i = 0; allowed[i]; i++)
        if (allowed[i] == g)
            return true;
    return false;
}

static void end_attempt(struct parser *p)
{
    if (p->rec_bad || p->cur_bad)
        return;
    if (!p->have_start || !p->have_end) {
        attempt_bad(p, "missing start_time or end_time");
        return;
    }
    if (p->cur_none) {
        p->st->attempt_none_time++;
        return;
    }
    double d = p->cur.end - p->cur.start;
    int g = p->cur_gpus;
    if (!(d > 0) || g <= 0) {
        p->st->attempt_nonpositive++;
        return;
    }
    static const int allowed[] = {1, 2, 4, 8, 16, 0};
    if (p->o->multigpu) {
        if (g > 16) {
            p->st->attempt_gpus_skipped++;
            return;
        }
        if (!gpus_ok(allowed, g)) {
            if (p->o->philly_arrival) {
                p->st->attempt_gpus_skipped++;
                return;
            }
            g = 1;
        }
    } else {
        g = 1;
    }
    xgrow((void **)&p->att, &p->cap_att, p->n_att + 1, sizeof *p->att);
    p->att[p->n_att++] = (struct attempt){p->cur.start, p->cur.end, g};
}

static bool keep_duration(const struct philly_opts *o, double d)
{
    return o->max_duration <= 0 || (d > o->min_duration && d < o->max_duration);
}

static int emit(struct parser *p, const struct raw_job *j)
{
    p->st->jobs++;
    if (p->fn && p->fn(p->ctx, j) != 0) {
        p->stopped = true;
        return -1;
    }
    return 0;
}

static void end_record(struct parser *p)
{
    if (p->rec_bad) {
        p->st->malformed++;
        return;
    }
    if (!p->have_submit) {
        record_bad(p, "missing submitted_time");
        p->st->malformed++;
        return;
    }
    if (!p->have_attempts) {
        record_bad(p, "missing attempts");
        p->st->malformed++;
        return;
    }
    if (p->rec_attempts == 0) {
        p->st->no_attempts++;
        return;
    }
    if (p->st->records_with_attempts_seen == 0 || p->submit < p->st->min_submit)
        p->st->min_submit = p->submit;
    p->st->records_with_attempts_seen++;
    if (p->n_att == 0) {
        p->st->no_valid_attempt++;
        return;
    }
    struct raw_job j = {.steps = -1, .model = -1};
    memcpy(j.vc, p->vc, sizeof j.vc);
    if (p->o->per_attempt) {
        for (size_t i = 0; i < p->n_att; i++) {
            j.duration = p->att[i].end - p->att[i].start;
            j.gpus = p->att[i].gpus;
            /* the first attempt arrives when the job was submitted, a retry
             * when it started */
            j.submit = i == 0 ? p->submit : p->att[i].start;
            if (!keep_duration(p->o, j.duration)) {
                p->st->filtered++;
                continue;
            }
            if (emit(p, &j) < 0)
                return;
        }
        return;
    }
    double sum = 0;
    for (size_t i = 0; i < p->n_att; i++)
        sum += p->att[i].end - p->att[i].start;
    if (!keep_duration(p->o, sum)) {
        p->st->filtered++;
        return;
    }
    j.submit = p->submit;
    j.duration = sum;
    j.gpus = p->att[p->n_att - 1].gpus; /* the last kept attempt's */
    emit(p, &j);
}

static int stop_now(struct parser *p)
{
    return !(p->fatal || p->stopped);
}

/* A scalar value (string, number, bool, null) in the current context. */
static int on_scalar(struct parser *p, const unsigned char *s, size_t n, bool is_string)
{
    if (p->skip)
        return 1;
    enum key k = p->key;
    p->key = K_OTHER;
    switch (top(p)) {
    case C_TOP:
        errprintf(p->err, "%s:%ld: expected a JSON array of jobs at the top level", p->path,
                  line_here(p));
        p->fatal = true;
        return 0;
    case C_JOBS:
        begin_record(p);
        record_bad(p, "not an object");
        p->st->malformed++;
        break;
    case C_JOB:
        if (k == K_SUBMITTED) {
            if (!is_string)
                record_bad(p, "submitted_time: not a string");
            else if (trace_parse_datetime((const char *)s, n, &p->submit) < 0)
                record_bad(p, "submitted_time: '%.*s' is not YYYY-MM-DD HH:MM:SS",
                           (int)(n > 40 ? 40 : n), s);
            else
                p->have_submit = true;
        } else if (k == K_JOBID && is_string) {
            snprintf(p->jobid, sizeof p->jobid, "%.*s", (int)(n > 63 ? 63 : n), s);
        } else if (k == K_VC && is_string && n < sizeof p->vc) {
            snprintf(p->vc, sizeof p->vc, "%.*s", (int)n, s);
            if (!trace_tenant_name_ok(p->vc))
                p->vc[0] = '\0';
        } else if (k == K_ATTEMPTS) {
            record_bad(p, "attempts: not an array");
        }
        break;
    case C_ATTEMPTS:
        attempt_bad(p, "not an object");
        break;
    case C_ATTEMPT:
        if (k == K_START || k == K_END) {
            double t = 0;
            if (!is_string) {
                attempt_bad(p, k == K_START ? "start_time: not a string" : "end_time: not a string");
            } else if (n == 4 && memcmp(s, "None", 4) == 0) {
                p->cur_none = true;
            } else if (trace_parse_datetime((const char *)s, n, &t) < 0) {
                attempt_bad(p, k == K_START ? "start_time: not YYYY-MM-DD HH:MM:SS"
                                            : "end_time: not YYYY-MM-DD HH:MM:SS");
            }
            if (k == K_START) {
                p->cur.start = t;
                p->have_start = true;
            } else {
                p->cur.end = t;
                p->have_end = true;
            }
        } else if (k == K_DETAIL) {
            attempt_bad(p, "detail: not an array");
        }
        break;
    case C_DETAILS:
        attempt_bad(p, "detail: entry is not an object");
        break;
    case C_DETAIL:
        if (k == K_GPUS)
            attempt_bad(p, "detail: gpus: not an array");
        break;
    case C_GPUS:
        if (p->cur_gpus < 1000000)
            p->cur_gpus++;
        break;
    case C_SKIP:
        break;
    }
    return stop_now(p);
}

static int cb_null(void *ctx)
{
    return on_scalar(ctx, (const unsigned char *)"", 0, false);
}
static int cb_bool(void *ctx, int b)
{
    return on_scalar(ctx, (const unsigned char *)"", 0, false);
}
static int cb_number(void *ctx, const char *s, size_t n)
{
    return on_scalar(ctx, (const unsigned char *)s, n, false);
}
static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
    return on_scalar(ctx, s, n, true);
}

static int cb_map_key(void *ctx, const unsigned char *k, size_t n)
{
    struct parser *p = ctx;
    if (!p->skip)
        p->key = key_of(k, n);
    return 1;
}

static int push(struct parser *p, enum ctx c)
{
    if (p->depth == MAX_DEPTH || c == C_SKIP) {
        p->skip++;
        return 1;
    }
    p->stack[p->depth++] = c;
    return 1;
}

/* A container opens; `is_map` says which kind. */
static int on_open(struct parser *p, bool is_map)
{
    if (p->skip) {
        p->skip++;
        return 1;
    }
    enum key k = p->key;
    p->key = K_OTHER;
    switch (top(p)) {
    case C_TOP:
        if (is_map || p->toplevel_seen) {
            errprintf(p->err, "%s:%ld: expected a JSON array of jobs at the top level",
                      p->path, line_here(p));
            p->fatal = true;
            return 0;
        }
        p->toplevel_seen = true;
        return push(p, C_JOBS);
    case C_JOBS:
        begin_record(p);
        if (!is_map) {
            record_bad(p, "not an object");
            p->st->malformed++;
            p->rec_bad = true;
            return stop_now(p) ? push(p, C_SKIP) : 0;
        }
        return push(p, C_JOB);
    case C_JOB:
        if (k == K_ATTEMPTS) {
            if (is_map) {
                record_bad(p, "attempts: not an array");
                return stop_now(p) ? push(p, C_SKIP) : 0;
            }
            p->have_attempts = true;
            return push(p, C_ATTEMPTS);
        }
        if (k == K_SUBMITTED) {
            record_bad(p, "submitted_time: not a string");
            return stop_now(p) ? push(p, C_SKIP) : 0;
        }
        return push(p, C_SKIP);
    case C_ATTEMPTS:
        if (!is_map) {
            attempt_bad(p, "not an object");
            return stop_now(p) ? push(p, C_SKIP) : 0;
        }
        begin_attempt(p);
        return push(p, C_ATTEMPT);
    case C_ATTEMPT:
        if (k == K_DETAIL && !is_map)
            return push(p, C_DETAILS);
        if (k == K_DETAIL || k == K_START || k == K_END) {
            attempt_bad(p, "detail, start_time or end_time of the wrong type");
            return stop_now(p) ? push(p, C_SKIP) : 0;
        }
        return push(p, C_SKIP);
    case C_DETAILS:
        if (!is_map) {
            attempt_bad(p, "detail: entry is not an object");
            return stop_now(p) ? push(p, C_SKIP) : 0;
        }
        return push(p, C_DETAIL);
    case C_DETAIL:
        if (k == K_GPUS && !is_map)
            return push(p, C_GPUS);
        if (k == K_GPUS) {
            attempt_bad(p, "detail: gpus: not an array");
            return stop_now(p) ? push(p, C_SKIP) : 0;
        }
        return push(p, C_SKIP);
    case C_GPUS:
        if (p->cur_gpus < 1000000)
            p->cur_gpus++; /* a GPU entry that is itself structured still counts */
        return push(p, C_SKIP);
    case C_SKIP:
        return push(p, C_SKIP);
    }
    return 1;
}

static int on_close(struct parser *p)
{
    if (p->skip) {
        p->skip--;
        return stop_now(p);
    }
    enum ctx c = top(p);
    if (p->depth)
        p->depth--;
    p->key = K_OTHER;
    if (c == C_ATTEMPT)
        end_attempt(p);
    else if (c == C_JOB)
        end_record(p);
    return stop_now(p);
}

static int cb_start_map(void *ctx)
{
    return on_open(ctx, true);
}
static int cb_start_array(void *ctx)
{
    return on_open(ctx, false);
}
static int cb_end(void *ctx)
{
    return on_close(ctx);
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

void philly_opts_defaults(struct philly_opts *o)
{
    memset(o, 0, sizeof *o);
    o->min_duration = 60 * pow(10.0, 1.5);
    o->max_duration = 60 * pow(10.0, 4);
}

static int syntax_error(struct parser *p, const unsigned char *buf, size_t len)
{
    unsigned char *msg = yajl_get_error(p->h, 0, buf, len);
    char *m = (char *)msg, *nl;
    while ((nl = strchr(m, '\n')) != NULL)
        *nl = ' ';
    errprintf(p->err, "%s:%ld: JSON syntax error: %s", p->path, line_here(p), str_trim(m));
    yajl_free_error(p->h, msg);
    return -1;
}

int trace_philly_read(FILE *f, const char *path, const struct philly_opts *o, philly_job_fn fn,
                      void *ctx, struct philly_stats *st, struct err *err)
{
    memset(st, 0, sizeof *st);
    struct parser p = {.o = o, .path = path, .fn = fn, .ctx = ctx, .st = st, .err = err,
                       .line = 1};
    p.h = yajl_alloc(&callbacks, NULL, &p);
    yajl_config(p.h, yajl_dont_validate_strings, 1);
    enum { CHUNK = 64 * 1024 };
    unsigned char *buf = xmalloc(CHUNK);
    int rc = -1;
    size_t n;
    bool any = false;
    while ((n = fread(buf, 1, CHUNK, f)) > 0) {
        any = true;
        st->bytes += (long)n;
        p.chunk = buf;
        p.counted = 0;
        yajl_status s = yajl_parse(p.h, buf, n);
        if (p.stopped) {
            rc = 0;
            goto out;
        }
        if (p.fatal)
            goto out;
        if (s != yajl_status_ok) {
            syntax_error(&p, buf, n);
            goto out;
        }
        /* count the rest of this chunk's lines */
        const unsigned char *s2 = buf + p.counted, *e = buf + n;
        while (s2 < e && (s2 = memchr(s2, '\n', (size_t)(e - s2))) != NULL) {
            p.line++;
            s2++;
        }
        p.counted = n;
    }
    if (ferror(f)) {
        errprintf(err, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    p.chunk = buf;
    p.counted = 0;
    if (!any) {
        errprintf(err, "%s:1: empty file (expected a JSON array of jobs)", path);
        goto out;
    }
    if (yajl_complete_parse(p.h) != yajl_status_ok) {
        if (p.fatal)
            goto out;
        unsigned char *msg = yajl_get_error(p.h, 0, NULL, 0);
        char *m = (char *)msg, *nl;
        while ((nl = strchr(m, '\n')) != NULL)
            *nl = ' ';
        errprintf(err, "%s:%ld: JSON syntax error at end of file: %s", path, p.line, str_trim(m));
        yajl_free_error(p.h, msg);
        goto out;
    }
    if (!p.toplevel_seen) {
        errprintf(err, "%s:%ld: expected a JSON array of jobs at the top level", path, p.line);
        goto out;
    }
    rc = 0;
out:
    yajl_free(p.h);
    free(buf);
    free(p.att);
    return rc;
}

void philly_stats_print(FILE *f, const char *path, const struct philly_stats *st)
{
    fprintf(f, "%s: %ld records, %ld jobs kept", path, st->records, st->jobs);
    fprintf(f, "; skipped: %ld malformed, %ld with no attempts, %ld with no valid attempt, "
               "%ld outside the duration filter\n",
            st->malformed, st->no_attempts, st->no_valid_attempt, st->filtered);
    fprintf(f, "%s: %ld attempts: %ld with a None time, %ld malformed, %ld with duration or "
               "GPUs <= 0, %ld with a GPU count not kept\n",
            path, st->attempts, st->attempt_none_time, st->attempt_bad, st->attempt_nonpositive,
            st->attempt_gpus_skipped);
    for (int i = 0; i < st->n_problems; i++)
        fprintf(f, "  %s\n", st->first_problems[i]);
    long more = st->malformed + st->attempt_bad - st->n_problems;
    if (more > 0)
        fprintf(f, "  (%ld more problems not shown)\n", more);
}
