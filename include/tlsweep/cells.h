/* cells.h - a grid's cells and their decisions (the decide.* keys).
 *
 * A cell is a point of the grid without the seed axis; a comparison is a
 * pair of approaches (A, B) (result.h's methods), e.g. (mmd, target_mlp).
 * For seed s of a cell the paired difference is D_s = acc_A(s) - acc_B(s);
 * a cell's run takes its seeds in order 0, 1, 2, ... in rounds of
 * decide.round, checks every comparison's confidence sequence after each
 * (decide.h) and stops when every comparison is decided or given up (no
 * decision reachable within decide.max_seeds) or decide.max_seeds seeds are
 * spent. A seed whose A or B failed adds no difference. What a
 * cell decides is a function of its seeds' accuracies in seed order only:
 * the scheduler (plan.h) and the results file's writer replay the same runs
 * and find the same bits. No MPI, no I/O. */
#ifndef TLSWEEP_CELLS_H
#define TLSWEEP_CELLS_H

#include "tlsweep/config.h"
#include "tlsweep/decide.h"
#include "tlsweep/grid.h"
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
    TLS_CELL_OPEN = 0,      /* it has not stopped: seeds are still to come */
    TLS_CELL_DECIDED = 1,   /* every comparison decided */
    TLS_CELL_BUDGET = 2,    /* decide.max_seeds spent */
    TLS_CELL_NOT_RUN = 3,   /* boundary mode: the map did not need it */
    TLS_CELL_TRAININGS = 4, /* boundary mode: needed, but decide.max_trainings was spent */
    TLS_CELL_FUTILE = 5     /* every comparison decided or given up (decide.h's futility) */
};

/* One comparison of one cell, after its run (or so far). */
typedef struct {
    int decision;   /* TLS_DECIDE_* */
    int seeds_used; /* seeds that went into it when it was decided, or so far */
    double cs_low;  /* the confidence sequence at its last check, D scale */
    double cs_high;
    double mean;   /* mean difference at its last check; NaN before */
    double evalue; /* the betting e-value of mu = 0 at its last check */
    int source;    /* TLS_BMAP_MEASURED; for a cell the boundary map did not run,
                      TLS_BMAP_INFERRED (decision inferred) or TLS_BMAP_UNKNOWN (-1) */
} tls_cell_decision;

/* The decision rule of a configuration's decide keys (decide.cs: decide.h's
 * default or asymptotic rule, with decide.alpha, delta, round, max_seeds). */
void tls_cells_rule(const tls_config *c, tls_decide_rule *rule);
/* That rule in words (the results file's decide_rule). */
const char *tls_cells_rule_text(const tls_config *c);

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

/* ---- every cell of a part, from what a results file holds ---- */

/* Cells of part p (p.seeds set: a part by cells; else the whole grid). */
int64_t tls_cells_in(const tls_cell_grid *g, tls_part p);
/* The j-th cell of part p, ascending. */
int64_t tls_cells_id(tls_part p, int64_t j);

/* Replays every cell of part p from its positions' accuracies (count x
 * TLS_NMETHODS, count = the part's positions; NaN where a method failed)
 * and whether each position has a record (have): a cell takes its seeds in
 * order up to its first missing one or until it stops; in the boundary
 * mode, the cells its map needs, in the map's order (bmap.h). Fills, for
 * the j-th cell and comparison k, out[j * ncompare + k] (for a cell the map
 * did not run: source INFERRED and the inferred decision, or UNKNOWN and
 * -1; nothing else measured) and stop[j] (TLS_CELL_*), and sets
 * not_needed[pos] to 1 for
 * the positions without a record that no cell will take (else 0); returns
 * how many, or -1 when out of memory. */
int64_t tls_cells_replay(const tls_config *c, tls_part p, int64_t count, const double *acc,
                         const int8_t *have, tls_cell_decision *out, int8_t *stop,
                         int8_t *not_needed);

/* decide.multiplicity ebh: e-BH (Wang & Ramdas 2022, decide.h) at decide.alpha
 * over the e-values of every measured (cell, comparison) of out (n cells):
 * a helps or hurts that e-BH does not reject becomes undecided (the
 * equivalent decisions stay: the e-values test mean 0, not equivalence).
 * *signs: the sign decisions before, *kept: after. Nothing changes under
 * multiplicity none. TLS_OK, or TLS_ERR_NOMEM. */
int tls_cells_ebh(const tls_config *c, int64_t n, tls_cell_decision *out, int64_t *kept,
                  int64_t *signs);

/* The table of per-cell variables of a results file in the decide modes:
 * dims (the grid's axes but seed, comparison), or (cell, comparison) in a
 * part's file. */
typedef enum {
    TLS_CELL_DECISION,
    TLS_CELL_SOURCE,
    TLS_CELL_LOW,
    TLS_CELL_HIGH,
    TLS_CELL_MEAN,
    TLS_CELL_EVALUE,
    TLS_CELL_SEEDS,
    TLS_CELL_ROUND,
    TLS_CELL_STOP
} tls_cell_value;
typedef struct {
    const char *name;
    tls_ftype type; /* in the file (result.h) */
    tls_cell_value value;
    const char *units, *long_name;
    const char *flag_values, *flag_meanings;
} tls_cell_field;
extern const tls_cell_field tls_cell_fields[];
extern const int tls_ncell_fields;
/* The value of field f for decision d (cell stop `stop`, rounds of `round` seeds). */
double tls_cell_field_value(const tls_cell_field *f, const tls_cell_decision *d, int stop,
                            int round);

#endif
