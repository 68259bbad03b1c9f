/* dataset.h - real data sets from HDF5 files (data.source, data.target).
 *
 * A file holds a float dataset X of shape (n, dim) and an integer dataset y
 * of shape (n). tls_dataset_load reads and validates one: a problem is one
 * line "PATH: data.KEY: what is wrong; allowed: ..." in err, and nothing is
 * kept. Serial: every rank loads its own copy at start-up. */
#ifndef TLSWEEP_DATASET_H
#define TLSWEEP_DATASET_H

#include "tlsweep/config.h"
#include "tlsweep/data.h"

#include <stdint.h>

typedef struct {
    tls_points pts; /* the arrays below, as the engine sees them */
    float *X;       /* (n, dim) */
    int *y;         /* (n) */
    char path[512];
    uint32_t crc32;  /* CRC-32 of the file's bytes */
    long long bytes; /* file size */
} tls_dataset;

/* Loads path as the data set named by key ("data.source" or "data.target")
 * with labels in [0, classes). Returns 0, or TLS_ERR_INPUT with the message
 * in err (TLS_ERRMSG bytes). *out is owned by the caller. */
int tls_dataset_load(tls_dataset **out, const char *path, const char *key, int classes, char *err);
void tls_dataset_destroy(tls_dataset **d);

/* The data files of a sweep, checked against every configuration of its
 * grid, and the per-feature statistics for data.standardize. Lives beside
 * the (immutable) configuration; tls_data_files_bind resolves a
 * configuration's settings against it. */
typedef struct {
    tls_dataset *source, *target;
    float *stats; /* (2, dim): source mean, then scale */
    int image_h, image_w;
    int max_n_target; /* the grid's largest n_target */
} tls_data_files;

/* Loads the files named by c->data_source / c->data_target (nothing to do
 * without them) and checks them against every configuration of c's grid
 * (same dim, image_shape, enough points per class for the largest
 * n_target, n_source and n_test). Returns 0 or TLS_ERR_INPUT with one line
 * in err. Serial; every rank calls it. */
int tls_data_files_open(tls_data_files *f, const tls_config *c, char *err);
/* Points e at the data (when there are files): resolves counts given as
 * `all` (n_source: all source points; n_test: all target points left after
 * the grid's largest n_target), sets dim and the image shape, and the
 * standardisation statistics when e->standardize. f must outlive every use
 * of e. `ctx` is an f (the signature of tls_grid_envelope's resolver). */
void tls_data_files_bind(const void *f, tls_engine_params *e);
void tls_data_files_release(tls_data_files *f);

#endif
