/* align.h - the alignment methods of the source phase (align.loss), as one
 * table the engine, its workspace and the configuration derive from; and the
 * remedies' losses besides MMD (mmd.h): Deep CORAL between source and target
 * features, the L2-SP penalty of fine-tuning, and the median heuristic of the
 * MMD bandwidth.
 *
 * Argument order as nn.h: outputs (gradients) first, then inputs, then
 * sizes; backward parts ADD dloss * the gradient into what they are given
 * (NULL: not wanted). No allocation: callers pass the workspace. */
#ifndef TLSWEEP_ALIGN_H
#define TLSWEEP_ALIGN_H

#include "tlsweep/model.h"
#include "tlsweep/params.h"

#include <stddef.h>

/* Forward and backward of one source step's alignment loss between the
 * source batch's features x (n, F) and the target points' features y (m, F)
 * of the network md: returns the loss. With dx and dy (both NULL: the loss
 * alone, as when lambda is 0), adds into dx (n, F) and dy (m, F) what the
 * feature extractor follows: lambda * the loss's gradient, or for a method
 * with parameters (trained against the features: DANN's discriminator) the
 * reversed gradient -lambda * dloss/dx, its parameters' gradient
 * lambda * dloss/dtheta going into md's gradients. p: the settings (mmd.*);
 * work: work_floats(n, m, F, p) floats, n and m at most the sizes it was
 * sized for. */
typedef double (*tls_align_step_fn)(float *dx, float *dy, float lambda, tls_model *md,
                                    const float *x, const float *y, int n, int m, int F,
                                    const tls_engine_params *p, float *work);

typedef struct {
    const char *name; /* align.loss's word */
    const char *loss; /* the loss's name in messages */
    /* floats of workspace of a step of up to n source and m target points, F features;
       NULL: none */
    size_t (*work_floats)(int n, int m, int F, const tls_engine_params *p);
    int has_params;         /* 1: md has a discriminator of model.disc_hidden units (DANN) */
    tls_align_step_fn step; /* NULL: no alignment (the source phase is cross-entropy alone, its
                               alignment curve NaN) */
} tls_align_method;

/* The methods, tls_align_count rows in the order of align.loss's values
 * (row i is align.loss's word tls_align_name(i), params.h). */
extern const tls_align_method tls_align_methods[];
extern const int tls_align_count;

/* Floats of workspace tls_coral_forward_backward needs for x (n,d), y (m,d). */
size_t tls_coral_work_floats(int n, int m, int d);

/* Deep CORAL (Sun & Saenko 2016): returns ||C_x - C_y||_F^2 / (4 d^2), C
 * being the unbiased feature covariance (1/(n-1)) of x (n,d) and of y (m,d)
 * (a set of one point has covariance 0), and adds dloss * its gradient
 * into dx (n,d) and dy (m,d):
 *   dL/dx =  (x - mean x) (C_x - C_y) / (d^2 (n-1))
 *   dL/dy = -(y - mean y) (C_x - C_y) / (d^2 (m-1))
 * Covariances and gradients in float through nn.h's layer products; the
 * loss summed in double. work: tls_coral_work_floats floats. */
double tls_coral_forward_backward(float *dx, float *dy, float dloss, const float *x, const float *y,
                                  int n, int m, int d, float *work);

/* L2-SP (Li et al. 2018): returns alpha/2 ||w - w0||^2 over n floats and adds
 * alpha (w - w0) into g (n). */
double tls_l2sp_forward_backward(float *g, float alpha, const float *w, const float *w0, size_t n);

/* Floats of workspace tls_median_sqdist needs for n + m points of d coordinates. */
size_t tls_median_work_floats(int n, int m, int d);

/* The median heuristic: the lower median (element floor((N-1)/2) in sorted
 * order, as torch.median) of the N = k(k-1)/2 squared distances between
 * distinct points i < j of the pooled set x (n,d) then y (m,d), k = n + m >= 2.
 * Each squared distance is summed over the coordinates in order, in float;
 * the selection is exact (a radix selection on the bits). */
float tls_median_sqdist(const float *x, int n, const float *y, int m, int d, float *work);

#endif
