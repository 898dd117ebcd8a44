/*
 * Line-numbered inih parsing; see ini_lines.h.
 */
#include "ini_lines.h"

#include <ctype.h>
#include <ini.h>
#include <string.h>

struct ini_lines_ctx {
    FILE *f;
    int line;
    ini_line_handler h;
    void *user;
    int bad_line; /* the first structural mistake, 0: none yet */
    char why[160];
};

/* Remember the first mistake: `what` with the line's text (up to 60 bytes). */
static void mistake(struct ini_lines_ctx *c, const char *what, const char *text)
{
    if (c->bad_line)
        return;
    c->bad_line = c->line;
    int w = (int)strcspn(text, "\r\n");
    snprintf(c->why, sizeof c->why, what, w > 60 ? 60 : w, text);
}

/* What inih would read as a section or a key, checked before it does. */
static void check_line(struct ini_lines_ctx *c, const char *s)
{
    if (isspace((unsigned char)s[0]))
        return; /* blank, or a continuation line */
    if (s[0] == ';' || s[0] == '#')
        return;
    if (s[0] == '[') {
        if (!strchr(s, ']'))
            mistake(c, "section header '%.*s' not closed (expected [name])", s);
        return;
    }
    if (!strpbrk(s, "=:"))
        mistake(c, "'%.*s': expected [section] or key = value", s);
}

static char *reader(char *str, int num, void *stream)
{
    struct ini_lines_ctx *c = stream;
    char *r = fgets(str, num, c->f);
    if (r) {
        c->line++;
        const char *s = r;
        if (c->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
            s += 3; /* a UTF-8 byte-order mark, which inih skips */
        check_line(c, s);
    }
    return r;
}

static int trampoline(void *user, const char *section, const char *key, const char *value)
{
    struct ini_lines_ctx *c = user;
    if (c->bad_line)
        return 1; /* inih counted it; the handler sees nothing after a mistake */
    if (!section[0]) {
        mistake(c, "key '%.*s' outside a section (put [name] above it)", key);
        return 0;
    }
    return c->h(c->user, section, key, value, c->line);
}

int ini_parse_file_lines_why(FILE *f, ini_line_handler h, void *user, char *why, size_t n)
{
    struct ini_lines_ctx c = {.f = f, .h = h, .user = user};
    int rc = ini_parse_stream(reader, &c, trampoline, &c);
    if (c.bad_line && (rc == 0 || c.bad_line < rc))
        rc = c.bad_line;
    if (why && n) /* only when the first error is the mistake */
        snprintf(why, n, "%s", c.bad_line && c.bad_line == rc ? c.why : "");
    return rc;
}

int ini_parse_file_lines(FILE *f, ini_line_handler h, void *user)
{
    return ini_parse_file_lines_why(f, h, user, NULL, 0);
}
