/* model.h - the article's network: feature extractor
 * Linear(D->H)-ReLU-Linear(H->F)-ReLU and classifier Linear(F->C), trained
 * with Adam; optionally a domain discriminator on the features
 * Linear(F->Hd)-ReLU-Linear(Hd->1) (DANN), trained by the same Adam.
 *
 * Parameters, gradients and both Adam moments each live in ONE allocation of
 * tls_model_nparams floats, laid out W1 b1 W2 b2 W3 b3 [Wd1 bd1 Wd2 bd2]; the
 * named pointers are views into it, so the optimizer is one flat loop. The
 * network's parameters come first: with or without a discriminator they are
 * drawn and laid out alike. */
#ifndef TLSWEEP_MODEL_H
#define TLSWEEP_MODEL_H

#include "tlsweep/rng.h"

#include <stddef.h>

typedef struct {
    float *W1; /* (H, D) */
    float *b1; /* (H) */
    float *W2; /* (F, H) */
    float *b2; /* (F) */
    float *W3; /* (C, F) */
    float *b3; /* (C) */
    /* the discriminator; NULL when Hd = 0 */
    float *Wd1; /* (Hd, F) */
    float *bd1; /* (Hd) */
    float *Wd2; /* (1, Hd) */
    float *bd2; /* (1) */
} tls_params;

typedef struct {
    int D, H, F, C;     /* input dim, hidden width, feature width, classes */
    int Hd;             /* discriminator hidden width, 0: no discriminator */
    size_t nparams;     /* total floats in each of the four buffers below */
    size_t n_net;       /* floats of the network (W1 .. b3), the first of nparams */
    size_t n_extractor; /* floats of the feature extractor (W1 .. b2), the first of n_net */
    float *params_mem, *grads_mem, *m_mem, *v_mem;
    tls_params p, g; /* views into params_mem and grads_mem */
    long step;       /* Adam steps taken (PyTorch's `step`) */
} tls_model;

/* Activations of the network for up to n_max rows; reused across steps. */
typedef struct {
    int n_max;
    float *h1;      /* (n_max, H) hidden after ReLU */
    float *feat;    /* (n_max, F) features after ReLU */
    float *logits;  /* (n_max, C) */
    float *probs;   /* (n_max, C) softmax cache for cross-entropy */
    float *dh1;     /* (n_max, H) */
    float *dfeat;   /* (n_max, F) */
    float *dlogits; /* (n_max, C) */
} tls_acts;

typedef struct {
    float lr, beta1, beta2, eps; /* PyTorch Adam defaults: 1e-3, 0.9, 0.999, 1e-8 */
} tls_adam;

size_t tls_model_nparams(int D, int H, int F, int C, int Hd);
/* Creates a zeroed model, with a discriminator of Hd hidden units when Hd >
 * 0; *out is NULL on failure. Owned by the caller. */
int tls_model_create(tls_model **out, int D, int H, int F, int C, int Hd);
void tls_model_destroy(tls_model **m);
/* PyTorch's nn.Linear default: W and b uniform in +-1/sqrt(fan_in), drawn
 * in the order W1, b1, W2, b2, W3, b3 [, Wd1, bd1, Wd2, bd2], row-major.
 * Resets Adam state. */
void tls_model_init(tls_model *m, tls_rng *rng);
void tls_model_zero_grad(tls_model *m);
/* One Adam step over all parameters, bias-corrected as torch.optim.Adam. */
void tls_model_adam_step(tls_model *m, const tls_adam *opt);
/* One Adam step over parameters [first, first + n) only (the others keep
 * their values and moments, as parameters without a gradient in PyTorch);
 * the step count, shared by all, advances. */
void tls_model_adam_step_range(tls_model *m, const tls_adam *opt, size_t first, size_t n);
/* 0 if every parameter is finite, TLS_ERR_NUMERIC otherwise. */
int tls_model_check_finite(const tls_model *m);

int tls_acts_create(tls_acts **out, const tls_model *m, int n_max);
void tls_acts_destroy(tls_acts **a);

/* a->h1, a->feat = feature extractor(X (n, D)). */
void tls_model_features_forward(tls_acts *a, const tls_model *m, const float *X, int n);
/* Gradients of the feature extractor from a->dfeat (n, F), added into m->g;
 * uses a->h1, a->feat of the matching forward. Clobbers a->dh1. */
void tls_model_features_backward(tls_model *m, tls_acts *a, const float *X, int n);
/* a->logits = classifier(a->feat) for n rows. */
void tls_model_classifier_forward(tls_acts *a, const tls_model *m, int n);
/* Classifier gradients from a->dlogits, added into m->g and a->dfeat
 * (which it overwrites first: dfeat = dlogits @ W3). */
void tls_model_classifier_backward(tls_model *m, tls_acts *a, int n);

/* The discriminator on features feat (n, F): hd (n, Hd) hidden after ReLU,
 * logit (n) its output (the log-odds of "target"). */
void tls_model_disc_forward(float *hd, float *logit, const tls_model *m, const float *feat, int n);
/* Discriminator gradients from dlogit (n), added into m->g's disc views;
 * the gradient w.r.t. the features added into dfeat (n, F), negated when
 * `reverse` (a gradient reversal layer); dfeat NULL: none. dhd (n, Hd) is
 * scratch; hd is the forward's. */
void tls_model_disc_backward(tls_model *m, float *dfeat, int reverse, float *dhd,
                             const float *dlogit, const float *hd, const float *feat, int n);

#endif
