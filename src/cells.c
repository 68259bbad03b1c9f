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
    cr->ncompare = c->decide.ncompare;
    cr->max_seeds = rule.max_seeds;
    int rc = TLS_OK;
    for (int k = 0; k < cr->ncompare && rc == TLS_OK; k++) {
        cr->a[k] = c->decide.compare[k][0];
        cr->b[k] = c->decide.compare[k][1];
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
