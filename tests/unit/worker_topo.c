/*
 * worker_server: topology probe from checked-in hwloc XML files, NUMA-aware
 * CPU choice, the catalog, and the launcher (the affinity it applied is read
 * back from the running process with sched_getaffinity).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_socket_probe),
        cmocka_unit_test(socket1_gpus_get_socket1_cores),
        cmocka_unit_test(single_socket_and_simulated),
        cmocka_unit_test(catalog_refuses_unknown_models),
        cmocka_unit_test(launch_applies_affinity_and_clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
