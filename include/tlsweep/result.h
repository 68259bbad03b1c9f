/* result.h - what one configuration records, declared once.
 *
 * tls_result holds a configuration's scalars (tls_scalars) and its arrays
 * (confusion matrices, learning curves, embeddings: views into one
 * allocation). The table of result fields, tls_fields, declares every
 * variable a configuration contributes to the results file, in file order:
 * its name, whether it is one per method, its type and fill value, its
 * trailing dimensions, units, long name, flag values and meanings, its
 * valid range and how `tlsweep one` prints it. The store's variables
 * (store.h), the one range check of results read from disk (journals,
 * results files, parts), the `one` JSON and docs/FORMAT.md's list (a test)
 * all derive from it: a new scalar result is a member of tls_scalars, a row
 * of tls_fields, and its computation in the engine. No I/O but the JSON
 * printer's FILE *. */
#ifndef TLSWEEP_RESULT_H
#define TLSWEEP_RESULT_H

#include "tlsweep/params.h"
#include "tlsweep/transfer.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The methods, in the order of the results' approach dimension. MMD is the
 * transfer network, whatever align.loss aligns it with (the name is the
 * article's method's). TARGET_MLP: the same network from the same
 * initialisation trained on the labelled target points alone; ENSEMBLE:
 * the mean of the MMD and TARGET_MLP networks' softmax outputs. */
enum {
    TLS_METHOD_SCRATCH = 0,
    TLS_METHOD_DIRECT = 1,
    TLS_METHOD_MMD = 2,
    TLS_METHOD_TARGET_MLP = 3,
    TLS_METHOD_ENSEMBLE = 4,
    TLS_NMETHODS = 5
};
extern const char *const tls_method_names[TLS_NMETHODS];
/* 1 for the methods that are networks (a softmax to score), 0 for the SVMs. */
extern const int tls_method_is_network[TLS_NMETHODS];

/* A configuration's state; NOT_NEEDED: in the decide modes, a seed its
 * cell stopped before (never run). */
enum {
    TLS_STATUS_PENDING = 0,
    TLS_STATUS_DONE = 1,
    TLS_STATUS_FAILED = 2,
    TLS_STATUS_NOT_NEEDED = 3
};

/* Scalar results. Plain data: the sweep stores it verbatim in its journal.
 * A method's metrics stand on their own: a failed method leaves NaN in its
 * own metrics only. What was not computed is NaN (negative_transfer: -1). */
typedef struct {
    double acc[TLS_NMETHODS];      /* target test accuracy, in [0, 1] */
    double mmd2_input;             /* MMD^2(source, target test) in input space */
    double mmd2_feat_before;       /* ... in feature space at initialisation */
    double mmd2_feat_after;        /* ... in feature space after fine-tuning */
    double pad_input;              /* proxy A-distance 2(1-2 err) in input space */
    double pad_feat;               /* ... in feature space after fine-tuning */
    double seconds[TLS_NMETHODS];  /* wall time of each method, s */
    int32_t negative_transfer;     /* 1 when acc[MMD] < acc[SCRATCH], 0 when not, -1 unknown */
    int32_t negative_transfer_mlp; /* 1 when acc[MMD] < acc[TARGET_MLP], 0 when not, -1 unknown */
    int32_t status;                /* DONE when every method and distance is, else FAILED */
    int32_t mstatus[TLS_NMETHODS]; /* per method: DONE or FAILED */
    char reason[112];              /* why something failed ("mmd: ..."); "" when done */

    /* selection scores (scores.h), NaN where not computed */
    double score_entropy[TLS_NMETHODS];    /* mean entropy of the target test softmax, nats
                                              (networks: mmd, target_mlp, ensemble) */
    double score_snd[TLS_NMETHODS];        /* soft neighbourhood density of it, nats (networks) */
    double score_target_val[TLS_NMETHODS]; /* accuracy on the held-out labelled target points */
    double score_iwcv; /* IWCV estimate of the transfer network's target error (input space) */
    double score_dev;  /* DEV estimate of it (the network's feature space) */

    /* transferability scores of the transfer network (transfer.h), NaN where undefined */
    double ts[TLS_TS_NSCORES];
    int32_t ts_reason[TLS_TS_NSCORES]; /* why ts[s] is NaN (tls_ts_reason; TLS_TS_OK: it is not) */
    double seconds_ts;                 /* wall time of computing them, s (not in seconds[MMD]) */
} tls_scalars;

/* The record layout of a result (tls_record_meta, tls_scalars, the arrays),
 * as journals keep it verbatim: a change of tls_scalars changes the
 * journals' format, so its size is checked here and the version goes up
 * with it (journal.h writes and checks it). */
enum { TLS_RESULT_LAYOUT = 5 }; /* 3: selection scores; 4: transferability scores; 5: their time */
_Static_assert(sizeof(tls_scalars) == 544,
               "tls_scalars changed: raise TLS_RESULT_LAYOUT and update this size");

/* The arrays of a result, in the order of their views below. */
enum {
    TLS_ARR_CONFUSION = 0, /* int32 (TLS_NMETHODS, classes, classes) */
    TLS_ARR_CE_EPOCH,      /* float (epochs) */
    TLS_ARR_MMD_EPOCH,     /* float (epochs) */
    TLS_ARR_FT_EPOCH,      /* float (finetune_epochs) */
    TLS_ARR_TARGET_CE,     /* float (target_epochs) */
    TLS_ARR_EMB_SOURCE,    /* float (n_source, features) */
    TLS_ARR_EMB_TARGET,    /* float (n_test, features) */
    TLS_ARR_X_SOURCE,      /* float (n_source, dim) */
    TLS_ARR_X_TARGET,      /* float (n_test, dim) */
    TLS_ARR_Y_SOURCE,      /* int32 (n_source) */
    TLS_ARR_Y_TARGET,      /* int32 (n_test) */
    TLS_NARRAYS
};

/* Shape of one array for given parameters: nd dims, row-major. */
typedef struct {
    int nd;
    int64_t dim[3];
    int is_int; /* int32 elements (fill -1), else float (fill NaN) */
} tls_array_shape;

void tls_result_shape(const tls_engine_params *p, int array, tls_array_shape *s);

/* Everything one configuration records. The arrays are views into one
 * allocation of mem_bytes, laid out for the parameters the result was
 * created with (the grid's envelope in a sweep). */
typedef struct {
    tls_scalars s;
    int32_t *confusion; /* (TLS_NMETHODS, classes, classes): [method][true][pred] counts */
    float *ce_epoch;    /* (epochs) mean source cross-entropy per epoch */
    float *mmd_epoch;   /* (epochs) mean alignment loss per epoch (MMD^2, CORAL, BCE) */
    float *ft_epoch;    /* (finetune_epochs) fine-tuning cross-entropy per epoch */
    float *target_ce;   /* (target_epochs) the target-only MLP's cross-entropy per epoch */
    float *emb_source;  /* (n_source, features) source embeddings after training */
    float *emb_target;  /* (n_test, features) target test embeddings after training */
    float *x_source;    /* (n_source, dim) source inputs */
    float *x_target;    /* (n_test, dim) target test inputs */
    int32_t *y_source;  /* (n_source) */
    int32_t *y_target;  /* (n_test) */
    void *mem;          /* the single allocation behind the views */
    size_t mem_bytes;
    int classes; /* of the parameters it was created for (the confusion's size) */
} tls_result;

/* Creates a result sized for p (every array holding its fill value); *out
 * is NULL on failure. */
int tls_result_create(tls_result **out, const tls_engine_params *p);
void tls_result_destroy(tls_result **r);
/* The view of array `array` (TLS_ARR_*). */
void *tls_result_array(const tls_result *r, int array);
/* Sets every array and scalar to its fill value: what a pending
 * configuration reads as (status PENDING). */
void tls_result_fill(tls_result *r);
/* r was created for env and filled by tls_engine_run with parameters p (each
 * array compact, for p's shapes, at the start of its view): re-lays every
 * array out for env's shapes in place, the entries outside p's shapes set
 * to fill values. Nothing to do when p's shapes are env's. */
void tls_result_expand(tls_result *r, const tls_engine_params *p, const tls_engine_params *env);

/* ---- who computed a record ---- */

enum { TLS_HOST_LEN = 64 };

/* Who computed a record, when, and how long it took. */
typedef struct {
    int64_t index; /* linear grid index */
    int32_t rank;  /* MPI rank that computed it */
    int32_t reserved;
    double seconds;          /* wall time of the whole configuration, s */
    double finished;         /* when it finished, seconds since 1970 (UTC) */
    char host[TLS_HOST_LEN]; /* host name of that rank */
} tls_record_meta;

/* ---- the table of result fields ---- */

/* Dimensions after a configuration's own (the grid's axes, or `config`). */
enum {
    TLS_DIM_APPROACH,
    TLS_DIM_TRUE,
    TLS_DIM_PRED,
    TLS_DIM_EPOCH,
    TLS_DIM_FTEPOCH,
    TLS_DIM_TEPOCH,
    TLS_DIM_SPOINT,
    TLS_DIM_TPOINT,
    TLS_DIM_FEATURE,
    TLS_DIM_INDIM,
    TLS_NDIMS
};
extern const char *const tls_dim_names[TLS_NDIMS];      /* "approach", "true_class", ... */
extern const char *const tls_dim_long_names[TLS_NDIMS]; /* their long_name attributes */
/* The length of dimension d for the shapes of env. */
int64_t tls_dim_len(const tls_engine_params *env, int d);

typedef enum { TLS_T_F64, TLS_T_F32, TLS_T_I8, TLS_T_I32 } tls_ftype; /* type in the file */
typedef enum { TLS_SRC_SCALARS, TLS_SRC_META, TLS_SRC_ARRAY, TLS_SRC_HOST } tls_fsource;
/* How `tlsweep one` prints a field. */
typedef enum {
    TLS_JSON_NONE,    /* not printed (the status word goes first; who computed it, embeddings) */
    TLS_JSON_NUMBER,  /* the shortest exact form; null when not computed */
    TLS_JSON_SECONDS, /* 6 significant digits */
    TLS_JSON_BOOL,    /* true or false; null for -1 */
    TLS_JSON_STATUS,  /* one word per method ("done", "failed", "not computed") */
    TLS_JSON_MATRIX,  /* one matrix per method, rows the true class; null unless done */
    TLS_JSON_CURVE,   /* one value per epoch (9 digits), null for NaN */
    TLS_JSON_REASON   /* a transferability score's reason word (tls_ts_reason_names) */
} tls_json_style;

/* What a field has one variable of per configuration. */
typedef enum {
    TLS_PER_ONE,     /* one variable */
    TLS_PER_METHOD,  /* one per method ("acc_%s"), TLS_NMETHODS values in memory */
    TLS_PER_NETWORK, /* as METHOD, the networks only: the SVMs' values stay unmade */
    TLS_PER_SCORE    /* one per transferability score ("ts_%s"), TLS_TS_NSCORES values */
} tls_per;

typedef struct {
    const char *name; /* in the file; "acc_%s": one variable per method (or score) */
    tls_per per;      /* what it has one variable of */
    int embeddings;   /* in the group /embeddings, only with output.embeddings */
    tls_ftype type;   /* in the file */
    tls_fsource from; /* where the values are in a record */
    size_t off;       /* offset in tls_scalars / tls_record_meta; TLS_ARR_* for arrays */
    int mem_int32;    /* an int32 in memory, stored as int8 */
    double fill;      /* the value of a pending configuration (scalars in memory) */
    double lo, hi;    /* integers: the values a record may hold, fill included */
    int ntrail;       /* trailing dimensions */
    int trail[3];     /* TLS_DIM_* */
    const char *units, *long_name;
    const char *flag_values, *flag_meanings; /* CF flags, or NULL */
    tls_json_style json;
    const char *json_name; /* the key in `one`'s JSON when not name ("status_%s") */
} tls_field;

extern const tls_field tls_fields[];
extern const int tls_nfields;
/* The values field f holds in memory (tls_scalars): one per method or
 * score, the methods of an approach dimension, or one. */
int tls_field_values(const tls_field *f);
/* The instance i (< tls_field_values(f)) of f is a variable of its own
 * (per method or score) whose name and long name are written to name and
 * long_name (the instance's name or, for a score, its description in the
 * long name's %s): 1, or 0 where f makes no variable of it (an SVM's
 * entropy). A field of one variable has instance 0 only. */
int tls_field_var(const tls_field *f, int i, char *name, size_t nlen, char *long_name, size_t llen);
/* Variables the fields make at most (each field once per method; checked
 * at compile time in result.c). */
enum { TLS_MAX_VARS = 400 };

/* Checks the values of a finished record read from disk (a journal, a
 * results file, a part): every field within its range. 0, or -1 with the
 * field named in why (len bytes). */
int tls_result_check(const tls_result *r, char *why, size_t len);

/* Prints r, computed for p at pt, as `tlsweep one`'s one JSON object: the
 * point, the status and reason, then every field in file order as its
 * json style says. */
void tls_result_json(FILE *f, const tls_result *r, const tls_engine_params *p, const tls_point *pt);

#endif
