/*
 * The workload loader's command-line side (workload_cli.h): its flags from
 * the option table into wl_opts, and the model profiles from the data
 * directory. The loader itself is traces/workload.c.
 */
#include "workload_cli.h"

#include "cli.h"
#include "options.h"

#include <string.h>
#include <sys/stat.h>

int wl_opt_handle(struct wl_opts *o, const struct cli_parser *p)
{
    const char *arg = p->arg;
    switch (p->opt->id) {
    case OPT_TRACE_FORMAT:
        o->fmt = trace_format_find(arg);
        if (!o->fmt) {
            char list[256];
            return cli_bad(p, "--trace-format: '%s': expected one of: %s", arg,
                           trace_format_list(list, sizeof list, ", ")), -1;
        }
        o->fmt_given = true;
        return 1;
    case OPT_ARRIVAL: o->arrival = arg; return 1;
    case OPT_PHILLY_ARRIVAL: o->philly.philly_arrival = true; if (!o->philly_flag) o->philly_flag = "--philly-arrival"; return 1;
    case OPT_PER_ATTEMPT: o->philly.per_attempt = true; if (!o->philly_flag) o->philly_flag = "--per-attempt"; return 1;
    case OPT_MULTIGPU: o->philly.multigpu = true; if (!o->philly_flag) o->philly_flag = "--multigpu"; return 1;
    case OPT_STRICT: o->philly.strict = true; if (!o->philly_flag) o->philly_flag = "--strict"; return 1;
    case OPT_NO_DURATION_FILTER: o->philly.max_duration = 0; if (!o->philly_flag) o->philly_flag = "--no-duration-filter"; return 1;
    case OPT_VC: o->vc = arg; return 1;
    case OPT_TENANT_FROM:
        if (strcmp(arg, "vc") != 0)
            return cli_bad(p, "--tenant-from: '%s': expected vc", arg), -1;
        o->tenant_from_vc = true;
        return 1;
    case OPT_TENANT_MIX: o->tenant_mix = arg; return 1;
    case OPT_JOBS_PER_HOUR:
        if (parse_double(arg, &o->synth.jobs_per_hour) < 0 || !(o->synth.jobs_per_hour > 0))
            return cli_bad(p, "--jobs-per-hour: '%s' must be a positive number", arg), -1;
        o->have_jph = true;
        return 1;
    case OPT_SPLIT:
        if (parse_split(arg, o->synth.split) < 0)
            return cli_bad(p, "--split: '%s' must be three percentages adding up to 100", arg), -1;
        o->have_split = true;
        return 1;
    case OPT_SEED:
        o->synth.seed = (uint64_t)p->lnum;
        o->have_seed = true;
        return 1;
    case OPT_MAX_JOBS: o->synth.max_jobs = p->lnum; return 1;
    case OPT_MODELS:
        if (o->n_model_files == WL_MAX_MODEL_FILES)
            return cli_bad(p, "--models: at most %d files (use --profiles-dir)",
                           WL_MAX_MODEL_FILES), -1;
        o->model_files[o->n_model_files++] = arg;
        return 1;
    case OPT_PROFILES_DIR: o->profiles_dir = arg; return 1;
    case OPT_UNKNOWN_MODEL:
        if (strcmp(arg, "error") == 0)
            o->unknown_reference = false;
        else if (strcmp(arg, "reference") == 0)
            o->unknown_reference = true;
        else
            return cli_bad(p, "--unknown-model: '%s': expected error or reference", arg), -1;
        return 1;
    default:
        cli_bad(p, "--%s is not handled (a bug: the option table gives it to this command)",
                p->opt->name);
        return -1;
    }
}

model_zoo_t *wl_zoo_load(const struct wl_opts *o, const char *variant, struct err *err)
{
    char base[4096];
    if (cli_data_check(cli_data_path(base, sizeof base, "configs/models.ini"), NULL, err) < 0)
        return NULL;
    model_zoo_t *zoo = model_zoo_load(base, variant, err);
    if (!zoo)
        return NULL;
    for (int i = 0; i < o->n_model_files; i++)
        if (model_zoo_add(zoo, o->model_files[i], err) < 0)
            goto error;
    struct stat st;
    if (o->profiles_dir && stat(o->profiles_dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        errprintf(err, "--profiles-dir: %s: Not a directory (a profile store is a directory; "
                       "--models reads one file)", o->profiles_dir);
        goto error;
    }
    if (o->profiles_dir && model_zoo_add(zoo, o->profiles_dir, err) < 0)
        goto error;
    return zoo;
error:
    model_zoo_destroy(zoo);
    return NULL;
}

const char *wl_models_describe(const struct wl_opts *o, char *buf, size_t n)
{
    size_t len = strlen(cli_data_path(buf, n, "configs/models.ini"));
    for (int i = 0; i <= o->n_model_files && len < n; i++) {
        const char *f = i < o->n_model_files ? o->model_files[i] : o->profiles_dir;
        if (f)
            len += (size_t)snprintf(buf + len, n - len, ";%s", f);
    }
    return buf;
}

