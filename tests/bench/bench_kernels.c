/* Benchmark (not a test): time per training step of the parts of the MMD
 * method at the article's shapes, one core: MMD^2 with both gradients
 * (batch 32 x target 200 features of 16) in each kernel copy, the target
 * set's forward and backward passes (200 points, 2 -> 32 -> 16), Adam.
 * A configuration takes 3 200 such steps.
 *
 * Then the remedies' losses alone at the same shapes (multi-kernel MMD,
 * the median heuristic, CORAL, the DANN discriminator), and whole training
 * steps through the engine itself: the wall time of the network method
 * (seconds_mmd, seconds_target_mlp) at two numbers of epochs, the fastest
 * of `reps` runs of each, the difference divided by the steps it adds, so
 * that set-up and predictions cancel out. Each
 * alignment loss's source step and each fine-tuning strategy's step is
 * printed with its ratio to the article's fused-MMD source step.
 *
 *   build/tests/bench_kernels [steps] [reps]
 */
#include "tlsweep/align.h"
#include "tlsweep/engine.h"
#include "tlsweep/mmd.h"
#include "tlsweep/model.h"
#include "tlsweep/nn.h"
#include "tlsweep/rng.h"

#include <stddef.h>
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

/* The wall time of `method` in one run of a configuration (its training and
 * predictions; not the SVMs or the distances), s. */
static double method_seconds(tls_result *r, const tls_engine_params *p, const tls_point *pt,
                             int method) {
    if (tls_engine_run(r, p, pt) || r->s.status != TLS_STATUS_DONE) {
        fprintf(stderr, "bench_kernels: configuration failed: %s\n", r->s.reason);
        exit(1);
    }
    return r->s.seconds[method];
}

/* One measured kind of step: the parameters, the epoch field that adds
 * steps (at e1 and e2 epochs), the steps per epoch, the method timed. */
typedef struct {
    const char *what;
    tls_engine_params p;
    size_t off;
    int e1, e2, steps_per_epoch, method;
    double best1, best2;
} step_case;

static void bench_steps(int rounds) {
    tls_point pt = {45.0, 0.5, 50, 42};
    tls_engine_params base = tls_engine_defaults();
    base.target_epochs = 0;
    int nb = (base.n_source + base.batch_size - 1) / base.batch_size;
    static const struct {
        const char *name;
        int align, bandwidth, estimator, ngammas, target_batch;
    } src[] = {
        {"source step, align.loss mmd (article: fused kernel)", TLS_ALIGN_MMD, 0, 0, 0, -1},
        {"source step, align.loss coral", TLS_ALIGN_CORAL, 0, 0, 0, -1},
        {"source step, align.loss dann", TLS_ALIGN_DANN, 0, 0, 0, -1},
        {"source step, align.loss none", TLS_ALIGN_NONE, 0, 0, 0, -1},
        {"source step, mmd with 5 gammas (multi-kernel)", TLS_ALIGN_MMD, 0, 0, 5, -1},
        {"source step, mmd unbiased", TLS_ALIGN_MMD, 0, 1, 0, -1},
        {"source step, mmd median bandwidth", TLS_ALIGN_MMD, 1, 0, 0, -1},
        {"source step, mmd with target_batch 64", TLS_ALIGN_MMD, 0, 0, 0, 64},
    };
    enum { NSRC = sizeof(src) / sizeof(src[0]), NCASES = NSRC + 4 };
    step_case c[NCASES];
    for (int k = 0; k < NSRC; k++) {
        tls_engine_params p = base;
        p.finetune_epochs = 0;
        p.align_loss = src[k].align;
        p.mmd_bandwidth = src[k].bandwidth;
        p.mmd_estimator = src[k].estimator;
        p.align_target_batch = src[k].target_batch;
        p.mmd_gammas.n = src[k].ngammas;
        for (int q = 0; q < src[k].ngammas; q++) p.mmd_gammas.v[q] = 0.25 * (1 << q);
        c[k] = (step_case){
            src[k].name, p,   offsetof(tls_engine_params, epochs), 2, 22, nb, TLS_METHOD_MMD,
            1e30,        1e30};
    }
    static const char *const ft_names[] = {"fine-tuning step, strategy all (article)",
                                           "fine-tuning step, strategy classifier",
                                           "fine-tuning step, strategy l2sp"};
    for (int k = 0; k < 3; k++) {
        tls_engine_params p = base;
        p.epochs = 1;
        p.finetune_strategy = k; /* TLS_FINETUNE_ALL, CLASSIFIER, L2SP */
        c[NSRC + k] = (step_case){ft_names[k],
                                  p,
                                  offsetof(tls_engine_params, finetune_epochs),
                                  0,
                                  2000,
                                  1,
                                  TLS_METHOD_MMD,
                                  1e30,
                                  1e30};
    }
    tls_engine_params p = base;
    p.epochs = 1;
    p.finetune_epochs = 0;
    c[NSRC + 3] = (step_case){"target-only MLP step (baselines.target_epochs)",
                              p,
                              offsetof(tls_engine_params, target_epochs),
                              0,
                              2000,
                              1,
                              TLS_METHOD_TARGET_MLP,
                              1e30,
                              1e30};
    tls_result *r;
    if (tls_result_create(&r, &base)) exit(1);
    /* rounds over all cases, the fastest of each kept: a load that comes and
     * goes falls on every case alike */
    for (int round = 0; round < rounds; round++)
        for (int k = 0; k < NCASES; k++) {
            tls_engine_params q = c[k].p;
            *(int *)((char *)&q + c[k].off) = c[k].e1;
            double t1 = method_seconds(r, &q, &pt, c[k].method);
            *(int *)((char *)&q + c[k].off) = c[k].e2;
            double t2 = method_seconds(r, &q, &pt, c[k].method);
            if (t1 < c[k].best1) c[k].best1 = t1;
            if (t2 < c[k].best2) c[k].best2 = t2;
        }
    tls_result_destroy(&r);
    printf("whole training steps through the engine (45 deg, lambda 0.5, n_target 50): the "
           "method's time at two numbers of epochs, fastest of %d rounds:\n",
           rounds);
    double ref = 0.0;
    for (int k = 0; k < NCASES; k++) {
        double t = (c[k].best2 - c[k].best1) / ((double)c[k].steps_per_epoch * (c[k].e2 - c[k].e1));
        if (k == 0) ref = t;
        printf("  %-52s %8.1f us  %.3fx the mmd step\n", c[k].what, 1e6 * t, t / ref);
    }
}

/* The remedies' losses alone, at the article's shapes. */
static void bench_losses(int steps, tls_rng *rng) {
    enum { NB = 32, NT = 200, F = 16, HD = 32 };
    float *x = filled(NB * F, 0.0f, rng), *y = filled(NT * F, 0.2f, rng);
    float *dx = calloc(NB * F, sizeof(float)), *dy = calloc(NT * F, sizeof(float));
    float *work = malloc(sizeof(float) * tls_mmd_work_floats(NB, NT, F));
    float g5[5] = {0.25f, 0.5f, 1.0f, 2.0f, 4.0f};
    double sink = 0.0;
    printf("the remedies' losses alone (%dx%d, d=%d), per step:\n", NB, NT, F);
    for (int ng = 1; ng <= 5; ng += 4) {
        double t = now();
        for (int s = 0; s < steps; s++)
            sink += tls_mmd2_multi_forward_backward(dx, dy, 0.5f, x, y, NB, NT, F,
                                                    g5 + (ng == 1 ? 2 : 0), ng, 0, work);
        printf("  MMD^2 + both gradients, %d kernel%s                    %8.1f us\n", ng,
               ng > 1 ? "s" : " ", 1e6 * (now() - t) / steps);
    }
    float *mw = malloc(sizeof(float) * tls_median_work_floats(NB, NT, F));
    double t = now();
    for (int s = 0; s < steps; s++) sink += tls_median_sqdist(x, NB, y, NT, F, mw);
    printf("  median of the pooled squared distances                 %8.1f us\n",
           1e6 * (now() - t) / steps);
    float *cw = malloc(sizeof(float) * tls_coral_work_floats(NB, NT, F));
    t = now();
    for (int s = 0; s < steps; s++)
        sink += tls_coral_forward_backward(dx, dy, 0.5f, x, y, NB, NT, F, cw);
    printf("  CORAL + both gradients                                 %8.1f us\n",
           1e6 * (now() - t) / steps);
    tls_model *m;
    if (tls_model_create(&m, 2, 32, F, 2, HD)) exit(1);
    tls_model_init(m, rng);
    float *pool = malloc(sizeof(float) * (NB + NT) * F), *dpool = calloc((NB + NT) * F, 4);
    float *h = malloc(sizeof(float) * (NB + NT) * HD), *dh = malloc(sizeof(float) * (NB + NT) * HD);
    float *lg = malloc(sizeof(float) * (NB + NT)), *dlg = malloc(sizeof(float) * (NB + NT));
    float *pr = malloc(sizeof(float) * (NB + NT));
    int *lab = malloc(sizeof(int) * (NB + NT));
    memcpy(pool, x, sizeof(float) * NB * F);
    memcpy(pool + NB * F, y, sizeof(float) * NT * F);
    for (int i = 0; i < NB + NT; i++) lab[i] = i >= NB;
    t = now();
    for (int s = 0; s < steps; s++) {
        tls_model_disc_forward(h, lg, m, pool, NB + NT);
        sink += tls_bce_forward(pr, lg, lab, NB + NT);
        memset(dlg, 0, sizeof(float) * (NB + NT));
        tls_bce_backward(dlg, pr, lab, 0.5f, NB + NT);
        tls_model_disc_backward(m, dpool, 1, dh, dlg, h, pool, NB + NT);
    }
    printf("  DANN discriminator (%d->%d->1) + BCE + reversed gradient %6.1f us\n", F, HD,
           1e6 * (now() - t) / steps);
    printf("  (checksum: %g)\n", sink);
    tls_model_destroy(&m);
    free(x), free(y), free(dx), free(dy), free(work), free(mw), free(cw), free(pool), free(dpool);
    free(h), free(dh), free(lg), free(dlg), free(pr), free(lab);
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 3200;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    enum { NB = 32, NT = 200, D = 2, H = 32, F = 16, C = 2 };
    tls_rng rng;
    tls_rng_init(&rng, 1, TLS_STREAM_INIT, 0);
    float *x = filled(NB * F, 0.0f, &rng), *y = filled(NT * F, 0.2f, &rng);
    float *dx = calloc(NB * F, sizeof(float)), *dy = calloc(NT * F, sizeof(float));
    float *work = malloc(sizeof(float) * tls_mmd_work_floats(NB, NT, F));
    printf("per training step, %d steps, one core\n", steps);
    const char *copies[] = {"avx512", "avx2", "generic"};
    double sink = 0.0;
    for (int c = 0; c < 3; c++) {
        if (tls_mmd_select(copies[c]) != 0) continue;
        int n = c == 2 ? steps / 50 + 1 : steps; /* the generic copy is slow */
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
    bench_losses(steps, &rng);
    bench_steps(reps);
    return 0;
}
