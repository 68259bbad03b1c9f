/* cells.h - a grid's cells and their decisions (the decide.* keys).
 *
 * A cell is a point of the grid without the seed axis; a comparison is a
 * pair of approaches (A, B) (result.h's methods), e.g. (mmd, target_mlp).
 * For seed s of a cell the paired difference is D_s = acc_A(s) - acc_B(s);
 * a cell's run takes its seeds in order 0, 1, 2, ... in rounds of
 * decide.round, checks every comparison's confidence sequence after each
 * (decide.h) and stops when every comparison is decided or decide.max_seeds
 * seeds are spent. A seed whose A or B failed adds no difference. What a
 * cell decides is a function of its seeds' accuracies in seed order only:
 * the scheduler (plan.h) and the results file's writer replay the same runs
 * and find the same bits. No MPI, no I/O. */
#ifndef TLSWEEP_CELLS_H
#define TLSWEEP_CELLS_H

#include "tlsweep/config.h"
#include "tlsweep/decide.h"
#include "tlsweep/result.h"

#include <stdint.h>

/* The cells of a grid: row-major over the axes other than seed. */
typedef struct {
    int64_t ncells;
    int seeds;      /* values of the seed axis */
    int64_t stride; /* grid indices per step of the seed axis */
} tls_cell_grid;

void tls_cell_grid_init(tls_cell_grid *g, const tls_config *c);
/* The cell of grid index idx, and its seed position (0 .. seeds - 1). */
static inline int64_t tls_cell_of(const tls_cell_grid *g, int64_t idx, int *seed) {
    int64_t block = (int64_t)g->seeds * g->stride;
    *seed = (int)((idx % block) / g->stride);
    return (idx / block) * g->stride + idx % g->stride;
}
/* The grid index of seed position `seed` of cell `cell`. */
static inline int64_t tls_cell_index(const tls_cell_grid *g, int64_t cell, int seed) {
    return ((cell / g->stride) * g->seeds + seed) * g->stride + cell % g->stride;
}

/* Why a cell's run stopped (the file's flag values). */
enum {
    TLS_CELL_OPEN = 0,    /* it has not stopped: seeds are still to come */
    TLS_CELL_DECIDED = 1, /* every comparison decided */
    TLS_CELL_BUDGET = 2   /* decide.max_seeds spent */
};

/* One comparison of one cell, after its run (or so far). */
typedef struct {
    int decision;   /* TLS_DECIDE_* */
    int seeds_used; /* seeds that went into it when it was decided, or so far */
    double cs_low;  /* the confidence sequence at its last check, D scale */
    double cs_high;
    double mean;   /* mean difference at its last check; NaN before */
    double evalue; /* the betting e-value of mu = 0 at its last check */
} tls_cell_decision;

/* The decision rule of a configuration's decide keys. */
void tls_cells_rule(const tls_config *c, tls_decide_rule *rule);

/* One cell's run of rounds: a decide state per comparison. */
typedef struct tls_cell_run tls_cell_run;

/* Creates an empty run for c's comparisons and rule; *out NULL on failure. */
int tls_cell_run_create(tls_cell_run **out, const tls_config *c);
void tls_cell_run_destroy(tls_cell_run **cr);
/* Forgets every seed (a new cell). */
void tls_cell_run_reset(tls_cell_run *cr);
/* Takes the next seed's accuracies (NaN where a method failed). Returns 1
 * when the run has stopped (with this seed or before), else 0. */
int tls_cell_run_push(tls_cell_run *cr, const double acc[TLS_NMETHODS]);
/* Seeds taken so far. */
int tls_cell_run_seeds(const tls_cell_run *cr);
/* TLS_CELL_* of the run so far. */
int tls_cell_run_stop(const tls_cell_run *cr);
/* The decisions so far, one per comparison (c->decide.ncompare). */
void tls_cell_run_get(const tls_cell_run *cr, tls_cell_decision *out);

#endif
