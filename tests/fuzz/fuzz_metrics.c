/* libFuzzer harness: the metrics endpoint's --metrics-listen parser and its
 * text formatter. The first line of the input is an address: it is either
 * accepted or refused with a message. The rest fills a snapshot's per-job
 * rows (ids, progress and arbitrary model names): the exposition text must
 * stay line-structured, every label value escaped, so no byte of a model
 * name can start a line of its own or end a label early. */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t nl = 0;
    while (nl < size && data[nl] != '\n')
        nl++;
    char addr[256];
    size_t k = nl < sizeof addr - 1 ? nl : sizeof addr - 1;
    memcpy(addr, data, k);
    addr[k] = '\0';
    struct err err = {{0}};
    if (metrics_check_listen(addr, &err) < 0 && !err.msg[0])
        abort(); /* a refusal always says why */
    static struct metrics_snapshot s;
    memset(&s, 0, sizeof s);
    const unsigned char *p = data + (nl < size ? nl + 1 : size);
    size_t left = size - (size_t)(p - data);
    while (left >= 8 && s.n_jobs < METRICS_MAX_JOBS) {
        struct metrics_job *j = &s.jobs[s.n_jobs++];
        j->id = (int)(p[0] | p[1] << 8);
        j->running = p[2] & 1;
        j->executed = p[3];
        j->total = p[4];
        size_t ml = p[5] % sizeof j->model;
        if (ml > left - 8)
            ml = left - 8;
        memcpy(j->model, p + 8, ml);
        j->model[ml < sizeof j->model ? ml : sizeof j->model - 1] = '\0';
        p += 8 + ml;
        left -= 8 + ml;
    }
    char *t = metrics_format(&s);
    size_t n = strlen(t);
    if (n == 0 || t[n - 1] != '\n')
        abort();
    /* every line is a comment or starts with a metric name */
    for (const char *line = t; *line; line = strchr(line, '\n') + 1)
        if (line[0] != '#' && strncmp(line, "synergy_", 8) != 0)
            abort();
    free(t);
    return 0;
}
