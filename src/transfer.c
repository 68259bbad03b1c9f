#include "tlsweep/transfer.h"

#include <float.h>
#include <math.h>
#include <string.h>

const char *const tls_ts_reason_names[TLS_TS_NREASONS] = {
    "ok",        "one_class", "few_points",  "no_variance", "singular",
    "nonfinite", "bad_input", "short_curve", "numeric",     "not_computed"};

/* clang-format off */
const tls_ts_info tls_ts_table[TLS_TS_NSCORES] = {
    {"leep", "1", "LEEP (Nguyen et al. 2020) of the transfer network's softmax on the labelled "
     "target points before fine-tuning, nats (<= 0; higher: better transfer)", 1},
    {"nleep", "1", "N-LEEP (Li et al. 2021): LEEP with the posteriors of a Gaussian mixture "
     "(5 per class) on the PCA-reduced (80 % of the variance) features of the labelled target "
     "points before fine-tuning, nats (<= 0; higher: better transfer)", 1},
    {"logme", "1", "LogME (You et al. 2021): mean per-class log evidence per point of a Bayesian "
     "linear model on the features of the labelled target points before fine-tuning, nats "
     "(higher: better transfer)", 1},
    {"hscore", "1", "H-score (Bao et al. 2019) tr(cov(f)^+ cov(E[f|y])) of the features of the "
     "labelled target points before fine-tuning (higher: better transfer)", 1},
    {"hscore_shrink", "1", "shrinkage H-score (Ibrahim et al. 2022): the H-score with the "
     "Ledoit-Wolf covariance of the features (higher: better transfer)", 1},
    {"nce", "1", "NCE (Tran et al. 2019): -H(target label | argmax of the source softmax) on the "
     "labelled target points before fine-tuning, nats (<= 0; higher: better transfer)", 1},
    {"gbc", "1", "GBC (Pandy et al. 2022): minus the summed Bhattacharyya coefficients of the "
     "classes' diagonal Gaussians in feature space before fine-tuning (<= 0; higher: better "
     "transfer)", 1},
    {"transrate", "1", "TransRate (Huang et al. 2022): coding rate R(f, 1e-4) - R(f|y, 1e-4) of "
     "the features of the labelled target points before fine-tuning, nats (higher: better "
     "transfer)", 1},
    {"knn", "1", "leave-one-out k-NN accuracy (cosine similarity; the k most similar other "
     "points, 20 by default, vote exp(sim/0.07)) on the features of the labelled target points "
     "before fine-tuning (higher: better transfer)", 1},
    {"ft_loss_rise", "1", "fine-tuning cross-entropy at the last epoch minus at the first "
     "(before any step), nats (> 0: the loss rose, the article's sign of negative transfer; "
     "higher: worse transfer)", 0},
    {"ft_loss_rebound", "1", "fine-tuning cross-entropy at the last epoch minus its minimum over "
     "the epochs, nats (>= 0; higher: worse transfer)", 0},
};
/* clang-format on */

tls_ts_params tls_ts_defaults(void) {
    tls_ts_params par = {.knn_k = 20, .knn_max_points = 1000};
    return par;
}

/* ---- workspace ----------------------------------------------------------- */

static int nleep_components(int K, int n) {
    int per = (n - 1) / K;
    return K * (per < TLS_TS_NLEEP_PER_CLASS ? per : TLS_TS_NLEEP_PER_CLASS);
}

static size_t max_size(size_t a, size_t b) {
    return a > b ? a : b;
}

size_t tls_ts_work_doubles(int n, int F, int C) {
    size_t N = (size_t)(n > 0 ? n : 0), D = (size_t)(F > 0 ? F : 0), K = (size_t)(C > 0 ? C : 0);
    size_t V = K * TLS_TS_NLEEP_PER_CLASS;
    size_t w = 0;
    w = max_size(w, K * K + 2 * K);                   /* LEEP, NCE */
    w = max_size(w, 3 * D * D + 3 * D + K * D + K);   /* H-scores */
    w = max_size(w, 2 * D * D + 4 * D + K);           /* LogME */
    w = max_size(w, 2 * K * D + K);                   /* GBC */
    w = max_size(w, D * D + D + K);                   /* TransRate */
    w = max_size(w, N * D + 2 * N + 2 * N + K + K);   /* k-NN */
    w = max_size(w, K + 2 * D * D + 2 * D + N * D     /* NLEEP: PCA */
                        + 2 * N + V * D               /* seeds and k-means */
                        + V * D + V * D * D + 2 * V   /* the mixture */
                        + N * V + D + V + K * V + V); /* responsibilities, LEEP */
    return w;
}

/* ---- checks -------------------------------------------------------------- */

static int all_finite(const float *a, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

/* Validates the common inputs (x: n rows of `cols` floats, may be NULL) and
 * counts the points per class into count (C); *K: the classes present. */
static int check(double *count, int *K, const float *x, int cols, const int *y, int n, int C) {
    if (n < 0 || C < 2 || (x && cols < 1)) return TLS_TS_BAD_INPUT;
    for (int c = 0; c < C; c++) count[c] = 0.0;
    for (int i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= C) return TLS_TS_BAD_INPUT;
        count[y[i]] += 1.0;
    }
    if (n < 2) return TLS_TS_FEW_POINTS;
    if (x && !all_finite(x, (size_t)n * cols)) return TLS_TS_NONFINITE;
    *K = 0;
    for (int c = 0; c < C; c++) *K += count[c] > 0.0;
    return *K < 2 ? TLS_TS_ONE_CLASS : TLS_TS_OK;
}

static double fail(int *reason, int why) {
    *reason = why;
    return NAN;
}

static double done(int *reason, double v) {
    if (!isfinite(v)) return fail(reason, TLS_TS_NUMERIC);
    *reason = TLS_TS_OK;
    return v;
}

/* ---- small dense linear algebra ------------------------------------------ */

/* Eigenvalues w (d, descending) and eigenvectors Q (d, d; column j is the
 * vector of w[j]) of the symmetric A (d, d), which is destroyed. Cyclic
 * Jacobi rotations (Golub & Van Loan 8.4) until the off-diagonal part is
 * below 1e-15 of the whole. */
static void sym_eigen(double *w, double *Q, double *A, int d) {
    double norm = 0.0;
    for (int i = 0; i < d * d; i++) norm += A[i] * A[i];
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) Q[i * d + j] = i == j;
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0.0;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++) off += 2.0 * A[p * d + q] * A[p * d + q];
        if (off <= 1e-30 * norm) break;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++) {
                double apq = A[p * d + q];
                if (apq == 0.0) continue;
                double tau = (A[q * d + q] - A[p * d + p]) / (2.0 * apq);
                double t = (tau >= 0.0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1.0 + tau * tau));
                double c = 1.0 / sqrt(1.0 + t * t), s = t * c;
                for (int k = 0; k < d; k++) { /* A J */
                    double akp = A[k * d + p], akq = A[k * d + q];
                    A[k * d + p] = c * akp - s * akq;
                    A[k * d + q] = s * akp + c * akq;
                }
                for (int k = 0; k < d; k++) { /* J^T (A J) */
                    double apk = A[p * d + k], aqk = A[q * d + k];
                    A[p * d + k] = c * apk - s * aqk;
                    A[q * d + k] = s * apk + c * aqk;
                }
                A[p * d + q] = A[q * d + p] = 0.0;
                for (int k = 0; k < d; k++) {
                    double qkp = Q[k * d + p], qkq = Q[k * d + q];
                    Q[k * d + p] = c * qkp - s * qkq;
                    Q[k * d + q] = s * qkp + c * qkq;
                }
            }
    }
    for (int j = 0; j < d; j++) w[j] = A[j * d + j];
    for (int j = 0; j < d; j++) { /* selection sort, descending, columns along */
        int best = j;
        for (int k = j + 1; k < d; k++)
            if (w[k] > w[best]) best = k;
        if (best == j) continue;
        double t = w[j];
        w[j] = w[best], w[best] = t;
        for (int k = 0; k < d; k++) {
            t = Q[k * d + j];
            Q[k * d + j] = Q[k * d + best], Q[k * d + best] = t;
        }
    }
}

/* Lower Cholesky factor of the symmetric A (d, d) in place (the upper part
 * is left alone); 0, or -1 when A is not positive definite. */
static int cholesky(double *A, int d) {
    for (int j = 0; j < d; j++) {
        double s = A[j * d + j];
        for (int k = 0; k < j; k++) s -= A[j * d + k] * A[j * d + k];
        if (!(s > 0.0)) return -1;
        double l = sqrt(s);
        A[j * d + j] = l;
        for (int i = j + 1; i < d; i++) {
            double t = A[i * d + j];
            for (int k = 0; k < j; k++) t -= A[i * d + k] * A[j * d + k];
            A[i * d + j] = t / l;
        }
    }
    return 0;
}

/* log det of A from its Cholesky factor */
static double chol_logdet(const double *L, int d) {
    double s = 0.0;
    for (int j = 0; j < d; j++) s += log(L[j * d + j]);
    return 2.0 * s;
}

/* mean (F) and covariance S (F, F; divisor n) of the rows of f (n, F) */
static void moments(double *mean, double *S, const float *f, int n, int F) {
    for (int j = 0; j < F; j++) mean[j] = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < F; j++) mean[j] += f[(size_t)i * F + j];
    for (int j = 0; j < F; j++) mean[j] /= n;
    for (int j = 0; j < F * F; j++) S[j] = 0.0;
    for (int i = 0; i < n; i++) {
        const float *x = f + (size_t)i * F;
        for (int a = 0; a < F; a++) {
            double da = x[a] - mean[a];
            for (int b = a; b < F; b++) S[a * F + b] += da * (x[b] - mean[b]);
        }
    }
    for (int a = 0; a < F; a++)
        for (int b = a; b < F; b++) S[b * F + a] = S[a * F + b] /= n;
}

/* ---- LEEP and NCE: the source classifier's outputs ----------------------- */

double tls_ts_leep(const float *p, const int *y, int n, int C, double *work, int *reason) {
    double *count = work, *joint = count + C, *pz = joint + (size_t)C * C; /* (C), (C, C), (C) */
    int K, why = check(count, &K, p, C, y, n, C);
    if (why) return fail(reason, why);
    for (int j = 0; j < C * C; j++) joint[j] = 0.0;
    for (int i = 0; i < n; i++)
        for (int z = 0; z < C; z++) joint[y[i] * C + z] += (double)p[(size_t)i * C + z] / n;
    for (int z = 0; z < C; z++) {
        pz[z] = 0.0;
        for (int c = 0; c < C; c++) pz[z] += joint[c * C + z];
    }
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int z = 0; z < C; z++)
            if (pz[z] > 0.0) s += joint[y[i] * C + z] / pz[z] * p[(size_t)i * C + z];
        total += log(s);
    }
    return done(reason, total / n);
}

double tls_ts_nce(const float *p, const int *y, int n, int C, double *work, int *reason) {
    double *count = work, *joint = count + C, *pz = joint + (size_t)C * C;
    int K, why = check(count, &K, p, C, y, n, C);
    if (why) return fail(reason, why);
    for (int j = 0; j < C * C; j++) joint[j] = 0.0;
    for (int z = 0; z < C; z++) pz[z] = 0.0;
    for (int i = 0; i < n; i++) {
        const float *pi = p + (size_t)i * C;
        int z = 0;
        for (int c = 1; c < C; c++)
            if (pi[c] > pi[z]) z = c;
        joint[y[i] * C + z] += 1.0;
        pz[z] += 1.0;
    }
    double h = 0.0; /* H(Y|Z) = -sum P(y,z) log P(y|z) */
    for (int c = 0; c < C; c++)
        for (int z = 0; z < C; z++)
            if (joint[c * C + z] > 0.0) h -= joint[c * C + z] / n * log(joint[c * C + z] / pz[z]);
    return done(reason, -h);
}

/* ---- H-scores ------------------------------------------------------------ */

/* tr(D^+ Q^T B Q) with D = diag(dj): sum over the dj above rcond * max dj of
 * q_j^T B q_j / dj; NaN when no dj is positive. */
static double pinv_trace(const double *dj, const double *Q, const double *B, int F) {
    double top = 0.0;
    for (int j = 0; j < F; j++) top = fmax(top, dj[j]);
    if (!(top > 0.0)) return NAN;
    double h = 0.0;
    for (int j = 0; j < F; j++) {
        if (!(dj[j] > TLS_TS_PINV_RCOND * top)) continue;
        double qbq = 0.0;
        for (int a = 0; a < F; a++) {
            double t = 0.0;
            for (int b = 0; b < F; b++) t += B[a * F + b] * Q[b * F + j];
            qbq += Q[a * F + j] * t;
        }
        h += qbq / dj[j];
    }
    return h;
}

/* The H-scores' parts: S (F, F) the covariance (destroyed: eigenvalues w,
 * vectors Q), B (F, F) the covariance of the class means; with shrink, also
 * the Ledoit-Wolf shrinkage *a and *mu = tr S / F. Workspace from `work`. */
static int hscore_parts(double **w_out, double **Q_out, double **B_out, double *a, double *mu,
                        const float *f, const int *y, int n, int F, int C, double *work,
                        int shrink) {
    double *count = work, *mean = count + C, *S = mean + F, *Q = S + (size_t)F * F;
    double *B = Q + (size_t)F * F, *means = B + (size_t)F * F, *w = means + (size_t)C * F;
    double *x = w + F; /* (F) */
    int K, why = check(count, &K, f, F, y, n, C);
    if (why) return why;
    moments(mean, S, f, n, F);
    for (int j = 0; j < C * F; j++) means[j] = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < F; j++) means[y[i] * F + j] += f[(size_t)i * F + j];
    for (int j = 0; j < F * F; j++) B[j] = 0.0;
    for (int c = 0; c < C; c++) {
        if (count[c] == 0.0) continue;
        for (int j = 0; j < F; j++) x[j] = means[c * F + j] / count[c] - mean[j];
        for (int u = 0; u < F; u++)
            for (int v = 0; v < F; v++) B[u * F + v] += count[c] / n * x[u] * x[v];
    }
    *a = 0.0, *mu = 0.0;
    if (shrink) { /* scikit-learn's ledoit_wolf_shrinkage on the centred rows */
        double trace = 0.0, beta_ = 0.0, delta_ = 0.0;
        for (int j = 0; j < F; j++) trace += S[j * F + j];
        for (int i = 0; i < n; i++) {
            double r2 = 0.0;
            for (int j = 0; j < F; j++) {
                double d = f[(size_t)i * F + j] - mean[j];
                r2 += d * d;
            }
            beta_ += r2 * r2;
        }
        for (int j = 0; j < F * F; j++) delta_ += S[j] * S[j];
        *mu = trace / F;
        if (F > 1) {
            double beta = (beta_ / n - delta_) / ((double)F * n);
            double delta = (delta_ - 2.0 * *mu * trace + F * *mu * *mu) / F;
            beta = fmin(beta, delta);
            *a = beta == 0.0 ? 0.0 : beta / delta;
        }
    }
    sym_eigen(w, Q, S, F);
    *w_out = w, *Q_out = Q, *B_out = B;
    return TLS_TS_OK;
}

double tls_ts_hscore(const float *f, const int *y, int n, int F, int C, double *work, int *reason) {
    double *w, *Q, *B, a, mu;
    int why = hscore_parts(&w, &Q, &B, &a, &mu, f, y, n, F, C, work, 0);
    if (why) return fail(reason, why);
    double h = pinv_trace(w, Q, B, F);
    if (isnan(h)) return fail(reason, TLS_TS_NO_VARIANCE);
    return done(reason, h);
}

double tls_ts_hscore_shrink(const float *f, const int *y, int n, int F, int C, double *work,
                            int *reason) {
    double *w, *Q, *B, a, mu;
    int why = hscore_parts(&w, &Q, &B, &a, &mu, f, y, n, F, C, work, 1);
    if (why) return fail(reason, why);
    for (int j = 0; j < F; j++) w[j] = (1.0 - a) * w[j] + a * mu; /* S_a's eigenvalues */
    double h = pinv_trace(w, Q, B, F);
    if (isnan(h)) return fail(reason, TLS_TS_NO_VARIANCE);
    return done(reason, (1.0 - a) * h);
}

/* ---- LogME ---------------------------------------------------------------- */

double tls_ts_logme(const float *f, const int *y, int n, int F, int C, double *work, int *reason) {
    double *count = work, *G = count + C, *V = G + (size_t)F * F, *s = V + (size_t)F * F;
    double *fty = s + F, *t = fty + F, *m = t + F; /* (F) each */
    int K, why = check(count, &K, f, F, y, n, C);
    if (why) return fail(reason, why);
    for (int j = 0; j < F * F; j++) G[j] = 0.0;
    for (int i = 0; i < n; i++) {
        const float *x = f + (size_t)i * F;
        for (int a = 0; a < F; a++)
            for (int b = a; b < F; b++) G[a * F + b] += (double)x[a] * x[b];
    }
    for (int a = 0; a < F; a++)
        for (int b = a + 1; b < F; b++) G[b * F + a] = G[a * F + b];
    sym_eigen(s, V, G, F);
    for (int j = 0; j < F; j++) s[j] = fabs(s[j]); /* the singular values of f^T f */
    double total = 0.0;
    for (int k = 0; k < C; k++) {
        if (count[k] == 0.0) continue;
        for (int j = 0; j < F; j++) fty[j] = 0.0;
        for (int i = 0; i < n; i++)
            if (y[i] == k)
                for (int j = 0; j < F; j++) fty[j] += f[(size_t)i * F + j];
        for (int j = 0; j < F; j++) { /* t = V^T f^T y_k */
            t[j] = 0.0;
            for (int a = 0; a < F; a++) t[j] += V[a * F + j] * fty[a];
        }
        double alpha = 1.0, beta = 1.0, lam = 1.0, alpha_de = 0.0, beta_de = 0.0;
        for (int round = 0; round < TLS_TS_LOGME_ROUNDS; round++) {
            double gamma = 0.0;
            for (int j = 0; j < F; j++) gamma += s[j] / (s[j] + lam);
            for (int a = 0; a < F; a++) {
                m[a] = 0.0;
                for (int j = 0; j < F; j++)
                    m[a] += V[a * F + j] * (t[j] * beta / (alpha + beta * s[j]));
            }
            alpha_de = 0.0;
            for (int a = 0; a < F; a++) alpha_de += m[a] * m[a];
            alpha = gamma / (alpha_de + TLS_TS_LOGME_EPS);
            beta_de = 0.0;
            for (int i = 0; i < n; i++) {
                double r = (y[i] == k);
                for (int a = 0; a < F; a++) r -= f[(size_t)i * F + a] * m[a];
                beta_de += r * r;
            }
            beta = (n - gamma) / (beta_de + TLS_TS_LOGME_EPS);
            double new_lam = alpha / beta;
            if (fabs(new_lam - lam) / lam < TLS_TS_LOGME_RTOL) break;
            lam = new_lam;
        }
        double logdet = 0.0;
        for (int j = 0; j < F; j++) logdet += log(alpha + beta * s[j]);
        double ev = F / 2.0 * log(alpha) + n / 2.0 * log(beta) - 0.5 * logdet -
                    beta / 2.0 * (beta_de + TLS_TS_LOGME_EPS) -
                    alpha / 2.0 * (alpha_de + TLS_TS_LOGME_EPS) - n / 2.0 * log(2.0 * M_PI);
        total += ev / n;
    }
    return done(reason, total / K);
}

/* ---- GBC ------------------------------------------------------------------ */

double tls_ts_gbc(const float *f, const int *y, int n, int F, int C, double *work, int *reason) {
    double *count = work, *mu = count + C, *var = mu + (size_t)C * F; /* (C), (C, F), (C, F) */
    int K, why = check(count, &K, f, F, y, n, C);
    if (why) return fail(reason, why);
    for (int j = 0; j < C * F; j++) mu[j] = var[j] = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < F; j++) mu[y[i] * F + j] += f[(size_t)i * F + j];
    for (int c = 0; c < C; c++)
        for (int j = 0; j < F; j++)
            if (count[c] > 0.0) mu[c * F + j] /= count[c];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < F; j++) {
            double d = f[(size_t)i * F + j] - mu[y[i] * F + j];
            var[y[i] * F + j] += d * d;
        }
    for (int c = 0; c < C; c++)
        for (int j = 0; j < F; j++)
            if (count[c] > 0.0)
                var[c * F + j] = fmax(var[c * F + j] / count[c], TLS_TS_GBC_VAR_FLOOR);
    double bc = 0.0;
    for (int c1 = 0; c1 < C; c1++)
        for (int c2 = c1 + 1; c2 < C; c2++) {
            if (count[c1] == 0.0 || count[c2] == 0.0) continue;
            double first = 0.0, second = 0.0;
            for (int j = 0; j < F; j++) {
                double s1 = var[c1 * F + j], s2 = var[c2 * F + j], s = 0.5 * (s1 + s2);
                double d = mu[c1 * F + j] - mu[c2 * F + j];
                first += d * d / s;
                second += log(s) - 0.5 * log(s1) - 0.5 * log(s2);
            }
            bc += exp(-(first / 8.0 + 0.5 * second));
        }
    return done(reason, -2.0 * bc); /* both orders of each pair */
}

/* ---- TransRate ------------------------------------------------------------ */

/* R = 1/2 log det(I + G / (rows eps)) of the Gram matrix G (F, F), which is destroyed. */
static double coding_rate(double *G, int F, double rows) {
    for (int j = 0; j < F * F; j++) G[j] /= rows * TLS_TS_TRANSRATE_EPS;
    for (int j = 0; j < F; j++) G[j * F + j] += 1.0;
    if (cholesky(G, F)) return NAN;
    return 0.5 * chol_logdet(G, F);
}

double tls_ts_transrate(const float *f, const int *y, int n, int F, int C, double *work,
                        int *reason) {
    double *count = work, *mean = count + C, *G = mean + F; /* (C), (F), (F, F) */
    int K, why = check(count, &K, f, F, y, n, C);
    if (why) return fail(reason, why);
    for (int j = 0; j < F; j++) mean[j] = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < F; j++) mean[j] += f[(size_t)i * F + j];
    for (int j = 0; j < F; j++) mean[j] /= n;
    double rz = 0.0, rzy = 0.0;
    for (int k = -1; k < C; k++) { /* -1: every point, then each class */
        if (k >= 0 && count[k] == 0.0) continue;
        for (int j = 0; j < F * F; j++) G[j] = 0.0;
        for (int i = 0; i < n; i++) {
            if (k >= 0 && y[i] != k) continue;
            const float *x = f + (size_t)i * F;
            for (int a = 0; a < F; a++) {
                double da = x[a] - mean[a];
                for (int b = a; b < F; b++) G[a * F + b] += da * (x[b] - mean[b]);
            }
        }
        for (int a = 0; a < F; a++)
            for (int b = a + 1; b < F; b++) G[b * F + a] = G[a * F + b];
        double r = coding_rate(G, F, k < 0 ? n : count[k]);
        if (k < 0)
            rz = r;
        else
            rzy += r;
    }
    return done(reason, rz - rzy / K);
}

/* ---- leave-one-out k-NN --------------------------------------------------- */

double tls_ts_knn(const float *f, const int *y, int n, int F, int C, int k, int max_points,
                  tls_rng *rng, double *work, int *reason, unsigned char *subset) {
    double *count = work, *x = count + C, *lab = x + (size_t)n * F, *best = lab + n;
    double *bidx = best + n, *votes = bidx + n; /* (C), (m, F), (m), (k), (k), (C) */
    int K, why = check(count, &K, f, F, y, n, C);
    if (why) return fail(reason, why);
    if (k < 1 || max_points < 0) return fail(reason, TLS_TS_BAD_INPUT);
    int m = max_points > 0 && n > max_points ? max_points : n;
    if (m < n && !rng) return fail(reason, TLS_TS_BAD_INPUT);
    /* the points used (Knuth's selection sampling), scaled to unit length */
    int got = 0;
    for (int i = 0; i < n; i++) {
        int take = m == n || (got < m && tls_rng_uniform(rng) * (n - i) < m - got);
        if (subset) subset[i] = (unsigned char)take;
        if (!take) continue;
        double norm = 0.0, *row = x + (size_t)got * F;
        for (int j = 0; j < F; j++) norm += (double)f[(size_t)i * F + j] * f[(size_t)i * F + j];
        norm = sqrt(norm);
        for (int j = 0; j < F; j++) row[j] = norm > 0.0 ? f[(size_t)i * F + j] / norm : 0.0;
        lab[got++] = y[i];
    }
    if (m < 2) return fail(reason, TLS_TS_FEW_POINTS);
    for (int c = 0; c < C; c++) votes[c] = 0.0;
    for (int i = 0; i < m; i++) votes[(int)lab[i]] = 1.0;
    int present = 0;
    for (int c = 0; c < C; c++) present += votes[c] > 0.0;
    if (present < 2) return fail(reason, TLS_TS_ONE_CLASS);
    if (k > m - 1) k = m - 1;
    int right = 0;
    for (int i = 0; i < m; i++) {
        const double *xi = x + (size_t)i * F;
        int have = 0; /* best[0..have): the most similar so far, descending; bidx their rows */
        for (int j = 0; j < m; j++) {
            if (j == i) continue;
            const double *xj = x + (size_t)j * F;
            double sim = 0.0;
            for (int a = 0; a < F; a++) sim += xi[a] * xj[a];
            if (have == k && !(sim > best[k - 1])) continue; /* ties: the earlier row stays */
            int pos = have < k ? have++ : k - 1;
            while (pos > 0 && sim > best[pos - 1]) {
                best[pos] = best[pos - 1], bidx[pos] = bidx[pos - 1];
                pos--;
            }
            best[pos] = sim, bidx[pos] = j;
        }
        for (int c = 0; c < C; c++) votes[c] = 0.0;
        for (int r = 0; r < have; r++)
            votes[(int)lab[(int)bidx[r]]] += exp(best[r] / TLS_TS_KNN_TEMPERATURE);
        int pred = 0;
        for (int c = 1; c < C; c++)
            if (votes[c] > votes[pred]) pred = c;
        right += pred == (int)lab[i];
    }
    return done(reason, (double)right / m);
}

/* ---- N-LEEP --------------------------------------------------------------- */

static double sqdist(const double *a, const double *b, int d) {
    double s = 0.0;
    for (int j = 0; j < d; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
    return s;
}

/* The E step of scikit-learn's GaussianMixture: resp (n, V) the posteriors
 * of the components given means mu (V, d), Cholesky factors L (V, d, d) of
 * the covariances and log weights lw (V); u: d + V doubles of scratch.
 * Returns the mean log-likelihood. */
static double gmm_e_step(double *resp, const double *Z, int n, int d, int V, const double *mu,
                         const double *L, const double *lw, double *u) {
    double total = 0.0;
    for (int v = 0; v < V; v++) /* u as scratch: the log densities' constant terms */
        u[d + v] = lw[v] - 0.5 * (d * log(2.0 * M_PI) + chol_logdet(L + (size_t)v * d * d, d));
    for (int i = 0; i < n; i++) {
        double *r = resp + (size_t)i * V, top = -INFINITY;
        for (int v = 0; v < V; v++) {
            const double *Lv = L + (size_t)v * d * d;
            double maha = 0.0;
            for (int a = 0; a < d; a++) { /* u = L^-1 (z - mu) */
                double t = Z[(size_t)i * d + a] - mu[v * d + a];
                for (int b = 0; b < a; b++) t -= Lv[a * d + b] * u[b];
                u[a] = t / Lv[a * d + a];
                maha += u[a] * u[a];
            }
            r[v] = u[d + v] - 0.5 * maha;
            top = fmax(top, r[v]);
        }
        double s = 0.0;
        for (int v = 0; v < V; v++) s += exp(r[v] - top);
        double norm = top + log(s);
        for (int v = 0; v < V; v++) r[v] = exp(r[v] - norm);
        total += norm;
    }
    return total / n;
}

/* The M step from responsibilities resp (n, V): nk (V), means mu (V, d),
 * Cholesky factors L (V, d, d) of the covariances + reg I, log weights lw
 * (V) normalised by `norm` (NULL: by sum nk); -1 when a covariance is not
 * positive definite. */
static int gmm_m_step(double *nk, double *mu, double *L, double *lw, const double *resp,
                      const double *Z, int n, int d, int V, double norm) {
    double sum = 0.0;
    for (int v = 0; v < V; v++) {
        nk[v] = 10.0 * DBL_EPSILON;
        for (int i = 0; i < n; i++) nk[v] += resp[(size_t)i * V + v];
        sum += nk[v];
    }
    for (int v = 0; v < V; v++) {
        double *m = mu + v * d, *Lv = L + (size_t)v * d * d;
        for (int a = 0; a < d; a++) m[a] = 0.0;
        for (int i = 0; i < n; i++)
            for (int a = 0; a < d; a++) m[a] += resp[(size_t)i * V + v] * Z[(size_t)i * d + a];
        for (int a = 0; a < d; a++) m[a] /= nk[v];
        for (int a = 0; a < d * d; a++) Lv[a] = 0.0;
        for (int i = 0; i < n; i++) {
            double r = resp[(size_t)i * V + v];
            if (r == 0.0) continue;
            const double *z = Z + (size_t)i * d;
            for (int a = 0; a < d; a++)
                for (int b = 0; b <= a; b++) Lv[a * d + b] += r * (z[a] - m[a]) * (z[b] - m[b]);
        }
        for (int a = 0; a < d; a++) {
            for (int b = 0; b <= a; b++) Lv[a * d + b] /= nk[v];
            Lv[a * d + a] += TLS_TS_GMM_REG_COVAR;
        }
        if (cholesky(Lv, d)) return -1;
        lw[v] = log(nk[v] / (norm > 0.0 ? norm : sum));
    }
    return 0;
}

double tls_ts_nleep(const float *f, const int *y, int n, int F, int C, double *work, int *reason) {
    double *count = work, *mean = count + C, *S = mean + F, *Q = S + (size_t)F * F;
    double *w = Q + (size_t)F * F, *Z = w + F; /* (C), (F), (F, F), (F, F), (F), (n, d) */
    int K, why = check(count, &K, f, F, y, n, C);
    if (why) return fail(reason, why);
    int V = nleep_components(K, n);
    if (V < 1) return fail(reason, TLS_TS_FEW_POINTS);
    /* PCA: the fewest axes with more than TLS_TS_NLEEP_VARIANCE of the variance */
    moments(mean, S, f, n, F);
    sym_eigen(w, Q, S, F);
    double total = 0.0, cum = 0.0;
    for (int j = 0; j < F; j++) total += fmax(w[j], 0.0);
    if (!(total > 0.0)) return fail(reason, TLS_TS_NO_VARIANCE);
    int d = 0;
    while (d < F && !(cum / total > TLS_TS_NLEEP_VARIANCE)) cum += fmax(w[d++], 0.0);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++) {
            double s = 0.0;
            for (int j = 0; j < F; j++) s += (f[(size_t)i * F + j] - mean[j]) * Q[j * F + a];
            Z[(size_t)i * d + a] = s;
        }
    double *label = Z + (size_t)n * d, *mind = label + n, *cen = mind + n; /* (n), (n), (V, d) */
    double *mu = cen + (size_t)V * d, *L = mu + (size_t)V * d, *nk = L + (size_t)V * d * d;
    double *lw = nk + V, *resp = lw + V, *u = resp + (size_t)n * V, *pyv = u + d + V;
    double *pv =
        pyv + (size_t)C * V; /* (V, d), (V, d, d), (V), (V), (n, V), (d + V), (C, V), (V) */
    /* k-means seeds: the point nearest the mean (the origin of Z), then farthest points */
    int first = 0;
    for (int i = 0; i < n; i++) {
        mind[i] = 0.0;
        for (int a = 0; a < d; a++) mind[i] += Z[(size_t)i * d + a] * Z[(size_t)i * d + a];
        if (mind[i] < mind[first]) first = i;
    }
    memcpy(cen, Z + (size_t)first * d, sizeof(double) * d);
    for (int i = 0; i < n; i++) mind[i] = sqdist(Z + (size_t)i * d, cen, d);
    for (int v = 1; v < V; v++) {
        int far = 0;
        for (int i = 1; i < n; i++)
            if (mind[i] > mind[far]) far = i;
        memcpy(cen + v * d, Z + (size_t)far * d, sizeof(double) * d);
        for (int i = 0; i < n; i++)
            mind[i] = fmin(mind[i], sqdist(Z + (size_t)i * d, cen + v * d, d));
    }
    /* Lloyd iterations until no point changes cluster */
    for (int i = 0; i < n; i++) label[i] = -1.0;
    for (int it = 0; it < TLS_TS_KMEANS_MAX_ITER; it++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            int near = 0;
            double dn = sqdist(Z + (size_t)i * d, cen, d);
            for (int v = 1; v < V; v++) {
                double dv = sqdist(Z + (size_t)i * d, cen + v * d, d);
                if (dv < dn) dn = dv, near = v;
            }
            changed |= near != (int)label[i];
            label[i] = near;
        }
        if (!changed) break;
        for (int v = 0; v < V; v++) nk[v] = 0.0;
        for (int j = 0; j < V * d; j++) mu[j] = 0.0;
        for (int i = 0; i < n; i++) {
            int v = (int)label[i];
            nk[v] += 1.0;
            for (int a = 0; a < d; a++) mu[v * d + a] += Z[(size_t)i * d + a];
        }
        for (int v = 0; v < V; v++)
            if (nk[v] > 0.0)
                for (int a = 0; a < d; a++) cen[v * d + a] = mu[v * d + a] / nk[v];
    }
    /* the mixture, from the one-hot responsibilities of the clusters (weights N_k / n) */
    for (int i = 0; i < n; i++)
        for (int v = 0; v < V; v++) resp[(size_t)i * V + v] = (int)label[i] == v;
    if (gmm_m_step(nk, mu, L, lw, resp, Z, n, d, V, n)) return fail(reason, TLS_TS_SINGULAR);
    double lb = -INFINITY;
    for (int it = 1; it <= TLS_TS_GMM_MAX_ITER; it++) {
        double prev = lb;
        lb = gmm_e_step(resp, Z, n, d, V, mu, L, lw, u);
        if (gmm_m_step(nk, mu, L, lw, resp, Z, n, d, V, 0.0)) return fail(reason, TLS_TS_SINGULAR);
        if (!isfinite(lb)) return fail(reason, TLS_TS_NUMERIC);
        if (fabs(lb - prev) < TLS_TS_GMM_TOL) break;
    }
    gmm_e_step(resp, Z, n, d, V, mu, L, lw, u);
    /* LEEP with the posteriors in place of the softmax */
    for (int j = 0; j < C * V; j++) pyv[j] = 0.0;
    for (int i = 0; i < n; i++)
        for (int v = 0; v < V; v++) pyv[y[i] * V + v] += resp[(size_t)i * V + v] / n;
    for (int v = 0; v < V; v++) {
        pv[v] = 0.0;
        for (int c = 0; c < C; c++) pv[v] += pyv[c * V + v];
    }
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int v = 0; v < V; v++)
            if (pv[v] > 0.0) s += pyv[y[i] * V + v] / pv[v] * resp[(size_t)i * V + v];
        sum += log(s);
    }
    return done(reason, sum / n);
}

/* ---- all of them ---------------------------------------------------------- */

void tls_ts_compute(double *value, int *reason, const float *f, const float *p, const int *y, int n,
                    int F, int C, const tls_ts_params *par, tls_rng *rng, double *work) {
    value[TLS_TS_LEEP] = tls_ts_leep(p, y, n, C, work, &reason[TLS_TS_LEEP]);
    value[TLS_TS_NLEEP] = tls_ts_nleep(f, y, n, F, C, work, &reason[TLS_TS_NLEEP]);
    value[TLS_TS_LOGME] = tls_ts_logme(f, y, n, F, C, work, &reason[TLS_TS_LOGME]);
    value[TLS_TS_HSCORE] = tls_ts_hscore(f, y, n, F, C, work, &reason[TLS_TS_HSCORE]);
    value[TLS_TS_HSCORE_SHRINK] =
        tls_ts_hscore_shrink(f, y, n, F, C, work, &reason[TLS_TS_HSCORE_SHRINK]);
    value[TLS_TS_NCE] = tls_ts_nce(p, y, n, C, work, &reason[TLS_TS_NCE]);
    value[TLS_TS_GBC] = tls_ts_gbc(f, y, n, F, C, work, &reason[TLS_TS_GBC]);
    value[TLS_TS_TRANSRATE] = tls_ts_transrate(f, y, n, F, C, work, &reason[TLS_TS_TRANSRATE]);
    value[TLS_TS_KNN] = tls_ts_knn(f, y, n, F, C, par->knn_k, par->knn_max_points, rng, work,
                                   &reason[TLS_TS_KNN], NULL);
}

/* ---- the fine-tuning curve ------------------------------------------------ */

static int curve_check(const float *ce, int E) {
    if (E < 2) return TLS_TS_SHORT_CURVE;
    return all_finite(ce, (size_t)E) ? TLS_TS_OK : TLS_TS_NONFINITE;
}

double tls_ts_ft_loss_rise(const float *ce, int E, int *reason) {
    int why = curve_check(ce, E);
    if (why) return fail(reason, why);
    return done(reason, (double)ce[E - 1] - ce[0]);
}

double tls_ts_ft_loss_rebound(const float *ce, int E, int *reason) {
    int why = curve_check(ce, E);
    if (why) return fail(reason, why);
    float low = ce[0];
    for (int e = 1; e < E; e++) low = fminf(low, ce[e]);
    return done(reason, (double)ce[E - 1] - low);
}
