/*
 * Synergy-OPT with GLPK (spec §9, docs/opt.md). OPT plans a whole round at
 * once, from the jobs the GPU-count walk chose, in two stages:
 *   1. a MILP picks one (CPUs per GPU, GB per GPU) point of each job's 9x5
 *      throughput matrix, maximising the sum of normalised throughputs within
 *      the cluster's free CPUs and memory, no job below its fair-share point;
 *   2. placement under per-server GPU, CPU and memory limits: first fit
 *      decreasing; if that fails, an LP spreads each job over the servers and
 *      its fractional answer is rounded (floor, then re-place the remainders,
 *      lowering a job's point if it must), and if the rounding lowered anyone
 *      a MILP with a fixed node budget looks for an exact packing. Every step
 *      checks what is left, so no server is ever oversubscribed.
 * With opt_compat, stage 2 is the reference's: the LP's fractions are charged
 * as they are and progress ignores the placement.
 * Every solver limit inside a round counts work (branch-and-bound nodes,
 * simplex iterations), never time, so a round's plan does not depend on the
 * machine or its load. A round whose stage 1 or LP exhausts its work budget
 * is planned by TUNE (counted). The wall-clock limit (--opt-time-limit) is only
 * a safety cap; a round it cuts short is counted apart (opt.capped), because
 * from then on the run's numbers depend on the machine's speed.
 */
#include "scheduler_internal.h"

#include <glpk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NPOINTS (TPUT_ROWS * TPUT_COLS)
#define FIT_EPS 1e-9

/* Work budgets (docs/opt.md, "Solver limits"). Stage 1 and the LP stay far
 * below theirs: over the 13,445 rounds of the Philly and synthetic runs that
 * docs/opt.md names, stage 1 took at most 21 nodes and the LP 205 iterations.
 * The packing MILP often cannot finish. 120 nodes cost about what its former
 * 20 ms slice did; 300 find more packings (500 instead of 334 in the synthetic
 * run) but moved the average JCT by under 0.01% and cost more time. */
#define STAGE1_NODE_LIMIT 5000
#define LP_ITER_LIMIT 20000
#define PACK_NODE_LIMIT 120

struct opt_job {
    struct job *j;
    int g;
    int n_cand;
    int cand[NPOINTS]; /* point = row * TPUT_COLS + col */
    int point;         /* chosen by stage 1, possibly lowered by the rounding */
    int *cnt;          /* GPUs per server after rounding */
    double *lp;        /* stage 2 fractions per server */
};

struct opt_round {
    sched_t *s;
    struct opt_job *jobs;
    size_t n;
    int S;
    int fair_point;
    double *free_g, *cpu_av, *mem_av; /* what is still free, per server */
    double t_end;                     /* monotonic deadline: the safety cap */
    bool capped;                      /* a solver stopped at t_end this round */
    bool best_fit;                    /* place_at: best fit instead of LP order */
};

/* glp_intopt's callback: stop the search after a fixed number of nodes. */
struct node_budget {
    int limit;
    bool hit;
};

static void node_budget_cb(glp_tree *T, void *info)
{
    struct node_budget *b = info;
    int active, current, total;
    glp_ios_tree_size(T, &active, &current, &total);
    if (total > b->limit && !b->hit) {
        b->hit = true;
        glp_ios_terminate(T);
    }
}

static double pt_cpu(int p)
{
    return tput_cpu_per_gpu[p / TPUT_COLS];
}

static double pt_mem(int p)
{
    return tput_mem_per_gpu[p % TPUT_COLS];
}

/* Normalised throughput of a job at a point. A profile without a matrix runs
 * at 1 at and above its fair share and is only ever offered the fair point. */
static double pt_tput(const struct job *j, int p)
{
    return j->model->has_tput ? j->model->tput[p / TPUT_COLS][p % TPUT_COLS] : 1.0;
}

/* The largest grid value at or below v (20.83 stands for 62.5/3), else 0. */
static int grid_floor(const double *grid, int n, double v)
{
    int idx = 0;
    for (int i = 0; i < n; i++)
        if (grid[i] <= v + 0.01)
            idx = i;
    return idx;
}

static int ms_left(const struct opt_round *r)
{
    double left = r->t_end - mono_s();
    if (left <= 0.001)
        return 1;
    return left * 1000 > 1e9 ? 1000000000 : (int)(left * 1000);
}

/* The points a job may take in stage 1: at least its fair-share throughput,
 * placeable on one server per GPU, and not dominated (another point with no
 * more CPU, no more memory and no less throughput). Dropping dominated points
 * keeps the optimum value and shrinks the MILP several-fold. */
static void job_candidates(const struct opt_round *r, struct opt_job *oj)
{
    const struct job *j = oj->j;
    oj->n_cand = 0;
    if (!j->model->has_tput) {
        oj->cand[oj->n_cand++] = r->fair_point;
        return;
    }
    double fair = pt_tput(j, r->fair_point);
    bool ok[NPOINTS];
    for (int p = 0; p < NPOINTS; p++) {
        ok[p] = pt_tput(j, p) >= fair - 1e-12;
        if (!r->s->p.opt_compat)
            ok[p] = ok[p] && pt_cpu(p) <= r->s->size[RES_CPU] && pt_mem(p) <= r->s->size[RES_MEM];
    }
    for (int p = 0; p < NPOINTS; p++) {
        if (!ok[p])
            continue;
        bool dominated = false;
        for (int q = 0; q < NPOINTS && !dominated; q++)
            dominated = q != p && ok[q] && pt_cpu(q) <= pt_cpu(p) && pt_mem(q) <= pt_mem(p) &&
                        pt_tput(j, q) >= pt_tput(j, p);
        if (!dominated)
            oj->cand[oj->n_cand++] = p;
    }
}

/* A constraint matrix as GLPK takes it: (row, column, value) triplets,
 * 1-based, filled in order and handed over by trip_load. */
struct triplets {
    int *ia, *ja;
    double *ar;
    int ne;
};

static void trip_init(struct triplets *t, size_t cap)
{
    t->ia = xmalloc(sizeof *t->ia * (cap + 1));
    t->ja = xmalloc(sizeof *t->ja * (cap + 1));
    t->ar = xmalloc(sizeof *t->ar * (cap + 1));
    t->ne = 0;
}

static void trip_put(struct triplets *t, int row, int col, double v)
{
    t->ne++;
    t->ia[t->ne] = row, t->ja[t->ne] = col, t->ar[t->ne] = v;
}

static void trip_load(glp_prob *P, struct triplets *t)
{
    glp_load_matrix(P, t->ne, t->ia, t->ja, t->ar);
    free(t->ia);
    free(t->ja);
    free(t->ar);
}

/* Stage 2's problems (the LP and the packing MILP): rows 3i+1..3i+3 bound
 * server i's free GPUs, CPUs and memory; rows 3S+1+k, job k's, are the
 * caller's to bound. Column 1+kS+i is job k on server i, its entries
 * gpu, cpu and mem in the server's rows and 1 in the job's (stage2_put). */
static glp_prob *stage2_problem(const struct opt_round *r)
{
    int S = r->S;
    glp_prob *P = glp_create_prob();
    glp_set_obj_dir(P, GLP_MIN);
    glp_add_rows(P, 3 * S + (int)r->n);
    for (int i = 0; i < S; i++) {
        glp_set_row_bnds(P, 1 + 3 * i, GLP_UP, 0, r->free_g[i]);
        glp_set_row_bnds(P, 2 + 3 * i, GLP_UP, 0, r->cpu_av[i]);
        glp_set_row_bnds(P, 3 + 3 * i, GLP_UP, 0, r->mem_av[i]);
    }
    glp_add_cols(P, (int)(r->n * (size_t)S));
    return P;
}

static void stage2_put(struct triplets *t, int S, size_t k, int i, double gpu, double cpu,
                       double mem)
{
    int col = 1 + (int)k * S + i;
    trip_put(t, 1 + 3 * i, col, gpu);
    trip_put(t, 2 + 3 * i, col, cpu);
    trip_put(t, 3 + 3 * i, col, mem);
    trip_put(t, 3 * S + 1 + (int)k, col, 1);
}

/* Stage 1. 0 solved, 1 out of budget or time (TUNE plans the round), -1
 * error (round_err filled). */
static int stage1_choose_points(struct opt_round *r, double now)
{
    sched_t *s = r->s;
    double cpu_budget = 0, mem_budget = 0;
    for (int i = 0; i < r->S; i++) {
        cpu_budget += r->cpu_av[i];
        mem_budget += r->mem_av[i];
    }
    size_t ncols = 0;
    for (size_t k = 0; k < r->n; k++) {
        job_candidates(r, &r->jobs[k]);
        ncols += (size_t)r->jobs[k].n_cand;
    }
    glp_prob *P = glp_create_prob();
    glp_set_obj_dir(P, GLP_MAX);
    glp_add_rows(P, 2 + (int)r->n);
    glp_set_row_bnds(P, 1, GLP_UP, 0, cpu_budget);
    glp_set_row_bnds(P, 2, GLP_UP, 0, mem_budget);
    for (size_t k = 0; k < r->n; k++)
        glp_set_row_bnds(P, 3 + (int)k, GLP_FX, 1, 1);
    glp_add_cols(P, (int)ncols);
    struct triplets t;
    trip_init(&t, 3 * ncols);
    int col = 0;
    for (size_t k = 0; k < r->n; k++) {
        struct opt_job *oj = &r->jobs[k];
        for (int c = 0; c < oj->n_cand; c++) {
            int p = oj->cand[c];
            col++;
            glp_set_col_kind(P, col, GLP_BV);
            glp_set_obj_coef(P, col, pt_tput(oj->j, p));
            trip_put(&t, 1, col, oj->g * pt_cpu(p));
            trip_put(&t, 2, col, oj->g * pt_mem(p));
            trip_put(&t, 3 + (int)k, col, 1);
        }
    }
    trip_load(P, &t);

    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_ON;
    parm.tm_lim = ms_left(r);
    parm.mip_gap = 1e-6; /* relative; far below any difference between two choices */
    struct node_budget budget = {STAGE1_NODE_LIMIT, false};
    parm.cb_func = node_budget_cb;
    parm.cb_info = &budget;
    int rc = glp_intopt(P, &parm);
    int st = glp_mip_status(P);
    int ret = 0;
    if (rc == GLP_ETMLIM || rc == GLP_ESTOP) {
        r->capped |= rc == GLP_ETMLIM;
        ret = 1;
    } else if (rc == GLP_ENOPFS || st == GLP_NOFEAS) {
        s->round_failed = true;
        errprintf(&s->round_err,
                  "opt: round at t=%.0f s: GLPK says no choice of (CPU, memory) points fits: "
                  "%zu jobs at their fair share need more than %.0f CPUs / %.0f GB",
                  now, r->n, cpu_budget, mem_budget);
        ret = -1;
    } else if ((rc != 0 && rc != GLP_EMIPGAP) || (st != GLP_OPT && st != GLP_FEAS)) {
        s->round_failed = true;
        errprintf(&s->round_err, "opt: round at t=%.0f s: glp_intopt failed (code %d, status %d)",
                  now, rc, st);
        ret = -1;
    } else {
        col = 0;
        for (size_t k = 0; k < r->n; k++) {
            struct opt_job *oj = &r->jobs[k];
            oj->point = -1;
            for (int c = 0; c < oj->n_cand; c++) {
                col++;
                if (oj->point < 0 && glp_mip_col_val(P, col) > 0.5)
                    oj->point = oj->cand[c];
            }
            if (oj->point < 0) {
                s->round_failed = true;
                errprintf(&s->round_err, "opt: round at t=%.0f s: GLPK chose no point for job %d",
                          now, oj->j->id);
                ret = -1;
                break;
            }
        }
    }
    glp_delete_prob(P);
    return ret;
}

/* Stage 2 LP: fraction of each job on each server. 0, 1 out of iterations or
 * time, -1 error. */
static int stage2_spread(struct opt_round *r, double now)
{
    sched_t *s = r->s;
    int S = r->S;
    size_t ncols = r->n * (size_t)S;
    glp_prob *P = stage2_problem(r);
    for (size_t k = 0; k < r->n; k++)
        glp_set_row_bnds(P, 3 * S + 1 + (int)k, GLP_FX, 1, 1);
    struct triplets t;
    trip_init(&t, 4 * ncols);
    for (size_t k = 0; k < r->n; k++) {
        const struct opt_job *oj = &r->jobs[k];
        for (int i = 0; i < S; i++) {
            glp_set_col_bnds(P, 1 + (int)k * S + i, GLP_DB, 0, 1);
            stage2_put(&t, S, k, i, oj->g, oj->g * pt_cpu(oj->point), oj->g * pt_mem(oj->point));
        }
    }
    trip_load(P, &t);

    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_ON;
    parm.tm_lim = ms_left(r);
    parm.it_lim = LP_ITER_LIMIT;
    int rc = glp_simplex(P, &parm);
    int st = rc == 0 ? glp_get_status(P) : GLP_UNDEF;
    int ret = 0;
    if (rc == GLP_ETMLIM || rc == GLP_EITLIM) {
        r->capped |= rc == GLP_ETMLIM;
        ret = 1;
    } else if (rc == GLP_ENOPFS || st == GLP_NOFEAS) {
        s->round_failed = true;
        errprintf(&s->round_err,
                  "opt: round at t=%.0f s: GLPK says the chosen points of %zu jobs cannot be "
                  "spread over the servers' free GPUs, CPUs and memory",
                  now, r->n);
        ret = -1;
    } else if (rc != 0 || (st != GLP_OPT && st != GLP_FEAS)) {
        s->round_failed = true;
        errprintf(&s->round_err, "opt: round at t=%.0f s: glp_simplex failed (code %d, status %d)",
                  now, rc, st);
        ret = -1;
    } else {
        for (size_t k = 0; k < r->n; k++)
            for (int i = 0; i < S; i++) {
                double x = glp_get_col_prim(P, 1 + (int)k * S + i);
                r->jobs[k].lp[i] = x < 0 ? 0 : x > 1 ? 1 : x;
            }
    }
    glp_delete_prob(P);
    return ret;
}

/* Stage 2, exact: integer GPUs of each job on each server, any assignment
 * that fits every server (objective 0, so the first integer solution is
 * optimal). Depth first, branching on the last fractional variable (it finds
 * the packings of the Philly and synthetic runs in fewer nodes, each node
 * cheaper, than GLPK's default Driebeck-Tomlin rule), at most
 * PACK_NODE_LIMIT nodes. 1 and fills oj->cnt if found; 0 if GLPK proved there
 * is none or ran out of nodes. */
static int stage2_pack(struct opt_round *r)
{
    int S = r->S;
    size_t ncols = r->n * (size_t)S;
    glp_prob *P = stage2_problem(r);
    for (size_t k = 0; k < r->n; k++)
        glp_set_row_bnds(P, 3 * S + 1 + (int)k, GLP_FX, r->jobs[k].g, r->jobs[k].g);
    struct triplets t;
    trip_init(&t, 4 * ncols);
    for (size_t k = 0; k < r->n; k++) {
        const struct opt_job *oj = &r->jobs[k];
        for (int i = 0; i < S; i++) {
            int col = 1 + (int)k * S + i;
            double ub = oj->g < r->free_g[i] ? oj->g : r->free_g[i];
            glp_set_col_kind(P, col, GLP_IV);
            if (ub > 0)
                glp_set_col_bnds(P, col, GLP_DB, 0, ub);
            else
                glp_set_col_bnds(P, col, GLP_FX, 0, 0);
            stage2_put(&t, S, k, i, 1, pt_cpu(oj->point), pt_mem(oj->point));
        }
    }
    trip_load(P, &t);
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_ON;
    parm.bt_tech = GLP_BT_DFS; /* feasibility: the first integer solution is optimal */
    parm.br_tech = GLP_BR_LFV;
    parm.tm_lim = ms_left(r);
    struct node_budget budget = {PACK_NODE_LIMIT, false};
    parm.cb_func = node_budget_cb;
    parm.cb_info = &budget;
    int rc = glp_intopt(P, &parm);
    int st = glp_mip_status(P);
    int found = 0;
    r->capped |= rc == GLP_ETMLIM;
    /* a solution found before the budget ran out is as good as any (objective 0) */
    if ((rc == 0 || rc == GLP_ESTOP) && (st == GLP_OPT || st == GLP_FEAS)) {
        found = 1;
        for (size_t k = 0; k < r->n && found; k++) {
            struct opt_job *oj = &r->jobs[k];
            int sum = 0;
            for (int i = 0; i < S; i++) {
                oj->cnt[i] = (int)lround(glp_mip_col_val(P, 1 + (int)k * S + i));
                sum += oj->cnt[i];
            }
            found = sum == oj->g;
        }
    }
    glp_delete_prob(P);
    if (!found)
        return 0;
    /* check it in exact terms before trusting it */
    double *g = xcalloc((size_t)S, sizeof *g), *c = xcalloc((size_t)S, sizeof *c),
           *m = xcalloc((size_t)S, sizeof *m);
    for (size_t k = 0; k < r->n; k++)
        for (int i = 0; i < S; i++) {
            g[i] += r->jobs[k].cnt[i];
            c[i] += r->jobs[k].cnt[i] * pt_cpu(r->jobs[k].point);
            m[i] += r->jobs[k].cnt[i] * pt_mem(r->jobs[k].point);
        }
    for (int i = 0; i < S; i++)
        if (g[i] > r->free_g[i] || c[i] > r->cpu_av[i] + FIT_EPS || m[i] > r->mem_av[i] + FIT_EPS)
            found = 0;
    free(g);
    free(c);
    free(m);
    return found;
}

/* How many GPUs at per-GPU vector (vc, vm) server i can still take. */
static int server_fit(const struct opt_round *r, int i, double vc, double vm)
{
    int k = (int)r->free_g[i];
    while (k > 0 && (k * vc > r->cpu_av[i] + FIT_EPS || k * vm > r->mem_av[i] + FIT_EPS))
        k--;
    return k;
}

static void reserve(struct opt_round *r, struct opt_job *oj, int sign)
{
    double vc = pt_cpu(oj->point), vm = pt_mem(oj->point);
    for (int i = 0; i < r->S; i++) {
        r->free_g[i] -= sign * oj->cnt[i];
        r->cpu_av[i] -= sign * oj->cnt[i] * vc;
        r->mem_av[i] -= sign * oj->cnt[i] * vm;
    }
}

/* Place all of oj's GPUs at point p on what is left, if possible: one server
 * if any fits them all (most LP mass first, then the fullest such server),
 * else spread over servers in the same preference. Fills oj->cnt. */
static bool place_at(struct opt_round *r, struct opt_job *oj, int p)
{
    int S = r->S;
    double vc = pt_cpu(p), vm = pt_mem(p);
    int *order = xmalloc(sizeof *order * (size_t)S);
    int *fit = xmalloc(sizeof *fit * (size_t)S);
    for (int i = 0; i < S; i++) {
        order[i] = i;
        fit[i] = server_fit(r, i, vc, vm);
    }
    /* insertion sort: LP fraction desc, free GPUs asc, id asc */
    for (int a = 1; a < S; a++) {
        int x = order[a], b = a - 1;
        while (b >= 0) {
            int y = order[b];
            bool before;
            if (r->best_fit) /* least CPU left, then fewest free GPUs */
                before = r->cpu_av[x] < r->cpu_av[y] - FIT_EPS ||
                         (fabs(r->cpu_av[x] - r->cpu_av[y]) <= FIT_EPS &&
                          r->free_g[x] < r->free_g[y]);
            else
                before = oj->lp[x] > oj->lp[y] + 1e-9 ||
                         (fabs(oj->lp[x] - oj->lp[y]) <= 1e-9 && r->free_g[x] < r->free_g[y]);
            if (!before)
                break;
            order[b + 1] = y;
            b--;
        }
        order[b + 1] = x;
    }
    memset(oj->cnt, 0, sizeof *oj->cnt * (size_t)S);
    bool ok = false;
    for (int a = 0; a < S && !ok; a++)
        if (fit[order[a]] >= oj->g) {
            oj->cnt[order[a]] = oj->g;
            ok = true;
        }
    if (!ok) {
        int left = oj->g;
        for (int a = 0; a < S && left > 0; a++) {
            int take = fit[order[a]] < left ? fit[order[a]] : left;
            oj->cnt[order[a]] = take;
            left -= take;
        }
        ok = left == 0;
        if (!ok)
            memset(oj->cnt, 0, sizeof *oj->cnt * (size_t)S);
    }
    free(order);
    free(fit);
    if (ok) {
        oj->point = p;
        reserve(r, oj, +1);
    }
    return ok;
}

static const struct job *cmp_job; /* only during qsort below; single-threaded */

/* Lower points: most throughput first, then less CPU, then less memory. */
static int lower_cmp(const void *a, const void *b)
{
    int p = *(const int *)a, q = *(const int *)b;
    double tp = pt_tput(cmp_job, p), tq = pt_tput(cmp_job, q);
    if (tp != tq)
        return tp > tq ? -1 : 1;
    return p - q; /* row-major: less CPU first, then less memory */
}

/* The point with no more CPU and no more memory than both p and q. */
static int point_min(int p, int q)
{
    int row = p / TPUT_COLS < q / TPUT_COLS ? p / TPUT_COLS : q / TPUT_COLS;
    int col = p % TPUT_COLS < q % TPUT_COLS ? p % TPUT_COLS : q % TPUT_COLS;
    return row * TPUT_COLS + col;
}

/* p, or failing that the best point needing no more CPU and memory per GPU. */
static bool place_at_or_below(struct opt_round *r, struct opt_job *oj, int p)
{
    if (place_at(r, oj, p))
        return true;
    int lower[NPOINTS], nl = 0;
    for (int q = 0; q < NPOINTS; q++)
        if (q != p && pt_cpu(q) <= pt_cpu(p) && pt_mem(q) <= pt_mem(p))
            lower[nl++] = q;
    cmp_job = oj->j;
    qsort(lower, (size_t)nl, sizeof *lower, lower_cmp);
    for (int a = 0; a < nl; a++)
        if (place_at(r, oj, lower[a]))
            return true;
    return false;
}

/* The last resort for a job that fits nowhere (Tune's peer adjustment, in
 * OPT's terms): on the servers with free GPUs, most free first, lower the
 * placed jobs to at most the fair point (their usage only shrinks, on every
 * server they use), retrying the job at up to the fair point after each. */
static bool make_room(struct opt_round *r, struct opt_job *oj, const bool *placed, long *lowered)
{
    int S = r->S;
    bool *done = xcalloc((size_t)S, sizeof *done);
    bool ok = false;
    int target = point_min(oj->point, r->fair_point);
    for (;;) {
        int best = -1;
        for (int i = 0; i < S; i++)
            if (!done[i] && r->free_g[i] > 0 && (best < 0 || r->free_g[i] > r->free_g[best]))
                best = i;
        if (best < 0)
            break;
        done[best] = true;
        for (size_t k = 0; k < r->n; k++) {
            struct opt_job *pj = &r->jobs[k];
            if (!placed[k] || pj->cnt[best] == 0)
                continue;
            int low = point_min(pj->point, r->fair_point);
            if (low == pj->point)
                continue;
            reserve(r, pj, -1);
            pj->point = low;
            reserve(r, pj, +1);
            (*lowered)++;
        }
        if (place_at_or_below(r, oj, target)) {
            ok = true;
            break;
        }
    }
    free(done);
    return ok;
}

/* Round the LP: (1) every job keeps floor(fraction x GPUs) GPUs per server
 * (this never uses more than the LP did); (2) in policy order, each job left
 * with a remainder gives its floors back and is placed whole at its point,
 * else at the best point that needs no more CPU and no more memory per GPU,
 * else after make_room(); else it does not run this round. Every step checks
 * what is left on each server, so no server is ever oversubscribed. */
static void stage2_round(struct opt_round *r, long *lowered, long *unplaced)
{
    int S = r->S;
    bool *whole = xmalloc(sizeof *whole * (r->n + 1));
    for (size_t k = 0; k < r->n; k++) {
        struct opt_job *oj = &r->jobs[k];
        int sum = 0;
        for (int i = 0; i < S; i++) {
            oj->cnt[i] = (int)floor(oj->lp[i] * oj->g + 1e-6);
            if (sum + oj->cnt[i] > oj->g)
                oj->cnt[i] = oj->g - sum;
            sum += oj->cnt[i];
        }
        whole[k] = sum == oj->g;
        if (!whole[k])
            continue;
        /* the floors may exceed the LP by 1e-6 GPU: check in exact terms */
        bool fits = true;
        double vc = pt_cpu(oj->point), vm = pt_mem(oj->point);
        for (int i = 0; i < S; i++)
            if (oj->cnt[i] && (oj->cnt[i] > r->free_g[i] ||
                               oj->cnt[i] * vc > r->cpu_av[i] + FIT_EPS ||
                               oj->cnt[i] * vm > r->mem_av[i] + FIT_EPS))
                fits = false;
        if (fits)
            reserve(r, oj, +1);
        else
            whole[k] = false;
    }
    for (size_t k = 0; k < r->n; k++) {
        struct opt_job *oj = &r->jobs[k];
        if (whole[k])
            continue;
        int p = oj->point;
        if (place_at(r, oj, p)) {
            whole[k] = true;
            continue;
        }
        bool ok = place_at_or_below(r, oj, p) || make_room(r, oj, whole, lowered);
        whole[k] = ok;
        if (ok) {
            (*lowered)++;
            LOG(LOG_DEBUG, "opt", "job %d: lowered to %g CPU, %g GB per GPU to fit", oj->j->id,
                pt_cpu(oj->point), pt_mem(oj->point));
        } else {
            (*unplaced)++;
            oj->point = -1;
            LOG(LOG_INFO, "opt", "job %d: no server room at any point; not run this round",
                oj->j->id);
        }
    }
    free(whole);
}

static const struct opt_round *ffd_round; /* only during qsort; single-threaded */

static int ffd_cmp(const void *a, const void *b)
{
    const struct opt_job *x = &ffd_round->jobs[*(const size_t *)a];
    const struct opt_job *y = &ffd_round->jobs[*(const size_t *)b];
    double cx = x->g * pt_cpu(x->point), cy = y->g * pt_cpu(y->point);
    if (cx != cy)
        return cx > cy ? -1 : 1;
    double mx = x->g * pt_mem(x->point), my = y->g * pt_mem(y->point);
    if (mx != my)
        return mx > my ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* First fit decreasing: the biggest CPU demand first, each on the server
 * with the least CPU left that still fits it. True if every job fits at its
 * stage-1 point (cnt filled, resources taken); false leaves r untouched. */
static bool stage2_ffd(struct opt_round *r)
{
    size_t n = r->n;
    int S = r->S;
    size_t *idx = xmalloc(sizeof *idx * (n + 1));
    double *avail = xmalloc(sizeof *avail * 3 * (size_t)S);
    memcpy(avail, r->free_g, sizeof *avail * (size_t)S);
    memcpy(avail + S, r->cpu_av, sizeof *avail * (size_t)S);
    memcpy(avail + 2 * S, r->mem_av, sizeof *avail * (size_t)S);
    for (size_t k = 0; k < n; k++)
        idx[k] = k;
    ffd_round = r;
    qsort(idx, n, sizeof *idx, ffd_cmp);
    r->best_fit = true;
    bool ok = true;
    for (size_t a = 0; a < n && ok; a++)
        ok = place_at(r, &r->jobs[idx[a]], r->jobs[idx[a]].point);
    r->best_fit = false;
    if (!ok) {
        memcpy(r->free_g, avail, sizeof *avail * (size_t)S);
        memcpy(r->cpu_av, avail + S, sizeof *avail * (size_t)S);
        memcpy(r->mem_av, avail + 2 * S, sizeof *avail * (size_t)S);
    }
    free(idx);
    free(avail);
    return ok;
}

/* Stage 2 without --opt-compat: round the LP; if that had to lower or drop a
 * job, look for an exact integer packing of the stage-1 points (a MILP with a
 * node budget) and keep it if there is one. */
static void stage2_place(struct opt_round *r)
{
    int S = r->S;
    size_t n = r->n;
    int *points = xmalloc(sizeof *points * (n + 1));
    double *avail = xmalloc(sizeof *avail * 3 * (size_t)S);
    for (size_t k = 0; k < n; k++)
        points[k] = r->jobs[k].point;
    memcpy(avail, r->free_g, sizeof *avail * (size_t)S);
    memcpy(avail + S, r->cpu_av, sizeof *avail * (size_t)S);
    memcpy(avail + 2 * S, r->mem_av, sizeof *avail * (size_t)S);
    long lowered = 0, unplaced = 0;
    stage2_round(r, &lowered, &unplaced);
    if (lowered + unplaced > 0) {
        int *cnt = xmalloc(sizeof *cnt * n * (size_t)S);
        int *rpoints = xmalloc(sizeof *rpoints * (n + 1));
        for (size_t k = 0; k < n; k++) {
            memcpy(cnt + k * (size_t)S, r->jobs[k].cnt, sizeof *cnt * (size_t)S);
            rpoints[k] = r->jobs[k].point;
            r->jobs[k].point = points[k];
        }
        memcpy(r->free_g, avail, sizeof *avail * (size_t)S);
        memcpy(r->cpu_av, avail + S, sizeof *avail * (size_t)S);
        memcpy(r->mem_av, avail + 2 * S, sizeof *avail * (size_t)S);
        if (stage2_pack(r)) {
            r->s->opt.packed++;
            lowered = unplaced = 0;
        } else {
            for (size_t k = 0; k < n; k++) {
                memcpy(r->jobs[k].cnt, cnt + k * (size_t)S, sizeof *cnt * (size_t)S);
                r->jobs[k].point = rpoints[k];
            }
        }
        free(cnt);
        free(rpoints);
    }
    r->s->opt.lowered += lowered;
    r->s->opt.unplaced += unplaced;
    free(points);
    free(avail);
}

static double job_best_tput(const struct job *j)
{
    double best = 0;
    for (int p = 0; p < NPOINTS; p++)
        if (pt_tput(j, p) > best)
            best = pt_tput(j, p);
    return best;
}

static void set_point(struct opt_job *oj)
{
    struct job *j = oj->j;
    struct job_priv *pv = sched__priv(j);
    pv->opt_row = oj->point / TPUT_COLS;
    pv->opt_col = oj->point % TPUT_COLS;
    pv->opt_tput = pt_tput(j, oj->point);
    j->demoted = pv->opt_tput < job_best_tput(j);
}

/* Give each job its rounded GPUs: the first free GPU ids of each server. */
static void commit_rounded(struct opt_round *r)
{
    sched_t *s = r->s;
    for (size_t k = 0; k < r->n; k++) {
        struct opt_job *oj = &r->jobs[k];
        if (oj->point < 0)
            continue;
        int *gpus = xmalloc(sizeof *gpus * (size_t)oj->g);
        struct job_share *sh = xmalloc(sizeof *sh * (size_t)oj->g);
        int ng = 0, nsh = 0;
        double vc = pt_cpu(oj->point), vm = pt_mem(oj->point);
        for (int i = 0; i < r->S; i++) {
            if (oj->cnt[i] == 0)
                continue;
            int g = sched__free_from(s, i, 0);
            for (int k = 0; k < oj->cnt[i] && g >= 0; k++, g = sched__free_from(s, i, g + 1))
                gpus[ng++] = g;
            double c = oj->cnt[i];
            sh[nsh++] = (struct job_share){i, c, c * vc, c * vm, c * s->fair[RES_SSPEED]};
        }
        set_point(oj);
        sched__commit(s, oj->j, gpus, ng, sh, nsh, false, true);
        sched__placed_add(s, oj->j);
        free(gpus);
        free(sh);
    }
}

/* --opt-compat: charge the LP's fractions as they are (no rounding; the
 * reference rounds them to 2 decimals, which can oversubscribe a server by a
 * hair) and take the job's GPU ids from the front of the free list. */
static void commit_compat(struct opt_round *r)
{
    sched_t *s = r->s;
    for (size_t k = 0; k < r->n; k++) {
        struct opt_job *oj = &r->jobs[k];
        int *gpus = xmalloc(sizeof *gpus * (size_t)oj->g);
        struct job_share *sh = xmalloc(sizeof *sh * (size_t)(r->S + 1));
        int nsh = 0;
        double vc = pt_cpu(oj->point), vm = pt_mem(oj->point);
        int ng = 0; /* the first free GPUs in id order */
        for (int i = 0; i < r->S && ng < oj->g; i++)
            for (int g = sched__free_from(s, i, 0); g >= 0 && ng < oj->g;
                 g = sched__free_from(s, i, g + 1))
                gpus[ng++] = g;
        for (int i = 0; i < r->S; i++) {
            double x = oj->lp[i] * oj->g;
            if (x > 1e-9)
                sh[nsh++] = (struct job_share){i, x, x * vc, x * vm, x * s->fair[RES_SSPEED]};
        }
        /* a share per server can outnumber the GPUs here: widen the array
         * (it holds nothing now; job_destroy frees it) */
        job_reserve_shares(oj->j, nsh);
        set_point(oj);
        sched__priv(oj->j)->opt_no_penalty = true;
        sched__commit(s, oj->j, gpus, oj->g, sh, nsh, false, true);
        sched__placed_add(s, oj->j);
        free(gpus);
        free(sh);
    }
}

static int opt_plan(sched_t *s, struct job **jobs, size_t n, double now)
{
    if (n == 0)
        return 0;
    double t0 = mono_s();
    double limit = s->p.opt_time_limit_s > 0 ? s->p.opt_time_limit_s : 10;
    struct opt_round r = {.s = s, .n = n, .S = s->n_servers, .t_end = t0 + limit};
    int S = r.S;
    r.free_g = xcalloc((size_t)S, sizeof *r.free_g);
    r.cpu_av = xmalloc(sizeof *r.cpu_av * (size_t)S);
    r.mem_av = xmalloc(sizeof *r.mem_av * (size_t)S);
    for (int i = 0; i < S; i++)
        r.free_g[i] = s->servers[i].n_free;
    for (int i = 0; i < S; i++) {
        r.cpu_av[i] = s->servers[i].cap[RES_CPU] - s->servers[i].used[RES_CPU];
        r.mem_av[i] = s->servers[i].cap[RES_MEM] - s->servers[i].used[RES_MEM];
    }
    /* the fair share per GPU, on the grid (docs/opt.md) */
    r.fair_point = grid_floor(tput_cpu_per_gpu, TPUT_ROWS, s->fair[RES_CPU]) * TPUT_COLS +
                   grid_floor(tput_mem_per_gpu, TPUT_COLS, s->fair[RES_MEM]);
    r.jobs = xcalloc(n, sizeof *r.jobs);
    int *cnt = xcalloc(n * (size_t)S, sizeof *cnt);
    double *lp = xcalloc(n * (size_t)S, sizeof *lp);
    for (size_t k = 0; k < n; k++) {
        r.jobs[k].j = jobs[k];
        r.jobs[k].g = jobs[k]->gpus - jobs[k]->n_alloc;
        r.jobs[k].cnt = cnt + k * (size_t)S;
        r.jobs[k].lp = lp + k * (size_t)S;
    }
    glp_term_out(GLP_OFF);
    /* a limit already spent (tiny limits in tests) is a timeout, not a race */
    r.capped = mono_s() >= r.t_end;
    int rc = r.capped ? 1 : stage1_choose_points(&r, now);
    bool ffd = false;
    if (rc == 0 && !s->p.opt_compat)
        ffd = stage2_ffd(&r);
    if (rc == 0 && !ffd)
        rc = stage2_spread(&r, now);
    if (rc == 0 && !s->p.opt_compat && !ffd)
        stage2_place(&r);
    double dt = mono_s() - t0;
    s->opt.rounds++;
    s->opt.capped += r.capped;
    s->opt.solve_s_sum += dt;
    if (dt > s->opt.solve_s_max)
        s->opt.solve_s_max = dt;
    if (rc == 0) {
        if (s->p.opt_compat) {
            commit_compat(&r);
        } else {
            commit_rounded(&r);
        }
    } else if (rc == 1) {
        s->opt.fallbacks++;
        if (!r.capped)
            LOG(s->opt.fallbacks == 1 ? LOG_WARN : LOG_INFO, "opt",
                "round at t=%.0f s: the solver used up its work budget with %zu jobs; TUNE "
                "plans this round", now, n);
    } else {
        LOG(LOG_ERROR, "opt", "%s", s->round_err.msg);
    }
    if (r.capped)
        LOG(s->opt.capped == 1 ? LOG_WARN : LOG_INFO, "opt",
            "round at t=%.0f s: the solver hit the %.3g s safety cap (--opt-time-limit) with "
            "%zu jobs; %s, and the run's numbers now depend on this machine's speed", now,
            limit, n, rc == 1 ? "TUNE plans this round" : "the rounding's placement stands");
    free(cnt);
    free(lp);
    free(r.jobs);
    free(r.free_g);
    free(r.cpu_av);
    free(r.mem_av);
    return rc;
}

const struct sched_mode_ops sched__mode_opt = {
    .name = "opt",
    .summary = "Synergy-OPT: GLPK picks each job's CPU/memory point, then places it",
    .fair = false,
    .allocate = NULL,
    .plan = opt_plan,
};
