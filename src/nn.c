#include "tlsweep/nn.h"

#include "vec8.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

enum { MR = 4, NV = 8, TB = 64 }; /* rows per register block, lanes, transpose block */

/* Products of at least this many multiply-adds go to OpenBLAS, smaller ones
 * to gemm_acc. Measured on the dev machine (one core): at the article's
 * shapes (at most 200 x 32 x 16) gemm_acc is 1.7x faster than cblas_sgemm,
 * whose packing dominates there; at 784 inputs (200 x 784 x 32) OpenBLAS
 * computes dW 1.5x faster. */
#define BLAS_MIN_MACS (1L << 20)

static int use_blas(int M, int N, int K) {
    return (long)M * N * K >= BLAS_MIN_MACS;
}

/* The MR rows of A and C from m0 on; the rows of a last, partial block
 * repeat row M-1 (they are computed, not stored). Returns the rows to store. */
static inline int row_block(const float **ar, float **cr, const float *A, int ams, float *C,
                            int ldc, int m0, int M) {
    int t = M - m0 < MR ? M - m0 : MR;
    for (int r = 0; r < MR; r++) {
        ar[r] = A + (size_t)(r < t ? m0 + r : M - 1) * ams;
        cr[r] = C + (size_t)(r < t ? m0 + r : M - 1) * ldc;
    }
    return t;
}

/* C (M, N; ldc) += A B, one term at a time in ascending k straight into C:
 * C[m][n] += A[m*ams + k*aks] * B[k*ldb + n] for k = 0 .. K-1; with init
 * (N) non-NULL every row of C starts from init instead. Multiply then
 * add (no fused multiply-add), so every vector width gives the same bits;
 * the AVX2 clone is only faster. Column strips outside, MR-row blocks
 * inside, so that a strip of B stays in L1 while it is reused. */
__attribute__((target_clones("avx2", "default"))) static void
gemm_acc(float *C, int ldc, const float *init, const float *A, int ams, int aks, const float *B,
         int ldb, int M, int N, int K) {
    const float *ar[MR];
    float *cr[MR];
    int n = 0;
    for (; n + 2 * NV <= N; n += 2 * NV)
        for (int m0 = 0; m0 < M; m0 += MR) {
            int t = row_block(ar, cr, A, ams, C, ldc, m0, M);
            v8f c0[MR], c1[MR];
            for (int r = 0; r < MR; r++) {
                c0[r] = ld8(init ? init + n : cr[r] + n);
                c1[r] = ld8(init ? init + n + NV : cr[r] + n + NV);
            }
            for (int k = 0; k < K; k++) {
                v8f b0 = ld8(B + (size_t)k * ldb + n), b1 = ld8(B + (size_t)k * ldb + n + NV);
                for (int r = 0; r < MR; r++) {
                    float a = ar[r][(size_t)k * aks]; /* splat by the vector extension */
                    c0[r] += a * b0;
                    c1[r] += a * b1;
                }
            }
            for (int r = 0; r < t; r++) st8(cr[r] + n, c0[r]), st8(cr[r] + n + NV, c1[r]);
        }
    for (; n + NV <= N; n += NV)
        for (int m0 = 0; m0 < M; m0 += MR) {
            int t = row_block(ar, cr, A, ams, C, ldc, m0, M);
            v8f c0[MR];
            for (int r = 0; r < MR; r++) c0[r] = ld8(init ? init + n : cr[r] + n);
            for (int k = 0; k < K; k++) {
                v8f b0 = ld8(B + (size_t)k * ldb + n);
                for (int r = 0; r < MR; r++) c0[r] += ar[r][(size_t)k * aks] * b0;
            }
            for (int r = 0; r < t; r++) st8(cr[r] + n, c0[r]);
        }
    for (; n < N; n++)
        for (int m = 0; m < M; m++) {
            float c = init ? init[n] : C[(size_t)m * ldc + n];
            for (int k = 0; k < K; k++)
                c += A[(size_t)m * ams + (size_t)k * aks] * B[(size_t)k * ldb + n];
            C[(size_t)m * ldc + n] = c;
        }
}

/* db (Dout) += column sums of dout (B, Dout), rows in order */
static void column_sums(float *restrict db, const float *restrict dout, int B, int Dout) {
    for (int i = 0; i < B; i++)
        for (int o = 0; o < Dout; o++) db[o] += dout[(size_t)i * Dout + o];
}

void tls_linear_forward(float *out, const float *inp, const float *W, const float *b, int B,
                        int Din, int Dout) {
    if (use_blas(B, Dout, Din)) {
        for (int i = 0; i < B; i++) memcpy(out + (size_t)i * Dout, b, sizeof(float) * (size_t)Dout);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, Dout, Din, 1.0f, inp, Din, W, Din,
                    1.0f, out, Dout);
        return;
    }
    /* out = b + inp W^T, with W^T built TB x TB at a time: k blocks in order */
    float wt[TB * TB]; /* (kb, ob) */
    for (int o0 = 0; o0 < Dout; o0 += TB) {
        int ob = Dout - o0 < TB ? Dout - o0 : TB;
        for (int k0 = 0; k0 < Din; k0 += TB) {
            int kb = Din - k0 < TB ? Din - k0 : TB;
            for (int o = 0; o < ob; o++)
                for (int k = 0; k < kb; k++) wt[k * ob + o] = W[(size_t)(o0 + o) * Din + k0 + k];
            gemm_acc(out + o0, Dout, k0 == 0 ? b + o0 : NULL, inp + k0, Din, 1, wt, ob, B, ob, kb);
        }
    }
}

void tls_linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                         const float *W, int B, int Din, int Dout) {
    if (dinp && use_blas(B, Din, Dout))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, Din, Dout, 1.0f, dout, Dout, W,
                    Din, 1.0f, dinp, Din);
    else if (dinp)
        gemm_acc(dinp, Din, NULL, dout, Dout, 1, W, Din, B, Din, Dout);
    if (!dW) return;
    if (use_blas(Dout, Din, B)) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Dout, Din, B, 1.0f, dout, Dout, inp,
                    Din, 1.0f, dW, Din);
    } else if (Din >= NV) {
        gemm_acc(dW, Din, NULL, dout, 1, Dout, inp, Din, Dout, Din, B);
    } else {
        /* narrow input: dW^T (Din, Dout) += inp^T dout, vectorized over
         * outputs, through a transposed copy; same terms, same order */
        float t[NV * TB]; /* (Din, ob) */
        for (int o0 = 0; o0 < Dout; o0 += TB) {
            int ob = Dout - o0 < TB ? Dout - o0 : TB;
            for (int o = 0; o < ob; o++)
                for (int k = 0; k < Din; k++) t[k * ob + o] = dW[(size_t)(o0 + o) * Din + k];
            gemm_acc(t, ob, NULL, inp, 1, Din, dout + o0, Dout, Din, ob, B);
            for (int o = 0; o < ob; o++)
                for (int k = 0; k < Din; k++) dW[(size_t)(o0 + o) * Din + k] = t[k * ob + o];
        }
    }
    column_sums(db, dout, B, Dout);
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

void tls_softmax_forward(float *probs, const float *logits, int B, int C) {
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * C;
        float *p = probs + (size_t)i * C;
        float zmax = z[0];
        for (int c = 1; c < C; c++) zmax = z[c] > zmax ? z[c] : zmax;
        double sum = 0.0;
        for (int c = 0; c < C; c++) {
            p[c] = expf(z[c] - zmax);
            sum += p[c];
        }
        for (int c = 0; c < C; c++) p[c] = (float)(p[c] / sum);
    }
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
        float *p = probs + (size_t)i * C;
        float zmax = z[0];
        for (int c = 1; c < C; c++) zmax = z[c] > zmax ? z[c] : zmax;
        double sum = 0.0;
        for (int c = 0; c < C; c++) {
            p[c] = expf(z[c] - zmax);
            sum += p[c];
        }
        for (int c = 0; c < C; c++) p[c] = (float)(p[c] / sum);
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
