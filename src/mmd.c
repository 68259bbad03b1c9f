#include "tlsweep/mmd.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

enum { TILE_ROWS = 64 };

size_t tls_mmd_work_floats(int n, int m, int d) {
    int big = n > m ? n : m;
    /* kernel tile + row sums of the tile + column sums + squared norms of x and y
     * + a (TILE_ROWS, d) product for the gradient */
    return (size_t)TILE_ROWS * big + TILE_ROWS + (size_t)big + (size_t)n + (size_t)m +
           (size_t)TILE_ROWS * d;
}

static void sq_norms(float *out, const float *a, int n, int d) {
    for (int i = 0; i < n; i++) {
        float s = 0.0f;
        for (int k = 0; k < d; k++) s += a[(size_t)i * d + k] * a[(size_t)i * d + k];
        out[i] = s;
    }
}

/* Named views into the caller's workspace. */
typedef struct {
    float *K;    /* (TILE_ROWS, big) kernel tile */
    float *rows; /* (TILE_ROWS) row sums of the tile */
    float *cols; /* (big) column sums, for the second argument's gradient */
    float *nx;   /* (n) squared norms of x */
    float *ny;   /* (m) squared norms of y */
    float *KB;   /* (TILE_ROWS, d) tile times second argument */
} mmd_work;

static mmd_work work_views(float *w, int n, int m, int d) {
    (void)d;
    int big = n > m ? n : m;
    mmd_work v;
    v.K = w;
    v.rows = v.K + (size_t)TILE_ROWS * big;
    v.cols = v.rows + TILE_ROWS;
    v.nx = v.cols + big;
    v.ny = v.nx + n;
    v.KB = v.ny + m;
    return v;
}

/* Returns coef * sum of k(a_i, b_j) over the block a (na,d) x b (nb,d). With
 * da/db non-NULL, adds dloss * the gradient of that into them; `self` says b
 * is a, whose gradient counts both kernel arguments. */
static double kernel_block(float *da, float *db, float dloss, double coef, const float *a,
                           const float *b, const float *na2, const float *nb2, int na, int nb,
                           int d, float gamma, int self, const mmd_work *w) {
    int grad = da || db;
    /* d/da_i of k(a_i,b_j) = -2 gamma k_ij (a_i - b_j); in a self block every
     * pair appears twice, once per argument. */
    float g = (float)(dloss * coef * -2.0 * gamma * (self ? 2.0 : 1.0));
    if (db && !self) memset(w->cols, 0, (size_t)nb * sizeof(float));
    double total = 0.0;
    for (int i0 = 0; i0 < na; i0 += TILE_ROWS) {
        int t = na - i0 < TILE_ROWS ? na - i0 : TILE_ROWS;
        const float *at = a + (size_t)i0 * d;
        float *K = w->K;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, nb, d, -2.0f, at, d, b, d, 0.0f,
                    K, nb);
        for (int i = 0; i < t; i++) {
            float *Ki = K + (size_t)i * nb;
            float ni = na2[i0 + i];
            double rs = 0.0;
            for (int j = 0; j < nb; j++) {
                float dist = ni + nb2[j] + Ki[j];
                Ki[j] = expf(-gamma * (dist > 0.0f ? dist : 0.0f));
                rs += Ki[j];
            }
            w->rows[i] = (float)rs;
            total += rs;
        }
        if (!grad) continue;
        if (da) {
            /* da_i += g * (rowsum_i a_i - (K b)_i) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, d, nb, 1.0f, K, nb, b, d,
                        0.0f, w->KB, d);
            for (int i = 0; i < t; i++)
                for (int k = 0; k < d; k++)
                    da[(size_t)(i0 + i) * d + k] +=
                        g * (w->rows[i] * at[(size_t)i * d + k] - w->KB[(size_t)i * d + k]);
        }
        if (db && !self) {
            /* db_j += g * (colsum_j b_j - (K^T a)_j), accumulated tile by tile */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nb, d, t, -g, K, nb, at, d, 1.0f,
                        db, d);
            for (int i = 0; i < t; i++)
                for (int j = 0; j < nb; j++) w->cols[j] += K[(size_t)i * nb + j];
        }
    }
    if (db && !self)
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
    s += kernel_block(dx, NULL, dloss, cxx, x, x, w.nx, w.nx, n, n, d, gamma, 1, &w);
    s += kernel_block(dy, NULL, dloss, cyy, y, y, w.ny, w.ny, m, m, d, gamma, 1, &w);
    s += kernel_block(dx, dy, dloss, cxy, x, y, w.nx, w.ny, n, m, d, gamma, 0, &w);
    return s;
}

double tls_mmd2_forward(const float *x, const float *y, int n, int m, int d, float gamma,
                        float *work) {
    return tls_mmd2_forward_backward(NULL, NULL, 0.0f, x, y, n, m, d, gamma, work);
}
