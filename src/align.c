#include "tlsweep/align.h"

#include "tlsweep/mmd.h"
#include "tlsweep/nn.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

size_t tls_coral_work_floats(int n, int m, int d) {
    size_t big = (size_t)(n > m ? n : m);
    /* centred x and y, a product (big, d), C_x and C_y (d, d), two means, a zero bias, column sums
     */
    return ((size_t)n + m + big) * d + 2 * (size_t)d * d + 4 * (size_t)d;
}

/* xc (n, d) = x - mean, mean (d) over the rows in order; cov (d, d) = xc^T xc / (n - 1)
 * (0 when n < 2). colsum (d): scratch. */
static void covariance(float *cov, float *mean, float *xc, float *colsum, const float *x, int n,
                       int d) {
    memset(mean, 0, sizeof(float) * (size_t)d);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++) mean[a] += x[(size_t)i * d + a];
    for (int a = 0; a < d; a++) mean[a] /= (float)n;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++) xc[(size_t)i * d + a] = x[(size_t)i * d + a] - mean[a];
    memset(cov, 0, sizeof(float) * (size_t)d * d);
    memset(colsum, 0, sizeof(float) * (size_t)d);
    if (n < 2) return;
    tls_linear_backward(NULL, cov, colsum, xc, xc, NULL, n, d, d); /* cov += xc^T xc */
    for (int k = 0; k < d * d; k++) cov[k] /= (float)(n - 1);
}

/* dx (n, d) += s xc D, D (d, d) symmetric; prod (n, d), zero (d): scratch. */
static void coral_grad(float *dx, float s, const float *xc, const float *D, float *prod,
                       const float *zero, int n, int d) {
    tls_linear_forward(prod, xc, D, zero, n, d, d); /* xc D^T = xc D */
    for (size_t i = 0; i < (size_t)n * d; i++) dx[i] += s * prod[i];
}

double tls_coral_forward_backward(float *dx, float *dy, float dloss, const float *x, const float *y,
                                  int n, int m, int d, float *work) {
    int big = n > m ? n : m;
    float *xc = work, *yc = xc + (size_t)n * d, *prod = yc + (size_t)m * d;
    float *cx = prod + (size_t)big * d, *cy = cx + (size_t)d * d, *mx = cy + (size_t)d * d;
    float *my = mx + d, *zero = my + d, *colsum = zero + d;
    covariance(cx, mx, xc, colsum, x, n, d);
    covariance(cy, my, yc, colsum, y, m, d);
    double loss = 0.0;
    for (int k = 0; k < d * d; k++) {
        cx[k] -= cy[k]; /* cx becomes C_x - C_y */
        loss += (double)cx[k] * cx[k];
    }
    memset(zero, 0, sizeof(float) * (size_t)d);
    float dd = (float)d * (float)d;
    if (dx && n >= 2) coral_grad(dx, dloss / (dd * (float)(n - 1)), xc, cx, prod, zero, n, d);
    if (dy && m >= 2) coral_grad(dy, -dloss / (dd * (float)(m - 1)), yc, cx, prod, zero, m, d);
    return loss / (4.0 * (double)d * d);
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

enum { RADIX_BITS = 11, RADIX = 1 << RADIX_BITS };

size_t tls_median_work_floats(int n, int m, int d) {
    size_t k = (size_t)n + (size_t)m;
    /* the distances, the pooled points transposed (d, k), a histogram */
    return k * (k - 1) / 2 + (size_t)d * k + RADIX + 1;
}

/* The k-th smallest of v[0..n), v >= 0 (their bit patterns order as the values):
 * radix selection on the bits, 11 at a time from the top. hist: RADIX counts. */
static float select_kth(const float *v, size_t n, size_t k, uint32_t *hist) {
    uint32_t prefix = 0, mask = 0;
    for (int shift = 32 - RADIX_BITS; shift > -RADIX_BITS; shift -= RADIX_BITS) {
        int sh = shift > 0 ? shift : 0, width = shift > 0 ? RADIX_BITS : RADIX_BITS + shift;
        uint32_t digit_mask = ((1u << width) - 1) << sh;
        memset(hist, 0, sizeof(uint32_t) * RADIX);
        for (size_t i = 0; i < n; i++) {
            uint32_t b;
            memcpy(&b, v + i, 4);
            if ((b & mask) == prefix) hist[(b & digit_mask) >> sh]++;
        }
        uint32_t dgt = 0;
        while (k >= hist[dgt]) k -= hist[dgt++];
        prefix |= dgt << sh;
        mask |= digit_mask;
    }
    float out;
    memcpy(&out, &prefix, 4);
    return out;
}

float tls_median_sqdist(const float *x, int n, const float *y, int m, int d, float *work) {
    int k = n + m;
    size_t N = (size_t)k * (k - 1) / 2;
    float *dist = work, *T = dist + N;
    uint32_t *hist = (uint32_t *)(T + (size_t)d * k);
    for (int i = 0; i < k; i++) {
        const float *a = i < n ? x + (size_t)i * d : y + (size_t)(i - n) * d;
        for (int c = 0; c < d; c++) T[(size_t)c * k + i] = a[c];
    }
    /* row i's distances to j > i, summed over the coordinates in order */
    float *out = dist;
    for (int i = 0; i < k - 1; i++) {
        int cnt = k - 1 - i;
        memset(out, 0, sizeof(float) * (size_t)cnt);
        for (int c = 0; c < d; c++) {
            const float *row = T + (size_t)c * k + i + 1;
            float xi = T[(size_t)c * k + i];
            for (int j = 0; j < cnt; j++) {
                float t = row[j] - xi;
                out[j] += t * t;
            }
        }
        out += cnt;
    }
    /* one branch-free histogram of the top bits, then the exact selection
     * among the few values of the bucket that holds the median */
    size_t want = (N - 1) / 2;
    memset(hist, 0, sizeof(uint32_t) * RADIX);
    for (size_t i = 0; i < N; i++) {
        uint32_t b;
        memcpy(&b, dist + i, 4);
        hist[b >> (32 - RADIX_BITS)]++;
    }
    uint32_t bucket = 0;
    while (want >= hist[bucket]) want -= hist[bucket++];
    size_t nc = 0;
    for (size_t i = 0; i < N; i++) {
        uint32_t b;
        memcpy(&b, dist + i, 4);
        if (b >> (32 - RADIX_BITS) == bucket) dist[nc++] = dist[i];
    }
    return select_kth(dist, nc, want, hist);
}

/* ---- the alignment methods ---------------------------------------------- */

static size_t mmd_work_floats(int n, int m, int F, const tls_engine_params *p) {
    size_t median = p->mmd_bandwidth == TLS_BANDWIDTH_MEDIAN ? tls_median_work_floats(n, m, F) : 0;
    return tls_mmd_work_floats(n, m, F) + median;
}

/* MMD^2 with the configured kernels (mmd.gammas, else mmd.gamma), bandwidth
 * and estimator; the article's setting (one fixed gamma, biased) is
 * tls_mmd2_forward_backward's call. work: the kernel's, then the median's. */
static double mmd_step(float *dx, float *dy, float lambda, tls_model *md, const float *x,
                       const float *y, int n, int m, int F, const tls_engine_params *p,
                       float *work) {
    (void)md;
    float g[TLS_MMD_MAX_KERNELS];
    int ng = p->mmd_gammas.n > 0 ? p->mmd_gammas.n : 1;
    for (int q = 0; q < ng; q++)
        g[q] = (float)(p->mmd_gammas.n > 0 ? p->mmd_gammas.v[q] : p->mmd_gamma);
    if (p->mmd_bandwidth == TLS_BANDWIDTH_MEDIAN) {
        /* gamma_q = gammas_q / median squared distance (not differentiated) */
        float med = tls_median_sqdist(x, n, y, m, F, work + tls_mmd_work_floats(n, m, F));
        if (med > 0.0f && isfinite(med))
            for (int q = 0; q < ng; q++) g[q] /= med;
    }
    return tls_mmd2_multi_forward_backward(dx, dy, lambda, x, y, n, m, F, g, ng,
                                           p->mmd_estimator == TLS_MMD_UNBIASED, work);
}

static size_t coral_work_floats(int n, int m, int F, const tls_engine_params *p) {
    (void)p;
    return tls_coral_work_floats(n, m, F);
}

static double coral_step(float *dx, float *dy, float lambda, tls_model *md, const float *x,
                         const float *y, int n, int m, int F, const tls_engine_params *p,
                         float *work) {
    (void)md, (void)p;
    return tls_coral_forward_backward(dx, dy, lambda, x, y, n, m, F, work);
}

_Static_assert(sizeof(int) == sizeof(float), "DANN's labels are carved from its float workspace");

static size_t dann_work_floats(int n, int m, int F, const tls_engine_params *p) {
    size_t np = (size_t)n + (size_t)m;
    /* pooled features and their gradient (np, F), hidden and its gradient (np, Hd), logits,
       their gradient, sigmoids and labels (np) */
    return 2 * np * F + 2 * np * (size_t)p->disc_hidden + 4 * np;
}

/* DANN: the discriminator's binary cross-entropy on the pooled features
 * (source label 0, target label 1), averaged over the n + m points; its
 * gradient goes into the discriminator and, reversed, into dx and dy. */
static double dann_step(float *dx, float *dy, float lambda, tls_model *md, const float *x,
                        const float *y, int n, int m, int F, const tls_engine_params *p,
                        float *work) {
    (void)p;
    int np = n + m, Hd = md->Hd;
    float *pool = work;                   /* (np, F) */
    float *dpool = pool + (size_t)np * F; /* (np, F) */
    float *h = dpool + (size_t)np * F;    /* (np, Hd) */
    float *dh = h + (size_t)np * Hd;      /* (np, Hd) */
    float *logit = dh + (size_t)np * Hd;  /* (np) */
    float *dlogit = logit + np;           /* (np) */
    float *prob = dlogit + np;            /* (np) */
    int *label = (int *)(prob + np);      /* (np) 0 source, 1 target */
    memcpy(pool, x, sizeof(float) * (size_t)n * F);
    memcpy(pool + (size_t)n * F, y, sizeof(float) * (size_t)m * F);
    for (int i = 0; i < np; i++) label[i] = i >= n;
    tls_model_disc_forward(h, logit, md, pool, np);
    double bce = tls_bce_forward(prob, logit, label, np);
    if (!dx) return bce;
    memset(dlogit, 0, sizeof(float) * (size_t)np);
    tls_bce_backward(dlogit, prob, label, lambda, np);
    memset(dpool, 0, sizeof(float) * (size_t)np * F);
    tls_model_disc_backward(md, dpool, 1, dh, dlogit, h, pool, np);
    for (size_t i = 0; i < (size_t)n * F; i++) dx[i] += dpool[i];
    for (size_t i = 0; i < (size_t)m * F; i++) dy[i] += dpool[(size_t)n * F + i];
    return bce;
}

const tls_align_method tls_align_methods[] = {
    {"mmd", "mmd2", mmd_work_floats, 0, mmd_step},
    {"coral", "coral", coral_work_floats, 0, coral_step},
    {"dann", "dann", dann_work_floats, 1, dann_step},
    {"none", "none", NULL, 0, NULL},
};
const int tls_align_count = (int)(sizeof(tls_align_methods) / sizeof(tls_align_methods[0]));

const char *tls_align_name(int i) {
    return i >= 0 && i < tls_align_count ? tls_align_methods[i].name : NULL;
}
