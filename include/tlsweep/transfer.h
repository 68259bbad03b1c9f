/* transfer.h - transferability scores: how well the source-trained network
 * should transfer, measured on the labelled target points before fine-tuning.
 *
 * Pure functions on arrays: no state, no I/O, no allocation (callers pass a
 * workspace of tls_ts_work_doubles(n, F, C) doubles, enough for any score),
 * no randomness but the caller's stream for the k-NN subsample. Inputs:
 *   f  (n, F)  features of the n labelled target points (the network's
 *              feature layer after source training)
 *   p  (n, C)  its softmax over the C source classes on the same points
 *   y  (n)     their labels in 0..C-1 (the target classes are the source's)
 * None uses the unlabelled target points. Every sum is in double precision.
 * Each score is the variable ts_<name> of the results file and is checked
 * against a NumPy / scikit-learn version written from its paper
 * (tests/reference/transferability.py, tests/test_transferability.py).
 *
 * K below is the number of classes present among the y (the papers' number
 * of target classes; the engine keeps every class in the labelled set).
 * Where a score is undefined it is NaN and *reason says why (tls_ts_reason);
 * every score needs K >= 2 (TLS_TS_ONE_CLASS otherwise: with one class there
 * is nothing to separate) and finite inputs.
 *
 *   leep        LEEP (Nguyen et al. 2020), nats, <= 0, higher: better.
 *               P(y,z) = (1/n) sum_{i: y_i = y} p_iz, P(y|z) = P(y,z)/P(z),
 *               LEEP = (1/n) sum_i log sum_z P(y_i|z) p_iz; a source class z
 *               with P(z) = 0 (no mass at all) is left out.
 *   nleep       N-LEEP (Li et al. 2021), nats, <= 0, higher: better. LEEP with
 *               the posteriors of a Gaussian mixture in place of the softmax:
 *               the centred features projected on their fewest principal
 *               axes keeping more than 80 % of the variance (scikit-learn's
 *               PCA(n_components=0.8)); V = K min(5, floor((n-1)/K))
 *               full-covariance components (the paper's 5 per class, fewer
 *               where n is small); EM as scikit-learn's GaussianMixture
 *               (reg_covar 1e-6, tol 1e-3 on the mean log-likelihood, at most
 *               100 iterations, weights_k = N_k / sum N, N_k = sum_i r_ik +
 *               10 DBL_EPSILON), started, deterministically, from the one-hot
 *               responsibilities of k-means: farthest-point seeds (the point
 *               nearest the mean, then each time the point farthest from the
 *               seeds chosen, ties to the lower index), then Lloyd iterations
 *               until no point changes cluster (at most 100; nearest centre,
 *               ties to the lower index; an emptied cluster keeps its centre).
 *   logme       LogME (You et al. 2021, ICML, Algorithm 1 as released:
 *               each_evidence of thuml/LogME), nats per point, higher: better.
 *               Per class k, y_k = 1[y = k], the Bayesian linear model
 *               y_k ~ N(f w, 1/beta), w ~ N(0, I/alpha) on the raw features;
 *               with s, V the eigenvalues and vectors of f^T f: from alpha =
 *               beta = 1, at most 11 rounds of gamma = sum s/(s + alpha/beta),
 *               m = V diag(beta/(alpha + beta s)) V^T f^T y_k, alpha = gamma /
 *               (|m|^2 + 1e-5), beta = (n - gamma) / (|f m - y_k|^2 + 1e-5),
 *               stopping when alpha/beta changes by less than 1 %; evidence
 *               L_k = F/2 log alpha + n/2 log beta - 1/2 sum log(alpha + beta s)
 *               - beta/2 (|f m - y_k|^2 + 1e-5) - alpha/2 (|m|^2 + 1e-5)
 *               - n/2 log 2 pi; LogME = mean_k L_k / n.
 *   hscore      H-score (Bao et al. 2019), dimensionless, in [0, min(F, K-1)],
 *               higher: better. tr(S^+ B), S the feature covariance, B the
 *               covariance of the class means E[f|y] over the points (both
 *               with divisor n), S^+ the pseudo-inverse over the eigenvalues
 *               above 1e-10 times the largest (a dead unit, or n <= F, leaves
 *               S singular: the score is then taken on the span of the data).
 *   hscore_shrink  shrinkage H-score (Ibrahim et al. 2022), dimensionless,
 *               higher: better. (1 - a) tr(S_a^+ B), S_a = (1 - a) S + a mu I,
 *               mu = tr S / F, a the Ledoit-Wolf shrinkage of S (scikit-learn's
 *               ledoit_wolf_shrinkage); a = 0 gives the H-score.
 *   nce         NCE (Tran et al. 2019), nats, <= 0, higher: better.
 *               -H(Y|Z) of the empirical joint of the labels y and the hard
 *               source labels z = argmax_c p_c (ties: the lower class).
 *   gbc         GBC (Pandy et al. 2022), dimensionless, in [-K(K-1), 0],
 *               higher: better. -sum over ordered pairs of classes i != j of
 *               the Bhattacharyya coefficient exp(-D_B) of Gaussians with the
 *               classes' means and diagonal variances (divisor n_k, floored at
 *               1e-4 as in google-research/stable_transfer): D_B = 1/8 sum_d
 *               (mu_i - mu_j)^2 / s_d + 1/2 (sum_d log s_d - 1/2 sum_d log
 *               s_i,d - 1/2 sum_d log s_j,d), s = (s_i + s_j) / 2. No PCA
 *               (the paper's reduction to 64 dimensions; F <= 64 here).
 *   transrate   TransRate (Huang et al. 2022), nats, higher: better.
 *               R(Z) - (1/K) sum_k R(Z_k), Z the features centred on their
 *               mean, Z_k its rows of class k, R(Z) = 1/2 log det(I + Z^T Z /
 *               (rows(Z) eps)), eps = 1e-4 (the paper's code).
 *   knn         leave-one-out k-NN accuracy, in [0, 1], higher: better. The
 *               k-NN of self-supervised feature evaluation (Wu et al. 2018;
 *               DINO's k = 20 and temperature 0.07), the kind Sorkhei et al.
 *               2025 found the best predictor: cosine similarity (rows
 *               scaled to unit length; a zero row has similarity 0 to all),
 *               the k = min(knn_k, m - 1) most similar other points (ties:
 *               lower index) vote exp(sim / 0.07) for their class; wrong when
 *               the largest vote (ties: the lower class) is not the point's
 *               class. On all n points, or on
 *               m = knn_max_points of them drawn without replacement (Knuth's
 *               selection sampling, in index order) when n > knn_max_points:
 *               O(m^2 F).
 *   ft_loss_rise   the article's "loss increases instead of decreasing during
 *               fine-tuning" (its FAQ, Q4): ce[E-1] - ce[0] of the fine-tuning
 *               cross-entropy curve (finetune_ce: ce[e] is the loss on the
 *               labelled target points before epoch e's step, so ce[0] is the
 *               source network's), nats; > 0: the loss rose, the article's
 *               sign of negative transfer; higher: WORSE.
 *   ft_loss_rebound  ce[E-1] - min_e ce[e], nats, >= 0: how far the loss came
 *               back up from its lowest point (the other reading of the FAQ);
 *               higher: WORSE.
 *
 * Costs (F features, C classes, V <= 5C): O(n F^2 + F^3) each for the
 * covariance scores and LogME, O(n C) LEEP and NCE, O(n F + C^2 F) GBC,
 * O(m^2 F) k-NN, NLEEP O(n F^2 + F^3 + iterations n V F^2). None is O(n^2)
 * but k-NN, which knn_max_points bounds. */
#ifndef TLSWEEP_TRANSFER_H
#define TLSWEEP_TRANSFER_H

#include "tlsweep/rng.h"

#include <stddef.h>

/* The constants of the definitions above (the papers' or their code's). */
#define TLS_TS_PINV_RCOND      1e-10 /* H-scores: eigenvalues kept, relative to the largest */
#define TLS_TS_NLEEP_VARIANCE  0.8   /* NLEEP: share of the variance the PCA keeps (exceeds) */
#define TLS_TS_NLEEP_PER_CLASS 5     /* NLEEP: mixture components per class */
#define TLS_TS_GMM_REG_COVAR   1e-6  /* NLEEP: added to each covariance's diagonal */
#define TLS_TS_GMM_TOL         1e-3  /* NLEEP: EM stops when the mean log-likelihood changes less */
#define TLS_TS_GMM_MAX_ITER    100   /* NLEEP: EM iterations at most */
#define TLS_TS_KMEANS_MAX_ITER 100   /* NLEEP: Lloyd assignments at most */
#define TLS_TS_LOGME_EPS       1e-5  /* LogME: added to |m|^2 and to the squared residual */
#define TLS_TS_LOGME_ROUNDS    11    /* LogME: fixed-point rounds at most */
#define TLS_TS_LOGME_RTOL      0.01  /* LogME: relative change of alpha/beta that stops them */
#define TLS_TS_GBC_VAR_FLOOR   1e-4  /* GBC: least per-class variance, (feature units)^2 */
#define TLS_TS_TRANSRATE_EPS   1e-4  /* TransRate: the distortion eps */
#define TLS_TS_KNN_TEMPERATURE 0.07  /* k-NN: vote weight exp(similarity / T) */

/* The scores, in the order of tls_ts_table. Those before
 * TLS_TS_FT_LOSS_RISE are computed before fine-tuning (tls_ts_compute);
 * the last two from the fine-tuning curve (tls_ts_ft_loss_rise,
 * tls_ts_ft_loss_rebound). */
enum {
    TLS_TS_LEEP = 0,
    TLS_TS_NLEEP,
    TLS_TS_LOGME,
    TLS_TS_HSCORE,
    TLS_TS_HSCORE_SHRINK,
    TLS_TS_NCE,
    TLS_TS_GBC,
    TLS_TS_TRANSRATE,
    TLS_TS_KNN,
    TLS_TS_FT_LOSS_RISE,
    TLS_TS_FT_LOSS_REBOUND,
    TLS_TS_NSCORES
};

/* Why a score is NaN (TLS_TS_OK: it is not). Values are part of the results'
 * definition: never renumber them. */
typedef enum {
    TLS_TS_OK = 0,
    TLS_TS_ONE_CLASS = 1,    /* fewer than two classes among the labelled points */
    TLS_TS_FEW_POINTS = 2,   /* fewer points than the score needs (n < 2; NLEEP: n <= K) */
    TLS_TS_NO_VARIANCE = 3,  /* every feature constant over the points */
    TLS_TS_SINGULAR = 4,     /* a covariance the score inverts is not positive definite */
    TLS_TS_NONFINITE = 5,    /* a NaN or infinite input (feature, probability, loss) */
    TLS_TS_BAD_INPUT = 6,    /* a label outside 0..C-1, or n, F, C out of range */
    TLS_TS_SHORT_CURVE = 7,  /* fewer than two fine-tuning epochs */
    TLS_TS_NUMERIC = 8,      /* the computation itself turned non-finite */
    TLS_TS_NOT_COMPUTED = 9, /* not computed (set by callers, e.g. the network failed) */
    TLS_TS_NREASONS
} tls_ts_reason;
/* Short names of the reasons ("ok", "one_class", ...), in enum order. */
extern const char *const tls_ts_reason_names[TLS_TS_NREASONS];
/* The same as the CF flags of the variables ts_<score>_reason (a test
 * checks them against the names). */
#define TLS_TS_REASON_VALUES "0 1 2 3 4 5 6 7 8 9"
#define TLS_TS_REASON_MEANINGS                                                                     \
    "ok one_class few_points no_variance singular nonfinite bad_input short_curve numeric "        \
    "not_computed"

/* What describes a score in the results file. */
typedef struct {
    const char *name;      /* the variable is ts_<name> */
    const char *units;     /* "1": dimensionless (nats are named in long_name) */
    const char *long_name; /* one line: what, paper, direction */
    int higher_is_better;  /* 1: higher predicts better transfer; 0: worse */
} tls_ts_info;
extern const tls_ts_info tls_ts_table[TLS_TS_NSCORES];

/* The k-NN's parameters, the scores' only ones. */
typedef struct {
    int knn_k;          /* neighbours (20: DINO's), >= 1; min(knn_k, m - 1) are used */
    int knn_max_points; /* points the k-NN uses at most (1000), 0: all; the rest subsampled */
} tls_ts_params;

/* The defaults above. */
tls_ts_params tls_ts_defaults(void);

/* Doubles of workspace any score of tls_ts_compute needs for n points, F
 * features and C classes (C >= 2), whatever the parameters. */
size_t tls_ts_work_doubles(int n, int F, int C);

/* Every score before fine-tuning: value[s] and reason[s] for s <
 * TLS_TS_FT_LOSS_RISE (the other entries untouched). rng: the stream of the
 * k-NN subsample, used only when n > par->knn_max_points > 0 (may be NULL
 * otherwise). work: tls_ts_work_doubles(n, F, C) doubles. */
void tls_ts_compute(double *value, int *reason, const float *f, const float *p, const int *y, int n,
                    int F, int C, const tls_ts_params *par, tls_rng *rng, double *work);

/* The scores one at a time (definitions above). Each returns the score, or
 * NaN with *reason (never NULL) set; *reason is TLS_TS_OK otherwise. work:
 * tls_ts_work_doubles(n, F, C) doubles (more than each needs). */
double tls_ts_leep(const float *p, const int *y, int n, int C, double *work, int *reason);
double tls_ts_nleep(const float *f, const int *y, int n, int F, int C, double *work, int *reason);
double tls_ts_logme(const float *f, const int *y, int n, int F, int C, double *work, int *reason);
double tls_ts_hscore(const float *f, const int *y, int n, int F, int C, double *work, int *reason);
double tls_ts_hscore_shrink(const float *f, const int *y, int n, int F, int C, double *work,
                            int *reason);
double tls_ts_nce(const float *p, const int *y, int n, int C, double *work, int *reason);
double tls_ts_gbc(const float *f, const int *y, int n, int F, int C, double *work, int *reason);
double tls_ts_transrate(const float *f, const int *y, int n, int F, int C, double *work,
                        int *reason);
/* subset (n, may be NULL): when the score is computed, 1 for the points used, 0 for the others. */
double tls_ts_knn(const float *f, const int *y, int n, int F, int C, int k, int max_points,
                  tls_rng *rng, double *work, int *reason, unsigned char *subset);

/* From the fine-tuning cross-entropy curve ce (E values, nats; finetune_ce).
 * NaN with TLS_TS_SHORT_CURVE for E < 2, TLS_TS_NONFINITE for a NaN value. */
double tls_ts_ft_loss_rise(const float *ce, int E, int *reason);
double tls_ts_ft_loss_rebound(const float *ce, int E, int *reason);

#endif
