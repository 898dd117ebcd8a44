/* libFuzzer harness: the Synergy replay reader (the whole-file path, through
 * a memfd, which also exercises the line parser, the duplicate-id check and
 * the "#cancel,ID,TIME_S" lines of a recorded service run). A trace it
 * accepts must hold every cancel at or after its job's arrival, and must
 * read back the same when written out again (jobs, then cancels), as
 * `trace convert` and `simulate --record` write it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trace.h"

static int read_fd(int fd, struct job_spec **jobs, size_t *n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct err err;
    return trace_read_replay(path, jobs, n, &err);
}

static void check_round_trip(const struct job_spec *jobs, size_t n)
{
    int fd = memfd_create("fuzz-out", 0);
    if (fd < 0)
        return;
    FILE *f = fdopen(dup(fd), "w");
    if (!f) {
        close(fd);
        return;
    }
    for (size_t i = 0; i < n; i++)
        trace_write_replay_line(f, &jobs[i]);
    for (size_t i = 0; i < n; i++)
        if (jobs[i].cancelled)
            trace_write_replay_cancel(f, jobs[i].id, jobs[i].cancel_at);
    fclose(f);
    struct job_spec *again = NULL;
    size_t m = 0;
    if (read_fd(fd, &again, &m) != 0 || m != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (again[i].id != jobs[i].id || strcmp(again[i].model, jobs[i].model) != 0 ||
            again[i].arrival != jobs[i].arrival || again[i].iterations != jobs[i].iterations ||
            again[i].gpus != jobs[i].gpus || again[i].cancelled != jobs[i].cancelled ||
            (jobs[i].cancelled && again[i].cancel_at != jobs[i].cancel_at))
            abort();
    free(again);
    close(fd);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    struct job_spec *jobs = NULL;
    size_t n = 0;
    if (read_fd(fd, &jobs, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            if (jobs[i].cancelled && jobs[i].cancel_at < jobs[i].arrival)
                abort();
        check_round_trip(jobs, n);
        free(jobs);
    }
    close(fd);
    return 0;
}
