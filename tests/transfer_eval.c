/* Test driver: evaluates the transferability scores of include/tlsweep/transfer.h
 * on arrays read from stdin (whitespace-separated numbers) and prints them,
 * for tests/test_transferability.py to compare with NumPy and scikit-learn.
 *
 *   transfer_eval scores : n F C k max_points seed, f (n*F), p (n*C), y (n)
 *       -> one line per score before fine-tuning, in enum order:
 *          "<name> <value %.17g> <reason name>"; then "subset" and the 0/1
 *          flags of the points the k-NN used (its stream: seed, sub-key 0)
 *   transfer_eval curve  : E, ce (E)
 *       -> "ft_loss_rise <value> <reason>" and "ft_loss_rebound <value> <reason>"
 *   transfer_eval time   : reps, then the input of scores
 *       -> "seconds <median> <fastest> <slowest>": every score as the engine
 *          computes them (tls_ts_compute, its stream set again each time, and
 *          the two curve scores on a curve of 50 epochs), reps runs timed one
 *          by one (tests/bench/transferability_cost.py)
 *
 * The workspace is exactly tls_ts_work_doubles(n, F, C) doubles followed by
 * guard doubles; a score that writes past its workspace makes the driver
 * exit 3. */
#include "tlsweep/transfer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GUARD       64
#define GUARD_VALUE 12345.678

static double next(void) {
    double v;
    if (scanf("%lf", &v) != 1) {
        fprintf(stderr, "transfer_eval: input ended early\n");
        exit(2);
    }
    return v;
}

static void *alloc(size_t bytes) {
    void *a = malloc(bytes ? bytes : 1);
    if (!a) {
        fprintf(stderr, "transfer_eval: out of memory\n");
        exit(2);
    }
    return a;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print(int score, double v, int reason) {
    printf("%s %.17g %s\n", tls_ts_table[score].name, v, tls_ts_reason_names[reason]);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: transfer_eval scores|curve < input\n");
        return 2;
    }
    if (!strcmp(argv[1], "curve")) {
        int E = (int)next(), why;
        float *ce = alloc(sizeof(float) * (size_t)(E > 0 ? E : 0));
        for (int e = 0; e < E; e++) ce[e] = (float)next();
        double rise = tls_ts_ft_loss_rise(ce, E, &why);
        print(TLS_TS_FT_LOSS_RISE, rise, why);
        double rebound = tls_ts_ft_loss_rebound(ce, E, &why);
        print(TLS_TS_FT_LOSS_REBOUND, rebound, why);
        free(ce);
        return 0;
    }
    int timing = !strcmp(argv[1], "time");
    if (strcmp(argv[1], "scores") && !timing) {
        fprintf(stderr, "transfer_eval: unknown command '%s'\n", argv[1]);
        return 2;
    }
    int reps = timing ? (int)next() : 0;
    int n = (int)next(), F = (int)next(), C = (int)next();
    tls_ts_params par = {.knn_k = (int)next(), .knn_max_points = (int)next()};
    unsigned long long seed = (unsigned long long)next();
    float *f = alloc(sizeof(float) * (size_t)n * F), *p = alloc(sizeof(float) * (size_t)n * C);
    int *y = alloc(sizeof(int) * (size_t)n);
    for (size_t i = 0; i < (size_t)n * F; i++) f[i] = (float)next();
    for (size_t i = 0; i < (size_t)n * C; i++) p[i] = (float)next();
    for (int i = 0; i < n; i++) y[i] = (int)next();
    size_t nw = tls_ts_work_doubles(n, F, C);
    double *work = alloc(sizeof(double) * (nw + GUARD));
    for (size_t i = 0; i < nw + GUARD; i++) work[i] = GUARD_VALUE;
    double value[TLS_TS_NSCORES];
    int reason[TLS_TS_NSCORES];
    if (timing) {
        enum { E = 50 };
        float ce[E];
        for (int e = 0; e < E; e++) ce[e] = (float)(0.7 * exp(-0.1 * e));
        double *t = alloc(sizeof(double) * (size_t)(reps > 0 ? reps : 1));
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            tls_rng rng;
            tls_rng_init(&rng, seed, (tls_stream)100, 0);
            tls_ts_compute(value, reason, f, p, y, n, F, C, &par, &rng, work);
            value[TLS_TS_FT_LOSS_RISE] = tls_ts_ft_loss_rise(ce, E, &reason[TLS_TS_FT_LOSS_RISE]);
            value[TLS_TS_FT_LOSS_REBOUND] =
                tls_ts_ft_loss_rebound(ce, E, &reason[TLS_TS_FT_LOSS_REBOUND]);
            t[r] = now() - t0;
        }
        qsort(t, (size_t)reps, sizeof(double), by_value);
        if (reps > 0) printf("seconds %.9g %.9g %.9g\n", t[reps / 2], t[0], t[reps - 1]);
        free(t), free(f), free(p), free(y), free(work);
        return reps > 0 ? 0 : 2;
    }
    /* the k-NN's stream: a purpose of its own, as the engine will give it */
    tls_rng rng, again;
    tls_rng_init(&rng, seed, (tls_stream)100, 0);
    again = rng;
    tls_ts_compute(value, reason, f, p, y, n, F, C, &par, &rng, work);
    for (int s = 0; s < TLS_TS_FT_LOSS_RISE; s++) print(s, value[s], reason[s]);
    unsigned char *subset = alloc((size_t)n);
    memset(subset, 0, (size_t)n);
    int why;
    double knn =
        tls_ts_knn(f, y, n, F, C, par.knn_k, par.knn_max_points, &again, work, &why, subset);
    if (!(knn == value[TLS_TS_KNN] || (knn != knn && value[TLS_TS_KNN] != value[TLS_TS_KNN]))) {
        fprintf(stderr, "transfer_eval: k-NN alone %.17g, in tls_ts_compute %.17g\n", knn,
                value[TLS_TS_KNN]);
        return 3;
    }
    printf("subset");
    for (int i = 0; i < n; i++) printf(" %d", subset[i]);
    printf("\n");
    for (size_t i = nw; i < nw + GUARD; i++)
        if (work[i] != GUARD_VALUE) {
            fprintf(stderr, "transfer_eval: the workspace of %zu doubles was overrun\n", nw);
            return 3;
        }
    free(f), free(p), free(y), free(work), free(subset);
    return 0;
}
