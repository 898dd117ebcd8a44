/*
 * Line-numbered inih parsing; see ini_lines.h.
 */
#include "ini_lines.h"

#include <ini.h>

struct ini_lines_ctx {
    FILE *f;
    int line;
    ini_line_handler h;
    void *user;
};

static char *reader(char *str, int num, void *stream)
{
    struct ini_lines_ctx *c = stream;
    char *r = fgets(str, num, c->f);
    if (r)
        c->line++;
    return r;
}

static int trampoline(void *user, const char *section, const char *key, const char *value)
{
    struct ini_lines_ctx *c = user;
    return c->h(c->user, section, key, value, c->line);
}

int ini_parse_file_lines(FILE *f, ini_line_handler h, void *user)
{
    struct ini_lines_ctx c = {f, 0, h, user};
    return ini_parse_stream(reader, &c, trampoline, &c);
}
