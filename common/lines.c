/*
 * The line reader of the text formats (common.h's line_reader): replay
 * traces, deltas files, Pollux CSV, workers and admins files. One loop, so
 * that every reader counts lines, strips "\r\n" and refuses NUL bytes alike.
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

int line_next(struct line_reader *r, char **line, struct err *err)
{
    for (;;) {
        errno = 0;
        ssize_t len = getline(&r->buf, &r->cap, r->f);
        if (len < 0) {
            if (ferror(r->f))
                return errprintf(err, "%s: read error: %s", r->path,
                                 strerror(errno ? errno : EIO));
            return 0;
        }
        r->lineno++;
        if ((size_t)len != strlen(r->buf))
            return errprintf(err, "%s:%d: line contains a NUL byte", r->path, r->lineno);
        while (len > 0 && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r'))
            r->buf[--len] = '\0';
        if (!r->comments) {
            *line = r->buf;
            return 1;
        }
        char *t = str_trim(r->buf);
        if (*t && *t != '#') {
            *line = t;
            return 1;
        }
    }
}

void line_reader_free(struct line_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

int line_reader_open(struct line_reader *r, const char *path, const char *what, bool comments,
                     struct err *err)
{
    *r = (struct line_reader){.path = path, .comments = comments};
    if (!(r->f = fopen(path, "r")))
        return what ? errprintf(err, "%s: cannot open %s: %s", path, what, strerror(errno))
                    : errprintf(err, "%s: %s", path, strerror(errno));
    return 0;
}

void line_reader_close(struct line_reader *r)
{
    if (r->f)
        fclose(r->f);
    r->f = NULL;
    line_reader_free(r);
}
