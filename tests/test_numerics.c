/* Numerical checks of the engine's building blocks against independent
 * references: central finite differences (in double, on the float code) for
 * every backward pass, a direct double loop for MMD^2, hand-computed Adam
 * steps, and the PyTorch initialisation bounds. Exits non-zero on any
 * failure. */
#include "tlsweep/mmd.h"
#include "tlsweep/model.h"
#include "tlsweep/nn.h"
#include "tlsweep/rng.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0, checks = 0;

static void expect_close(const char *what, double got, double want, double rtol, double atol) {
    checks++;
    if (!(fabs(got - want) <= atol + rtol * fabs(want))) {
        failures++;
        fprintf(stderr, "FAIL %s: got %.9g want %.9g\n", what, got, want);
    }
}

static float *randv(tls_rng *r, int n, double scale) {
    float *v = malloc(sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++) v[i] = (float)(tls_rng_normal(r) * scale);
    return v;
}

/* ---- a scalar loss through each layer, for finite differences ---------- */

/* L = sum(out * R) for a fixed random R: dL/dout = R. */
static double dot(const float *a, const float *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* One shape of a linear layer against finite differences, every step-th
 * entry of each gradient. */
static void check_linear(tls_rng *rng, int B, int DI, int DO, int step) {
    float *x = randv(rng, B * DI, 1), *W = randv(rng, DO * DI, 1), *b = randv(rng, DO, 1);
    float *R = randv(rng, B * DO, 1), *out = malloc(sizeof(float) * (size_t)B * DO);
    float *dx = calloc((size_t)B * DI, sizeof(float)), *dW = calloc((size_t)DO * DI, sizeof(float));
    float *db = calloc((size_t)DO, sizeof(float)), *db2 = malloc(sizeof(float) * (size_t)DO);
    tls_linear_backward(dx, dW, db, R, x, W, B, DI, DO);
    float *params[] = {x, W, b};
    float *grads[] = {dx, dW, db};
    int sizes[] = {B * DI, DO * DI, DO};
    const char *names[] = {"linear dinp", "linear dW", "linear db"};
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < sizes[t]; i += step) {
            float keep = params[t][i], h = 1e-2f;
            params[t][i] = keep + h;
            tls_linear_forward(out, x, W, b, B, DI, DO);
            double lp = dot(out, R, B * DO);
            params[t][i] = keep - h;
            tls_linear_forward(out, x, W, b, B, DI, DO);
            double lm = dot(out, R, B * DO);
            params[t][i] = keep;
            expect_close(names[t], grads[t][i], (lp - lm) / (2 * h), 2e-3, 2e-3);
        }
    /* gradients accumulate: a second backward doubles them */
    memcpy(db2, db, sizeof(float) * (size_t)DO);
    tls_linear_backward(NULL, dW, db, R, x, W, B, DI, DO);
    for (int o = 0; o < DO; o++) expect_close("linear accumulates", db[o], 2 * db2[o], 1e-6, 1e-6);
    free(x), free(W), free(b), free(R), free(out), free(dx), free(dW), free(db), free(db2);
}

static void test_linear(tls_rng *rng) {
    check_linear(rng, 5, 7, 4, 1);       /* scalar columns, narrow input, a partial row block */
    check_linear(rng, 13, 19, 24, 1);    /* 16- and 8-wide column strips, scalar tail of dinp */
    check_linear(rng, 9, 3, 37, 1);      /* narrow input, two 16-wide strips and a tail */
    check_linear(rng, 70, 67, 64, 1);    /* two transpose blocks of W along the input */
    check_linear(rng, 64, 130, 128, 97); /* 2^20 multiply-adds: OpenBLAS */
}

static void test_relu(tls_rng *rng) {
    enum { N = 40 };
    float *x = randv(rng, N, 1), *R = randv(rng, N, 1), out[N], d[N];
    tls_relu_forward(out, x, N);
    memcpy(d, R, sizeof(d));
    tls_relu_backward(d, out, N);
    for (int i = 0; i < N; i++) {
        float keep = x[i], h = 1e-3f, op, om;
        x[i] = keep + h;
        tls_relu_forward(&op, &x[i], 1);
        x[i] = keep - h;
        tls_relu_forward(&om, &x[i], 1);
        x[i] = keep;
        expect_close("relu", d[i], R[i] * (op - om) / (2 * h), 1e-3, 1e-3);
    }
    float zero = 0.0f, zo, dz = 1.0f;
    tls_relu_forward(&zo, &zero, 1);
    tls_relu_backward(&dz, &zo, 1);
    expect_close("relu subgradient at 0 is 0 (as PyTorch)", dz, 0.0, 0, 0);
    free(x), free(R);
}

static void test_crossentropy(tls_rng *rng) {
    enum { B = 6, C = 4 };
    float *z = randv(rng, B * C, 2), probs[B * C], dz[B * C] = {0};
    int y[B] = {0, 3, 1, 2, 2, 0};
    double loss = tls_crossentropy_forward(probs, z, y, B, C);
    /* reference: -mean log softmax in double */
    double ref = 0;
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += exp((double)z[i * C + c]);
        ref += -(z[i * C + y[i]] - log(s));
    }
    expect_close("cross-entropy value", loss, ref / B, 1e-6, 1e-6);
    tls_crossentropy_backward(dz, probs, y, 0.7f, B, C);
    for (int i = 0; i < B * C; i++) {
        float keep = z[i], h = 1e-2f;
        z[i] = keep + h;
        double lp = tls_crossentropy_forward(probs, z, y, B, C);
        z[i] = keep - h;
        double lm = tls_crossentropy_forward(probs, z, y, B, C);
        z[i] = keep;
        expect_close("cross-entropy dlogits", dz[i], 0.7 * (lp - lm) / (2 * h), 2e-3, 1e-4);
    }
    free(z);
}

static double mmd2_loop(const float *x, const float *y, int n, int m, int d, double g) {
    double sxx = 0, syy = 0, sxy = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += pow((double)x[i * d + k] - x[j * d + k], 2);
            sxx += exp(-g * s);
        }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += pow((double)y[i * d + k] - y[j * d + k], 2);
            syy += exp(-g * s);
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += pow((double)x[i * d + k] - y[j * d + k], 2);
            sxy += exp(-g * s);
        }
    return sxx / ((double)n * n) + syy / ((double)m * m) - 2 * sxy / ((double)n * m);
}

static void test_mmd(tls_rng *rng) {
    /* sizes straddle the row blocks and column vector pairs; d = 16 and 27
     * run the 16- and 8-wide product loops and the scalar tail */
    const int shapes[][3] = {{5, 9, 3}, {70, 130, 4}, {150, 40, 2}, {32, 61, 16}, {13, 45, 27}};
    for (int s = 0; s < 5; s++) {
        int n = shapes[s][0], m = shapes[s][1], d = shapes[s][2];
        float *x = randv(rng, n * d, 0.6), *y = randv(rng, m * d, 0.6);
        for (int i = 0; i < m * d; i++) y[i] += 0.3f;
        float *work = malloc(sizeof(float) * tls_mmd_work_floats(n, m, d));
        float gamma = 0.8f;
        double v = tls_mmd2_forward(x, y, n, m, d, gamma, work);
        expect_close("mmd2 vs double loop", v, mmd2_loop(x, y, n, m, d, gamma), 1e-4, 1e-6);
        float *dx = calloc((size_t)n * d, sizeof(float)),
              *dy = calloc((size_t)m * d, sizeof(float));
        double v2 = tls_mmd2_forward_backward(dx, dy, 1.5f, x, y, n, m, d, gamma, work);
        expect_close("mmd2 forward_backward value", v2, v, 0, 0);
        float *vars[] = {x, y};
        float *grads[] = {dx, dy};
        int sizes[] = {n * d, m * d};
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < sizes[t]; i += (sizes[t] > 60 ? 7 : 1)) {
                float keep = vars[t][i];
                float h = 1e-2f;
                vars[t][i] = keep + h;
                double lp = mmd2_loop(x, y, n, m, d, gamma);
                vars[t][i] = keep - h;
                double lm = mmd2_loop(x, y, n, m, d, gamma);
                vars[t][i] = keep;
                expect_close(t ? "mmd2 dy" : "mmd2 dx", grads[t][i], 1.5 * (lp - lm) / (2 * h),
                             5e-3, 2e-5);
            }
        /* dloss = 0 adds nothing (lambda = 0 must be harmless) */
        memset(dx, 0, sizeof(float) * (size_t)n * d);
        tls_mmd2_forward_backward(dx, NULL, 0.0f, x, y, n, m, d, gamma, work);
        double mx = 0;
        for (int i = 0; i < n * d; i++) mx = fmax(mx, fabs(dx[i]));
        expect_close("mmd2 zero dloss", mx, 0, 0, 0);
        free(x), free(y), free(work), free(dx), free(dy);
    }
    /* identical sets have MMD^2 = 0 */
    float *x = randv(rng, 20 * 3, 1),
          *work = malloc(sizeof(float) * tls_mmd_work_floats(20, 20, 3));
    expect_close("mmd2 of a set with itself", tls_mmd2_forward(x, x, 20, 20, 3, 1.0f, work), 0, 0,
                 1e-6);
    free(x), free(work);
}

/* The kernel's AVX2 and generic copies must return the same bits: value
 * and both gradients, on shapes that exercise every tail. */
static void test_mmd_kernels(tls_rng *rng) {
    if (tls_mmd_select("avx2") != 0) {
        printf("SKIP mmd kernel copies: this CPU has no AVX2+FMA\n");
        return;
    }
    const int shapes[][3] = {{7, 11, 3}, {32, 200, 16}, {45, 29, 27}};
    for (int s = 0; s < 3; s++) {
        int n = shapes[s][0], m = shapes[s][1], d = shapes[s][2];
        float *x = randv(rng, n * d, 0.5), *y = randv(rng, m * d, 0.5);
        float *work = malloc(sizeof(float) * tls_mmd_work_floats(n, m, d));
        float *g[2][2];
        double v[2];
        const char *names[2] = {"avx2", "generic"};
        for (int c = 0; c < 2; c++) {
            tls_mmd_select(names[c]);
            g[c][0] = calloc((size_t)n * d, sizeof(float));
            g[c][1] = calloc((size_t)m * d, sizeof(float));
            v[c] = tls_mmd2_forward_backward(g[c][0], g[c][1], 0.7f, x, y, n, m, d, 1.3f, work);
        }
        checks++;
        if (memcmp(&v[0], &v[1], sizeof(double)) ||
            memcmp(g[0][0], g[1][0], sizeof(float) * (size_t)n * d) ||
            memcmp(g[0][1], g[1][1], sizeof(float) * (size_t)m * d)) {
            failures++;
            printf("FAIL mmd kernel copies differ at (%d, %d, %d): %.17g vs %.17g\n", n, m, d, v[0],
                   v[1]);
        }
        for (int c = 0; c < 2; c++) free(g[c][0]), free(g[c][1]);
        free(x), free(y), free(work);
    }
    tls_mmd_select("auto");
}

/* The whole network: features -> classifier -> cross-entropy, plus an MMD
 * term on the features, differentiated end to end against finite differences. */
static double net_loss(tls_model *m, tls_acts *a, tls_acts *b, const float *xs, const int *ys,
                       int ns, const float *xt, int nt, float lambda, float *work, int backward) {
    if (backward) tls_model_zero_grad(m);
    tls_model_features_forward(a, m, xs, ns);
    tls_model_classifier_forward(a, m, ns);
    double ce = tls_crossentropy_forward(a->probs, a->logits, ys, ns, m->C);
    tls_model_features_forward(b, m, xt, nt);
    if (!backward)
        return ce + lambda * tls_mmd2_forward(a->feat, b->feat, ns, nt, m->F, 1.0f, work);
    memset(a->dlogits, 0, sizeof(float) * (size_t)ns * m->C);
    tls_crossentropy_backward(a->dlogits, a->probs, ys, 1.0f, ns, m->C);
    tls_model_classifier_backward(m, a, ns);
    memset(b->dfeat, 0, sizeof(float) * (size_t)nt * m->F);
    double mmd = tls_mmd2_forward_backward(a->dfeat, b->dfeat, lambda, a->feat, b->feat, ns, nt,
                                           m->F, 1.0f, work);
    tls_model_features_backward(m, a, xs, ns);
    tls_model_features_backward(m, b, xt, nt);
    return ce + lambda * mmd;
}

static void test_network(tls_rng *rng) {
    enum { D = 3, H = 8, F = 5, C = 3, NS = 9, NT = 7 };
    tls_model *m;
    tls_acts *a, *b;
    tls_model_create(&m, D, H, F, C, 0);
    tls_acts_create(&a, m, NS);
    tls_acts_create(&b, m, NT);
    tls_model_init(m, rng);
    float *xs = randv(rng, NS * D, 1), *xt = randv(rng, NT * D, 1);
    int ys[NS] = {0, 1, 2, 0, 1, 2, 0, 1, 2};
    float *work = malloc(sizeof(float) * tls_mmd_work_floats(NS, NT, F));
    net_loss(m, a, b, xs, ys, NS, xt, NT, 0.7f, work, 1);
    int checked = 0;
    for (size_t i = 0; i < m->nparams; i++) {
        float keep = m->params_mem[i], h = 1e-3f; /* 5e-3 crosses a ReLU kink here */
        m->params_mem[i] = keep + h;
        double lp = net_loss(m, a, b, xs, ys, NS, xt, NT, 0.7f, work, 0);
        m->params_mem[i] = keep - h;
        double lm = net_loss(m, a, b, xs, ys, NS, xt, NT, 0.7f, work, 0);
        m->params_mem[i] = keep;
        double fd = (lp - lm) / (2 * h);
        expect_close("network gradient (CE + lambda MMD^2)", m->grads_mem[i], fd, 2e-2, 2e-3);
        checked++;
    }
    expect_close("network: every parameter checked", checked, (double)m->nparams, 0, 0);
    free(xs), free(xt), free(work);
    tls_acts_destroy(&a);
    tls_acts_destroy(&b);
    tls_model_destroy(&m);
    expect_close("destroy sets NULL", m == NULL && a == NULL, 1, 0, 0);
}

static void test_adam(tls_rng *rng) {
    tls_model *m;
    tls_model_create(&m, 2, 1, 1, 2, 0);
    tls_model_init(m, rng);
    size_t n = m->nparams;
    float p0[16], g[3][16];
    memcpy(p0, m->params_mem, n * sizeof(float));
    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < n; i++) g[t][i] = (float)tls_rng_normal(rng);
    tls_adam opt = {1e-3f, 0.9f, 0.999f, 1e-8f};
    double mo[16] = {0}, v[16] = {0}, p[16];
    for (size_t i = 0; i < n; i++) p[i] = p0[i];
    for (int t = 0; t < 3; t++) {
        memcpy(m->grads_mem, g[t], n * sizeof(float));
        tls_model_adam_step(m, &opt);
        /* torch.optim.Adam, in double by hand */
        for (size_t i = 0; i < n; i++) {
            mo[i] = 0.9 * mo[i] + 0.1 * g[t][i];
            v[i] = 0.999 * v[i] + 0.001 * g[t][i] * g[t][i];
            double mh = mo[i] / (1 - pow(0.9, t + 1)),
                   vh = sqrt(v[i]) / sqrt(1 - pow(0.999, t + 1));
            p[i] -= 1e-3 * mh / (vh + 1e-8);
        }
        for (size_t i = 0; i < n; i++)
            expect_close("adam step", m->params_mem[i], p[i], 1e-6, 1e-8);
    }
    expect_close("adam step count", (double)m->step, 3, 0, 0);
    tls_model_destroy(&m);
}

static void test_init(tls_rng *rng) {
    tls_model *m;
    tls_model_create(&m, 2, 32, 16, 2, 0);
    tls_model_init(m, rng);
    double b1 = 1 / sqrt(2.0), b2 = 1 / sqrt(32.0), b3 = 1 / sqrt(16.0), mx1 = 0, mx2 = 0, mx3 = 0;
    for (int i = 0; i < 64 + 32; i++) mx1 = fmax(mx1, fabs(m->p.W1[i]));
    for (int i = 0; i < 512 + 16; i++) mx2 = fmax(mx2, fabs(m->p.W2[i]));
    for (int i = 0; i < 32 + 2; i++) mx3 = fmax(mx3, fabs(m->p.W3[i]));
    checks += 3;
    if (!(mx1 <= b1 && mx1 > 0.8 * b1 && mx2 <= b2 && mx2 > 0.8 * b2 && mx3 <= b3 &&
          mx3 > 0.5 * b3)) {
        failures++;
        fprintf(stderr, "FAIL init bounds: %g/%g %g/%g %g/%g\n", mx1, b1, mx2, b2, mx3, b3);
    }
    tls_model_destroy(&m);
}

static void test_rng(void) {
    tls_rng a, b;
    tls_rng_init(&a, 7, TLS_STREAM_SOURCE, 0);
    tls_rng_init(&b, 7, TLS_STREAM_SOURCE, 0);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= tls_rng_u64(&a) == tls_rng_u64(&b);
    expect_close("rng: same key, same stream", same, 1, 0, 0);
    tls_rng_init(&b, 7, TLS_STREAM_INIT, 0);
    expect_close("rng: other purpose, other stream", tls_rng_u64(&a) != tls_rng_u64(&b), 1, 0, 0);
    double s = 0, s2 = 0;
    int N = 200000;
    for (int i = 0; i < N; i++) {
        double z = tls_rng_normal(&a);
        s += z, s2 += z * z;
    }
    expect_close("normal mean", s / N, 0, 0, 0.01);
    expect_close("normal variance", s2 / N, 1, 0, 0.02);
}

int main(void) {
    openblas_set_num_threads(1);
    tls_rng rng;
    tls_rng_init(&rng, 12345, TLS_STREAM_INIT, 99);
    test_rng();
    test_linear(&rng);
    test_relu(&rng);
    test_crossentropy(&rng);
    test_mmd(&rng);
    test_mmd_kernels(&rng);
    test_network(&rng);
    test_adam(&rng);
    test_init(&rng);
    printf("test_numerics: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
