#include "tlsweep/config.h"

#include "tlsweep/check.h"
#include "tlsweep_default_config.h" /* generated from configs/default.yaml */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

const char *const tls_axis_names[TLS_NAXES] = {"shift", "lambda", "n_target", "seed"};

typedef enum { K_INT, K_REAL, K_BOOL, K_GAMMA, K_LIST, K_STR, K_COUNT } key_type;

/* One configuration key: its dotted name, type, where it lives, and the
 * range it must lie in (checked after everything is applied). */
typedef struct {
    const char *name;
    key_type type;
    size_t off;    /* offsetof into tls_config */
    double lo, hi; /* inclusive bounds for numbers / list elements */
    int lo_open;   /* 1: value must be > lo instead of >= lo */
    int integer;   /* list elements must be integers */
    const char *allowed;
} key_def;

#define OFF(field) offsetof(tls_config, field)
static const key_def KEYS[] = {
    {"grid.shift", K_LIST, OFF(axis[0]), -1e6, 1e6, 0, 0,
     "a non-empty list of distinct finite angles in degrees"},
    {"grid.lambda", K_LIST, OFF(axis[1]), 0, 1e6, 0, 0,
     "a non-empty list of distinct finite numbers >= 0"},
    {"grid.n_target", K_LIST, OFF(axis[2]), 1, 1e6, 0, 1,
     "a non-empty list of distinct integers from data.classes to 1000000"},
    {"grid.seed", K_LIST, OFF(axis[3]), 0, 9007199254740992.0, 0, 1,
     "a non-empty list of distinct integers >= 0"},
    {"data.n_source", K_COUNT, OFF(eng.n_source), 1, 1e8, 0, 1,
     "an integer from data.classes to 100000000, or all (with data.source)"},
    {"data.n_test", K_COUNT, OFF(eng.n_test), 2, 1e8, 0, 1,
     "an integer from max(2, data.classes) to 100000000, or all (with data.target)"},
    {"data.dim", K_INT, OFF(eng.dim), 2, 1e5, 0, 1, "an integer from 2 to 100000"},
    {"data.classes", K_INT, OFF(eng.classes), 2, 1000, 0, 1, "an integer from 2 to 1000"},
    {"data.source_mean", K_REAL, OFF(eng.source_mean), -1e6, 1e6, 0, 0, "a finite number"},
    {"data.source_std", K_REAL, OFF(eng.source_std), 0, 1e6, 1, 0, "a finite number > 0"},
    {"data.target_mean", K_REAL, OFF(eng.target_mean), -1e6, 1e6, 0, 0, "a finite number"},
    {"data.target_std", K_REAL, OFF(eng.target_std), 0, 1e6, 1, 0, "a finite number > 0"},
    {"data.source", K_STR, OFF(data_source), 0, 0, 0, 0,
     "a path to an HDF5 file with X (n, dim) and y (n), or \"\" for the synthetic source"},
    {"data.target", K_STR, OFF(data_target), 0, 0, 0, 0,
     "a path to an HDF5 file with X (n, dim) and y (n), or \"\" for the synthetic target"},
    {"data.image_shape", K_LIST, OFF(image_shape), 1, 100000, 0, 1,
     "[] or [height, width] with height * width = the files' dim"},
    {"data.standardize", K_BOOL, OFF(standardize), 0, 1, 0, 0, "true or false"},
    {"model.hidden", K_INT, OFF(eng.hidden), 1, 1e5, 0, 1, "an integer from 1 to 100000"},
    {"model.features", K_INT, OFF(eng.features), 1, 1e5, 0, 1, "an integer from 1 to 100000"},
    {"train.epochs", K_INT, OFF(eng.epochs), 0, 1e6, 0, 1,
     "an integer from 0 (no source training) to 1000000"},
    {"train.finetune_epochs", K_INT, OFF(eng.finetune_epochs), 0, 1e6, 0, 1,
     "an integer from 0 (no fine-tuning) to 1000000"},
    {"train.batch_size", K_INT, OFF(eng.batch_size), 1, 1e8, 0, 1, "an integer >= 1"},
    {"train.lr", K_REAL, OFF(eng.lr), 0, 1e3, 1, 0, "a finite number > 0"},
    {"train.beta1", K_REAL, OFF(eng.beta1), 0, 1, 0, 0, "a number in [0, 1)"},
    {"train.beta2", K_REAL, OFF(eng.beta2), 0, 1, 0, 0, "a number in [0, 1)"},
    {"train.eps", K_REAL, OFF(eng.adam_eps), 0, 1, 1, 0, "a number in (0, 1]"},
    {"mmd.gamma", K_REAL, OFF(eng.mmd_gamma), 0, 1e6, 1, 0, "a finite number > 0"},
    {"mmd.distance_points", K_INT, OFF(eng.distance_points), 0, 1e8, 0, 1,
     "0 (all points) or the number of points per domain for the MMD^2 distances"},
    {"svm.C", K_REAL, OFF(eng.svm.C), 0, 1e12, 1, 0, "a finite number > 0"},
    {"svm.gamma", K_GAMMA, OFF(eng.svm), 0, 1e12, 1, 0, "auto, scale or a finite number > 0"},
    {"svm.tol", K_REAL, OFF(eng.svm.eps), 0, 1, 1, 0, "a number in (0, 1]"},
    {"svm.cache_mb", K_REAL, OFF(eng.svm.cache_mb), 0, 1e6, 1, 0, "a number of megabytes > 0"},
    {"svm.shrinking", K_BOOL, OFF(eng.svm.shrinking), 0, 1, 0, 0, "true or false"},
    {"svm.pad_C", K_REAL, OFF(eng.pad_C), 0, 1e12, 1, 0, "a finite number > 0"},
    {"output.embeddings", K_BOOL, OFF(embeddings), 0, 1, 0, 0, "true or false"},
    {"output.sync_seconds", K_REAL, OFF(sync_seconds), 0, 3600, 1, 0,
     "a number of seconds in (0, 3600]"},
};
enum { NKEYS = sizeof(KEYS) / sizeof(KEYS[0]) };

/* Where each key was last set, for messages about values that fail the
 * range checks after everything is applied. */
typedef struct {
    char where[NKEYS][600];
} origins;

int tls_input_verror(char *err, const char *where, const char *key, const char *fmt, va_list ap) {
    char what[512];
    vsnprintf(what, sizeof(what), fmt, ap);
    snprintf(err, TLS_ERRMSG, "%s: %s: %s", where, key, what);
    return TLS_ERR_INPUT;
}

int tls_input_error(char *err, const char *where, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = tls_input_verror(err, where, key, fmt, ap);
    va_end(ap);
    return rc;
}

static int levenshtein(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    int prev[64], cur[64];
    if (la > 63 || lb > 63) return 99;
    for (int j = 0; j <= lb; j++) prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

static int find_key(const char *name) {
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(KEYS[i].name, name) == 0) return i;
    return -1;
}

static int unknown_key(char *err, const char *where, const char *name) {
    int best = -1, bestd = 99;
    for (int i = 0; i < NKEYS; i++) {
        int d = levenshtein(name, KEYS[i].name);
        const char *dot = strchr(KEYS[i].name, '.');
        int dl = levenshtein(name, dot + 1); /* a key given without its section */
        if (dl < d) d = dl;
        if (d < bestd) bestd = d, best = i;
    }
    if (best >= 0 && bestd <= 3)
        return tls_input_error(err, where, name,
                               "unknown key; did you mean %s? allowed: the keys listed in "
                               "configs/README.md",
                               KEYS[best].name);
    return tls_input_error(err, where, name,
                           "unknown key; allowed: sections grid, data, model, train, mmd, "
                           "svm, output with the keys listed in configs/README.md");
}

/* ---- scalar parsing ---------------------------------------------------- */

static int parse_real(const char *s, double *v) {
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) return *v = NAN, 0;
    if (!strcmp(s, ".inf") || !strcmp(s, "+.inf") || !strcmp(s, ".Inf")) return *v = INFINITY, 0;
    if (!strcmp(s, "-.inf") || !strcmp(s, "-.Inf")) return *v = -INFINITY, 0;
    if (!*s) return -1;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (*end || errno == ERANGE) return -1;
    /* strtod also reads "nan"/"inf"/hex, which YAML would not call numbers */
    for (const char *p = s; *p; p++)
        if (strchr("0123456789+-.eE", *p) == NULL) return -1;
    return 0;
}

static int parse_bool(const char *s, int *v) {
    const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "on"};
    const char *no[] = {"false", "False", "FALSE", "no", "No", "off"};
    for (int i = 0; i < 6; i++) {
        if (!strcmp(s, yes[i])) return *v = 1, 0;
        if (!strcmp(s, no[i])) return *v = 0, 0;
    }
    return -1;
}

static const char *type_name(yaml_node_t *n) {
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a scalar";
}

/* Applies YAML node n (of document doc) to key k of c. */
static int apply(tls_config *c, int k, yaml_document_t *doc, yaml_node_t *n, const char *where,
                 char *err) {
    const key_def *kd = &KEYS[k];
    void *field = (char *)c + kd->off;
    if (kd->type == K_LIST) {
        tls_axis *ax = field;
        double *vals = NULL;
        int count = 0;
        if (n->type == YAML_SCALAR_NODE) {
            count = 1; /* a single value is a one-element list */
        } else if (n->type == YAML_SEQUENCE_NODE) {
            count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
        } else {
            return tls_input_error(err, where, kd->name, "expected a list, got %s; allowed: %s",
                                   type_name(n), kd->allowed);
        }
        if (count == 0 && kd->off != OFF(image_shape))
            return tls_input_error(err, where, kd->name, "empty list; allowed: %s", kd->allowed);
        vals = calloc((size_t)(count ? count : 1), sizeof(double));
        TLS_CHECK(vals, TLS_ERR_NOMEM, "out of memory");
        for (int i = 0; i < count; i++) {
            yaml_node_t *item = n->type == YAML_SCALAR_NODE
                                    ? n
                                    : yaml_document_get_node(doc, n->data.sequence.items.start[i]);
            if (item->type != YAML_SCALAR_NODE ||
                parse_real((const char *)item->data.scalar.value, &vals[i])) {
                free(vals);
                return tls_input_error(
                    err, where, kd->name, "element %d is not a number (%s); allowed: %s", i + 1,
                    item->type == YAML_SCALAR_NODE ? (char *)item->data.scalar.value
                                                   : type_name(item),
                    kd->allowed);
            }
        }
        free(ax->v);
        ax->v = vals;
        ax->n = count;
        return TLS_OK;
    }
    if (n->type != YAML_SCALAR_NODE)
        return tls_input_error(err, where, kd->name, "expected a single value, got %s; allowed: %s",
                               type_name(n), kd->allowed);
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
    int b;
    switch (kd->type) {
    case K_INT:
    case K_COUNT:
        if (parse_real(s, &v) || !isfinite(v) || v != floor(v) || fabs(v) > 2e9)
            return tls_input_error(err, where, kd->name, "'%s' is not an integer; allowed: %s", s,
                                   kd->allowed);
        *(int *)field = (int)v;
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
        tls_svc_params *sp = field;
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
    case K_LIST:
    case K_STR:
        break;
    }
    return TLS_OK;
}

/* ---- documents ---------------------------------------------------------- */

static int load_doc(yaml_document_t *doc, const char *name, const unsigned char *text, size_t len,
                    FILE *f, char *err) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return tls_input_error(err, name, "yaml", "cannot initialise libyaml");
    if (f)
        yaml_parser_set_input_file(&parser, f);
    else
        yaml_parser_set_input_string(&parser, text, len);
    int ok = yaml_parser_load(&parser, doc);
    if (!ok) {
        char where[600];
        snprintf(where, sizeof(where), "%s:%zu", name, parser.problem_mark.line + 1);
        char began[64] = "";
        if (parser.context && parser.context_mark.line != parser.problem_mark.line)
            snprintf(began, sizeof(began), " that began at line %zu", parser.context_mark.line + 1);
        int rc =
            tls_input_error(err, where, "(syntax)",
                            "YAML syntax error: %s%s%s%s; allowed: valid YAML (see "
                            "configs/README.md)",
                            parser.problem ? parser.problem : "unknown problem",
                            parser.context ? " " : "", parser.context ? parser.context : "", began);
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_parser_delete(&parser);
    return TLS_OK;
}

/* Applies a whole document (a mapping of sections) to c. */
static int apply_doc(tls_config *c, yaml_document_t *doc, const char *name, origins *org,
                     char *err) {
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root) return TLS_OK; /* an empty file: defaults */
    char where[400];
    snprintf(where, sizeof(where), "%s:%zu", name, root->start_mark.line + 1);
    if (root->type != YAML_MAPPING_NODE)
        return tls_input_error(err, where, "(top level)",
                               "expected a mapping of sections, got %s; allowed: "
                               "grid, data, model, train, mmd, svm, output",
                               type_name(root));
    int seen[NKEYS] = {0};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        snprintf(where, sizeof(where), "%s:%zu", name, kn->start_mark.line + 1);
        if (kn->type != YAML_SCALAR_NODE)
            return tls_input_error(err, where, "(top level)",
                                   "a section name must be a plain word");
        const char *sec = (const char *)kn->data.scalar.value;
        if (vn->type != YAML_MAPPING_NODE) {
            char probe[128];
            snprintf(probe, sizeof(probe), "%s.", sec);
            int known = 0;
            for (int i = 0; i < NKEYS; i++) known |= !strncmp(KEYS[i].name, probe, strlen(probe));
            if (!known) return unknown_key(err, where, sec);
            return tls_input_error(
                err, where, sec,
                "expected a mapping of keys, got %s; allowed: e.g. %s: {key: value}", type_name(vn),
                sec);
        }
        for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top;
             q++) {
            yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
            yaml_node_t *v2 = yaml_document_get_node(doc, q->value);
            snprintf(where, sizeof(where), "%s:%zu", name, k2->start_mark.line + 1);
            char full[256];
            snprintf(full, sizeof(full), "%s.%s", sec,
                     k2->type == YAML_SCALAR_NODE ? (const char *)k2->data.scalar.value : "?");
            int k = find_key(full);
            if (k < 0) return unknown_key(err, where, full);
            if (seen[k])
                return tls_input_error(err, where, full, "given twice; allowed: each key once");
            seen[k] = 1;
            int rc = apply(c, k, doc, v2, where, err);
            if (rc) return rc;
            snprintf(org->where[k], sizeof(org->where[k]), "%s", where);
        }
    }
    return TLS_OK;
}

static int apply_set(tls_config *c, const char *set, origins *org, char *err) {
    char where[300];
    snprintf(where, sizeof(where), "--set %s", set);
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return tls_input_error(err, where, "--set",
                               "expected KEY=VALUE; allowed: e.g. --set train.epochs=5 or "
                               "--set grid.seed=[0,1,2]");
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - set), set);
    int k = find_key(key);
    if (k < 0) return unknown_key(err, where, key);
    const char *val = eq + 1;
    yaml_document_t doc;
    char name[300];
    snprintf(name, sizeof(name), "--set %s", set);
    int rc = load_doc(&doc, name, (const unsigned char *)val, strlen(val), NULL, err);
    if (rc) return rc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root)
        rc = tls_input_error(err, where, key, "no value given; allowed: %s", KEYS[k].allowed);
    else
        rc = apply(c, k, &doc, root, where, err);
    yaml_document_delete(&doc);
    if (!rc) snprintf(org->where[k], sizeof(org->where[k]), "%s", where);
    return rc;
}

/* ---- validation --------------------------------------------------------- */

static int check_number(const key_def *kd, double v, const char *where, const char *what,
                        char *err) {
    if (!isfinite(v))
        return tls_input_error(err, where, kd->name, "%s%g is not finite; allowed: %s", what, v,
                               kd->allowed);
    if (kd->integer && v != floor(v))
        return tls_input_error(err, where, kd->name, "%s%g is not an integer; allowed: %s", what, v,
                               kd->allowed);
    if ((kd->lo_open ? v <= kd->lo : v < kd->lo) || v > kd->hi)
        return tls_input_error(err, where, kd->name, "%s%g is out of range; allowed: %s", what, v,
                               kd->allowed);
    return TLS_OK;
}

static int validate(const tls_config *c, const origins *org, char *err) {
    for (int k = 0; k < NKEYS; k++) {
        const key_def *kd = &KEYS[k];
        const void *field = (const char *)c + kd->off;
        const char *where = org->where[k];
        char what[64];
        switch (kd->type) {
        case K_INT:
            TLS_TRY(check_number(kd, *(const int *)field, where, "", err));
            break;
        case K_COUNT:
            if (*(const int *)field != -1)
                TLS_TRY(check_number(kd, *(const int *)field, where, "", err));
            break;
        case K_STR:
            break;
        case K_REAL:
            TLS_TRY(check_number(kd, *(const double *)field, where, "", err));
            break;
        case K_GAMMA: {
            const tls_svc_params *sp = field;
            if (sp->gamma_mode == TLS_GAMMA_VALUE)
                TLS_TRY(check_number(kd, sp->gamma, where, "", err));
            break;
        }
        case K_BOOL:
            break;
        case K_LIST: {
            const tls_axis *ax = field;
            if (ax->n == 0 && field == (const void *)&c->image_shape) break; /* [] = not images */
            for (int i = 0; i < ax->n; i++) {
                snprintf(what, sizeof(what), "element %d: ", i + 1);
                TLS_TRY(check_number(kd, ax->v[i], where, what, err));
                for (int j = 0; j < i && !strncmp(kd->name, "grid.", 5); j++)
                    if (ax->v[j] == ax->v[i])
                        return tls_input_error(err, where, kd->name,
                                               "element %d (%g) repeats element %d; "
                                               "allowed: %s",
                                               i + 1, ax->v[i], j + 1, kd->allowed);
            }
            break;
        }
        }
    }
    const tls_engine_params *e = &c->eng;
    int files = c->data_source[0] != '\0', filet = c->data_target[0] != '\0';
    if (files != filet)
        return tls_input_error(err, org->where[find_key(files ? "data.source" : "data.target")],
                               files ? "data.target" : "data.source",
                               "missing: data.source and data.target go "
                               "together; allowed: both paths, or neither (synthetic data)");
    if (!files && (e->n_source == -1 || e->n_test == -1))
        return tls_input_error(
            err, org->where[find_key(e->n_source == -1 ? "data.n_source" : "data.n_test")],
            e->n_source == -1 ? "data.n_source" : "data.n_test",
            "all needs data files; "
            "allowed: an integer with synthetic data");
    if (!files && c->image_shape.n > 0)
        return tls_input_error(err, org->where[find_key("data.image_shape")], "data.image_shape",
                               "needs "
                               "data.source and data.target; allowed: [] with synthetic data");
    if (c->image_shape.n != 0 && c->image_shape.n != 2)
        return tls_input_error(err, org->where[find_key("data.image_shape")], "data.image_shape",
                               "%d values; "
                               "allowed: [] or [height, width]",
                               c->image_shape.n);
    int ntk = find_key("grid.n_target");
    for (int i = 0; i < c->axis[TLS_AXIS_NTARGET].n; i++)
        if (c->axis[TLS_AXIS_NTARGET].v[i] < e->classes)
            return tls_input_error(err, org->where[ntk], "grid.n_target",
                                   "element %d (%g) is below data.classes "
                                   "(%d): every class needs a labelled point; allowed: %s",
                                   i + 1, c->axis[TLS_AXIS_NTARGET].v[i], e->classes,
                                   KEYS[ntk].allowed);
    if (e->n_source > 0 && e->n_source < e->classes)
        return tls_input_error(err, org->where[find_key("data.n_source")], "data.n_source",
                               "%d is below "
                               "data.classes (%d); allowed: an integer >= data.classes",
                               e->n_source, e->classes);
    if (e->n_test > 0 && e->n_test < e->classes)
        return tls_input_error(err, org->where[find_key("data.n_test")], "data.n_test",
                               "%d is below "
                               "data.classes (%d); allowed: an integer >= data.classes",
                               e->n_test, e->classes);
    if (e->beta1 >= 1.0)
        return tls_input_error(err, org->where[find_key("train.beta1")], "train.beta1",
                               "%g is not below 1; "
                               "allowed: a number in [0, 1)",
                               e->beta1);
    if (e->beta2 >= 1.0)
        return tls_input_error(err, org->where[find_key("train.beta2")], "train.beta2",
                               "%g is not below 1; "
                               "allowed: a number in [0, 1)",
                               e->beta2);
    int64_t n = tls_config_grid_size(c);
    if (n > 100000000)
        return tls_input_error(err, org->where[find_key("grid.seed")], "grid",
                               "%lld configurations is more "
                               "than one sweep handles; allowed: at most 100000000",
                               (long long)n);
    return TLS_OK;
}

/* ---- public ------------------------------------------------------------- */

int tls_config_load(tls_config **out, const char *path, const char *const *sets, int nsets,
                    char *err) {
    *out = NULL;
    err[0] = '\0';
    tls_config *c;
    TLS_ALLOC(c, 1);
    origins *org = calloc(1, sizeof(*org));
    if (!org) {
        free(c);
        TLS_CHECK(0, TLS_ERR_NOMEM, "out of memory");
    }
    int rc = TLS_OK;
    c->eng = tls_engine_defaults();
    yaml_document_t doc;
    rc = load_doc(&doc, "(built-in default)", (const unsigned char *)tls_default_config_yaml,
                  strlen(tls_default_config_yaml), NULL, err);
    if (rc) goto done;
    rc = apply_doc(c, &doc, "(built-in default)", org, err);
    yaml_document_delete(&doc);
    if (rc) goto done;
    snprintf(c->source, sizeof(c->source), "(built-in default)");
    if (path) {
        snprintf(c->source, sizeof(c->source), "%s", path);
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
        if (rc) goto done;
        /* a key set in the file replaces the default: forget default origins */
        origins *forg = calloc(1, sizeof(*forg));
        if (!forg) {
            yaml_document_delete(&doc);
            rc = TLS_ERR_NOMEM;
            goto done;
        }
        rc = apply_doc(c, &doc, path, forg, err);
        yaml_document_delete(&doc);
        for (int k = 0; k < NKEYS; k++)
            if (forg->where[k][0]) memcpy(org->where[k], forg->where[k], sizeof(org->where[k]));
        free(forg);
        if (rc) goto done;
    }
    for (int i = 0; i < nsets && rc == TLS_OK; i++) rc = apply_set(c, sets[i], org, err);
    if (rc) goto done;
    if (c->data_source[0]) {
        /* with data files the counts default to all the data, not the synthetic sizes */
        const char *counts[] = {"data.n_source", "data.n_test"};
        for (int i = 0; i < 2; i++) {
            int k = find_key(counts[i]);
            if (!strncmp(org->where[k], "(built-in default)", 18))
                *(int *)((char *)c + KEYS[k].off) = -1;
        }
    }
    rc = validate(c, org, err);
done:
    free(org);
    if (rc) {
        tls_config_destroy(&c);
        return rc;
    }
    *out = c;
    return TLS_OK;
}

void tls_config_destroy(tls_config **c) {
    if (!*c) return;
    for (int a = 0; a < TLS_NAXES; a++) free((*c)->axis[a].v);
    free((*c)->image_shape.v);
    TLS_FREE(*c);
}

int64_t tls_config_grid_size(const tls_config *c) {
    int64_t n = 1;
    for (int a = 0; a < TLS_NAXES; a++) n *= c->axis[a].n;
    return n;
}

tls_point tls_config_point(const tls_config *c, int64_t idx) {
    int64_t i[TLS_NAXES];
    for (int a = TLS_NAXES - 1; a >= 0; a--) {
        i[a] = idx % c->axis[a].n;
        idx /= c->axis[a].n;
    }
    tls_point p = {.shift = c->axis[TLS_AXIS_SHIFT].v[i[0]],
                   .lambda = c->axis[TLS_AXIS_LAMBDA].v[i[1]],
                   .n_target = (int)c->axis[TLS_AXIS_NTARGET].v[i[2]],
                   .seed = (int64_t)c->axis[TLS_AXIS_SEED].v[i[3]]};
    return p;
}

/* Appends printf output to a growing buffer. */
typedef struct {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < room && b->s) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) return;
        b->s = s;
        b->cap = cap;
    }
}

static void sb_value(sbuf *b, const key_def *kd, const tls_config *c) {
    const void *field = (const char *)c + kd->off;
    switch (kd->type) {
    case K_INT:
        sb_printf(b, "%d", *(const int *)field);
        break;
    case K_COUNT:
        if (*(const int *)field == -1)
            sb_printf(b, "all");
        else
            sb_printf(b, "%d", *(const int *)field);
        break;
    case K_STR:
        sb_printf(b, "\"%s\"", (const char *)field);
        break;
    case K_REAL:
        sb_printf(b, "%.17g", *(const double *)field);
        break;
    case K_BOOL:
        sb_printf(b, "%s", *(const int *)field ? "true" : "false");
        break;
    case K_GAMMA: {
        const tls_svc_params *sp = field;
        if (sp->gamma_mode == TLS_GAMMA_AUTO)
            sb_printf(b, "auto");
        else if (sp->gamma_mode == TLS_GAMMA_SCALE)
            sb_printf(b, "scale");
        else
            sb_printf(b, "%.17g", sp->gamma);
        break;
    }
    case K_LIST: {
        const tls_axis *ax = field;
        sb_printf(b, "[");
        for (int i = 0; i < ax->n; i++) sb_printf(b, "%s%.17g", i ? ", " : "", ax->v[i]);
        sb_printf(b, "]");
        break;
    }
    }
}

/* Canonical YAML, sections in table order. `only_results`: leave out the
 * keys that do not change any result (used for the hash). */
static char *yaml_text(const tls_config *c, int only_results) {
    sbuf b = {0};
    char section[32] = "";
    for (int k = 0; k < NKEYS; k++) {
        const key_def *kd = &KEYS[k];
        if (only_results && !strcmp(kd->name, "output.sync_seconds")) continue;
        const char *dot = strchr(kd->name, '.');
        int sl = (int)(dot - kd->name);
        if (strncmp(section, kd->name, (size_t)sl) || section[sl]) {
            snprintf(section, sizeof(section), "%.*s", sl, kd->name);
            sb_printf(&b, "%s:\n", section);
        }
        sb_printf(&b, "  %s: ", dot + 1);
        sb_value(&b, kd, c);
        sb_printf(&b, "\n");
    }
    return b.s;
}

char *tls_config_yaml(const tls_config *c) {
    return yaml_text(c, 0);
}

uint64_t tls_config_hash(const tls_config *c) {
    char *s = yaml_text(c, 1);
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = s ? s : ""; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    free(s);
    /* the contents of the data files too: a resume on changed data is refused */
    const unsigned char *crc = (const unsigned char *)c->data_crc;
    for (size_t i = 0; i < sizeof(c->data_crc); i++) h = (h ^ crc[i]) * 1099511628211ULL;
    return h;
}
