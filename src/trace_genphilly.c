/*
 * `synergy trace gen-philly` (hidden): write a synthetic Philly
 * cluster_job_log of a given size, to the schema of docs/traces.md, for the
 * reader's memory and speed benchmark (the real 6.6 GB log is not shipped).
 * Jobs look like the real ones: 1-3 attempts, 1-16 GPUs over 1-2 servers,
 * indented like json.dump(indent=2); every --bad-every'th record is one of
 * the nasty cases (None end time, missing key, garbage time, not an object).
 */
#include "cli.h"
#include "options.h"

#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "trace.h"

static void fmt_time(char *buf, size_t n, long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static int parse_size(const char *s, long long *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0))
        return -1;
    double m = 1;
    if (*end == 'K' || *end == 'k')
        m = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        m = 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        m = 1024.0 * 1024 * 1024, end++;
    if (*end)
        return -1;
    *out = (long long)(v * m);
    return 0;
}

int trace_gen_philly(int argc, char **argv)
{
    long long bytes = 0;
    long jobs = 0, seed = 1, bad_every = 0;
    int c;
    struct cli_parser p;
    cli_parser_init(&p, CLI_GENPHILLY, argc, argv);
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_BYTES:
            if (parse_size(p.arg, &bytes) < 0)
                return cli_bad(&p, "--bytes: '%s' must be a size (e.g. 1G)", p.arg);
            break;
        case OPT_JOBS: jobs = p.lnum; break;
        case OPT_SEED: seed = p.lnum; break;
        case OPT_BAD_EVERY: bad_every = p.lnum; break;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code;
    if (!bytes && !jobs) {
        fprintf(stderr, "synergy trace gen-philly: give --bytes or --jobs\n");
        return EXIT_BAD_INPUT;
    }
    struct pyrandom r;
    pyrandom_seed(&r, (uint64_t)seed);
    static const char *status[] = {"Pass", "Killed", "Failed"};
    static const char *vcs[] = {"ee9e8c", "0e4a51", "103959", "11cb48", "23dbec",
                                "2869ce", "51b7ef", "6214e9", "6c71a0", "795a4c"};
    static const int gpu_choice[] = {1, 1, 1, 1, 1, 1, 2, 4, 8, 16};
    long long written = 2;
    fputs("[\n", stdout);
    long t = 1501545600; /* 2017-08-01 00:00:00 */
    char sub[32], st[32], en[32];
    char *rec = xmalloc(1 << 16);
    for (long i = 0; (!jobs || i < jobs) && (!bytes || written < bytes); i++) {
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
        int kind = bad_every && i % bad_every == bad_every - 1 ? (int)(i / bad_every % 4) : -1;
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
        fwrite(rec, 1, (size_t)len, stdout);
        written += len;
    }
    free(rec);
    fputs("\n]\n", stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
