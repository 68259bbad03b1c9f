#include "tlsweep/cells.h"

#include "tlsweep/bmap.h"
#include "tlsweep/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tls_cell_grid_init(tls_cell_grid *g, const tls_config *c) {
    g->seeds = c->axis[TLS_AXIS_SEED].n;
    g->stride = 1;
    for (int a = TLS_AXIS_SEED + 1; a < c->naxes; a++) g->stride *= c->axis[a].n;
    g->ncells = c->grid_size / g->seeds;
}

void tls_cells_rule(const tls_config *c, tls_decide_rule *rule) {
    tls_decide_rule_of(rule, c->decide.cs, c->decide.alpha, c->decide.delta, c->decide.round,
                       c->axis[TLS_AXIS_SEED].n);
}

const char *tls_cells_rule_text(const tls_config *c) {
    return c->decide.cs == TLS_DECIDE_CS_ASYMPTOTIC
               ? "asymptotic (time-uniform central limit) confidence sequence (Waudby-Smith et "
                 "al. 2021; tightest at 20 seeds, standard deviation floored at 0.01, each "
                 "round's own interval) for every decision: valid only as the seeds grow and "
                 "when every mode of the differences shows within the seeds run; a comparison "
                 "is given up from 20 seeds when no decision is reachable within max_seeds "
                 "(docs/decisions-study.md)"
               : "betting confidence sequence (Waudby-Smith & Ramdas 2023, bets truncated at c = "
                 "0.9, a running intersection) for every decision: the chance of any wrong "
                 "decision of a cell and comparison is at most alpha for every distribution of "
                 "the differences on [-1, 1], at any stopping time; a comparison is given up "
                 "from 20 seeds when no decision is reachable within max_seeds "
                 "(docs/decisions-study.md)";
}

struct tls_cell_run {
    int ncompare;
    int a[TLS_MAX_COMPARE], b[TLS_MAX_COMPARE]; /* the comparisons' methods */
    int max_seeds;
    int seeds; /* taken */
    int stop;  /* TLS_CELL_* */
    tls_decide *d[TLS_MAX_COMPARE];
    int done[TLS_MAX_COMPARE]; /* decided or given up: takes no more differences */
    int futile;                /* a comparison was given up */
    tls_cell_decision last[TLS_MAX_COMPARE];
};

int tls_cell_run_create(tls_cell_run **out, const tls_config *c) {
    *out = NULL;
    tls_cell_run *cr;
    TLS_ALLOC(cr, 1);
    tls_decide_rule rule;
    tls_cells_rule(c, &rule);
    cr->ncompare = c->decide.compare.n;
    cr->max_seeds = rule.max_seeds;
    int rc = TLS_OK;
    for (int k = 0; k < cr->ncompare && rc == TLS_OK; k++) {
        cr->a[k] = c->decide.compare.v[k][0];
        cr->b[k] = c->decide.compare.v[k][1];
        rc = tls_decide_create(&cr->d[k], &rule);
    }
    if (rc) {
        tls_cell_run_destroy(&cr);
        return rc;
    }
    tls_cell_run_reset(cr);
    *out = cr;
    return TLS_OK;
}

void tls_cell_run_destroy(tls_cell_run **crp) {
    tls_cell_run *cr = *crp;
    if (!cr) return;
    for (int k = 0; k < cr->ncompare; k++) tls_decide_destroy(&cr->d[k]);
    TLS_FREE(*crp);
}

void tls_cell_run_reset(tls_cell_run *cr) {
    cr->seeds = 0;
    cr->futile = 0;
    cr->stop = TLS_CELL_OPEN;
    for (int k = 0; k < cr->ncompare; k++) {
        tls_decide_reset(cr->d[k]);
        cr->done[k] = 0;
        cr->last[k] =
            (tls_cell_decision){TLS_DECIDE_UNDECIDED, 0, -1.0, 1.0, NAN, 1.0, TLS_BMAP_MEASURED};
    }
}

int tls_cell_run_push(tls_cell_run *cr, const double acc[TLS_NMETHODS]) {
    if (cr->stop != TLS_CELL_OPEN) return 1;
    cr->seeds++;
    int open = 0;
    for (int k = 0; k < cr->ncompare; k++) {
        if (cr->done[k]) continue;
        cr->last[k].seeds_used = cr->seeds;
        double x = acc[cr->a[k]] - acc[cr->b[k]];
        int checked = 0;
        if (isfinite(x) && tls_decide_push(cr->d[k], x, &checked) == TLS_OK && checked) {
            tls_decide_result r;
            tls_decide_get(cr->d[k], &r);
            cr->last[k] = (tls_cell_decision){r.decision, cr->seeds, r.cs_low,         r.cs_high,
                                              r.mean,     r.evalue,  TLS_BMAP_MEASURED};
            cr->done[k] = r.decision != TLS_DECIDE_UNDECIDED || r.futile;
            cr->futile |= r.futile;
        }
        open += !cr->done[k];
    }
    if (!open)
        cr->stop = cr->futile ? TLS_CELL_FUTILE : TLS_CELL_DECIDED;
    else if (cr->seeds >= cr->max_seeds)
        cr->stop = TLS_CELL_BUDGET;
    return cr->stop != TLS_CELL_OPEN;
}

int tls_cell_run_seeds(const tls_cell_run *cr) {
    return cr->seeds;
}

int tls_cell_run_stop(const tls_cell_run *cr) {
    return cr->stop;
}

void tls_cell_run_get(const tls_cell_run *cr, tls_cell_decision *out) {
    memcpy(out, cr->last, sizeof(tls_cell_decision) * (size_t)cr->ncompare);
}

/* ---- every cell of a part ------------------------------------------------------ */

int64_t tls_cells_in(const tls_cell_grid *g, tls_part p) {
    return p.seeds ? (g->ncells + p.n - p.k) / p.n : g->ncells;
}

int64_t tls_cells_id(tls_part p, int64_t j) {
    return p.seeds ? j * p.n + (p.k - 1) : j;
}

/* Runs cell `cell` from the records: its seeds in order up to its first
 * missing one or until it stops. */
static void replay_cell(tls_cell_run *run, const tls_cell_grid *g, tls_part p, int64_t cell,
                        const double *acc, const int8_t *have) {
    tls_cell_run_reset(run);
    for (int s = 0; s < g->seeds; s++) {
        int64_t pos = tls_part_pos(p, tls_cell_index(g, cell, s));
        if (!have[pos] || tls_cell_run_push(run, acc + pos * TLS_NMETHODS)) break;
    }
}

/* Marks the seeds from `from` on of a cell that will never take them (those
 * without a record) as not needed; returns how many. */
static int64_t unneeded_from(const tls_cell_grid *g, tls_part p, int64_t cell, int from,
                             const int8_t *have, int8_t *not_needed) {
    int64_t n = 0;
    for (int s = from; s < g->seeds; s++) {
        int64_t pos = tls_part_pos(p, tls_cell_index(g, cell, s));
        if (!have[pos]) not_needed[pos] = 1, n++;
    }
    return n;
}

/* A cell no seed of which ran: no decision measured. */
static void not_run(tls_cell_decision *out, int K) {
    for (int k = 0; k < K; k++)
        out[k] = (tls_cell_decision){-1, 0, NAN, NAN, NAN, NAN, TLS_BMAP_UNKNOWN};
}

static int on_need(void *ctx, int64_t cell, int level) {
    (void)level;
    ((int8_t *)ctx)[cell] = 1;
    return TLS_OK;
}

/* The boundary mode: the cells the map needs, in its canonical order
 * (level, cell) -- what the plan runs, whatever the schedule (bmap.h,
 * plan.c) -- then the inference for the others. stop[] as in the sequential
 * mode, TLS_CELL_NOT_RUN for the cells the map did not need and
 * TLS_CELL_TRAININGS for those decide.max_trainings left out. Returns the
 * configurations not needed, or -1. */
static int64_t replay_map(const tls_config *c, const tls_cell_grid *g, const double *acc,
                          const int8_t *have, tls_cell_run *run, tls_cell_decision *out,
                          int8_t *stop, int8_t *not_needed) {
    tls_part whole = {.k = 1, .n = 1};
    int K = c->decide.compare.n;
    int64_t n = g->ncells, budget = c->decide.max_trainings, spent = 0, unneeded = 0;
    tls_bmap *map = NULL;
    int8_t *needed = calloc((size_t)(n ? n : 1), 1), *done = calloc((size_t)(n ? n : 1), 1);
    int8_t *dec = calloc((size_t)(n * K + 1), 1), *ran = calloc((size_t)(n ? n : 1), 1);
    int8_t *src = calloc((size_t)(n * K + 1), 1);
    int rc = needed && done && dec && ran && src ? tls_bmap_create(&map, c) : TLS_ERR_NOMEM;
    if (rc == TLS_OK) rc = tls_bmap_start(map, on_need, needed);
    int cut = 0, blocked = 0; /* blocked: an open cell under a budget hides what comes after */
    for (int level = 0; rc == TLS_OK && level < 128; level++)
        for (int64_t cell = 0; cell < n && rc == TLS_OK; cell++) {
            if (!needed[cell] || done[cell] || tls_bmap_level(map, cell) != level) continue;
            done[cell] = 1;
            cut |= !blocked && budget > 0 && spent + g->seeds > budget;
            if (blocked || cut) {
                stop[cell] = (int8_t)(cut ? TLS_CELL_TRAININGS : TLS_CELL_OPEN);
                not_run(out + cell * K, K);
                if (cut) unneeded += unneeded_from(g, whole, cell, 0, have, not_needed);
                continue;
            }
            replay_cell(run, g, whole, cell, acc, have);
            int seeds = tls_cell_run_seeds(run), dk[TLS_MAX_COMPARE];
            stop[cell] = (int8_t)tls_cell_run_stop(run);
            tls_cell_run_get(run, out + cell * K);
            ran[cell] = seeds > 0;
            spent += seeds;
            if (stop[cell] == TLS_CELL_OPEN) {
                blocked |= budget > 0;
                continue;
            }
            unneeded += unneeded_from(g, whole, cell, seeds, have, not_needed);
            for (int k = 0; k < K; k++)
                dk[k] = out[cell * K + k].decision, dec[cell * K + k] = (int8_t)dk[k];
            rc = tls_bmap_stopped(map, cell, dk, on_need, needed);
        }
    for (int64_t cell = 0; rc == TLS_OK && cell < n; cell++) {
        if (needed[cell]) continue;
        stop[cell] = TLS_CELL_NOT_RUN;
        not_run(out + cell * K, K);
        unneeded += unneeded_from(g, whole, cell, 0, have, not_needed);
    }
    if (rc == TLS_OK) {
        tls_bmap_infer(map, ran, dec, src);
        for (int64_t i = 0; i < n * K; i++)
            if (!ran[i / K] && src[i] == TLS_BMAP_INFERRED)
                out[i].decision = dec[i], out[i].source = TLS_BMAP_INFERRED;
    }
    tls_bmap_destroy(&map);
    free(needed), free(done), free(dec), free(ran), free(src);
    return rc == TLS_OK ? unneeded : -1;
}

int64_t tls_cells_replay(const tls_config *c, tls_part p, int64_t count, const double *acc,
                         const int8_t *have, tls_cell_decision *out, int8_t *stop,
                         int8_t *not_needed) {
    tls_cell_grid g;
    tls_cell_grid_init(&g, c);
    tls_cell_run *run = NULL;
    if (tls_cell_run_create(&run, c) != TLS_OK) return -1;
    int K = c->decide.compare.n;
    int64_t n = tls_cells_in(&g, p), unneeded = 0;
    memset(not_needed, 0, (size_t)count);
    if (c->decide.mode == TLS_MODE_BOUNDARY) /* one part (setup.c) */
        unneeded = replay_map(c, &g, acc, have, run, out, stop, not_needed);
    else
        for (int64_t j = 0; j < n; j++) {
            int64_t cell = tls_cells_id(p, j);
            replay_cell(run, &g, p, cell, acc, have);
            stop[j] = (int8_t)tls_cell_run_stop(run);
            tls_cell_run_get(run, out + j * K);
            if (stop[j] != TLS_CELL_OPEN)
                unneeded += unneeded_from(&g, p, cell, tls_cell_run_seeds(run), have, not_needed);
        }
    tls_cell_run_destroy(&run);
    return unneeded;
}

int tls_cells_ebh(const tls_config *c, int64_t n, tls_cell_decision *out, int64_t *kept,
                  int64_t *signs) {
    int K = c->decide.compare.n;
    *kept = *signs = 0;
    int64_t m = 0; /* the measured (cell, comparison) pairs: the family */
    for (int64_t i = 0; i < n * K; i++) m += out[i].source == TLS_BMAP_MEASURED;
    if (c->decide.multiplicity != TLS_MULT_EBH || m == 0) return TLS_OK;
    if (m > INT32_MAX) return TLS_ERR_INPUT;
    double *e = malloc(sizeof(double) * 2 * (size_t)m);
    int *reject = malloc(sizeof(int) * (size_t)m);
    if (!e || !reject) {
        free(e), free(reject);
        return TLS_ERR_NOMEM;
    }
    int64_t j = 0;
    for (int64_t i = 0; i < n * K; i++)
        if (out[i].source == TLS_BMAP_MEASURED) e[j++] = out[i].evalue;
    tls_decide_ebh(reject, e, (int)m, c->decide.alpha, e + m);
    j = 0;
    for (int64_t i = 0; i < n * K; i++) {
        if (out[i].source != TLS_BMAP_MEASURED) continue;
        int sign = out[i].decision == TLS_DECIDE_HELPS || out[i].decision == TLS_DECIDE_HURTS;
        *signs += sign;
        if (sign && !reject[j]) out[i].decision = TLS_DECIDE_UNDECIDED;
        *kept += sign && reject[j];
        j++;
    }
    free(e), free(reject);
    return TLS_OK;
}

/* clang-format off */
const tls_cell_field tls_cell_fields[] = {
    {"decision", TLS_T_I8, TLS_CELL_DECISION, "1",
     "the cell's decision on the comparison A:B: A helps (its confidence sequence for the mean of "
     "acc_A - acc_B over seeds lies above 0), hurts (below 0), equivalent (inside +-decide.delta) "
     "or undecided (fill: not known; see decision_source)", "0 1 2 3",
     "undecided helps hurts equivalent"},
    {"decision_source", TLS_T_I8, TLS_CELL_SOURCE, "1",
     "where the decision comes from: measured (the cell's own seeds), inferred (the boundary "
     "mode did not run the cell: the rule in the attribute decide_inference) or unknown",
     "0 1 2", "unknown measured inferred"},
    {"cs_low", TLS_T_F64, TLS_CELL_LOW, "1",
     "lower bound of the anytime-valid confidence sequence for the mean of acc_A - acc_B, at the "
     "check that decided (or the last one)", NULL, NULL},
    {"cs_high", TLS_T_F64, TLS_CELL_HIGH, "1", "upper bound of it", NULL, NULL},
    {"mean_diff", TLS_T_F64, TLS_CELL_MEAN, "1",
     "mean of acc_A - acc_B over the seeds of that check", NULL, NULL},
    {"evalue", TLS_T_F64, TLS_CELL_EVALUE, "1",
     "e-value of mean(acc_A - acc_B) = 0 at that check (the betting capital process)", NULL,
     NULL},
    {"seeds_used", TLS_T_I32, TLS_CELL_SEEDS, "1",
     "seeds the comparison took: up to its decision, or all the cell ran", NULL, NULL},
    {"stop_round", TLS_T_I32, TLS_CELL_ROUND, "1",
     "the round (of decide.round seeds, from 1) at which the comparison was decided or stopped",
     NULL, NULL},
    {"stop_reason", TLS_T_I8, TLS_CELL_STOP, "1",
     "why the cell stopped taking seeds: open (seeds still to come), decided (every comparison "
     "decided), budget (decide.max_seeds spent), not_run (the boundary map did not need the "
     "cell), max_trainings (needed, but decide.max_trainings was spent), futile (every "
     "comparison decided or given up: no decision was reachable within decide.max_seeds)",
     "0 1 2 3 4 5", "open decided budget not_run max_trainings futile"},
};
/* clang-format on */
const int tls_ncell_fields = (int)(sizeof(tls_cell_fields) / sizeof(tls_cell_fields[0]));

double tls_cell_field_value(const tls_cell_field *f, const tls_cell_decision *d, int stop,
                            int round) {
    switch (f->value) {
    case TLS_CELL_DECISION:
        return d->decision;
    case TLS_CELL_SOURCE:
        return d->source;
    case TLS_CELL_LOW:
        return d->cs_low;
    case TLS_CELL_HIGH:
        return d->cs_high;
    case TLS_CELL_MEAN:
        return d->mean;
    case TLS_CELL_EVALUE:
        return d->evalue;
    case TLS_CELL_SEEDS:
        return d->seeds_used;
    case TLS_CELL_ROUND:
        return (d->seeds_used + round - 1) / round;
    default:
        return stop;
    }
}
