/*
 * JSON strings (common.h's json_write_str), for every JSON the binary
 * prints: `report --format json`, `simulate --json`, `queue --json`.
 */
#include "common.h"

void json_write_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}
