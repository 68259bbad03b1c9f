#include "tlsweep/scores.h"

#include <math.h>
#include <string.h>

double tls_score_entropy(const float *probs, int n, int C) {
    if (n < 1) return NAN;
    double h = 0.0;
    for (size_t i = 0; i < (size_t)n * C; i++) {
        double p = probs[i];
        if (p > 0.0) h -= p * log(p);
    }
    return h / n;
}

size_t tls_snd_work_doubles(int n, int C) {
    return (size_t)n * C + 2 * (size_t)n;
}

double tls_score_snd(const float *probs, int n, int C, double tau, double *work) {
    if (n < 2) return NAN;
    double *f = work;                 /* (n, C) rows of unit length */
    double *Z = work + (size_t)n * C; /* (n) sum_j e_ij, e_ij = exp(s_ij - m) */
    double *A = Z + n;                /* (n) sum_j e_ij (s_ij - m) */
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * C;
        double norm = 0.0;
        for (int c = 0; c < C; c++) norm += (double)p[c] * p[c];
        norm = sqrt(norm);
        for (int c = 0; c < C; c++) f[(size_t)i * C + c] = norm > 0.0 ? p[c] / norm : 0.0;
    }
    /* H_i = log Z_i - A_i / Z_i for any shift m: with m = 1/tau (cosines are at most 1) every
     * exponent lies in [-2/tau, 0], so one pass over the pairs i < j serves both rows; for a
     * tau so small that exp(-2/tau) underflows, each row is shifted by its own maximum */
    int shared = 2.0 / tau < 600.0;
    double m = 1.0 / tau;
    for (int i = 0; i < n; i++) Z[i] = A[i] = 0.0;
    if (shared) {
        for (int i = 0; i < n; i++) {
            const double *fi = f + (size_t)i * C;
            for (int j = i + 1; j < n; j++) {
                const double *fj = f + (size_t)j * C;
                double dot = 0.0;
                for (int c = 0; c < C; c++) dot += fi[c] * fj[c];
                double u = dot / tau - m, e = exp(u);
                Z[i] += e, Z[j] += e;
                A[i] += e * u, A[j] += e * u;
            }
        }
    } else {
        for (int i = 0; i < n; i++) {
            const double *fi = f + (size_t)i * C;
            double mi = -INFINITY;
            for (int pass = 0; pass < 2; pass++)
                for (int j = 0; j < n; j++) {
                    if (j == i) continue;
                    const double *fj = f + (size_t)j * C;
                    double dot = 0.0;
                    for (int c = 0; c < C; c++) dot += fi[c] * fj[c];
                    if (pass == 0) {
                        mi = fmax(mi, dot / tau);
                    } else {
                        double u = dot / tau - mi, e = exp(u);
                        Z[i] += e, A[i] += e * u;
                    }
                }
        }
    }
    double total = 0.0;
    for (int i = 0; i < n; i++) total += log(Z[i]) - A[i] / Z[i];
    return total / n;
}

/* ---- the importance weights' logistic regression ------------------------- */

/* The model is linear in the features phi(x) = x (quad 0) or (x, x*x) (quad 1),
 * p = (1 + quad) d coefficients, then the intercept. */
size_t tls_logreg_work_doubles(int n, int d, int quad) {
    return 3 * (size_t)n + 6 * ((size_t)(1 + quad) * d + 1);
}

static const float *row_of(const float *x0, int n0, const float *x1, int i, int d) {
    return i < n0 ? x0 + (size_t)i * d : x1 + (size_t)(i - n0) * d;
}

/* phi(x) . w over the (1 + quad) d features, without the intercept */
static double dot_phi(const float *x, const double *w, int d, int quad) {
    double z = 0.0;
    for (int j = 0; j < d; j++) z += (double)x[j] * w[j];
    if (quad)
        for (int j = 0; j < d; j++) z += (double)x[j] * x[j] * w[d + j];
    return z;
}

/* out += a * phi(x) */
static void add_phi(double *out, double a, const float *x, int d, int quad) {
    for (int j = 0; j < d; j++) out[j] += a * x[j];
    if (quad)
        for (int j = 0; j < d; j++) out[d + j] += a * x[j] * x[j];
}

/* log(1 + exp(u)) without overflow */
static double softplus(double u) {
    return u > 0.0 ? u + log1p(exp(-u)) : log1p(exp(u));
}

static double sigmoid(double z) {
    if (z >= 0.0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

/* z (n) = the logits at coef; returns the objective there. */
static double objective(double *z, const double *coef, const float *x0, int n0, const float *x1,
                        int n1, int d, int quad, double C) {
    int m = (1 + quad) * d;
    double reg = 0.0, loss = 0.0;
    for (int j = 0; j < m; j++) reg += coef[j] * coef[j];
    for (int i = 0; i < n0 + n1; i++) {
        z[i] = dot_phi(row_of(x0, n0, x1, i, d), coef, d, quad) + coef[m];
        loss += softplus(i < n0 ? z[i] : -z[i]); /* label 0: log(1 + e^z); 1: log(1 + e^-z) */
    }
    return 0.5 * reg + C * loss;
}

/* out (m + 1) = H v, with D (n) the curvatures sigma (1 - sigma) and t (n) scratch. */
static void hess_vec(double *out, const double *v, const double *D, double *t, const float *x0,
                     int n0, const float *x1, int n1, int d, int quad, double C) {
    int n = n0 + n1, m = (1 + quad) * d;
    for (int i = 0; i < n; i++)
        t[i] = C * D[i] * (dot_phi(row_of(x0, n0, x1, i, d), v, d, quad) + v[m]);
    for (int j = 0; j < m; j++) out[j] = v[j];
    out[m] = 0.0;
    for (int i = 0; i < n; i++) {
        add_phi(out, t[i], row_of(x0, n0, x1, i, d), d, quad);
        out[m] += t[i];
    }
}

static double dotp(const double *a, const double *b, int p) {
    double s = 0.0;
    for (int j = 0; j < p; j++) s += a[j] * b[j];
    return s;
}

int tls_logreg_fit(double *coef, const float *x0, int n0, const float *x1, int n1, int d, int quad,
                   double C, double *work) {
    int n = n0 + n1, m = (1 + quad) * d, p = m + 1;
    double *z = work, *D = z + n, *t = D + n;
    double *g = t + n, *step = g + p, *r = step + p, *q = r + p, *Hq = q + p, *trial = Hq + p;
    memset(coef, 0, sizeof(double) * (size_t)p);
    double f = objective(z, coef, x0, n0, x1, n1, d, quad, C), tol = -1.0;
    for (int it = 0; it < 100; it++) {
        if (!isfinite(f)) return -1;
        /* gradient and curvatures at coef (z holds the logits) */
        for (int j = 0; j < m; j++) g[j] = coef[j];
        g[m] = 0.0;
        for (int i = 0; i < n; i++) {
            double sg = sigmoid(z[i]), resid = C * (sg - (i >= n0));
            add_phi(g, resid, row_of(x0, n0, x1, i, d), d, quad);
            g[m] += resid;
            D[i] = sg * (1.0 - sg);
        }
        double gmax = 0.0;
        for (int j = 0; j < p; j++) gmax = fmax(gmax, fabs(g[j]));
        if (tol < 0.0) tol = 1e-10 * fmax(1.0, gmax);
        if (gmax <= tol) return it;
        /* conjugate gradients on H step = -g, to a relative residual min(0.5, sqrt|g|) */
        double gnorm = sqrt(dotp(g, g, p)), eta = fmin(0.5, sqrt(gnorm));
        for (int j = 0; j < p; j++) step[j] = 0.0, r[j] = -g[j], q[j] = r[j];
        double rr = dotp(r, r, p);
        for (int k = 0; k < 2 * p + 20 && sqrt(rr) > eta * gnorm; k++) {
            hess_vec(Hq, q, D, t, x0, n0, x1, n1, d, quad, C);
            double qHq = dotp(q, Hq, p);
            if (!(qHq > 0.0)) break;
            double a = rr / qHq;
            for (int j = 0; j < p; j++) step[j] += a * q[j], r[j] -= a * Hq[j];
            double rr_new = dotp(r, r, p);
            for (int j = 0; j < p; j++) q[j] = r[j] + rr_new / rr * q[j];
            rr = rr_new;
        }
        if (dotp(step, step, p) == 0.0)
            for (int j = 0; j < p; j++) step[j] = -g[j]; /* no curvature: a gradient step */
        /* Armijo backtracking */
        double slope = dotp(g, step, p), a = 1.0, fn = f;
        for (int ls = 0; ls < 60; ls++, a *= 0.5) {
            for (int j = 0; j < p; j++) trial[j] = coef[j] + a * step[j];
            fn = objective(z, trial, x0, n0, x1, n1, d, quad, C);
            if (isfinite(fn) && fn <= f + 1e-4 * a * slope) break;
        }
        if (!isfinite(fn)) return -1;
        if (fn >= f) return it + 1; /* no further decrease in double precision */
        memcpy(coef, trial, sizeof(double) * (size_t)p);
        f = fn;
    }
    return 100;
}

void tls_importance_weights(double *w, const double *coef, const float *x, int n, int d, int quad,
                            double ratio) {
    int m = (1 + quad) * d;
    for (int i = 0; i < n; i++)
        w[i] = ratio * exp(dot_phi(x + (size_t)i * d, coef, d, quad) + coef[m]);
}

/* ---- validation ---------------------------------------------------------- */

double tls_score_iwcv(const double *w, const int *wrong, int n) {
    if (n < 1) return NAN;
    double s = 0.0;
    for (int i = 0; i < n; i++) s += w[i] * wrong[i];
    return s / n;
}

double tls_score_dev(const double *w, const int *wrong, int n) {
    if (n < 2) return NAN;
    double ml = 0.0, mw = 0.0;
    for (int i = 0; i < n; i++) ml += w[i] * wrong[i], mw += w[i];
    ml /= n, mw /= n;
    double cov = 0.0, var = 0.0;
    for (int i = 0; i < n; i++) {
        double dl = w[i] * wrong[i] - ml, dw = w[i] - mw;
        cov += dl * dw;
        var += dw * dw;
    }
    cov /= n - 1, var /= n - 1;
    if (!(var > 0.0)) return NAN;
    double eta = -cov / var;
    return ml + eta * mw - eta;
}

double tls_score_accuracy(const int *pred, const int *y, int n) {
    if (n < 1) return NAN;
    int right = 0;
    for (int i = 0; i < n; i++) right += pred[i] == y[i];
    return (double)right / n;
}
