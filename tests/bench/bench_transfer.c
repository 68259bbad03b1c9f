/* Benchmark (not a test): the time of each transferability score
 * (include/tlsweep/transfer.h) per configuration, side by side with the time
 * of a configuration itself, one core.
 *
 * The scores' inputs imitate the engine's: the article's target points
 * (classes in the plane, rotated 45 degrees; 2 or 10 classes) through a
 * randomly initialised feature extractor 2 -> 32 -> 16 with ReLUs (so the
 * features lie on a 2-D sheet, as the trained network's do), and the softmax
 * of a random classifier on them. Each score is run `reps` times per setting;
 * the fastest run is printed, in microseconds. Settings: n = 10 and 50
 * labelled points with 2 classes (the default grid's n_target; 50 is
 * `tlsweep one`'s), 200 with 10 classes (a data file's), 2000 with 10
 * classes (the k-NN subsampled to its default 1000 points).
 *
 * A configuration: tls_engine_run at the article's settings and `tlsweep
 * one`'s point (shift 45, lambda 0.5, n_target 50, seed 42), the fastest of
 * 3 runs; and, given the path of the tlsweep binary, the wall time of
 * `tlsweep one` itself (process start-up included), the fastest of 3.
 *
 *   build/tests/bench_transfer [reps] [path/to/tlsweep]
 */
#include "tlsweep/data.h"
#include "tlsweep/engine.h"
#include "tlsweep/rng.h"
#include "tlsweep/transfer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *alloc(size_t bytes) {
    void *a = malloc(bytes ? bytes : 1);
    if (!a) {
        fprintf(stderr, "bench_transfer: out of memory\n");
        exit(1);
    }
    return a;
}

/* out (n, dout) = relu(in (n, din) W^T) with W (dout, din) ~ N(0, 2/din) */
static void random_layer(float *out, const float *in, int n, int din, int dout, int relu,
                         tls_rng *rng) {
    float *W = alloc(sizeof(float) * (size_t)din * dout);
    for (int i = 0; i < din * dout; i++) W[i] = (float)(tls_rng_normal(rng) * sqrt(2.0 / din));
    for (int i = 0; i < n; i++)
        for (int o = 0; o < dout; o++) {
            double s = 0.0;
            for (int j = 0; j < din; j++) s += (double)in[(size_t)i * din + j] * W[o * din + j];
            out[(size_t)i * dout + o] = (float)(relu && s < 0.0 ? 0.0 : s);
        }
    free(W);
}

typedef struct {
    int n, C;
    const char *what;
} setting;

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 50;
    const char *bin = argc > 2 ? argv[2] : NULL;
    if (reps < 1) reps = 1;
    const setting settings[] = {{10, 2, "n=10 C=2"},
                                {50, 2, "n=50 C=2 *"},
                                {200, 10, "n=200 C=10"},
                                {2000, 10, "n=2000 C=10"}};
    enum { NSET = 4, F = 16, H = 32 };
    double t[TLS_TS_NSCORES][NSET];
    tls_ts_params par = tls_ts_defaults();
    for (int s = 0; s < NSET; s++) {
        int n = settings[s].n, C = settings[s].C;
        tls_rng rng;
        tls_rng_init(&rng, 7, TLS_STREAM_TARGET_TRAIN, (uint64_t)n);
        float *X = alloc(sizeof(float) * (size_t)n * 2), *h = alloc(sizeof(float) * (size_t)n * H);
        float *f = alloc(sizeof(float) * (size_t)n * F), *p = alloc(sizeof(float) * (size_t)n * C);
        int *y = alloc(sizeof(int) * (size_t)n);
        tls_domain dom = {.mean_scale = 1.0, .std = 0.6, .theta = M_PI / 4};
        tls_data_sample(X, y, n, 2, C, &dom, &rng);
        random_layer(h, X, n, 2, H, 1, &rng);
        random_layer(f, h, n, H, F, 1, &rng);
        random_layer(p, f, n, F, C, 0, &rng);
        for (int i = 0; i < n; i++) { /* softmax */
            float *r = p + (size_t)i * C, top = r[0];
            for (int c = 1; c < C; c++) top = r[c] > top ? r[c] : top;
            double z = 0.0;
            for (int c = 0; c < C; c++) z += exp(r[c] - top);
            for (int c = 0; c < C; c++) r[c] = (float)(exp(r[c] - top) / z);
        }
        double *work = alloc(sizeof(double) * tls_ts_work_doubles(n, F, C));
        float *ce = alloc(sizeof(float) * 50);
        for (int e = 0; e < 50; e++) ce[e] = (float)(0.7 * exp(-0.05 * e));
        for (int k = 0; k < TLS_TS_NSCORES; k++) t[k][s] = INFINITY;
        for (int r = 0; r < reps; r++)
            for (int k = 0; k < TLS_TS_NSCORES; k++) {
                int why;
                tls_rng knn_rng;
                tls_rng_init(&knn_rng, 7, (tls_stream)100, 0);
                double t0 = now(), v = 0.0;
                switch (k) {
                case TLS_TS_LEEP:
                    v = tls_ts_leep(p, y, n, C, work, &why);
                    break;
                case TLS_TS_NLEEP:
                    v = tls_ts_nleep(f, y, n, F, C, work, &why);
                    break;
                case TLS_TS_LOGME:
                    v = tls_ts_logme(f, y, n, F, C, work, &why);
                    break;
                case TLS_TS_HSCORE:
                    v = tls_ts_hscore(f, y, n, F, C, work, &why);
                    break;
                case TLS_TS_HSCORE_SHRINK:
                    v = tls_ts_hscore_shrink(f, y, n, F, C, work, &why);
                    break;
                case TLS_TS_NCE:
                    v = tls_ts_nce(p, y, n, C, work, &why);
                    break;
                case TLS_TS_GBC:
                    v = tls_ts_gbc(f, y, n, F, C, work, &why);
                    break;
                case TLS_TS_TRANSRATE:
                    v = tls_ts_transrate(f, y, n, F, C, work, &why);
                    break;
                case TLS_TS_KNN:
                    v = tls_ts_knn(f, y, n, F, C, par.knn_k, par.knn_max_points, &knn_rng, work,
                                   &why, NULL);
                    break;
                case TLS_TS_FT_LOSS_RISE:
                    v = tls_ts_ft_loss_rise(ce, 50, &why);
                    break;
                default:
                    v = tls_ts_ft_loss_rebound(ce, 50, &why);
                    break;
                }
                double dt = now() - t0;
                if (why != TLS_TS_OK) {
                    fprintf(stderr, "bench_transfer: %s at %s: %s\n", tls_ts_table[k].name,
                            settings[s].what, tls_ts_reason_names[why]);
                    return 1;
                }
                if (dt < t[k][s]) t[k][s] = dt;
                (void)v;
            }
        free(X), free(h), free(f), free(p), free(y), free(work), free(ce);
    }

    /* a configuration */
    tls_engine_params ep = tls_engine_defaults();
    tls_point pt = {.shift = 45, .lambda = 0.5, .n_target = 50, .seed = 42};
    tls_result *res;
    if (tls_result_create(&res, &ep)) return 1;
    double config = INFINITY;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        if (tls_engine_run(res, &ep, &pt)) return 1;
        config = fmin(config, now() - t0);
    }
    tls_result_destroy(&res);
    double one = NAN;
    if (bin) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "'%s' one > /dev/null", bin);
        one = INFINITY;
        for (int r = 0; r < 3; r++) {
            double t0 = now();
            if (system(cmd) != 0) {
                fprintf(stderr, "bench_transfer: '%s' failed\n", cmd);
                return 1;
            }
            one = fmin(one, now() - t0);
        }
    }

    printf("transferability scores, fastest of %d runs, microseconds (F = %d features)\n", reps, F);
    printf("%-16s", "score");
    for (int s = 0; s < NSET; s++) printf(" %13s", settings[s].what);
    printf("\n");
    double total[NSET] = {0};
    for (int k = 0; k < TLS_TS_NSCORES; k++) {
        printf("%-16s", tls_ts_table[k].name);
        for (int s = 0; s < NSET; s++) {
            printf(" %13.1f", 1e6 * t[k][s]);
            total[s] += t[k][s];
        }
        printf("\n");
    }
    printf("%-16s", "all");
    for (int s = 0; s < NSET; s++) printf(" %13.1f", 1e6 * total[s]);
    printf("\n\n* the article's setting (tlsweep one: n_target 50, 2 classes)\n");
    printf("a configuration (tls_engine_run, article's settings): %8.1f ms\n", 1e3 * config);
    if (bin) printf("tlsweep one (whole process, wall):                   %8.1f ms\n", 1e3 * one);
    printf("all scores / configuration:                          %8.2f %%\n",
           100.0 * total[1] / config);
    return 0;
}
