/* data.h - the data of one configuration: the synthetic Gaussian domains of
 * the article, generalised, the data files' points, the shift kinds
 * (data.shift_kind), and tls_data_draw, which draws a configuration's sets.
 *
 * A domain has `classes` isotropic Gaussian clusters in `dim` dimensions.
 * Class k's mean lies in the plane of the first two coordinates:
 *   classes == 2: means -(a, a) and +(a, a)          (the article's layout)
 *   classes  > 2: a*sqrt(2) * (cos phi_k, sin phi_k), phi_k = 5*pi/4 + 2*pi*k/classes
 * with every further coordinate's mean 0. The target domain is drawn the same
 * way and then rotated by theta in the first two coordinates (x' = R x). The
 * article's source is a=2, std 0.5; its target a=1, std 0.6, theta=45 deg. */
#ifndef TLSWEEP_DATA_H
#define TLSWEEP_DATA_H

#include "tlsweep/params.h"
#include "tlsweep/rng.h"

#include <stddef.h>

typedef struct {
    double mean_scale; /* a above: class means are +-(a, a) in 2-D */
    double std;        /* per-coordinate standard deviation of each cluster */
    double theta;      /* rotation of the first two coordinates, radians */
} tls_domain;

/* Fills X (n, dim) and y (n) with n points: point i has class i*classes/n
 * (contiguous blocks, as the article's vstack of class 0 then class 1), drawn
 * from `rng`. The normals are drawn point by point, coordinate by
 * coordinate, so a sample of n points is a prefix-free function of the
 * stream. */
void tls_data_sample(float *X, int *y, int n, int dim, int classes, const tls_domain *dom,
                     tls_rng *rng);

/* As tls_data_sample, with counts[k] points of class k (classes entries) in
 * contiguous blocks, class 0 first: the same draws point by point, so that
 * tls_data_sample is this function with the counts of its class rule. */
void tls_data_sample_counts(float *X, int *y, const int *counts, int dim, int classes,
                            const tls_domain *dom, tls_rng *rng);

/* Class counts (classes entries) of n points whose class 0 has the share
 * share0 in [0, 1] (rounded to the nearest integer, halves up), the other
 * classes sharing the rest equally (the lower classes taking the remainder).
 * With at_least_one (n >= classes), every class keeps at least one point:
 * class 0's count is clamped to [1, n - classes + 1]. The label shift of
 * data.shift_kind. */
void tls_data_label_counts(int *counts, int n, int classes, double share0, int at_least_one);

/* Rotates an image (h, w), row-major, by theta radians counter-clockwise
 * about its centre with bilinear interpolation; pixels that come from
 * outside the image are 0. out must not alias in. */
void tls_data_rotate_image(float *out, const float *in, int h, int w, double theta);

/* Writes class k's mean (dim) for the given domain, before rotation. */
void tls_data_class_mean(double *mean, int k, int dim, int classes, double mean_scale);

/* A configuration's three sets, in buffers the caller owns. */
typedef struct {
    float *xs; /* (n_source, dim) source points, all labelled */
    int *ys;   /* (n_source) */
    float *xl; /* (n_target, dim) labelled target points */
    int *yl;   /* (n_target) */
    float *xt; /* (n_test, dim) target test points, also the unlabelled target set */
    int *yt;   /* (n_test) */
} tls_data_sets;

/* Ints of scratch tls_data_draw needs for (p, pt). */
size_t tls_data_draw_ints(const tls_engine_params *p, const tls_point *pt);

/* Draws the source, labelled target and test sets of the configuration
 * (p, pt) into s, as engine.h describes: from the synthetic domains above
 * (source: a = source_mean, std source_std; target: target_mean, target_std)
 * or from the data files (p->source_data, p->target_data); the target sets
 * shifted by pt->shift as data.shift_kind says (params.h); standardised last,
 * source and target alike, when p->std_mean is set. Each set from its own
 * stream (rng.h): source (seed), test (seed; with files (seed, n_target)),
 * labelled (seed, n_target), the conditional shift's swaps (seed) and
 * (seed, n_target). work: tls_data_draw_ints(p, pt) ints. */
void tls_data_draw(tls_data_sets *s, const tls_engine_params *p, const tls_point *pt, int *work);

#endif
