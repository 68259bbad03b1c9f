#include "tlsweep/result.h"

#include "tlsweep/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const tls_method_names[TLS_NMETHODS] = {"scratch", "direct", "mmd", "target_mlp",
                                                    "ensemble"};
const int tls_method_is_network[TLS_NMETHODS] = {0, 0, 1, 1, 1};

void tls_result_shape(const tls_engine_params *p, int array, tls_array_shape *s) {
    int64_t C = p->classes, F = p->features, D = p->dim, ns = p->n_source, nt = p->n_test;
    static const struct {
        int nd, is_int;
    } kinds[TLS_NARRAYS] = {{3, 1}, {1, 0}, {1, 0}, {1, 0}, {1, 0}, {2, 0},
                            {2, 0}, {2, 0}, {2, 0}, {1, 1}, {1, 1}};
    const int64_t dims[TLS_NARRAYS][3] = {
        {TLS_NMETHODS, C, C},
        {p->epochs},
        {p->epochs},
        {p->finetune_epochs},
        {p->target_epochs},
        {ns, F},
        {nt, F},
        {ns, D},
        {nt, D},
        {ns},
        {nt},
    };
    s->nd = kinds[array].nd;
    s->is_int = kinds[array].is_int;
    for (int i = 0; i < 3; i++) s->dim[i] = i < s->nd ? dims[array][i] : 1;
}

static size_t shape_elems(const tls_array_shape *s) {
    return (size_t)(s->dim[0] * s->dim[1] * s->dim[2]);
}

static size_t align8(size_t n) {
    return (n + 7) & ~(size_t)7;
}

void *tls_result_array(const tls_result *r, int array) {
    void *const views[TLS_NARRAYS] = {r->confusion, r->ce_epoch,   r->mmd_epoch,  r->ft_epoch,
                                      r->target_ce, r->emb_source, r->emb_target, r->x_source,
                                      r->x_target,  r->y_source,   r->y_target};
    return views[array];
}

int tls_result_create(tls_result **out, const tls_engine_params *p) {
    *out = NULL;
    size_t sizes[TLS_NARRAYS], total = 0;
    for (int a = 0; a < TLS_NARRAYS; a++) {
        tls_array_shape sh;
        tls_result_shape(p, a, &sh);
        sizes[a] = align8(4 * shape_elems(&sh)); /* int32 and float: 4 bytes */
        total += sizes[a];
    }
    tls_result *r;
    TLS_ALLOC(r, 1);
    r->mem = calloc(total > 0 ? total : 1, 1);
    if (!r->mem) {
        free(r);
        TLS_CHECK(0, TLS_ERR_NOMEM, "out of memory for a result of %zu bytes", total);
    }
    r->mem_bytes = total;
    r->classes = p->classes;
    char *cur = r->mem;
    void **views[TLS_NARRAYS] = {
        (void **)&r->confusion,  (void **)&r->ce_epoch,  (void **)&r->mmd_epoch,
        (void **)&r->ft_epoch,   (void **)&r->target_ce, (void **)&r->emb_source,
        (void **)&r->emb_target, (void **)&r->x_source,  (void **)&r->x_target,
        (void **)&r->y_source,   (void **)&r->y_target,
    };
    for (int a = 0; a < TLS_NARRAYS; a++) {
        *views[a] = cur;
        cur += sizes[a];
    }
    *out = r;
    return TLS_OK;
}

void tls_result_destroy(tls_result **r) {
    if (!*r) return;
    free((*r)->mem);
    TLS_FREE(*r);
}

/* Sets n elements of an array of the given kind to its fill value. */
static void fill_elems(void *v, int is_int, size_t n) {
    if (is_int) {
        int32_t *x = v;
        for (size_t i = 0; i < n; i++) x[i] = -1;
    } else {
        float *x = v;
        for (size_t i = 0; i < n; i++) x[i] = NAN;
    }
}

/* Fills every array of r to its fill value; shapes from the allocation's
 * parameters are not known here, so the whole allocation is filled by
 * kind: every view holds one kind only. */
static void fill_arrays(tls_result *r) {
    char *base = r->mem;
    for (int a = 0; a < TLS_NARRAYS; a++) {
        char *v = tls_result_array(r, a);
        char *end = a + 1 < TLS_NARRAYS ? (char *)tls_result_array(r, a + 1) : base + r->mem_bytes;
        int is_int = a == TLS_ARR_CONFUSION || a == TLS_ARR_Y_SOURCE || a == TLS_ARR_Y_TARGET;
        fill_elems(v, is_int, (size_t)(end - v) / 4);
    }
}

/* Every scalar field at its fill value (the table's). */
static void fill_scalars(tls_scalars *s) {
    memset(s, 0, sizeof(*s));
    for (int k = 0; k < tls_nfields; k++) {
        const tls_field *f = &tls_fields[k];
        if (f->from != TLS_SRC_SCALARS) continue;
        for (int m = 0; m < tls_field_values(f); m++) {
            char *at = (char *)s + f->off;
            if (!f->mem_int32)
                ((double *)at)[m] = f->fill;
            else
                ((int32_t *)at)[m] = (int32_t)f->fill;
        }
    }
}

void tls_result_fill(tls_result *r) {
    fill_scalars(&r->s);
    fill_arrays(r);
}

void tls_result_expand(tls_result *r, const tls_engine_params *p, const tls_engine_params *env) {
    for (int a = 0; a < TLS_NARRAYS; a++) {
        tls_array_shape sp, se;
        tls_result_shape(p, a, &sp);
        tls_result_shape(env, a, &se);
        if (!memcmp(sp.dim, se.dim, sizeof(sp.dim))) continue;
        char *v = tls_result_array(r, a);
        /* from the last element back: a target position is never below its source */
        for (int64_t i = se.dim[0] - 1; i >= 0; i--)
            for (int64_t j = se.dim[1] - 1; j >= 0; j--) {
                char *dst = v + 4 * (size_t)((i * se.dim[1] + j) * se.dim[2]);
                int64_t keep = i < sp.dim[0] && j < sp.dim[1] ? sp.dim[2] : 0;
                if (keep)
                    memmove(dst, v + 4 * (size_t)((i * sp.dim[1] + j) * sp.dim[2]),
                            4 * (size_t)keep);
                fill_elems(dst + 4 * keep, sp.is_int, (size_t)(se.dim[2] - keep));
            }
    }
}

/* ---- the table of result fields ------------------------------------------------ */

const char *const tls_dim_names[TLS_NDIMS] = {
    "approach",     "true_class",   "pred_class", "epoch",   "finetune_epoch",
    "target_epoch", "source_point", "test_point", "feature", "input_dim"};
const char *const tls_dim_long_names[TLS_NDIMS] = {
    "method: scratch SVM on target labels, direct SVM trained on the source, MLP with MMD "
    "alignment (or align.loss) then fine-tuned, the same MLP trained on the target labels "
    "alone, the mean of the two MLPs' softmax outputs",
    "true class",
    "predicted class",
    "source training epoch",
    "fine-tuning epoch",
    "epoch of the target-only MLP",
    "source point",
    "target test point",
    "embedding coordinate",
    "input coordinate"};

int64_t tls_dim_len(const tls_engine_params *e, int d) {
    switch (d) {
    case TLS_DIM_APPROACH:
        return TLS_NMETHODS;
    case TLS_DIM_TRUE:
    case TLS_DIM_PRED:
        return e->classes;
    case TLS_DIM_EPOCH:
        return e->epochs;
    case TLS_DIM_FTEPOCH:
        return e->finetune_epochs;
    case TLS_DIM_TEPOCH:
        return e->target_epochs;
    case TLS_DIM_SPOINT:
        return e->n_source;
    case TLS_DIM_TPOINT:
        return e->n_test;
    case TLS_DIM_FEATURE:
        return e->features;
    default:
        return e->dim;
    }
}

#define SC(f)        TLS_SRC_SCALARS, offsetof(tls_scalars, f)
#define MT(f)        TLS_SRC_META, offsetof(tls_record_meta, f)
#define AR(a)        TLS_SRC_ARRAY, (a)
#define REAL         NAN, -INFINITY, INFINITY /* fill NaN, any value */
#define SHARE        NAN, 0, 1                /* fill NaN, a share in [0, 1] */
#define NONNEG       NAN, 0, INFINITY         /* fill NaN, >= 0 */
#define FLAG(lo, hi) -1, lo, hi               /* int8 in the file; fill -1 */
/* clang-format off */
const tls_field tls_fields[] = {
    /* name, variables per, in embeddings/, file type, source (offset), int32 in memory, fill, lo, hi,
     * trailing dims, units, long_name, flag_values, flag_meanings, json style, json name */
    {"acc_%s", TLS_PER_METHOD, 0, TLS_T_F64, SC(acc), 0, SHARE, 0, {0}, "1",
     "target test accuracy of method %s", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"mmd2_input", TLS_PER_ONE, 0, TLS_T_F64, SC(mmd2_input), 0, REAL, 0, {0}, "1",
     "biased MMD^2 (RBF kernel, mmd.gamma) between source and target test points in input space", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"mmd2_feat_before", TLS_PER_ONE, 0, TLS_T_F64, SC(mmd2_feat_before), 0, REAL, 0, {0}, "1",
     "MMD^2 between source and target test features at initialisation", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"mmd2_feat_after", TLS_PER_ONE, 0, TLS_T_F64, SC(mmd2_feat_after), 0, REAL, 0, {0}, "1",
     "MMD^2 between source and target test features after fine-tuning", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"pad_input", TLS_PER_ONE, 0, TLS_T_F64, SC(pad_input), 0, NAN, -2, 2, 0, {0}, "1",
     "proxy A-distance 2(1-2 err) of a linear SVM domain classifier in input space", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"pad_feat", TLS_PER_ONE, 0, TLS_T_F64, SC(pad_feat), 0, NAN, -2, 2, 0, {0}, "1",
     "proxy A-distance in feature space after fine-tuning", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"score_entropy_%s", TLS_PER_NETWORK, 0, TLS_T_F64, SC(score_entropy), 0, NONNEG, 0, {0}, "1",
     "mean entropy (nats) of the softmax of method %s on the target test points (lower: more confident)", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"score_snd_%s", TLS_PER_NETWORK, 0, TLS_T_F64, SC(score_snd), 0, REAL, 0, {0}, "1",
     "soft neighbourhood density (nats) of the softmax of method %s on the target test points (Saito et al. 2021, temperature 0.05; higher: denser)", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"score_target_val_%s", TLS_PER_METHOD, 0, TLS_T_F64, SC(score_target_val), 0, SHARE, 0, {0}, "1",
     "accuracy of method %s on the held-out labelled target points (selection.target_holdout)", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"score_iwcv", TLS_PER_ONE, 0, TLS_T_F64, SC(score_iwcv), 0, REAL, 0, {0}, "1",
     "importance-weighted validation error of the transfer network on the held-out source points (Sugiyama et al. 2007; weights from a logistic-regression domain classifier on the inputs)", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"score_dev", TLS_PER_ONE, 0, TLS_T_F64, SC(score_dev), 0, REAL, 0, {0}, "1",
     "deep embedded validation error of the transfer network (You et al. 2019; weights from a logistic-regression domain classifier on its features)", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"ts_%s", TLS_PER_SCORE, 0, TLS_T_F64, SC(ts), 0, REAL, 0, {0}, "1",
     "%s", NULL, NULL, TLS_JSON_NUMBER, NULL},
    {"ts_%s_reason", TLS_PER_SCORE, 0, TLS_T_I8, SC(ts_reason), 1, FLAG(-1, TLS_TS_NREASONS - 1), 0, {0}, "1",
     "why the transferability score is NaN (ok: it is not; not_computed: the transfer network failed)", TLS_TS_REASON_VALUES, TLS_TS_REASON_MEANINGS, TLS_JSON_REASON, NULL},
    {"negative_transfer", TLS_PER_ONE, 0, TLS_T_I8, SC(negative_transfer), 1, FLAG(-1, 1), 0, {0}, "1",
     "whether acc_mmd < acc_scratch", "0 1", "no yes", TLS_JSON_BOOL, NULL},
    {"negative_transfer_mlp", TLS_PER_ONE, 0, TLS_T_I8, SC(negative_transfer_mlp), 1, FLAG(-1, 1), 0, {0}, "1",
     "whether acc_mmd < acc_target_mlp", "0 1", "no yes", TLS_JSON_BOOL, NULL},
    {"status", TLS_PER_ONE, 0, TLS_T_I8, SC(status), 1, 0, 0, 3, 0, {0}, "1",
     "state of the configuration (failed: a method or distance failed, see reason; not_needed: in the decide modes, a seed its cell stopped before)", "0 1 2 3", "pending done failed not_needed", TLS_JSON_NONE, NULL},
    {"approach_status", TLS_PER_ONE, 0, TLS_T_I8, SC(mstatus), 1, 0, 0, 2, 1, {TLS_DIM_APPROACH}, "1",
     "state of each method", "0 1 2", "pending done failed", TLS_JSON_STATUS, "status_%s"},
    {"seconds_%s", TLS_PER_METHOD, 0, TLS_T_F64, SC(seconds), 0, NONNEG, 0, {0}, "s",
     "wall time of method %s", NULL, NULL, TLS_JSON_SECONDS, NULL},
    {"seconds_ts", TLS_PER_ONE, 0, TLS_T_F64, SC(seconds_ts), 0, NONNEG, 0, {0}, "s",
     "wall time of the transferability scores ts_* (not counted in seconds_mmd)", NULL, NULL, TLS_JSON_SECONDS, NULL},
    {"seconds_total", TLS_PER_ONE, 0, TLS_T_F64, MT(seconds), 0, REAL, 0, {0}, "s",
     "wall time of the whole configuration", NULL, NULL, TLS_JSON_NONE, NULL},
    {"rank", TLS_PER_ONE, 0, TLS_T_I32, MT(rank), 0, REAL, 0, {0}, "1",
     "MPI rank that computed the configuration", NULL, NULL, TLS_JSON_NONE, NULL},
    {"host", TLS_PER_ONE, 0, TLS_T_I32, TLS_SRC_HOST, 0, 0, REAL, 0, {0}, "1",
     "host that computed the configuration: index into the hosts coordinate", NULL, NULL, TLS_JSON_NONE, NULL},
    {"confusion", TLS_PER_ONE, 0, TLS_T_I32, AR(TLS_ARR_CONFUSION), 0, REAL, 3, {TLS_DIM_APPROACH, TLS_DIM_TRUE, TLS_DIM_PRED}, "1",
     "confusion matrix counts on the target test set [method, true, predicted]", NULL, NULL, TLS_JSON_MATRIX, "confusion_%s"},
    {"ce_epoch", TLS_PER_ONE, 0, TLS_T_F32, AR(TLS_ARR_CE_EPOCH), 0, REAL, 1, {TLS_DIM_EPOCH}, "1",
     "mean source cross-entropy per epoch (nats)", NULL, NULL, TLS_JSON_CURVE, NULL},
    {"mmd2_epoch", TLS_PER_ONE, 0, TLS_T_F32, AR(TLS_ARR_MMD_EPOCH), 0, REAL, 1, {TLS_DIM_EPOCH}, "1",
     "mean alignment loss per epoch between source batches and target features (MMD^2; " "align.loss coral: CORAL; dann: the discriminator's BCE; none: NaN)", NULL, NULL, TLS_JSON_CURVE, NULL},
    {"finetune_ce", TLS_PER_ONE, 0, TLS_T_F32, AR(TLS_ARR_FT_EPOCH), 0, REAL, 1, {TLS_DIM_FTEPOCH}, "1",
     "cross-entropy on the labelled target points per fine-tuning epoch (nats)", NULL, NULL, TLS_JSON_CURVE, NULL},
    {"target_mlp_ce", TLS_PER_ONE, 0, TLS_T_F32, AR(TLS_ARR_TARGET_CE), 0, REAL, 1, {TLS_DIM_TEPOCH}, "1",
     "cross-entropy of the target-only MLP on the labelled target points per epoch (nats)", NULL, NULL, TLS_JSON_CURVE, NULL},
    {"source_features", TLS_PER_ONE, 1, TLS_T_F32, AR(TLS_ARR_EMB_SOURCE), 0, REAL, 2, {TLS_DIM_SPOINT, TLS_DIM_FEATURE}, "1",
     "source embeddings after training", NULL, NULL, TLS_JSON_NONE, NULL},
    {"target_features", TLS_PER_ONE, 1, TLS_T_F32, AR(TLS_ARR_EMB_TARGET), 0, REAL, 2, {TLS_DIM_TPOINT, TLS_DIM_FEATURE}, "1",
     "target test embeddings after training", NULL, NULL, TLS_JSON_NONE, NULL},
    {"source_x", TLS_PER_ONE, 1, TLS_T_F32, AR(TLS_ARR_X_SOURCE), 0, REAL, 2, {TLS_DIM_SPOINT, TLS_DIM_INDIM}, "1",
     "source inputs", NULL, NULL, TLS_JSON_NONE, NULL},
    {"target_x", TLS_PER_ONE, 1, TLS_T_F32, AR(TLS_ARR_X_TARGET), 0, REAL, 2, {TLS_DIM_TPOINT, TLS_DIM_INDIM}, "1",
     "target test inputs", NULL, NULL, TLS_JSON_NONE, NULL},
    {"source_y", TLS_PER_ONE, 1, TLS_T_I32, AR(TLS_ARR_Y_SOURCE), 0, REAL, 1, {TLS_DIM_SPOINT}, "1",
     "source labels", NULL, NULL, TLS_JSON_NONE, NULL},
    {"target_y", TLS_PER_ONE, 1, TLS_T_I32, AR(TLS_ARR_Y_TARGET), 0, REAL, 1, {TLS_DIM_TPOINT}, "1",
     "target test labels", NULL, NULL, TLS_JSON_NONE, NULL},
};
/* clang-format on */
#undef SC
#undef MT
#undef AR
#undef REAL
#undef SHARE
#undef NONNEG
#undef FLAG
const int tls_nfields = (int)(sizeof(tls_fields) / sizeof(tls_fields[0]));
_Static_assert(sizeof(tls_fields) / sizeof(tls_fields[0]) * TLS_NMETHODS <= TLS_MAX_VARS,
               "more result fields than TLS_MAX_VARS variables: raise it");

int tls_field_values(const tls_field *f) {
    switch (f->per) {
    case TLS_PER_METHOD:
    case TLS_PER_NETWORK:
        return TLS_NMETHODS;
    case TLS_PER_SCORE:
        return TLS_TS_NSCORES;
    default:
        return f->from == TLS_SRC_SCALARS && f->ntrail ? TLS_NMETHODS : 1; /* approach_status */
    }
}

int tls_field_var(const tls_field *f, int i, char *name, size_t nlen, char *long_name,
                  size_t llen) {
    const char *inst = f->per == TLS_PER_SCORE ? tls_ts_table[i].name : tls_method_names[i];
    const char *desc = f->per == TLS_PER_SCORE ? tls_ts_table[i].long_name : inst;
    snprintf(name, nlen, f->name, inst);
    snprintf(long_name, llen, f->long_name, desc);
    if (f->per == TLS_PER_ONE) return i == 0;
    return f->per != TLS_PER_NETWORK || tls_method_is_network[i];
}

/* One value of field f (method m) against its range: integers (flags) from
 * lo to hi; reals NaN (not computed) or finite within [lo, hi]. */
static int in_range(const tls_field *f, const tls_scalars *s, int m, char *why, size_t len) {
    const char *at = (const char *)s + f->off;
    double v = f->mem_int32 ? ((const int32_t *)at)[m] : ((const double *)at)[m];
    int ok = f->mem_int32 ? v >= f->lo && v <= f->hi
                          : isnan(v) || (isfinite(v) && v >= f->lo && v <= f->hi);
    if (ok) return 0;
    char name[64], ln[8];
    tls_field_var(f, m, name, sizeof(name), ln, sizeof(ln));
    if (f->per == TLS_PER_ONE && tls_field_values(f) > 1)
        snprintf(name + strlen(name), sizeof(name) - strlen(name), " of %s", tls_method_names[m]);
    snprintf(why, len, "%s is %.17g, out of range", name, v);
    return -1;
}

int tls_result_check(const tls_result *r, char *why, size_t len) {
    const tls_scalars *s = &r->s;
    for (int k = 0; k < tls_nfields; k++) {
        const tls_field *f = &tls_fields[k];
        if (f->from != TLS_SRC_SCALARS) continue;
        for (int m = 0; m < tls_field_values(f); m++)
            if (in_range(f, s, m, why, len)) return -1;
    }
    /* across fields: a done method has its accuracy and a confusion matrix of
     * counts; a configuration is done exactly when each of its methods is */
    int all_done = 1;
    for (int m = 0; m < TLS_NMETHODS; m++) {
        all_done &= s->mstatus[m] == TLS_STATUS_DONE;
        if (s->mstatus[m] == TLS_STATUS_DONE && isnan(s->acc[m])) {
            snprintf(why, len, "acc_%s is NaN though approach_status says done",
                     tls_method_names[m]);
            return -1;
        }
    }
    if ((s->status == TLS_STATUS_DONE) != all_done &&
        (s->status == TLS_STATUS_DONE || s->status == TLS_STATUS_FAILED)) {
        snprintf(why, len, "status %d disagrees with approach_status", s->status);
        return -1;
    }
    /* confusion counts: >= 0 where the method is done, -1 (fill) or counts elsewhere */
    size_t C = (size_t)r->classes;
    for (int m = 0; m < TLS_NMETHODS; m++)
        for (size_t i = 0; i < C * C; i++) {
            int32_t v = r->confusion[(size_t)m * C * C + i];
            if (v < -1 || (i == 0 && v < 0 && s->mstatus[m] == TLS_STATUS_DONE)) {
                snprintf(why, len, "confusion of %s holds %d", tls_method_names[m], (int)v);
                return -1;
            }
        }
    return 0;
}
