/* bmap.h - the boundary mode's map (decide.mode boundary): which cells run.
 *
 * The map's ordered axes are the grid's numeric axes but seed (shift,
 * lambda, n_target, numeric extra axes: their values ascend); every
 * combination of the other axes' values (string and boolean axes) is a map
 * of its own. The map starts from a coarse lattice of cells -- along each
 * ordered axis of n values the indices 0, S, 2S, ... and n - 1, S the
 * largest power of two <= (n - 1) / TLS_BMAP_COARSE (at least 1) -- whose
 * consecutive lattice points make boxes. A box is examined once every one
 * of its corners (2^d cells) has stopped (cells.h):
 *   uniform   every comparison has one decision at every corner (helps,
 *             hurts, equivalent, or undecided: a corner that stopped without
 *             a decision -- given up, or out of seeds -- answers "not
 *             decidable within decide.max_seeds", and a box of such corners
 *             is the inside of an undecided band): the box is a leaf, and
 *             the cells inside it that never ran are inferred to share it;
 *   atomic    not uniform, and no axis of the box spans more than one step:
 *             the boundary is located to one grid step there;
 *   split     otherwise: every axis spanning two steps or more is cut at its
 *             midpoint (lo + (hi - lo) / 2), the 2^s sub-boxes are examined in
 *             turn, and their corners are the cells the split needs.
 * Whether a box splits depends on its corners' decisions only, which depend
 * on their seeds' accuracies only: the cells a map needs, and every box,
 * are the same whatever order the cells stop in. A cell's level is the
 * least number of splits above a box that needs it (the lattice: 0); the
 * canonical order of the cells, (level, cell index), is the order in which a
 * budget (decide.max_trainings) admits them (plan.h, cells.c). No MPI, no
 * I/O. */
#ifndef TLSWEEP_BMAP_H
#define TLSWEEP_BMAP_H

#include "tlsweep/config.h"

#include <stdint.h>

enum {
    TLS_BMAP_COARSE = 4,     /* the lattice has about 5 points along each ordered axis */
    TLS_BMAP_MAX_ORDERED = 8 /* ordered axes of more than one value (2^8 corners a box) */
};

/* Where a cell's decision comes from (the file's decision_source). */
enum { TLS_BMAP_UNKNOWN = 0, TLS_BMAP_MEASURED = 1, TLS_BMAP_INFERRED = 2 };

typedef struct tls_bmap tls_bmap;

/* Called for every cell a map needs that it did not before, and again when
 * a split of fewer levels needs it: the cell (row major over the grid's axes
 * but seed, as cells.h) and its level. Once every cell of levels below L
 * has stopped, no level <= L changes. Returns TLS_OK or an error, which
 * stops the caller. */
typedef int (*tls_bmap_need_fn)(void *ctx, int64_t cell, int level);

/* The map of c's grid (ncompare = c->decide.compare.n); *out NULL on failure. */
int tls_bmap_create(tls_bmap **out, const tls_config *c);
void tls_bmap_destroy(tls_bmap **m);
/* Needs the lattice's cells (level 0), in ascending order. */
int tls_bmap_start(tls_bmap *m, tls_bmap_need_fn need, void *ctx);
/* Cell `cell` stopped with decisions dec[ncompare] (TLS_DECIDE_*): examines
 * every box with all its corners stopped now, needing the cells of the
 * splits (each once). */
int tls_bmap_stopped(tls_bmap *m, int64_t cell, const int *dec, tls_bmap_need_fn need, void *ctx);
/* The level of a needed cell, -1 for a cell not needed. */
int tls_bmap_level(const tls_bmap *m, int64_t cell);
/* Inference over every cell: for the cells inside or on a uniform box that
 * did not run (ran[cell] == 0), dec[cell * K + k] = the box's decision and
 * src = TLS_BMAP_INFERRED; cells that ran are left alone; others get src
 * TLS_BMAP_UNKNOWN (dec untouched). */
void tls_bmap_infer(const tls_bmap *m, const int8_t *ran, int8_t *dec, int8_t *src);
/* Boxes examined so far: uniform, atomic, split; and those waiting. */
void tls_bmap_counts(const tls_bmap *m, int64_t *uniform, int64_t *atomic, int64_t *split,
                     int64_t *waiting);

/* The rule of inference, in words (the file's metadata). */
extern const char tls_bmap_rule_text[];

#endif
