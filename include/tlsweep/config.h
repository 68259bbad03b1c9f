/* config.h - the sweep's configuration: YAML files and --set overrides,
 * validated into an immutable value.
 *
 * tls_config_load starts from the compiled-in default sweep
 * (configs/default.yaml), applies a YAML file if given, then --set
 * overrides, then validates everything. Every problem is reported as ONE
 * line "WHERE: key: what is wrong; allowed: ..." (WHERE is FILE:LINE or
 * "--set KEY=VALUE"); nothing is printed and no file is touched here.
 *
 * A configuration is the base settings of one configuration (the engine's
 * parameters and a grid point), the grid's axes (grid.h: the four named
 * axes shift, lambda, n_target, seed, then any other key given a list under
 * `grid:`), and the keys that do not vary per configuration (data files,
 * output options). Once loaded it is never written to: data files resolve
 * beside it (dataset.h), not into it. No MPI, no I/O besides reading the
 * YAML file. */
#ifndef TLSWEEP_CONFIG_H
#define TLSWEEP_CONFIG_H

#include "tlsweep/engine.h"
#include "tlsweep/input.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_MAX_AXES   32        /* axes of a grid, the four named ones included */
#define TLS_MAX_GRID   100000000 /* configurations in one sweep */
#define TLS_MAX_VALUES 10000000  /* values of one axis */
/* Values all axes may hold at once while a configuration loads: a grid of
 * at most TLS_MAX_GRID configurations never holds more than TLS_MAX_VALUES
 * + 40 (one axis of 10^7, one of 10, the rest single), so more means a grid
 * too large, refused before its values are built (a few short range(...)
 * would otherwise take gigabytes before the grid's size is checked). */
#define TLS_MAX_HELD_VALUES (TLS_MAX_VALUES + 100000)
#define TLS_RANGE_PRINT_MIN 1000 /* axes this long print as range(...) when they are one */

/* The settings of one configuration: what the engine runs. */
typedef struct {
    tls_engine_params eng;
    tls_point pt;
} tls_settings;

typedef enum {
    TLS_V_REAL = 0, /* float64 coordinate */
    TLS_V_INT = 1,  /* int64 coordinate */
    TLS_V_BOOL = 2, /* int8 coordinate, 0 false 1 true */
    TLS_V_STR = 3   /* string coordinate (names, "auto", lists written as "[a, b]") */
} tls_vtype;

/* One axis of the grid: a key and the values it takes, in grid order
 * (numbers ascending, strings as written). */
typedef struct {
    int key;              /* index into the key table */
    const char *key_name; /* dotted key, e.g. "train.lr" or "grid.shift" */
    char dim[64];         /* dimension name in the results file: shift, ..., train_lr */
    tls_vtype type;
    int n;               /* values */
    size_t off, size;    /* the field of tls_settings each value is copied to */
    unsigned char *vals; /* (n, size) field values, ready to copy */
    double *num;         /* (n) the values as numbers (REAL, INT, BOOL), else NULL */
    int64_t *inum;       /* (n) the values as exact integers (INT, BOOL), else NULL */
    char **text;         /* (n) the values as YAML text for string axes; NULL for numbers */
    const char *units, *long_name;
} tls_axis;

/* The run modes of decide.mode, and the comparisons of decide.compare. */
enum { TLS_MODE_GRID = 0, TLS_MODE_SEQUENTIAL = 1, TLS_MODE_BOUNDARY = 2 };
enum { TLS_MAX_COMPARE = 8 };
enum { TLS_MULT_NONE = 0, TLS_MULT_EBH = 1 };
extern const char *const tls_mode_names[];         /* "grid", "sequential", "boundary", NULL */
extern const char *const tls_multiplicity_names[]; /* "none", "ebh", NULL */
extern const char *const tls_cs_names[];           /* "betting", "asymptotic", NULL */

/* Pairs of approaches (A, B), method indices (result.h): decide.compare. */
typedef struct {
    int n;
    int v[TLS_MAX_COMPARE][2];
} tls_pairs;

/* decide.*: per-cell decisions on pairs of approaches (cells.h) and the run
 * modes that spend seeds and cells by them. */
typedef struct {
    int mode;              /* TLS_MODE_* (grid: every configuration of the grid) */
    tls_pairs compare;     /* the comparisons */
    double alpha;          /* error level per cell and comparison */
    double delta;          /* equivalence margin on the accuracy scale */
    int round;             /* seeds per round: decisions are checked after each */
    int max_seeds;         /* the seeds a cell may take (the seed axis's length) */
    int64_t max_trainings; /* boundary: configurations the map may take (0: no bound) */
    int multiplicity;      /* TLS_MULT_*: control across cells */
    int cs;                /* TLS_DECIDE_CS_* (decide.h): the confidence sequence that decides */
} tls_decide_keys;

typedef struct {
    tls_settings base; /* every key's value where not swept (the grid's named axes: first values) */
    char data_source[512];   /* data.source: HDF5 file of source points, "" = synthetic */
    char data_target[512];   /* data.target: HDF5 file of target points */
    char data_where[2][320]; /* where data.source and data.target were set ("FILE:LINE",
                              * "--set ..."; "" when not): a relative path given in a
                              * configuration file is read from that file's directory */
    tls_reals image_shape;   /* data.image_shape: [h, w] when the points are images, else n = 0 */
    int embeddings;          /* output.embeddings: store embeddings and inputs */
    double sync_seconds;     /* output.sync_seconds: journal fsync interval, s */
    int naxes;               /* >= 4: shift, lambda, n_target, seed, then the extra axes */
    tls_axis axis[TLS_MAX_AXES];
    int64_t grid_size;      /* product of the axes' lengths, <= TLS_MAX_GRID */
    char source[512];       /* the YAML file read, or "(built-in default)" */
    tls_decide_keys decide; /* decide.* */
} tls_config;

enum {
    TLS_AXIS_SHIFT = 0,
    TLS_AXIS_LAMBDA = 1,
    TLS_AXIS_NTARGET = 2,
    TLS_AXIS_SEED = 3,
    TLS_NAMED_AXES = 4
};

/* Loads defaults, then `path` (NULL: none), then the nsets "key=value"
 * overrides. Returns 0, or TLS_ERR_INPUT with the one-line message in err
 * (TLS_ERRMSG bytes), or TLS_ERR_NOMEM. On success *out is owned by the
 * caller, who reads it and destroys it: a loaded configuration is a value,
 * never written to (settings that differ from it are copies: grid.h). */
int tls_config_load(const tls_config **out, const char *path, const char *const *sets, int nsets,
                    char *err);
/* Loads a configuration from YAML text (a manifest's copy): as tls_config_load
 * with the text in place of the file; `name` is used in messages. */
int tls_config_load_text(const tls_config **out, const char *name, const char *text, char *err);
/* Frees a loaded configuration and sets *c to NULL (NULL: nothing). */
void tls_config_destroy(const tls_config **c);

/* The effective configuration as canonical YAML text (malloc'ed, caller
 * frees; NULL when out of memory): every key, numbers in the shortest form
 * that reads back exactly; swept keys appear only in `grid:`. */
char *tls_config_yaml(const tls_config *c);
/* 64-bit FNV-1a hash of the canonical YAML of every key but
 * output.sync_seconds (which changes nothing in the results file). Data
 * files enter by path only: their contents are checked separately (CRC-32). */
uint64_t tls_config_hash(const tls_config *c);

/* Value i of axis ax as YAML text: its text, or the number formatted into
 * buf (len bytes). */
const char *tls_axis_text(const tls_axis *ax, int i, char *buf, size_t len);

#endif
