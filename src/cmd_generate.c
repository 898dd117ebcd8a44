/*
 * `synergy trace generate` (alias `synergy generate`): write the reference's synthetic workload as
 * a replay trace, so that it can be inspected, shared and replayed.
 */
#include "cli.h"
#include "options.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "workload_cli.h"

/* Ctrl-C or SIGTERM while writing -o FILE: remove the temporary, say so,
 * die of the signal (as simulate does). */
static char gen_tmp[4096];

static void on_interrupt(int sig)
{
    static const char kept[] = "\nsynergy generate: interrupted; nothing written\n";
    static const char part[] = "\nsynergy generate: interrupted\n";
    if (gen_tmp[0])
        unlink(gen_tmp);
    ssize_t w = gen_tmp[0] ? write(STDERR_FILENO, kept, sizeof kept - 1)
                           : write(STDERR_FILENO, part, sizeof part - 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Write n jobs of g to of; Ctrl-C or SIGTERM meanwhile removes -o's temporary. */
static void write_jobs(struct out_file *of, const char *output, synth_t *g, long n)
{
    if (output && of->atomic)
        snprintf(gen_tmp, sizeof gen_tmp, "%s", of->tmp);
    struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    double t = 0;
    struct job_spec s;
    for (long i = 0; i < n && synth_next(g, t, &s) == 0; i++) {
        trace_write_replay_line(of->f, &s);
        t = s.arrival;
    }
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old); /* the commit and the handler never race */
    gen_tmp[0] = '\0';
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

int cmd_generate(int argc, char **argv)
{
    char default_models[4096];
    const char *base = cli_data_path(default_models, sizeof default_models, "configs/models.ini");
    const char *models[WL_MAX_MODEL_FILES]; /* --models: more profiles over the base file */
    int n_models = 0;
    const char *profiles = NULL;
    const char *arrival = NULL;
    struct synth_params p;
    synth_params_defaults(&p);
    const char *output = NULL;
    long n = 1000;
    struct cli_parser cp;
    int c;
    cli_parser_init(&cp, CLI_GENERATE, argc, argv);
    while ((c = cli_next(&cp)) >= 0) {
        switch (c) {
        case OPT_JOBS:
            n = cp.lnum;
            break;
        case OPT_JOBS_PER_HOUR:
            if (parse_double(cp.arg, &p.jobs_per_hour) < 0 || !(p.jobs_per_hour > 0))
                return cli_bad(&cp, "--jobs-per-hour: '%s' must be a positive number", cp.arg);
            break;
        case OPT_SPLIT:
            if (parse_split(cp.arg, p.split) < 0)
                return cli_bad(&cp, "--split: '%s' must be three percentages adding up to 100",
                               cp.arg);
            break;
        case OPT_SEED:
            p.seed = (uint64_t)cp.lnum;
            break;
        case OPT_MODELS:
            if (n_models == WL_MAX_MODEL_FILES)
                return cli_bad(&cp, "--models: at most %d files", WL_MAX_MODEL_FILES);
            models[n_models++] = cp.arg;
            break;
        case OPT_PROFILES:
            profiles = cp.arg;
            break;
        case OPT_ARRIVAL:
            arrival = cp.arg;
            break;
        case OPT_OUTPUT:
            output = cp.arg;
            break;
        case OPT_TENANT_MIX: {
            struct err e;
            if (tenant_mix_parse(cp.arg, &p.tenants, &e) < 0)
                return cli_bad(&cp, "%s", e.msg);
            break;
        }
        }
    }
    if (c == CLI_EXIT)
        return cp.exit_code;
    if (cp.optind < argc)
        return cli_bad(&cp, "unexpected argument '%s'", argv[cp.optind]);
    struct err err = {{0}};
    if (cli_output_check("--output", output, false, &err) < 0) {
        fprintf(stderr, "synergy generate: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    model_zoo_t *zoo =
        cli_data_check(base, NULL, &err) < 0 ? NULL : model_zoo_load(base, profiles, &err);
    for (int i = 0; zoo && i < n_models; i++)
        if (model_zoo_add(zoo, models[i], &err) < 0) {
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
    struct out_file of = {.f = stdout};
    if (output && out_file_open(&of, output) < 0) {
        fprintf(stderr, "synergy generate: %s: %s\n", output, strerror(errno));
        synth_destroy(g);
        arrival_destroy(arr);
        model_zoo_destroy(zoo);
        return 1;
    }
    write_jobs(&of, output, g, n);
    synth_destroy(g);
    arrival_destroy(arr);
    model_zoo_destroy(zoo);
    int rc = 0;
    if (output) {
        if (ferror(of.f) || out_file_commit(&of) < 0) {
            fprintf(stderr, "synergy generate: %s: %s\n", output, strerror(errno));
            if (of.f)
                out_file_abort(&of);
            rc = 1;
        }
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "synergy generate: writing the trace: %s\n", strerror(errno));
        rc = 1;
    }
    return rc;
}
