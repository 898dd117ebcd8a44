/*
 * common: the small pieces every synergy library shares. An error struct that
 * carries a one-line message for anything a user can get wrong, allocation
 * helpers that abort on out-of-memory (so every remaining error path is real),
 * a levelled logging macro, number parsing that reports what was wrong, the
 * monotonic clock, a line reader for the text formats, JSON strings and
 * output files written atomically.
 */
#ifndef SYNERGY_COMMON_H
#define SYNERGY_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A user-facing error: one line, usually "file:line: message". */
struct err {
    char msg[512];
};

/* Format into err->msg (err may be NULL). Always returns -1, so callers can
 * write `return errprintf(err, "%s:%d: ...", path, line);`. */
int errprintf(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation that aborts with a message on out-of-memory. Never returns NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Grow *arr (element size `size`) so that it can hold at least `need` items.
 * Arrays of 8 MiB and more ask for transparent huge pages (xadvise_huge). */
void xgrow_slow(void **arr, size_t *cap, size_t need, size_t size);
static inline void xgrow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need > *cap)
        xgrow_slow(arr, cap, need, size);
}

/* Ask the kernel to back the whole 2 MiB pages inside [p, p + n) with
 * transparent huge pages (where it allows them on request): large tables
 * walked in no particular order then cost far fewer TLB misses. A hint only. */
void xadvise_huge(void *p, size_t n);
/* n bytes (not zeroed), 2 MiB-aligned when n is at least 2 MiB (and then
 * advised as above), 64-byte aligned otherwise. Free with free(). */
void *xmalloc_huge(size_t n);

/* Logging. Level checked before the arguments are formatted. */
enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
extern enum log_level log_max_level;
/* How a line starts: "[warn] tag: ..." (plain, the default), the same after
 * an RFC 3339 UTC time with milliseconds ("2026-12-01T11:05:00.123Z [warn]
 * tag: ..."; servers), or a syslog priority for journald, which stamps lines
 * itself ("<4>tag: ..."). */
enum log_format { LOG_FORMAT_PLAIN = 0, LOG_FORMAT_RFC3339, LOG_FORMAT_JOURNAL };
extern enum log_format log_format;
/* Set log_format by name: plain, rfc3339, journal, or auto (journal when
 * stderr is the journal, as $JOURNAL_STREAM says, else rfc3339). 0, or -1
 * for an unknown name. */
int log_format_set(const char *name);
void log_write(enum log_level lvl, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define LOG(lvl, tag, ...)                                                                         \
    do {                                                                                           \
        if ((lvl) <= log_max_level)                                                                \
            log_write((lvl), (tag), __VA_ARGS__);                                                  \
    } while (0)

/* Strict number parsing: the whole string (after trimming blanks) must be a
 * number. Return 0, or -1 (errno EINVAL or ERANGE) leaving *out untouched. */
int parse_long(const char *s, long *out);
int parse_double(const char *s, double *out);

/* Trim leading and trailing whitespace in place; returns s. */
char *str_trim(char *s);

/* Split s in place at `sep` into trimmed items (at most max). The count;
 * -1 when there are more than max; -2 when an item is empty ("a,,b", "a,",
 * "" or " "): a list with a hole is a typo, never a request for a default. */
int str_split(char *s, char sep, char **out, int max);

/* Case-insensitive equality. */
bool str_ieq(const char *a, const char *b);

/* Levenshtein distance, for "did you mean" suggestions. */
int str_distance(const char *a, const char *b);

/* The monotonic clock (CLOCK_MONOTONIC): for durations, deadlines and
 * timeouts, never a time of day. In nanoseconds, and in seconds. */
int64_t mono_ns(void);
double mono_s(void);

/* Reading a text file line by line (lines.c): getline() with the line
 * counted, the trailing '\n' / "\r\n" removed, and a line holding a NUL byte
 * refused as "PATH:LINE: line contains a NUL byte". With `comments`, each
 * line comes back trimmed of blanks and blank lines and '#' lines are
 * skipped. Set f, path (for messages) and comments; zero the rest. */
struct line_reader {
    FILE *f;
    const char *path;
    bool comments;
    int lineno;   /* of the line last returned */
    char *buf;    /* internal */
    size_t cap;   /* internal */
};
/* The next line in *line (borrowed: valid until the next call): 1; 0 at the
 * end of the file; -1 with err on a NUL byte or a read error. */
int line_next(struct line_reader *r, char **line, struct err *err);
/* Free the reader's buffer (not the file). */
void line_reader_free(struct line_reader *r);
/* Open path into a zeroed reader r: 0, or -1 with err "PATH: cannot open
 * WHAT: why" ("PATH: why" when what is NULL). Close with line_reader_close. */
int line_reader_open(struct line_reader *r, const char *path, const char *what, bool comments,
                     struct err *err);
/* Close the file of line_reader_open and free the buffer. */
void line_reader_close(struct line_reader *r);

/* Write s as a JSON string, quotes included: '"' and '\' escaped, control
 * characters as \u00XX, anything else (UTF-8 included) as is. NULL is "". */
void json_write_str(FILE *f, const char *s);

/* An output file written atomically when it is (or will be) a regular file:
 * data goes to "<path>.tmp.<pid>" and out_file_commit() renames it into
 * place, so a failed run never leaves half a file. Anything else that exists
 * (/dev/null, a pipe, a terminal) is written directly: renaming over it
 * would replace the device with a regular file. */
struct out_file {
    FILE *f;
    const char *path;
    char tmp[4096];
    bool atomic;
};

/* 0, or -1 with errno (f NULL). */
int out_file_open(struct out_file *o, const char *path);
/* Close and move into place. 0, or -1 with errno (the temporary is removed). */
int out_file_commit(struct out_file *o);
/* Close and discard (a direct write stays as far as it got). */
void out_file_abort(struct out_file *o);

#endif
