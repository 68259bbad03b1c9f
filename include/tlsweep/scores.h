/* scores.h - scores that choose a configuration without the target test labels.
 *
 * Pure functions on arrays: no state, no allocation, no randomness (callers
 * pass workspaces). Each is the definition of one variable of the results
 * file (docs/FORMAT.md) and is tested against scikit-learn or a NumPy
 * version written from its paper (tests/test_scores.py):
 *
 *   entropy  mean Shannon entropy of the target softmax outputs, nats
 *            (lower: more confident predictions)
 *   snd      soft neighbourhood density (Saito et al. 2021): the mean entropy
 *            of the softmax, at temperature tau, of each target point's cosine
 *            similarities to the other target points' softmax outputs, nats
 *            (higher: denser neighbourhoods)
 *   logreg   an L2-regularised logistic regression telling source (0) from
 *            target (1) on the features (x, x*x) of a point x -- the family in
 *            which the log density ratio of two Gaussians with diagonal
 *            covariances lies, so that a change of spread or a rotation about
 *            the origin is seen, not only a change of mean -- with scikit-learn's
 *            LogisticRegression(C=C) objective (intercept not penalised),
 *            solved by Newton-CG to its optimum; its odds times n0/n1 are the
 *            importance weights p_target(x) / p_source(x)
 *   iwcv     importance-weighted validation (Sugiyama et al. 2007): the mean
 *            of weight * 0-1 loss over held-out source points, an estimate of
 *            the target error
 *   dev      deep embedded validation (You et al. 2019): iwcv with the
 *            weights as a control variate, mean(w l) + eta mean(w) - eta,
 *            eta = -Cov(w l, w) / Var(w) (both with n - 1) */
#ifndef TLSWEEP_SCORES_H
#define TLSWEEP_SCORES_H

#include <stddef.h>

/* Saito et al.'s temperature of the SND similarities. */
#define TLS_SND_TEMPERATURE 0.05
/* C of the importance weights' logistic regression (scikit-learn's default),
 * and its features: (x, x*x). */
#define TLS_DOMAIN_C         1.0
#define TLS_DOMAIN_QUADRATIC 1

/* Mean over the n rows of probs (n, C) of -sum_c p log p (0 log 0 = 0). */
double tls_score_entropy(const float *probs, int n, int C);

/* Doubles of workspace tls_score_snd needs for n rows of C classes. */
size_t tls_snd_work_doubles(int n, int C);
/* SND of the softmax outputs probs (n, C), n >= 2: rows L2-normalised,
 * s_ij = <f_i, f_j> / tau for j != i (the point itself left out),
 * P_ij = softmax_j(s_ij), SND = -(1/n) sum_i sum_j P_ij log P_ij. One pass
 * over the pairs i < j: O(n^2 C / 2) time (about 7 s at n = 34 900, C = 10
 * here), O(n C) memory. NaN for n < 2. */
double tls_score_snd(const float *probs, int n, int C, double tau, double *work);

/* Doubles of workspace tls_logreg_fit needs for n points of d coordinates. */
size_t tls_logreg_work_doubles(int n, int d, int quad);
/* Fits coef ((1 + quad) d + 1: the weights of x, then of x*x with quad, then
 * the intercept b) minimising
 *   1/2 |w|^2 + C sum_i log(1 + exp(-s_i (w.phi(x_i) + b))),  phi(x) = x or (x, x*x),
 * over the rows of x0 (n0, d; s = -1, label 0) and x1 (n1, d; s = +1, label 1).
 * Newton steps with conjugate gradients on Hessian-vector products and an
 * Armijo line search, until max |gradient| <= 1e-10 * max(1, its first value)
 * (at most 100 steps). Returns the number of Newton steps, or -1 when the
 * objective turns non-finite. */
int tls_logreg_fit(double *coef, const float *x0, int n0, const float *x1, int n1, int d, int quad,
                   double C, double *work);
/* Importance weights w (n) of the rows of x (n, d): ratio * exp(w.phi(x) + b),
 * i.e. ratio * P(1|x) / P(0|x); with ratio = n0 / n1 of the fit, the
 * estimated density ratio p_1(x) / p_0(x). */
void tls_importance_weights(double *w, const double *coef, const float *x, int n, int d, int quad,
                            double ratio);

/* (1/n) sum_i w_i * wrong_i (wrong: 0 or 1); NaN for n < 1. */
double tls_score_iwcv(const double *w, const int *wrong, int n);
/* DEV's risk with the control variate; NaN for n < 2 or Var(w) = 0. */
double tls_score_dev(const double *w, const int *wrong, int n);
/* Share of i with pred_i == y_i; NaN for n < 1. */
double tls_score_accuracy(const int *pred, const int *y, int n);

#endif
