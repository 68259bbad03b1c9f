#include "tlsweep/nn.h"

#include "copies.h"
#include "vec8.h"

#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>
#include <string.h>

enum { MR = 4, NV = 8, TB = 64 }; /* rows per register block, lanes, transpose block */

/* Products of at least this many multiply-adds go to OpenBLAS, smaller ones
 * to gemm. Measured on the dev machine (one core): at the article's
 * shapes (at most 200 x 32 x 16) gemm_acc is 1.7x faster than cblas_sgemm,
 * whose packing dominates there; at 784 inputs (200 x 784 x 32) OpenBLAS
 * computes dW 1.5x faster. */
#define BLAS_MIN_MACS (1L << 20)

static int use_blas(int M, int N, int K) {
    return (long)M * N * K >= BLAS_MIN_MACS;
}

/* Where a product's values start, what is done to them before they are
 * stored (the ReLU of the forward pass, or the ReLU's backward mask by the
 * forward activations gate (M, ldc): 0 where gate <= 0; a masked value is
 * +0, as tls_relu_forward and tls_relu_backward write it), and sums of the
 * operands that a backward pass needs as well (a layer's bias gradient):
 * asum[m] += sum_k A[m, k], bsum[n] += sum_k B[k, n], k in order. */
enum { FROM_C, FROM_INIT, FROM_ZERO };
enum { STORE, STORE_RELU, STORE_GATED };
typedef struct {
    int from;          /* FROM_*: C's own values, init's or zeros */
    const float *init; /* (N) with FROM_INIT */
    int store;         /* STORE_* */
    const float *gate; /* (M, ldc) with STORE_GATED */
    float *asum;       /* (M) or NULL */
    float *bsum;       /* (N) or NULL */
} gemm_ends;

typedef void (*gemm_fn)(float *C, int ldc, const gemm_ends *e, const float *A, int ams, int aks,
                        const float *B, int ldb, int M, int N, int K);

/* asum and bsum one term at a time, k in order */
static inline __attribute__((always_inline)) void operand_sums(const gemm_ends *e, const float *A,
                                                               int ams, int aks, const float *B,
                                                               int ldb, int M, int N, int K) {
    for (int k = 0; e->asum && k < K; k++)
        for (int m = 0; m < M; m++) e->asum[m] += A[(size_t)m * ams + (size_t)k * aks];
    for (int k = 0; e->bsum && k < K; k++)
        for (int n = 0; n < N; n++) e->bsum[n] += B[(size_t)k * ldb + n];
}

/* The MR rows of A and C from m0 on; the rows of a last, partial block
 * repeat row M-1 (they are computed, not stored). Returns the rows to store. */
static inline __attribute__((always_inline)) int
row_block(const float **ar, float **cr, const float *A, int ams, float *C, int ldc, int m0, int M) {
    int t = M - m0 < MR ? M - m0 : MR;
    for (int r = 0; r < MR; r++) {
        ar[r] = A + (size_t)(r < t ? m0 + r : M - 1) * ams;
        cr[r] = C + (size_t)(r < t ? m0 + r : M - 1) * ldc;
    }
    return t;
}

/* gate's element at off, if there is a gate */
static inline __attribute__((always_inline)) const float *gate_at(const gemm_ends *e, size_t off) {
    return e->gate ? e->gate + off : NULL;
}

/* the start of c = C[.., n] (at c) */
static inline __attribute__((always_inline)) v8f start8(const gemm_ends *e, const float *c, int n) {
    if (e->from == FROM_C) return ld8(c);
    if (e->from == FROM_INIT) return ld8(e->init + n);
    return (v8f){0};
}

static inline __attribute__((always_inline)) v8f ends8(v8f v, const gemm_ends *e, const float *g) {
    if (e->store == STORE_RELU) return (v8f)((v8i)(v > (v8f){0}) & (v8i)v);
    if (e->store == STORE_GATED) return (v8f)((v8i)(ld8(g) > (v8f){0}) & (v8i)v);
    return v;
}

static inline __attribute__((always_inline)) float ends1(float v, const gemm_ends *e,
                                                         const float *g) {
    if (e->store == STORE_RELU) return v > 0.0f ? v : 0.0f;
    if (e->store == STORE_GATED) return *g > 0.0f ? v : 0.0f;
    return v;
}

/* C (M, N; ldc) = start + A B, one term at a time in ascending k: c starts
 * from C[m][n], init[n] or 0 (e->from), c += A[m*ams + k*aks] * B[k*ldb + n]
 * for k = 0 .. K-1, and C[m][n] = c after e->store; then the operand sums.
 * Multiply then add (no fused multiply-add), so every vector width gives
 * the same bits; the copies below are only faster. 8 lanes: column strips
 * outside, MR-row blocks inside, so that a strip of B stays in L1 while it
 * is reused. */
static inline __attribute__((always_inline)) void gemm_body8(float *C, int ldc, const gemm_ends *e,
                                                             const float *A, int ams, int aks,
                                                             const float *B, int ldb, int M, int N,
                                                             int K) {
    const float *ar[MR];
    float *cr[MR];
    int n = 0;
    for (; n + 2 * NV <= N; n += 2 * NV)
        for (int m0 = 0; m0 < M; m0 += MR) {
            int t = row_block(ar, cr, A, ams, C, ldc, m0, M);
            v8f c0[MR], c1[MR];
            for (int r = 0; r < MR; r++) {
                c0[r] = start8(e, cr[r] + n, n);
                c1[r] = start8(e, cr[r] + n + NV, n + NV);
            }
            for (int k = 0; k < K; k++) {
                v8f b0 = ld8(B + (size_t)k * ldb + n), b1 = ld8(B + (size_t)k * ldb + n + NV);
                for (int r = 0; r < MR; r++) {
                    float a = ar[r][(size_t)k * aks]; /* splat by the vector extension */
                    c0[r] += a * b0;
                    c1[r] += a * b1;
                }
            }
            for (int r = 0; r < t; r++) {
                const float *g = gate_at(e, (size_t)(cr[r] - C) + n);
                st8(cr[r] + n, ends8(c0[r], e, g));
                st8(cr[r] + n + NV, ends8(c1[r], e, g ? g + NV : NULL));
            }
        }
    for (; n + NV <= N; n += NV)
        for (int m0 = 0; m0 < M; m0 += MR) {
            int t = row_block(ar, cr, A, ams, C, ldc, m0, M);
            v8f c0[MR];
            for (int r = 0; r < MR; r++) c0[r] = start8(e, cr[r] + n, n);
            for (int k = 0; k < K; k++) {
                v8f b0 = ld8(B + (size_t)k * ldb + n);
                for (int r = 0; r < MR; r++) c0[r] += ar[r][(size_t)k * aks] * b0;
            }
            for (int r = 0; r < t; r++)
                st8(cr[r] + n, ends8(c0[r], e, gate_at(e, (size_t)(cr[r] - C) + n)));
        }
    for (; n < N; n++)
        for (int m = 0; m < M; m++) {
            float c = e->from == FROM_C      ? C[(size_t)m * ldc + n]
                      : e->from == FROM_INIT ? e->init[n]
                                             : 0.0f;
            for (int k = 0; k < K; k++)
                c += A[(size_t)m * ams + (size_t)k * aks] * B[(size_t)k * ldb + n];
            C[(size_t)m * ldc + n] = ends1(c, e, gate_at(e, (size_t)m * ldc + n));
        }
    operand_sums(e, A, ams, aks, B, ldb, M, N, K);
}

/* The generic copy (baseline instructions: SSE2 on x86-64) */
static void gemm_generic(float *C, int ldc, const gemm_ends *e, const float *A, int ams, int aks,
                         const float *B, int ldb, int M, int N, int K) {
    gemm_body8(C, ldc, e, A, ams, aks, B, ldb, M, N, K);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void gemm_avx2(float *C, int ldc, const gemm_ends *e,
                                                      const float *A, int ams, int aks,
                                                      const float *B, int ldb, int M, int N,
                                                      int K) {
    gemm_body8(C, ldc, e, A, ams, aks, B, ldb, M, N, K);
}

/* The AVX-512 copy: 16 columns per vector, up to 8 rows per block and the
 * rows of a last block in blocks of 4, 2 and 1 (never computed twice), the
 * columns beyond the last multiple of 16 in masked vectors; asum (with ams
 * 1) and bsum accumulated in the product's loop over k, in registers. Every
 * element sees the same operations as in gemm_body8. */
#define AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))

static inline __attribute__((always_inline)) AVX512 v16f ends16(v16f v, const gemm_ends *e,
                                                                const float *g, __mmask16 live) {
    if (e->store == STORE_RELU) return (v16f)((v16i)(v > (v16f){0}) & (v16i)v);
    if (e->store == STORE_GATED) {
        v16f gv = (v16f)_mm512_maskz_loadu_ps(live, g);
        return (v16f)((v16i)(gv > (v16f){0}) & (v16i)v);
    }
    return v;
}

/* The rows m0 .. m0+mr-1 and the columns n .. n+16nv-1 of C, the last
 * vector's lanes limited to live (mr <= 8, nv <= 2: constants where
 * inlined). Loads beyond live read nothing (zeros) and stores skip them.
 * With sa, asum[m0 .. m0+mr-1] too; with sb, bsum[n .. n+16nv-1]. */
static inline __attribute__((always_inline)) AVX512 void
block16(int mr, int nv, __mmask16 live, int sa, int sb, float *C, int ldc, const gemm_ends *e,
        const float *A, int ams, int aks, const float *B, int ldb, int m0, int n, int K) {
    v16f c0[8], c1[8];
    __mmask16 l0 = nv == 1 ? live : 0xffff;
    __mmask8 lr = (__mmask8)((1u << mr) - 1);
    for (int r = 0; r < mr; r++) {
        const float *cr = C + (size_t)(m0 + r) * ldc + n;
        if (e->from == FROM_C) {
            c0[r] = (v16f)_mm512_maskz_loadu_ps(l0, cr);
            if (nv == 2) c1[r] = (v16f)_mm512_maskz_loadu_ps(live, cr + 16);
        } else if (e->from == FROM_INIT) {
            c0[r] = (v16f)_mm512_maskz_loadu_ps(l0, e->init + n);
            if (nv == 2) c1[r] = (v16f)_mm512_maskz_loadu_ps(live, e->init + n + 16);
        } else {
            c0[r] = c1[r] = (v16f){0};
        }
    }
    v8f as = {0};
    v16f bs0 = {0}, bs1 = {0};
    if (sa) as = (v8f)_mm256_maskz_loadu_ps(lr, e->asum + m0);
    if (sb) {
        bs0 = (v16f)_mm512_maskz_loadu_ps(l0, e->bsum + n);
        if (nv == 2) bs1 = (v16f)_mm512_maskz_loadu_ps(live, e->bsum + n + 16);
    }
    for (int k = 0; k < K; k++) {
        const float *bk = B + (size_t)k * ldb + n;
        v16f b0 = (v16f)_mm512_maskz_loadu_ps(l0, bk), b1 = {0};
        if (nv == 2) b1 = (v16f)_mm512_maskz_loadu_ps(live, bk + 16);
        for (int r = 0; r < mr; r++) {
            float a = A[(size_t)(m0 + r) * ams + (size_t)k * aks];
            c0[r] += a * b0;
            if (nv == 2) c1[r] += a * b1;
        }
        if (sa) as += (v8f)_mm256_maskz_loadu_ps(lr, A + m0 + (size_t)k * aks);
        if (sb) {
            bs0 += b0;
            if (nv == 2) bs1 += b1;
        }
    }
    for (int r = 0; r < mr; r++) {
        size_t at = (size_t)(m0 + r) * ldc + n;
        _mm512_mask_storeu_ps(C + at, l0, (__m512)ends16(c0[r], e, gate_at(e, at), l0));
        if (nv == 2)
            _mm512_mask_storeu_ps(C + at + 16, live,
                                  (__m512)ends16(c1[r], e, gate_at(e, at + 16), live));
    }
    if (sa) _mm256_mask_storeu_ps(e->asum + m0, lr, (__m256)as);
    if (sb) {
        _mm512_mask_storeu_ps(e->bsum + n, l0, (__m512)bs0);
        if (nv == 2) _mm512_mask_storeu_ps(e->bsum + n + 16, live, (__m512)bs1);
    }
}

/* All rows of C for the columns n .. n+16nv-1 (the last vector's lanes
 * live); asum in the first strip (n 0), bsum in the first row block. */
static inline __attribute__((always_inline)) AVX512 void
rows16(int nv, __mmask16 live, float *C, int ldc, const gemm_ends *e, const float *A, int ams,
       int aks, const float *B, int ldb, int M, int n, int K) {
    int sa = e->asum && n == 0, sb = e->bsum != NULL, m0 = 0;
    for (; m0 + 8 <= M; m0 += 8, sb = 0)
        block16(8, nv, live, sa, sb, C, ldc, e, A, ams, aks, B, ldb, m0, n, K);
    if (M - m0 >= 4)
        block16(4, nv, live, sa, sb, C, ldc, e, A, ams, aks, B, ldb, m0, n, K), m0 += 4, sb = 0;
    if (M - m0 >= 2)
        block16(2, nv, live, sa, sb, C, ldc, e, A, ams, aks, B, ldb, m0, n, K), m0 += 2, sb = 0;
    if (M - m0 >= 1) block16(1, nv, live, sa, sb, C, ldc, e, A, ams, aks, B, ldb, m0, n, K);
}

static AVX512 void gemm_avx512(float *C, int ldc, const gemm_ends *e, const float *A, int ams,
                               int aks, const float *B, int ldb, int M, int N, int K) {
    if (e->asum && ams != 1) { /* the fused row sums read A's columns as vectors */
        gemm_ends rest = *e;
        rest.asum = NULL;
        gemm_avx512(C, ldc, &rest, A, ams, aks, B, ldb, M, N, K);
        gemm_ends sums = {FROM_C, NULL, STORE, NULL, e->asum, NULL};
        operand_sums(&sums, A, ams, aks, B, ldb, M, N, K);
        return;
    }
    int n = 0;
    for (; n + 32 <= N; n += 32) rows16(2, 0xffff, C, ldc, e, A, ams, aks, B, ldb, M, n, K);
    if (N - n > 16)
        rows16(2, (__mmask16)((1u << (N - n - 16)) - 1), C, ldc, e, A, ams, aks, B, ldb, M, n, K);
    else if (N - n == 16)
        rows16(1, 0xffff, C, ldc, e, A, ams, aks, B, ldb, M, n, K);
    else if (N - n > 0)
        rows16(1, (__mmask16)((1u << (N - n)) - 1), C, ldc, e, A, ams, aks, B, ldb, M, n, K);
    if (N == 0) operand_sums(e, A, ams, aks, B, ldb, M, N, K); /* the sums alone */
}
#endif

/* Adam on n parameters (tls_adam_update); every copy's result is the float
 * loop's of adam_body. */
typedef void (*adam_fn)(float *restrict p, float *restrict mo, float *restrict v,
                        const float *restrict g, size_t n, float b1, float b2, float step_size,
                        float bc2_sqrt, float eps);

static inline __attribute__((always_inline)) void
adam_body(float *restrict p, float *restrict mo, float *restrict v, const float *restrict g,
          size_t n, float b1, float b2, float step_size, float bc2_sqrt, float eps) {
    for (size_t i = 0; i < n; i++) {
        mo[i] = b1 * mo[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * mo[i] / denom;
    }
}

static void adam_generic(float *restrict p, float *restrict mo, float *restrict v,
                         const float *restrict g, size_t n, float b1, float b2, float step_size,
                         float bc2_sqrt, float eps) {
    adam_body(p, mo, v, g, n, b1, b2, step_size, bc2_sqrt, eps);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void adam_avx2(float *restrict p, float *restrict mo,
                                                      float *restrict v, const float *restrict g,
                                                      size_t n, float b1, float b2, float step_size,
                                                      float bc2_sqrt, float eps) {
    adam_body(p, mo, v, g, n, b1, b2, step_size, bc2_sqrt, eps);
}

/* The AVX-512 copy: adam_body's float operations, 16 lanes at a time, and
 * where a lane's moment or gradient is tiny (below 2^-60 in magnitude, not
 * 0) each float operation done in double and rounded to float: the same
 * float (53 bits are at least 2 x 24 + 2, so rounding twice is innocuous
 * for +, -, x, / and sqrt, subnormal results included; Figueroa 1995),
 * without the microcode assist that an Intel core takes on every float
 * operation with a subnormal operand or result. The moments of parameters
 * without gradient decay into subnormals and stay there: on a Xeon their
 * assists cost Adam more than its own work. The intrinsics keep the
 * compiler from narrowing the double operations back to float. */
static inline __attribute__((always_inline)) AVX512 __m256 adam8_double(__m256 *mo8, __m256 *v8,
                                                                        __m256 g8, __m256 p8,
                                                                        float b1, float b2,
                                                                        float step_size,
                                                                        float bc2_sqrt, float eps) {
#define R(x) _mm512_cvtps_pd(_mm512_cvtpd_ps(x)) /* rounded to float */
    const __m512d B1 = _mm512_set1_pd(b1), C1 = _mm512_set1_pd(1.0f - b1);
    const __m512d B2 = _mm512_set1_pd(b2), C2 = _mm512_set1_pd(1.0f - b2);
    const __m512d SS = _mm512_set1_pd(step_size), BC = _mm512_set1_pd(bc2_sqrt);
    const __m512d EPS = _mm512_set1_pd(eps);
    __m512d gi = _mm512_cvtps_pd(g8), m0 = _mm512_cvtps_pd(*mo8), v0 = _mm512_cvtps_pd(*v8);
    __m512d m1 = R(_mm512_add_pd(R(_mm512_mul_pd(B1, m0)), R(_mm512_mul_pd(C1, gi))));
    __m512d v1 =
        R(_mm512_add_pd(R(_mm512_mul_pd(B2, v0)), R(_mm512_mul_pd(R(_mm512_mul_pd(C2, gi)), gi))));
    __m512d den = R(_mm512_add_pd(R(_mm512_div_pd(R(_mm512_sqrt_pd(v1)), BC)), EPS));
    __m512d p1 =
        _mm512_sub_pd(_mm512_cvtps_pd(p8), R(_mm512_div_pd(R(_mm512_mul_pd(SS, m1)), den)));
    *mo8 = _mm512_cvtpd_ps(m1);
    *v8 = _mm512_cvtpd_ps(v1);
    return _mm512_cvtpd_ps(p1);
#undef R
}

static AVX512 void adam_avx512(float *restrict p, float *restrict mo, float *restrict v,
                               const float *restrict g, size_t n, float b1, float b2,
                               float step_size, float bc2_sqrt, float eps) {
    const v16f B1 = _mm512_set1_ps(b1), C1 = _mm512_set1_ps(1.0f - b1);
    const v16f B2 = _mm512_set1_ps(b2), C2 = _mm512_set1_ps(1.0f - b2);
    const v16f SS = _mm512_set1_ps(step_size), BC = _mm512_set1_ps(bc2_sqrt);
    const v16f EPS = _mm512_set1_ps(eps);
    const __m512 tiny = _mm512_set1_ps(0x1p-60f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 live = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        v16f gi = _mm512_maskz_loadu_ps(live, g + i), m0 = _mm512_maskz_loadu_ps(live, mo + i);
        v16f v0 = _mm512_maskz_loadu_ps(live, v + i), p0 = _mm512_maskz_loadu_ps(live, p + i);
        /* lanes with 0 < |x| < 2^-60 in the moments or the gradient */
        __mmask16 small = 0;
        v16f xs[3] = {gi, m0, v0};
        for (int q = 0; q < 3; q++) {
            __m512 a = _mm512_abs_ps((__m512)xs[q]);
            small |= _mm512_cmp_ps_mask(a, tiny, _CMP_LT_OQ) &
                     _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_NEQ_OQ);
        }
        v16f m1, v1, p1;
        if (!small) {
            m1 = B1 * m0 + C1 * gi;
            v1 = B2 * v0 + C2 * gi * gi;
            v16f denom = (v16f)_mm512_sqrt_ps((__m512)v1) / BC + EPS;
            p1 = p0 - SS * m1 / denom;
        } else {
            __m256 mlo = _mm512_castps512_ps256((__m512)m0),
                   vlo = _mm512_castps512_ps256((__m512)v0);
            __m256 mhi = _mm512_extractf32x8_ps((__m512)m0, 1),
                   vhi = _mm512_extractf32x8_ps((__m512)v0, 1);
            __m256 plo =
                adam8_double(&mlo, &vlo, _mm512_castps512_ps256((__m512)gi),
                             _mm512_castps512_ps256((__m512)p0), b1, b2, step_size, bc2_sqrt, eps);
            __m256 phi = adam8_double(&mhi, &vhi, _mm512_extractf32x8_ps((__m512)gi, 1),
                                      _mm512_extractf32x8_ps((__m512)p0, 1), b1, b2, step_size,
                                      bc2_sqrt, eps);
            m1 = (v16f)_mm512_insertf32x8(_mm512_castps256_ps512(mlo), mhi, 1);
            v1 = (v16f)_mm512_insertf32x8(_mm512_castps256_ps512(vlo), vhi, 1);
            p1 = (v16f)_mm512_insertf32x8(_mm512_castps256_ps512(plo), phi, 1);
        }
        _mm512_mask_storeu_ps(mo + i, live, (__m512)m1);
        _mm512_mask_storeu_ps(v + i, live, (__m512)v1);
        _mm512_mask_storeu_ps(p + i, live, (__m512)p1);
    }
}
#endif

static const struct {
    const char *name;
    gemm_fn fn;
    adam_fn adam;
} gemms[] = {
#if defined(__x86_64__)
    {"avx512", gemm_avx512, adam_avx512},
    {"avx2", gemm_avx2, adam_avx2},
#endif
    {"generic", gemm_generic, adam_generic},
};
enum { NGEMMS = sizeof(gemms) / sizeof(gemms[0]) };

static int gemm_usable(int i) {
#if defined(__x86_64__)
    if (gemms[i].fn == gemm_avx512) return tls_cpu_avx512();
    if (gemms[i].fn == gemm_avx2) return __builtin_cpu_supports("avx2");
#endif
    return 1;
}

static const char *gemm_name(int i) {
    return gemms[i].name;
}

static tls_copies copies = {NGEMMS, gemm_name, gemm_usable, -1};

static int gemm_index(void) {
    return tls_copies_index(&copies);
}

int tls_nn_select(const char *name) {
    return tls_copies_select(&copies, name);
}

const char *tls_nn_kernel(void) {
    return gemms[gemm_index()].name;
}

static void gemm(float *C, int ldc, const gemm_ends *e, const float *A, int ams, int aks,
                 const float *B, int ldb, int M, int N, int K) {
    gemms[gemm_index()].fn(C, ldc, e, A, ams, aks, B, ldb, M, N, K);
}

void tls_adam_update(float *p, float *m, float *v, const float *g, size_t n, float beta1,
                     float beta2, float step_size, float bc2_sqrt, float eps) {
    gemms[gemm_index()].adam(p, m, v, g, n, beta1, beta2, step_size, bc2_sqrt, eps);
}

/* db (Dout) += column sums of dout (B, Dout), rows in order */
static void column_sums(float *restrict db, const float *restrict dout, int B, int Dout) {
    for (int i = 0; i < B; i++)
        for (int o = 0; o < Dout; o++) db[o] += dout[(size_t)i * Dout + o];
}

/* out = b + inp W^T, then the ReLU if relu. */
static void linear_forward(float *out, const float *inp, const float *W, const float *b, int B,
                           int Din, int Dout, int relu) {
    if (use_blas(B, Dout, Din)) {
        for (int i = 0; i < B; i++) memcpy(out + (size_t)i * Dout, b, sizeof(float) * (size_t)Dout);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, Dout, Din, 1.0f, inp, Din, W, Din,
                    1.0f, out, Dout);
        if (relu) tls_relu_forward(out, out, B * Dout);
        return;
    }
    /* W^T built TB x TB at a time: k blocks in order, the first from b, the
     * last with the ReLU */
    float wt[TB * TB] __attribute__((aligned(64))); /* (kb, ob) */
    for (int o0 = 0; o0 < Dout; o0 += TB) {
        int ob = Dout - o0 < TB ? Dout - o0 : TB;
        for (int k0 = 0; k0 < Din; k0 += TB) {
            int kb = Din - k0 < TB ? Din - k0 : TB;
            for (int o = 0; o < ob; o++)
                for (int k = 0; k < kb; k++) wt[k * ob + o] = W[(size_t)(o0 + o) * Din + k0 + k];
            gemm_ends e = {k0 == 0 ? FROM_INIT : FROM_C,
                           b + o0,
                           relu && k0 + kb >= Din ? STORE_RELU : STORE,
                           NULL,
                           NULL,
                           NULL};
            gemm(out + o0, Dout, &e, inp + k0, Din, 1, wt, ob, B, ob, kb);
        }
    }
}

void tls_linear_forward(float *out, const float *inp, const float *W, const float *b, int B,
                        int Din, int Dout) {
    linear_forward(out, inp, W, b, B, Din, Dout, 0);
}

void tls_linear_relu_forward(float *out, const float *inp, const float *W, const float *b, int B,
                             int Din, int Dout) {
    linear_forward(out, inp, W, b, B, Din, Dout, 1);
}

/* dinp: from (FROM_C: += dout W; FROM_ZERO: = dout W), then gated by gate
 * (relu backward) unless NULL; dW, db as tls_linear_backward (db's sums in
 * the pass that computes dW). */
static void linear_backward(float *dinp, int from, const float *gate, float *dW, float *db,
                            const float *dout, const float *inp, const float *W, int B, int Din,
                            int Dout) {
    if (dinp && use_blas(B, Din, Dout)) {
        if (from == FROM_ZERO) memset(dinp, 0, sizeof(float) * (size_t)B * Din);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, Din, Dout, 1.0f, dout, Dout, W,
                    Din, 1.0f, dinp, Din);
        if (gate) tls_relu_backward(dinp, gate, B * Din);
    } else if (dinp) {
        gemm_ends e = {from, NULL, gate ? STORE_GATED : STORE, gate, NULL, NULL};
        gemm(dinp, Din, &e, dout, Dout, 1, W, Din, B, Din, Dout);
    }
    if (!dW) return;
    if (use_blas(Dout, Din, B)) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Dout, Din, B, 1.0f, dout, Dout, inp,
                    Din, 1.0f, dW, Din);
        column_sums(db, dout, B, Dout);
    } else if (Din >= NV) {
        /* dW (Dout, Din) += dout^T inp; db: the sums of dout's columns, A's rows here */
        gemm_ends e = {FROM_C, NULL, STORE, NULL, db, NULL};
        gemm(dW, Din, &e, dout, 1, Dout, inp, Din, Dout, Din, B);
    } else {
        /* narrow input: dW^T (Din, Dout) += inp^T dout, vectorized over
         * outputs, through a transposed copy; same terms, same order; db:
         * the sums of dout's columns, B's columns here */
        float t[NV * TB] __attribute__((aligned(64))); /* (Din, ob) */
        for (int o0 = 0; o0 < Dout; o0 += TB) {
            int ob = Dout - o0 < TB ? Dout - o0 : TB;
            for (int o = 0; o < ob; o++)
                for (int k = 0; k < Din; k++) t[k * ob + o] = dW[(size_t)(o0 + o) * Din + k];
            gemm_ends e = {FROM_C, NULL, STORE, NULL, NULL, db + o0};
            gemm(t, ob, &e, inp, 1, Din, dout + o0, Dout, Din, ob, B);
            for (int o = 0; o < ob; o++)
                for (int k = 0; k < Din; k++) dW[(size_t)(o0 + o) * Din + k] = t[k * ob + o];
        }
    }
}

void tls_linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                         const float *W, int B, int Din, int Dout) {
    linear_backward(dinp, FROM_C, NULL, dW, db, dout, inp, W, B, Din, Dout);
}

void tls_linear_relu_backward(float *dinp, float *dW, float *db, const float *dout,
                              const float *inp, const float *W, int B, int Din, int Dout) {
    linear_backward(dinp, FROM_ZERO, inp, dW, db, dout, inp, W, B, Din, Dout);
}

/* ReLU passes: one compare and select per element, the same in every clone.
 * The clones are static and called through the public functions: clang
 * cannot resolve a multiversioned function from other files. */
__attribute__((target_clones("avx2", "default"))) static void
relu_forward(float *out, const float *inp, int n) {
    for (int i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

__attribute__((target_clones("avx2", "default"))) static void
relu_backward(float *d, const float *out, int n) {
    for (int i = 0; i < n; i++) d[i] = out[i] > 0.0f ? d[i] : 0.0f;
}

void tls_relu_forward(float *out, const float *inp, int n) {
    relu_forward(out, inp, n);
}

void tls_relu_backward(float *d, const float *out, int n) {
    relu_backward(d, out, n);
}

/* One row: p = softmax(z), shifted by the row's maximum (returned in
 * *zmax); returns the sum of the shifted exponentials. */
static double softmax_row(float *p, const float *z, int C, float *zmax) {
    float m = z[0];
    for (int c = 1; c < C; c++) m = z[c] > m ? z[c] : m;
    double sum = 0.0;
    for (int c = 0; c < C; c++) {
        p[c] = expf(z[c] - m);
        sum += p[c];
    }
    for (int c = 0; c < C; c++) p[c] = (float)(p[c] / sum);
    *zmax = m;
    return sum;
}

void tls_softmax_forward(float *probs, const float *logits, int B, int C) {
    float zmax;
    for (int i = 0; i < B; i++)
        softmax_row(probs + (size_t)i * C, logits + (size_t)i * C, C, &zmax);
}

double tls_bce_forward(float *probs, const float *logits, const int *y, int B) {
    double loss = 0.0;
    for (int i = 0; i < B; i++) {
        double z = logits[i];
        /* max(z, 0) - z y + log(1 + exp(-|z|)): no overflow either way */
        loss += (z > 0 ? z : 0.0) - z * y[i] + log1p(exp(-fabs(z)));
        probs[i] = (float)(1.0 / (1.0 + exp(-z)));
    }
    return loss / B;
}

void tls_bce_backward(float *dlogits, const float *probs, const int *y, float dloss, int B) {
    float s = dloss / (float)B;
    for (int i = 0; i < B; i++) dlogits[i] += s * (probs[i] - (float)y[i]);
}

double tls_crossentropy_forward(float *probs, const float *logits, const int *y, int B, int C) {
    double loss = 0.0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * C;
        float zmax;
        double sum = softmax_row(probs + (size_t)i * C, z, C, &zmax);
        loss += -((double)z[y[i]] - zmax - log(sum));
    }
    return loss / B;
}

void tls_crossentropy_backward(float *dlogits, const float *probs, const int *y, float dloss, int B,
                               int C) {
    float s = dloss / (float)B;
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            float t = c == y[i] ? 1.0f : 0.0f;
            dlogits[(size_t)i * C + c] += s * (probs[(size_t)i * C + c] - t);
        }
}

void tls_argmax_rows(int *pred, const float *logits, int B, int C) {
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * C;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (z[c] > z[best]) best = c;
        pred[i] = best;
    }
}
