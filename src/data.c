#include "tlsweep/data.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

void tls_data_class_mean(double *mean, int k, int dim, int classes, double mean_scale) {
    for (int j = 0; j < dim; j++) mean[j] = 0.0;
    if (classes == 2) {
        double s = k == 0 ? -mean_scale : mean_scale; /* exact: the article's +-(a, a) */
        mean[0] = s;
        mean[1] = s;
    } else {
        double phi = 1.25 * M_PI + 2.0 * M_PI * k / classes;
        mean[0] = mean_scale * M_SQRT2 * cos(phi);
        mean[1] = mean_scale * M_SQRT2 * sin(phi);
    }
}

/* Draws one point of class k into row (dim), rotated by (c, s) = (cos, sin) theta. */
static void sample_point(float *row, int k, int dim, int classes, const tls_domain *dom, double c,
                         double s, tls_rng *rng) {
    double mean[2]; /* the class mean lies in the first two coordinates; the rest are 0 */
    tls_data_class_mean(mean, k, 2, classes, dom->mean_scale);
    double p0 = 0.0, p1 = 0.0;
    for (int j = 0; j < dim; j++) {
        double v = tls_rng_normal(rng) * dom->std + (j < 2 ? mean[j] : 0.0);
        if (j == 0)
            p0 = v;
        else if (j == 1)
            p1 = v;
        else
            row[j] = (float)v;
    }
    row[0] = (float)(c * p0 - s * p1);
    row[1] = (float)(s * p0 + c * p1);
}

void tls_data_sample(float *X, int *y, int n, int dim, int classes, const tls_domain *dom,
                     tls_rng *rng) {
    double c = cos(dom->theta), s = sin(dom->theta);
    for (int i = 0; i < n; i++) {
        int k = (int)((long long)i * classes / n);
        sample_point(X + (size_t)i * dim, k, dim, classes, dom, c, s, rng);
        y[i] = k;
    }
}

void tls_data_sample_counts(float *X, int *y, const int *counts, int dim, int classes,
                            const tls_domain *dom, tls_rng *rng) {
    double c = cos(dom->theta), s = sin(dom->theta);
    size_t i = 0;
    for (int k = 0; k < classes; k++)
        for (int q = 0; q < counts[k]; q++, i++) {
            sample_point(X + i * dim, k, dim, classes, dom, c, s, rng);
            y[i] = k;
        }
}

void tls_data_label_counts(int *counts, int n, int classes, double share0, int at_least_one) {
    int n0 = (int)floor(share0 * n + 0.5);
    if (n0 > n) n0 = n;
    if (at_least_one) {
        if (n0 < 1) n0 = 1;
        if (n0 > n - classes + 1) n0 = n - classes + 1;
    }
    int rest = n - n0, others = classes - 1;
    counts[0] = n0;
    for (int k = 1; k < classes; k++) counts[k] = rest / others + (k - 1 < rest % others);
}

void tls_data_rotate_image(float *out, const float *in, int h, int w, double theta) {
    double c = cos(theta), s = sin(theta);
    double cy = 0.5 * (h - 1), cx = 0.5 * (w - 1);
    for (int r = 0; r < h; r++)
        for (int q = 0; q < w; q++) {
            /* the source of output pixel (r, q): rotate back by -theta (y axis down) */
            double dx = q - cx, dy = r - cy;
            double sx = c * dx - s * dy + cx, sy = s * dx + c * dy + cy;
            int x0 = (int)floor(sx), y0 = (int)floor(sy);
            double fx = sx - x0, fy = sy - y0, v = 0.0;
            for (int k = 0; k < 4; k++) {
                int xi = x0 + (k & 1), yi = y0 + (k >> 1);
                double wgt = ((k & 1) ? fx : 1 - fx) * ((k >> 1) ? fy : 1 - fy);
                if (xi >= 0 && xi < w && yi >= 0 && yi < h) v += wgt * in[yi * w + xi];
            }
            out[r * w + q] = (float)v;
        }
}

/* ---- a configuration's sets --------------------------------------------- */

/* Copies rows idx[0..n) of pts into X/y; rotates them by theta if asked. */
static void take_rows(float *X, int *y, const tls_points *pts, const int *idx, int n,
                      const tls_engine_params *p, double theta) {
    int D = pts->dim;
    double c = cos(theta), s = sin(theta);
    for (int i = 0; i < n; i++) {
        const float *row = pts->X + (size_t)idx[i] * D;
        float *dst = X + (size_t)i * D;
        if (theta != 0.0 && p->image_h > 0) {
            tls_data_rotate_image(dst, row, p->image_h, p->image_w, theta);
        } else {
            memcpy(dst, row, sizeof(float) * D);
            if (theta != 0.0) {
                double x0 = c * row[0] - s * row[1], x1 = s * row[0] + c * row[1];
                dst[0] = (float)x0, dst[1] = (float)x1;
            }
        }
        y[i] = pts->y[idx[i]];
    }
}

/* Draws the source, labelled target and test sets from the data files. With
 * the label shift, the labelled and test sets take their class counts from
 * tls_data_label_counts (the same shuffled orders: stratified resampling).
 * quota (classes), idx (max(source rows, target rows)), chosen (target rows),
 * pick (n_target): scratch. */
static void sample_files(tls_data_sets *s, const tls_engine_params *p, const tls_point *pt,
                         double theta, int *quota, int *idx, int *chosen, int *pick) {
    const tls_points *S = p->source_data, *T = p->target_data;
    int C = p->classes, nl = pt->n_target;
    tls_rng rng;
    memset(chosen, 0, sizeof(int) * (size_t)T->n);
    for (int i = 0; i < S->n; i++) idx[i] = i;
    if (p->n_source < S->n) {
        tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_SOURCE, 0);
        tls_rng_shuffle(&rng, idx, S->n);
    }
    take_rows(s->xs, s->ys, S, idx, p->n_source, p, 0.0);
    /* labelled: class by class, the first c_k of each class in a shuffled order */
    tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_TARGET_TRAIN, (uint64_t)nl);
    for (int i = 0; i < T->n; i++) idx[i] = i;
    tls_rng_shuffle(&rng, idx, T->n);
    int label = p->shift_kind == TLS_SHIFT_LABEL;
    if (label) tls_data_label_counts(quota, nl, C, pt->shift, 1);
    int got = 0;
    for (int k = 0; k < C; k++) {
        int want = label ? quota[k] : nl / C + (k < nl % C), have = 0;
        for (int i = 0; i < T->n && have < want; i++)
            if (T->y[idx[i]] == k && !chosen[idx[i]]) {
                chosen[idx[i]] = 1;
                pick[got++] = idx[i];
                have++;
            }
    }
    take_rows(s->xl, s->yl, T, pick, got, p, theta);
    /* test: the rest, in a shuffled order of its own */
    int rest = 0;
    for (int i = 0; i < T->n; i++)
        if (!chosen[i]) idx[rest++] = i;
    tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_TARGET_TEST, (uint64_t)nl);
    tls_rng_shuffle(&rng, idx, rest);
    if (label) { /* the first rows of each class in that order, up to its count, order kept */
        tls_data_label_counts(quota, p->n_test, C, pt->shift, 0);
        int q = 0;
        for (int i = 0; i < rest && q < p->n_test; i++)
            if (quota[T->y[idx[i]]] > 0) quota[T->y[idx[i]]]--, idx[q++] = idx[i];
    }
    take_rows(s->xt, s->yt, T, idx, p->n_test, p, theta);
}

/* The translation shift: every point moved by dist along (1, -1)/sqrt(2). */
static void translate(float *X, int n, int D, double dist) {
    double d0 = dist * M_SQRT1_2;
    for (int i = 0; i < n; i++) {
        float *row = X + (size_t)i * D;
        row[0] = (float)(row[0] + d0);
        row[1] = (float)(row[1] - d0);
    }
}

/* Draws the synthetic source, test and labelled target sets, the target
 * shifted as data.shift_kind says (rotation by theta, set by the caller).
 * counts (classes): scratch. */
static void sample_synthetic(tls_data_sets *s, const tls_engine_params *p, const tls_point *pt,
                             double theta, int *counts) {
    int D = p->dim, C = p->classes, ns = p->n_source, nt = p->n_test, nl = pt->n_target;
    int kind = p->shift_kind;
    tls_rng rng;
    tls_domain src = {p->source_mean, p->source_std, 0.0};
    tls_domain tgt = {p->target_mean, p->target_std, theta};
    if (kind == TLS_SHIFT_SCALE) tgt.std = p->target_std * pt->shift;
    tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_SOURCE, 0);
    tls_data_sample(s->xs, s->ys, ns, D, C, &src, &rng);
    tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_TARGET_TEST, 0);
    if (kind == TLS_SHIFT_LABEL) {
        tls_data_label_counts(counts, nt, C, pt->shift, 0);
        tls_data_sample_counts(s->xt, s->yt, counts, D, C, &tgt, &rng);
    } else {
        tls_data_sample(s->xt, s->yt, nt, D, C, &tgt, &rng);
    }
    tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_TARGET_TRAIN, (uint64_t)nl);
    if (kind == TLS_SHIFT_LABEL) {
        tls_data_label_counts(counts, nl, C, pt->shift, 1);
        tls_data_sample_counts(s->xl, s->yl, counts, D, C, &tgt, &rng);
    } else {
        tls_data_sample(s->xl, s->yl, nl, D, C, &tgt, &rng);
    }
    if (kind == TLS_SHIFT_TRANSLATION) {
        translate(s->xt, nt, D, pt->shift * p->source_std);
        translate(s->xl, nl, D, pt->shift * p->source_std);
    }
}

/* The conditional shift: the labels of round(share * n) points of y, the
 * first of a random order from rng, become (y + 1) mod C (idx: n ints). */
static void swap_labels(int *y, int n, int C, double share, tls_rng *rng, int *idx) {
    int k = (int)floor(share * n + 0.5);
    for (int i = 0; i < n; i++) idx[i] = i;
    tls_rng_shuffle(rng, idx, n);
    for (int i = 0; i < k && i < n; i++) y[idx[i]] = (y[idx[i]] + 1) % C;
}

static void standardize(float *X, int n, const tls_engine_params *p) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < p->dim; j++) {
            float *v = X + (size_t)i * p->dim + j;
            *v = (*v - p->std_mean[j]) / p->std_scale[j];
        }
}

static int imax(int a, int b) {
    return a > b ? a : b;
}

/* The row orders' length: every set's size and, with files, both files' rows. */
static int order_ints(const tls_engine_params *p, const tls_point *pt) {
    int big = imax(p->n_test, pt->n_target);
    if (p->source_data) big = imax(big, imax(p->source_data->n, p->target_data->n));
    return big;
}

size_t tls_data_draw_ints(const tls_engine_params *p, const tls_point *pt) {
    size_t files = p->source_data ? (size_t)p->target_data->n + (size_t)pt->n_target : 0;
    return (size_t)p->classes + (size_t)order_ints(p, pt) + files;
}

void tls_data_draw(tls_data_sets *s, const tls_engine_params *p, const tls_point *pt, int *work) {
    int C = p->classes, nt = p->n_test, nl = pt->n_target;
    int *counts = work;                    /* (classes) class counts, quotas */
    int *idx = counts + C;                 /* (order_ints) row orders */
    int *chosen = idx + order_ints(p, pt); /* (target rows) 1: labelled, with files */
    int *pick = chosen + (p->source_data ? p->target_data->n : 0); /* (n_target) their rows */
    double theta = p->shift_kind == TLS_SHIFT_ROTATION ? pt->shift * M_PI / 180.0 : 0.0;
    if (p->source_data)
        sample_files(s, p, pt, theta, counts, idx, chosen, pick);
    else
        sample_synthetic(s, p, pt, theta, counts);
    if (p->shift_kind == TLS_SHIFT_CONDITIONAL) {
        tls_rng rng;
        tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_LABEL_SWAP, 0);
        swap_labels(s->yt, nt, C, pt->shift, &rng, idx);
        tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_LABEL_SWAP, (uint64_t)nl);
        swap_labels(s->yl, nl, C, pt->shift, &rng, idx);
    }
    if (p->std_mean) {
        standardize(s->xs, p->n_source, p);
        standardize(s->xt, nt, p);
        standardize(s->xl, nl, p);
    }
}
