/* Benchmark (not a test): time per training step of the parts of the MMD
 * method at the article's shapes, one core: MMD^2 with both gradients
 * (batch 32 x target 200 features of 16) in each kernel copy, the target
 * set's forward and backward passes (200 points, 2 -> 32 -> 16), Adam.
 * A configuration takes 3 200 such steps.
 *
 *   build/tests/bench_kernels [steps]
 */
#include "tlsweep/mmd.h"
#include "tlsweep/model.h"
#include "tlsweep/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *filled(int n, float offset, tls_rng *rng) {
    float *p = malloc(sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++) p[i] = (float)tls_rng_uniform(rng) + offset;
    return p;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 3200;
    enum { NB = 32, NT = 200, D = 2, H = 32, F = 16, C = 2 };
    tls_rng rng;
    tls_rng_init(&rng, 1, TLS_STREAM_INIT, 0);
    float *x = filled(NB * F, 0.0f, &rng), *y = filled(NT * F, 0.2f, &rng);
    float *dx = calloc(NB * F, sizeof(float)), *dy = calloc(NT * F, sizeof(float));
    float *work = malloc(sizeof(float) * tls_mmd_work_floats(NB, NT, F));
    printf("per training step, %d steps, one core\n", steps);
    const char *copies[] = {"avx2", "generic"};
    double sink = 0.0;
    for (int c = 0; c < 2; c++) {
        if (tls_mmd_select(copies[c]) != 0) continue;
        int n = c ? steps / 50 + 1 : steps; /* the generic copy is slow */
        double t = now();
        for (int s = 0; s < n; s++)
            sink += tls_mmd2_forward_backward(dx, dy, 0.5f, x, y, NB, NT, F, 1.0f, work);
        printf("  MMD^2 + both gradients (%2dx%3d, d=%d), %-7s copy %8.1f us\n", NB, NT, F,
               copies[c], 1e6 * (now() - t) / n);
    }
    tls_mmd_select("auto");
    tls_model *m;
    tls_acts *a;
    if (tls_model_create(&m, D, H, F, C, 0) || tls_acts_create(&a, m, NT)) return 1;
    tls_model_init(m, &rng);
    float *xt = filled(NT * D, -0.5f, &rng);
    double t = now();
    for (int s = 0; s < steps; s++) tls_model_features_forward(a, m, xt, NT);
    printf("  target set forward (%d points, %d->%d->%d)         %8.1f us\n", NT, D, H, F,
           1e6 * (now() - t) / steps);
    t = now();
    for (int s = 0; s < steps; s++) {
        memcpy(a->dfeat, y, sizeof(float) * NT * F);
        tls_model_features_backward(m, a, xt, NT);
    }
    printf("  target set backward                                  %8.1f us\n",
           1e6 * (now() - t) / steps);
    tls_adam opt = {1e-3f, 0.9f, 0.999f, 1e-8f};
    t = now();
    for (int s = 0; s < steps; s++) tls_model_adam_step(m, &opt);
    printf("  Adam (%zu parameters)                               %8.1f us\n", m->nparams,
           1e6 * (now() - t) / steps);
    printf("  (checksum of the MMD values: %g)\n", sink);
    tls_acts_destroy(&a);
    tls_model_destroy(&m);
    free(x), free(y), free(dx), free(dy), free(work), free(xt);
    return 0;
}
