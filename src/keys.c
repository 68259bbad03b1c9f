#include "tlsweep/keys.h"

#include "tlsweep/check.h"
#include "tlsweep/scalar.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- the keys ------------------------------------------------------------ */

#define F(field) .off = offsetof(tls_config, field), .size = sizeof(((tls_config *)0)->field)
#define E(field) F(base.eng.field)
/* svm.gamma: the two adjacent fields gamma_mode and gamma, nothing else */
#define GAMMA_FIELD                                                                                \
    .off = offsetof(tls_config, base.eng.svm.gamma_mode),                                          \
    .size =                                                                                        \
        offsetof(tls_svc_params, gamma) + sizeof(double) - offsetof(tls_svc_params, gamma_mode)
const char *const tls_mode_names[] = {"grid", "sequential", "boundary", NULL};
const char *const tls_multiplicity_names[] = {"none", "ebh", NULL};
const char *const tls_cs_names[] = {"betting", "asymptotic", NULL}; /* TLS_DECIDE_CS_* */

static const char FILES_FIXED[] =
    "data files are read once per run; allowed: one sweep per pair of files";
static const char DECIDE_FIXED[] = "it says how the sweep runs and decides, not what a "
                                   "configuration computes; allowed: one value per sweep";
static const char OUTPUT_FIXED[] = "it describes the results file, not a configuration; allowed: "
                                   "one value per sweep";

/* One row per key (tls_key in keys.h), in the order of the canonical YAML:
 * the four named axes first (key index = axis index), then each section's
 * keys together. Numbers: .lo/.hi bound them (inclusive unless .lo_open/
 * .hi_open); .allowed says so in words. An enum names its words where they
 * are declared (.names, or .name_of); its allowed text is made from them.
 * .units and .long_name describe the key's coordinate when it is swept;
 * .fixed keys cannot be. */
/* clang-format off */
const tls_key tls_keys[] = {
    /* the four named axes: lists under grid:, values copied into the grid point */
    {.name = "grid.shift", .type = TLS_K_REAL, F(base.pt.shift), .lo = -1e6, .hi = 1e6,
     .allowed = "a non-empty list of distinct numbers from -1000000 to 1000000 (degrees, or as "
                "data.shift_kind says)",
     .units = "degree", .long_name = "rotation of the target domain"},
    {.name = "grid.lambda", .type = TLS_K_REAL, F(base.pt.lambda), .hi = 1e6,
     .allowed = "a non-empty list of distinct numbers from 0 to 1000000", .units = "1",
     .long_name = "weight of MMD^2 in the source training loss"},
    {.name = "grid.n_target", .type = TLS_K_INT, F(base.pt.n_target), .lo = 1, .hi = 1e6,
     .allowed = "a non-empty list of distinct integers from data.classes to 1000000", .units = "1",
     .long_name = "labelled target points"},
    {.name = "grid.seed", .type = TLS_K_I64, F(base.pt.seed), .hi = 9.2233720368547758e18,
     .hi_open = 1,
     .allowed = "a non-empty list of distinct integers from 0 to 9223372036854775807",
     .units = "1", .long_name = "random seed (data, initialisation, batch order)"},
    {.name = "data.n_source", .type = TLS_K_COUNT, E(n_source), .lo = 1, .hi = 1e8,
     .allowed = "an integer from data.classes to 100000000, or all (with data.source)",
     .units = "1", .long_name = "source points"},
    {.name = "data.n_test", .type = TLS_K_COUNT, E(n_test), .lo = 2, .hi = 1e8,
     .allowed = "an integer from max(2, data.classes) to 100000000, or all (with data.target)",
     .units = "1", .long_name = "target test points"},
    {.name = "data.dim", .type = TLS_K_INT, E(dim), .lo = 2, .hi = 1e5,
     .allowed = "an integer from 2 to 100000", .units = "1", .long_name = "input dimension"},
    {.name = "data.classes", .type = TLS_K_INT, E(classes), .lo = 2, .hi = 1000,
     .allowed = "an integer from 2 to 1000", .units = "1", .long_name = "classes"},
    {.name = "data.source_mean", .type = TLS_K_REAL, E(source_mean), .lo = -1e6, .hi = 1e6,
     .allowed = "a number from -1000000 to 1000000", .units = "1",
     .long_name = "source class means +-(a, a)"},
    {.name = "data.source_std", .type = TLS_K_REAL, E(source_std), .hi = 1e6, .lo_open = 1,
     .allowed = "a number in (0, 1000000]", .units = "1",
     .long_name = "per-coordinate std of the source clusters"},
    {.name = "data.target_mean", .type = TLS_K_REAL, E(target_mean), .lo = -1e6, .hi = 1e6,
     .allowed = "a number from -1000000 to 1000000", .units = "1",
     .long_name = "target class means +-(a, a) before rotation"},
    {.name = "data.target_std", .type = TLS_K_REAL, E(target_std), .hi = 1e6, .lo_open = 1,
     .allowed = "a number in (0, 1000000]", .units = "1",
     .long_name = "per-coordinate std of the target clusters"},
    {.name = "data.source", .type = TLS_K_STR, F(data_source),
     .allowed = "a path to an HDF5 file with X (n, dim) and y (n), or \"\" for the synthetic "
                "source",
     .fixed = FILES_FIXED},
    {.name = "data.target", .type = TLS_K_STR, F(data_target),
     .allowed = "a path to an HDF5 file with X (n, dim) and y (n), or \"\" for the synthetic "
                "target",
     .fixed = FILES_FIXED},
    {.name = "data.image_shape", .type = TLS_K_REALS, F(image_shape), .lo = 1, .hi = 100000,
     .allowed = "[] or [height, width] with height * width = the files' dim",
     .fixed = "it describes the data files; allowed: one value per sweep", .integer = 1},
    {.name = "data.standardize", .type = TLS_K_BOOL, E(standardize), .hi = 1,
     .allowed = "true or false", .units = "1",
     .long_name = "inputs scaled by the source file's per-feature statistics"},
    {.name = "data.shift_kind", .type = TLS_K_ENUM, E(shift_kind), .units = "",
     .long_name = "what the shift changes in the target domain: rotation (degrees), translation "
                  "(source class spreads), scale (of the target spread), label (class 0's share), "
                  "conditional (share of labels swapped)",
     .names = tls_shift_kind_names},
    {.name = "model.hidden", .type = TLS_K_INT, E(hidden), .lo = 1, .hi = 1e5,
     .allowed = "an integer from 1 to 100000", .units = "1", .long_name = "hidden layer width"},
    {.name = "model.features", .type = TLS_K_INT, E(features), .lo = 1, .hi = 1e5,
     .allowed = "an integer from 1 to 100000", .units = "1",
     .long_name = "feature (embedding) width"},
    {.name = "train.epochs", .type = TLS_K_INT, E(epochs), .hi = 1e6,
     .allowed = "an integer from 0 (no source training) to 1000000", .units = "1",
     .long_name = "source training epochs"},
    {.name = "train.finetune_epochs", .type = TLS_K_INT, E(finetune_epochs), .hi = 1e6,
     .allowed = "an integer from 0 (no fine-tuning) to 1000000", .units = "1",
     .long_name = "fine-tuning epochs"},
    {.name = "train.batch_size", .type = TLS_K_INT, E(batch_size), .lo = 1, .hi = 1e8,
     .allowed = "an integer from 1 to 100000000", .units = "1",
     .long_name = "source mini-batch size"},
    {.name = "train.lr", .type = TLS_K_REAL, E(lr), .hi = 1e3, .lo_open = 1,
     .allowed = "a number in (0, 1000]", .units = "1", .long_name = "Adam learning rate"},
    {.name = "train.beta1", .type = TLS_K_REAL, E(beta1), .hi = 1, .hi_open = 1,
     .allowed = "a number in [0, 1)", .units = "1", .long_name = "Adam first-moment decay"},
    {.name = "train.beta2", .type = TLS_K_REAL, E(beta2), .hi = 1, .hi_open = 1,
     .allowed = "a number in [0, 1)", .units = "1", .long_name = "Adam second-moment decay"},
    {.name = "train.eps", .type = TLS_K_REAL, E(adam_eps), .hi = 1, .lo_open = 1,
     .allowed = "a number in (0, 1]", .units = "1", .long_name = "Adam epsilon"},
    {.name = "mmd.gamma", .type = TLS_K_REAL, E(mmd_gamma), .hi = 1e6, .lo_open = 1,
     .allowed = "a finite number > 0", .units = "1",
     .long_name = "RBF kernel parameter of the MMD"},
    {.name = "mmd.distance_points", .type = TLS_K_INT, E(distance_points), .hi = 1e8,
     .allowed = "0 (all points) or the number of points per domain for the MMD^2 distances",
     .units = "1", .long_name = "points per domain of the MMD^2 distances (0: all)"},
    {.name = "mmd.gammas", .type = TLS_K_REALS, E(mmd_gammas), .hi = 1e6, .lo_open = 1,
     .allowed = "[] (mmd.gamma alone) or a list of up to 8 numbers > 0", .units = "1",
     .long_name = "RBF gammas of the MMD loss, summed (multi-kernel MMD); []: mmd.gamma"},
    {.name = "mmd.bandwidth", .type = TLS_K_ENUM, E(mmd_bandwidth), .units = "",
     .long_name = "MMD loss bandwidth: the gammas as given, or divided by the median squared "
                  "distance of the pooled batch",
     .names = tls_bandwidth_names},
    {.name = "mmd.estimator", .type = TLS_K_ENUM, E(mmd_estimator), .units = "",
     .long_name = "estimator of the MMD^2 loss", .names = tls_estimator_names},
    {.name = "align.loss", .type = TLS_K_ENUM, E(align_loss), .units = "",
     .long_name = "alignment loss of the source phase, weighted by lambda",
     .name_of = tls_align_name},
    {.name = "align.target_batch", .type = TLS_K_COUNT, E(align_target_batch), .lo = 1, .hi = 1e8,
     .allowed = "all (every target test point, the article) or an integer from 1 to 100000000 "
                "(points drawn at random per step)",
     .units = "1", .long_name = "unlabelled target points per source step (-1: all)"},
    {.name = "align.disc_hidden", .type = TLS_K_INT, E(disc_hidden), .lo = 1, .hi = 1e5,
     .allowed = "an integer from 1 to 100000", .units = "1",
     .long_name = "hidden width of the DANN domain discriminator"},
    {.name = "finetune.strategy", .type = TLS_K_ENUM, E(finetune_strategy), .units = "",
     .long_name = "what fine-tuning trains: all, the classifier only, or all with L2-SP",
     .names = tls_finetune_names},
    {.name = "finetune.l2sp_alpha", .type = TLS_K_REAL, E(l2sp_alpha), .hi = 1e6,
     .allowed = "a finite number >= 0", .units = "1",
     .long_name = "L2-SP weight alpha of alpha/2 ||w - w_source||^2 on the feature extractor"},
    {.name = "baselines.target_epochs", .type = TLS_K_INT, E(target_epochs), .hi = 1e6,
     .allowed = "an integer from 0 to 1000000", .units = "1",
     .long_name = "full-batch epochs of the target-only MLP"},
    {.name = "selection.source_holdout", .type = TLS_K_REAL, E(source_holdout), .hi = 1,
     .hi_open = 1, .allowed = "a number in [0, 1)", .units = "1",
     .long_name = "share of each source class held out of training to validate IWCV and DEV (0: "
                  "none)",
     },
    {.name = "selection.target_holdout", .type = TLS_K_REAL, E(target_holdout), .hi = 1,
     .hi_open = 1, .allowed = "a number in [0, 1)", .units = "1",
     .long_name = "share of each class of the labelled target points held out of training for "
                  "target validation (0: none)",
     },
    {.name = "svm.C", .type = TLS_K_REAL, E(svm.C), .hi = 1e12, .lo_open = 1,
     .allowed = "a finite number > 0", .units = "1",
     .long_name = "C of the scratch and direct SVMs"},
    {.name = "svm.gamma", .type = TLS_K_GAMMA, GAMMA_FIELD, .hi = 1e12, .lo_open = 1,
     .allowed = "auto, scale or a finite number > 0", .units = "",
     .long_name = "RBF width of the scratch and direct SVMs"},
    {.name = "svm.tol", .type = TLS_K_REAL, E(svm.eps), .hi = 1, .lo_open = 1,
     .allowed = "a number in (0, 1]", .units = "1", .long_name = "libsvm stopping tolerance"},
    {.name = "svm.cache_mb", .type = TLS_K_REAL, E(svm.cache_mb), .hi = 1e6, .lo_open = 1,
     .allowed = "a number of megabytes > 0", .units = "MB", .long_name = "libsvm kernel cache"},
    {.name = "svm.shrinking", .type = TLS_K_BOOL, E(svm.shrinking), .hi = 1,
     .allowed = "true or false", .units = "1", .long_name = "libsvm shrinking heuristic"},
    {.name = "svm.pad_C", .type = TLS_K_REAL, E(pad_C), .hi = 1e12, .lo_open = 1,
     .allowed = "a finite number > 0", .units = "1",
     .long_name = "C of the proxy A-distance's linear SVM"},
    {.name = "decide.mode", .type = TLS_K_ENUM, F(decide.mode), .names = tls_mode_names,
     .fixed = DECIDE_FIXED},
    {.name = "decide.compare", .type = TLS_K_PAIRS, F(decide.compare),
     .allowed = "a list of up to 8 distinct pairs A:B of approaches (scratch, direct, mmd, "
                "target_mlp, ensemble), e.g. [mmd:target_mlp, mmd:scratch]",
     .fixed = DECIDE_FIXED},
    {.name = "decide.alpha", .type = TLS_K_REAL, F(decide.alpha), .hi = 1, .lo_open = 1,
     .hi_open = 1, .allowed = "a number in (0, 1)", .fixed = DECIDE_FIXED},
    {.name = "decide.delta", .type = TLS_K_REAL, F(decide.delta), .hi = 1, .hi_open = 1,
     .allowed = "a number in [0, 1)", .fixed = DECIDE_FIXED},
    {.name = "decide.round", .type = TLS_K_INT, F(decide.round), .lo = 1, .hi = 1e6,
     .allowed = "an integer from 1 to 1000000 (seeds per round)", .fixed = DECIDE_FIXED},
    {.name = "decide.max_seeds", .type = TLS_K_INT, F(decide.max_seeds), .lo = 1,
     .hi = TLS_MAX_VALUES, .allowed = "an integer from 1 to 10000000", .fixed = DECIDE_FIXED},
    {.name = "decide.max_trainings", .type = TLS_K_I64, F(decide.max_trainings),
     .hi = 9.2233720368547758e18, .hi_open = 1,
     .allowed = "an integer >= 0 (configurations the boundary map may take; 0: no bound)",
     .fixed = DECIDE_FIXED},
    {.name = "decide.cs", .type = TLS_K_ENUM, F(decide.cs), .names = tls_cs_names,
     .fixed = DECIDE_FIXED},
    {.name = "decide.multiplicity", .type = TLS_K_ENUM, F(decide.multiplicity),
     .names = tls_multiplicity_names, .fixed = DECIDE_FIXED},
    {.name = "output.embeddings", .type = TLS_K_BOOL, F(embeddings), .hi = 1,
     .allowed = "true or false", .fixed = OUTPUT_FIXED},
    {.name = "output.sync_seconds", .type = TLS_K_REAL, F(sync_seconds), .hi = 3600, .lo_open = 1,
     .allowed = "a number of seconds in (0, 3600]", .fixed = OUTPUT_FIXED},
};
/* clang-format on */
#undef F
#undef E
const int tls_nkeys = sizeof(tls_keys) / sizeof(tls_keys[0]);

int tls_key_find(const char *name) {
    for (int i = 0; i < tls_nkeys; i++)
        if (strcmp(tls_keys[i].name, name) == 0) return i;
    return -1;
}

int tls_key_closest(const char *name) {
    int best = -1, bestd = 99;
    for (int i = 0; i < tls_nkeys; i++) {
        int d = tls_edit_distance(name, tls_keys[i].name);
        const char *dot = strchr(tls_keys[i].name, '.');
        int dl = tls_edit_distance(name, dot + 1); /* a key given without its section */
        if (dl < d) d = dl;
        if (d < bestd) bestd = d, best = i;
    }
    /* a short word is close to too much: at most half of it may change */
    return best >= 0 && bestd <= 3 && 2 * bestd <= (int)strlen(name) ? best : -1;
}

const char *tls_key_sections(char *buf) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < tls_nkeys && used < TLS_KEY_ALLOWED; i++) {
        const char *name = tls_keys[i].name;
        int len = (int)(strchr(name, '.') - name);
        if (i > 0 && !strncmp(tls_keys[i - 1].name, name, (size_t)len + 1)) continue;
        int n = snprintf(buf + used, TLS_KEY_ALLOWED - used, "%s%.*s", i ? ", " : "", len, name);
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}

const char *tls_key_word(const tls_key *k, int i) {
    return k->names ? k->names[i] : k->name_of(i);
}

const char *tls_key_allowed(const tls_key *k, char *buf) {
    if (k->allowed) return k->allowed;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; tls_key_word(k, i) && used < TLS_KEY_ALLOWED; i++) {
        const char *sep = i == 0 ? "" : tls_key_word(k, i + 1) ? ", " : " or ";
        int n = snprintf(buf + used, TLS_KEY_ALLOWED - used, "%s%s", sep, tls_key_word(k, i));
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}

/* ---- the key types ------------------------------------------------------- */

static int check_number(const tls_key *k, double v, const char *where, const char *what,
                        char *err) {
    char shown[40]; /* the value exactly: 1000.0001 is not shown as 1000 */
    tls_format_real(shown, sizeof(shown), v);
    if (!isfinite(v))
        return tls_input_error(err, where, k->name, "%s%s is not finite; allowed: %s", what, shown,
                               k->allowed);
    if ((k->lo_open ? v <= k->lo : v < k->lo) || (k->hi_open ? v >= k->hi : v > k->hi))
        return tls_input_error(err, where, k->name, "%s%s is out of range; allowed: %s", what,
                               shown, k->allowed);
    return TLS_OK;
}

/* int: TLS_K_INT, also TLS_K_COUNT, TLS_K_BOOL and TLS_K_ENUM's fields */

static int read_int(const tls_key *k, const char *s, int64_t *iv, const char *where, char *err) {
    if (tls_scalar_int64(s, iv) || *iv < -2000000000 || *iv > 2000000000)
        return tls_input_error(err, where, k->name, "'%s' is not an integer; allowed: %s", s,
                               k->allowed);
    return TLS_OK;
}

static int int_parse(const tls_key *k, void *field, const char *s, const char *where, char *err) {
    int64_t iv;
    TLS_TRY(read_int(k, s, &iv, where, err));
    *(int *)field = (int)iv;
    return TLS_OK;
}

static void int_print(tls_sbuf *b, const tls_key *k, const void *field) {
    (void)k;
    tls_sbuf_printf(b, "%d", *(const int *)field);
}

static double int_number(const void *field) {
    return *(const int *)field;
}

static int64_t int_exact(const void *field) {
    return *(const int *)field;
}

static int int_check(const tls_key *k, const void *field, const char *where, const char *what,
                     char *err) {
    return check_number(k, int_number(field), where, what, err);
}

/* int64 */

static int i64_parse(const tls_key *k, void *field, const char *s, const char *where, char *err) {
    if (tls_scalar_int64(s, field))
        return tls_input_error(err, where, k->name,
                               "'%s' is not an integer that fits in 64 bits; allowed: %s", s,
                               k->allowed);
    return TLS_OK;
}

static void i64_print(tls_sbuf *b, const tls_key *k, const void *field) {
    (void)k;
    tls_sbuf_printf(b, "%lld", (long long)*(const int64_t *)field);
}

static double i64_number(const void *field) {
    return (double)*(const int64_t *)field;
}

static int64_t i64_exact(const void *field) {
    return *(const int64_t *)field;
}

/* beyond 2^53 a double would round the bound: only the sign is checked */
static int i64_check(const tls_key *k, const void *field, const char *where, const char *what,
                     char *err) {
    if (*(const int64_t *)field < 0)
        return tls_input_error(err, where, k->name, "%s%lld is out of range; allowed: %s", what,
                               (long long)*(const int64_t *)field, k->allowed);
    return TLS_OK;
}

/* real */

static int real_parse(const tls_key *k, void *field, const char *s, const char *where, char *err) {
    double v;
    if (tls_scalar_real(s, &v))
        return tls_input_error(err, where, k->name, "'%s' is not a number; allowed: %s", s,
                               k->allowed);
    *(double *)field = v;
    return TLS_OK;
}

static void real_print(tls_sbuf *b, const tls_key *k, const void *field) {
    (void)k;
    char num[40];
    tls_format_real(num, sizeof(num), *(const double *)field);
    tls_sbuf_printf(b, "%s", num);
}

static double real_number(const void *field) {
    return *(const double *)field;
}

static int real_check(const tls_key *k, const void *field, const char *where, const char *what,
                      char *err) {
    return check_number(k, real_number(field), where, what, err);
}

/* bool */

static int bool_parse(const tls_key *k, void *field, const char *s, const char *where, char *err) {
    if (tls_scalar_bool(s, field))
        return tls_input_error(err, where, k->name, "'%s' is not true or false; allowed: %s", s,
                               k->allowed);
    return TLS_OK;
}

static void bool_print(tls_sbuf *b, const tls_key *k, const void *field) {
    (void)k;
    tls_sbuf_printf(b, "%s", *(const int *)field ? "true" : "false");
}

/* svm.gamma: the fields gamma_mode and gamma of tls_svc_params */

static tls_svc_params *gamma_params(void *field) {
    return (tls_svc_params *)((char *)field - offsetof(tls_svc_params, gamma_mode));
}

static const tls_svc_params *gamma_cparams(const void *field) {
    return (const tls_svc_params *)((const char *)field - offsetof(tls_svc_params, gamma_mode));
}

static int gamma_parse(const tls_key *k, void *field, const char *s, const char *where, char *err) {
    tls_svc_params *sp = gamma_params(field);
    double v;
    if (!strcmp(s, "auto")) {
        sp->gamma_mode = TLS_GAMMA_AUTO;
    } else if (!strcmp(s, "scale")) {
        sp->gamma_mode = TLS_GAMMA_SCALE;
    } else if (!tls_scalar_real(s, &v)) {
        sp->gamma_mode = TLS_GAMMA_VALUE;
        sp->gamma = v;
    } else {
        return tls_input_error(err, where, k->name,
                               "'%s' is not auto, scale or a number; allowed: %s", s, k->allowed);
    }
    return TLS_OK;
}

static void gamma_print(tls_sbuf *b, const tls_key *k, const void *field) {
    const tls_svc_params *sp = gamma_cparams(field);
    if (sp->gamma_mode == TLS_GAMMA_AUTO)
        tls_sbuf_printf(b, "auto");
    else if (sp->gamma_mode == TLS_GAMMA_SCALE)
        tls_sbuf_printf(b, "scale");
    else
        real_print(b, k, &sp->gamma);
}

static double gamma_number(const void *field) {
    const tls_svc_params *sp = gamma_cparams(field);
    return sp->gamma_mode == TLS_GAMMA_VALUE ? sp->gamma : NAN;
}

static int gamma_check(const tls_key *k, const void *field, const char *where, const char *what,
                       char *err) {
    double v = gamma_number(field);
    return isnan(v) ? TLS_OK : check_number(k, v, where, what, err); /* auto, scale: NAN */
}

/* count: an int, or `all` kept as -1 (resolved from the data files) */

static int count_parse(const tls_key *k, void *field, const char *s, const char *where, char *err) {
    if (!strcmp(s, "all")) {
        *(int *)field = -1;
        return TLS_OK;
    }
    int64_t iv;
    TLS_TRY(read_int(k, s, &iv, where, err));
    if (iv < 0) /* -1 is how `all` is kept: not a number to give */
        return tls_input_error(err, where, k->name, "%s is out of range; allowed: %s", s,
                               k->allowed);
    *(int *)field = (int)iv;
    return TLS_OK;
}

static void count_print(tls_sbuf *b, const tls_key *k, const void *field) {
    if (*(const int *)field == -1)
        tls_sbuf_printf(b, "all");
    else
        int_print(b, k, field);
}

static int count_check(const tls_key *k, const void *field, const char *where, const char *what,
                       char *err) {
    return *(const int *)field == -1 ? TLS_OK : int_check(k, field, where, what, err);
}

/* str: a path in a char[k->size] */

static int str_parse(const tls_key *k, void *field, const char *s, const char *where, char *err) {
    if (strlen(s) >= k->size)
        return tls_input_error(err, where, k->name, "path longer than %zu bytes; allowed: %s",
                               k->size - 1, k->allowed);
    snprintf((char *)field, k->size, "%s", s);
    return TLS_OK;
}

/* a double-quoted YAML string: escape what YAML would read otherwise */
static void str_print(tls_sbuf *b, const tls_key *k, const void *field) {
    (void)k;
    tls_sbuf_printf(b, "\"");
    for (const unsigned char *p = field; *p; p++) {
        if (*p == '"' || *p == '\\')
            tls_sbuf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            tls_sbuf_printf(b, "\\x%02x", *p);
        else
            tls_sbuf_printf(b, "%c", *p);
    }
    tls_sbuf_printf(b, "\"");
}

/* reals: a list of up to TLS_MAX_REALS numbers */

const char *tls_key_node_kind(const yaml_node_t *n) {
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a scalar";
}

static int reals_parse(const tls_key *k, void *field, yaml_document_t *doc, yaml_node_t *n,
                       const char *where, char *err) {
    tls_reals *r = field;
    int count = n->type == YAML_SCALAR_NODE ? 1
                : n->type == YAML_SEQUENCE_NODE
                    ? (int)(n->data.sequence.items.top - n->data.sequence.items.start)
                    : -1;
    if (count < 0)
        return tls_input_error(err, where, k->name, "expected a list, got %s; allowed: %s",
                               tls_key_node_kind(n), k->allowed);
    if (count > TLS_MAX_REALS)
        return tls_input_error(err, where, k->name, "%d values; allowed: %s", count, k->allowed);
    for (int i = 0; i < count; i++) {
        yaml_node_t *item = n->type == YAML_SCALAR_NODE
                                ? n
                                : yaml_document_get_node(doc, n->data.sequence.items.start[i]);
        if (item->type != YAML_SCALAR_NODE ||
            tls_scalar_real((const char *)item->data.scalar.value, &r->v[i]))
            return tls_input_error(err, where, k->name,
                                   "element %d is not a number (%s); allowed: %s", i + 1,
                                   item->type == YAML_SCALAR_NODE ? (char *)item->data.scalar.value
                                                                  : tls_key_node_kind(item),
                                   k->allowed);
    }
    r->n = count;
    return TLS_OK;
}

static void reals_print(tls_sbuf *b, const tls_key *k, const void *field) {
    const tls_reals *r = field;
    tls_sbuf_printf(b, "[");
    for (int i = 0; i < r->n; i++) {
        tls_sbuf_printf(b, "%s", i ? ", " : "");
        real_print(b, k, &r->v[i]);
    }
    tls_sbuf_printf(b, "]");
}

static int reals_check(const tls_key *k, const void *field, const char *where, const char *what,
                       char *err) {
    const tls_reals *r = field;
    for (int i = 0; i < r->n; i++) {
        char w[64];
        snprintf(w, sizeof(w), "%selement %d: ", what, i + 1);
        TLS_TRY(check_number(k, r->v[i], where, w, err));
        if (k->integer && r->v[i] != floor(r->v[i]))
            return tls_input_error(err, where, k->name, "%s%g is not an integer; allowed: %s", w,
                                   r->v[i], k->allowed);
    }
    return TLS_OK;
}

/* enum: the index of one of the key's words */

static int enum_parse(const tls_key *k, void *field, const char *s, const char *where, char *err) {
    for (int i = 0; tls_key_word(k, i); i++)
        if (!strcmp(s, tls_key_word(k, i))) {
            *(int *)field = i;
            return TLS_OK;
        }
    const char *words[32];
    int n = 0;
    while (n < 32 && tls_key_word(k, n)) words[n] = tls_key_word(k, n), n++;
    const char *near = tls_did_you_mean(s, words, n, strlen(s) > 4 ? 2 : 1);
    char al[TLS_KEY_ALLOWED];
    if (near)
        return tls_input_error(err, where, k->name,
                               "'%s' is not one of its words; did you mean %s? allowed: %s", s,
                               near, tls_key_allowed(k, al));
    return tls_input_error(err, where, k->name, "'%s' is not one of its words; allowed: %s", s,
                           tls_key_allowed(k, al));
}

static void enum_print(tls_sbuf *b, const tls_key *k, const void *field) {
    tls_sbuf_printf(b, "%s", tls_key_word(k, *(const int *)field));
}

/* pairs: a list of A:B, A and B methods (result.h), A != B, each pair once */

static int pair_parse(const tls_key *k, int *pair, const char *s, const char *where, char *err) {
    const char *colon = strchr(s, ':');
    char a[64] = "";
    if (colon && colon - s < (long)sizeof(a)) snprintf(a, sizeof(a), "%.*s", (int)(colon - s), s);
    pair[0] = pair[1] = -1;
    for (int m = 0; colon && m < TLS_NMETHODS; m++) {
        if (!strcmp(a, tls_method_names[m])) pair[0] = m;
        if (!strcmp(colon + 1, tls_method_names[m])) pair[1] = m;
    }
    if (pair[0] < 0 || pair[1] < 0 || pair[0] == pair[1])
        return tls_input_error(err, where, k->name,
                               "'%s' is not A:B with A and B two of scratch, direct, mmd, "
                               "target_mlp, ensemble; allowed: %s",
                               s, k->allowed);
    return TLS_OK;
}

static int pairs_parse(const tls_key *k, void *field, yaml_document_t *doc, yaml_node_t *n,
                       const char *where, char *err) {
    tls_pairs *r = field;
    int count = n->type == YAML_SCALAR_NODE ? 1
                : n->type == YAML_SEQUENCE_NODE
                    ? (int)(n->data.sequence.items.top - n->data.sequence.items.start)
                    : -1;
    if (count < 1 || count > TLS_MAX_COMPARE)
        return tls_input_error(err, where, k->name, "%s; allowed: %s",
                               count < 0    ? "expected a list"
                               : count == 0 ? "an empty list"
                                            : "more than 8 pairs",
                               k->allowed);
    for (int i = 0; i < count; i++) {
        yaml_node_t *item = n->type == YAML_SCALAR_NODE
                                ? n
                                : yaml_document_get_node(doc, n->data.sequence.items.start[i]);
        if (item->type != YAML_SCALAR_NODE)
            return tls_input_error(err, where, k->name, "element %d is %s; allowed: %s", i + 1,
                                   tls_key_node_kind(item), k->allowed);
        TLS_TRY(pair_parse(k, r->v[i], (const char *)item->data.scalar.value, where, err));
        for (int j = 0; j < i; j++) {
            int same = r->v[j][0] == r->v[i][0] && r->v[j][1] == r->v[i][1];
            int mirrored = r->v[j][0] == r->v[i][1] && r->v[j][1] == r->v[i][0];
            if (same || mirrored)
                return tls_input_error(
                    err, where, k->name, "element %d (%s) %s element %d; allowed: %s", i + 1,
                    (const char *)item->data.scalar.value,
                    same ? "repeats" : "is the same comparison, mirrored, as", j + 1, k->allowed);
        }
    }
    r->n = count;
    return TLS_OK;
}

static void pairs_print(tls_sbuf *b, const tls_key *k, const void *field) {
    const tls_pairs *r = field;
    (void)k;
    tls_sbuf_printf(b, "[");
    for (int i = 0; i < r->n; i++)
        tls_sbuf_printf(b, "%s%s:%s", i ? ", " : "", tls_method_names[r->v[i][0]],
                        tls_method_names[r->v[i][1]]);
    tls_sbuf_printf(b, "]");
}

const tls_key_type tls_key_types[TLS_K_NTYPES] = {
    [TLS_K_INT] = {.vtype = TLS_V_INT,
                   .ranges = 1,
                   .parse = int_parse,
                   .print = int_print,
                   .number = int_number,
                   .exact = int_exact,
                   .check = int_check},
    [TLS_K_I64] = {.vtype = TLS_V_INT,
                   .ranges = 1,
                   .parse = i64_parse,
                   .print = i64_print,
                   .number = i64_number,
                   .exact = i64_exact,
                   .check = i64_check},
    [TLS_K_REAL] = {.vtype = TLS_V_REAL,
                    .ranges = 1,
                    .parse = real_parse,
                    .print = real_print,
                    .number = real_number,
                    .check = real_check},
    [TLS_K_BOOL] = {.vtype = TLS_V_BOOL,
                    .parse = bool_parse,
                    .print = bool_print,
                    .number = int_number,
                    .exact = int_exact},
    [TLS_K_GAMMA] = {.vtype = TLS_V_STR,
                     .parse = gamma_parse,
                     .print = gamma_print,
                     .number = gamma_number,
                     .check = gamma_check},
    [TLS_K_COUNT] = {.vtype = TLS_V_INT,
                     .ranges = 1,
                     .all = 1,
                     .parse = count_parse,
                     .print = count_print,
                     .number = int_number,
                     .exact = int_exact,
                     .check = count_check},
    [TLS_K_STR] = {.vtype = TLS_V_STR, .parse = str_parse, .print = str_print},
    [TLS_K_REALS] = {.vtype = TLS_V_STR,
                     .parse_node = reals_parse,
                     .print = reals_print,
                     .check = reals_check},
    [TLS_K_ENUM] = {.vtype = TLS_V_STR,
                    .parse = enum_parse,
                    .print = enum_print,
                    .number = int_number},
    [TLS_K_PAIRS] = {.vtype = TLS_V_STR, .parse_node = pairs_parse, .print = pairs_print},
};

/* ---- a key's value in a configuration ------------------------------------- */

static const tls_key_type *type_of(int k) {
    return &tls_key_types[tls_keys[k].type];
}

static const void *cfield(const tls_config *c, int k) {
    return (const char *)c + tls_keys[k].off;
}

int tls_key_apply(tls_config *c, int k, yaml_document_t *doc, yaml_node_t *n, const char *where,
                  char *err) {
    const tls_key *kd = &tls_keys[k];
    void *field = (char *)c + kd->off;
    if (type_of(k)->parse_node) return type_of(k)->parse_node(kd, field, doc, n, where, err);
    char al[TLS_KEY_ALLOWED];
    if (n->type != YAML_SCALAR_NODE)
        return tls_input_error(err, where, kd->name,
                               "expected a single value, got %s; allowed: %s%s%s%s",
                               tls_key_node_kind(n), tls_key_allowed(kd, al),
                               kd->fixed ? "" : " (to sweep it: grid: {", kd->fixed ? "" : kd->name,
                               kd->fixed ? "" : ": [a, b, ...]})");
    return type_of(k)->parse(kd, field, (const char *)n->data.scalar.value, where, err);
}

int tls_key_check(const tls_config *c, int k, const char *where, const char *what, char *err) {
    return type_of(k)->check ? type_of(k)->check(&tls_keys[k], cfield(c, k), where, what, err)
                             : TLS_OK;
}

double tls_key_number_at(int k, const void *field) {
    return type_of(k)->number ? type_of(k)->number(field) : NAN;
}

double tls_key_number(const tls_config *c, int k) {
    return tls_key_number_at(k, cfield(c, k));
}

int64_t tls_key_exact(const tls_config *c, int k) {
    return type_of(k)->exact(cfield(c, k));
}

void tls_key_print(tls_sbuf *b, const tls_config *c, int k) {
    type_of(k)->print(b, &tls_keys[k], cfield(c, k));
}
