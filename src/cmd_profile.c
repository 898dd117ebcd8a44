/*
 * `synergy profile`: profile a catalog model on this machine (profiler/):
 * measure seconds per iteration over the reference's CPU search through a
 * worker's launch path, model the memory axis, and write a models.ini
 * profile (into a profile store or a file) plus a gnuplot figure.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profiler.h"

static void profile_usage(FILE *f)
{
    fprintf(f,
            "usage: synergy profile --model NAME (--profiles-dir DIR | --output FILE) [options]\n"
            "\n"
            "Profile a catalog model on this machine, as Synergy's optimistic profiler: run it\n"
            "through a worker's own launch path (GPUs, cpuset, memory limit, environment) at\n"
            "the CPU counts of the reference's search (all cores; within 10%% of the previous\n"
            "point: halve, else step down by the GPU count), read seconds per iteration from\n"
            "the job's own reports, model the memory axis from the dataset size and measured\n"
            "memory and disk bandwidth, and write a models.ini profile and a plot.\n"
            "\n"
            "  --model NAME          the catalog model to run (also the profile's name)\n"
            "  --gpus N              GPUs the job gets (default 1)\n"
            "  --catalog FILE        worker catalog (default configs/deploy_catalog.ini)\n"
            "  --profiles-dir DIR    profile store: write DIR/NAME.ini (read by simulate,\n"
            "                        sweep and deploy --profiles-dir)\n"
            "  --output FILE         write the profile to FILE instead\n"
            "  --plot DIR            where NAME-profile.{dat,gp,png} go (default: beside the\n"
            "                        profile)\n"
            "  --data DIR            the job's data directory: dataset size, disk bandwidth\n"
            "  --epoch-iters N       iterations per epoch (default: files in --data / (GPUs x\n"
            "                        batch), or 1)\n"
            "  --batch N             batch size recorded in the profile (default 32)\n"
            "  --max-cpus N          first CPU count (default: every CPU we may use)\n"
            "  --mem-gb G            the job's memory limit (default: none)\n"
            "  --steps N             steps per progress report (default 10)\n"
            "  --warmup N            reports discarded per point as warm-up (default 1)\n"
            "  --reports N           reports averaged per point (default 3)\n"
            "  --timeout S           give up on a point after S seconds (default 600)\n"
            "  --run-dir DIR         the worker's run directory (default: a new one in /tmp)\n"
            "  --real-gpus           use this machine's GPUs (default: simulate N GPUs)\n"
            "  -v, --verbose         log every report\n");
}

static int bad(const char *flag, const char *v, const char *why)
{
    fprintf(stderr, "synergy profile: %s: '%s' %s\n", flag, v, why);
    return EXIT_BAD_INPUT;
}

static int int_arg(const char *flag, const char *v, long lo, long hi, int *out)
{
    long x;
    if (parse_long(v, &x) < 0 || x < lo || x > hi) {
        fprintf(stderr, "synergy profile: %s: '%s' must be %ld..%ld\n", flag, v, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int cmd_profile(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},     {"gpus", required_argument, 0, 'g'},
        {"catalog", required_argument, 0, 'c'},   {"profiles-dir", required_argument, 0, 'P'},
        {"output", required_argument, 0, 'o'},    {"plot", required_argument, 0, 'X'},
        {"data", required_argument, 0, 'd'},      {"epoch-iters", required_argument, 0, 'E'},
        {"batch", required_argument, 0, 'b'},     {"max-cpus", required_argument, 0, 'C'},
        {"mem-gb", required_argument, 0, 'M'},    {"steps", required_argument, 0, 's'},
        {"warmup", required_argument, 0, 'w'},    {"reports", required_argument, 0, 'r'},
        {"timeout", required_argument, 0, 'T'},   {"run-dir", required_argument, 0, 'D'},
        {"real-gpus", no_argument, 0, 'R'},       {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    char def_catalog[4096], self[4096];
    struct prof_options o = {.gpus = 1, .batch = 32, .steps = 10, .warmup = 1, .reports = 3,
                             .timeout_s = 600};
    o.catalog = cli_data_path(def_catalog, sizeof def_catalog, "configs/deploy_catalog.ini");
    const char *store = NULL, *output = NULL, *plot_dir = NULL, *data = NULL;
    int epoch_iters = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'g': if (int_arg("--gpus", optarg, 1, 64, &o.gpus) < 0) return EXIT_BAD_INPUT; break;
        case 'c': o.catalog = optarg; break;
        case 'P': store = optarg; break;
        case 'o': output = optarg; break;
        case 'X': plot_dir = optarg; break;
        case 'd': data = optarg; break;
        case 'E':
            if (int_arg("--epoch-iters", optarg, 1, 1000000000, &epoch_iters) < 0)
                return EXIT_BAD_INPUT;
            break;
        case 'b': if (int_arg("--batch", optarg, 1, 1 << 20, &o.batch) < 0) return EXIT_BAD_INPUT; break;
        case 'C':
            if (int_arg("--max-cpus", optarg, 1, 4096, &o.max_cpus) < 0)
                return EXIT_BAD_INPUT;
            break;
        case 'M':
            if (parse_double(optarg, &o.mem_gb) < 0 || !(o.mem_gb > 0))
                return bad("--mem-gb", optarg, "must be a positive number of GB");
            break;
        case 's': if (int_arg("--steps", optarg, 1, 1000000, &o.steps) < 0) return EXIT_BAD_INPUT; break;
        case 'w': if (int_arg("--warmup", optarg, 0, 1000, &o.warmup) < 0) return EXIT_BAD_INPUT; break;
        case 'r': if (int_arg("--reports", optarg, 1, 1000, &o.reports) < 0) return EXIT_BAD_INPUT; break;
        case 'T':
            if (parse_double(optarg, &o.timeout_s) < 0 || !(o.timeout_s > 0))
                return bad("--timeout", optarg, "must be a positive number of seconds");
            break;
        case 'D': o.run_dir = optarg; break;
        case 'R': o.real_gpus = true; break;
        case 'v': o.verbose = true; log_max_level = LOG_DEBUG; break;
        case 'h': profile_usage(stdout); return 0;
        default: profile_usage(stderr); return EXIT_BAD_INPUT;
        }
    }
    if (optind < argc)
        return bad("argument", argv[optind], "is unexpected");
    if (!o.model || (!store == !output)) {
        fprintf(stderr, "synergy profile: give --model and one of --profiles-dir or --output\n");
        return EXIT_BAD_INPUT;
    }
    if (strlen(o.model) >= sizeof ((struct model_profile *)0)->name || strpbrk(o.model, "/:@[] \t"))
        return bad("--model", o.model, "must be a name of 1 to 31 characters without / : @ [ ]");
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
