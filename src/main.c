/* main.c - the tlsweep command line: one, config, run, status. */
#include "tlsweep/check.h"
#include "tlsweep/config.h"
#include "tlsweep/engine.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_BAD_INPUT = 2, EXIT_RESUMABLE = 75 };

static void print_json_result(FILE *f, const tls_result *r, const tls_engine_params *p,
                              const tls_point *pt) {
    const tls_scalars *s = &r->s;
    int C = p->classes;
    fprintf(f, "{\"shift\": %.17g, \"lambda\": %.17g, \"n_target\": %d, \"seed\": %lld", pt->shift,
            pt->lambda, pt->n_target, (long long)pt->seed);
    fprintf(f, ", \"status\": \"%s\", \"reason\": \"%s\"",
            s->status == TLS_STATUS_DONE ? "done" : "failed", s->reason);
    for (int m = 0; m < TLS_NMETHODS; m++)
        fprintf(f, ", \"acc_%s\": %.17g", tls_method_names[m], s->acc[m]);
    fprintf(f, ", \"mmd2_input\": %.9g, \"mmd2_feat_before\": %.9g, \"mmd2_feat_after\": %.9g",
            s->mmd2_input, s->mmd2_feat_before, s->mmd2_feat_after);
    fprintf(f, ", \"pad_input\": %.9g, \"pad_feat\": %.9g, \"negative_transfer\": %s",
            s->pad_input, s->pad_feat, s->negative_transfer ? "true" : "false");
    for (int m = 0; m < TLS_NMETHODS; m++)
        fprintf(f, ", \"seconds_%s\": %.6f", tls_method_names[m], s->seconds[m]);
    for (int m = 0; m < TLS_NMETHODS; m++) {
        fprintf(f, ", \"confusion_%s\": [", tls_method_names[m]);
        for (int i = 0; i < C; i++) {
            fprintf(f, "%s[", i ? ", " : "");
            for (int j = 0; j < C; j++)
                fprintf(f, "%s%d", j ? ", " : "", r->confusion[((size_t)m * C + i) * C + j]);
            fprintf(f, "]");
        }
        fprintf(f, "]");
    }
    fprintf(f, ", \"final_ce\": %.9g, \"final_mmd2\": %.9g, \"final_finetune_ce\": %.9g}\n",
            p->epochs ? r->ce_epoch[p->epochs - 1] : NAN,
            p->epochs ? r->mmd_epoch[p->epochs - 1] : NAN,
            p->finetune_epochs ? r->ft_epoch[p->finetune_epochs - 1] : NAN);
}

int main(int argc, char **argv) {
    if (argc < 2) return EXIT_BAD_INPUT;
    tls_engine_params p = tls_engine_defaults();
    tls_point pt = {45, 0.5, 50, 42};
    if (argc >= 6) pt = (tls_point){atof(argv[2]), atof(argv[3]), atoi(argv[4]), atoll(argv[5])};
    tls_result *r;
    TLS_CALL(tls_result_create(&r, &p));
    TLS_CALL(tls_engine_run(r, &p, &pt));
    print_json_result(stdout, r, &p, &pt);
    tls_result_destroy(&r);
    return 0;
}
