/*
 * A synthetic Philly cluster_job_log of a given size, to the schema of
 * docs/traces.md, for the reader's memory and speed benchmark (the real
 * 6.6 GB log is not shipped; `synergy trace gen-philly` writes it).
 * Jobs look like the real ones: 1-3 attempts, 1-16 GPUs over 1-2 servers,
 * indented like json.dump(indent=2); every bad_every'th record is one of
 * the nasty cases (None end time, missing key, garbage time, not an object).
 * Deterministic for a seed (pyrandom, the reference's Mersenne Twister).
 */
#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fmt_time(char *buf, size_t n, long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

int trace_philly_generate(FILE *out, const struct philly_gen_opts *o)
{
    struct pyrandom r;
    pyrandom_seed(&r, (uint64_t)o->seed);
    static const char *status[] = {"Pass", "Killed", "Failed"};
    static const char *vcs[] = {"ee9e8c", "0e4a51", "103959", "11cb48", "23dbec",
                                "2869ce", "51b7ef", "6214e9", "6c71a0", "795a4c"};
    static const int gpu_choice[] = {1, 1, 1, 1, 1, 1, 2, 4, 8, 16};
    long long written = 2;
    fputs("[\n", out);
    long t = 1501545600; /* 2017-08-01 00:00:00 */
    char sub[32], st[32], en[32];
    char *rec = xmalloc(1 << 16);
    for (long i = 0; (!o->jobs || i < o->jobs) && (!o->bytes || written < o->bytes); i++) {
        t += (long)(pyrandom_random(&r) * 120);
        fmt_time(sub, sizeof sub, t);
        int len = snprintf(rec, 1 << 16,
                           "%s  {\n    \"status\": \"%s\",\n    \"vc\": \"%s\",\n"
                           "    \"jobid\": \"application_1506638472019_%ld\",\n"
                           "    \"submitted_time\": \"%s\",\n    \"user\": \"%08x\",\n"
                           "    \"attempts\": [",
                           i ? ",\n" : "", status[pyrandom_randbelow(&r, 3)],
                           vcs[pyrandom_randbelow(&r, 10)], i, sub, pyrandom_u32(&r));
        int na = 1 + (int)pyrandom_randbelow(&r, 3);
        long at = t + (long)(pyrandom_random(&r) * 600);
        int kind =
            o->bad_every && i % o->bad_every == o->bad_every - 1 ? (int)(i / o->bad_every % 4) : -1;
        for (int a = 0; a < na; a++) {
            long d = 60 + (long)(60 * pow(10.0, pyrandom_uniform(&r, 0, 4)));
            fmt_time(st, sizeof st, at);
            fmt_time(en, sizeof en, at + d);
            if (kind == 0 && a == na - 1)
                strcpy(en, "None");
            if (kind == 1)
                strcpy(st, "2017-02-30 25:61:00");
            int g = gpu_choice[pyrandom_randbelow(&r, 10)];
            int servers = g > 8 ? 2 : 1;
            len += snprintf(rec + len, (1 << 16) - len,
                            "%s\n      {\n        \"start_time\": \"%s\",\n"
                            "        \"end_time\": \"%s\",\n        \"detail\": [",
                            a ? "," : "", st, en);
            for (int s = 0; s < servers; s++) {
                len += snprintf(rec + len, (1 << 16) - len,
                                "%s\n          {\n            \"ip\": \"m%u\",\n"
                                "            \"gpus\": [",
                                s ? "," : "", pyrandom_randbelow(&r, 900));
                for (int k = 0; k < g / servers; k++)
                    len += snprintf(rec + len, (1 << 16) - len, "%s\"gpu%d\"", k ? ", " : "", k);
                len += snprintf(rec + len, (1 << 16) - len, "]\n          }");
            }
            len += snprintf(rec + len, (1 << 16) - len, "\n        ]\n      }");
            at += d + (long)(pyrandom_random(&r) * 300);
        }
        len += snprintf(rec + len, (1 << 16) - len, "\n    ]\n  }");
        if (kind == 2) /* a record without its submitted_time */
            len = snprintf(rec, 1 << 16, "%s  {\"status\": \"Pass\", \"attempts\": []}",
                           i ? ",\n" : "");
        if (kind == 3)
            len = snprintf(rec, 1 << 16, "%s  \"garbage\"", i ? ",\n" : "");
        fwrite(rec, 1, (size_t)len, out);
        written += len;
    }
    free(rec);
    fputs("\n]\n", out);
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
