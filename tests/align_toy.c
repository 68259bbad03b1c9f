/* A toy alignment loss, to show what adding one takes (docs/HACKING.md, "an
 * alignment loss"): tests/align_toy.py adds these functions and the row at
 * the end to a copy of src/align.c, and nothing else changes. The squared
 * distance of the feature means, ||mean x - mean y||^2 (MMD^2 with the
 * linear kernel). Not compiled on its own. */

static size_t toy_work_floats(int n, int m, int F, const tls_engine_params *p) {
    (void)n, (void)m, (void)p;
    return (size_t)F;
}

static double toy_step(float *dx, float *dy, float lambda, tls_model *md, const float *x,
                       const float *y, int n, int m, int F, const tls_engine_params *p,
                       float *work) {
    (void)md, (void)p;
    float *diff = work; /* (F) mean x - mean y */
    double loss = 0.0;
    for (int a = 0; a < F; a++) {
        double sx = 0.0, sy = 0.0;
        for (int i = 0; i < n; i++) sx += x[(size_t)i * F + a];
        for (int j = 0; j < m; j++) sy += y[(size_t)j * F + a];
        diff[a] = (float)(sx / n - sy / m);
        loss += (double)diff[a] * diff[a];
    }
    if (!dx) return loss;
    for (int a = 0; a < F; a++) {
        float gx = 2.0f * lambda * diff[a] / (float)n, gy = -2.0f * lambda * diff[a] / (float)m;
        for (int i = 0; i < n; i++) dx[(size_t)i * F + a] += gx;
        for (int j = 0; j < m; j++) dy[(size_t)j * F + a] += gy;
    }
    return loss;
}

/* the row */
{"toy", "toy", toy_work_floats, 0, toy_step},
