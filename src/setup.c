#include "tlsweep/setup.h"

#include "tlsweep/axis.h"
#include "tlsweep/check.h"
#include "tlsweep/grid.h"
#include "tlsweep/keys.h"
#include "tlsweep/progress.h"

#include <stdio.h>
#include <string.h>

int tls_setup_load(tls_setup *s, const char *path, const char *text, const char *const *sets,
                   int nsets, tls_part part, int rank, char *err) {
    memset(s, 0, sizeof(*s));
    int rc = text ? tls_config_load_text(&s->c, path, text, err)
                  : tls_config_load(&s->c, path, sets, nsets, err);
    if (rc) return rc;
    tls_part full = tls_grid_part(s->c, part.k, part.n);
    int64_t units = full.seeds ? s->c->grid_size / full.seeds : s->c->grid_size;
    if (part.n > units)
        return tls_input_error(err, "--part", "(option)",
                               "%d parts of a grid of %lld %s; allowed: at most one part per %s",
                               part.n, (long long)units, full.seeds ? "cells" : "configurations",
                               full.seeds ? "cell (decide.mode splits by cells)" : "configuration");
    if (s->c->decide.mode == TLS_MODE_BOUNDARY && part.n > 1)
        return tls_input_error(err, "--part", "(option)",
                               "%d parts of a boundary map; allowed: one (the map refines where "
                               "the decisions of all its cells say: run it as one job, on as "
                               "many ranks as it takes)",
                               part.n);
    TLS_TRY(tls_data_files_open(&s->files, s->c, err));
    int min_nt, max_nt;
    tls_grid_envelope(s->c, tls_data_files_bind, &s->files, &s->env, &min_nt, &max_nt);
    tls_layout_init(&s->L, s->c, &s->env, part);
    rc = tls_result_create(&s->r, &s->env);
    if (rc) snprintf(err, TLS_ERRMSG, "rank %d: out of memory for a result", rank);
    return rc;
}

int tls_setup_of_file(tls_setup *s, tls_store_reader *rd, const char *path, char *err) {
    memset(s, 0, sizeof(*s));
    TLS_TRY(tls_store_config(rd, path, &s->c, err));
    int a, b;
    tls_grid_envelope(s->c, NULL, NULL, &s->env, &a, &b);
    tls_store_envelope(rd, &s->env);
    if (s->env.n_source < 0) s->env.n_source = 0; /* not stored: no embeddings */
    if (s->env.n_test < 0) s->env.n_test = 0;
    tls_layout_init(&s->L, s->c, &s->env, (tls_part){.k = 1, .n = 1});
    return tls_result_create(&s->r, &s->env);
}

void tls_setup_free(tls_setup *s) {
    tls_result_destroy(&s->r);
    tls_data_files_release(&s->files);
    tls_config_destroy(&s->c);
}

const char *tls_setup_data_mode(const tls_config *c) {
    /* what the shift does, per data.shift_kind (params.h), for synthetic data and for files;
     * translation and scale exist on the synthetic domains only (rules.c) */
    static const char *const mode[][2] = {
        {"synthetic Gaussian domains: the shift rotates the target",
         "files: the shift rotates the first two coordinates"},
        {"synthetic Gaussian domains: the shift translates the target along (1, -1)/sqrt(2), "
         "in source class spreads",
         ""},
        {"synthetic Gaussian domains: the shift multiplies the target classes' spread", ""},
        {"synthetic Gaussian domains: the shift is class 0's share of the target test and "
         "labelled points (label shift)",
         "files: the shift is class 0's share of the target test and labelled points, drawn "
         "stratified from the target file (label shift)"},
        {"synthetic Gaussian domains: the shift is the share of target test and labelled points "
         "whose label becomes (y + 1) mod classes (conditional shift)",
         "files: the shift is the share of target test and labelled points whose label becomes "
         "(y + 1) mod classes (conditional shift)"}};
    const tls_axis *kax = tls_axis_of(c, tls_key_find("data.shift_kind"));
    int files = c->data_source[0] != '\0';
    if (kax && kax->n > 1)
        return files ? "files: the shift is as data_shift_kind says"
                     : "synthetic Gaussian domains: the shift is as data_shift_kind says";
    int kind = kax ? *(const int *)kax->vals : c->base.eng.shift_kind;
    if (files && c->image_shape.n == 2 && kind == TLS_SHIFT_ROTATION)
        return "image files: the shift rotates the target images";
    return mode[kind][files];
}

void tls_setup_dry_run(const tls_setup *s, int nranks) {
    const tls_config *c = s->c;
    printf("grid:");
    for (int a = 0; a < c->naxes; a++)
        printf("%s %d %s", a ? " x" : "", c->axis[a].n,
               a < TLS_NAMED_AXES ? c->axis[a].dim : c->axis[a].key_name);
    printf(" = %lld configurations", (long long)c->grid_size);
    if (s->L.part.n > 1)
        printf("; part %d/%d: %lld of them", s->L.part.k, s->L.part.n, (long long)s->L.count);
    printf("\n");
    const char *most = c->decide.mode == TLS_MODE_GRID ? "" : "at most ";
    if (*most)
        printf("decide.mode %s: seeds in rounds of %d, cell by cell, until decided or %d are "
               "spent%s; the size and time below are the worst case, every seed of every cell\n",
               tls_mode_names[c->decide.mode], c->decide.round, c->axis[TLS_AXIS_SEED].n,
               c->decide.mode == TLS_MODE_BOUNDARY ? " (the map runs the cells it needs)" : "");
    tls_store_print_layout(&s->L, stdout);
    printf("size: %sabout %.1f MiB\n", most,
           tls_store_bytes_per_config(&s->L) * (double)s->L.count / 1048576.0);
    /* time: the last configuration (numeric axes ascending: their largest
     * values) run twice, without source epochs and with two: what does not
     * depend on the epochs (SVMs, distances, fine-tuning, the other
     * networks), plus the cost of an epoch times the epochs */
    tls_settings st;
    tls_grid_settings(c, tls_layout_index(&s->L, s->L.count - 1), &st);
    tls_data_files_bind(&s->files, &st.eng);
    int full = st.eng.epochs, probe = full < 2 ? full : 2;
    double t[2];
    for (int i = 0; i < 2; i++) {
        st.eng.epochs = i == 0 ? 0 : probe;
        double t0 = tls_now();
        tls_engine_run(s->r, &st.eng, &st.pt);
        t[i] = tls_now() - t0;
    }
    double per = t[0] + (probe > 0 ? (t[1] - t[0]) / probe * full : 0);
    if (per < t[0]) per = t[0];
    char d[32];
    tls_format_duration(d, sizeof(d), per * (double)s->L.count / nranks);
    printf("estimate: %.2f s per configuration, %sabout %s on %d rank%s\n", per, most, d, nranks,
           nranks > 1 ? "s" : "");
}
