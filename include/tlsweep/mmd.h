/* mmd.h - biased MMD^2 with the RBF kernel k(a,b) = exp(-gamma |a-b|^2):
 *
 *   MMD^2(x, y) = mean_ij k(x_i,x_j) + mean_ij k(y_i,y_j) - 2 mean_ij k(x_i,y_j)
 *
 * exactly the article's compute_mmd. The distances, exponentials, sums and
 * gradient products of a few kernel rows are computed together in one pass
 * (a fused kernel, no BLAS), so memory grows with (n + m) and never with
 * n*m: a workspace of tls_mmd_work_floats floats. The symmetric self blocks
 * are computed once per pair.
 *
 * The kernel exists as an AVX-512 copy (16 lanes), an AVX2+FMA copy (8
 * lanes) and a generic copy; all do the same fused multiply-adds in the same
 * order on every element and return the same bits. The best one the CPU
 * runs is used unless tls_mmd_select says otherwise. */
#ifndef TLSWEEP_MMD_H
#define TLSWEEP_MMD_H

#include <stddef.h>

/* Floats of workspace that the two calls below need for x (n,d), y (m,d). */
size_t tls_mmd_work_floats(int n, int m, int d);

/* Returns MMD^2 of x (n,d) and y (m,d). work: tls_mmd_work_floats floats. */
double tls_mmd2_forward(const float *x, const float *y, int n, int m, int d, float gamma,
                        float *work);

/* Returns MMD^2 like tls_mmd2_forward and ADDS dloss * dMMD^2/dx into dx (n,d)
 * and dloss * dMMD^2/dy into dy (m,d). Either gradient may be NULL. */
double tls_mmd2_forward_backward(float *dx, float *dy, float dloss, const float *x, const float *y,
                                 int n, int m, int d, float gamma, float *work);

/* Kernels of one multi-kernel MMD, at most. */
#define TLS_MMD_MAX_KERNELS 8

/* The MMD^2 of several RBF kernels summed (DAN's multi-kernel MMD),
 * k(a,b) = sum_q exp(-gammas[q] |a-b|^2), ng in 1..TLS_MMD_MAX_KERNELS, in the
 * same single fused pass (one distance per pair for all kernels); biased
 * as above, or with `unbiased` the U-statistic without the self pairs,
 *   sum_{i!=j} k(x_i,x_j) / (n(n-1)) + sum_{i!=j} k(y_i,y_j) / (m(m-1)) - 2 mean_ij k(x_i,y_j)
 * (a set of one point contributes no self term). Adds dloss * the
 * gradients into dx, dy as tls_mmd2_forward_backward, which is this
 * function with ng = 1 and the biased estimator, bit for bit. */
double tls_mmd2_multi_forward_backward(float *dx, float *dy, float dloss, const float *x,
                                       const float *y, int n, int m, int d, const float *gammas,
                                       int ng, int unbiased, float *work);

/* Chooses the kernel copy for the whole process: "auto" (the default:
 * avx512 where the CPU has AVX-512 F, VL and DQ, else avx2 where it has AVX2
 * and FMA, else generic), "avx512", "avx2" or "generic".
 * Returns TLS_OK, or TLS_ERR_INPUT for an unknown name or a copy this CPU
 * cannot run (the choice is then unchanged). */
int tls_mmd_select(const char *name);

/* Name of the kernel copy in use: "avx512", "avx2" or "generic". */
const char *tls_mmd_kernel(void);

#endif
