/*
 * worker_server: topology probe from checked-in hwloc XML files, NUMA-aware
 * CPU choice (whole cores with their SMT siblings, or threads; reserved
 * cores; cache domains), the catalog, and the launcher (the affinity it
 * applied is read back from the running process with sched_getaffinity).
 *
 * Expected PU lists are worked out by hand from the topologies' layouts
 * (tests/topologies/README.md): in 2socket-smt-8gpu.xml core i has PUs i and
 * i+16, cores 0-3 | 4-7 share an L3 on socket 0 and 8-11 | 12-15 on socket
 * 1; in 1socket-smt-4gpu.xml core k has PUs 2k and 2k+1 and each run of 4
 * cores shares an L3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker.h"

#define TOPO(f) SYNERGY_SOURCE_DIR "/tests/topologies/" f

static void two_socket_probe(void **state)
{
    struct topo t;
    struct err err = {{0}};
    assert_int_equal(topo_probe(&t, TOPO("2socket-8gpu.xml"), -1, &err), 0);
    assert_int_equal(t.n_numa, 2);
    assert_int_equal(t.n_gpus, 8); /* the NVMe devices are not GPUs */
    assert_false(t.simulated_gpus);
    for (int g = 0; g < 8; g++)
        assert_int_equal(t.gpus[g].numa, g < 4 ? 0 : 1);
    assert_int_equal(t.numa[0].n_cpus, 1);
    assert_int_equal(t.numa[0].cpus[0], 0);
    assert_int_equal(t.numa[1].cpus[0], 1);
}

static void socket1_gpus_get_socket1_cores(void **state)
{
    struct topo t;
    struct err err = {{0}};
    assert_int_equal(topo_probe(&t, TOPO("2socket-8gpu.xml"), -1, &err), 0);
    int gpus[2] = {4, 5}, out[4];
    assert_int_equal(topo_cpus_for_gpus(&t, gpus, 2, 1, NULL, out), 1);
    assert_int_equal(out[0], 1);
    /* asking for more than the node has spills to the nearest node */
    assert_int_equal(topo_cpus_for_gpus(&t, gpus, 2, 2, NULL, out), 2);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0);
    /* socket-0 GPUs get socket-0 cores */
    int g0[2] = {0, 3};
    assert_int_equal(topo_cpus_for_gpus(&t, g0, 2, 1, NULL, out), 1);
    assert_int_equal(out[0], 0);
    /* a busy home core spills rather than shares */
    bool busy[TOPO_MAX_CPUS] = {false};
    busy[1] = true;
    assert_int_equal(topo_cpus_for_gpus(&t, gpus, 2, 1, busy, out), 1);
    assert_int_equal(out[0], 0);
    int bad = 8;
    assert_int_equal(topo_cpus_for_gpus(&t, &bad, 1, 1, NULL, out), -1);
}

static void single_socket_and_simulated(void **state)
{
    struct topo t;
    struct err err = {{0}};
    assert_int_equal(topo_probe(&t, TOPO("1socket-4gpu.xml"), -1, &err), 0);
    assert_int_equal(t.n_numa, 1);
    assert_int_equal(t.n_gpus, 4);
    int gpus[2] = {2, 3}, out[4];
    assert_int_equal(topo_cpus_for_gpus(&t, gpus, 2, 2, NULL, out), 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    /* the override simulates N GPUs spread over the nodes */
    assert_int_equal(topo_probe(&t, TOPO("2socket-8gpu.xml"), 6, &err), 0);
    assert_true(t.simulated_gpus);
    assert_int_equal(t.n_gpus, 6);
    assert_int_equal(t.gpus[2].numa, 0);
    assert_int_equal(t.gpus[3].numa, 1);
    assert_int_not_equal(topo_probe(&t, TOPO("missing.xml"), -1, &err), 0);
}

static void catalog_refuses_unknown_models(void **state)
{
    struct err err = {{0}};
    catalog_t *c = catalog_load(SYNERGY_SOURCE_DIR "/tests/deploy/catalog.ini", &err);
    assert_non_null(c);
    struct catalog_vars v = {.synergy = "/x/synergy", .sched_addr = "127.0.0.1",
                             .chk_dir = "/tmp/c d", .job_id = 7, .sched_port = 14000};
    char **argv = catalog_argv(c, "res18", &v, &err);
    assert_non_null(argv);
    assert_string_equal(argv[0], "/x/synergy");
    assert_string_equal(argv[3], "7");
    assert_string_equal(argv[5], "127.0.0.1:14000");
    assert_string_equal(argv[7], "/tmp/c d"); /* a value with a blank stays one argument */
    assert_null(argv[8]);
    catalog_argv_free(argv);
    errno = 0;
    assert_null(catalog_argv(c, "rm -rf /", &v, &err));
    assert_int_equal(errno, ENOENT);
    assert_false(catalog_has(c, "no-such-model"));
    catalog_destroy(c);

    char path[] = "/tmp/synergy-catalog-XXXXXX";
    int fd = mkstemp(path);
    const char *bad = "[res18]\nargv = sh -c {job_id}\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (int)strlen(bad));
    close(fd);
    assert_null(catalog_load(path, &err));
    assert_non_null(strstr(err.msg, ":2: argv[0] must be an absolute path"));
    unlink(path);

    /* ranks = per-gpu: one iterator process per GPU (issue 9), before or after argv */
    char p2[] = "/tmp/synergy-catalog-XXXXXX";
    fd = mkstemp(p2);
    const char *ok = "[res18]\nranks = per-gpu\nargv = /bin/true\n[gnmt]\nargv = /bin/true\n"
                     "ranks = one\n";
    assert_int_equal(write(fd, ok, strlen(ok)), (int)strlen(ok));
    close(fd);
    c = catalog_load(p2, &err);
    assert_non_null(c);
    assert_int_equal(catalog_processes(c, "res18", 4), 4);
    assert_int_equal(catalog_processes(c, "gnmt", 4), 1);
    catalog_destroy(c);
    unlink(p2);
    char p3[] = "/tmp/synergy-catalog-XXXXXX";
    fd = mkstemp(p3);
    const char *bad2 = "[res18]\nargv = /bin/true\nranks = two\n[vae]\nranks = one\n";
    assert_int_equal(write(fd, bad2, strlen(bad2)), (int)strlen(bad2));
    close(fd);
    assert_null(catalog_load(p3, &err));
    assert_non_null(strstr(err.msg, ":3: ranks must be one or per-gpu"));
    unlink(p3);
    char p4[] = "/tmp/synergy-catalog-XXXXXX";
    fd = mkstemp(p4);
    const char *bad3 = "[vae]\nranks = one\n";
    assert_int_equal(write(fd, bad3, strlen(bad3)), (int)strlen(bad3));
    close(fd);
    assert_null(catalog_load(p4, &err));
    assert_non_null(strstr(err.msg, ":2: model 'vae' has no argv"));
    unlink(p4);
}

/* A catalog may give a GPU type its own argv (argv.TYPE); other types, and a
 * worker without a type, run argv. */
static void catalog_argv_per_gpu_type(void **state)
{
    struct err err = {{0}};
    char p[] = "/tmp/synergy-catalog-XXXXXX";
    int fd = mkstemp(p);
    const char *txt = "[res18]\nargv = /bin/echo any {gpu_type}\n"
                      "argv.H200 = /bin/echo fast --loaders 15\nargv.K80 = /bin/echo slow\n";
    assert_int_equal(write(fd, txt, strlen(txt)), (int)strlen(txt));
    close(fd);
    catalog_t *c = catalog_load(p, &err);
    assert_non_null(c);
    const char *types[] = {"H200", "K80", "V100", NULL};
    const char *want[] = {"fast", "slow", "any", "any"};
    for (int i = 0; i < 4; i++) {
        struct catalog_vars v = {.synergy = "/x", .gpu_type = types[i]};
        char **argv = catalog_argv(c, "res18", &v, &err);
        assert_non_null(argv);
        assert_string_equal(argv[1], want[i]);
        if (i == 0)
            assert_string_equal(argv[3], "15");
        if (i == 2)
            assert_string_equal(argv[2], "V100"); /* {gpu_type} */
        catalog_argv_free(argv);
    }
    catalog_destroy(c);
    unlink(p);
    const char *bads[][2] = {
        {"[res18]\nargv = /bin/true\nargv.K80 = /bin/a\nargv.K80 = /bin/b\n",
         ":4: model 'res18': argv.K80 given twice"},
        {"[res18]\nargv = /bin/true\nargv.K 80 = /bin/a\n", ":3: argv.K 80: the GPU type"},
        {"[res18]\nargv = /bin/true\nargv.K80 = sh -c x\n", ":3: argv[0] must be an absolute"},
        {"[res18]\nargv.K80 = /bin/true\n", ":2: model 'res18' has no argv"},
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        char q[] = "/tmp/synergy-catalog-XXXXXX";
        fd = mkstemp(q);
        assert_int_equal(write(fd, bads[i][0], strlen(bads[i][0])), (int)strlen(bads[i][0]));
        close(fd);
        assert_null(catalog_load(q, &err));
        if (!strstr(err.msg, bads[i][1]))
            fail_msg("'%s' lacks '%s'", err.msg, bads[i][1]);
        unlink(q);
    }
}

/* The GPU type from the driver's model names, and from a /proc/driver/nvidia/gpus
 * tree (the H200's line as the driver writes it). */
static void gpu_type_from_the_driver(void **state)
{
    const char *cases[][2] = {
        {"Tesla V100-SXM2-16GB", "V100"}, {"NVIDIA H200", "H200"},
        {"Tesla K80", "K80"},             {"Tesla P100-PCIE-16GB", "P100"},
        {"NVIDIA A100-SXM4-80GB", "A100"}, {"NVIDIA GeForce RTX 3090", "RTX3090"},
        {"NVIDIA H100 PCIe", "H100"},     {"Quadro RTX 6000", "RTX6000"},
        {"NVIDIA", ""},
    };
    char out[WORKER_GPU_TYPE];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gpu_type_from_model(cases[i][0], out, sizeof out);
        if (strcmp(out, cases[i][1]) != 0)
            fail_msg("'%s' -> '%s', expected '%s'", cases[i][0], out, cases[i][1]);
    }
    char dir[] = "/tmp/synergy-gpus-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct err err = {{0}};
    assert_int_equal(gpu_type_detect(dir, out, sizeof out, &err), 0); /* no GPU */
    assert_int_equal(gpu_type_detect("/nonexistent/gpus", out, sizeof out, &err), 0);
    const char *bus[] = {"0000:1b:00.0", "0000:43:00.0", "0000:52:00.0"};
    const char *model[] = {"NVIDIA H200", "NVIDIA H200", "Tesla V100-SXM2-32GB"};
    char path[256];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, bus[i]);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof path, "%s/%s/information", dir, bus[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "Model: \t\t %s\nIRQ:   \t\t 16\nGPU UUID: \t GPU-x\n", model[i]);
        fclose(f);
        if (i == 1) {
            assert_int_equal(gpu_type_detect(dir, out, sizeof out, &err), 1);
            assert_string_equal(out, "H200");
        }
    }
    assert_int_equal(gpu_type_detect(dir, out, sizeof out, &err), -1);
    assert_non_null(strstr(err.msg, "GPUs of two models"));
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s/information", dir, bus[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s", dir, bus[i]);
        rmdir(path);
    }
    rmdir(dir);
}

static void launch_applies_affinity_and_clean_env(void **state)
{
    /* the topology puts GPUs 4-5 next to CPU 1: the host must have a CPU 1 */
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        fail_msg("this test needs at least 2 online CPUs (it pins a job to CPU 1); "
                 "found %ld", sysconf(_SC_NPROCESSORS_ONLN));
    struct topo t;
    struct err err = {{0}};
    assert_int_equal(topo_probe(&t, TOPO("2socket-8gpu.xml"), -1, &err), 0);
    int gpus[2] = {4, 5}, cpus[2];
    int n = topo_cpus_for_gpus(&t, gpus, 2, 1, NULL, cpus);
    assert_int_equal(n, 1);
    setenv("SYNERGY_TEST_LEAK", "secret", 1);
    struct env_builder env = {0};
    env_add(&env, "PATH", "/usr/bin:/bin");
    env_add(&env, "CUDA_VISIBLE_DEVICES", "%d,%d", gpus[0], gpus[1]);
    char *argv[] = {"/bin/sleep", "30", NULL};
    struct launch_spec sp = {.argv = argv, .envp = env.v, .cpus = cpus, .n_cpus = n,
                             .membind_nodes = 1ULL << 1, .mem_gb = 1};
    struct launch_result lr;
    assert_int_equal(launch_job(&sp, &lr, &err), 0);
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(lr.pid, sizeof set, &set), 0);
    assert_int_equal(CPU_COUNT(&set), 1);
    assert_true(CPU_ISSET(1, &set));
    assert_int_equal(getpgid(lr.pid), lr.pid);
    char p[64], buf[4096] = {0};
    snprintf(p, sizeof p, "/proc/%d/environ", (int)lr.pid);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    bool cuda = false, leak = false;
    for (size_t i = 0; i < got; i += strlen(buf + i) + 1) {
        cuda |= strcmp(buf + i, "CUDA_VISIBLE_DEVICES=4,5") == 0;
        leak |= strncmp(buf + i, "SYNERGY_TEST_LEAK", 17) == 0;
    }
    assert_true(cuda);
    assert_false(leak);
    kill(-lr.pid, SIGKILL);
    int st;
    assert_int_equal(waitpid(lr.pid, &st, 0), lr.pid);
    assert_true(WIFSIGNALED(st));
    env_free(&env);

    /* an exec failure is reported, not mistaken for a running job */
    char *bad[] = {"/nonexistent/job", NULL};
    sp.argv = bad;
    sp.envp = (char *[]){NULL};
    assert_int_equal(launch_job(&sp, &lr, &err), -1);
    assert_non_null(strstr(err.msg, "execve"));
}

/* ------------------------------------------------- SMT, reserve, caches */

static void load(struct topo *t, const char *file, enum topo_unit unit)
{
    struct err err = {{0}};
    assert_int_equal(topo_probe(t, file, -1, &err), 0);
    t->unit = unit;
}

/* out[0..n) equals want[0..nw) as sets */
static void assert_pus(const int *out, int n, const int *want, int nw)
{
    assert_int_equal(n, nw);
    for (int i = 0; i < nw; i++) {
        bool found = false;
        for (int j = 0; j < n; j++)
            found |= out[j] == want[i];
        if (!found)
            fail_msg("PU %d missing from the grant", want[i]);
    }
}

static void mark(bool *busy, const int *pus, int n)
{
    for (int i = 0; i < n; i++)
        busy[pus[i]] = true;
}

static void smt_two_socket_probe(void **state)
{
    struct topo t;
    load(&t, TOPO("2socket-smt-8gpu.xml"), TOPO_UNIT_CORE);
    assert_int_equal(t.n_numa, 2);
    assert_int_equal(t.n_packages, 2);
    /* 8 GPUs: the NVSwitch (vendor 0x10de, class 0680), NVMe and NIC are not */
    assert_int_equal(t.n_gpus, 8);
    for (int g = 0; g < 8; g++)
        assert_int_equal(t.gpus[g].numa, g < 4 ? 0 : 1);
    assert_string_equal(t.gpus[0].pci_bus_id, "0000:18:00.0");
    assert_int_equal(t.n_cores, 16);
    assert_int_equal(t.n_domains, 4);
    assert_string_equal(t.domain_kind, "L3"); /* the private L2s are not domains */
    for (int k = 0; k < 2; k++) {
        assert_int_equal(t.numa[k].n_cpus, 16);
        assert_int_equal(t.numa[k].n_cores, 8);
        assert_int_equal(topo_node_capacity(&t, k), 8);
    }
    for (int i = 0; i < 16; i++) {
        assert_int_equal(t.cores[i].n_pus, 2);
        assert_int_equal(t.cores[i].pus[0], i);
        assert_int_equal(t.cores[i].pus[1], i + 16);
        assert_int_equal(t.cores[i].package, i / 8);
        assert_int_equal(t.cores[i].os_index, i % 8); /* restarts per socket */
        assert_int_equal(t.cores[i].numa, i / 8);
        assert_int_equal(t.cores[i].domain, i / 4);
    }
    t.unit = TOPO_UNIT_THREAD;
    assert_int_equal(topo_node_capacity(&t, 1), 16);
    /* the machines without SMT or shared caches still probe */
    load(&t, TOPO("2socket-8gpu.xml"), TOPO_UNIT_CORE);
    assert_int_equal(t.n_cores, 2);
    assert_string_equal(t.domain_kind, "NUMA");
    load(&t, TOPO("1socket-smt-4gpu.xml"), TOPO_UNIT_CORE);
    assert_int_equal(t.n_gpus, 4);
    assert_int_equal(t.n_cores, 16);
    assert_int_equal(t.n_domains, 4);
    assert_int_equal(t.cores[5].pus[0], 10);
    assert_int_equal(t.cores[5].pus[1], 11);
}

static void four_cpus_are_four_whole_cores_on_the_gpus_socket(void **state)
{
    struct topo t;
    load(&t, TOPO("2socket-smt-8gpu.xml"), TOPO_UNIT_CORE);
    int gpus[2] = {4, 5}, out[TOPO_MAX_CPUS];
    /* cores 8-11 (socket 1's first L3) with their siblings 24-27 */
    int n = topo_cpus_for_gpus(&t, gpus, 2, 4, NULL, out);
    assert_pus(out, n, (int[]){8, 9, 10, 11, 24, 25, 26, 27}, 8);
    /* socket 0 GPUs: cores 0-3 and 16-19 */
    int g0[1] = {2};
    n = topo_cpus_for_gpus(&t, g0, 1, 4, NULL, out);
    assert_pus(out, n, (int[]){0, 1, 2, 3, 16, 17, 18, 19}, 8);
    /* --cpu-unit thread: 4 threads, whole cores' siblings taken together */
    t.unit = TOPO_UNIT_THREAD;
    n = topo_cpus_for_gpus(&t, gpus, 2, 4, NULL, out);
    assert_pus(out, n, (int[]){8, 24, 9, 25}, 4);
    /* a core with one busy thread is not free in core mode */
    t.unit = TOPO_UNIT_CORE;
    bool busy[TOPO_MAX_CPUS] = {false};
    busy[24] = true; /* core 8's sibling */
    n = topo_cpus_for_gpus(&t, gpus, 2, 1, busy, out);
    /* core 8 is half busy: domain 3 (cores 12-15) has the most free cores */
    assert_pus(out, n, (int[]){12, 28}, 2);
    /* the single-socket machine: core 0 is PUs 0 and 1 */
    load(&t, TOPO("1socket-smt-4gpu.xml"), TOPO_UNIT_CORE);
    n = topo_cpus_for_gpus(&t, (int[]){3}, 1, 4, NULL, out);
    assert_pus(out, n, (int[]){0, 1, 2, 3, 4, 5, 6, 7}, 8);
    t.unit = TOPO_UNIT_THREAD;
    n = topo_cpus_for_gpus(&t, (int[]){3}, 1, 4, NULL, out);
    assert_pus(out, n, (int[]){0, 1, 2, 3}, 4);
}

static void jobs_on_one_socket_take_different_l3_domains(void **state)
{
    struct topo t;
    load(&t, TOPO("2socket-smt-8gpu.xml"), TOPO_UNIT_CORE);
    bool busy[TOPO_MAX_CPUS] = {false};
    int out[TOPO_MAX_CPUS], n;
    /* job A, 3 cores on socket 0: the first L3 (cores 0-2) */
    n = topo_cpus_for_gpus(&t, (int[]){0}, 1, 3, busy, out);
    assert_pus(out, n, (int[]){0, 1, 2, 16, 17, 18}, 6);
    mark(busy, out, n);
    /* job B, 3 cores: fits in one L3, and the second is empty: cores 4-6
     * (first-free would have given 3-5, across both) */
    n = topo_cpus_for_gpus(&t, (int[]){1}, 1, 3, busy, out);
    assert_pus(out, n, (int[]){4, 5, 6, 20, 21, 22}, 6);
    mark(busy, out, n);
    /* job C, 2 cores: only one free per domain is left, so it spans both */
    n = topo_cpus_for_gpus(&t, (int[]){2}, 1, 2, busy, out);
    assert_pus(out, n, (int[]){3, 7, 19, 23}, 4);
    /* two one-core jobs spread over both domains too */
    memset(busy, 0, sizeof busy);
    n = topo_cpus_for_gpus(&t, (int[]){0}, 1, 1, busy, out);
    assert_pus(out, n, (int[]){0, 16}, 2);
    mark(busy, out, n);
    n = topo_cpus_for_gpus(&t, (int[]){0}, 1, 1, busy, out);
    assert_pus(out, n, (int[]){4, 20}, 2);
}

static void a_job_larger_than_a_domain_spans_the_fewest(void **state)
{
    struct topo t;
    load(&t, TOPO("1socket-smt-4gpu.xml"), TOPO_UNIT_CORE);
    bool busy[TOPO_MAX_CPUS] = {false};
    int out[TOPO_MAX_CPUS], n;
    /* X: 2 cores in domain 0 (cores 0-1); Y: 1 core in the emptiest, domain 1 */
    n = topo_cpus_for_gpus(&t, (int[]){0}, 1, 2, busy, out);
    assert_pus(out, n, (int[]){0, 1, 2, 3}, 4);
    mark(busy, out, n);
    n = topo_cpus_for_gpus(&t, (int[]){0}, 1, 1, busy, out);
    assert_pus(out, n, (int[]){8, 9}, 2);
    mark(busy, out, n);
    /* Z: 7 cores, free per domain 2,3,4,4: two domains suffice (cores 8-11
     * and 12-14), where first-free (cores 2,3,5,6,7,8,9) spans three */
    n = topo_cpus_for_gpus(&t, (int[]){1}, 1, 7, busy, out);
    int want[14];
    for (int i = 0; i < 7; i++) {
        want[2 * i] = 2 * (8 + i);
        want[2 * i + 1] = 2 * (8 + i) + 1;
    }
    assert_pus(out, n, want, 14);
    /* larger than the whole node: a short grant of every free core */
    n = topo_cpus_for_gpus(&t, (int[]){1}, 1, 40, busy, out);
    assert_int_equal(n, 2 * 13);
}

static void reserved_cores_are_never_granted(void **state)
{
    struct topo t;
    struct err err = {{0}};
    int pus[TOPO_MAX_CPUS], out[TOPO_MAX_CPUS];
    for (int unit = TOPO_UNIT_CORE; unit <= TOPO_UNIT_THREAD; unit++) {
        load(&t, TOPO("2socket-smt-8gpu.xml"), (enum topo_unit)unit);
        /* N = the first N cores of every socket: cores 0 and 8 */
        assert_int_equal(topo_reserve(&t, "1", &err), 0);
        assert_int_equal(topo_reserved_pus(&t, pus), 4);
        assert_pus(pus, 4, (int[]){0, 8, 16, 24}, 4);
        assert_int_equal(topo_node_capacity(&t, 0), unit == TOPO_UNIT_CORE ? 7 : 14);
        assert_int_equal(topo_node_capacity(&t, 1), unit == TOPO_UNIT_CORE ? 7 : 14);
        /* fill the machine with 3-CPU jobs on GPU 0, then keep going: once
         * everything is busy, jobs share, but never a reserved core */
        bool busy[TOPO_MAX_CPUS] = {false};
        int granted = 0;
        for (int job = 0; job < 20; job++) {
            int n = topo_cpus_for_gpus(&t, (int[]){job % 8}, 1, 3, busy, out);
            assert_true(n >= 1);
            for (int i = 0; i < n; i++) {
                if (out[i] % 8 == 0) /* PUs 0, 8, 16, 24 */
                    fail_msg("job %d got reserved PU %d", job, out[i]);
                granted += !busy[out[i]];
            }
            mark(busy, out, n);
        }
        assert_int_equal(granted, 28); /* every unreserved PU, once */
    }
    /* a list of core ids */
    load(&t, TOPO("2socket-smt-8gpu.xml"), TOPO_UNIT_CORE);
    assert_int_equal(topo_reserve(&t, "0,1,8-9", &err), 0);
    assert_int_equal(topo_reserved_pus(&t, pus), 8);
    assert_pus(pus, 8, (int[]){0, 1, 8, 9, 16, 17, 24, 25}, 8);
    assert_int_equal(topo_node_capacity(&t, 1), 6);
    load(&t, TOPO("2socket-smt-8gpu.xml"), TOPO_UNIT_CORE);
    assert_int_equal(topo_reserve(&t, "5-5", &err), 0);
    assert_int_equal(topo_reserved_pus(&t, pus), 2);
    assert_pus(pus, 2, (int[]){5, 21}, 2);
    load(&t, TOPO("2socket-smt-8gpu.xml"), TOPO_UNIT_CORE);
    assert_int_equal(topo_reserve(&t, "5,", &err), 0);
    assert_int_equal(topo_reserved_pus(&t, pus), 2);
    /* bad specs */
    assert_int_equal(topo_reserve(&t, "2,40", &err), -1);
    assert_string_equal(err.msg, "--reserve-cpus: core 40 does not exist (this machine has 16 "
                                 "cores, ids 0-15)");
    assert_int_equal(topo_reserve(&t, "8", &err), -1);
    assert_non_null(strstr(err.msg, "leave socket 0 (8 cores) none for jobs"));
    assert_int_equal(topo_reserve(&t, "0-15", &err), -1);
    assert_non_null(strstr(err.msg, "leaves no core for jobs"));
    assert_int_equal(topo_reserve(&t, "a,b", &err), -1);
    assert_int_equal(topo_reserve(&t, "3-1", &err), -1);
    assert_int_equal(topo_reserve(&t, "", &err), -1);
    /* a socket whose cores are all reserved sends its GPUs' jobs next door */
    load(&t, TOPO("2socket-smt-8gpu.xml"), TOPO_UNIT_CORE);
    assert_int_equal(topo_reserve(&t, "0-7", &err), 0);
    int n = topo_cpus_for_gpus(&t, (int[]){0}, 1, 1, NULL, out);
    assert_pus(out, n, (int[]){8, 24}, 2);
}

/* ------------------------------------------------ applied affinity */

/* The PUs this test process may run on (the host's CPUs). */
static cpu_set_t host_cpus;

/* The kernel's view of pid's affinity equals want[] restricted to the
 * host's CPUs (an XML topology may name CPUs this host lacks: those are
 * checked by the placement tests above, and here on a host that has them). */
static void assert_affinity(pid_t pid, const int *want, int nw)
{
    cpu_set_t set, exp;
    CPU_ZERO(&exp);
    int missing = 0;
    for (int i = 0; i < nw; i++) {
        if (CPU_ISSET(want[i], &host_cpus))
            CPU_SET(want[i], &exp);
        else
            missing++;
    }
    assert_true(CPU_COUNT(&exp) > 0);
    assert_int_equal(sched_getaffinity(pid, sizeof set, &set), 0);
    assert_true(CPU_EQUAL(&set, &exp));
    if (missing)
        print_message("    affinity of pid %d: checked %d of %d PUs, the other %d are not "
                      "on this %d-CPU host\n", (int)pid, nw - missing, nw, missing,
                      CPU_COUNT(&host_cpus));
}

static pid_t launch_sleep(const int *cpus, int n)
{
    struct err err = {{0}};
    char *argv[] = {"/bin/sleep", "30", NULL};
    char *envp[] = {NULL};
    struct launch_spec sp = {.argv = argv, .envp = envp, .cpus = cpus, .n_cpus = n};
    struct launch_result lr;
    assert_int_equal(launch_job(&sp, &lr, &err), 0);
    return lr.pid;
}

static void stop(pid_t pid)
{
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void applied_cpuset_is_whole_cores_or_threads(void **state)
{
    if (CPU_COUNT(&host_cpus) < 2 || !CPU_ISSET(0, &host_cpus) || !CPU_ISSET(1, &host_cpus))
        fail_msg("this test needs CPUs 0 and 1 (the host has %d CPUs)", CPU_COUNT(&host_cpus));
    struct topo t;
    int out[TOPO_MAX_CPUS];
    /* single socket, siblings adjacent: one core is PUs 0 and 1, both applied */
    load(&t, TOPO("1socket-smt-4gpu.xml"), TOPO_UNIT_CORE);
    int n = topo_cpus_for_gpus(&t, (int[]){0}, 1, 1, NULL, out);
    pid_t pid = launch_sleep(out, n);
    assert_affinity(pid, (int[]){0, 1}, 2);
    stop(pid);
    t.unit = TOPO_UNIT_THREAD; /* one thread: PU 0 alone */
    n = topo_cpus_for_gpus(&t, (int[]){0}, 1, 1, NULL, out);
    pid = launch_sleep(out, n);
    assert_affinity(pid, (int[]){0}, 1);
    stop(pid);
    /* 2 sockets: 4 CPUs for socket-0 GPUs are cores 0-3 with siblings 16-19 */
    load(&t, TOPO("2socket-smt-8gpu.xml"), TOPO_UNIT_CORE);
    n = topo_cpus_for_gpus(&t, (int[]){0, 1}, 2, 4, NULL, out);
    pid = launch_sleep(out, n);
    assert_affinity(pid, (int[]){0, 1, 2, 3, 16, 17, 18, 19}, 8);
    stop(pid);
    t.unit = TOPO_UNIT_THREAD;
    n = topo_cpus_for_gpus(&t, (int[]){0, 1}, 2, 4, NULL, out);
    pid = launch_sleep(out, n);
    assert_affinity(pid, (int[]){0, 16, 1, 17}, 4);
    stop(pid);
    /* with core 0 reserved, a job never runs there even on a full node */
    load(&t, TOPO("2socket-smt-8gpu.xml"), TOPO_UNIT_CORE);
    struct err err = {{0}};
    assert_int_equal(topo_reserve(&t, "1", &err), 0);
    bool busy[TOPO_MAX_CPUS];
    memset(busy, 1, sizeof busy);
    n = topo_cpus_for_gpus(&t, (int[]){0}, 1, 1, busy, out);
    pid = launch_sleep(out, n);
    assert_affinity(pid, (int[]){1, 17}, 2);
    stop(pid);
}

static void *thread_affinity(void *arg)
{
    cpu_set_t *set = arg;
    sched_getaffinity(0, sizeof *set, set);
    return NULL;
}

static void worker_pins_itself_to_reserved_cores(void **state)
{
    if (!CPU_ISSET(0, &host_cpus) || CPU_COUNT(&host_cpus) < 2)
        fail_msg("this test needs CPU 0 and another (the host has %d CPUs)",
                 CPU_COUNT(&host_cpus));
    struct topo t;
    struct err err = {{0}};
    load(&t, TOPO("2socket-smt-8gpu.xml"), TOPO_UNIT_CORE);
    assert_int_equal(topo_reserve(&t, "1", &err), 0);
    int pus[TOPO_MAX_CPUS];
    int n = topo_reserved_pus(&t, pus);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* the worker's order: pin, then start threads */
        struct err e = {{0}};
        int ok = launch_pin_self(pus, n, &e) == 0;
        cpu_set_t set;
        CPU_ZERO(&set);
        pthread_t th;
        pthread_create(&th, NULL, thread_affinity, &set);
        pthread_join(th, NULL);
        ssize_t w1 = write(pfd[1], &ok, sizeof ok);
        ssize_t w2 = write(pfd[1], &set, sizeof set);
        _exit(w1 == sizeof ok && w2 == sizeof set ? 0 : 1);
    }
    close(pfd[1]);
    int ok = 0;
    cpu_set_t th_set;
    assert_int_equal(read(pfd[0], &ok, sizeof ok), (int)sizeof ok);
    assert_int_equal(read(pfd[0], &th_set, sizeof th_set), (int)sizeof th_set);
    close(pfd[0]);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(ok);
    /* the thread started after pinning runs on the reserved PUs (0, 8, 16,
     * 24 restricted to this host), not on the host's other CPUs */
    cpu_set_t exp;
    CPU_ZERO(&exp);
    for (int i = 0; i < n; i++)
        if (CPU_ISSET(pus[i], &host_cpus))
            CPU_SET(pus[i], &exp);
    assert_true(CPU_ISSET(0, &exp));
    assert_true(CPU_EQUAL(&th_set, &exp));
    assert_false(CPU_ISSET(1, &th_set));
    /* a job launched afterwards resets to its own cpuset: see
     * applied_cpuset_is_whole_cores_or_threads; reserving PUs that are not on
     * the host fails clearly */
    int absent = CPU_SETSIZE - 1;
    assert_int_equal(launch_pin_self(&absent, 1, &err), -1);
    assert_non_null(strstr(err.msg, "--reserve-cpus"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_socket_probe),
        cmocka_unit_test(socket1_gpus_get_socket1_cores),
        cmocka_unit_test(single_socket_and_simulated),
        cmocka_unit_test(catalog_refuses_unknown_models),
        cmocka_unit_test(launch_applies_affinity_and_clean_env),
        cmocka_unit_test(smt_two_socket_probe),
        cmocka_unit_test(four_cpus_are_four_whole_cores_on_the_gpus_socket),
        cmocka_unit_test(jobs_on_one_socket_take_different_l3_domains),
        cmocka_unit_test(a_job_larger_than_a_domain_spans_the_fewest),
        cmocka_unit_test(reserved_cores_are_never_granted),
        cmocka_unit_test(applied_cpuset_is_whole_cores_or_threads),
        cmocka_unit_test(worker_pins_itself_to_reserved_cores),
        cmocka_unit_test(catalog_argv_per_gpu_type),
        cmocka_unit_test(gpu_type_from_the_driver),
    };
    sched_getaffinity(0, sizeof host_cpus, &host_cpus);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
