/*
 * inih with line numbers. Debian's libinih is built without
 * INI_HANDLER_LINENO, so the handler cannot be told the line; this wrapper
 * feeds the file through ini_parse_stream() with a reader that counts lines,
 * and passes the count to a handler that takes it. It also names the
 * structural mistakes inih only counts as "an error on line N": a section
 * header without its ']', a key before any section, a line that is neither.
 */
#ifndef SYNERGY_INI_LINES_H
#define SYNERGY_INI_LINES_H

#include <stddef.h>
#include <stdio.h>

typedef int (*ini_line_handler)(void *user, const char *section, const char *key,
                                const char *value, int line);

/* Same return as ini_parse_file(): 0, the first error line, or -1 on I/O
 * error. After the first structural mistake the handler is not called again,
 * and `why` (n bytes) says what it was ("section header '[CLUSTER' not
 * closed", "key 'racks' outside a section", "expected [section] or key =
 * value"); it is "" when the error was the handler's own. why may be NULL. */
int ini_parse_file_lines_why(FILE *f, ini_line_handler h, void *user, char *why, size_t n);
int ini_parse_file_lines(FILE *f, ini_line_handler h, void *user);

#endif
