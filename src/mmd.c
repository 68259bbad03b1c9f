#include "tlsweep/mmd.h"

#include "tlsweep/check.h"
#include "copies.h"
#include "vec8.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Rows of a kernel block done together (their kernel rows stay in L1); the
 * lanes of the partial sums along kernel rows (every copy); the columns by
 * which the workspace's column arrays are padded: a last group of columns
 * computed reaches at most 16 beyond the block. */
enum { BLOCK_ROWS = 6, LANES = 8, PAD_COLS = 16 };

/* The generic copy: fmaf per lane (exact in software where the CPU has no
 * FMA), so that it returns the same bits as the vector copies. It is slow;
 * it exists for CPUs without AVX2 and FMA, and as the other copies' check. */
/* always inlined: no v8f crosses a call (clang rejects that without AVX) */
static inline __attribute__((always_inline)) v8f vfma_lanes(v8f a, v8f b, v8f c) {
    v8f r;
    for (int l = 0; l < LANES; l++) r[l] = fmaf(a[l], b[l], c[l]);
    return r;
}

#define KFN(name) name##_generic
#define KATTR
#define VL             8
#define VF             v8f
#define VI             v8i
#define LD(p)          ld8(p)
#define ST(p, v)       st8(p, v)
#define VFMA(a, b, c)  vfma_lanes((a), (b), (c))
#define VFMA8(a, b, c) vfma_lanes((a), (b), (c))
#define SFMA(a, b, c)  fmaf((a), (b), (c))
#include "mmd_kernel.inc"

#if defined(__x86_64__)
#define KFN(name)      name##_avx2
#define KATTR          __attribute__((target("avx2,fma")))
#define VL             8
#define VF             v8f
#define VI             v8i
#define LD(p)          ld8(p)
#define ST(p, v)       st8(p, v)
#define VFMA(a, b, c)  ((v8f)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#define VFMA8(a, b, c) VFMA(a, b, c)
#define SFMA(a, b, c)  __builtin_fmaf((a), (b), (c))
#include "mmd_kernel.inc"

/* AVX-512: 16 kernel columns, or the 16 feature columns of a gradient
 * product, per vector; the same operations on every element as the 8-lane
 * copies. */
#define KFN(name)      name##_avx512
#define KATTR          __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define VL             16
#define VF             v16f
#define VI             v16i
#define LD(p)          ld16(p)
#define ST(p, v)       st16(p, v)
#define VFMA(a, b, c)  ((v16f)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#define VFMA8(a, b, c) ((v8f)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#define SFMA(a, b, c)  __builtin_fmaf((a), (b), (c))
#define LO8(v)         ((v8f)_mm512_castps512_ps256((__m512)(v)))
#define HI8(v)         ((v8f)_mm512_extractf32x8_ps((__m512)(v), 1))
#include "mmd_kernel.inc"
#endif

/* One copy of the kernel: the block, and the passes before and after it. */
typedef struct {
    const char *name;
    double (*block)(const float *, const float *, int, const float *, const float *, const float *,
                    int, int, int, const float *, const float *, int, int, int, float *, float *,
                    float *, float *, float *, float *);
    void (*transpose_norms)(float *restrict, float *restrict, const float *restrict, int, int, int);
    void (*apply_grad)(float *restrict, float, const float *restrict, const float *restrict,
                       const float *restrict, int, int);
} kernel_copy;

/* The kernels of one MMD: gammas, gradient weights gamma_q / gamma_0. */
typedef struct {
    const float *gamma; /* (ng) */
    float gw[TLS_MMD_MAX_KERNELS];
    int ng;
} kernels_t;

static const kernel_copy kernels[] = {
#if defined(__x86_64__)
    {"avx512", block_avx512, transpose_norms_avx512, apply_grad_avx512},
    {"avx2", block_avx2, transpose_norms_avx2, apply_grad_avx2},
#endif
    {"generic", block_generic, transpose_norms_generic, apply_grad_generic},
};
enum { NKERNELS = sizeof(kernels) / sizeof(kernels[0]) };

static int kernel_usable(int i) {
#if defined(__x86_64__)
    if (kernels[i].block == block_avx512) return tls_cpu_avx512();
    if (kernels[i].block == block_avx2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return 1;
}

static const char *kernel_name(int i) {
    return kernels[i].name;
}

static tls_copies copies = {NKERNELS, kernel_name, kernel_usable, -1};

static int kernel_index(void) {
    return tls_copies_index(&copies);
}

int tls_mmd_select(const char *name) {
    return tls_copies_select(&copies, name) == 0 ? TLS_OK : TLS_ERR_INPUT;
}

const char *tls_mmd_kernel(void) {
    return kernels[kernel_index()].name;
}

/* Columns of the workspace's rows: max(n, m) + PAD_COLS, rounded up to a
 * multiple of 16 floats so that every row starts on a 64-byte boundary
 * (a 16-lane load within one cache line). */
static int padded_cols(int n, int m) {
    return ((n > m ? n : m) + PAD_COLS + 15) / 16 * 16;
}

size_t tls_mmd_work_floats(int n, int m, int d) {
    size_t pad = (size_t)padded_cols(n, m);
    /* b transposed, a kernel row block, norms of x and y, and two sets of
     * (sums, products) accumulators, plus a row block of a */
    return pad * (size_t)d + BLOCK_ROWS * pad + 2 * pad + 2 * (pad + pad * (size_t)d) +
           (size_t)BLOCK_ROWS * d + 16; /* 16: room to align the start */
}

/* Named views into the caller's workspace from its first 64-byte boundary
 * on; pad = padded_cols(n, m). */
typedef struct {
    float *bT;   /* (d, pad) columns of a block, transposed, zero-padded */
    float *kbuf; /* (BLOCK_ROWS, pad) kernel rows of a row block */
    float *nx;   /* (pad) squared norms of x, +inf-padded */
    float *ny;   /* (pad) squared norms of y, +inf-padded */
    float *s1;   /* (pad) kernel sums per point: rows of a block */
    float *p1;   /* (pad, d) kernel-weighted sums of the other points: rows */
    float *s2;   /* (pad) the same for the columns of a cross block */
    float *p2;   /* (pad, d) */
    float *ablk; /* (BLOCK_ROWS, d) */
    int pad;
} mmd_work;

static mmd_work work_views(float *w, int n, int m, int d) {
    mmd_work v;
    v.pad = padded_cols(n, m);
    size_t pad = (size_t)v.pad;
    v.bT = w + ((64 - (uintptr_t)w % 64) % 64) / sizeof(float); /* w is float-aligned */
    v.kbuf = v.bT + pad * d;
    v.nx = v.kbuf + BLOCK_ROWS * pad;
    v.ny = v.nx + pad;
    v.s1 = v.ny + pad;
    v.p1 = v.s1 + pad;
    v.s2 = v.p1 + pad * d;
    v.p2 = v.s2 + pad;
    v.ablk = v.p2 + pad * d;
    return v;
}

/* s (pad) and the first n rows of p (pad, d) to 0: the kernel adds to no
 * other row of p (to s beyond n: padding columns' zeros, never read) */
static void zero_acc(float *s, float *p, int pad, int n, int d) {
    memset(s, 0, sizeof(float) * (size_t)pad);
    memset(p, 0, sizeof(float) * (size_t)n * d);
}

/* coef * sum_ij k(a_i, a_j), w->bT holding a transposed; with da adds dloss * its gradient:
 * d/da_p = 2 coef sum_j sum_q -2 gamma_q k_q,pj (a_p - a_j). */
static double self_block(const kernel_copy *kc, float *da, float dloss, double coef, const float *a,
                         const float *na2, int n, int d, const kernels_t *k, const mmd_work *w) {
    if (da) zero_acc(w->s1, w->p1, w->pad, n, d);
    double total = kc->block(a, na2, n, a, w->bT, na2, n, w->pad, d, k->gamma, k->gw, k->ng, 1,
                             da != NULL, w->s1, w->p1, w->s1, w->p1, w->kbuf, w->ablk);
    if (da) kc->apply_grad(da, (float)(dloss * coef * -4.0 * k->gamma[0]), a, w->s1, w->p1, n, d);
    return coef * total;
}

/* coef * sum_ij k(a_i, b_j), w->bT holding b transposed; with da/db adds
 * dloss * their gradients. */
static double cross_block(const kernel_copy *kc, float *da, float *db, float dloss, double coef,
                          const float *a, const float *b, const float *na2, const float *nb2,
                          int na, int nb, int d, const kernels_t *k, const mmd_work *w) {
    int grads = da || db;
    if (grads) zero_acc(w->s1, w->p1, w->pad, na, d), zero_acc(w->s2, w->p2, w->pad, nb, d);
    double total = kc->block(a, na2, na, b, w->bT, nb2, nb, w->pad, d, k->gamma, k->gw, k->ng, 0,
                             grads, w->s1, w->p1, w->s2, w->p2, w->kbuf, w->ablk);
    float g = (float)(dloss * coef * -2.0 * k->gamma[0]);
    if (da) kc->apply_grad(da, g, a, w->s1, w->p1, na, d);
    if (db) kc->apply_grad(db, g, b, w->s2, w->p2, nb, d);
    return coef * total;
}

double tls_mmd2_multi_forward_backward(float *dx, float *dy, float dloss, const float *x,
                                       const float *y, int n, int m, int d, const float *gammas,
                                       int ng, int unbiased, float *work) {
    const kernel_copy *kc = &kernels[kernel_index()];
    mmd_work w = work_views(work, n, m, d);
    kernels_t k = {gammas, {0}, ng};
    for (int q = 0; q < ng; q++) k.gw[q] = gammas[q] / gammas[0];
    double cxx = 1.0 / ((double)n * n), cyy = 1.0 / ((double)m * m), cxy = -2.0 / ((double)n * m);
    if (unbiased) {
        /* without the diagonals (each kernel is 1 there); a set of one point has no pair */
        cxx = n > 1 ? 1.0 / ((double)n * (n - 1)) : 0.0;
        cyy = m > 1 ? 1.0 / ((double)m * (m - 1)) : 0.0;
    }
    double s = 0.0;
    kc->transpose_norms(w.bT, w.nx, x, n, d, w.pad);
    if (cxx != 0.0) s += self_block(kc, dx, dloss, cxx, x, w.nx, n, d, &k, &w);
    kc->transpose_norms(w.bT, w.ny, y, m, d, w.pad); /* for the y-y and the x-y blocks */
    if (cyy != 0.0) s += self_block(kc, dy, dloss, cyy, y, w.ny, m, d, &k, &w);
    s += cross_block(kc, dx, dy, dloss, cxy, x, y, w.nx, w.ny, n, m, d, &k, &w);
    if (unbiased) s -= (double)ng * (cxx * n + cyy * m);
    return s;
}

double tls_mmd2_forward_backward(float *dx, float *dy, float dloss, const float *x, const float *y,
                                 int n, int m, int d, float gamma, float *work) {
    return tls_mmd2_multi_forward_backward(dx, dy, dloss, x, y, n, m, d, &gamma, 1, 0, work);
}

double tls_mmd2_forward(const float *x, const float *y, int n, int m, int d, float gamma,
                        float *work) {
    return tls_mmd2_forward_backward(NULL, NULL, 0.0f, x, y, n, m, d, gamma, work);
}
