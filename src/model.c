#include "tlsweep/model.h"

#include "tlsweep/check.h"
#include "tlsweep/nn.h"

#include <math.h>
#include <string.h>

size_t tls_model_nparams(int D, int H, int F, int C, int Hd) {
    size_t disc = Hd > 0 ? (size_t)Hd * F + Hd + Hd + 1 : 0;
    return (size_t)H * D + H + (size_t)F * H + F + (size_t)C * F + C + disc;
}

static void model_views(tls_params *p, float *mem, int D, int H, int F, int C, int Hd) {
    p->W1 = mem;
    p->b1 = p->W1 + (size_t)H * D;
    p->W2 = p->b1 + H;
    p->b2 = p->W2 + (size_t)F * H;
    p->W3 = p->b2 + F;
    p->b3 = p->W3 + (size_t)C * F;
    p->Wd1 = p->bd1 = p->Wd2 = p->bd2 = NULL;
    if (Hd > 0) {
        p->Wd1 = p->b3 + C;
        p->bd1 = p->Wd1 + (size_t)Hd * F;
        p->Wd2 = p->bd1 + Hd;
        p->bd2 = p->Wd2 + Hd;
    }
}

int tls_model_create(tls_model **out, int D, int H, int F, int C, int Hd) {
    *out = NULL;
    tls_model *m;
    TLS_ALLOC(m, 1);
    m->D = D, m->H = H, m->F = F, m->C = C, m->Hd = Hd > 0 ? Hd : 0;
    m->nparams = tls_model_nparams(D, H, F, C, m->Hd);
    m->n_net = tls_model_nparams(D, H, F, C, 0);
    m->n_extractor = (size_t)H * D + H + (size_t)F * H + F;
    /* one block for the four buffers, each a named slice of it */
    m->params_mem = calloc(4 * m->nparams, sizeof(float));
    if (!m->params_mem) {
        size_t n = m->nparams;
        free(m);
        TLS_CHECK(0, TLS_ERR_NOMEM, "out of memory for %zu model parameters", n);
    }
    m->grads_mem = m->params_mem + m->nparams;
    m->m_mem = m->grads_mem + m->nparams;
    m->v_mem = m->m_mem + m->nparams;
    model_views(&m->p, m->params_mem, D, H, F, C, m->Hd);
    model_views(&m->g, m->grads_mem, D, H, F, C, m->Hd);
    *out = m;
    return TLS_OK;
}

void tls_model_destroy(tls_model **m) {
    if (!*m) return;
    free((*m)->params_mem);
    TLS_FREE(*m);
}

static void uniform_fill(float *w, size_t n, double bound, tls_rng *rng) {
    for (size_t i = 0; i < n; i++) w[i] = (float)((2.0 * tls_rng_uniform(rng) - 1.0) * bound);
}

void tls_model_init(tls_model *m, tls_rng *rng) {
    double b1 = 1.0 / sqrt(m->D), b2 = 1.0 / sqrt(m->H), b3 = 1.0 / sqrt(m->F);
    uniform_fill(m->p.W1, (size_t)m->H * m->D, b1, rng);
    uniform_fill(m->p.b1, m->H, b1, rng);
    uniform_fill(m->p.W2, (size_t)m->F * m->H, b2, rng);
    uniform_fill(m->p.b2, m->F, b2, rng);
    uniform_fill(m->p.W3, (size_t)m->C * m->F, b3, rng);
    uniform_fill(m->p.b3, m->C, b3, rng);
    if (m->Hd > 0) {
        double bd1 = 1.0 / sqrt(m->F), bd2 = 1.0 / sqrt(m->Hd);
        uniform_fill(m->p.Wd1, (size_t)m->Hd * m->F, bd1, rng);
        uniform_fill(m->p.bd1, m->Hd, bd1, rng);
        uniform_fill(m->p.Wd2, m->Hd, bd2, rng);
        uniform_fill(m->p.bd2, 1, bd2, rng);
    }
    memset(m->grads_mem, 0, 3 * m->nparams * sizeof(float));
    m->step = 0;
}

void tls_model_zero_grad(tls_model *m) {
    memset(m->grads_mem, 0, m->nparams * sizeof(float));
}

void tls_model_adam_step(tls_model *m, const tls_adam *opt) {
    tls_model_adam_step_range(m, opt, 0, m->nparams);
}

void tls_model_adam_step_range(tls_model *m, const tls_adam *opt, size_t first, size_t n) {
    m->step++;
    float bc1 = 1.0f - powf(opt->beta1, (float)m->step);
    float bc2_sqrt = sqrtf(1.0f - powf(opt->beta2, (float)m->step));
    tls_adam_update(m->params_mem + first, m->m_mem + first, m->v_mem + first, m->grads_mem + first,
                    n, opt->beta1, opt->beta2, opt->lr / bc1, bc2_sqrt, opt->eps);
}

int tls_model_check_finite(const tls_model *m) {
    for (size_t i = 0; i < m->nparams; i++)
        if (!isfinite(m->params_mem[i])) return TLS_ERR_NUMERIC;
    return TLS_OK;
}

/* floats of n rows of width w, rounded up to whole 64-byte lines */
static size_t lines(int n, int w) {
    return ((size_t)n * w + 15) / 16 * 16;
}

int tls_acts_create(tls_acts **out, const tls_model *m, int n_max) {
    *out = NULL;
    tls_acts *a;
    TLS_ALLOC(a, 1);
    a->n_max = n_max;
    /* each array on a 64-byte boundary: the AVX-512 passes load whole lines */
    size_t nh = lines(n_max, m->H), nf = lines(n_max, m->F), nc = lines(n_max, m->C);
    size_t total = 2 * nh + 2 * nf + 3 * nc;
    float *mem = aligned_alloc(64, sizeof(float) * (total > 0 ? total : 16));
    if (!mem) {
        free(a);
        TLS_CHECK(0, TLS_ERR_NOMEM, "out of memory for activations of %d rows", n_max);
    }
    memset(mem, 0, sizeof(float) * total);
    a->h1 = mem;
    a->feat = a->h1 + nh;
    a->logits = a->feat + nf;
    a->probs = a->logits + nc;
    a->dh1 = a->probs + nc;
    a->dfeat = a->dh1 + nh;
    a->dlogits = a->dfeat + nf;
    *out = a;
    return TLS_OK;
}

void tls_acts_destroy(tls_acts **a) {
    if (!*a) return;
    free((*a)->h1);
    TLS_FREE(*a);
}

void tls_model_features_forward(tls_acts *a, const tls_model *m, const float *X, int n) {
    tls_linear_relu_forward(a->h1, X, m->p.W1, m->p.b1, n, m->D, m->H);
    tls_linear_relu_forward(a->feat, a->h1, m->p.W2, m->p.b2, n, m->H, m->F);
}

void tls_model_features_backward(tls_model *m, tls_acts *a, const float *X, int n) {
    /* dfeat -> dz2 in place (ReLU mask), then through W2 and h1's ReLU mask into dh1 */
    tls_relu_backward(a->dfeat, a->feat, n * m->F);
    tls_linear_relu_backward(a->dh1, m->g.W2, m->g.b2, a->dfeat, a->h1, m->p.W2, n, m->H, m->F);
    tls_linear_backward(NULL, m->g.W1, m->g.b1, a->dh1, X, m->p.W1, n, m->D, m->H);
}

void tls_model_classifier_forward(tls_acts *a, const tls_model *m, int n) {
    tls_linear_forward(a->logits, a->feat, m->p.W3, m->p.b3, n, m->F, m->C);
}

void tls_model_classifier_backward(tls_model *m, tls_acts *a, int n) {
    memset(a->dfeat, 0, (size_t)n * m->F * sizeof(float));
    tls_linear_backward(a->dfeat, m->g.W3, m->g.b3, a->dlogits, a->feat, m->p.W3, n, m->F, m->C);
}

void tls_model_disc_forward(float *hd, float *logit, const tls_model *m, const float *feat, int n) {
    tls_linear_relu_forward(hd, feat, m->p.Wd1, m->p.bd1, n, m->F, m->Hd);
    tls_linear_forward(logit, hd, m->p.Wd2, m->p.bd2, n, m->Hd, 1);
}

void tls_model_disc_backward(tls_model *m, float *dfeat, int reverse, float *dhd,
                             const float *dlogit, const float *hd, const float *feat, int n) {
    size_t nh = (size_t)n * m->Hd;
    tls_linear_relu_backward(dhd, m->g.Wd2, m->g.bd2, dlogit, hd, m->p.Wd2, n, m->Hd, 1);
    tls_linear_backward(NULL, m->g.Wd1, m->g.bd1, dhd, feat, m->p.Wd1, n, m->F, m->Hd);
    if (!dfeat) return;
    if (reverse)
        for (size_t i = 0; i < nh; i++) dhd[i] = -dhd[i]; /* exact */
    tls_linear_backward(dfeat, NULL, NULL, dhd, feat, m->p.Wd1, n, m->F, m->Hd);
}
