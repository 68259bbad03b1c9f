#define _GNU_SOURCE /* qsort_r */
#include "tlsweep/config.h"

#include "tlsweep/check.h"
#include "tlsweep_default_config.h" /* generated from configs/default.yaml */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

typedef enum {
    K_INT,   /* int field */
    K_I64,   /* int64_t field, exact */
    K_REAL,  /* double field */
    K_BOOL,  /* int field, 0/1 */
    K_GAMMA, /* svm.gamma: auto, scale or a number (tls_svc_params' gamma_mode and gamma) */
    K_COUNT, /* int field or `all` (-1) */
    K_STR,   /* char[512] path */
    K_REALS, /* tls_reals */
    K_ENUM   /* int field: the index of one of `names` */
} key_type;

/* One configuration key: its dotted name, type, the field it sets, and the
 * range it must lie in (checked after everything is applied). */
typedef struct {
    const char *name;
    key_type type;
    size_t off, size;     /* the field in tls_config */
    double lo, hi;        /* inclusive bounds for numbers / list elements */
    int lo_open, hi_open; /* 1: the bound itself is not allowed */
    const char *allowed;
    const char *fixed; /* non-NULL: may not be swept, and why */
    const char *units, *long_name;
    int integer;              /* K_REALS: every element an integer */
    const char *const *names; /* K_ENUM: the allowed words, NULL-terminated */
} key_def;

#define F(field) offsetof(tls_config, field), sizeof(((tls_config *)0)->field)
#define E(field) F(base.eng.field)
/* svm.gamma: the two adjacent fields gamma_mode and gamma, nothing else */
#define GAMMA_FIELD                                                                                \
    offsetof(tls_config, base.eng.svm.gamma_mode),                                                 \
        offsetof(tls_svc_params, gamma) + sizeof(double) - offsetof(tls_svc_params, gamma_mode)
static const char FILES_FIXED[] =
    "data files are read once per run; allowed: one sweep per pair of files";
static const char OUTPUT_FIXED[] = "it describes the results file, not a configuration; allowed: "
                                   "one value per sweep";

static const key_def KEYS[] = {
    /* the four named axes: lists under grid:, values copied into the grid point */
    {"grid.shift", K_REAL, F(base.pt.shift), -1e6, 1e6, 0, 0,
     "a non-empty list of distinct numbers from -1000000 to 1000000 (degrees, or as "
     "data.shift_kind says)",
     NULL, "degree", "rotation of the target domain", 0, NULL},
    {"grid.lambda", K_REAL, F(base.pt.lambda), 0, 1e6, 0, 0,
     "a non-empty list of distinct numbers from 0 to 1000000", NULL, "1",
     "weight of MMD^2 in the source training loss", 0, NULL},
    {"grid.n_target", K_INT, F(base.pt.n_target), 1, 1e6, 0, 0,
     "a non-empty list of distinct integers from data.classes to 1000000", NULL, "1",
     "labelled target points", 0, NULL},
    {"grid.seed", K_I64, F(base.pt.seed), 0, 9.2233720368547758e18, 0, 1,
     "a non-empty list of distinct integers from 0 to 9223372036854775807", NULL, "1",
     "random seed (data, initialisation, batch order)", 0, NULL},
    {"data.n_source", K_COUNT, E(n_source), 1, 1e8, 0, 0,
     "an integer from data.classes to 100000000, or all (with data.source)", NULL, "1",
     "source points", 0, NULL},
    {"data.n_test", K_COUNT, E(n_test), 2, 1e8, 0, 0,
     "an integer from max(2, data.classes) to 100000000, or all (with data.target)", NULL, "1",
     "target test points", 0, NULL},
    {"data.dim", K_INT, E(dim), 2, 1e5, 0, 0, "an integer from 2 to 100000", NULL, "1",
     "input dimension", 0, NULL},
    {"data.classes", K_INT, E(classes), 2, 1000, 0, 0, "an integer from 2 to 1000", NULL, "1",
     "classes", 0, NULL},
    {"data.source_mean", K_REAL, E(source_mean), -1e6, 1e6, 0, 0,
     "a number from -1000000 to 1000000", NULL, "1", "source class means +-(a, a)", 0, NULL},
    {"data.source_std", K_REAL, E(source_std), 0, 1e6, 1, 0, "a number in (0, 1000000]", NULL, "1",
     "per-coordinate std of the source clusters", 0, NULL},
    {"data.target_mean", K_REAL, E(target_mean), -1e6, 1e6, 0, 0,
     "a number from -1000000 to 1000000", NULL, "1", "target class means +-(a, a) before rotation",
     0, NULL},
    {"data.target_std", K_REAL, E(target_std), 0, 1e6, 1, 0, "a number in (0, 1000000]", NULL, "1",
     "per-coordinate std of the target clusters", 0, NULL},
    {"data.source", K_STR, F(data_source), 0, 0, 0, 0,
     "a path to an HDF5 file with X (n, dim) and y (n), or \"\" for the synthetic source",
     FILES_FIXED, NULL, NULL, 0, NULL},
    {"data.target", K_STR, F(data_target), 0, 0, 0, 0,
     "a path to an HDF5 file with X (n, dim) and y (n), or \"\" for the synthetic target",
     FILES_FIXED, NULL, NULL, 0, NULL},
    {"data.image_shape", K_REALS, F(image_shape), 1, 100000, 0, 0,
     "[] or [height, width] with height * width = the files' dim",
     "it describes the data files; allowed: one value per sweep", NULL, NULL, 1, NULL},
    {"data.standardize", K_BOOL, E(standardize), 0, 1, 0, 0, "true or false", NULL, "1",
     "inputs scaled by the source file's per-feature statistics", 0, NULL},
    {"data.shift_kind", K_ENUM, E(shift_kind), 0, 0, 0, 0,
     "rotation, translation, scale, label or conditional", NULL, "",
     "what the shift changes in the target domain: rotation (degrees), translation (source "
     "class spreads), scale (of the target spread), label (class 0's share), conditional "
     "(share of labels swapped)",
     0, tls_shift_kind_names},
    {"model.hidden", K_INT, E(hidden), 1, 1e5, 0, 0, "an integer from 1 to 100000", NULL, "1",
     "hidden layer width", 0, NULL},
    {"model.features", K_INT, E(features), 1, 1e5, 0, 0, "an integer from 1 to 100000", NULL, "1",
     "feature (embedding) width", 0, NULL},
    {"train.epochs", K_INT, E(epochs), 0, 1e6, 0, 0,
     "an integer from 0 (no source training) to 1000000", NULL, "1", "source training epochs", 0,
     NULL},
    {"train.finetune_epochs", K_INT, E(finetune_epochs), 0, 1e6, 0, 0,
     "an integer from 0 (no fine-tuning) to 1000000", NULL, "1", "fine-tuning epochs", 0, NULL},
    {"train.batch_size", K_INT, E(batch_size), 1, 1e8, 0, 0, "an integer from 1 to 100000000", NULL,
     "1", "source mini-batch size", 0, NULL},
    {"train.lr", K_REAL, E(lr), 0, 1e3, 1, 0, "a number in (0, 1000]", NULL, "1",
     "Adam learning rate", 0, NULL},
    {"train.beta1", K_REAL, E(beta1), 0, 1, 0, 1, "a number in [0, 1)", NULL, "1",
     "Adam first-moment decay", 0, NULL},
    {"train.beta2", K_REAL, E(beta2), 0, 1, 0, 1, "a number in [0, 1)", NULL, "1",
     "Adam second-moment decay", 0, NULL},
    {"train.eps", K_REAL, E(adam_eps), 0, 1, 1, 0, "a number in (0, 1]", NULL, "1", "Adam epsilon",
     0, NULL},
    {"mmd.gamma", K_REAL, E(mmd_gamma), 0, 1e6, 1, 0, "a finite number > 0", NULL, "1",
     "RBF kernel parameter of the MMD", 0, NULL},
    {"mmd.distance_points", K_INT, E(distance_points), 0, 1e8, 0, 0,
     "0 (all points) or the number of points per domain for the MMD^2 distances", NULL, "1",
     "points per domain of the MMD^2 distances (0: all)", 0, NULL},
    {"mmd.gammas", K_REALS, E(mmd_gammas), 0, 1e6, 1, 0,
     "[] (mmd.gamma alone) or a list of up to 8 numbers > 0", NULL, "1",
     "RBF gammas of the MMD loss, summed (multi-kernel MMD); []: mmd.gamma", 0, NULL},
    {"mmd.bandwidth", K_ENUM, E(mmd_bandwidth), 0, 0, 0, 0, "fixed or median", NULL, "",
     "MMD loss bandwidth: the gammas as given, or divided by the median squared distance of "
     "the pooled batch",
     0, tls_bandwidth_names},
    {"mmd.estimator", K_ENUM, E(mmd_estimator), 0, 0, 0, 0, "biased or unbiased", NULL, "",
     "estimator of the MMD^2 loss", 0, tls_estimator_names},
    {"align.loss", K_ENUM, E(align_loss), 0, 0, 0, 0, tls_align_allowed, NULL, "",
     "alignment loss of the source phase, weighted by lambda", 0, tls_align_names},
    {"align.target_batch", K_COUNT, E(align_target_batch), 1, 1e8, 0, 0,
     "all (every target test point, the article) or an integer from 1 to 100000000 (points "
     "drawn at random per step)",
     NULL, "1", "unlabelled target points per source step (-1: all)", 0, NULL},
    {"align.disc_hidden", K_INT, E(disc_hidden), 1, 1e5, 0, 0, "an integer from 1 to 100000", NULL,
     "1", "hidden width of the DANN domain discriminator", 0, NULL},
    {"finetune.strategy", K_ENUM, E(finetune_strategy), 0, 0, 0, 0, "all, classifier or l2sp", NULL,
     "", "what fine-tuning trains: all, the classifier only, or all with L2-SP", 0,
     tls_finetune_names},
    {"finetune.l2sp_alpha", K_REAL, E(l2sp_alpha), 0, 1e6, 0, 0, "a finite number >= 0", NULL, "1",
     "L2-SP weight alpha of alpha/2 ||w - w_source||^2 on the feature extractor", 0, NULL},
    {"baselines.target_epochs", K_INT, E(target_epochs), 0, 1e6, 0, 0,
     "an integer from 0 to 1000000", NULL, "1", "full-batch epochs of the target-only MLP", 0,
     NULL},
    {"selection.source_holdout", K_REAL, E(source_holdout), 0, 1, 0, 1, "a number in [0, 1)", NULL,
     "1", "share of each source class held out of training to validate IWCV and DEV (0: none)", 0,
     NULL},
    {"selection.target_holdout", K_REAL, E(target_holdout), 0, 1, 0, 1, "a number in [0, 1)", NULL,
     "1",
     "share of each class of the labelled target points held out of training for target "
     "validation (0: none)",
     0, NULL},
    {"svm.C", K_REAL, E(svm.C), 0, 1e12, 1, 0, "a finite number > 0", NULL, "1",
     "C of the scratch and direct SVMs", 0, NULL},
    {"svm.gamma", K_GAMMA, GAMMA_FIELD, 0, 1e12, 1, 0, "auto, scale or a finite number > 0", NULL,
     "", "RBF width of the scratch and direct SVMs", 0, NULL},
    {"svm.tol", K_REAL, E(svm.eps), 0, 1, 1, 0, "a number in (0, 1]", NULL, "1",
     "libsvm stopping tolerance", 0, NULL},
    {"svm.cache_mb", K_REAL, E(svm.cache_mb), 0, 1e6, 1, 0, "a number of megabytes > 0", NULL, "MB",
     "libsvm kernel cache", 0, NULL},
    {"svm.shrinking", K_BOOL, E(svm.shrinking), 0, 1, 0, 0, "true or false", NULL, "1",
     "libsvm shrinking heuristic", 0, NULL},
    {"svm.pad_C", K_REAL, E(pad_C), 0, 1e12, 1, 0, "a finite number > 0", NULL, "1",
     "C of the proxy A-distance's linear SVM", 0, NULL},
    {"output.embeddings", K_BOOL, F(embeddings), 0, 1, 0, 0, "true or false", OUTPUT_FIXED, NULL,
     NULL, 0, NULL},
    {"output.sync_seconds", K_REAL, F(sync_seconds), 0, 3600, 1, 0,
     "a number of seconds in (0, 3600]", OUTPUT_FIXED, NULL, NULL, 0, NULL},
};
#undef F
#undef E
enum { NKEYS = sizeof(KEYS) / sizeof(KEYS[0]) };
static const char *const SECTIONS =
    "grid, data, model, train, mmd, align, finetune, baselines, selection, svm, output";

const char *const *tls_config_key_names(void) {
    static const char *names[NKEYS + 1];
    for (int i = 0; i < NKEYS; i++) names[i] = KEYS[i].name;
    return names;
}

static int is_named_axis(int k) {
    return k < TLS_NAMED_AXES;
}

/* Where each key was last set, for messages about values that fail the
 * checks after everything is applied. `user` marks keys set by the file or
 * --set rather than by the built-in default. */
typedef struct {
    char where[NKEYS][300];
    char axis_where[NKEYS][300]; /* where the key was given a list under grid: */
    int user[NKEYS];
} origins;

static int find_key(const char *name) {
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(KEYS[i].name, name) == 0) return i;
    return -1;
}

static int unknown_key(char *err, const char *where, const char *name) {
    /* grid.train.lrr: the key after grid. is what is misspelt */
    const char *key = name, *prefix = "";
    if (!strncmp(name, "grid.", 5) && strchr(name + 5, '.')) key = name + 5, prefix = "grid.";
    int best = -1, bestd = 99;
    for (int i = 0; i < NKEYS; i++) {
        int d = tls_edit_distance(key, KEYS[i].name);
        const char *dot = strchr(KEYS[i].name, '.');
        int dl = tls_edit_distance(key, dot + 1); /* a key given without its section */
        if (dl < d) d = dl;
        if (d < bestd) bestd = d, best = i;
    }
    if (best >= 0 && bestd <= 3)
        return tls_input_error(err, where, name,
                               "unknown key; did you mean %s%s? allowed: the keys listed in "
                               "configs/README.md",
                               prefix, KEYS[best].name);
    return tls_input_error(err, where, name,
                           "unknown key; allowed: sections %s with the keys listed in "
                           "configs/README.md",
                           SECTIONS);
}

/* ---- scalar parsing ---------------------------------------------------- */

static int parse_real(const char *s, double *v) {
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) return *v = NAN, 0;
    if (!strcmp(s, ".inf") || !strcmp(s, "+.inf") || !strcmp(s, ".Inf")) return *v = INFINITY, 0;
    if (!strcmp(s, "-.inf") || !strcmp(s, "-.Inf")) return *v = -INFINITY, 0;
    if (!*s) return -1;
    /* strtod also reads "nan"/"inf"/hex, which YAML would not call numbers */
    for (const char *p = s; *p; p++)
        if (strchr("0123456789+-.eE", *p) == NULL) return -1;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (*end || errno == ERANGE) return -1;
    return 0;
}

/* An integer, exactly: decimal digits are read as int64, anything else as a
 * number that must be integral and below 2^53 (where doubles are exact). */
static int parse_int64(const char *s, int64_t *v) {
    const char *p = s + (*s == '+' || *s == '-');
    if (*p && strspn(p, "0123456789") == strlen(p)) {
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (*end || errno == ERANGE) return -1;
        *v = x;
        return 0;
    }
    double d;
    if (parse_real(s, &d) || !isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return -1;
    *v = (int64_t)d;
    return 0;
}

static int parse_bool(const char *s, int *v) {
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off"};
    for (int i = 0; i < 6; i++) {
        if (!strcmp(s, yes[i])) return *v = 1, 0;
        if (!strcmp(s, no[i])) return *v = 0, 0;
    }
    return -1;
}

static const char *type_name(const yaml_node_t *n) {
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a scalar";
}

/* "range(START, STOP[, STEP])": integers, STOP excluded, STEP != 0 (default
 * 1), as Python's and Hydra's range. Fills *start, *step and *count (which
 * may be 0); -1 when the text is not of that form. */
static int parse_range(const char *s, int64_t *start, int64_t *step, int64_t *count) {
    if (strncmp(s, "range(", 6)) return -1;
    size_t len = strlen(s);
    if (len < 8 || s[len - 1] != ')') return -1;
    int64_t v[3] = {0, 0, 1};
    int nv = 0;
    const char *p = s + 6, *end = s + len - 1;
    while (p <= end && nv < 3) {
        const char *q = p;
        while (q < end && *q != ',') q++;
        char tok[48];
        while (p < q && isspace((unsigned char)*p)) p++;
        const char *e = q;
        while (e > p && isspace((unsigned char)e[-1])) e--;
        if (e - p <= 0 || e - p >= (long)sizeof(tok)) return -1;
        memcpy(tok, p, (size_t)(e - p));
        tok[e - p] = '\0';
        if (parse_int64(tok, &v[nv++])) return -1;
        p = q + 1;
        if (q == end) break;
    }
    if (p <= end || nv < 2 || v[2] == 0) return -1;
    __int128 span = (__int128)v[1] - v[0], st = v[2];
    __int128 n =
        st > 0 ? (span > 0 ? (span + st - 1) / st : 0) : (span < 0 ? (-span - st - 1) / -st : 0);
    *start = v[0], *step = v[2];
    *count = n > INT64_MAX ? INT64_MAX : (int64_t)n;
    return 0;
}

static int seq_len(const yaml_node_t *n) {
    return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* Applies scalar node n to key k of c (a list for K_REALS). */
static int apply(tls_config *c, int k, yaml_document_t *doc, yaml_node_t *n, const char *where,
                 char *err) {
    const key_def *kd = &KEYS[k];
    void *field = (char *)c + kd->off;
    if (kd->type == K_REALS) {
        tls_reals *r = field;
        int count = n->type == YAML_SCALAR_NODE     ? 1
                    : n->type == YAML_SEQUENCE_NODE ? seq_len(n)
                                                    : -1;
        if (count < 0)
            return tls_input_error(err, where, kd->name, "expected a list, got %s; allowed: %s",
                                   type_name(n), kd->allowed);
        if (count > TLS_MAX_REALS)
            return tls_input_error(err, where, kd->name, "%d values; allowed: %s", count,
                                   kd->allowed);
        for (int i = 0; i < count; i++) {
            yaml_node_t *item = n->type == YAML_SCALAR_NODE
                                    ? n
                                    : yaml_document_get_node(doc, n->data.sequence.items.start[i]);
            if (item->type != YAML_SCALAR_NODE ||
                parse_real((const char *)item->data.scalar.value, &r->v[i]))
                return tls_input_error(
                    err, where, kd->name, "element %d is not a number (%s); allowed: %s", i + 1,
                    item->type == YAML_SCALAR_NODE ? (char *)item->data.scalar.value
                                                   : type_name(item),
                    kd->allowed);
        }
        r->n = count;
        return TLS_OK;
    }
    if (n->type != YAML_SCALAR_NODE)
        return tls_input_error(err, where, kd->name,
                               "expected a single value, got %s; allowed: %s%s%s%s", type_name(n),
                               kd->allowed, kd->fixed ? "" : " (to sweep it: grid: {",
                               kd->fixed ? "" : kd->name, kd->fixed ? "" : ": [a, b, ...]})");
    const char *s = (const char *)n->data.scalar.value;
    if (kd->type == K_STR) {
        if (strlen(s) >= 512)
            return tls_input_error(err, where, kd->name, "path longer than 511 bytes; allowed: %s",
                                   kd->allowed);
        snprintf((char *)field, 512, "%s", s);
        return TLS_OK;
    }
    if (kd->type == K_COUNT && !strcmp(s, "all")) {
        *(int *)field = -1; /* all: resolved from the data files */
        return TLS_OK;
    }
    double v;
    int64_t iv;
    int b;
    switch (kd->type) {
    case K_INT:
    case K_COUNT:
        if (parse_int64(s, &iv) || iv < -2000000000 || iv > 2000000000)
            return tls_input_error(err, where, kd->name, "'%s' is not an integer; allowed: %s", s,
                                   kd->allowed);
        if (kd->type == K_COUNT && iv < 0) /* -1 is how `all` is kept: not a number to give */
            return tls_input_error(err, where, kd->name, "%s is out of range; allowed: %s", s,
                                   kd->allowed);
        *(int *)field = (int)iv;
        break;
    case K_I64:
        if (parse_int64(s, &iv))
            return tls_input_error(err, where, kd->name,
                                   "'%s' is not an integer that fits in 64 bits; allowed: %s", s,
                                   kd->allowed);
        *(int64_t *)field = iv;
        break;
    case K_REAL:
        if (parse_real(s, &v))
            return tls_input_error(err, where, kd->name, "'%s' is not a number; allowed: %s", s,
                                   kd->allowed);
        *(double *)field = v;
        break;
    case K_BOOL:
        if (parse_bool(s, &b))
            return tls_input_error(err, where, kd->name, "'%s' is not true or false; allowed: %s",
                                   s, kd->allowed);
        *(int *)field = b;
        break;
    case K_GAMMA: {
        tls_svc_params *sp =
            (tls_svc_params *)((char *)field - offsetof(tls_svc_params, gamma_mode));
        if (!strcmp(s, "auto")) {
            sp->gamma_mode = TLS_GAMMA_AUTO;
        } else if (!strcmp(s, "scale")) {
            sp->gamma_mode = TLS_GAMMA_SCALE;
        } else if (!parse_real(s, &v)) {
            sp->gamma_mode = TLS_GAMMA_VALUE;
            sp->gamma = v;
        } else {
            return tls_input_error(err, where, kd->name,
                                   "'%s' is not auto, scale or a number; allowed: %s", s,
                                   kd->allowed);
        }
        break;
    }
    case K_ENUM: {
        int found = -1;
        for (int i = 0; kd->names[i] && found < 0; i++)
            if (!strcmp(s, kd->names[i])) found = i;
        if (found < 0)
            return tls_input_error(err, where, kd->name,
                                   "'%s' is not one of its words; allowed: %s", s, kd->allowed);
        *(int *)field = found;
        break;
    }
    case K_STR:
    case K_REALS:
        break;
    }
    return TLS_OK;
}

/* ---- values as numbers and text ----------------------------------------- */

/* The value of key k in settings-bearing config c as a number (NAN when not
 * a number: auto/scale, paths, lists). */
static double key_number(const tls_config *c, int k) {
    const key_def *kd = &KEYS[k];
    const void *field = (const char *)c + kd->off;
    switch (kd->type) {
    case K_INT:
    case K_COUNT:
    case K_BOOL:
        return *(const int *)field;
    case K_I64:
        return (double)*(const int64_t *)field;
    case K_REAL:
        return *(const double *)field;
    case K_GAMMA: {
        const tls_svc_params *sp =
            (const tls_svc_params *)((const char *)field - offsetof(tls_svc_params, gamma_mode));
        return sp->gamma_mode == TLS_GAMMA_VALUE ? sp->gamma : NAN;
    }
    default:
        return NAN;
    }
}

/* Appends printf output to a growing buffer; on allocation failure the
 * buffer is freed and stays NULL (failed = 1). With `hashing` set, the
 * output is folded into h (FNV-1a, 64 bits) instead: nothing is kept. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
    int hashing;
    uint64_t h;
} sbuf;

static void sb_hash(sbuf *b, const char *fmt, va_list ap) {
    char small[256], *t = small;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(small, sizeof(small), fmt, aq);
    va_end(aq);
    if (n < 0) return;
    if ((size_t)n >= sizeof(small)) {
        t = malloc((size_t)n + 1);
        if (!t) {
            b->failed = 1;
            return;
        }
        vsnprintf(t, (size_t)n + 1, fmt, ap);
    }
    for (int i = 0; i < n; i++) b->h = (b->h ^ (unsigned char)t[i]) * 1099511628211ULL;
    if (t != small) free(t);
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->failed) return;
    if (b->hashing) {
        va_list ap;
        va_start(ap, fmt);
        sb_hash(b, fmt, ap);
        va_end(ap);
        return;
    }
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            free(b->s);
            b->s = NULL;
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* Writes key k's value in c as YAML text. */
static void sb_value(sbuf *b, const key_def *kd, const tls_config *c) {
    const void *field = (const char *)c + kd->off;
    char num[40];
    switch (kd->type) {
    case K_INT:
        sb_printf(b, "%d", *(const int *)field);
        break;
    case K_I64:
        sb_printf(b, "%lld", (long long)*(const int64_t *)field);
        break;
    case K_COUNT:
        if (*(const int *)field == -1)
            sb_printf(b, "all");
        else
            sb_printf(b, "%d", *(const int *)field);
        break;
    case K_STR: {
        /* a double-quoted YAML string: escape what YAML would read otherwise */
        sb_printf(b, "\"");
        for (const unsigned char *p = field; *p; p++) {
            if (*p == '"' || *p == '\\')
                sb_printf(b, "\\%c", *p);
            else if (*p < 0x20)
                sb_printf(b, "\\x%02x", *p);
            else
                sb_printf(b, "%c", *p);
        }
        sb_printf(b, "\"");
        break;
    }
    case K_REAL:
        tls_format_real(num, sizeof(num), *(const double *)field);
        sb_printf(b, "%s", num);
        break;
    case K_BOOL:
        sb_printf(b, "%s", *(const int *)field ? "true" : "false");
        break;
    case K_GAMMA: {
        const tls_svc_params *sp =
            (const tls_svc_params *)((const char *)field - offsetof(tls_svc_params, gamma_mode));
        if (sp->gamma_mode == TLS_GAMMA_AUTO)
            sb_printf(b, "auto");
        else if (sp->gamma_mode == TLS_GAMMA_SCALE)
            sb_printf(b, "scale");
        else {
            tls_format_real(num, sizeof(num), sp->gamma);
            sb_printf(b, "%s", num);
        }
        break;
    }
    case K_ENUM:
        sb_printf(b, "%s", kd->names[*(const int *)field]);
        break;
    case K_REALS: {
        const tls_reals *r = field;
        sb_printf(b, "[");
        for (int i = 0; i < r->n; i++) {
            tls_format_real(num, sizeof(num), r->v[i]);
            sb_printf(b, "%s%s", i ? ", " : "", num);
        }
        sb_printf(b, "]");
        break;
    }
    }
}

static int check_key(const tls_config *c, int k, const char *where, const char *what, char *err);

/* ---- axes ---------------------------------------------------------------- */

const char *tls_axis_text(const tls_axis *ax, int i, char *buf, size_t len) {
    if (ax->text) return ax->text[i];
    if (ax->type == TLS_V_REAL)
        tls_format_real(buf, len, ax->num[i]);
    else if (ax->type == TLS_V_BOOL)
        snprintf(buf, len, "%s", ax->inum[i] ? "true" : "false");
    else if (ax->inum[i] == -1 && KEYS[ax->key].type == K_COUNT)
        snprintf(buf, len, "all");
    else
        snprintf(buf, len, "%lld", (long long)ax->inum[i]);
    return buf;
}

static void axis_free(tls_axis *a) {
    if (a->text)
        for (int i = 0; i < a->n; i++) free(a->text[i]);
    free(a->text);
    free(a->vals);
    free(a->num);
    free(a->inum);
    memset(a, 0, sizeof(*a));
}

static tls_vtype vtype_of(const key_def *kd) {
    switch (kd->type) {
    case K_INT:
    case K_I64:
    case K_COUNT:
        return TLS_V_INT;
    case K_REAL:
        return TLS_V_REAL;
    case K_BOOL:
        return TLS_V_BOOL;
    default:
        return TLS_V_STR;
    }
}

/* Sorts the axis's values ascending when they are numbers. */
static int axis_sort_cmp_ctx_num(const void *a, const void *b, void *ctx) {
    const tls_axis *ax = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    if (ax->type == TLS_V_REAL) return (ax->num[i] > ax->num[j]) - (ax->num[i] < ax->num[j]);
    return (ax->inum[i] > ax->inum[j]) - (ax->inum[i] < ax->inum[j]);
}

static int axis_sort_cmp_ctx_text(const void *a, const void *b, void *ctx) {
    const tls_axis *ax = ctx;
    int c = strcmp(ax->text[*(const int *)a], ax->text[*(const int *)b]);
    return c ? c : (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* Reorders the axis by perm (new position p holds old value perm[p]). */
static int axis_permute(tls_axis *ax, const int *perm) {
    unsigned char *vals = malloc(ax->size * (size_t)ax->n);
    char **text = ax->text ? malloc(sizeof(char *) * (size_t)ax->n) : NULL;
    double *num = ax->num ? malloc(sizeof(double) * (size_t)ax->n) : NULL;
    int64_t *inum = ax->inum ? malloc(sizeof(int64_t) * (size_t)ax->n) : NULL;
    if (!vals || (ax->text && !text) || (ax->num && !num) || (ax->inum && !inum)) {
        free(vals), free(text), free(num), free(inum);
        return TLS_ERR_NOMEM;
    }
    for (int p = 0; p < ax->n; p++) {
        int q = perm[p];
        memcpy(vals + (size_t)p * ax->size, ax->vals + (size_t)q * ax->size, ax->size);
        if (text) text[p] = ax->text[q];
        if (num) num[p] = ax->num[q];
        if (inum) inum[p] = ax->inum[q];
    }
    free(ax->vals), free(ax->text), free(ax->num), free(ax->inum);
    ax->vals = vals, ax->text = text, ax->num = num, ax->inum = inum;
    return TLS_OK;
}

/* Builds an axis for key k from a YAML node (a list, or a single value):
 * each value applied to a scratch copy of c and its field bytes kept.
 * Values are sorted (numbers ascending; strings keep their order) and must
 * be distinct: checked in O(n log n). */
static int axis_build(tls_axis *ax, const tls_config *c, int k, yaml_document_t *doc,
                      yaml_node_t *n, const char *where, char *err) {
    const key_def *kd = &KEYS[k];
    char shown[96]; /* the key as written under grid: */
    snprintf(shown, sizeof(shown), "%s%s", is_named_axis(k) ? "" : "grid.", kd->name);
    int count;
    int64_t r_start = 0, r_step = 0, r_count = -1; /* r_count >= 0: a range(...) */
    if (n->type == YAML_SCALAR_NODE && !strncmp((const char *)n->data.scalar.value, "range(", 6)) {
        if (parse_range((const char *)n->data.scalar.value, &r_start, &r_step, &r_count))
            return tls_input_error(err, where, shown,
                                   "'%s' is not range(START, STOP) or range(START, STOP, STEP) "
                                   "with integers and STEP != 0; allowed: %s, or such a range",
                                   (const char *)n->data.scalar.value, kd->allowed);
        if (kd->type != K_INT && kd->type != K_I64 && kd->type != K_COUNT && kd->type != K_REAL)
            return tls_input_error(err, where, shown,
                                   "range(...) makes numbers, and this key is not a number; "
                                   "allowed: %s",
                                   kd->allowed);
        if (r_count == 0)
            return tls_input_error(err, where, shown,
                                   "%s is empty; allowed: %s, or a range with values",
                                   (const char *)n->data.scalar.value, kd->allowed);
        if (r_count > TLS_MAX_VALUES)
            return tls_input_error(
                err, where, shown, "%s has %lld values; allowed: at most %d values per axis",
                (const char *)n->data.scalar.value, (long long)r_count, TLS_MAX_VALUES);
        count = (int)r_count;
    } else if (n->type == YAML_SCALAR_NODE)
        count = 1;
    else if (n->type == YAML_SEQUENCE_NODE)
        count = seq_len(n);
    else
        return tls_input_error(err, where, shown, "expected a list, got %s; allowed: %s",
                               type_name(n), kd->allowed);
    if (count == 0)
        return tls_input_error(err, where, shown, "empty list; allowed: %s", kd->allowed);
    if (count > TLS_MAX_VALUES)
        return tls_input_error(err, where, shown, "%d values; allowed: at most %d values per axis",
                               count, TLS_MAX_VALUES);
    int64_t held = count; /* this axis replaces *ax, whose values go */
    for (int a = 0; a < c->naxes; a++)
        if (&c->axis[a] != ax) held += c->axis[a].n;
    if (held > TLS_MAX_HELD_VALUES)
        return tls_input_error(err, where, shown,
                               "%d values, with the other axes' %lld: a grid of more than %d "
                               "configurations; allowed: at most %d configurations (e.g. one "
                               "axis of %d values and one of %d)",
                               count, (long long)(held - count), TLS_MAX_GRID, TLS_MAX_GRID,
                               TLS_MAX_VALUES, TLS_MAX_GRID / TLS_MAX_VALUES);
    axis_free(ax);
    ax->key = k;
    ax->key_name = kd->name;
    ax->type = vtype_of(kd);
    ax->off = kd->off;
    ax->size = kd->size;
    ax->units = kd->units;
    ax->long_name = kd->long_name;
    if (is_named_axis(k))
        snprintf(ax->dim, sizeof(ax->dim), "%s", kd->name + 5);
    else
        for (size_t i = 0; i <= strlen(kd->name) && i < sizeof(ax->dim); i++)
            ax->dim[i] = kd->name[i] == '.' ? '_' : kd->name[i];
    ax->vals = malloc(kd->size * (size_t)count);
    /* the text of numbers is made when needed (tls_axis_text): a list of a
     * million seeds keeps 24 bytes per value, not a string each */
    if (ax->type == TLS_V_STR) ax->text = calloc((size_t)count, sizeof(char *));
    if (ax->type != TLS_V_STR) ax->num = malloc(sizeof(double) * (size_t)count);
    if (ax->type == TLS_V_INT || ax->type == TLS_V_BOOL)
        ax->inum = malloc(sizeof(int64_t) * (size_t)count);
    int *perm = malloc(sizeof(int) * (size_t)count);
    tls_config *tmp = malloc(sizeof(*tmp));
    int rc = TLS_ERR_NOMEM;
    if (!ax->vals || (ax->type == TLS_V_STR && !ax->text) || (ax->type != TLS_V_STR && !ax->num) ||
        ((ax->type == TLS_V_INT || ax->type == TLS_V_BOOL) && !ax->inum) || !perm || !tmp)
        goto done;
    ax->n = count;
    memcpy(tmp, c, sizeof(*tmp));
    for (int i = 0; i < count; i++) {
        yaml_node_t *item = n->type == YAML_SCALAR_NODE
                                ? n
                                : yaml_document_get_node(doc, n->data.sequence.items.start[i]);
        yaml_node_t one; /* value i of a range, as if written in a list */
        char num[32];
        if (r_count >= 0) {
            snprintf(num, sizeof(num), "%lld", (long long)(r_start + (__int128)i * r_step));
            memset(&one, 0, sizeof(one));
            one.type = YAML_SCALAR_NODE;
            one.data.scalar.value = (yaml_char_t *)num;
            one.data.scalar.length = strlen(num);
            item = &one;
        }
        char w[400];
        snprintf(w, sizeof(w), "%s", where);
        if (item->type != YAML_SCALAR_NODE && kd->type != K_REALS) {
            rc = tls_input_error(err, where, shown, "element %d is %s, not a value; allowed: %s",
                                 i + 1, type_name(item), kd->allowed);
            goto done;
        }
        rc = apply(tmp, k, doc, item, w, err);
        if (rc) {
            /* name the element: "element 3 is not a number" */
            char inner[TLS_ERRMSG];
            char prefix[600]; /* apply's "WHERE: KEY: ", which the element's line replaces */
            int pl = snprintf(prefix, sizeof(prefix), "%s: %s: ", w, kd->name);
            int skip = pl > 0 && (size_t)pl < sizeof(prefix) && !strncmp(err, prefix, (size_t)pl);
            snprintf(inner, sizeof(inner), "%s", skip ? err + pl : err);
            rc = tls_input_error(err, where, shown, "element %d: %s", i + 1, inner);
            goto done;
        }
        char what[48];
        snprintf(what, sizeof(what), "element %d: ", i + 1);
        rc = check_key(tmp, k, where, what, err);
        if (rc) goto done;
        memcpy(ax->vals + (size_t)i * kd->size, (char *)tmp + kd->off, kd->size);
        if (ax->text) {
            sbuf b = {0};
            sb_value(&b, kd, tmp);
            if (b.failed) {
                rc = TLS_ERR_NOMEM;
                goto done;
            }
            ax->text[i] = b.s;
        }
        if (ax->num) ax->num[i] = key_number(tmp, k);
        if (ax->inum)
            ax->inum[i] = kd->type == K_I64 ? *(int64_t *)((char *)tmp + kd->off)
                                            : *(int *)((char *)tmp + kd->off);
        perm[i] = i;
    }
    /* sort positions, then check neighbours for repeats */
    if (ax->type != TLS_V_STR)
        qsort_r(perm, (size_t)count, sizeof(int), axis_sort_cmp_ctx_num, ax);
    else
        qsort_r(perm, (size_t)count, sizeof(int), axis_sort_cmp_ctx_text, ax);
    for (int p = 1; p < count; p++) {
        int a = perm[p - 1], b = perm[p];
        int same = ax->type == TLS_V_STR    ? !strcmp(ax->text[a], ax->text[b])
                   : ax->type == TLS_V_REAL ? ax->num[a] == ax->num[b]
                                            : ax->inum[a] == ax->inum[b];
        if (same) {
            int first = a < b ? a : b, second = a < b ? b : a;
            char t[40];
            rc = tls_input_error(err, where, shown,
                                 "element %d (%s) repeats element %d; allowed: %s", second + 1,
                                 tls_axis_text(ax, second, t, sizeof(t)), first + 1, kd->allowed);
            goto done;
        }
    }
    if (ax->type == TLS_V_STR)
        for (int p = 0; p < count; p++) perm[p] = p; /* strings keep the order written */
    rc = axis_permute(ax, perm);
done:
    free(perm);
    free(tmp);
    if (rc) axis_free(ax);
    return rc;
}

/* ---- documents ---------------------------------------------------------- */

static int syntax_error(char *err, const char *name, yaml_parser_t *parser) {
    char where[600];
    snprintf(where, sizeof(where), "%s:%zu", name, parser->problem_mark.line + 1);
    char began[64] = "";
    if (parser->context && parser->context_mark.line != parser->problem_mark.line)
        snprintf(began, sizeof(began), " that began at line %zu", parser->context_mark.line + 1);
    return tls_input_error(err, where, "(syntax)",
                           "YAML syntax error: %s%s%s%s; allowed: valid YAML (see "
                           "configs/README.md)",
                           parser->problem ? parser->problem : "unknown problem",
                           parser->context ? " " : "", parser->context ? parser->context : "",
                           began);
}

/* Loads the one YAML document of text/file into doc; a second document is
 * bad input. */
static int load_doc(yaml_document_t *doc, const char *name, const unsigned char *text, size_t len,
                    FILE *f, char *err) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return tls_input_error(err, name, "yaml", "cannot initialise libyaml; allowed: -");
    if (f)
        yaml_parser_set_input_file(&parser, f);
    else
        yaml_parser_set_input_string(&parser, text, len);
    if (!yaml_parser_load(&parser, doc)) {
        int rc = syntax_error(err, name, &parser);
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_document_t next;
    int rc = TLS_OK;
    if (!yaml_parser_load(&parser, &next)) {
        rc = syntax_error(err, name, &parser);
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&next);
        if (root) {
            char where[600];
            snprintf(where, sizeof(where), "%s:%zu", name, next.start_mark.line + 1);
            rc = tls_input_error(err, where, "(document)",
                                 "a second YAML document; allowed: one document (no --- "
                                 "after the configuration)");
        }
        yaml_document_delete(&next);
    }
    yaml_parser_delete(&parser);
    if (rc) yaml_document_delete(doc);
    return rc;
}

/* Sets key k from node v, or, for a dotted key under grid:, makes it an axis. */
static int set_key(tls_config *c, const char *full, yaml_document_t *doc, yaml_node_t *v,
                   const char *where, origins *org, int from_user, char *err) {
    int is_grid = !strncmp(full, "grid.", 5);
    const char *axis_key = is_grid && strchr(full + 5, '.') ? full + 5 : NULL;
    int k = find_key(axis_key ? axis_key : full);
    if (k < 0) return unknown_key(err, where, full);
    if (is_grid && !axis_key && !is_named_axis(k)) return unknown_key(err, where, full);
    if (!axis_key && is_named_axis(k)) {
        /* grid.shift and the like: always an axis */
        TLS_TRY(axis_build(&c->axis[k], c, k, doc, v, where, err));
        snprintf(org->axis_where[k], sizeof(org->axis_where[k]), "%s", where);
        return TLS_OK;
    }
    if (axis_key) {
        if (is_named_axis(k)) return unknown_key(err, where, full);
        if (KEYS[k].fixed)
            return tls_input_error(err, where, full, "%s cannot be swept: %s", axis_key,
                                   KEYS[k].fixed);
        int slot = -1;
        for (int a = TLS_NAMED_AXES; a < c->naxes; a++)
            if (c->axis[a].key == k) slot = a;
        if (slot < 0) {
            if (c->naxes >= TLS_MAX_AXES)
                return tls_input_error(err, where, full, "more than %d axes; allowed: at most %d",
                                       TLS_MAX_AXES - TLS_NAMED_AXES,
                                       TLS_MAX_AXES - TLS_NAMED_AXES);
            slot = c->naxes;
        }
        TLS_TRY(axis_build(&c->axis[slot], c, k, doc, v, where, err));
        if (slot == c->naxes) c->naxes++;
        snprintf(org->axis_where[k], sizeof(org->axis_where[k]), "%s", where);
        return TLS_OK;
    }
    TLS_TRY(apply(c, k, doc, v, where, err));
    snprintf(org->where[k], sizeof(org->where[k]), "%s", where);
    org->user[k] = from_user;
    return TLS_OK;
}

/* Applies a whole document (a mapping of sections) to c. */
static int apply_doc(tls_config *c, yaml_document_t *doc, const char *name, origins *org,
                     int from_user, char *err) {
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root) return TLS_OK; /* an empty file: defaults */
    char where[400];
    snprintf(where, sizeof(where), "%s:%zu", name, root->start_mark.line + 1);
    if (root->type != YAML_MAPPING_NODE)
        return tls_input_error(err, where, "(top level)",
                               "expected a mapping of sections, got %s; allowed: %s",
                               type_name(root), SECTIONS);
    char seen_sec[16][32];
    int nsec = 0;
    char seen_key[NKEYS + TLS_MAX_AXES][96];
    int nseen = 0;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        snprintf(where, sizeof(where), "%s:%zu", name, kn->start_mark.line + 1);
        if (kn->type != YAML_SCALAR_NODE)
            return tls_input_error(err, where, "(top level)",
                                   "a section name must be a plain word; allowed: %s", SECTIONS);
        const char *sec = (const char *)kn->data.scalar.value;
        for (int i = 0; i < nsec; i++)
            if (!strcmp(seen_sec[i], sec))
                return tls_input_error(err, where, sec,
                                       "section given twice; allowed: each section once, with "
                                       "all its keys");
        if (nsec < 16) snprintf(seen_sec[nsec++], sizeof(seen_sec[0]), "%s", sec);
        if (vn->type == YAML_SCALAR_NODE && vn->data.scalar.length == 0) continue; /* `sec:` */
        if (vn->type != YAML_MAPPING_NODE)
            return tls_input_error(err, where, sec,
                                   "expected a mapping of keys, got %s; allowed: e.g. %s: "
                                   "{key: value}",
                                   type_name(vn), sec);
        for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top;
             q++) {
            yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
            yaml_node_t *v2 = yaml_document_get_node(doc, q->value);
            snprintf(where, sizeof(where), "%s:%zu", name, k2->start_mark.line + 1);
            if (k2->type != YAML_SCALAR_NODE)
                return tls_input_error(err, where, sec,
                                       "a key must be a plain word; allowed: "
                                       "the keys listed in configs/README.md");
            char full[96];
            snprintf(full, sizeof(full), "%s.%.80s", sec, (const char *)k2->data.scalar.value);
            for (int i = 0; i < nseen; i++)
                if (!strcmp(seen_key[i], full))
                    return tls_input_error(err, where, full, "given twice; allowed: each key once");
            if (nseen < NKEYS + TLS_MAX_AXES)
                snprintf(seen_key[nseen++], sizeof(seen_key[0]), "%s", full);
            TLS_TRY(set_key(c, full, doc, v2, where, org, from_user, err));
        }
    }
    return TLS_OK;
}

static int apply_set(tls_config *c, const char *set, origins *org, char *err) {
    char where[300];
    snprintf(where, sizeof(where), "--set %.280s", set);
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return tls_input_error(err, where, "--set",
                               "expected KEY=VALUE; allowed: e.g. --set train.epochs=5 or "
                               "--set grid.seed=[0,1,2]");
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - set), set);
    const char *val = eq + 1;
    yaml_document_t doc;
    TLS_TRY(load_doc(&doc, where, (const unsigned char *)val, strlen(val), NULL, err));
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc;
    if (!root) {
        int k = find_key(key);
        rc = k < 0
                 ? unknown_key(err, where, key)
                 : tls_input_error(err, where, key, "no value given; allowed: %s", KEYS[k].allowed);
    } else {
        rc = set_key(c, key, &doc, root, where, org, 1, err);
    }
    yaml_document_delete(&doc);
    return rc;
}

/* ---- validation --------------------------------------------------------- */

static int check_number(const key_def *kd, double v, const char *where, const char *what,
                        char *err) {
    char shown[40]; /* the value exactly: 1000.0001 is not shown as 1000 */
    tls_format_real(shown, sizeof(shown), v);
    if (!isfinite(v))
        return tls_input_error(err, where, kd->name, "%s%s is not finite; allowed: %s", what, shown,
                               kd->allowed);
    if ((kd->lo_open ? v <= kd->lo : v < kd->lo) || (kd->hi_open ? v >= kd->hi : v > kd->hi))
        return tls_input_error(err, where, kd->name, "%s%s is out of range; allowed: %s", what,
                               shown, kd->allowed);
    return TLS_OK;
}

/* Checks key k's value in c (a scratch copy holding one value). */
static int check_key(const tls_config *c, int k, const char *where, const char *what, char *err) {
    const key_def *kd = &KEYS[k];
    const void *field = (const char *)c + kd->off;
    switch (kd->type) {
    case K_INT:
    case K_I64:
    case K_REAL:
    case K_GAMMA:
        if (kd->type == K_GAMMA && isnan(key_number(c, k))) break; /* auto, scale */
        if (kd->type == K_I64) {
            if (*(const int64_t *)field < 0)
                return tls_input_error(err, where, kd->name, "%s%lld is out of range; allowed: %s",
                                       what, (long long)*(const int64_t *)field, kd->allowed);
            break;
        }
        return check_number(kd, key_number(c, k), where, what, err);
    case K_COUNT:
        if (*(const int *)field != -1) return check_number(kd, key_number(c, k), where, what, err);
        break;
    case K_REALS: {
        const tls_reals *r = field;
        for (int i = 0; i < r->n; i++) {
            char w[64];
            snprintf(w, sizeof(w), "%selement %d: ", what, i + 1);
            TLS_TRY(check_number(kd, r->v[i], where, w, err));
            if (kd->integer && r->v[i] != floor(r->v[i]))
                return tls_input_error(err, where, kd->name, "%s%g is not an integer; allowed: %s",
                                       w, r->v[i], kd->allowed);
        }
        break;
    }
    case K_STR:
    case K_BOOL:
    case K_ENUM:
        break;
    }
    return TLS_OK;
}

/* The range of key k's values over the grid (its axis, or its base value). */
static void key_range(const tls_config *c, int k, double *lo, double *hi) {
    *lo = *hi = key_number(c, k);
    for (int a = 0; a < c->naxes; a++)
        if (c->axis[a].key == k && c->axis[a].num)
            for (int i = 0; i < c->axis[a].n; i++) {
                if (c->axis[a].num[i] < *lo) *lo = c->axis[a].num[i];
                if (c->axis[a].num[i] > *hi) *hi = c->axis[a].num[i];
            }
}

static int swept(const tls_config *c, int k) {
    for (int a = 0; a < c->naxes; a++)
        if (c->axis[a].key == k) return 1;
    return 0;
}

static const char *origin_of(const tls_config *c, const origins *org, int k) {
    return swept(c, k) && org->axis_where[k][0] ? org->axis_where[k] : org->where[k];
}

/* The axis of key k, or NULL when k is not swept. */
static const tls_axis *axis_of(const tls_config *c, int k) {
    for (int a = 0; a < c->naxes; a++)
        if (c->axis[a].key == k) return &c->axis[a];
    return NULL;
}

/* Value i of numeric key k over the grid (ax: axis_of(c, k)); an enum's index. */
static double value_at(const tls_config *c, int k, const tls_axis *ax, int i) {
    if (!ax)
        return KEYS[k].type == K_ENUM ? *(const int *)((const char *)c + KEYS[k].off)
                                      : key_number(c, k);
    if (ax->num) return ax->num[i];
    return *(const int *)(ax->vals + (size_t)i * ax->size); /* K_ENUM */
}

/* Every shift of the grid must mean something for every data.shift_kind. */
static int validate_shifts(const tls_config *c, const origins *org, int files, char *err) {
    int kk = find_key("data.shift_kind");
    const tls_axis *kax = axis_of(c, kk), *sh = &c->axis[TLS_AXIS_SHIFT];
    const char *key = kax ? "grid.data.shift_kind" : "data.shift_kind";
    for (int i = 0; i < (kax ? kax->n : 1); i++) {
        int kind = (int)value_at(c, kk, kax, i);
        const char *name = tls_shift_kind_names[kind];
        if (files && (kind == TLS_SHIFT_TRANSLATION || kind == TLS_SHIFT_SCALE))
            return tls_input_error(err, origin_of(c, org, kk), key,
                                   "%s is defined on the synthetic domains only (in units of "
                                   "their class spread); allowed with data files: rotation, "
                                   "label or conditional",
                                   name);
        double lo = kind == TLS_SHIFT_ROTATION || kind == TLS_SHIFT_TRANSLATION ? -INFINITY : 0.0;
        double hi = kind == TLS_SHIFT_LABEL || kind == TLS_SHIFT_CONDITIONAL ? 1.0 : INFINITY;
        const char *what = kind == TLS_SHIFT_SCALE   ? "a factor >= 0 of the target spread"
                           : kind == TLS_SHIFT_LABEL ? "a share in [0, 1] of class 0"
                                                     : "a share in [0, 1] of labels swapped";
        for (int j = 0; j < sh->n; j++)
            if (sh->num[j] < lo || sh->num[j] > hi)
                return tls_input_error(err, org->axis_where[TLS_AXIS_SHIFT], "grid.shift",
                                       "%g is not %s (data.shift_kind %s); allowed: numbers %s "
                                       "with that kind",
                                       sh->num[j], what, name, hi > 1.0 ? ">= 0" : "from 0 to 1");
    }
    return TLS_OK;
}

/* Points a share holds out of n balanced over C classes (hold_out in engine.c). */
static int held_out(double share, int n, int C) {
    int held = 0;
    for (int k = 0; k < C; k++) {
        int ck = n / C + (k < n % C), q = (int)floor(share * ck + 1e-9);
        held += q < ck ? q : ck - 1;
    }
    return held;
}

/* A holdout share must hold out a point at every count and class number of
 * the grid (counts: a key's values, or the n_target axis). */
static int validate_holdout(const tls_config *c, const origins *org, const char *hkey,
                            const char *nkey, const char *what, char *err) {
    int kh = find_key(hkey), kn = find_key(nkey), kc = find_key("data.classes");
    const tls_axis *hax = axis_of(c, kh), *nax = axis_of(c, kn), *cax = axis_of(c, kc);
    for (int i = 0; i < (hax ? hax->n : 1); i++) {
        double h = value_at(c, kh, hax, i);
        if (h <= 0.0) continue;
        for (int j = 0; j < (nax ? nax->n : 1); j++)
            for (int q = 0; q < (cax ? cax->n : 1); q++) {
                int n = (int)value_at(c, kn, nax, j), C = (int)value_at(c, kc, cax, q);
                if (n < 0 || held_out(h, n, C) > 0) continue;
                int most = n / C + (n % C > 0);
                char need[64] = "none: every class needs its point", shown[64];
                if (most >= 2) snprintf(need, sizeof(need), "here >= %.17g", 1.0 / most);
                snprintf(shown, sizeof(shown), "%s%s", hax ? "grid." : "", hkey);
                return tls_input_error(err, origin_of(c, org, kh), shown,
                                       "%g holds out no %s at %s = %d (%d classes); allowed: 0, "
                                       "or a share that holds out at least one (%s)",
                                       h, what, nkey[0] == 'g' ? "n_target" : nkey, n, C, need);
            }
    }
    return TLS_OK;
}

/* The shift axis's units and meaning in the results file follow data.shift_kind
 * (with several kinds in the grid: a number whose meaning the kind axis gives). */
static void shift_axis_meaning(tls_config *c) {
    static const char *const units[] = {"degree", "1", "1", "1", "1"};
    static const char *const names[] = {
        "rotation of the target domain",
        "translation of the target domain along (1, -1)/sqrt(2), in source class spreads",
        "factor of the target classes' spread", "share of class 0 in the target sets",
        "share of target labels swapped to (y + 1) mod classes"};
    int kk = find_key("data.shift_kind");
    const tls_axis *kax = axis_of(c, kk);
    tls_axis *ax = &c->axis[TLS_AXIS_SHIFT];
    if (kax && kax->n > 1) {
        ax->units = "1";
        ax->long_name = "shift of the target domain: rotation in degrees, translation in source "
                        "class spreads, scale factor, label share of class 0 or conditional share "
                        "of labels swapped, as data_shift_kind says";
        return;
    }
    int kind = (int)value_at(c, kk, kax, 0);
    ax->units = units[kind];
    ax->long_name = names[kind];
}

static int validate(tls_config *c, const origins *org, char *err) {
    /* every value of every key, swept or not */
    tls_config *tmp = malloc(sizeof(*tmp));
    TLS_CHECK(tmp, TLS_ERR_NOMEM, "out of memory");
    int rc = TLS_OK;
    for (int k = 0; k < NKEYS && rc == TLS_OK; k++) {
        if (is_named_axis(k)) continue;
        if (swept(c, k) && org->user[k]) {
            rc = tls_input_error(err, org->where[k], KEYS[k].name,
                                 "set here and swept in grid (%s); allowed: one of the two",
                                 org->axis_where[k]);
            break;
        }
        rc = check_key(c, k, org->where[k], "", err);
    }
    free(tmp);
    TLS_TRY(rc);

    /* settings that must agree, over the whole grid */
    int files = c->data_source[0] != '\0', filet = c->data_target[0] != '\0';
    int ks = find_key("data.source"), kt = find_key("data.target");
    if (files != filet)
        return tls_input_error(err, org->where[files ? ks : kt],
                               files ? "data.target" : "data.source",
                               "missing: data.source and data.target go together; allowed: both "
                               "paths, or neither (synthetic data)");
    const char *counts[] = {"data.n_source", "data.n_test"};
    double lo, hi, clo, chi;
    int kc = find_key("data.classes");
    key_range(c, kc, &clo, &chi);
    for (int i = 0; i < 2; i++) {
        int k = find_key(counts[i]);
        key_range(c, k, &lo, &hi);
        if (!files && lo == -1)
            return tls_input_error(err, origin_of(c, org, k), counts[i],
                                   "all needs data files; allowed: an integer with synthetic data");
        /* the smallest count given as a number */
        double least = hi;
        if (swept(c, k)) {
            for (int a = 0; a < c->naxes; a++)
                if (c->axis[a].key == k)
                    for (int j = 0; j < c->axis[a].n; j++)
                        if (c->axis[a].num[j] >= 0 && c->axis[a].num[j] < least)
                            least = c->axis[a].num[j];
        } else {
            least = lo;
        }
        if (least >= 0 && least < chi)
            return tls_input_error(err, origin_of(c, org, k), counts[i],
                                   "%g is below data.classes (%g); allowed: an integer >= "
                                   "data.classes",
                                   least, chi);
    }
    int ki = find_key("data.image_shape");
    if (!files && c->image_shape.n > 0)
        return tls_input_error(err, org->where[ki], "data.image_shape",
                               "needs data.source and data.target; allowed: [] with synthetic "
                               "data");
    if (c->image_shape.n != 0 && c->image_shape.n != 2)
        return tls_input_error(err, org->where[ki], "data.image_shape",
                               "%d values; allowed: [] or [height, width]", c->image_shape.n);
    const tls_axis *nt = &c->axis[TLS_AXIS_NTARGET];
    for (int i = 0; i < nt->n; i++)
        if (nt->inum[i] < chi)
            return tls_input_error(err, org->axis_where[TLS_AXIS_NTARGET], "grid.n_target",
                                   "%lld is below data.classes (%g): every class needs a "
                                   "labelled point; allowed: %s",
                                   (long long)nt->inum[i], chi, KEYS[TLS_AXIS_NTARGET].allowed);
    TLS_TRY(validate_shifts(c, org, files, err));
    TLS_TRY(validate_holdout(c, org, "selection.target_holdout", "grid.n_target",
                             "labelled target point", err));
    if (!files) /* with files the drawn source's class counts are known only per seed */
        TLS_TRY(validate_holdout(c, org, "selection.source_holdout", "data.n_source",
                                 "source point", err));

    /* the grid's size, in checked arithmetic, before anything is sized by it */
    int64_t n = 1;
    for (int a = 0; a < c->naxes; a++) {
        if (c->axis[a].n > TLS_MAX_GRID / n) {
            char dims[256] = "";
            for (int b = 0; b < c->naxes; b++)
                snprintf(dims + strlen(dims), sizeof(dims) - strlen(dims), "%s%d", b ? " x " : "",
                         c->axis[b].n);
            return tls_input_error(err, org->axis_where[c->axis[a].key], "grid",
                                   "%s configurations is more than one sweep handles; allowed: "
                                   "at most %d configurations",
                                   dims, TLS_MAX_GRID);
        }
        n *= c->axis[a].n;
    }
    c->grid_size = n;
    return TLS_OK;
}

/* ---- public ------------------------------------------------------------- */

/* Starts from the engine's defaults and the built-in default sweep. */
static int load_defaults(tls_config *c, origins *org, char *err) {
    c->base.eng = tls_engine_defaults();
    c->naxes = TLS_NAMED_AXES;
    yaml_document_t doc;
    TLS_TRY(load_doc(&doc, "(built-in default)", (const unsigned char *)tls_default_config_yaml,
                     strlen(tls_default_config_yaml), NULL, err));
    int rc = apply_doc(c, &doc, "(built-in default)", org, 0, err);
    yaml_document_delete(&doc);
    snprintf(c->source, sizeof(c->source), "(built-in default)");
    return rc;
}

/* With data files the counts default to all the data, not the synthetic sizes. */
static void file_defaults(tls_config *c, const origins *org) {
    if (!c->data_source[0]) return;
    const char *counts[] = {"data.n_source", "data.n_test"};
    for (int i = 0; i < 2; i++) {
        int k = find_key(counts[i]);
        if (!org->user[k]) *(int *)((char *)c + KEYS[k].off) = -1;
    }
}

/* Copies the named axes' first values into the base point. */
static void base_point(tls_config *c) {
    for (int a = 0; a < TLS_NAMED_AXES; a++)
        memcpy((char *)c + c->axis[a].off, c->axis[a].vals, c->axis[a].size);
}

static int load(tls_config **out, const char *path, const char *text, const char *const *sets,
                int nsets, char *err) {
    *out = NULL;
    err[0] = '\0';
    tls_config *c = calloc(1, sizeof(*c));
    origins *org = calloc(1, sizeof(*org));
    int rc = TLS_ERR_NOMEM;
    if (!c || !org) goto done;
    rc = load_defaults(c, org, err);
    if (rc) goto done;
    if (path || text) {
        yaml_document_t doc;
        snprintf(c->source, sizeof(c->source), "%s", path);
        if (text) {
            rc = load_doc(&doc, path, (const unsigned char *)text, strlen(text), NULL, err);
        } else {
            struct stat st;
            if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                rc = tls_input_error(
                    err, path, "(file)", "not a regular file (%s); allowed: a readable YAML file",
                    S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
                goto done;
            }
            FILE *f = fopen(path, "rb");
            if (!f) {
                rc = tls_input_error(err, path, "(file)",
                                     "cannot read the configuration: %s; allowed: a readable "
                                     "YAML file",
                                     strerror(errno));
                goto done;
            }
            rc = load_doc(&doc, path, NULL, 0, f, err);
            fclose(f);
        }
        if (rc) goto done;
        rc = apply_doc(c, &doc, path, org, 1, err);
        yaml_document_delete(&doc);
        if (rc) goto done;
    }
    for (int i = 0; i < nsets && rc == TLS_OK; i++) rc = apply_set(c, sets[i], org, err);
    if (rc) goto done;
    file_defaults(c, org);
    rc = validate(c, org, err);
    if (rc) goto done;
    shift_axis_meaning(c);
    base_point(c);
done:
    free(org);
    if (rc) {
        if (rc == TLS_ERR_NOMEM && !err[0]) snprintf(err, TLS_ERRMSG, "out of memory");
        tls_config_destroy(&c);
        return rc;
    }
    *out = c;
    return TLS_OK;
}

int tls_config_load(tls_config **out, const char *path, const char *const *sets, int nsets,
                    char *err) {
    return load(out, path, NULL, sets, nsets, err);
}

int tls_config_load_text(tls_config **out, const char *name, const char *text, char *err) {
    return load(out, name, text, NULL, 0, err);
}

void tls_config_destroy(tls_config **c) {
    if (!*c) return;
    for (int a = 0; a < (*c)->naxes; a++) axis_free(&(*c)->axis[a]);
    TLS_FREE(*c);
}

/* One axis as "  name: [v, ...]", or, for a long arithmetic progression of
 * integers, "  name: range(START, STOP, STEP)": the canonical text depends
 * on the values only, and a million seeds stay one line. The hash is over
 * the list written out (b->hashing), as it was before range() existed, so
 * that a sweep started by an earlier version keeps its hash. */
static void sb_axis(sbuf *b, const char *name, const tls_axis *ax) {
    int as_range = !b->hashing && ax->n >= TLS_RANGE_PRINT_MIN &&
                   (ax->inum || ax->type == TLS_V_REAL) && ax->type != TLS_V_BOOL;
    int64_t first = 0, step = 0, last = 0;
    for (int i = 0; as_range && i < ax->n; i++) {
        double x = ax->num[i];
        if (!ax->inum &&
            (x != floor(x) || fabs(x) > 9007199254740992.0 || (x == 0 && signbit(x)))) {
            as_range = 0; /* -0 is not the 0 a range gives */
            break;
        }
        if (ax->inum && ax->inum[i] == -1 && KEYS[ax->key].type == K_COUNT) {
            as_range = 0; /* `all`, not the number -1 */
            break;
        }
        int64_t v = ax->inum ? ax->inum[i] : (int64_t)x; /* ascending, so v - first >= 0 */
        if (i == 0) first = v;
        if (i == 1) step = v - first;
        if (i > 0 && ((v - first) % i || (v - first) / i != step)) as_range = 0;
        last = v;
    }
    if (as_range && last <= INT64_MAX - step) {
        if (step == 1)
            sb_printf(b, "  %s: range(%lld, %lld)\n", name, (long long)first,
                      (long long)(last + 1));
        else
            sb_printf(b, "  %s: range(%lld, %lld, %lld)\n", name, (long long)first,
                      (long long)(last + step), (long long)step);
        return;
    }
    char t[40];
    sb_printf(b, "  %s: [", name);
    for (int i = 0; i < ax->n; i++)
        sb_printf(b, "%s%s", i ? ", " : "", tls_axis_text(ax, i, t, sizeof(t)));
    sb_printf(b, "]\n");
}

/* Canonical YAML, sections in table order, the grid first. `for_hash`:
 * leave out output.sync_seconds, which changes nothing in the file. */
static sbuf yaml_text(const tls_config *c, int for_hash) {
    sbuf b = {0};
    b.hashing = for_hash;
    b.h = 1469598103934665603ULL;
    char section[32] = "";
    for (int k = 0; k < NKEYS; k++) {
        const key_def *kd = &KEYS[k];
        if (for_hash && !strcmp(kd->name, "output.sync_seconds")) continue;
        const char *dot = strchr(kd->name, '.');
        int sl = (int)(dot - kd->name);
        if (strncmp(section, kd->name, (size_t)sl) || section[sl]) {
            snprintf(section, sizeof(section), "%.*s", sl, kd->name);
            sb_printf(&b, "%s:\n", section);
        }
        if (is_named_axis(k)) {
            sb_axis(&b, dot + 1, &c->axis[k]);
            if (k == TLS_NAMED_AXES - 1)
                for (int a = TLS_NAMED_AXES; a < c->naxes; a++)
                    sb_axis(&b, c->axis[a].key_name, &c->axis[a]);
            continue;
        }
        if (swept(c, k)) {
            sb_printf(&b, "  # %s: swept (grid.%s)\n", dot + 1, kd->name);
            continue;
        }
        sb_printf(&b, "  %s: ", dot + 1);
        sb_value(&b, kd, c);
        sb_printf(&b, "\n");
    }
    return b;
}

char *tls_config_yaml(const tls_config *c) {
    return yaml_text(c, 0).s;
}

uint64_t tls_config_hash(const tls_config *c) {
    return yaml_text(c, 1).h;
}
