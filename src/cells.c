#include "tlsweep/cells.h"

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
    tls_decide_rule_default(rule);
    rule->alpha = c->decide.alpha;
    rule->delta = c->decide.delta;
    rule->round = c->decide.round;
    rule->max_seeds = c->axis[TLS_AXIS_SEED].n;
}

struct tls_cell_run {
    int ncompare;
    int a[TLS_MAX_COMPARE], b[TLS_MAX_COMPARE]; /* the comparisons' methods */
    int max_seeds;
    int seeds; /* taken */
    int stop;  /* TLS_CELL_* */
    tls_decide *d[TLS_MAX_COMPARE];
    int done[TLS_MAX_COMPARE]; /* decided: takes no more differences */
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
    cr->stop = TLS_CELL_OPEN;
    for (int k = 0; k < cr->ncompare; k++) {
        tls_decide_reset(cr->d[k]);
        cr->done[k] = 0;
        cr->last[k] = (tls_cell_decision){TLS_DECIDE_UNDECIDED, 0, -1.0, 1.0, NAN, 1.0};
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
            cr->last[k] =
                (tls_cell_decision){r.decision, cr->seeds, r.cs_low, r.cs_high, r.mean, r.evalue};
            cr->done[k] = r.decision != TLS_DECIDE_UNDECIDED;
        }
        open += !cr->done[k];
    }
    if (!open)
        cr->stop = TLS_CELL_DECIDED;
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
    for (int64_t j = 0; j < n; j++) {
        int64_t cell = tls_cells_id(p, j);
        tls_cell_run_reset(run);
        int s = 0;
        for (; s < g.seeds; s++) {
            int64_t pos = tls_part_pos(p, tls_cell_index(&g, cell, s));
            if (!have[pos] || tls_cell_run_push(run, acc + pos * TLS_NMETHODS)) break;
        }
        stop[j] = (int8_t)tls_cell_run_stop(run);
        tls_cell_run_get(run, out + j * K);
        for (s = tls_cell_run_seeds(run); stop[j] != TLS_CELL_OPEN && s < g.seeds; s++) {
            int64_t pos = tls_part_pos(p, tls_cell_index(&g, cell, s));
            if (!have[pos]) not_needed[pos] = 1, unneeded++;
        }
    }
    tls_cell_run_destroy(&run);
    return unneeded;
}

/* clang-format off */
const tls_cell_field tls_cell_fields[] = {
    {"decision", TLS_T_I8, TLS_CELL_DECISION, "1",
     "the cell's decision on the comparison A:B: A helps (its confidence sequence for the mean of "
     "acc_A - acc_B over seeds lies above 0), hurts (below 0), equivalent (inside +-decide.delta) "
     "or undecided", "0 1 2 3", "undecided helps hurts equivalent"},
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
     "decided), budget (decide.max_seeds spent)", "0 1 2", "open decided budget"},
};
/* clang-format on */
const int tls_ncell_fields = (int)(sizeof(tls_cell_fields) / sizeof(tls_cell_fields[0]));

double tls_cell_field_value(const tls_cell_field *f, const tls_cell_decision *d, int stop,
                            int round) {
    switch (f->value) {
    case TLS_CELL_DECISION:
        return d->decision;
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
