/*
 * The GPU type a worker reports (docs/heterogeneous.md): worker --gpu-type, or
 * what the NVIDIA driver says in /proc/driver/nvidia/gpus/<bus id>/information
 * ("Model:   Tesla V100-SXM2-16GB"), shortened to the name a cluster INI
 * uses ("V100"). NVML is not consulted: the /proc files need no library and
 * are there whenever the driver is loaded. The scheduler compares the name
 * with its server's group, so a wrong guess is refused, never used.
 */
#include "worker.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool vendor_word(const char *w, size_t n)
{
    static const char *const words[] = {"NVIDIA", "Tesla", "GeForce", "Quadro", NULL};
    for (int i = 0; words[i]; i++)
        if (strlen(words[i]) == n && strncasecmp(w, words[i], n) == 0)
            return true;
    return false;
}

void gpu_type_from_model(const char *model, char *out, size_t n)
{
    size_t len = 0;
    int words = 0;
    out[0] = '\0';
    for (const char *p = model; *p && len + 1 < n;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ' ' && *e != '\t')
            e++;
        size_t wl = (size_t)(e - p);
        if (wl == 0)
            break;
        if (vendor_word(p, wl)) {
            p = e;
            continue;
        }
        const char *dash = memchr(p, '-', wl);
        size_t take = dash ? (size_t)(dash - p) : wl;
        bool letters = true;
        for (size_t i = 0; i < take; i++) {
            char c = p[i];
            bool ok = isalnum((unsigned char)c) || c == '_' || c == '.';
            if (!ok)
                take = i;
            letters &= isalpha((unsigned char)c) != 0;
        }
        for (size_t i = 0; i < take && len + 1 < n; i++)
            out[len++] = p[i];
        out[len] = '\0';
        words++;
        /* "RTX 3090", "TITAN Xp": a word of letters alone names a family */
        if (!letters || dash || words == 2)
            break;
        p = e;
    }
}

/* The model named in one information file, or "" */
static void model_of(const char *path, char *out, size_t n)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Model:", 6) == 0) {
            char *v = str_trim(line + 6);
            snprintf(out, n, "%s", v);
            break;
        }
    fclose(f);
}

int gpu_type_detect(const char *dir, char *out, size_t n, struct err *err)
{
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    char first[256] = "";
    int found = 0, rc = 0;
    while ((de = readdir(d)) && rc == 0) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096], model[256], name[WORKER_GPU_TYPE];
        snprintf(path, sizeof path, "%s/%s/information", dir, de->d_name);
        model_of(path, model, sizeof model);
        if (!model[0])
            continue;
        gpu_type_from_model(model, name, sizeof name);
        if (!name[0])
            continue;
        if (!found) {
            snprintf(out, n, "%s", name);
            snprintf(first, sizeof first, "%s", model);
        } else if (strcmp(out, name) != 0) {
            rc = errprintf(err, "%s: GPUs of two models (%s, %s): give --gpu-type", dir, first,
                           model);
        }
        found = 1;
    }
    closedir(d);
    if (rc < 0)
        out[0] = '\0';
    return rc < 0 ? -1 : found;
}
