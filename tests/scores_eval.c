/* Test driver: evaluates one selection score of include/tlsweep/scores.h on
 * arrays read from stdin (whitespace-separated numbers) and prints the result
 * (%.17g), for tests/test_scores.py to compare with scikit-learn and NumPy.
 *
 *   scores_eval entropy   : n C, probs (n*C)                  -> the score
 *   scores_eval snd       : n C tau, probs (n*C)              -> the score
 *   scores_eval logreg    : n0 n1 d quad C, x0 (n0*d), x1 (n1*d), m, x (m*d)
 *                           -> coef ((1+quad)d+1), the weights of the m rows (ratio n0/n1),
 *                              the Newton steps
 *   scores_eval iwcv|dev  : n, w (n), wrong (n)               -> the score
 *   scores_eval accuracy  : n, pred (n), y (n)                -> the score */
#include "tlsweep/scores.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double next(void) {
    double v;
    if (scanf("%lf", &v) != 1) {
        fprintf(stderr, "scores_eval: input ended early\n");
        exit(2);
    }
    return v;
}

static float *floats(size_t n) {
    float *a = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) a[i] = (float)next();
    return a;
}

static double *doubles(size_t n) {
    double *a = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) a[i] = next();
    return a;
}

static int *ints(size_t n) {
    int *a = malloc(sizeof(int) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) a[i] = (int)next();
    return a;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: scores_eval entropy|snd|logreg|iwcv|dev|accuracy < input\n");
        return 2;
    }
    const char *kind = argv[1];
    if (!strcmp(kind, "entropy") || !strcmp(kind, "snd")) {
        int n = (int)next(), C = (int)next();
        double tau = !strcmp(kind, "snd") ? next() : 0.0;
        float *p = floats((size_t)n * C);
        if (!strcmp(kind, "entropy")) {
            printf("%.17g\n", tls_score_entropy(p, n, C));
        } else {
            double *work = malloc(sizeof(double) * tls_snd_work_doubles(n, C));
            printf("%.17g\n", tls_score_snd(p, n, C, tau, work));
            free(work);
        }
        free(p);
    } else if (!strcmp(kind, "logreg")) {
        int n0 = (int)next(), n1 = (int)next(), d = (int)next(), quad = (int)next();
        double C = next();
        float *x0 = floats((size_t)n0 * d), *x1 = floats((size_t)n1 * d);
        int m = (int)next();
        float *x = floats((size_t)m * d);
        int p = (1 + quad) * d + 1;
        double *coef = malloc(sizeof(double) * (size_t)p);
        double *work = malloc(sizeof(double) * tls_logreg_work_doubles(n0 + n1, d, quad));
        double *w = malloc(sizeof(double) * (size_t)(m ? m : 1));
        int it = tls_logreg_fit(coef, x0, n0, x1, n1, d, quad, C, work);
        if (it < 0) {
            fprintf(stderr, "scores_eval: the fit diverged\n");
            return 1;
        }
        tls_importance_weights(w, coef, x, m, d, quad, (double)n0 / n1);
        for (int j = 0; j < p; j++) printf("%s%.17g", j ? " " : "", coef[j]);
        printf("\n");
        for (int i = 0; i < m; i++) printf("%s%.17g", i ? " " : "", w[i]);
        printf("\n%d\n", it);
        free(x0), free(x1), free(x), free(coef), free(work), free(w);
    } else if (!strcmp(kind, "iwcv") || !strcmp(kind, "dev")) {
        int n = (int)next();
        double *w = doubles((size_t)n);
        int *wrong = ints((size_t)n);
        printf("%.17g\n",
               !strcmp(kind, "iwcv") ? tls_score_iwcv(w, wrong, n) : tls_score_dev(w, wrong, n));
        free(w), free(wrong);
    } else if (!strcmp(kind, "accuracy")) {
        int n = (int)next();
        int *pred = ints((size_t)n), *y = ints((size_t)n);
        printf("%.17g\n", tls_score_accuracy(pred, y, n));
        free(pred), free(y);
    } else {
        fprintf(stderr, "scores_eval: unknown score '%s'\n", kind);
        return 2;
    }
    return 0;
}
