/*
 * `synergy trace generate` (alias `synergy generate`): write the reference's synthetic workload as a replay
 * trace, so that it can be inspected, shared and replayed.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int cmd_generate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"jobs", required_argument, 0, 'n'},     {"jobs-per-hour", required_argument, 0, 'r'},
        {"split", required_argument, 0, 'x'},    {"seed", required_argument, 0, 'e'},
        {"models", required_argument, 0, 'M'},   {"profiles", required_argument, 0, 'P'},
        {"arrival", required_argument, 0, 'a'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    char default_models[4096];
    const char *base = cli_data_path(default_models, sizeof default_models, "configs/models.ini");
    const char *models = NULL; /* --models: more profiles over the base file */
    const char *profiles = NULL;
    const char *arrival = NULL;
    struct synth_params p;
    synth_params_defaults(&p);
    long n = 1000, v;
    double d;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (parse_long(optarg, &n) < 0 || n < 1) {
                fprintf(stderr, "synergy generate: --jobs: '%s' must be a positive integer\n", optarg);
                return EXIT_BAD_INPUT;
            }
            break;
        case 'r':
            if (parse_double(optarg, &d) < 0 || !(d > 0)) {
                fprintf(stderr, "synergy generate: --jobs-per-hour: '%s' must be a positive number\n", optarg);
                return EXIT_BAD_INPUT;
            }
            p.jobs_per_hour = d;
            break;
        case 'x':
            if (parse_split(optarg, p.split) < 0) {
                fprintf(stderr, "synergy generate: --split: '%s' must be three percentages adding up to 100\n", optarg);
                return EXIT_BAD_INPUT;
            }
            break;
        case 'e':
            if (parse_long(optarg, &v) < 0 || v < 0) {
                fprintf(stderr, "synergy generate: --seed: '%s' must be a non-negative integer\n", optarg);
                return EXIT_BAD_INPUT;
            }
            p.seed = (uint64_t)v;
            break;
        case 'M': models = optarg; break;
        case 'P': profiles = optarg; break;
        case 'a': arrival = optarg; break;
        case 'h':
            printf("usage: synergy trace generate [--jobs N] [--jobs-per-hour R] [--split I,L,S]\n"
                   "                              [--seed N] [--arrival SPEC] [--models FILE]\n"
                   "                              [--profiles SET]\n\n"
                   "Write the first N jobs (default 1000) of the reference's synthetic workload\n"
                   "to stdout in the replay format (id,model,arrival_s,iterations,gpus).\n"
                   "--arrival poisson:R | fixed-rate:R | schedule:R,FACTOR,PERIOD_S | deltas:FILE\n"
                   "re-times the jobs (their models, lengths and GPUs do not change).\n"
                   "`synergy generate` is an alias.\n");
            return 0;
        default:
            return EXIT_BAD_INPUT;
        }
    }
    struct err err = {{0}};
    model_zoo_t *zoo = model_zoo_load(base, profiles, &err);
    if (zoo && models && model_zoo_add(zoo, models, &err) < 0) {
        model_zoo_destroy(zoo);
        zoo = NULL;
    }
    if (!zoo) {
        fprintf(stderr, "synergy generate: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    arrival_t *arr = NULL;
    if (arrival) {
        arr = arrival_create(arrival, p.seed, &err);
        if (!arr) {
            fprintf(stderr, "synergy generate: --arrival: %s\n", err.msg);
            model_zoo_destroy(zoo);
            return EXIT_BAD_INPUT;
        }
        p.arrivals = arr;
    }
    synth_t *g = synth_create(zoo, &p, &err);
    if (!g) {
        arrival_destroy(arr);
        fprintf(stderr, "synergy generate: %s\n", err.msg);
        model_zoo_destroy(zoo);
        return EXIT_BAD_INPUT;
    }
    double t = 0;
    struct job_spec s;
    for (long i = 0; i < n && synth_next(g, t, &s) == 0; i++) {
        trace_write_replay_line(stdout, &s);
        t = s.arrival;
    }
    synth_destroy(g);
    arrival_destroy(arr);
    model_zoo_destroy(zoo);
    return fflush(stdout) == 0 ? 0 : 1;
}
