/* config.h - the sweep's configuration: YAML files, --set overrides,
 * validation, canonical text and hash.
 *
 * A configuration is the engine's parameters plus the grid (four lists) and
 * output options. tls_config_load starts from the compiled-in default sweep
 * (configs/default.yaml), applies a YAML file if given, then --set
 * overrides, then validates everything. Every problem is reported as ONE
 * line "WHERE: key: what is wrong; allowed: ..." where WHERE is FILE:LINE or
 * "--set KEY=VALUE"; nothing is printed and no file is touched here. */
#ifndef TLSWEEP_CONFIG_H
#define TLSWEEP_CONFIG_H

#include "tlsweep/engine.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum {
    TLS_AXIS_SHIFT = 0,
    TLS_AXIS_LAMBDA = 1,
    TLS_AXIS_NTARGET = 2,
    TLS_AXIS_SEED = 3,
    TLS_NAXES = 4
};
extern const char *const tls_axis_names[TLS_NAXES];

typedef struct {
    double *v; /* values, in the order given */
    int n;
} tls_axis;

typedef struct {
    tls_engine_params eng;
    char data_source[512];    /* data.source: HDF5 file of source points, "" = synthetic */
    char data_target[512];    /* data.target: HDF5 file of target points */
    tls_axis image_shape;     /* data.image_shape: [h, w] when the points are images, else empty */
    int standardize;          /* data.standardize: scale inputs by source statistics */
    uint32_t data_crc[2];     /* CRC-32 of the source and target files (set when loaded) */
    tls_axis axis[TLS_NAXES]; /* shift (deg), lambda, n_target, seed */
    int embeddings;           /* output.embeddings: store embeddings and inputs */
    double sync_seconds;      /* output.sync_seconds: journal fsync interval, s */
    char source[512];         /* the YAML file read, or "(built-in default)" */
} tls_config;

#define TLS_ERRMSG 1024

/* Formats the one-line bad-input message "WHERE: KEY: what" (what from
 * fmt, which should end with "; allowed: ...") into err (TLS_ERRMSG bytes).
 * Returns TLS_ERR_INPUT, so that callers can `return tls_input_error(...)`. */
int tls_input_error(char *err, const char *where, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int tls_input_verror(char *err, const char *where, const char *key, const char *fmt, va_list ap);

/* Loads defaults, then `path` (NULL: none), then the nsets "key=value"
 * overrides. Returns 0, or TLS_ERR_INPUT with the one-line message in err
 * (TLS_ERRMSG bytes). On success *out is owned by the caller. */
int tls_config_load(tls_config **out, const char *path, const char *const *sets, int nsets,
                    char *err);
void tls_config_destroy(tls_config **c);

/* Number of configurations in the grid. */
int64_t tls_config_grid_size(const tls_config *c);
/* The grid point of linear index idx; index order is row-major over
 * (shift, lambda, n_target, seed), seed fastest. */
tls_point tls_config_point(const tls_config *c, int64_t idx);

/* The effective configuration as canonical YAML text (malloc'ed, caller
 * frees), and a 64-bit FNV-1a hash of the settings that determine results. */
char *tls_config_yaml(const tls_config *c);
uint64_t tls_config_hash(const tls_config *c);

#endif
