/* libFuzzer harness: the cluster INI reader (inih with line numbers and the
 * declarative key table), the model-profile reader (a base file and a file
 * added over the shipped one) and the admin clients' client.ini
 * (src/client_config.c, read and resolved), through a memfd. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client_config.h"
#include "scheduler.h"

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
    struct synergy_config c;
    struct err err;
    synergy_config_defaults(&c);
    (void)synergy_config_load(path, &c, &err);
    model_zoo_destroy(model_zoo_load(path, NULL, &err));
    /* a file added over the shipped profiles: any [<model>:1] section */
    model_zoo_t *zoo = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err);
    if (zoo)
        (void)model_zoo_add(zoo, path, &err);
    model_zoo_destroy(zoo);
    struct client_config cc = {0};
    if (client_config_read(path, &cc, &err) == 0)
        (void)client_config_check(&cc, NULL, &err);
    close(fd);
    return 0;
}
