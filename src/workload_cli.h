/*
 * The CLI's workload options, shared by `simulate`, `deploy`, `sweep` and
 * `trace`: the option table's workload flags into the loader's wl_opts
 * (traces/workload.h), and the model profiles every command reads.
 */
#ifndef SYNERGY_WORKLOAD_CLI_H
#define SYNERGY_WORKLOAD_CLI_H

#include "workload.h"

/* The profiles: configs/models.ini (the reference ten, in set `variant`), then
 * o->model_files, then o->profiles_dir. NULL + err on a bad file. */
model_zoo_t *wl_zoo_load(const struct wl_opts *o, const char *variant, struct err *err);
/* The files wl_zoo_load() reads, ";"-separated, for the results store. */
const char *wl_models_describe(const struct wl_opts *o, char *buf, size_t n);
struct cli_parser;
/* Handle the workload option the parser just returned (trace format, arrival,
 * the Philly and Pollux switches, rate, split, seed, max jobs, model files). 1 handled;
 * -1 bad value or not a workload option (message printed). */
int wl_opt_handle(struct wl_opts *o, const struct cli_parser *p);

#endif
