/*
 * Output files written atomically (common.h's out_file): a temporary renamed
 * into place, or a direct write to what is not a regular file.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int out_file_open(struct out_file *o, const char *path)
{
    struct stat st;
    memset(o, 0, sizeof *o);
    o->path = path;
    o->atomic = stat(path, &st) < 0 || S_ISREG(st.st_mode);
    if (o->atomic) {
        snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid());
        o->f = fopen(o->tmp, "w");
    } else {
        o->f = fopen(path, "w");
    }
    return o->f ? 0 : -1;
}

int out_file_commit(struct out_file *o)
{
    int rc = fclose(o->f) == 0 ? 0 : -1;
    o->f = NULL;
    if (o->atomic) {
        if (rc == 0 && rename(o->tmp, o->path) < 0)
            rc = -1;
        if (rc < 0) {
            int e = errno;
            unlink(o->tmp);
            errno = e;
        }
    }
    return rc;
}

void out_file_abort(struct out_file *o)
{
    if (!o->f)
        return;
    fclose(o->f);
    o->f = NULL;
    if (o->atomic)
        unlink(o->tmp);
}
