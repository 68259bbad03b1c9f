#include "tlsweep/engine.h"

#include "tlsweep/align.h"
#include "tlsweep/check.h"
#include "tlsweep/data.h"
#include "tlsweep/mmd.h"
#include "tlsweep/model.h"
#include "tlsweep/nn.h"
#include "tlsweep/rng.h"
#include "tlsweep/scores.h"
#include "tlsweep/transfer.h"

#include <math.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double accuracy(int32_t *confusion, const int *pred, const int *y, int n, int C) {
    int right = 0;
    for (int i = 0; i < n; i++) {
        confusion[y[i] * C + pred[i]]++;
        right += pred[i] == y[i];
    }
    return (double)right / n;
}

/* Working memory of one run: the views below live in ONE allocation, carved
 * by the size table of ws_create (a view of no elements is NULL). */
typedef struct {
    float *xs;         /* (n_source, dim) */
    int *ys;           /* (n_source) */
    float *xt;         /* (n_test, dim) */
    int *yt;           /* (n_test) */
    float *xl;         /* (n_target, dim) labelled target */
    int *yl;           /* (n_target) */
    float *xb;         /* (batch, dim) gathered source batch */
    int *yb;           /* (batch) */
    int *order;        /* (n_source) batch order */
    int *pred;         /* (max(n_source, n_test, n_target)) */
    float *feat_s;     /* (n_source, features) */
    float *feat_t;     /* (n_test, features) */
    float *pad_x;      /* (2k, max(dim, features)), k = min(n_source, n_test) */
    int *pad_pick;     /* (n_source) random order of the source points */
    int *pad_pool;     /* (2k) shuffled pooled points */
    int *pad_label;    /* (2k) domain labels, 0 source, 1 target */
    int *pad_pred;     /* (k) predictions on the held-out half */
    int *data_work;    /* (tls_data_draw_ints) */
    int *dist_idx;     /* (max(n_source, n_test)) row order for distance subsets; distance_points */
    float *dist_x;     /* (min(distance_points, max(n_source, n_test)), max(dim, features)) */
    float *dist_y;     /* (min(distance_points, max(n_source, n_test)), max(dim, features)) */
    float *mmd_work;   /* (tls_mmd_work_floats(n_source, n_test, max(dim, features))) distances */
    float *xtb;        /* (mt, dim) the step's target points; mt < n_test only */
    int *tb_idx;       /* (n_test) permutation each step's mt points are drawn from; mt < n_test */
    float *probs_mmd;  /* (n_test, classes) the transfer network's softmax on the test set */
    float *probs_tgt;  /* (n_test, classes) the target-only network's */
    float *align_work; /* (align->work_floats(batch, mt, features)) */
    int *cls;          /* (2 * classes) per-class counts and quotas of the holdouts */
    int *split_idx;    /* (max(n_source, n_target)) a random order, then held-out flags */
    float *split_x;    /* (max(n_source, n_target), dim) rows being partitioned; holdouts */
    int *split_y;      /* (max(n_source, n_target)); holdouts */
    float *xtv;        /* (n_test + n_target, dim) test then held-out labelled points: the SVMs */
    int *pred_tv;      /* (n_test + n_target) */
    float *pv_mmd; /* (n_target, classes) the transfer network's softmax on the held-out points */
    float *pv_tgt; /* (n_target, classes) the target-only network's */
    double *snd_work; /* (tls_snd_work_doubles(n_test, classes)) */
    double *lr_work;  /* (tls_logreg_work_doubles(n_source + n_test, max(dim, features))) */
    double *lr_coef;  /* (2 max(dim, features) + 1) the domain classifier on (x, x^2) */
    double *iw_input; /* (n_source) IWCV's importance weights, from the inputs */
    double *iw_feat;  /* (n_source) DEV's, from the transfer network's features */
    int *wrong;      /* (n_source) 0-1 loss of the transfer network on the held-out source points */
    float *w_src;    /* (n_extractor) feature extractor after source training; L2-SP */
    double *ts_work; /* (tls_ts_work_doubles(n_target, features, classes)) transferability */
    void *mem;       /* the allocation */
    int mt;          /* unlabelled target points per step: min(target_batch, n_test), or n_test */
    const tls_align_method *align; /* align.loss's row of the table */
    /* the training and held-out parts (selection.*_holdout): rows [0, ns) of xs and [0, nl)
     * of xl train, the nsv and nlv rows after them only validate */
    int ns, nsv; /* source points that train, held out */
    int nl, nlv; /* labelled target points that train, held out */
    tls_model *model;
    tls_acts *as; /* source batch / labelled target activations */
    tls_acts *at; /* target test and whole-set activations */
} run_ws;

/* A row of the size table: the address of a view (a pointer of run_ws), its
 * element size and its count. */
typedef struct {
    void *view;
    size_t size, count;
} ws_view;

/* Each view starts on a cache line; under AddressSanitizer a poisoned line
 * follows it, so that running off a view is caught as between allocations. */
#if defined(__SANITIZE_ADDRESS__) /* GCC */
#define WS_ASAN 1
#elif defined(__has_feature) /* clang */
#if __has_feature(address_sanitizer)
#define WS_ASAN 1
#endif
#endif
#ifdef WS_ASAN
#include <sanitizer/asan_interface.h>
enum { WS_ALIGN = 64, WS_REDZONE = 64 };
#else
enum { WS_ALIGN = 64, WS_REDZONE = 0 };
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

static size_t ws_bytes(const ws_view *v) {
    return (v->size * v->count + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN + WS_REDZONE;
}

static void ws_destroy(run_ws *w) {
    free(w->mem);
    tls_model_destroy(&w->model);
    tls_acts_destroy(&w->as);
    tls_acts_destroy(&w->at);
}

static int imax(int a, int b) {
    return a > b ? a : b;
}

static int ws_create(run_ws *w, const tls_engine_params *p, const tls_point *pt) {
    memset(w, 0, sizeof(*w));
    int D = p->dim, F = p->features, C = p->classes, B = p->batch_size, ns = p->n_source;
    int nt = p->n_test, nl = pt->n_target, DF = imax(D, F), k = ns < nt ? ns : nt;
    int big = imax(imax(ns, nt), nl), held = p->source_holdout > 0.0, tgt = p->target_holdout > 0.0;
    int dist = p->distance_points < imax(ns, nt) ? p->distance_points : imax(ns, nt);
    w->ns = ns, w->nl = nl;
    w->mt = p->align_target_batch > 0 && p->align_target_batch < nt ? p->align_target_batch : nt;
    w->align = &tls_align_methods[p->align_loss];
    int Hd = w->align->has_params ? p->disc_hidden : 0, mtb = w->mt < nt;
    TLS_CALL(tls_model_create(&w->model, D, p->hidden, F, C, Hd));
    TLS_CALL(tls_acts_create(&w->as, w->model, imax(B, nl)));
    TLS_CALL(tls_acts_create(&w->at, w->model, big));
#define VIEW(name, n)                                                                              \
    { &w->name, sizeof(*w->name), (size_t)(n) }
    const ws_view views[] = {
        VIEW(xs, (size_t)ns * D),
        VIEW(ys, ns),
        VIEW(xt, (size_t)nt * D),
        VIEW(yt, nt),
        VIEW(xl, (size_t)nl * D),
        VIEW(yl, nl),
        VIEW(xb, (size_t)B * D),
        VIEW(yb, B),
        VIEW(order, ns),
        VIEW(pred, big),
        VIEW(feat_s, (size_t)ns * F),
        VIEW(feat_t, (size_t)nt * F),
        VIEW(pad_x, (size_t)2 * k * DF),
        VIEW(pad_pick, ns),
        VIEW(pad_pool, 2 * k),
        VIEW(pad_label, 2 * k),
        VIEW(pad_pred, k),
        VIEW(data_work, tls_data_draw_ints(p, pt)),
        VIEW(dist_idx, dist > 0 ? imax(ns, nt) : 0),
        VIEW(dist_x, dist > 0 ? (size_t)dist * DF : 0),
        VIEW(dist_y, dist > 0 ? (size_t)dist * DF : 0),
        VIEW(mmd_work, tls_mmd_work_floats(ns, nt, DF)),
        VIEW(xtb, mtb ? (size_t)w->mt * D : 0),
        VIEW(tb_idx, mtb ? nt : 0),
        VIEW(probs_mmd, (size_t)nt * C),
        VIEW(probs_tgt, (size_t)nt * C),
        VIEW(align_work, w->align->work_floats ? w->align->work_floats(B, w->mt, F, p) : 0),
        VIEW(cls, 2 * C),
        VIEW(split_idx, imax(ns, nl)),
        VIEW(split_x, held || tgt ? (size_t)imax(ns, nl) * D : 0),
        VIEW(split_y, held || tgt ? imax(ns, nl) : 0),
        VIEW(xtv, tgt ? (size_t)(nt + nl) * D : 0),
        VIEW(pred_tv, tgt ? nt + nl : 0),
        VIEW(pv_mmd, tgt ? (size_t)nl * C : 0),
        VIEW(pv_tgt, tgt ? (size_t)nl * C : 0),
        VIEW(snd_work, tls_snd_work_doubles(nt, C)),
        VIEW(lr_work, held ? tls_logreg_work_doubles(ns + nt, DF, TLS_DOMAIN_QUADRATIC) : 0),
        VIEW(lr_coef, held ? (1 + TLS_DOMAIN_QUADRATIC) * DF + 1 : 0),
        VIEW(iw_input, held ? ns : 0),
        VIEW(iw_feat, held ? ns : 0),
        VIEW(wrong, held ? ns : 0),
        VIEW(w_src, p->finetune_strategy == TLS_FINETUNE_L2SP ? w->model->n_extractor : 0),
        VIEW(ts_work, tls_ts_work_doubles(nl, F, C)),
    };
#undef VIEW
    size_t nviews = sizeof(views) / sizeof(views[0]), bytes = 0;
    for (size_t i = 0; i < nviews; i++) bytes += ws_bytes(&views[i]);
    w->mem = aligned_alloc(WS_ALIGN, bytes > 0 ? bytes : WS_ALIGN);
    TLS_CHECK(w->mem, TLS_ERR_NOMEM, "out of memory allocating %zu bytes of workspace", bytes);
    memset(w->mem, 0, bytes);
    char *at = w->mem;
    for (size_t i = 0; i < nviews; i++) {
        void *v = views[i].count > 0 ? at : NULL;
        memcpy(views[i].view, &v, sizeof(v)); /* every view is a data pointer, as void * is */
        ASAN_POISON_MEMORY_REGION(at + views[i].size * views[i].count,
                                  ws_bytes(&views[i]) - views[i].size * views[i].count);
        at += ws_bytes(&views[i]);
    }
    return TLS_OK;
}

static void features_of(float *out, run_ws *w, const float *X, int n) {
    tls_model_features_forward(w->at, w->model, X, n);
    memcpy(out, w->at->feat, sizeof(float) * (size_t)n * w->model->F);
}

/* Proxy A-distance 2(1 - 2 err) of a linear SVM telling source from target:
 * k = min(ns, nt) points of each domain (source points chosen at random),
 * pooled, shuffled, trained on the first half, tested on the second. The
 * split comes from the PAD stream of the seed, so the input-space and
 * feature-space distances use the same points. */
static int proxy_a_distance(double *pad, run_ws *w, const tls_engine_params *p, const tls_point *pt,
                            const float *src, const float *tgt, int d, char *err, size_t errlen) {
    int ns = w->ns, nt = p->n_test, k = ns < nt ? ns : nt, n = 2 * k;
    int *src_pick = w->pad_pick, *pool = w->pad_pool, *label = w->pad_label, *pred = w->pad_pred;
    tls_rng rng;
    tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_PAD, 0);
    for (int i = 0; i < ns; i++) src_pick[i] = i;
    tls_rng_shuffle(&rng, src_pick, ns);
    for (int i = 0; i < n; i++) pool[i] = i;
    tls_rng_shuffle(&rng, pool, n);
    for (int i = 0; i < n; i++) {
        int q = pool[i];
        const float *row = q < k ? src + (size_t)src_pick[q] * d : tgt + (size_t)(q - k) * d;
        memcpy(w->pad_x + (size_t)i * d, row, sizeof(float) * d);
        label[i] = q < k ? 0 : 1;
    }
    int half = n / 2;
    tls_svc_params sp = tls_svc_defaults();
    sp.kernel = TLS_SVC_LINEAR;
    sp.C = p->pad_C;
    TLS_CALL(tls_svc_fit_predict(pred, w->pad_x, label, half, w->pad_x + (size_t)half * d, n - half,
                                 d, &sp, err, errlen));
    int wrong = 0;
    for (int i = half; i < n; i++) wrong += pred[i - half] != label[i];
    double e = (double)wrong / (n - half);
    *pad = 2.0 * (1.0 - 2.0 * e);
    return TLS_OK;
}

/* Copies k rows of a (n, d), chosen by a partial shuffle from rng, into out. */
static void sample_rows(float *out, int *idx, const float *a, int n, int d, int k, tls_rng *rng) {
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 0; i < k; i++) {
        int j = i + (int)tls_rng_below(rng, (uint64_t)(n - i));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        memcpy(out + (size_t)i * d, a + (size_t)idx[i] * d, sizeof(float) * d);
    }
}

/* MMD^2 distance between x (n, d) and y (m, d): on all rows, or with
 * distance_points = k > 0 on k random rows of each set that is larger (the
 * same rows in every call of a configuration: the stream restarts). */
static double distance_mmd2(run_ws *w, const tls_engine_params *p, const tls_point *pt,
                            const float *x, int n, const float *y, int m, int d) {
    int k = p->distance_points;
    float g = (float)p->mmd_gamma;
    if (k <= 0 || (n <= k && m <= k)) return tls_mmd2_forward(x, y, n, m, d, g, w->mmd_work);
    tls_rng rng;
    tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_DISTANCE, 0);
    if (n > k) sample_rows(w->dist_x, w->dist_idx, x, n, d, k, &rng), x = w->dist_x, n = k;
    if (m > k) sample_rows(w->dist_y, w->dist_idx, y, m, d, k, &rng), y = w->dist_y, m = k;
    return tls_mmd2_forward(x, y, n, m, d, g, w->mmd_work);
}

/* Records that `what` (a method or a distance) failed: the configuration's
 * status, and the first failure's reason. */
static void fail(tls_result *r, int method, const char *what, const char *why) {
    if (method >= 0) r->s.mstatus[method] = TLS_STATUS_FAILED;
    if (r->s.status != TLS_STATUS_FAILED)
        snprintf(r->s.reason, sizeof(r->s.reason), "%s: %s", what, why);
    r->s.status = TLS_STATUS_FAILED;
}

/* The step's unlabelled target points: all of them, or mt drawn without
 * replacement by a partial shuffle of the persistent permutation tb_idx. */
static const float *target_batch(run_ws *w, const tls_engine_params *p, tls_rng *rng) {
    int nt = p->n_test, D = p->dim;
    if (w->mt >= nt) return w->xt;
    for (int i = 0; i < w->mt; i++) {
        int j = i + (int)tls_rng_below(rng, (uint64_t)(nt - i));
        int t = w->tb_idx[i];
        w->tb_idx[i] = w->tb_idx[j], w->tb_idx[j] = t;
        memcpy(w->xtb + (size_t)i * D, w->xt + (size_t)w->tb_idx[i] * D, sizeof(float) * D);
    }
    return w->xtb;
}

/* Source phase: epochs of CE + lambda * the alignment loss (align.loss's method)
 * between the batch's and the target points' features. Returns
 * TLS_ERR_NUMERIC with `why` filled when a loss turns non-finite. */
static int train_source(tls_result *r, run_ws *w, const tls_engine_params *p, const tls_point *pt,
                        char *why, size_t whylen) {
    tls_model *m = w->model;
    int D = p->dim, F = p->features, C = p->classes, ns = w->ns, nt = p->n_test;
    int mt = w->mt;
    const tls_align_method *al = w->align;
    tls_adam opt = {(float)p->lr, (float)p->beta1, (float)p->beta2, (float)p->adam_eps};
    float lambda = (float)pt->lambda;
    tls_rng shuf, tbr;
    tls_rng_init(&shuf, (uint64_t)pt->seed, TLS_STREAM_SHUFFLE, 0);
    tls_rng_init(&tbr, (uint64_t)pt->seed, TLS_STREAM_TARGET_BATCH, 0);
    for (int i = 0; i < ns; i++) w->order[i] = i;
    if (w->tb_idx)
        for (int i = 0; i < nt; i++) w->tb_idx[i] = i;
    int nbatches = (ns + p->batch_size - 1) / p->batch_size;
    for (int e = 0; e < p->epochs; e++) {
        tls_rng_shuffle(&shuf, w->order, ns);
        double ce_sum = 0.0, align_sum = 0.0;
        for (int b = 0; b < nbatches; b++) {
            int b0 = b * p->batch_size;
            int nb = ns - b0 < p->batch_size ? ns - b0 : p->batch_size;
            for (int i = 0; i < nb; i++) {
                int q = w->order[b0 + i];
                memcpy(w->xb + (size_t)i * D, w->xs + (size_t)q * D, sizeof(float) * D);
                w->yb[i] = w->ys[q];
            }
            tls_model_zero_grad(m);
            tls_acts *as = w->as, *at = w->at;
            tls_model_features_forward(as, m, w->xb, nb);
            tls_model_classifier_forward(as, m, nb);
            double ce = tls_crossentropy_forward(as->probs, as->logits, w->yb, nb, C);
            memset(as->dlogits, 0, sizeof(float) * (size_t)nb * C);
            tls_crossentropy_backward(as->dlogits, as->probs, w->yb, 1.0f, nb, C);
            tls_model_classifier_backward(m, as, nb);
            int grad = lambda != 0.0f && al->step;
            double loss = 0.0;
            const float *xt = w->xt;
            if (al->step) {
                xt = target_batch(w, p, &tbr);
                tls_model_features_forward(at, m, xt, mt);
                if (grad) memset(at->dfeat, 0, sizeof(float) * (size_t)mt * F);
                float *dxs = grad ? as->dfeat : NULL, *dxt = grad ? at->dfeat : NULL;
                loss =
                    al->step(dxs, dxt, lambda, m, as->feat, at->feat, nb, mt, F, p, w->align_work);
            }
            if (!isfinite(ce) || !isfinite(loss)) {
                snprintf(why, whylen, "non-finite loss in epoch %d batch %d (ce %g, %s %g)", e + 1,
                         b + 1, ce, al->loss, loss);
                return TLS_ERR_NUMERIC;
            }
            tls_model_features_backward(m, as, w->xb, nb);
            if (grad) tls_model_features_backward(m, at, xt, mt);
            tls_model_adam_step(m, &opt);
            ce_sum += ce;
            align_sum += loss;
        }
        r->ce_epoch[e] = (float)(ce_sum / nbatches);
        r->mmd_epoch[e] = al->step ? (float)(align_sum / nbatches) : NAN;
    }
    return TLS_OK;
}

/* Full-batch epochs of cross-entropy on the labelled target points, the
 * loss of each written to curve; strategy: TLS_FINETUNE_* (the target-only
 * network: ALL). Adam over the network's parameters (not a discriminator's). */
static int train_target(float *curve, int epochs, int strategy, run_ws *w,
                        const tls_engine_params *p, const char *phase, char *why, size_t whylen) {
    tls_model *m = w->model;
    tls_acts *as = w->as;
    int C = p->classes, nl = w->nl;
    tls_adam opt = {(float)p->lr, (float)p->beta1, (float)p->beta2, (float)p->adam_eps};
    float alpha = (float)p->l2sp_alpha;
    size_t first = strategy == TLS_FINETUNE_CLASSIFIER ? m->n_extractor : 0;
    if (strategy == TLS_FINETUNE_L2SP)
        memcpy(w->w_src, m->params_mem, sizeof(float) * m->n_extractor);
    if (strategy == TLS_FINETUNE_CLASSIFIER) tls_model_features_forward(as, m, w->xl, nl);
    for (int e = 0; e < epochs; e++) {
        tls_model_zero_grad(m);
        if (strategy != TLS_FINETUNE_CLASSIFIER) tls_model_features_forward(as, m, w->xl, nl);
        tls_model_classifier_forward(as, m, nl);
        double ce = tls_crossentropy_forward(as->probs, as->logits, w->yl, nl, C);
        if (!isfinite(ce)) {
            snprintf(why, whylen, "non-finite loss in %s epoch %d (ce %g)", phase, e + 1, ce);
            return TLS_ERR_NUMERIC;
        }
        memset(as->dlogits, 0, sizeof(float) * (size_t)nl * C);
        tls_crossentropy_backward(as->dlogits, as->probs, w->yl, 1.0f, nl, C);
        tls_model_classifier_backward(m, as, nl);
        if (strategy != TLS_FINETUNE_CLASSIFIER) tls_model_features_backward(m, as, w->xl, nl);
        if (strategy == TLS_FINETUNE_L2SP)
            tls_l2sp_forward_backward(m->grads_mem, alpha, m->params_mem, w->w_src, m->n_extractor);
        tls_model_adam_step_range(m, &opt, first, m->n_net - first);
        curve[e] = (float)ce;
    }
    if (tls_model_check_finite(m) != TLS_OK) {
        snprintf(why, whylen, "non-finite network parameters after %s", phase);
        return TLS_ERR_NUMERIC;
    }
    return TLS_OK;
}

/* A network method's test predictions: accuracy, confusion and the softmax
 * (n_test, classes) into probs. */
static void network_method(tls_result *r, run_ws *w, const tls_engine_params *p, int method,
                           float *probs) {
    int C = p->classes, nt = p->n_test;
    tls_model_features_forward(w->at, w->model, w->xt, nt);
    tls_model_classifier_forward(w->at, w->model, nt);
    tls_argmax_rows(w->pred, w->at->logits, nt, C);
    tls_softmax_forward(probs, w->at->logits, nt, C);
    int32_t *cm = r->confusion + (size_t)method * C * C;
    memset(cm, 0, sizeof(int32_t) * (size_t)C * C);
    r->s.acc[method] = accuracy(cm, w->pred, w->yt, nt, C);
    r->s.mstatus[method] = TLS_STATUS_DONE;
}

/* An SVM method: trains on X (n, D), tests on the target test set and, when
 * labelled target points are held out, on them too (score_target_val). Returns
 * TLS_OK (the method's failure, if any, recorded in r) or a hard error. */
static int svm_method(tls_result *r, run_ws *w, const tls_engine_params *p, int method,
                      const float *X, const int *y, int n) {
    int C = p->classes, nt = p->n_test, D = p->dim, nv = w->nlv;
    char why[sizeof(r->s.reason)] = "";
    double t0 = now_seconds();
    int rc;
    if (nv > 0) { /* one prediction call over the test then the held-out points */
        memcpy(w->xtv, w->xt, sizeof(float) * (size_t)nt * D);
        memcpy(w->xtv + (size_t)nt * D, w->xl + (size_t)w->nl * D, sizeof(float) * (size_t)nv * D);
        rc =
            tls_svc_fit_predict(w->pred_tv, X, y, n, w->xtv, nt + nv, D, &p->svm, why, sizeof(why));
        if (rc == TLS_OK) memcpy(w->pred, w->pred_tv, sizeof(int) * (size_t)nt);
    } else {
        rc = tls_svc_fit_predict(w->pred, X, y, n, w->xt, nt, D, &p->svm, why, sizeof(why));
    }
    if (rc == TLS_ERR_SVM) {
        fail(r, method, tls_method_names[method], why);
        return TLS_OK;
    }
    TLS_CALL(rc);
    int32_t *cm = r->confusion + (size_t)method * C * C;
    memset(cm, 0, sizeof(int32_t) * (size_t)C * C);
    r->s.acc[method] = accuracy(cm, w->pred, w->yt, nt, C);
    r->s.seconds[method] = now_seconds() - t0;
    r->s.mstatus[method] = TLS_STATUS_DONE;
    if (nv > 0)
        r->s.score_target_val[method] = tls_score_accuracy(w->pred_tv + nt, w->yl + w->nl, nv);
    return TLS_OK;
}

/* Moves floor(share * count_k) rows of each class k of X (n, D) / y behind the
 * others (a class keeps at least one row), both parts in their original
 * order, the rows held out chosen in a random order from rng. Returns how
 * many were held out. */
static int hold_out(float *X, int *y, int n, int D, int C, double share, tls_rng *rng, run_ws *w) {
    int *count = w->cls, *quota = w->cls + C, *idx = w->split_idx, held = 0;
    memset(count, 0, sizeof(int) * (size_t)C);
    for (int i = 0; i < n; i++) count[y[i]]++;
    for (int k = 0; k < C; k++) {
        int q = (int)floor(share * count[k] + 1e-9);
        quota[k] = q < count[k] ? q : (count[k] > 0 ? count[k] - 1 : 0);
    }
    for (int i = 0; i < n; i++) idx[i] = i;
    tls_rng_shuffle(rng, idx, n);
    for (int i = 0; i < n; i++) { /* split_y: 1 where row idx[i] is held out */
        int q = idx[i], hold = quota[y[q]] > 0;
        quota[y[q]] -= hold;
        w->split_y[q] = hold;
        held += hold;
    }
    for (int i = 0; i < n; i++) idx[i] = w->split_y[i];
    int a = 0;
    for (int part = 0; part < 2; part++)
        for (int i = 0; i < n; i++)
            if (idx[i] == part) {
                memcpy(w->split_x + (size_t)a * D, X + (size_t)i * D, sizeof(float) * D);
                w->split_y[a++] = y[i];
            }
    memcpy(X, w->split_x, sizeof(float) * (size_t)n * D);
    memcpy(y, w->split_y, sizeof(int) * (size_t)n);
    return held;
}

static double finite_or_nan(double v) {
    return isfinite(v) ? v : NAN;
}

/* IWCV's importance weights of the held-out source points, from a domain
 * classifier on the inputs (training source points against the target test
 * points); NaN when its fit diverges. */
static void input_weights(run_ws *w, const tls_engine_params *p) {
    int D = p->dim, ns = w->ns, nt = p->n_test;
    if (tls_logreg_fit(w->lr_coef, w->xs, ns, w->xt, nt, D, TLS_DOMAIN_QUADRATIC, TLS_DOMAIN_C,
                       w->lr_work) < 0) {
        for (int i = 0; i < w->nsv; i++) w->iw_input[i] = NAN;
        return;
    }
    tls_importance_weights(w->iw_input, w->lr_coef, w->xs + (size_t)ns * D, w->nsv, D,
                           TLS_DOMAIN_QUADRATIC, (double)ns / nt);
}

/* A network method's selection scores: the entropy and SND of its target test
 * softmax probs (n_test, classes); with held-out labelled target points, its
 * softmax on them into pv (nlv, classes) and its accuracy there. The network
 * is w->model as trained; only w->at and w->pred are overwritten. */
static void network_scores(tls_result *r, run_ws *w, const tls_engine_params *p, int method,
                           const float *probs, float *pv) {
    int C = p->classes, nt = p->n_test, nv = w->nlv;
    r->s.score_entropy[method] = tls_score_entropy(probs, nt, C);
    r->s.score_snd[method] = tls_score_snd(probs, nt, C, TLS_SND_TEMPERATURE, w->snd_work);
    if (nv == 0) return;
    tls_model_features_forward(w->at, w->model, w->xl + (size_t)w->nl * p->dim, nv);
    tls_model_classifier_forward(w->at, w->model, nv);
    tls_softmax_forward(pv, w->at->logits, nv, C);
    tls_argmax_rows(w->pred, w->at->logits, nv, C);
    r->s.score_target_val[method] = tls_score_accuracy(w->pred, w->yl + w->nl, nv);
}

/* IWCV and DEV of the transfer network (w->model after fine-tuning) from its
 * 0-1 loss on the held-out source points: weighted by iw_input, and by the
 * weights of a domain classifier on its features (feat_s: every source row,
 * the held-out ones last; feat_t: the target test points). */
static void source_scores(tls_result *r, run_ws *w, const tls_engine_params *p) {
    int C = p->classes, D = p->dim, F = p->features, ns = w->ns, nv = w->nsv, nt = p->n_test;
    tls_model_features_forward(w->at, w->model, w->xs + (size_t)ns * D, nv);
    tls_model_classifier_forward(w->at, w->model, nv);
    tls_argmax_rows(w->pred, w->at->logits, nv, C);
    for (int i = 0; i < nv; i++) w->wrong[i] = w->pred[i] != w->ys[ns + i];
    r->s.score_iwcv = finite_or_nan(tls_score_iwcv(w->iw_input, w->wrong, nv));
    if (tls_logreg_fit(w->lr_coef, w->feat_s, ns, w->feat_t, nt, F, TLS_DOMAIN_QUADRATIC,
                       TLS_DOMAIN_C, w->lr_work) < 0)
        return;
    tls_importance_weights(w->iw_feat, w->lr_coef, w->feat_s + (size_t)ns * F, nv, F,
                           TLS_DOMAIN_QUADRATIC, (double)ns / nt);
    r->s.score_dev = finite_or_nan(tls_score_dev(w->iw_feat, w->wrong, nv));
}

/* The configuration's sets (data.h), the held-out parts moved last (rows
 * [ns, n_source) and [nl, n_target)), and the points recorded in r. */
static void sample(tls_result *r, run_ws *w, const tls_engine_params *p, const tls_point *pt) {
    int D = p->dim, C = p->classes, ns = p->n_source, nt = p->n_test, nl = pt->n_target;
    tls_rng rng;
    tls_data_sets sets = {w->xs, w->ys, w->xl, w->yl, w->xt, w->yt};
    tls_data_draw(&sets, p, pt, w->data_work);
    if (p->source_holdout > 0.0) {
        tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_SOURCE_HOLDOUT, 0);
        w->nsv = hold_out(w->xs, w->ys, ns, D, C, p->source_holdout, &rng, w);
        w->ns = ns - w->nsv;
    }
    if (p->target_holdout > 0.0) {
        tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_TARGET_HOLDOUT, (uint64_t)nl);
        w->nlv = hold_out(w->xl, w->yl, nl, D, C, p->target_holdout, &rng, w);
        w->nl = nl - w->nlv;
    }
    memcpy(r->x_source, w->xs, sizeof(float) * (size_t)ns * D);
    memcpy(r->x_target, w->xt, sizeof(float) * (size_t)nt * D);
    for (int i = 0; i < ns; i++) r->y_source[i] = w->ys[i];
    for (int i = 0; i < nt; i++) r->y_target[i] = w->yt[i];
}

/* MMD^2 and the proxy A-distance between the training source points and the
 * target test points, in input space (x: xs, y: xt, d = dim) or in feature
 * space (feat_s, feat_t, d = features) as `what` says ("input", "feat"). A
 * refusal of the PAD's SVM is the configuration's failure, recorded in r. */
static int distances(double *mmd2, double *pad, tls_result *r, run_ws *w,
                     const tls_engine_params *p, const tls_point *pt, const float *x,
                     const float *y, int d, const char *what) {
    char why[sizeof(r->s.reason)] = "", name[16];
    *mmd2 = distance_mmd2(w, p, pt, x, w->ns, y, p->n_test, d);
    int rc = proxy_a_distance(pad, w, p, pt, x, y, d, why, sizeof(why));
    if (rc != TLS_ERR_SVM) return rc;
    snprintf(name, sizeof(name), "pad_%s", what);
    fail(r, -1, name, why);
    return TLS_OK;
}

/* The transferability scores (transfer.h) of the source-trained network,
 * before fine-tuning: its features and softmax on the labelled target
 * points that train (not the held-out ones). */
static void transferability(tls_result *r, run_ws *w, const tls_engine_params *p,
                            const tls_point *pt) {
    tls_acts *a = w->at;
    tls_model_features_forward(a, w->model, w->xl, w->nl);
    tls_model_classifier_forward(a, w->model, w->nl);
    tls_softmax_forward(a->probs, a->logits, w->nl, p->classes);
    tls_ts_params par = tls_ts_defaults();
    tls_rng rng;
    tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_TS_KNN, (uint64_t)pt->n_target);
    double v[TLS_TS_NSCORES];
    int why[TLS_TS_NSCORES];
    tls_ts_compute(v, why, a->feat, a->probs, w->yl, w->nl, p->features, p->classes, &par, &rng,
                   w->ts_work);
    for (int s = 0; s < TLS_TS_FT_LOSS_RISE; s++) r->s.ts[s] = v[s], r->s.ts_reason[s] = why[s];
}

/* The scores of the fine-tuning curve. */
static void curve_scores(tls_result *r, const tls_engine_params *p) {
    int why;
    r->s.ts[TLS_TS_FT_LOSS_RISE] = tls_ts_ft_loss_rise(r->ft_epoch, p->finetune_epochs, &why);
    r->s.ts_reason[TLS_TS_FT_LOSS_RISE] = why;
    r->s.ts[TLS_TS_FT_LOSS_REBOUND] = tls_ts_ft_loss_rebound(r->ft_epoch, p->finetune_epochs, &why);
    r->s.ts_reason[TLS_TS_FT_LOSS_REBOUND] = why;
}

/* 3. The transfer network: source training with the alignment loss
 * (align.loss), fine-tuning (finetune.strategy); its test metrics, the
 * feature-space distances before and after, the embeddings (of every source
 * point, the held-out ones too), negative transfer and its selection scores. */
static int transfer_network(tls_result *r, run_ws *w, const tls_engine_params *p,
                            const tls_point *pt) {
    int F = p->features, ns = p->n_source, nt = p->n_test;
    char why[sizeof(r->s.reason)] = "";
    double t0 = now_seconds();
    tls_rng rng;
    tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_INIT, 0);
    tls_model_init(w->model, &rng);
    features_of(w->feat_s, w, w->xs, w->ns);
    features_of(w->feat_t, w, w->xt, nt);
    r->s.mmd2_feat_before = distance_mmd2(w, p, pt, w->feat_s, w->ns, w->feat_t, nt, F);
    for (int s = 0; s < TLS_TS_NSCORES; s++) r->s.ts_reason[s] = TLS_TS_NOT_COMPUTED;
    int rc = train_source(r, w, p, pt, why, sizeof(why));
    double ts_seconds = 0.0;
    if (rc == TLS_OK) {
        double ts0 = now_seconds();
        transferability(r, w, p, pt);
        r->s.seconds_ts = ts_seconds = now_seconds() - ts0;
    }
    if (rc == TLS_OK)
        rc = train_target(r->ft_epoch, p->finetune_epochs, p->finetune_strategy, w, p,
                          "fine-tuning", why, sizeof(why));
    if (rc == TLS_OK) curve_scores(r, p);
    if (rc == TLS_ERR_NUMERIC) {
        fail(r, TLS_METHOD_MMD, tls_method_names[TLS_METHOD_MMD], why);
        return TLS_OK;
    }
    TLS_CALL(rc);
    network_method(r, w, p, TLS_METHOD_MMD, w->probs_mmd);
    r->s.seconds[TLS_METHOD_MMD] = now_seconds() - t0 - ts_seconds; /* the method's own */
    features_of(w->feat_s, w, w->xs, ns);
    features_of(w->feat_t, w, w->xt, nt);
    TLS_CALL(distances(&r->s.mmd2_feat_after, &r->s.pad_feat, r, w, p, pt, w->feat_s, w->feat_t, F,
                       "feat"));
    memcpy(r->emb_source, w->feat_s, sizeof(float) * (size_t)ns * F);
    memcpy(r->emb_target, w->feat_t, sizeof(float) * (size_t)nt * F);
    if (r->s.mstatus[TLS_METHOD_SCRATCH] == TLS_STATUS_DONE)
        r->s.negative_transfer = r->s.acc[TLS_METHOD_MMD] < r->s.acc[TLS_METHOD_SCRATCH];
    /* the selection scores, after every metric above */
    network_scores(r, w, p, TLS_METHOD_MMD, w->probs_mmd, w->pv_mmd);
    if (w->nsv > 0) source_scores(r, w, p);
    return TLS_OK;
}

/* 4. The target-only network: the same initialisation, a fresh Adam, on the
 * labelled target points alone. */
static int target_network(tls_result *r, run_ws *w, const tls_engine_params *p,
                          const tls_point *pt) {
    char why[sizeof(r->s.reason)] = "";
    double t0 = now_seconds();
    tls_rng rng;
    tls_rng_init(&rng, (uint64_t)pt->seed, TLS_STREAM_INIT, 0);
    tls_model_init(w->model, &rng);
    int rc = train_target(r->target_ce, p->target_epochs, TLS_FINETUNE_ALL, w, p, "training", why,
                          sizeof(why));
    if (rc == TLS_ERR_NUMERIC) {
        fail(r, TLS_METHOD_TARGET_MLP, tls_method_names[TLS_METHOD_TARGET_MLP], why);
        return TLS_OK;
    }
    TLS_CALL(rc);
    network_method(r, w, p, TLS_METHOD_TARGET_MLP, w->probs_tgt);
    r->s.seconds[TLS_METHOD_TARGET_MLP] = now_seconds() - t0;
    if (r->s.mstatus[TLS_METHOD_MMD] == TLS_STATUS_DONE)
        r->s.negative_transfer_mlp = r->s.acc[TLS_METHOD_MMD] < r->s.acc[TLS_METHOD_TARGET_MLP];
    network_scores(r, w, p, TLS_METHOD_TARGET_MLP, w->probs_tgt, w->pv_tgt);
    return TLS_OK;
}

/* 5. The ensemble: the mean of the two networks' softmax outputs (which it
 * overwrites probs_mmd and pv_mmd with); failed unless both are done. */
static void ensemble(tls_result *r, run_ws *w, const tls_engine_params *p) {
    int C = p->classes, nt = p->n_test;
    if (r->s.mstatus[TLS_METHOD_MMD] != TLS_STATUS_DONE ||
        r->s.mstatus[TLS_METHOD_TARGET_MLP] != TLS_STATUS_DONE) {
        fail(r, TLS_METHOD_ENSEMBLE, tls_method_names[TLS_METHOD_ENSEMBLE],
             "needs both the mmd and the target_mlp networks");
        return;
    }
    double t0 = now_seconds();
    for (size_t i = 0; i < (size_t)nt * C; i++)
        w->probs_mmd[i] = 0.5f * (w->probs_mmd[i] + w->probs_tgt[i]);
    tls_argmax_rows(w->pred, w->probs_mmd, nt, C);
    int32_t *cm = r->confusion + (size_t)TLS_METHOD_ENSEMBLE * C * C;
    memset(cm, 0, sizeof(int32_t) * (size_t)C * C);
    r->s.acc[TLS_METHOD_ENSEMBLE] = accuracy(cm, w->pred, w->yt, nt, C);
    /* both networks' training, and the averaging */
    r->s.seconds[TLS_METHOD_ENSEMBLE] =
        r->s.seconds[TLS_METHOD_MMD] + r->s.seconds[TLS_METHOD_TARGET_MLP] + now_seconds() - t0;
    r->s.mstatus[TLS_METHOD_ENSEMBLE] = TLS_STATUS_DONE;
    r->s.score_entropy[TLS_METHOD_ENSEMBLE] = tls_score_entropy(w->probs_mmd, nt, C);
    r->s.score_snd[TLS_METHOD_ENSEMBLE] =
        tls_score_snd(w->probs_mmd, nt, C, TLS_SND_TEMPERATURE, w->snd_work);
    if (w->nlv > 0) {
        for (size_t i = 0; i < (size_t)w->nlv * C; i++)
            w->pv_mmd[i] = 0.5f * (w->pv_mmd[i] + w->pv_tgt[i]);
        tls_argmax_rows(w->pred, w->pv_mmd, w->nlv, C);
        r->s.score_target_val[TLS_METHOD_ENSEMBLE] =
            tls_score_accuracy(w->pred, w->yl + w->nl, w->nlv);
    }
}

/* The phases of one configuration, in an order that fixes every stream's
 * use: a method's failure is recorded in r and the others go on. */
static int run(tls_result *r, run_ws *w, const tls_engine_params *p, const tls_point *pt) {
    sample(r, w, p, pt);
    r->s.status = TLS_STATUS_DONE;
    /* 1. scratch: SVM on the labelled target points; 2. direct: SVM on the source */
    TLS_CALL(svm_method(r, w, p, TLS_METHOD_SCRATCH, w->xl, w->yl, w->nl));
    TLS_CALL(svm_method(r, w, p, TLS_METHOD_DIRECT, w->xs, w->ys, w->ns));
    /* distances in input space: they do not depend on training */
    TLS_CALL(
        distances(&r->s.mmd2_input, &r->s.pad_input, r, w, p, pt, w->xs, w->xt, p->dim, "input"));
    if (w->nsv > 0) input_weights(w, p);
    TLS_CALL(transfer_network(r, w, p, pt));
    TLS_CALL(target_network(r, w, p, pt));
    ensemble(r, w, p);
    return TLS_OK;
}

int tls_engine_run(tls_result *r, const tls_engine_params *p, const tls_point *pt) {
    tls_svc_quiet();
    tls_result_fill(r);
    run_ws w;
    int rc = ws_create(&w, p, pt);
    if (rc == TLS_OK) rc = run(r, &w, p, pt);
    ws_destroy(&w);
    return rc;
}
