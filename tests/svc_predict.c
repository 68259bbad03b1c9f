/* Test driver: trains tlsweep's libsvm wrapper (tls_svc_fit_predict, the
 * code behind the scratch and direct methods) on the roles of a CSV file
 * (role,label,x0,x1) and prints the predictions of the test role, one line
 * of labels. Usage: svc_predict FILE TRAIN_ROLE TEST_ROLE */
#include "tlsweep/svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: svc_predict FILE TRAIN_ROLE TEST_ROLE\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    int cap = 4096, ntr = 0, nte = 0;
    float *xtr = malloc(sizeof(float) * 2 * cap), *xte = malloc(sizeof(float) * 2 * cap);
    int *ytr = malloc(sizeof(int) * cap), *yte = malloc(sizeof(int) * cap);
    char line[256], role[64];
    int label;
    float x0, x1;
    fgets(line, sizeof(line), f); /* header */
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%63[^,],%d,%f,%f", role, &label, &x0, &x1) != 4) continue;
        if (!strcmp(role, argv[2]) && ntr < cap) {
            xtr[2 * ntr] = x0, xtr[2 * ntr + 1] = x1, ytr[ntr++] = label;
        } else if (!strcmp(role, argv[3]) && nte < cap) {
            xte[2 * nte] = x0, xte[2 * nte + 1] = x1, yte[nte++] = label;
        }
    }
    fclose(f);
    int *pred = malloc(sizeof(int) * (nte ? nte : 1));
    char err[256];
    tls_svc_quiet();
    tls_svc_params p = tls_svc_defaults();
    if (tls_svc_fit_predict(pred, xtr, ytr, ntr, xte, nte, 2, &p, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (int i = 0; i < nte; i++) printf("%s%d", i ? " " : "", pred[i]);
    printf("\n");
    free(xtr), free(xte), free(ytr), free(yte), free(pred);
    return 0;
}
