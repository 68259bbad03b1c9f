/* params.h - the parameters of one configuration of the article's
 * experiment: the data, the model, training and the remedies (the engine's
 * settings, tls_engine_params), and the grid point (tls_point). Plain data,
 * no I/O; the configuration (config.h) fills them. */
#ifndef TLSWEEP_PARAMS_H
#define TLSWEEP_PARAMS_H

#include "tlsweep/svc.h"

#include <stddef.h>
#include <stdint.h>

/* align.loss: what the source phase adds, weighted by lambda, to the
 * cross-entropy of the source batch: a row of align.h's table of methods
 * (tls_align_methods). The enum names its first rows; a new row needs none. */
enum { TLS_ALIGN_MMD = 0, TLS_ALIGN_CORAL = 1, TLS_ALIGN_DANN = 2, TLS_ALIGN_NONE = 3 };
/* Row i's name (align.loss's word i), NULL past the last row: the words the
 * configuration reads and lists (keys.c); defined with the table in align.c. */
const char *tls_align_name(int i);
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

/* A data set read from a file (see dataset.h): plain arrays the engine
 * samples from (data.h). The engine never owns or frees it. */
typedef struct {
    const float *X; /* (n, dim) */
    const int *y;   /* (n) labels in [0, classes) */
    int n, dim;
} tls_points;

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

/* The article's settings. */
tls_engine_params tls_engine_defaults(void);

/* env = elementwise max of env and p over the parameters that give result
 * arrays their shapes (n_source, n_test, dim, classes, features, epochs,
 * finetune_epochs, target_epochs). */
void tls_engine_shape_max(tls_engine_params *env, const tls_engine_params *p);

#endif
