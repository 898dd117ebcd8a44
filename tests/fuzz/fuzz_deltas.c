/* libFuzzer harness: the arrival-deltas file (`<delay_ms>,<tag>` lines) and
 * the --arrival spec parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    /* the spec parser on the raw bytes */
    char spec[256];
    size_t k = size < sizeof spec - 1 ? size : sizeof spec - 1;
    memcpy(spec, data, k);
    spec[k] = '\0';
    struct err err;
    if (strncmp(spec, "deltas", 6) != 0) {
        arrival_t *a = arrival_create(spec, 1, &err);
        double t = 0;
        for (int i = 0; a && i < 4; i++)
            arrival_next(a, t, &t);
        arrival_destroy(a);
    }
    /* the deltas file */
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(spec, sizeof spec, "deltas:/proc/self/fd/%d", fd);
    arrival_t *a = arrival_create(spec, 1, &err);
    double t = 0;
    while (a && arrival_next(a, t, &t) == 0)
        ;
    arrival_destroy(a);
    close(fd);
    return 0;
}
