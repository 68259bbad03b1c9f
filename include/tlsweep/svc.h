/* svc.h - C-SVC through libsvm, with scikit-learn SVC's defaults.
 *
 * libsvm is the solver scikit-learn's SVC wraps; with the same parameters
 * (C=1, RBF, gamma='auto' = 1/dim, tol 1e-3, shrinking, 200 MB cache, no
 * probability estimates) it gives the same decision function. libsvm's own
 * printing is silenced by tls_svc_quiet(). */
#ifndef TLSWEEP_SVC_H
#define TLSWEEP_SVC_H

#include <stddef.h>

typedef enum { TLS_SVC_RBF = 0, TLS_SVC_LINEAR = 1 } tls_svc_kernel;
typedef enum { TLS_GAMMA_VALUE = 0, TLS_GAMMA_AUTO = 1, TLS_GAMMA_SCALE = 2 } tls_gamma_mode;

typedef struct {
    tls_svc_kernel kernel;
    double C; /* regularisation; > 0 */
    tls_gamma_mode gamma_mode;
    double gamma;    /* RBF width in 1/(input units)^2, used when gamma_mode is VALUE */
    double eps;      /* stopping tolerance of the solver (sklearn's tol) */
    double cache_mb; /* kernel cache, in MB */
    int shrinking;   /* 1: libsvm's shrinking heuristic on */
} tls_svc_params;

/* scikit-learn's SVC(kernel='rbf', gamma='auto') defaults. */
tls_svc_params tls_svc_defaults(void);

/* Silences libsvm's progress output (a process-wide libsvm setting). */
void tls_svc_quiet(void);

/* The gamma that `p` resolves to for training data X (n, dim):
 * auto = 1/dim, scale = 1/(dim * variance of all of X) as scikit-learn. */
double tls_svc_gamma(const tls_svc_params *p, const float *X, int n, int dim);

/* Trains on Xtr (ntr, dim) / ytr (ntr) and writes the predicted labels of
 * Xte (nte, dim) into pred (nte). Returns 0, or TLS_ERR_SVM with a message
 * in err (errlen bytes) when libsvm refuses the problem. */
int tls_svc_fit_predict(int *pred, const float *Xtr, const int *ytr, int ntr, const float *Xte,
                        int nte, int dim, const tls_svc_params *p, char *err, size_t errlen);

#endif
