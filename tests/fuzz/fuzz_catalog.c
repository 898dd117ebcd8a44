/* libFuzzer harness: the worker's catalog (model -> argv, argv.TYPE per GPU
 * type, through a memfd) and the GPU type names it takes from the driver's
 * model strings. A loaded catalog expands every model's argv for a worker
 * with and without a type; a type name is always short and clean. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "worker.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char model[300], type[WORKER_GPU_TYPE];
    size_t k = size < sizeof model - 1 ? size : sizeof model - 1;
    memcpy(model, data, k);
    model[k] = '\0';
    gpu_type_from_model(model, type, sizeof type);
    for (const char *p = type; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.'))
            abort();
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct err err = {{0}};
    catalog_t *c = catalog_load(path, &err);
    if (!c && !err.msg[0])
        abort(); /* a refusal always says why */
    const char *types[] = {NULL, "V100", "K80", type};
    const char *names[] = {"res18", "alexnet", "x", model};
    for (int t = 0; c && t < 4; t++)
        for (int m = 0; m < 4; m++) {
            struct catalog_vars v = {.synergy = "/s", .gpu_type = types[t], .model = names[m]};
            char **argv = catalog_argv(c, names[m], &v, &err);
            if (argv && (!argv[0] || (argv[0][0] != '/')))
                abort(); /* argv[0] is always an absolute path */
            catalog_argv_free(argv);
        }
    catalog_destroy(c);
    close(fd);
    return 0;
}
