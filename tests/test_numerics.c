/* Numerical checks of the engine's building blocks against independent
 * references: central finite differences (in double, on the float code) for
 * every backward pass, a direct double loop for MMD^2, hand-computed Adam
 * steps, and the PyTorch initialisation bounds. Exits non-zero on any
 * failure. */
#include "tlsweep/align.h"
#include "tlsweep/data.h"
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

/* A gradient entry against finite differences of its loss at +h (lp), 0 (l0)
 * and -h (lm): the central difference or, as a ReLU's kink within h of the
 * point makes the analytic value one side's, either one-sided difference. */
static void expect_grad(const char *what, double got, double lp, double l0, double lm, double h,
                        double rtol, double atol) {
    double central = (lp - lm) / (2 * h), right = (lp - l0) / h, left = (l0 - lm) / h;
    double want[3] = {central, right, left};
    int ok = 0;
    for (int i = 0; i < 3; i++) ok |= fabs(got - want[i]) <= atol + rtol * fabs(want[i]);
    if (ok)
        checks++;
    else
        expect_close(what, got, central, rtol, atol);
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

/* The outputs of one copy of the layer products on one shape: forward,
 * forward with the ReLU, backward adding into nonzero gradients, backward
 * through a ReLU (dinp overwritten), each from the same inputs. */
typedef struct {
    float *out, *rout, *dx, *dW, *db, *rdx, *rdW, *rdb;
} linear_outputs;

static void linear_all(linear_outputs *o, const float *x, const float *W, const float *b,
                       const float *R, const float *g0, int B, int DI, int DO) {
    size_t nx = (size_t)B * DI, nw = (size_t)DO * DI;
    tls_linear_forward(o->out, x, W, b, B, DI, DO);
    tls_linear_relu_forward(o->rout, x, W, b, B, DI, DO);
    memcpy(o->dx, g0, sizeof(float) * nx), memcpy(o->dW, g0, sizeof(float) * nw);
    memcpy(o->db, g0, sizeof(float) * DO);
    tls_linear_backward(o->dx, o->dW, o->db, R, x, W, B, DI, DO);
    memcpy(o->rdx, g0 + 1, sizeof(float) * nx), memcpy(o->rdW, g0, sizeof(float) * nw);
    memcpy(o->rdb, g0, sizeof(float) * DO);
    tls_linear_relu_backward(o->rdx, o->rdW, o->rdb, R, x, W, B, DI, DO);
}

static int linear_equal(const linear_outputs *a, const linear_outputs *b, int B, int DI, int DO) {
    size_t no = sizeof(float) * (size_t)B * DO, nx = sizeof(float) * (size_t)B * DI,
           nw = sizeof(float) * (size_t)DO * DI, nb = sizeof(float) * (size_t)DO;
    return !memcmp(a->out, b->out, no) && !memcmp(a->rout, b->rout, no) &&
           !memcmp(a->dx, b->dx, nx) && !memcmp(a->dW, b->dW, nw) && !memcmp(a->db, b->db, nb) &&
           !memcmp(a->rdx, b->rdx, nx) && !memcmp(a->rdW, b->rdW, nw) &&
           !memcmp(a->rdb, b->rdb, nb);
}

/* Every copy of the layer products returns the generic copy's bits, on
 * shapes with every row and column tail (blocks of 8, 4, 2, 1 rows; strips
 * of 32, 16, 8 columns, masked and scalar tails; narrow inputs; two
 * transpose blocks), with some inputs exactly 0 (ReLU masks at 0); and the
 * fused ReLU passes equal the separate ones bit for bit. */
static void test_linear_copies(void) {
    tls_rng own; /* its own stream: the later tests' inputs stay as they were */
    tls_rng_init(&own, 5, TLS_STREAM_INIT, 0);
    tls_rng *rng = &own;
    const int shapes[][3] = {{200, 2, 32}, {200, 32, 16}, {32, 16, 2},  {50, 16, 2},  {7, 5, 3},
                             {13, 19, 24}, {9, 3, 37},    {70, 67, 64}, {33, 40, 48}, {1, 1, 1},
                             {17, 8, 8},   {15, 24, 40},  {3, 7, 1}};
    const char *copies[] = {"avx512", "avx2"};
    int nshapes = sizeof(shapes) / sizeof(shapes[0]);
    for (int s = 0; s < nshapes; s++) {
        int B = shapes[s][0], DI = shapes[s][1], DO = shapes[s][2];
        size_t big = (size_t)(B > DO ? B : DO) * (DI > DO ? DI : DO) + 1;
        float *x = randv(rng, B * DI, 1), *W = randv(rng, DO * DI, 1), *b = randv(rng, DO, 1);
        float *R = randv(rng, B * DO, 1), *g0 = randv(rng, (int)big, 1);
        for (int i = 0; i < B * DI; i += 5) x[i] = 0.0f; /* ReLU gates at exactly 0 */
        linear_outputs o[2];
        for (int k = 0; k < 2; k++) {
            float **f = &o[k].out;
            for (int q = 0; q < 8; q++) f[q] = malloc(sizeof(float) * big);
        }
        tls_nn_select("generic");
        linear_all(&o[0], x, W, b, R, g0, B, DI, DO);
        /* fused == separate passes, generic copy */
        float *sep = malloc(sizeof(float) * big);
        tls_linear_forward(sep, x, W, b, B, DI, DO);
        tls_relu_forward(sep, sep, B * DO);
        checks++;
        if (memcmp(sep, o[0].rout, sizeof(float) * (size_t)B * DO)) {
            failures++;
            printf("FAIL linear+relu forward fused differs at (%d, %d, %d)\n", B, DI, DO);
        }
        memset(sep, 0, sizeof(float) * (size_t)B * DI);
        float *dW = malloc(sizeof(float) * big), *db = malloc(sizeof(float) * big);
        memcpy(dW, g0, sizeof(float) * (size_t)DO * DI), memcpy(db, g0, sizeof(float) * DO);
        tls_linear_backward(sep, dW, db, R, x, W, B, DI, DO);
        tls_relu_backward(sep, x, B * DI);
        checks++;
        if (memcmp(sep, o[0].rdx, sizeof(float) * (size_t)B * DI) ||
            memcmp(dW, o[0].rdW, sizeof(float) * (size_t)DO * DI) ||
            memcmp(db, o[0].rdb, sizeof(float) * DO)) {
            failures++;
            printf("FAIL linear+relu backward fused differs at (%d, %d, %d)\n", B, DI, DO);
        }
        for (int c = 0; c < 2; c++) {
            if (tls_nn_select(copies[c]) != 0) {
                if (s == 0)
                    printf("SKIP layer products copy %s: this CPU cannot run it\n", copies[c]);
                continue;
            }
            linear_all(&o[1], x, W, b, R, g0, B, DI, DO);
            checks++;
            if (!linear_equal(&o[0], &o[1], B, DI, DO)) {
                failures++;
                printf("FAIL layer products copy %s differs from generic at (%d, %d, %d)\n",
                       copies[c], B, DI, DO);
            }
        }
        tls_nn_select("auto");
        for (int k = 0; k < 2; k++) {
            float **f = &o[k].out;
            for (int q = 0; q < 8; q++) free(f[q]);
        }
        free(x), free(W), free(b), free(R), free(g0), free(sep), free(dW), free(db);
    }
}

/* Adam's copies return the generic copy's bits, on moments and gradients
 * that include subnormals, values that become subnormal (the AVX-512
 * copy's double path), zeros and ordinary values. */
static void test_adam_copies(void) {
    enum { N = 203, STEPS = 40 };
    tls_rng own;
    tls_rng_init(&own, 9, TLS_STREAM_INIT, 0);
    float p0[N], m0[N], v0[N], g[STEPS][N];
    for (int i = 0; i < N; i++) {
        p0[i] = (float)tls_rng_normal(&own);
        int kind = i % 5; /* subnormal, tiny, zero, ordinary, ordinary */
        double scale = kind == 0 ? 1e-40 : kind == 1 ? 1e-25 : kind == 2 ? 0.0 : 1e-3;
        m0[i] = (float)(tls_rng_normal(&own) * scale);
        v0[i] = (float)(fabs(tls_rng_normal(&own)) * scale * scale * (kind == 0 ? 1e40 : 1.0));
        for (int t = 0; t < STEPS; t++)
            g[t][i] = (float)(tls_rng_normal(&own) * (t % 3 == 0 ? scale : 1e-30 * scale));
    }
    const char *copies[] = {"avx512", "avx2"};
    float ref[3][N];
    for (int c = -1; c < 2; c++) {
        if (tls_nn_select(c < 0 ? "generic" : copies[c]) != 0) {
            printf("SKIP adam copy %s: this CPU cannot run it\n", copies[c]);
            continue;
        }
        float p[N], m[N], v[N];
        memcpy(p, p0, sizeof(p)), memcpy(m, m0, sizeof(m)), memcpy(v, v0, sizeof(v));
        for (int t = 0; t < STEPS; t++) {
            float bc1 = 1.0f - powf(0.9f, (float)(t + 1)),
                  bc2 = sqrtf(1.0f - powf(0.999f, (float)(t + 1)));
            tls_adam_update(p, m, v, g[t], N - t % 7, 0.9f, 0.999f, 1e-3f / bc1, bc2, 1e-8f);
        }
        if (c < 0) {
            memcpy(ref[0], p, sizeof(p)), memcpy(ref[1], m, sizeof(m)),
                memcpy(ref[2], v, sizeof(v));
            continue;
        }
        checks++;
        if (memcmp(ref[0], p, sizeof(p)) || memcmp(ref[1], m, sizeof(m)) ||
            memcmp(ref[2], v, sizeof(v))) {
            failures++;
            printf("FAIL adam copy %s differs from generic\n", copies[c]);
        }
    }
    tls_nn_select("auto");
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

/* The kernel copies that this CPU runs besides the generic one, which is
 * every copy's reference. */
static const char *const vector_copies[] = {"avx512", "avx2"};
enum { NVCOPIES = sizeof(vector_copies) / sizeof(vector_copies[0]) };

/* Every kernel copy must return the generic copy's bits: value and both
 * gradients, on shapes that exercise every tail of the 8- and 16-lane
 * copies (column groups of 8, 16 and 32, feature widths with 16-, 8- and
 * 1-column parts), at scales where kernel values underflow to 0 (0.5:
 * none; 3: most), with repeated points (distances rounded below 0), and
 * with a tiny dloss added into gradients that hold subnormals (subnormal
 * products and sums: the 16-lane copy's double path). */
static void test_mmd_kernels(tls_rng *rng) {
    tls_rng own; /* the tiny case's draws: the later tests' inputs stay as they were */
    tls_rng_init(&own, 11, TLS_STREAM_INIT, 0);
    const int shapes[][3] = {{7, 11, 3},  {32, 200, 16}, {45, 29, 27}, {6, 17, 16},
                             {13, 33, 8}, {1, 1, 16},    {50, 47, 24}, {31, 16, 32}};
    int nshapes = sizeof(shapes) / sizeof(shapes[0]), ran = 0;
    for (int c = 0; c < NVCOPIES; c++) {
        if (tls_mmd_select(vector_copies[c]) != 0) {
            printf("SKIP mmd kernel copy %s: this CPU cannot run it\n", vector_copies[c]);
            continue;
        }
        ran++;
        for (int s = 0; s < nshapes; s++)
            for (int sc = 0; sc < 3; sc++) {
                int n = shapes[s][0], m = shapes[s][1], d = shapes[s][2];
                tls_rng *r = sc == 2 ? &own : rng;
                float *x = randv(r, n * d, sc == 1 ? 3.0 : 0.5), *y = randv(r, m * d, 0.5);
                float *g0x = randv(&own, n * d, 1e-39), *g0y = randv(&own, m * d, 1e-39);
                float dloss = sc == 2 ? 1e-36f : 0.7f;
                if (m > 2) memcpy(y + (size_t)(m - 1) * d, y, sizeof(float) * d); /* a repeat */
                if (n > 1 && m > 1) memcpy(x, y + d, sizeof(float) * d);          /* across sets */
                float *work = malloc(sizeof(float) * tls_mmd_work_floats(n, m, d));
                float *g[2][2];
                double v[2];
                const char *names[2] = {vector_copies[c], "generic"};
                for (int k = 0; k < 2; k++) {
                    tls_mmd_select(names[k]);
                    g[k][0] = calloc((size_t)n * d, sizeof(float));
                    g[k][1] = calloc((size_t)m * d, sizeof(float));
                    if (sc == 2) {
                        memcpy(g[k][0], g0x, sizeof(float) * (size_t)n * d);
                        memcpy(g[k][1], g0y, sizeof(float) * (size_t)m * d);
                    }
                    v[k] = tls_mmd2_forward_backward(g[k][0], g[k][1], dloss, x, y, n, m, d, 1.3f,
                                                     work);
                }
                checks++;
                if (memcmp(&v[0], &v[1], sizeof(double)) ||
                    memcmp(g[0][0], g[1][0], sizeof(float) * (size_t)n * d) ||
                    memcmp(g[0][1], g[1][1], sizeof(float) * (size_t)m * d)) {
                    failures++;
                    printf("FAIL mmd kernel copy %s differs from generic at (%d, %d, %d), %s: "
                           "%.17g vs %.17g\n",
                           vector_copies[c], n, m, d,
                           sc == 0   ? "scale 0.5"
                           : sc == 1 ? "scale 3"
                                     : "tiny gradients",
                           v[0], v[1]);
                }
                for (int k = 0; k < 2; k++) free(g[k][0]), free(g[k][1]);
                free(x), free(y), free(work), free(g0x), free(g0y);
            }
    }
    if (!ran) printf("SKIP mmd kernel copies: this CPU runs only the generic copy\n");
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

/* ---- the remedies' losses ------------------------------------------------ */

/* Multi-kernel MMD^2 in double, biased or unbiased (self pairs left out). */
static double mmd2_multi_loop(const float *x, const float *y, int n, int m, int d, const float *g,
                              int ng, int unbiased) {
    double sxx = 0, syy = 0, sxy = 0;
    const float *sets[2] = {x, y};
    int sizes[2] = {n, m};
    double *sums[2] = {&sxx, &syy};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < sizes[t]; i++)
            for (int j = 0; j < sizes[t]; j++) {
                if (unbiased && i == j) continue;
                double s = 0;
                for (int k = 0; k < d; k++)
                    s += pow((double)sets[t][i * d + k] - sets[t][j * d + k], 2);
                for (int q = 0; q < ng; q++) *sums[t] += exp(-g[q] * s);
            }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += pow((double)x[i * d + k] - y[j * d + k], 2);
            for (int q = 0; q < ng; q++) sxy += exp(-g[q] * s);
        }
    double nn = unbiased ? (double)n * (n - 1) : (double)n * n;
    double mm = unbiased ? (double)m * (m - 1) : (double)m * m;
    return sxx / nn + syy / mm - 2 * sxy / ((double)n * m);
}

static void test_mmd_variants(tls_rng *rng) {
    const int shapes[][3] = {{5, 9, 3}, {32, 61, 16}, {13, 45, 27}};
    const float g3[3] = {0.3f, 0.8f, 2.1f};
    for (int sh = 0; sh < 3; sh++) {
        int n = shapes[sh][0], m = shapes[sh][1], d = shapes[sh][2];
        float *x = randv(rng, n * d, 0.5), *y = randv(rng, m * d, 0.5);
        for (int i = 0; i < m * d; i++) y[i] += 0.3f;
        float *work = malloc(sizeof(float) * tls_mmd_work_floats(n, m, d));
        float *dx = calloc((size_t)n * d, sizeof(float)),
              *dy = calloc((size_t)m * d, sizeof(float));
        for (int variant = 0; variant < 3; variant++) {
            /* 3 kernels biased; 1 kernel unbiased; 3 kernels unbiased */
            int ng = variant == 1 ? 1 : 3, ub = variant > 0;
            const float *g = variant == 1 ? g3 + 1 : g3;
            const char *name = variant == 0   ? "multi-kernel mmd2"
                               : variant == 1 ? "unbiased mmd2"
                                              : "multi-kernel unbiased mmd2";
            memset(dx, 0, sizeof(float) * (size_t)n * d);
            memset(dy, 0, sizeof(float) * (size_t)m * d);
            double v =
                tls_mmd2_multi_forward_backward(dx, dy, 1.3f, x, y, n, m, d, g, ng, ub, work);
            char what[96];
            snprintf(what, sizeof(what), "%s vs double loop", name);
            expect_close(what, v, mmd2_multi_loop(x, y, n, m, d, g, ng, ub), 1e-4, 1e-6);
            float *vars[] = {x, y}, *grads[] = {dx, dy};
            int sizes[] = {n * d, m * d};
            for (int t = 0; t < 2; t++)
                for (int i = 0; i < sizes[t]; i += (sizes[t] > 60 ? 7 : 1)) {
                    float keep = vars[t][i], h = 1e-2f;
                    vars[t][i] = keep + h;
                    double lp = mmd2_multi_loop(x, y, n, m, d, g, ng, ub);
                    vars[t][i] = keep - h;
                    double lm = mmd2_multi_loop(x, y, n, m, d, g, ng, ub);
                    vars[t][i] = keep;
                    snprintf(what, sizeof(what), "%s %s", name, t ? "dy" : "dx");
                    expect_close(what, grads[t][i], 1.3 * (lp - lm) / (2 * h), 5e-3, 2e-5);
                }
        }
        /* one kernel, biased: the article's function, bit for bit */
        float *ex = calloc((size_t)n * d, sizeof(float)),
              *ey = calloc((size_t)m * d, sizeof(float));
        memset(dx, 0, sizeof(float) * (size_t)n * d);
        memset(dy, 0, sizeof(float) * (size_t)m * d);
        double a = tls_mmd2_forward_backward(ex, ey, 0.9f, x, y, n, m, d, 0.8f, work);
        double b = tls_mmd2_multi_forward_backward(dx, dy, 0.9f, x, y, n, m, d, g3 + 1, 1, 0, work);
        checks++;
        if (memcmp(&a, &b, sizeof(a)) || memcmp(ex, dx, sizeof(float) * (size_t)n * d) ||
            memcmp(ey, dy, sizeof(float) * (size_t)m * d)) {
            failures++;
            printf("FAIL one-kernel biased multi-kernel MMD differs from the article's\n");
        }
        free(ex), free(ey), free(x), free(y), free(work), free(dx), free(dy);
    }
}

/* The kernel copies agree bit for bit on the variants too. */
static void test_mmd_variant_kernels(tls_rng *rng) {
    enum { n = 32, m = 77, d = 16 };
    const float g[4] = {0.25f, 0.5f, 1.0f, 2.0f};
    float *x = randv(rng, n * d, 0.5), *y = randv(rng, m * d, 0.5);
    float *work = malloc(sizeof(float) * tls_mmd_work_floats(n, m, d));
    for (int c = 0; c < NVCOPIES; c++) {
        if (tls_mmd_select(vector_copies[c]) != 0) {
            printf("SKIP mmd kernel copy %s (variants): this CPU cannot run it\n",
                   vector_copies[c]);
            continue;
        }
        for (int ub = 0; ub < 2; ub++) {
            float gx[2][n * d], gy[2][m * d];
            double v[2];
            const char *names[2] = {vector_copies[c], "generic"};
            for (int k = 0; k < 2; k++) {
                tls_mmd_select(names[k]);
                memset(gx[k], 0, sizeof(gx[k]));
                memset(gy[k], 0, sizeof(gy[k]));
                v[k] = tls_mmd2_multi_forward_backward(gx[k], gy[k], 0.7f, x, y, n, m, d, g, 4, ub,
                                                       work);
            }
            checks++;
            if (memcmp(&v[0], &v[1], sizeof(double)) || memcmp(gx[0], gx[1], sizeof(gx[0])) ||
                memcmp(gy[0], gy[1], sizeof(gy[0]))) {
                failures++;
                printf("FAIL mmd kernel copy %s differs from generic on 4 kernels (unbiased %d)\n",
                       vector_copies[c], ub);
            }
        }
    }
    tls_mmd_select("auto");
    free(x), free(y), free(work);
}

/* CORAL in double: ||C_x - C_y||_F^2 / (4 d^2), unbiased covariances. */
static double coral_loop(const float *x, const float *y, int n, int m, int d) {
    double *c[2] = {calloc((size_t)d * d, sizeof(double)), calloc((size_t)d * d, sizeof(double))};
    const float *sets[2] = {x, y};
    int sizes[2] = {n, m};
    for (int t = 0; t < 2; t++) {
        double mean[64] = {0};
        for (int i = 0; i < sizes[t]; i++)
            for (int a = 0; a < d; a++) mean[a] += sets[t][i * d + a] / (double)sizes[t];
        for (int i = 0; i < sizes[t]; i++)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    c[t][a * d + b] += (sets[t][i * d + a] - mean[a]) *
                                       (sets[t][i * d + b] - mean[b]) / (sizes[t] - 1);
    }
    double s = 0;
    for (int k = 0; k < d * d; k++) s += pow(c[0][k] - c[1][k], 2);
    free(c[0]), free(c[1]);
    return s / (4.0 * d * d);
}

static void test_coral(tls_rng *rng) {
    const int shapes[][3] = {{2, 3, 4}, {9, 13, 5}, {32, 200, 16}, {7, 40, 19}};
    for (int sh = 0; sh < 4; sh++) {
        int n = shapes[sh][0], m = shapes[sh][1], d = shapes[sh][2];
        float *x = randv(rng, n * d, 0.7), *y = randv(rng, m * d, 1.2);
        float *work = malloc(sizeof(float) * tls_coral_work_floats(n, m, d));
        float *dx = calloc((size_t)n * d, sizeof(float)),
              *dy = calloc((size_t)m * d, sizeof(float));
        double v = tls_coral_forward_backward(dx, dy, 1.7f, x, y, n, m, d, work);
        expect_close("coral vs double loop", v, coral_loop(x, y, n, m, d), 1e-4, 1e-7);
        float *vars[] = {x, y}, *grads[] = {dx, dy};
        int sizes[] = {n * d, m * d};
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < sizes[t]; i += (sizes[t] > 100 ? 11 : 1)) {
                float keep = vars[t][i], h = 1e-2f;
                vars[t][i] = keep + h;
                double lp = coral_loop(x, y, n, m, d);
                vars[t][i] = keep - h;
                double lm = coral_loop(x, y, n, m, d);
                vars[t][i] = keep;
                expect_close(t ? "coral dy" : "coral dx", grads[t][i], 1.7 * (lp - lm) / (2 * h),
                             5e-3, 1e-6);
            }
        free(x), free(y), free(work), free(dx), free(dy);
    }
}

static void test_bce_l2sp(tls_rng *rng) {
    enum { B = 9 };
    float *z = randv(rng, B, 3), p[B], dz[B] = {0};
    int y[B] = {0, 1, 1, 0, 1, 0, 0, 1, 1};
    tls_bce_forward(p, z, y, B);
    tls_bce_backward(dz, p, y, 0.6f, B);
    for (int i = 0; i < B; i++) {
        float keep = z[i], h = 1e-2f, q[B];
        z[i] = keep + h;
        double lp = tls_bce_forward(q, z, y, B);
        z[i] = keep - h;
        double lm = tls_bce_forward(q, z, y, B);
        z[i] = keep;
        expect_close("bce dlogits", dz[i], 0.6 * (lp - lm) / (2 * h), 2e-3, 1e-5);
    }
    float big = 80.0f, pb;
    int one = 0;
    expect_close("bce of a confident wrong logit is finite (80)",
                 tls_bce_forward(&pb, &big, &one, 1), 80.0, 1e-9, 0);
    enum { N = 23 };
    float *w = randv(rng, N, 1), *w0 = randv(rng, N, 1), g[N] = {0};
    tls_l2sp_forward_backward(g, 0.3f, w, w0, N);
    for (int i = 0; i < N; i++) {
        float keep = w[i], h = 1e-2f, tmp[N];
        w[i] = keep + h;
        double lp = tls_l2sp_forward_backward(tmp, 0.3f, w, w0, N);
        w[i] = keep - h;
        double lm = tls_l2sp_forward_backward(tmp, 0.3f, w, w0, N);
        w[i] = keep;
        expect_close("l2sp gradient", g[i], (lp - lm) / (2 * h), 1e-3, 1e-6);
    }
    free(z), free(w), free(w0);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_median(tls_rng *rng) {
    const int shapes[][3] = {{1, 1, 2}, {2, 3, 3}, {32, 200, 16}, {5, 0, 4}, {17, 30, 7}};
    for (int sh = 0; sh < 5; sh++) {
        int n = shapes[sh][0], m = shapes[sh][1], d = shapes[sh][2], k = n + m;
        float *x = randv(rng, n * d, 1), *y = randv(rng, (m > 0 ? m : 1) * d, 2);
        if (sh == 4) memcpy(y, x, sizeof(float) * 10 * d); /* ties: repeated points */
        float *work = malloc(sizeof(float) * tls_median_work_floats(n, m, d));
        size_t N = (size_t)k * (k - 1) / 2, c = 0;
        float *all = malloc(sizeof(float) * N);
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j < k; j++) {
                const float *a = i < n ? x + i * d : y + (i - n) * d;
                const float *b = j < n ? x + j * d : y + (j - n) * d;
                float s = 0.0f;
                for (int q = 0; q < d; q++) s += (a[q] - b[q]) * (a[q] - b[q]);
                all[c++] = s;
            }
        qsort(all, N, sizeof(float), cmp_float);
        expect_close("median heuristic = sorted pairs' lower median",
                     tls_median_sqdist(x, n, y, m, d, work), all[(N - 1) / 2], 0, 0);
        free(x), free(y), free(work), free(all);
    }
}

/* The whole network with each alignment method's step (every row of the
 * table with one, and the MMD with 3 kernels, unbiased) or the L2-SP penalty
 * on the feature extractor, end to end against finite differences: CE on
 * labelled points plus lambda times the loss; for a method with parameters
 * (DANN) through the reversal, the network descending CE - lambda loss and
 * the discriminator CE + lambda loss. */
typedef struct {
    tls_model *m;
    tls_acts *a, *b;
    const float *xs, *xt, *w0;
    const int *ys;
    int ns, nt;
    float lambda;
    const tls_align_method *al; /* NULL: L2-SP */
    const tls_engine_params *p;
    float *work;
} remedy_net;

/* Returns CE + sign * lambda * remedy (sign -1: what a reversal gives the
 * network); with backward, the engine's gradients into m->g. */
static double remedy_loss(remedy_net *r, double sign, int backward) {
    tls_model *m = r->m;
    int F = m->F, ns = r->ns, nt = r->nt;
    if (backward) tls_model_zero_grad(m);
    tls_model_features_forward(r->a, m, r->xs, ns);
    tls_model_classifier_forward(r->a, m, ns);
    double ce = tls_crossentropy_forward(r->a->probs, r->a->logits, r->ys, ns, m->C);
    tls_model_features_forward(r->b, m, r->xt, nt);
    if (backward) {
        memset(r->a->dlogits, 0, sizeof(float) * (size_t)ns * m->C);
        tls_crossentropy_backward(r->a->dlogits, r->a->probs, r->ys, 1.0f, ns, m->C);
        tls_model_classifier_backward(m, r->a, ns);
        memset(r->b->dfeat, 0, sizeof(float) * (size_t)nt * F);
    }
    float *dxs = backward ? r->a->dfeat : NULL, *dxt = backward ? r->b->dfeat : NULL;
    double extra = 0.0;
    if (r->al)
        extra =
            sign * r->lambda *
            r->al->step(dxs, dxt, r->lambda, m, r->a->feat, r->b->feat, ns, nt, F, r->p, r->work);
    if (backward) {
        tls_model_features_backward(m, r->a, r->xs, ns);
        tls_model_features_backward(m, r->b, r->xt, nt);
    }
    if (!r->al) {
        float *tmp = malloc(sizeof(float) * m->n_extractor);
        extra = tls_l2sp_forward_backward(backward ? m->grads_mem : tmp, r->lambda, m->params_mem,
                                          r->w0, m->n_extractor);
        free(tmp);
    }
    return ce + extra;
}

static void check_network_remedy(const char *what, const tls_align_method *al,
                                 const tls_engine_params *p, float lambda, tls_rng *rng) {
    enum { D = 3, H = 8, F = 5, C = 3, NS = 9, NT = 7 };
    char name[128];
    snprintf(name, sizeof(name), "network gradient (CE + lambda %s)", what);
    remedy_net r = {0};
    tls_model_create(&r.m, D, H, F, C, al && al->has_params ? p->disc_hidden : 0);
    tls_acts_create(&r.a, r.m, NS);
    tls_acts_create(&r.b, r.m, NT);
    tls_model_init(r.m, rng);
    float *xs = randv(rng, NS * D, 1), *xt = randv(rng, NT * D, 1);
    float *w0 = randv(rng, (int)r.m->n_extractor, 0.2);
    for (size_t i = 0; i < r.m->n_extractor; i++) w0[i] += r.m->params_mem[i];
    int ys[NS] = {0, 1, 2, 0, 1, 2, 0, 1, 2};
    r.xs = xs, r.xt = xt, r.ys = ys, r.ns = NS, r.nt = NT, r.w0 = w0;
    r.lambda = lambda, r.al = al, r.p = p;
    r.work = malloc(sizeof(float) * (al && al->work_floats ? al->work_floats(NS, NT, F, p) : 1));
    remedy_loss(&r, 1.0, 1);
    int checked = 0;
    for (size_t i = 0; i < r.m->nparams; i++) {
        double sign = al && al->has_params && i < r.m->n_net ? -1.0 : 1.0;
        float keep = r.m->params_mem[i], h = 1e-3f;
        double l0 = remedy_loss(&r, sign, 0);
        r.m->params_mem[i] = keep + h;
        double lp = remedy_loss(&r, sign, 0);
        r.m->params_mem[i] = keep - h;
        double lm = remedy_loss(&r, sign, 0);
        r.m->params_mem[i] = keep;
        expect_grad(name, r.m->grads_mem[i], lp, l0, lm, h, 2e-2, 2e-3);
        checked++;
    }
    expect_close("remedy network: every parameter checked", checked, (double)r.m->nparams, 0, 0);
    free(xs), free(xt), free(w0), free(r.work);
    tls_acts_destroy(&r.a);
    tls_acts_destroy(&r.b);
    tls_model_destroy(&r.m);
}

static void test_network_remedies(tls_rng *rng) {
    tls_engine_params p = tls_engine_defaults();
    p.disc_hidden = 6;
    for (int i = 0; i < tls_align_count; i++)
        if (tls_align_methods[i].step)
            check_network_remedy(tls_align_methods[i].loss, &tls_align_methods[i], &p, 1.3f, rng);
    p.mmd_gammas = (tls_reals){3, {0.5, 1.0, 2.0}};
    p.mmd_estimator = TLS_MMD_UNBIASED;
    check_network_remedy("3-kernel unbiased MMD^2", &tls_align_methods[TLS_ALIGN_MMD], &p, 0.7f,
                         rng);
    check_network_remedy("L2-SP", NULL, &p, 0.4f, rng);
}

/* ---- the table of alignment methods (align.h) --------------------------- */

/* lambda * row's loss of x (n, F), y (m, F) in double, from its float step without gradients. */
static double align_loss_of(const tls_align_method *al, tls_model *md, const float *x,
                            const float *y, int n, int m, int F, const tls_engine_params *p,
                            float *work) {
    return al->step(NULL, NULL, 1.0f, md, x, y, n, m, F, p, work);
}

/* One row's step against its contract, at n <= N source and m <= M target
 * points: the same loss with and without gradients; gradients ADDED into dx
 * and dy (which start at 0.5) equal to lambda * its finite differences,
 * reversed for a method with parameters, whose own gradient goes into md's;
 * no write past work_floats(N, M, F, p) floats. */
static void check_align_method(const tls_align_method *al, const tls_engine_params *p, int N, int M,
                               int n, int m, tls_rng *rng) {
    enum { D = 3, H = 5, F = 4, C = 2, GUARD = 64 };
    char what[160];
    tls_model *md;
    tls_model_create(&md, D, H, F, C, al->has_params ? p->disc_hidden : 0);
    tls_model_init(md, rng);
    float *x = randv(rng, n * F, 0.8), *y = randv(rng, m * F, 1.1);
    for (int i = 0; i < m * F; i++) y[i] += 0.3f;
    size_t wf = al->work_floats ? al->work_floats(N, M, F, p) : 0;
    float *work = malloc(sizeof(float) * (wf + GUARD)), *dx = malloc(sizeof(float) * n * F);
    float *dy = malloc(sizeof(float) * m * F);
    for (int i = 0; i < GUARD; i++) work[wf + i] = -7.0f;
    for (int i = 0; i < n * F; i++) dx[i] = 0.5f;
    for (int i = 0; i < m * F; i++) dy[i] = 0.5f;
    const float lambda = 0.7f;
    tls_model_zero_grad(md);
    double v = al->step(dx, dy, lambda, md, x, y, n, m, F, p, work);
    snprintf(what, sizeof(what), "align %s (%d, %d): loss with and without gradients", al->name, n,
             m);
    expect_close(what, align_loss_of(al, md, x, y, n, m, F, p, work), v, 0, 0);
    int guard_ok = 1;
    for (int i = 0; i < GUARD; i++) guard_ok &= work[wf + i] == -7.0f;
    snprintf(what, sizeof(what), "align %s (%d, %d): within work_floats", al->name, n, m);
    expect_close(what, guard_ok, 1, 0, 0);
    double sign = al->has_params ? -1.0 : 1.0;
    float *vars[] = {x, y}, *grads[] = {dx, dy};
    int sizes[] = {n * F, m * F};
    double l0 = sign * lambda * align_loss_of(al, md, x, y, n, m, F, p, work);
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < sizes[t]; i++) {
            float keep = vars[t][i], h = 1e-2f;
            vars[t][i] = keep + h;
            double lp = sign * lambda * align_loss_of(al, md, x, y, n, m, F, p, work);
            vars[t][i] = keep - h;
            double lm = sign * lambda * align_loss_of(al, md, x, y, n, m, F, p, work);
            vars[t][i] = keep;
            snprintf(what, sizeof(what), "align %s (%d, %d): %s added", al->name, n, m,
                     t ? "dy" : "dx");
            expect_grad(what, grads[t][i] - 0.5f, lp, l0, lm, h, 1e-2, 1e-4);
        }
    l0 = lambda * align_loss_of(al, md, x, y, n, m, F, p, work);
    for (size_t i = 0; i < md->nparams; i++) { /* the method's own parameters, if any */
        float keep = md->params_mem[i], h = 1e-2f;
        md->params_mem[i] = keep + h;
        double lp = lambda * align_loss_of(al, md, x, y, n, m, F, p, work);
        md->params_mem[i] = keep - h;
        double lm = lambda * align_loss_of(al, md, x, y, n, m, F, p, work);
        md->params_mem[i] = keep;
        snprintf(what, sizeof(what), "align %s (%d, %d): parameter gradient", al->name, n, m);
        expect_grad(what, md->grads_mem[i], lp, l0, lm, h, 1e-2, 1e-4);
    }
    free(x), free(y), free(work), free(dx), free(dy);
    tls_model_destroy(&md);
}

/* Every row of the table: its contract, in the settings that change its
 * step (the MMD's kernels and estimators; the median bandwidth, which is not
 * differentiated, only for its workspace); the words the configuration
 * reads are the rows' names in order, distinct. */
static void test_align_methods(tls_rng *rng) {
    printf("test_numerics: alignment methods:");
    for (int i = 0; i < tls_align_count; i++) {
        const tls_align_method *al = &tls_align_methods[i];
        printf(" %s", al->name);
        expect_close("align: tls_align_name(i) is row i's name", tls_align_name(i) == al->name, 1,
                     0, 0);
        for (int j = 0; j < i; j++)
            expect_close("align: distinct names", strcmp(tls_align_methods[j].name, al->name) != 0,
                         1, 0, 0);
        if (!al->step) continue;
        tls_engine_params p = tls_engine_defaults();
        p.disc_hidden = 3;
        check_align_method(al, &p, 7, 6, 7, 6, rng);
        check_align_method(al, &p, 7, 6, 3, 6, rng); /* a last, partial batch */
        p.mmd_gammas = (tls_reals){3, {0.3, 1.0, 2.5}};
        p.mmd_estimator = TLS_MMD_UNBIASED;
        check_align_method(al, &p, 5, 4, 5, 4, rng);
        p.mmd_bandwidth = TLS_BANDWIDTH_MEDIAN;
        tls_model *md;
        tls_model_create(&md, 3, 5, 4, 2, al->has_params ? p.disc_hidden : 0);
        tls_model_init(md, rng);
        size_t wf = al->work_floats ? al->work_floats(9, 8, 4, &p) : 0;
        float *x = randv(rng, 9 * 4, 1), *y = randv(rng, 8 * 4, 1), *dx = calloc(9 * 4, 4);
        float *dy = calloc(8 * 4, 4), *work = malloc(sizeof(float) * (wf + 64));
        for (int k = 0; k < 64; k++) work[wf + k] = -7.0f;
        double v = al->step(dx, dy, 0.5f, md, x, y, 9, 8, 4, &p, work);
        int guard_ok = isfinite(v);
        for (int k = 0; k < 64; k++) guard_ok &= work[wf + k] == -7.0f;
        expect_close("align: finite, within work_floats, median bandwidth", guard_ok, 1, 0, 0);
        free(x), free(y), free(dx), free(dy), free(work);
        tls_model_destroy(&md);
    }
    printf("\n");
    expect_close("align: no name past the rows",
                 tls_align_name(tls_align_count) == NULL && tls_align_name(-1) == NULL, 1, 0, 0);
}

/* ---- a configuration's sets (data.h) ------------------------------------ */

/* tls_data_draw from files: the label shift's class counts, labelled and test
 * rows disjoint, distinct source rows, no write past tls_data_draw_ints; and
 * the conditional shift: the rotation kind's draws at 0 with round(share * n)
 * labels of each target set moved to the next class. */
static void test_data_draw(void) {
    enum { NF = 40, DIM = 4, C = 3, GUARD = 16 };
    float X[NF * DIM];
    int y[NF];
    for (int i = 0; i < NF; i++) {
        y[i] = (i * 7) % C;
        for (int j = 0; j < DIM; j++) X[i * DIM + j] = (float)i + 0.25f * (float)j;
    }
    tls_points S = {X, y, NF, DIM}, T = {X, y, NF, DIM};
    tls_engine_params p = tls_engine_defaults();
    p.dim = DIM, p.classes = C, p.n_source = 25, p.n_test = 12;
    p.source_data = &S, p.target_data = &T, p.shift_kind = TLS_SHIFT_LABEL;
    tls_point pt = {0.5, 0.0, 9, 7};
    size_t nw = tls_data_draw_ints(&p, &pt);
    int *work = malloc(sizeof(int) * (nw + GUARD));
    for (int i = 0; i < GUARD; i++) work[nw + i] = -7;
    float xs[25 * DIM], xl[9 * DIM], xt[12 * DIM];
    int ys[25], yl[9], yt[12], used[NF] = {0}, want[C], got[C] = {0}, ok = 1;
    tls_data_sets sets = {xs, ys, xl, yl, xt, yt};
    tls_data_draw(&sets, &p, &pt, work);
    for (int i = 0; i < GUARD; i++) ok &= work[nw + i] == -7;
    expect_close("data: draw within tls_data_draw_ints", ok, 1, 0, 0);
    for (int i = 0; i < 25; i++) ok &= used[(int)xs[i * DIM]]++ == 0;
    expect_close("data: distinct source rows", ok, 1, 0, 0);
    memset(used, 0, sizeof(used));
    for (int i = 0; i < 9; i++) used[(int)xl[i * DIM]]++, got[yl[i]]++;
    for (int i = 0; i < 12; i++) ok &= used[(int)xt[i * DIM]]++ == 0;
    expect_close("data: labelled and test rows disjoint", ok, 1, 0, 0);
    tls_data_label_counts(want, 9, C, 0.5, 1);
    for (int k = 0; k < C; k++)
        expect_close("data: labelled counts, label shift", got[k], want[k], 0, 0);
    tls_data_label_counts(want, 12, C, 0.5, 0);
    memset(got, 0, sizeof(got));
    for (int i = 0; i < 12; i++) got[yt[i]]++;
    for (int k = 0; k < C; k++)
        expect_close("data: test counts, label shift", got[k], want[k], 0, 0);
    free(work);

    tls_engine_params q = tls_engine_defaults();
    q.n_source = 10, q.n_test = 20, q.classes = C;
    tls_point at0 = {0.0, 0.0, 10, 3}, swapped = {0.3, 0.0, 10, 3};
    work = malloc(sizeof(int) * tls_data_draw_ints(&q, &at0));
    float a[2][10 * 2], b[2][10 * 2], c[2][20 * 2];
    int ya[2][10], yb[2][10], yc[2][20];
    for (int t = 0; t < 2; t++) {
        q.shift_kind = t ? TLS_SHIFT_CONDITIONAL : TLS_SHIFT_ROTATION;
        tls_data_sets st = {a[t], ya[t], b[t], yb[t], c[t], yc[t]};
        tls_data_draw(&st, &q, t ? &swapped : &at0, work);
    }
    int moved_t = 0, moved_l = 0;
    ok = memcmp(a[0], a[1], sizeof(a[0])) == 0 && memcmp(b[0], b[1], sizeof(b[0])) == 0 &&
         memcmp(c[0], c[1], sizeof(c[0])) == 0 && memcmp(ya[0], ya[1], sizeof(ya[0])) == 0;
    for (int i = 0; i < 20; i++)
        if (yc[1][i] != yc[0][i]) moved_t++, ok &= yc[1][i] == (yc[0][i] + 1) % C;
    for (int i = 0; i < 10; i++)
        if (yb[1][i] != yb[0][i]) moved_l++, ok &= yb[1][i] == (yb[0][i] + 1) % C;
    expect_close("data: conditional shift keeps the points, moves labels by one", ok, 1, 0, 0);
    expect_close("data: conditional shift, test labels moved", moved_t, 6, 0, 0);
    expect_close("data: conditional shift, labelled labels moved", moved_l, 3, 0, 0);
    free(work);
}

/* Adam over a range leaves the rest alone and matches the full step there. */
static void test_adam_range(tls_rng *rng) {
    tls_model *a, *b;
    tls_model_create(&a, 3, 4, 5, 2, 3);
    tls_model_create(&b, 3, 4, 5, 2, 3);
    tls_model_init(a, rng);
    memcpy(b->params_mem, a->params_mem, 4 * a->nparams * sizeof(float));
    for (size_t i = 0; i < a->nparams; i++)
        a->grads_mem[i] = b->grads_mem[i] = (float)tls_rng_normal(rng);
    float keep[128];
    memcpy(keep, a->params_mem, a->nparams * sizeof(float));
    tls_adam opt = {1e-3f, 0.9f, 0.999f, 1e-8f};
    tls_model_adam_step(a, &opt);
    tls_model_adam_step_range(b, &opt, a->n_extractor, a->n_net - a->n_extractor);
    int ok = 1;
    for (size_t i = 0; i < a->nparams; i++) {
        int inside = i >= a->n_extractor && i < a->n_net;
        ok &= inside ? b->params_mem[i] == a->params_mem[i] : b->params_mem[i] == keep[i];
    }
    expect_close("adam on a range: that range as the full step, the rest unchanged", ok, 1, 0, 0);
    expect_close("discriminator after the network's parameters", (double)(a->p.Wd1 - a->params_mem),
                 (double)a->n_net, 0, 0);
    tls_model_destroy(&a);
    tls_model_destroy(&b);
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
    test_linear_copies();
    test_adam_copies();
    test_crossentropy(&rng);
    test_mmd(&rng);
    test_mmd_kernels(&rng);
    test_network(&rng);
    test_mmd_variants(&rng);
    test_mmd_variant_kernels(&rng);
    test_coral(&rng);
    test_bce_l2sp(&rng);
    test_median(&rng);
    test_network_remedies(&rng);
    test_align_methods(&rng);
    test_data_draw();
    test_adam_range(&rng);
    test_adam(&rng);
    test_init(&rng);
    printf("test_numerics: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
