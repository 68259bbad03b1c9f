#include "tlsweep/align.h"

#include <string.h>

size_t tls_coral_work_floats(int n, int m, int d) {
    (void)n, (void)m;
    /* doubles, counted as two floats each: C_x, C_y (d, d), two means (d) */
    return 2 * (2 * (size_t)d * d + 2 * (size_t)d);
}

/* cov (d, d) = (x - mean)^T (x - mean) / (n - 1), mean (d); 0 when n < 2. */
static void covariance(double *cov, double *mean, const float *x, int n, int d) {
    memset(cov, 0, sizeof(double) * (size_t)d * d);
    memset(mean, 0, sizeof(double) * (size_t)d);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++) mean[a] += x[(size_t)i * d + a];
    for (int a = 0; a < d; a++) mean[a] /= n;
    if (n < 2) return;
    for (int i = 0; i < n; i++) {
        const float *r = x + (size_t)i * d;
        for (int a = 0; a < d; a++) {
            double ca = r[a] - mean[a];
            for (int b = a; b < d; b++) cov[(size_t)a * d + b] += ca * (r[b] - mean[b]);
        }
    }
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++) {
            cov[(size_t)a * d + b] /= (n - 1);
            cov[(size_t)b * d + a] = cov[(size_t)a * d + b];
        }
}

/* dx (n, d) += s (x - mean) D, D (d, d) symmetric. */
static void coral_grad(float *dx, double s, const float *x, const double *mean, const double *D,
                       int n, int d) {
    for (int i = 0; i < n; i++) {
        const float *r = x + (size_t)i * d;
        for (int b = 0; b < d; b++) {
            double acc = 0.0;
            for (int a = 0; a < d; a++) acc += (r[a] - mean[a]) * D[(size_t)a * d + b];
            dx[(size_t)i * d + b] += (float)(s * acc);
        }
    }
}

double tls_coral_forward_backward(float *dx, float *dy, float dloss, const float *x, const float *y,
                                  int n, int m, int d, double *work) {
    double *cx = work, *cy = cx + (size_t)d * d, *mx = cy + (size_t)d * d, *my = mx + d;
    covariance(cx, mx, x, n, d);
    covariance(cy, my, y, m, d);
    double loss = 0.0;
    for (size_t k = 0; k < (size_t)d * d; k++) {
        cx[k] -= cy[k]; /* cx becomes C_x - C_y */
        loss += cx[k] * cx[k];
    }
    double dd = (double)d * d;
    if (dx && n >= 2) coral_grad(dx, dloss / (dd * (n - 1)), x, mx, cx, n, d);
    if (dy && m >= 2) coral_grad(dy, -dloss / (dd * (m - 1)), y, my, cx, m, d);
    return loss / (4.0 * dd);
}

double tls_l2sp_forward_backward(float *g, float alpha, const float *w, const float *w0, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        float diff = w[i] - w0[i];
        s += (double)diff * diff;
        g[i] += alpha * diff;
    }
    return 0.5 * alpha * s;
}

size_t tls_median_work_floats(int n, int m) {
    size_t k = (size_t)n + (size_t)m;
    return k * (k - 1) / 2 + 1;
}

static float sqdist(const float *a, const float *b, int d) {
    float s = 0.0f;
    for (int k = 0; k < d; k++) {
        float t = a[k] - b[k];
        s += t * t;
    }
    return s;
}

/* The k-th smallest of v[0..n) (v is reordered): Hoare-partition quickselect
 * with a median-of-three pivot; deterministic. */
static float select_kth(float *v, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        float a = v[lo], b = v[mid], c = v[hi];
        float pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = lo, j = hi;
        for (;;) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i >= j) break;
            float t = v[i];
            v[i] = v[j], v[j] = t;
            i++, j--;
        }
        /* now v[lo..j] <= pivot <= v[j+1..hi] */
        if (k <= j)
            hi = j;
        else
            lo = j + 1;
    }
    return v[k];
}

float tls_median_sqdist(const float *x, int n, const float *y, int m, int d, float *work) {
    int k = n + m;
    size_t N = 0;
    for (int i = 0; i < k; i++) {
        const float *a = i < n ? x + (size_t)i * d : y + (size_t)(i - n) * d;
        for (int j = i + 1; j < k; j++) {
            const float *b = j < n ? x + (size_t)j * d : y + (size_t)(j - n) * d;
            work[N++] = sqdist(a, b, d);
        }
    }
    return select_kth(work, N, (N - 1) / 2);
}
