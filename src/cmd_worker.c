/*
 * `synergy worker`: the worker server of a deployment (worker_server/).
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

static void worker_usage(FILE *f)
{
    fprintf(f, "usage: synergy worker --scheduler HOST:PORT --catalog FILE [options]\n"
               "\n"
               "Run a worker server: register with the scheduler, launch the jobs it places\n"
               "here with their GPUs, NUMA-local CPU cores and memory, supervise them.\n"
               "\n"
               "  --scheduler HOST:PORT  the scheduler (the only address allowed to call us)\n"
               "  --catalog FILE         model -> argv catalog (e.g. configs/deploy_catalog.ini)\n"
               "  --listen IP            address to serve on (default 127.0.0.1)\n"
               "  --port N               port (default 0: any free one, reported to the scheduler)\n"
               "  --server-id N          claim row N of the scheduler's workers file (rows with\n"
               "                         port 0, as deploy --local makes; default: by address)\n"
               "  --topology FILE.xml    use a hwloc XML topology instead of probing\n"
               "  --gpus N               simulate N GPUs (a machine without GPUs)\n"
               "  --run-dir DIR          cwd, logs and checkpoints of jobs (default ./synergy-run)\n"
               "  --cpu-unit core|thread a job's CPU is a whole physical core with its SMT\n"
               "                         siblings (core, the default) or one hardware thread\n"
               "  --reserve-cpus LIST    keep cores from jobs and run the worker on them:\n"
               "                         core ids (0,1,8-9; one id as 5-5) or N = the first\n"
               "                         N cores of every socket (default: none reserved)\n"
               "  -v, --verbose          log more\n");
}

int cmd_worker(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"scheduler", required_argument, 0, 's'}, {"catalog", required_argument, 0, 'c'},
        {"listen", required_argument, 0, 'l'},    {"port", required_argument, 0, 'p'},
        {"topology", required_argument, 0, 't'},  {"gpus", required_argument, 0, 'g'},
        {"run-dir", required_argument, 0, 'r'},   {"verbose", no_argument, 0, 'v'},
        {"cpu-unit", required_argument, 0, 'u'},  {"reserve-cpus", required_argument, 0, 'R'},
        {"server-id", required_argument, 0, 'i'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    struct worker_options o = {.listen_ip = "127.0.0.1", .sim_gpus = -1,
                               .run_dir = "synergy-run", .register_timeout_ms = 30000,
                               .server_id = -1};
    static char host[256];
    long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 's': {
            const char *colon = strrchr(optarg, ':');
            if (!colon || colon == optarg || (size_t)(colon - optarg) >= sizeof host ||
                parse_long(colon + 1, &v) < 0 || v < 1 || v > 65535) {
                fprintf(stderr, "synergy worker: --scheduler: '%s' must be HOST:PORT\n", optarg);
                return EXIT_BAD_INPUT;
            }
            memcpy(host, optarg, (size_t)(colon - optarg));
            host[colon - optarg] = '\0';
            o.sched_addr = host;
            o.sched_port = (int)v;
            break;
        }
        case 'c': o.catalog_path = optarg; break;
        case 'l': o.listen_ip = optarg; break;
        case 'p':
            if (parse_long(optarg, &v) < 0 || v < 0 || v > 65535) {
                fprintf(stderr, "synergy worker: --port: '%s' must be 0..65535\n", optarg);
                return EXIT_BAD_INPUT;
            }
            o.port = (int)v;
            break;
        case 't': o.topology_xml = optarg; break;
        case 'i':
            if (parse_long(optarg, &v) < 0 || v < 0 || v > 65535) {
                fprintf(stderr, "synergy worker: --server-id: '%s' must be 0..65535\n", optarg);
                return EXIT_BAD_INPUT;
            }
            o.server_id = (int)v;
            break;
        case 'g':
            if (parse_long(optarg, &v) < 0 || v < 0 || v > TOPO_MAX_GPUS) {
                fprintf(stderr, "synergy worker: --gpus: '%s' must be 0..%d\n", optarg,
                        TOPO_MAX_GPUS);
                return EXIT_BAD_INPUT;
            }
            o.sim_gpus = (int)v;
            break;
        case 'r': o.run_dir = optarg; break;
        case 'u':
            if (strcmp(optarg, "core") == 0)
                o.cpu_unit = TOPO_UNIT_CORE;
            else if (strcmp(optarg, "thread") == 0)
                o.cpu_unit = TOPO_UNIT_THREAD;
            else {
                fprintf(stderr, "synergy worker: --cpu-unit: '%s' must be core or thread\n",
                        optarg);
                return EXIT_BAD_INPUT;
            }
            break;
        case 'R': o.reserve_cpus = optarg; break;
        case 'v': log_max_level = LOG_DEBUG; break;
        case 'h': worker_usage(stdout); return 0;
        default: worker_usage(stderr); return EXIT_BAD_INPUT;
        }
    }
    if (!o.sched_addr || !o.catalog_path) {
        fprintf(stderr, "synergy worker: --scheduler and --catalog are required\n");
        return EXIT_BAD_INPUT;
    }
    return worker_main(&o);
}
