/* libFuzzer harness: the Gavel 7-field .trace importer. */
#include <stdio.h>
#include <stdlib.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    struct raw_job *raw = NULL;
    size_t n = 0;
    struct err err;
    trace_read_gavel(f, "fuzz", NULL, &raw, &n, &err);
    fclose(f);
    free(raw);
    return 0;
}
