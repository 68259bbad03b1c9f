#include "tlsweep/mmd.h"

#include <cblas.h>
#include <stdint.h>
#include <string.h>

/* Rows of a kernel tile. Small enough that a self block's upper triangle
 * of tiles is close to half the matrix, large enough for sgemm. */
enum { TILE_ROWS = 32, LANES = 8 };

size_t tls_mmd_work_floats(int n, int m, int d) {
    size_t big = (size_t)(n > m ? n : m);
    /* kernel tile, its row sums, column sums, squared norms of x and y, a
     * (TILE_ROWS, d) product, and the row sums and K*a of a self block */
    return (size_t)TILE_ROWS * big + TILE_ROWS + big + (size_t)n + (size_t)m +
           (size_t)TILE_ROWS * d + big + big * (size_t)d;
}

/* Named views into the caller's workspace. */
typedef struct {
    float *K;      /* (TILE_ROWS, big) kernel tile */
    float *rows;   /* (TILE_ROWS) row sums of the tile */
    float *cols;   /* (big) column sums, for the second argument's gradient */
    float *nx;     /* (n) squared norms of x */
    float *ny;     /* (m) squared norms of y */
    float *KB;     /* (TILE_ROWS, d) tile times second argument */
    float *rowsum; /* (big) full row sums of a self block */
    float *KA;     /* (big, d) K a of a self block */
} mmd_work;

static mmd_work work_views(float *w, int n, int m, int d) {
    size_t big = (size_t)(n > m ? n : m);
    mmd_work v;
    v.K = w;
    v.rows = v.K + (size_t)TILE_ROWS * big;
    v.cols = v.rows + TILE_ROWS;
    v.nx = v.cols + big;
    v.ny = v.nx + n;
    v.KB = v.ny + m;
    v.rowsum = v.KB + (size_t)TILE_ROWS * d;
    v.KA = v.rowsum + big;
    return v;
}

static void sq_norms(float *out, const float *a, int n, int d) {
    for (int i = 0; i < n; i++) {
        float s = 0.0f;
        for (int k = 0; k < d; k++) s += a[(size_t)i * d + k] * a[(size_t)i * d + k];
        out[i] = s;
    }
}

/* exp(x) for x <= 0 in float, branch-free so that loops over it vectorize:
 * Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, a degree-6 minimax
 * polynomial (Cephes expf's coefficients; about 1 ulp), 2^k built in the
 * exponent bits. Below -87.3 (where expf leaves the normal range) it is 0,
 * which also avoids libm's slow underflow path. */
static inline float exp_neg(float x) {
    float xc = x < -87.3f ? -87.3f : x;
    float t = xc * 1.44269504088896341f - 0.5f;
    int k = (int)t; /* t < 0: truncation rounds x*log2(e) to nearest */
    float kf = (float)k;
    float r = xc - kf * 0.693359375f + kf * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
    float e = p * scale;
    return x < -87.3f ? 0.0f : e;
}

/* Turns a tile of -2 a_i.b_j (t, nb, leading dimension ld) into kernel
 * values, and returns the row sums in rows[] (fixed summation order:
 * LANES partial sums, then those in order). */
static void tile_exp(float *K, float *rows, const float *na2, const float *nb2, int t, int nb,
                     int ld, float gamma) {
    for (int i = 0; i < t; i++) {
        float *Ki = K + (size_t)i * ld;
        float ni = na2[i];
        for (int j = 0; j < nb; j++) {
            float dist = ni + nb2[j] + Ki[j];
            Ki[j] = exp_neg(-gamma * (dist > 0.0f ? dist : 0.0f));
        }
        float part[LANES] = {0};
        int j = 0;
        for (; j + LANES <= nb; j += LANES)
            for (int l = 0; l < LANES; l++) part[l] += Ki[j + l];
        float s = 0.0f;
        for (; j < nb; j++) s += Ki[j];
        for (int l = 0; l < LANES; l++) s += part[l];
        rows[i] = s;
    }
}

/* coef * sum_ij k(a_i, a_j) over a (n, d) with itself; with da non-NULL adds
 * dloss * its gradient. The kernel is symmetric: only the tiles on and
 * right of the diagonal are computed, each off-diagonal one counted twice. */
static double self_block(float *da, float dloss, double coef, const float *a, const float *na2,
                         int n, int d, float gamma, const mmd_work *w) {
    /* every pair counts once per argument: d/da_p = 2 coef sum_j -2 gamma k_pj (a_p - a_j) */
    float g = (float)(dloss * coef * -4.0 * gamma);
    if (da) {
        memset(w->rowsum, 0, sizeof(float) * (size_t)n);
        memset(w->KA, 0, sizeof(float) * (size_t)n * d);
    }
    double total = 0.0;
    for (int i0 = 0; i0 < n; i0 += TILE_ROWS) {
        int t = n - i0 < TILE_ROWS ? n - i0 : TILE_ROWS;
        int m = n - i0; /* columns i0 .. n-1 */
        const float *at = a + (size_t)i0 * d;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, m, d, -2.0f, at, d, at, d, 0.0f,
                    w->K, m);
        tile_exp(w->K, w->rows, na2 + i0, na2 + i0, t, m, m, gamma);
        for (int i = 0; i < t; i++) {
            const float *Ki = w->K + (size_t)i * m;
            float diag = 0.0f;
            for (int j = 0; j < t; j++) diag += Ki[j];
            total += (double)diag + 2.0 * ((double)w->rows[i] - diag);
        }
        if (!da) continue;
        /* rows of this tile see every column right of i0; the columns right
         * of the diagonal tile see these rows through symmetry */
        for (int i = 0; i < t; i++) w->rowsum[i0 + i] += w->rows[i];
        for (int i = 0; i < t; i++)
            for (int j = t; j < m; j++) w->rowsum[i0 + j] += w->K[(size_t)i * m + j];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, d, m, 1.0f, w->K, m, at, d, 1.0f,
                    w->KA + (size_t)i0 * d, d);
        if (m > t)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m - t, d, t, 1.0f, w->K + t, m, at,
                        d, 1.0f, w->KA + (size_t)(i0 + t) * d, d);
    }
    if (da)
        for (int p = 0; p < n; p++)
            for (int k = 0; k < d; k++)
                da[(size_t)p * d + k] +=
                    g * (w->rowsum[p] * a[(size_t)p * d + k] - w->KA[(size_t)p * d + k]);
    return coef * total;
}

/* coef * sum_ij k(a_i, b_j) over a (na, d) x b (nb, d); with da/db
 * non-NULL adds dloss * its gradient into them. */
static double cross_block(float *da, float *db, float dloss, double coef, const float *a,
                          const float *b, const float *na2, const float *nb2, int na, int nb, int d,
                          float gamma, const mmd_work *w) {
    float g = (float)(dloss * coef * -2.0 * gamma);
    if (db) memset(w->cols, 0, (size_t)nb * sizeof(float));
    double total = 0.0;
    for (int i0 = 0; i0 < na; i0 += TILE_ROWS) {
        int t = na - i0 < TILE_ROWS ? na - i0 : TILE_ROWS;
        const float *at = a + (size_t)i0 * d;
        float *K = w->K;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, nb, d, -2.0f, at, d, b, d, 0.0f, K,
                    nb);
        tile_exp(K, w->rows, na2 + i0, nb2, t, nb, nb, gamma);
        for (int i = 0; i < t; i++) total += w->rows[i];
        if (da) {
            /* da_i += g * (rowsum_i a_i - (K b)_i) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, d, nb, 1.0f, K, nb, b, d,
                        0.0f, w->KB, d);
            for (int i = 0; i < t; i++)
                for (int k = 0; k < d; k++)
                    da[(size_t)(i0 + i) * d + k] +=
                        g * (w->rows[i] * at[(size_t)i * d + k] - w->KB[(size_t)i * d + k]);
        }
        if (db) {
            /* db_j += g * (colsum_j b_j - (K^T a)_j), accumulated tile by tile */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nb, d, t, -g, K, nb, at, d, 1.0f,
                        db, d);
            for (int i = 0; i < t; i++)
                for (int j = 0; j < nb; j++) w->cols[j] += K[(size_t)i * nb + j];
        }
    }
    if (db)
        for (int j = 0; j < nb; j++)
            for (int k = 0; k < d; k++)
                db[(size_t)j * d + k] += g * w->cols[j] * b[(size_t)j * d + k];
    return coef * total;
}

double tls_mmd2_forward_backward(float *dx, float *dy, float dloss, const float *x, const float *y,
                                 int n, int m, int d, float gamma, float *work) {
    mmd_work w = work_views(work, n, m, d);
    sq_norms(w.nx, x, n, d);
    sq_norms(w.ny, y, m, d);
    double cxx = 1.0 / ((double)n * n), cyy = 1.0 / ((double)m * m), cxy = -2.0 / ((double)n * m);
    double s = 0.0;
    s += self_block(dx, dloss, cxx, x, w.nx, n, d, gamma, &w);
    s += self_block(dy, dloss, cyy, y, w.ny, m, d, gamma, &w);
    s += cross_block(dx, dy, dloss, cxy, x, y, w.nx, w.ny, n, m, d, gamma, &w);
    return s;
}

double tls_mmd2_forward(const float *x, const float *y, int n, int m, int d, float gamma,
                        float *work) {
    return tls_mmd2_forward_backward(NULL, NULL, 0.0f, x, y, n, m, d, gamma, work);
}
