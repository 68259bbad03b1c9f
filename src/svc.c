#include "tlsweep/svc.h"

#include "tlsweep/check.h"

#include <libsvm/svm.h>
#include <stdio.h>
#include <string.h>

tls_svc_params tls_svc_defaults(void) {
    tls_svc_params p = {.kernel = TLS_SVC_RBF,
                        .C = 1.0,
                        .gamma_mode = TLS_GAMMA_AUTO,
                        .gamma = 0.0,
                        .eps = 1e-3,
                        .cache_mb = 200.0,
                        .shrinking = 1};
    return p;
}

static void print_nothing(const char *s) {
    (void)s;
}

void tls_svc_quiet(void) {
    svm_set_print_string_function(print_nothing);
}

double tls_svc_gamma(const tls_svc_params *p, const float *X, int n, int dim) {
    if (p->gamma_mode == TLS_GAMMA_AUTO) return 1.0 / dim;
    if (p->gamma_mode == TLS_GAMMA_VALUE) return p->gamma;
    double mean = 0.0, sq = 0.0;
    size_t N = (size_t)n * dim;
    for (size_t i = 0; i < N; i++) mean += X[i];
    mean /= (double)N;
    for (size_t i = 0; i < N; i++) sq += (X[i] - mean) * (X[i] - mean);
    double var = sq / (double)N;
    return var > 0.0 ? 1.0 / (dim * var) : 1.0;
}

/* Dense rows as libsvm nodes: dim+1 nodes per row, 1-based indices, -1 ends. */
static struct svm_node *to_nodes(const float *X, int n, int dim) {
    struct svm_node *nodes = malloc(sizeof(*nodes) * (size_t)n * (dim + 1));
    if (!nodes) return NULL;
    for (int i = 0; i < n; i++) {
        struct svm_node *row = nodes + (size_t)i * (dim + 1);
        for (int k = 0; k < dim; k++) {
            row[k].index = k + 1;
            row[k].value = X[(size_t)i * dim + k];
        }
        row[dim].index = -1;
        row[dim].value = 0.0;
    }
    return nodes;
}

int tls_svc_fit_predict(int *pred, const float *Xtr, const int *ytr, int ntr, const float *Xte,
                        int nte, int dim, const tls_svc_params *p, char *err, size_t errlen) {
    int rc = TLS_OK;
    struct svm_node *train_nodes = NULL, *test_nodes = NULL;
    struct svm_node **rows = NULL;
    double *labels = NULL;
    struct svm_model *model = NULL;

    struct svm_parameter param;
    memset(&param, 0, sizeof(param));
    param.svm_type = C_SVC;
    param.kernel_type = p->kernel == TLS_SVC_LINEAR ? LINEAR : RBF;
    param.gamma = tls_svc_gamma(p, Xtr, ntr, dim);
    param.C = p->C;
    param.eps = p->eps;
    param.cache_size = p->cache_mb;
    param.shrinking = p->shrinking;
    param.probability = 0;
    param.nr_weight = 0;

    train_nodes = to_nodes(Xtr, ntr, dim);
    test_nodes = to_nodes(Xte, nte, dim);
    rows = malloc(sizeof(*rows) * (size_t)ntr);
    labels = malloc(sizeof(*labels) * (size_t)ntr);
    if (!train_nodes || !test_nodes || !rows || !labels) {
        snprintf(err, errlen, "out of memory for a %d-point SVM problem", ntr);
        rc = TLS_ERR_NOMEM;
        goto cleanup;
    }
    for (int i = 0; i < ntr; i++) {
        rows[i] = train_nodes + (size_t)i * (dim + 1);
        labels[i] = ytr[i];
    }
    struct svm_problem prob = {.l = ntr, .y = labels, .x = rows};
    const char *msg = svm_check_parameter(&prob, &param);
    if (msg) {
        snprintf(err, errlen, "libsvm: %s", msg);
        rc = TLS_ERR_SVM;
        goto cleanup;
    }
    model = svm_train(&prob, &param);
    if (!model) {
        snprintf(err, errlen, "libsvm: svm_train returned no model");
        rc = TLS_ERR_SVM;
        goto cleanup;
    }
    for (int i = 0; i < nte; i++)
        pred[i] = (int)svm_predict(model, test_nodes + (size_t)i * (dim + 1));

cleanup:
    svm_free_and_destroy_model(&model);
    free(labels);
    free(rows);
    free(test_nodes);
    free(train_nodes);
    return rc;
}
