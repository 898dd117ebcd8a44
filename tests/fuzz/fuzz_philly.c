/* libFuzzer harness: the streaming Philly cluster_job_log reader, in default,
 * per-attempt and strict multi-GPU modes. Must never crash or leak. */
#include <stdio.h>

#include "trace.h"

static int count(void *ctx, const struct raw_job *j)
{
    (*(long *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0)
        return 0;
    for (int mode = 0; mode < 3; mode++) {
        FILE *f = fmemopen((void *)data, size, "r");
        if (!f)
            return 0;
        struct philly_opts o;
        philly_opts_defaults(&o);
        o.per_attempt = mode == 1;
        o.multigpu = mode != 0;
        o.strict = mode == 2;
        o.philly_arrival = mode == 2;
        struct philly_stats st;
        struct err err;
        long n = 0;
        trace_philly_read(f, "fuzz", &o, count, &n, &st, &err);
        fclose(f);
    }
    return 0;
}
