/*
 * `synergy profile`: profile a catalog model on this machine (profiler/):
 * measure seconds per iteration over the reference's CPU search through a
 * worker's launch path, model the memory axis, and write a models.ini
 * profile (into a profile store or a file) plus a gnuplot figure.
 */
#include "cli.h"
#include "options.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profiler.h"
#include "trace.h"
#include "worker.h"


static int bad(const char *flag, const char *v, const char *why)
{
    fprintf(stderr, "synergy profile: %s: '%s' %s\n", flag, v, why);
    return EXIT_BAD_INPUT;
}


struct profile_cli {
    const char *store, *output, *plot_dir, *data, *gpu_type;
    int epoch_iters;
};

/* -1 to go on, else the exit code. */
static int profile_parse(struct prof_options *o, struct profile_cli *pc, int argc, char **argv)
{
    int c;
    struct cli_parser p;
    cli_parser_init(&p, CLI_PROFILE, argc, argv);
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_MODEL: o->model = p.arg; break;
        case OPT_PROFILE_GPUS: o->gpus = (int)p.lnum; break;
        case OPT_CATALOG: o->catalog = p.arg; break;
        case OPT_PROFILES_DIR: pc->store = p.arg; break;
        case OPT_OUTPUT: pc->output = p.arg; break;
        case OPT_PLOT: pc->plot_dir = p.arg; break;
        case OPT_DATA: pc->data = p.arg; break;
        case OPT_EPOCH_ITERS: pc->epoch_iters = (int)p.lnum; break;
        case OPT_PROFILE_BATCH: o->batch = (int)p.lnum; break;
        case OPT_MAX_CPUS: o->max_cpus = (int)p.lnum; break;
        case OPT_MEM_GB: o->mem_gb = p.num; break;
        case OPT_STEPS: o->steps = (int)p.lnum; break;
        case OPT_WARMUP: o->warmup = (int)p.lnum; break;
        case OPT_REPORTS: o->reports = (int)p.lnum; break;
        case OPT_TIMEOUT: o->timeout_s = p.num; break;
        case OPT_RUN_DIR: o->run_dir = p.arg; break;
        case OPT_REAL_GPUS: o->real_gpus = true; break;
        case OPT_GPU_TYPE: {
            char buf[64];
            if (strlen(p.arg) >= GPU_TYPE_NAME || trace_parse_gpu_types(p.arg, buf) < 0 ||
                strchr(p.arg, '|') || strchr(p.arg, ','))
                return bad("--gpu-type", p.arg, "must be 1 to 15 letters, digits, '-', '_' or '.'");
            pc->gpu_type = p.arg;
            break;
        }
        case OPT_VERBOSE: o->verbose = true; log_max_level = LOG_DEBUG; break;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code;
    if (p.optind < argc)
        return bad("argument", argv[p.optind], "is unexpected");
    return -1;
}

/* The flags against each other and the files they name. -1 to go on, else
 * the exit code. */
static int profile_check(const struct prof_options *o, const char *store, const char *output,
                         const char *def_catalog)
{
    if (!o->model || (!store == !output)) {
        fprintf(stderr, "synergy profile: give --model and one of --profiles-dir or --output\n");
        return EXIT_BAD_INPUT;
    }
    if (strlen(o->model) >= sizeof ((struct model_profile *)0)->name ||
        strpbrk(o->model, "/:@[] \t"))
        return bad("--model", o->model, "must be a name of 1 to 31 characters without / : @ [ ]");
    struct stat sst;
    if (store && stat(store, &sst) == 0 && !S_ISDIR(sst.st_mode))
        return bad("--profiles-dir", store, "is not a directory");
    struct err derr = {{0}};
    if (o->catalog == def_catalog && cli_data_check(def_catalog, "--catalog", &derr) < 0) {
        fprintf(stderr, "synergy profile: %s\n", derr.msg);
        return EXIT_BAD_INPUT;
    }
    return -1;
}

int cmd_profile(int argc, char **argv)
{
    char def_catalog[4096], self[4096];
    struct prof_options o = {.gpus = 1, .batch = 32, .steps = 10, .warmup = 1, .reports = 3,
                             .timeout_s = 600};
    o.catalog = cli_data_path(def_catalog, sizeof def_catalog, "configs/deploy_catalog.ini");
    const char *store = NULL, *output = NULL, *plot_dir = NULL, *data = NULL;
    int epoch_iters = 0;
    struct profile_cli pc = {0};
    int prc = profile_parse(&o, &pc, argc, argv);
    if (prc >= 0)
        return prc;
    store = pc.store;
    output = pc.output;
    plot_dir = pc.plot_dir;
    data = pc.data;
    epoch_iters = pc.epoch_iters;
    int crc = profile_check(&o, store, output, def_catalog);
    if (crc >= 0)
        return crc;
    if (log_max_level < LOG_INFO)
        log_max_level = LOG_INFO;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "synergy profile: /proc/self/exe: %s\n", strerror(errno));
        return 1;
    }
    self[n] = '\0';
    o.synergy_path = self;
    if (o.max_cpus == 0) {
        cpu_set_t set;
        o.max_cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    }
    char run_dir[64] = "/tmp/synergy-profile-XXXXXX";
    if (!o.run_dir) {
        if (!mkdtemp(run_dir)) {
            fprintf(stderr, "synergy profile: mkdtemp: %s\n", strerror(errno));
            return 1;
        }
        o.run_dir = run_dir;
    }
    char path[4096];
    if (store) {
        if (mkdir(store, 0755) < 0 && errno != EEXIST) {
            fprintf(stderr, "synergy profile: %s: %s\n", store, strerror(errno));
            return 1;
        }
        snprintf(path, sizeof path, "%s/%s.ini", store, o.model);
    } else {
        snprintf(path, sizeof path, "%s", output);
    }
    char dirbuf[4096];
    if (!plot_dir) {
        snprintf(dirbuf, sizeof dirbuf, "%s", path);
        char *slash = strrchr(dirbuf, '/');
        if (slash)
            *slash = '\0';
        else
            strcpy(dirbuf, ".");
        plot_dir = dirbuf;
    }

    if (mkdir(plot_dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "synergy profile: --plot: %s: %s\n", plot_dir, strerror(errno));
        return 1;
    }
    struct err err = {{0}};
    struct prof_facts f = {.gpus = o.gpus};
    long files = 0;
    if (data) {
        if (prof_dataset_size(data, &f.dataset_gb, &files, &err) < 0) {
            fprintf(stderr, "synergy profile: --data: %s\n", err.msg);
            return EXIT_BAD_INPUT;
        }
        char file[4096];
        f.disk_bw_gbs = prof_disk_bandwidth(data, file, sizeof file, &err);
        if (f.disk_bw_gbs > 0)
            LOG(LOG_INFO, "profile", "disk: %.3f GB/s reading %s", f.disk_bw_gbs, file);
        else
            LOG(LOG_WARN, "profile", "disk bandwidth not measured: %s", err.msg);
    }
    f.mem_bw_gbs = prof_mem_bandwidth(o.max_cpus, 32, 8);
    LOG(LOG_INFO, "profile", "memory: %.2f GB/s (%d threads copying); dataset %.3f GB in %ld files",
        f.mem_bw_gbs, o.max_cpus, f.dataset_gb, files);
    f.epoch_iters = epoch_iters > 0 ? epoch_iters
                    : files > 0     ? (long)ceil((double)files / ((double)o.gpus * o.batch))
                                    : 1;
    if (prof_measure(&o, &f, &err) < 0) {
        fprintf(stderr, "synergy profile: %s\n", err.msg);
        return 1;
    }
    struct model_profile m;
    prof_build_profile(&f, o.model, o.batch, &m);
    /* the GPU type it ran on: --gpu-type, else what the driver says of real GPUs */
    if (pc.gpu_type)
        snprintf(m.gpu_type, sizeof m.gpu_type, "%s", pc.gpu_type);
    else if (o.real_gpus &&
             gpu_type_detect("/proc/driver/nvidia/gpus", m.gpu_type, sizeof m.gpu_type, &err) < 0)
        LOG(LOG_WARN, "profile", "%s; the profile names no GPU type", err.msg);
    if (prof_write_profile(path, &m, &f, &err) < 0) {
        fprintf(stderr, "synergy profile: %s\n", err.msg);
        return 1;
    }
    bool drawn = false;
    if (prof_write_plot(plot_dir, o.model, &f, &drawn, &err) < 0)
        fprintf(stderr, "synergy profile: plot: %s\n", err.msg);
    printf("profile    %s (%d GPU%s) -> %s\n", o.model, o.gpus, o.gpus == 1 ? "" : "s", path);
    printf("measured  ");
    for (int i = 0; i < f.curve.n; i++)
        printf(" %d CPU%s: %.6f s/iter%s", f.curve.p[i].cpus, f.curve.p[i].cpus == 1 ? "" : "s",
               f.curve.p[i].s_per_iter, i + 1 < f.curve.n ? "," : "");
    printf("\nideal      %g CPUs and %g GB per GPU, speedup %.3f over %.6f s/iter at the fair "
           "share\n", m.cpus, m.mem, m.speedup, m.iter_time);
    printf("start-up   %.3f s, checkpoint %.3f s\n", f.startup_s, f.checkpoint_s);
    printf("plot       %s/%s-profile.%s\n", plot_dir, o.model, drawn ? "png" : "gp (gnuplot failed)");
    return 0;
}
