/* libFuzzer harness: the Synergy replay reader (the whole-file path, through
 * a memfd, which also exercises the line parser and the duplicate-id check). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct job_spec *jobs = NULL;
    size_t n = 0;
    struct err err;
    if (trace_read_replay(path, &jobs, &n, &err) == 0)
        free(jobs);
    close(fd);
    return 0;
}
