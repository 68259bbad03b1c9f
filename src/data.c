#include "tlsweep/data.h"

#include <math.h>
#include <stddef.h>

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
