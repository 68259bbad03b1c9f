/* grid.h - the grid of a configuration: the only mapping between linear
 * indices, coordinates along the axes, and the settings of a configuration.
 *
 * Linear index order is row-major over the axes in order (shift, lambda,
 * n_target, seed, then the extra axes as written): the last axis varies
 * fastest. A part K/N of the grid (several jobs feeding one sweep) is the
 * set of indices i with i mod N == K-1: every index in exactly one part,
 * parts within one index of each other in size, and every axis spread over
 * all parts. Pure functions of an immutable configuration: no MPI, no I/O. */
#ifndef TLSWEEP_GRID_H
#define TLSWEEP_GRID_H

#include "tlsweep/config.h"

#include <stdint.h>

/* The coordinates (naxes) of linear index idx, 0 <= idx < c->grid_size. */
void tls_grid_coords(const tls_config *c, int64_t idx, int64_t *coords);
/* The linear index of coords. */
int64_t tls_grid_index(const tls_config *c, const int64_t *coords);

/* The settings of configuration idx: the base settings with each axis's
 * value at idx copied in. */
void tls_grid_settings(const tls_config *c, int64_t idx, tls_settings *out);

/* Writes into buf (len bytes) one line per extra axis of one value -- "tlsweep: grid.train.lr
 * has one value (0.01): held fixed, as a dimension train_lr of size 1 in the results file; ..."
 * -- and returns how many (0: buf is ""). A sweep says so on stderr as it starts
 * (configs/README.md). */
int tls_grid_fixed_notes(const tls_config *c, char *buf, size_t len);

/* Writes "shift=45 lambda=0.5 n_target=50 seed=42 train.lr=0.001" for idx. */
void tls_grid_describe(const tls_config *c, int64_t idx, char *buf, size_t len);

/* The largest value every shape-giving parameter takes anywhere in the grid
 * (n_source, n_test, dim, classes, features, epochs, ...; see
 * tls_engine_shape_max), the base settings elsewhere; and the smallest
 * n_target. `resolve`, when not NULL, is applied to each settings first
 * (data files resolving counts given as `all`). */
void tls_grid_envelope(const tls_config *c, void (*resolve)(const void *ctx, tls_engine_params *e),
                       const void *ctx, tls_engine_params *env, int *min_n_target,
                       int *max_n_target);

/* A share of the grid: part k of n (1 <= k <= n), or the whole grid (n = 1).
 * A plain part (seeds = 0) holds the indices i with i mod n == k - 1: every
 * index in exactly one part, parts within one index of each other in size,
 * every axis spread over all parts. In the decide modes a part holds whole
 * cells (cells.h): cell c with c mod n == k - 1, with all its seeds, so that
 * a part decides its cells alone (seeds: the seed axis's length, stride:
 * indices per step of it). Either way a part's positions are its indices
 * in ascending order. */
typedef struct {
    int k, n;
    int seeds;      /* 0: a plain part */
    int64_t stride; /* by cells: grid indices per step of the seed axis */
} tls_part;

/* Part k of n of configuration c's grid: by cells in the decide modes. */
tls_part tls_grid_part(const tls_config *c, int k, int n);
/* Number of indices in part p of a grid of `size` configurations. */
int64_t tls_part_count(int64_t size, tls_part p);
/* How many of part p's indices are below idx: the position of idx when it
 * is one of them. */
int64_t tls_part_pos(tls_part p, int64_t idx);
/* The position-th index of part p (position in 0 .. count-1). */
int64_t tls_part_index(tls_part p, int64_t position);
/* Whether idx belongs to part p. */
int tls_part_has(tls_part p, int64_t idx);
/* The part (1 .. p.n) of p's split that holds idx. */
int tls_part_which(tls_part p, int64_t idx);

/* Splits the run of linear indices [lo, hi) of a grid with dims (nd
 * lengths) into row-major boxes: calls fn(ctx, start, count) for each box,
 * in index order, start and count having nd entries. At most 2*nd - 1
 * boxes. fn returns non-zero to stop; the value is returned. */
typedef int (*tls_box_fn)(void *ctx, const int64_t *start, const int64_t *count);
int tls_grid_boxes(int nd, const int64_t *dims, int64_t lo, int64_t hi, tls_box_fn fn, void *ctx);

#endif
