/* engine.h - one configuration of the article's experiment.
 *
 * For a point (shift, lambda, n_target, seed) and fixed parameters, runs the
 * three methods on the same data: an RBF SVM from scratch on the labelled
 * target points, "direct transfer" (the SVM trained on the source), and the
 * MLP trained with cross-entropy + lambda * MMD^2 then fine-tuned on the
 * labelled target points. A pure library: no MPI, no globals, no output;
 * the result depends only on (params, point).
 *
 * Common random numbers: the source set depends on the seed only; the target
 * test set on the seed, then rotated by the shift; the labelled target set
 * on (seed, n_target), then rotated; network init and batch order on the
 * seed only. Points that differ only in lambda see identical data and init.
 *
 * With data files (source_data/target_data), per seed: n_source source
 * points drawn without replacement (all: file order); n_target labelled
 * target points stratified by class (stream of (seed, n_target)); n_test
 * test points from the rest (stream of (seed, n_target)). The shift rotates
 * the target points: images (image_h, image_w) bilinearly about their
 * centre, other points in their first two coordinates. Standardisation, if
 * any, is applied last, to source and target alike. */
#ifndef TLSWEEP_ENGINE_H
#define TLSWEEP_ENGINE_H

#include "tlsweep/data.h"
#include "tlsweep/svc.h"

#include <stddef.h>
#include <stdint.h>

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

/* align.loss: what the source phase adds, weighted by lambda, to the
 * cross-entropy of the source batch. */
enum { TLS_ALIGN_MMD = 0, TLS_ALIGN_CORAL = 1, TLS_ALIGN_DANN = 2, TLS_ALIGN_NONE = 3 };
extern const char *const tls_align_names[]; /* NULL-terminated, in enum order */
/* finetune.strategy: which parameters fine-tuning moves, and how. */
enum { TLS_FINETUNE_ALL = 0, TLS_FINETUNE_CLASSIFIER = 1, TLS_FINETUNE_L2SP = 2 };
extern const char *const tls_finetune_names[];
/* mmd.bandwidth: the gammas as given, or times 1/median of the pooled
 * batch's squared distances. */
enum { TLS_BANDWIDTH_FIXED = 0, TLS_BANDWIDTH_MEDIAN = 1 };
extern const char *const tls_bandwidth_names[];
/* mmd.estimator */
enum { TLS_MMD_BIASED = 0, TLS_MMD_UNBIASED = 1 };
extern const char *const tls_estimator_names[];
/* data.shift_kind: what the grid point's shift does to the target domain (the
 * article's target otherwise: class means +-(1, 1), std 0.6):
 *   ROTATION     rotation in the plane of the first two coordinates, degrees
 *                (images: about their centre) -- the article
 *   TRANSLATION  every target point moved by shift * source_std along
 *                (1, -1)/sqrt(2): parallel to the source classes' boundary
 *   SCALE        the target classes' std multiplied by shift (>= 0)
 *   LABEL        class 0's share of the target test and labelled sets is
 *                shift in [0, 1], the other classes sharing the rest
 *                (tls_data_label_counts; every class keeps a labelled point)
 *   CONDITIONAL  a share shift in [0, 1] of the target test and labelled
 *                points get the label (y + 1) mod classes (task conflict)
 * With data files: ROTATION, LABEL (stratified resampling) and CONDITIONAL. */
enum {
    TLS_SHIFT_ROTATION = 0,
    TLS_SHIFT_TRANSLATION = 1,
    TLS_SHIFT_SCALE = 2,
    TLS_SHIFT_LABEL = 3,
    TLS_SHIFT_CONDITIONAL = 4
};
extern const char *const tls_shift_kind_names[];

#define TLS_MAX_REALS 8

/* A short list of numbers (data.image_shape). */
typedef struct {
    int n;
    double v[TLS_MAX_REALS];
} tls_reals;

typedef struct {
    /* data */
    int n_source; /* source points, all labelled; -1: all the file's (resolved by dataset.h) */
    int n_test;   /* target test points, also the unlabelled set for MMD; -1: all left */
    int dim;      /* input dimension, >= 2 */
    int classes;  /* >= 2 */
    double source_mean; /* class means +-(a,a): a for the source (article: 2) */
    double source_std;  /* per-coordinate std of the source clusters (0.5) */
    double target_mean; /* a for the target (1) */
    double target_std;  /* per-coordinate std of the target clusters (0.6) */
    int standardize;    /* with data files: scale inputs by the source's per-feature statistics */
    int shift_kind;     /* TLS_SHIFT_* (ROTATION) */
    /* real data (NULL: the synthetic domains above); set by dataset.h, never by a config */
    const tls_points *source_data; /* points to draw n_source source points from */
    const tls_points *target_data; /* points to draw labelled and test target points from */
    int image_h, image_w;          /* > 0: points are h x w images; the shift rotates them */
    const float *std_mean;         /* (dim) subtract, then divide by std_scale; NULL: none */
    const float *std_scale;        /* (dim) */
    /* model */
    int hidden;   /* width of the hidden layer (32) */
    int features; /* width of the feature layer = embedding size (16) */
    /* training */
    int epochs;          /* source epochs with the MMD loss (100); 0 allowed */
    int finetune_epochs; /* full-batch epochs on the labelled target (50); 0 allowed */
    int batch_size;      /* source mini-batch (32); last partial batch kept */
    double lr, beta1, beta2, adam_eps; /* Adam (1e-3, 0.9, 0.999, 1e-8) */
    double mmd_gamma;                  /* RBF kernel of the MMD loss, 1/(feature units)^2 (1.0) */
    int distance_points; /* MMD^2 distances on at most this many points per domain, 0: all */
    /* remedies against negative transfer (defaults: the article's) */
    int align_loss;         /* TLS_ALIGN_* (MMD) */
    int align_target_batch; /* unlabelled target points per step: -1 all (article), or m drawn
                               at random per step (m >= n_test: all) */
    int disc_hidden;        /* DANN discriminator Linear(F->disc_hidden)-ReLU-Linear(->1) (32) */
    tls_reals mmd_gammas;   /* RBF gammas of the MMD loss, summed (DAN's multi-kernel MMD);
                               n = 0 (default): the one-element list {mmd_gamma} */
    int mmd_bandwidth;      /* TLS_BANDWIDTH_* (FIXED) */
    int mmd_estimator;      /* TLS_MMD_* (BIASED) */
    int finetune_strategy;  /* TLS_FINETUNE_* (ALL) */
    double l2sp_alpha;      /* L2-SP: alpha/2 ||w - w_source||^2 on the feature extractor (0.01) */
    int target_epochs;      /* full-batch epochs of the target-only MLP (baselines) */
    /* selection scores (scores.h): held-out shares, each taken per class (floor(share * count),
       a class keeping at least one training point); 0: nothing held out (the article) */
    double source_holdout; /* of the source points: validation of IWCV and DEV */
    double target_holdout; /* of the labelled target points: target validation */
    /* baselines and the domain classifier */
    tls_svc_params svm; /* scratch and direct (sklearn SVC defaults) */
    double pad_C;       /* C of the linear SVM of the proxy A-distance (1.0) */
} tls_engine_params;

/* One grid point. */
typedef struct {
    double shift;  /* target domain shift: rotation in degrees, or per data.shift_kind */
    double lambda; /* weight of MMD^2 in the source loss, >= 0 */
    int n_target;  /* labelled target points, >= classes */
    int64_t seed;  /* >= 0 */
} tls_point;

enum { TLS_STATUS_PENDING = 0, TLS_STATUS_DONE = 1, TLS_STATUS_FAILED = 2 };

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
} tls_scalars;

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
} tls_result;

/* The article's settings. */
tls_engine_params tls_engine_defaults(void);

/* env = elementwise max of env and p over the parameters that give result
 * arrays their shapes (n_source, n_test, dim, classes, features, epochs,
 * finetune_epochs, target_epochs). */
void tls_engine_shape_max(tls_engine_params *env, const tls_engine_params *p);

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

/* Runs the three methods for pt, filling r (created for p or for shapes at
 * least p's). Returns 0 with r->s.status DONE, or with status FAILED and
 * r->s.reason set when a method or a distance itself fails (non-finite
 * training, libsvm refusal): that is a result, not an error; the methods
 * that succeeded keep their metrics. Returns non-zero only for errors that
 * are not the configuration's (out of memory). */
int tls_engine_run(tls_result *r, const tls_engine_params *p, const tls_point *pt);

#endif
