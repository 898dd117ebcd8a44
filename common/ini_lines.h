/*
 * inih with line numbers. Debian's libinih is built without
 * INI_HANDLER_LINENO, so the handler cannot be told the line; this wrapper
 * feeds the file through ini_parse_stream() with a reader that counts lines,
 * and passes the count to a handler that takes it.
 */
#ifndef SYNERGY_INI_LINES_H
#define SYNERGY_INI_LINES_H

#include <stdio.h>

typedef int (*ini_line_handler)(void *user, const char *section, const char *key,
                                const char *value, int line);

/* Same return as ini_parse_file(): 0, the first error line, or -1 on I/O error. */
int ini_parse_file_lines(FILE *f, ini_line_handler h, void *user);

#endif
