#include "tlsweep/params.h"

const char *const tls_finetune_names[] = {"all", "classifier", "l2sp", NULL};
const char *const tls_bandwidth_names[] = {"fixed", "median", NULL};
const char *const tls_estimator_names[] = {"biased", "unbiased", NULL};
const char *const tls_shift_kind_names[] = {"rotation", "translation", "scale",
                                            "label",    "conditional", NULL};

tls_engine_params tls_engine_defaults(void) {
    tls_engine_params p = {
        .n_source = 1000,
        .n_test = 200,
        .dim = 2,
        .classes = 2,
        .source_mean = 2.0,
        .source_std = 0.5,
        .target_mean = 1.0,
        .target_std = 0.6,
        .hidden = 32,
        .features = 16,
        .epochs = 100,
        .finetune_epochs = 50,
        .batch_size = 32,
        .lr = 1e-3,
        .beta1 = 0.9,
        .beta2 = 0.999,
        .adam_eps = 1e-8,
        .mmd_gamma = 1.0,
        .align_loss = TLS_ALIGN_MMD,
        .align_target_batch = -1,
        .disc_hidden = 32,
        .mmd_gammas = {0, {0}},
        .mmd_bandwidth = TLS_BANDWIDTH_FIXED,
        .mmd_estimator = TLS_MMD_BIASED,
        .finetune_strategy = TLS_FINETUNE_ALL,
        .l2sp_alpha = 0.1,
        .target_epochs = 500,
        .shift_kind = TLS_SHIFT_ROTATION,
        .source_holdout = 0.0,
        .target_holdout = 0.0,
        .svm = tls_svc_defaults(),
        .pad_C = 1.0,
    };
    return p;
}

void tls_engine_shape_max(tls_engine_params *env, const tls_engine_params *p) {
#define TLS_MAX_FIELD(f)                                                                           \
    if (p->f > env->f) env->f = p->f
    TLS_MAX_FIELD(n_source);
    TLS_MAX_FIELD(n_test);
    TLS_MAX_FIELD(dim);
    TLS_MAX_FIELD(classes);
    TLS_MAX_FIELD(features);
    TLS_MAX_FIELD(epochs);
    TLS_MAX_FIELD(finetune_epochs);
    TLS_MAX_FIELD(target_epochs);
#undef TLS_MAX_FIELD
}
