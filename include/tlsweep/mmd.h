/* mmd.h - biased MMD^2 with the RBF kernel k(a,b) = exp(-gamma |a-b|^2):
 *
 *   MMD^2(x, y) = mean_ij k(x_i,x_j) + mean_ij k(y_i,y_j) - 2 mean_ij k(x_i,y_j)
 *
 * exactly the article's compute_mmd. Kernel blocks are computed TILE_ROWS
 * rows at a time from Gram products (cblas_sgemm), so memory grows with
 * (n + m) and never with n*m: a workspace of tls_mmd_work_floats floats. */
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

#endif
