#define _GNU_SOURCE /* qsort_r */
#include "tlsweep/config.h"

#include "tlsweep/check.h"
#include "tlsweep/keys.h"
#include "tlsweep/scalar.h"
#include "tlsweep_default_config.h" /* generated from configs/default.yaml */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- axes ----------------------------------------------------------------- */

const char *tls_axis_text(const tls_axis *ax, int i, char *buf, size_t len) {
    if (ax->text) return ax->text[i];
    if (ax->type == TLS_V_REAL)
        tls_format_real(buf, len, ax->num[i]);
    else if (ax->type == TLS_V_BOOL)
        snprintf(buf, len, "%s", ax->inum[i] ? "true" : "false");
    else if (ax->inum[i] == -1 && tls_key_types[tls_keys[ax->key].type].all)
        snprintf(buf, len, "all");
    else
        snprintf(buf, len, "%lld", (long long)ax->inum[i]);
    return buf;
}

static void tls_axis_free(tls_axis *ax) {
    if (ax->text)
        for (int i = 0; i < ax->n; i++) free(ax->text[i]);
    free(ax->text);
    free(ax->vals);
    free(ax->num);
    free(ax->inum);
    memset(ax, 0, sizeof(*ax));
}

static const tls_axis *tls_axis_of(const tls_config *c, int k) {
    for (int a = 0; a < c->naxes; a++)
        if (c->axis[a].key == k) return &c->axis[a];
    return NULL;
}

/* ---- building -------------------------------------------------------------- */

static int is_named_axis(int k) {
    return k < TLS_NAMED_AXES;
}

static const char *node_kind(const yaml_node_t *n) {
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a scalar";
}

static int seq_len(const yaml_node_t *n) {
    return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* The values of a range(START, STOP, STEP): count < 0 when not a range. */
typedef struct {
    int64_t start, step, count;
} range;

/* How many values node n gives key kd: one value, a list, or a range
 * (*r). `shown` is the key as written under grid:. */
static int count_values(const tls_key *kd, yaml_node_t *n, const char *shown, const char *where,
                        range *r, int *count, char *err) {
    char al[TLS_KEY_ALLOWED];
    const char *allowed = tls_key_allowed(kd, al);
    const char *s = n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
    r->count = -1;
    if (n->type == YAML_SCALAR_NODE && !strncmp(s, "range(", 6)) {
        if (tls_scalar_range(s, &r->start, &r->step, &r->count))
            return tls_input_error(err, where, shown,
                                   "'%s' is not range(START, STOP) or range(START, STOP, STEP) "
                                   "with integers and STEP != 0; allowed: %s, or such a range",
                                   s, allowed);
        if (!tls_key_types[kd->type].ranges)
            return tls_input_error(err, where, shown,
                                   "range(...) makes numbers, and this key is not a number; "
                                   "allowed: %s",
                                   allowed);
        if (r->count == 0)
            return tls_input_error(err, where, shown,
                                   "%s is empty; allowed: %s, or a range with values", s, allowed);
        if (r->count > TLS_MAX_VALUES)
            return tls_input_error(err, where, shown,
                                   "%s has %lld values; allowed: at most %d values per axis", s,
                                   (long long)r->count, TLS_MAX_VALUES);
        *count = (int)r->count;
    } else if (n->type == YAML_SCALAR_NODE)
        *count = 1;
    else if (n->type == YAML_SEQUENCE_NODE)
        *count = seq_len(n);
    else
        return tls_input_error(err, where, shown, "expected a list, got %s; allowed: %s",
                               node_kind(n), allowed);
    if (*count == 0) return tls_input_error(err, where, shown, "empty list; allowed: %s", allowed);
    if (*count > TLS_MAX_VALUES)
        return tls_input_error(err, where, shown, "%d values; allowed: at most %d values per axis",
                               *count, TLS_MAX_VALUES);
    return TLS_OK;
}

/* Sets the axis of key k up for count values (n stays 0). */
static int axis_alloc(tls_axis *ax, int k, int count) {
    const tls_key *kd = &tls_keys[k];
    ax->key = k;
    ax->key_name = kd->name;
    ax->type = tls_key_types[kd->type].vtype;
    ax->off = kd->off;
    ax->size = kd->size;
    ax->units = kd->units;
    ax->long_name = kd->long_name;
    if (is_named_axis(k))
        snprintf(ax->dim, sizeof(ax->dim), "%s", kd->name + 5);
    else
        for (size_t i = 0; i <= strlen(kd->name) && i < sizeof(ax->dim); i++)
            ax->dim[i] = kd->name[i] == '.' ? '_' : kd->name[i];
    int is_str = ax->type == TLS_V_STR, exact = ax->type == TLS_V_INT || ax->type == TLS_V_BOOL;
    ax->vals = malloc(kd->size * (size_t)count);
    /* the text of numbers is made when needed (tls_axis_text): a list of a
     * million seeds keeps 24 bytes per value, not a string each */
    if (is_str) ax->text = calloc((size_t)count, sizeof(char *));
    if (!is_str) ax->num = malloc(sizeof(double) * (size_t)count);
    if (exact) ax->inum = malloc(sizeof(int64_t) * (size_t)count);
    if (!ax->vals || (is_str && !ax->text) || (!is_str && !ax->num) || (exact && !ax->inum))
        return TLS_ERR_NOMEM;
    return TLS_OK;
}

/* Value i of node n: its element, or for a range the number as if written
 * in a list (one and num hold it). */
static yaml_node_t *element(yaml_document_t *doc, yaml_node_t *n, const range *r, int i,
                            yaml_node_t *one, char num[32]) {
    if (r->count < 0)
        return n->type == YAML_SCALAR_NODE
                   ? n
                   : yaml_document_get_node(doc, n->data.sequence.items.start[i]);
    snprintf(num, 32, "%lld", (long long)(r->start + (__int128)i * r->step));
    memset(one, 0, sizeof(*one));
    one->type = YAML_SCALAR_NODE;
    one->data.scalar.value = (yaml_char_t *)num;
    one->data.scalar.length = strlen(num);
    return one;
}

/* Reads value i (node item) of the axis of key k through the scratch
 * configuration tmp, checks it and keeps it. */
static int axis_value(tls_axis *ax, int i, tls_config *tmp, int k, yaml_document_t *doc,
                      yaml_node_t *item, const char *where, const char *shown, char *err) {
    const tls_key *kd = &tls_keys[k];
    char w[400], al[TLS_KEY_ALLOWED];
    snprintf(w, sizeof(w), "%s", where);
    if (item->type != YAML_SCALAR_NODE && !tls_key_types[kd->type].parse_node)
        return tls_input_error(err, where, shown, "element %d is %s, not a value; allowed: %s",
                               i + 1, node_kind(item), tls_key_allowed(kd, al));
    if (tls_key_apply(tmp, k, doc, item, w, err)) {
        /* name the element: "element 3 is not a number" */
        char inner[TLS_ERRMSG];
        char prefix[600]; /* tls_key_apply's "WHERE: KEY: ", which the element's line replaces */
        int pl = snprintf(prefix, sizeof(prefix), "%s: %s: ", w, kd->name);
        int skip = pl > 0 && (size_t)pl < sizeof(prefix) && !strncmp(err, prefix, (size_t)pl);
        snprintf(inner, sizeof(inner), "%s", skip ? err + pl : err);
        return tls_input_error(err, where, shown, "element %d: %s", i + 1, inner);
    }
    char what[48];
    snprintf(what, sizeof(what), "element %d: ", i + 1);
    TLS_TRY(tls_key_check(tmp, k, where, what, err));
    memcpy(ax->vals + (size_t)i * kd->size, (char *)tmp + kd->off, kd->size);
    if (ax->text) {
        tls_sbuf b = {0};
        tls_key_print(&b, tmp, k);
        if (b.failed) return TLS_ERR_NOMEM;
        ax->text[i] = b.s;
    }
    if (ax->num) ax->num[i] = tls_key_number(tmp, k);
    if (ax->inum) ax->inum[i] = tls_key_exact(tmp, k);
    return TLS_OK;
}

static int cmp_num(const void *a, const void *b, void *ctx) {
    const tls_axis *ax = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    if (ax->type == TLS_V_REAL) return (ax->num[i] > ax->num[j]) - (ax->num[i] < ax->num[j]);
    return (ax->inum[i] > ax->inum[j]) - (ax->inum[i] < ax->inum[j]);
}

static int cmp_text(const void *a, const void *b, void *ctx) {
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

/* Sorts the values (numbers ascending; strings keep their order) after
 * checking that no two are the same, in O(n log n) (perm: n ints). */
static int axis_order(tls_axis *ax, int *perm, const char *where, const char *shown, char *err) {
    int n = ax->n;
    for (int i = 0; i < n; i++) perm[i] = i;
    qsort_r(perm, (size_t)n, sizeof(int), ax->type != TLS_V_STR ? cmp_num : cmp_text, ax);
    for (int p = 1; p < n; p++) {
        int a = perm[p - 1], b = perm[p];
        int same = ax->type == TLS_V_STR    ? !strcmp(ax->text[a], ax->text[b])
                   : ax->type == TLS_V_REAL ? ax->num[a] == ax->num[b]
                                            : ax->inum[a] == ax->inum[b];
        if (same) {
            int first = a < b ? a : b, second = a < b ? b : a;
            char t[40], al[TLS_KEY_ALLOWED];
            return tls_input_error(err, where, shown,
                                   "element %d (%s) repeats element %d; allowed: %s", second + 1,
                                   tls_axis_text(ax, second, t, sizeof(t)), first + 1,
                                   tls_key_allowed(&tls_keys[ax->key], al));
        }
    }
    if (ax->type == TLS_V_STR)
        for (int p = 0; p < n; p++) perm[p] = p; /* strings keep the order written */
    return axis_permute(ax, perm);
}

static int tls_axis_build(tls_axis *ax, const tls_config *c, int k, yaml_document_t *doc,
                          yaml_node_t *n, const char *where, char *err) {
    char shown[96]; /* the key as written under grid: */
    snprintf(shown, sizeof(shown), "%s%s", is_named_axis(k) ? "" : "grid.", tls_keys[k].name);
    range r;
    int count = 0;
    TLS_TRY(count_values(&tls_keys[k], n, shown, where, &r, &count, err));
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
    tls_axis_free(ax);
    int *perm = malloc(sizeof(int) * (size_t)count);
    tls_config *tmp = malloc(sizeof(*tmp));
    int rc = axis_alloc(ax, k, count);
    if (rc || !perm || !tmp) {
        rc = TLS_ERR_NOMEM;
        goto done;
    }
    ax->n = count;
    memcpy(tmp, c, sizeof(*tmp));
    for (int i = 0; i < count && rc == TLS_OK; i++) {
        yaml_node_t one;
        char num[32];
        rc = axis_value(ax, i, tmp, k, doc, element(doc, n, &r, i, &one, num), where, shown, err);
    }
    if (rc == TLS_OK) rc = axis_order(ax, perm, where, shown, err);
done:
    free(perm);
    free(tmp);
    if (rc) tls_axis_free(ax);
    return rc;
}

/* ---- canonical text ---------------------------------------------------------- */

static void tls_axis_yaml(tls_sbuf *b, const char *name, const tls_axis *ax) {
    /* the text depends on the values only, and a million seeds stay one
     * line; the hash is over the list written out, as it was before range()
     * existed, so that a sweep started by an earlier version keeps its hash */
    int as_range = !b->hashing && ax->n >= TLS_RANGE_PRINT_MIN &&
                   (ax->inum || ax->type == TLS_V_REAL) && ax->type != TLS_V_BOOL;
    int all = tls_key_types[tls_keys[ax->key].type].all;
    int64_t first = 0, step = 0, last = 0;
    for (int i = 0; as_range && i < ax->n; i++) {
        double x = ax->num[i];
        if (!ax->inum &&
            (x != floor(x) || fabs(x) > 9007199254740992.0 || (x == 0 && signbit(x)))) {
            as_range = 0; /* -0 is not the 0 a range gives */
            break;
        }
        if (ax->inum && ax->inum[i] == -1 && all) {
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
            tls_sbuf_printf(b, "  %s: range(%lld, %lld)\n", name, (long long)first,
                            (long long)(last + 1));
        else
            tls_sbuf_printf(b, "  %s: range(%lld, %lld, %lld)\n", name, (long long)first,
                            (long long)(last + step), (long long)step);
        return;
    }
    char t[40];
    tls_sbuf_printf(b, "  %s: [", name);
    for (int i = 0; i < ax->n; i++)
        tls_sbuf_printf(b, "%s%s", i ? ", " : "", tls_axis_text(ax, i, t, sizeof(t)));
    tls_sbuf_printf(b, "]\n");
}

/* ---- rules across keys ------------------------------------------------------ */

static int swept(const tls_config *c, int k) {
    return tls_axis_of(c, k) != NULL;
}

static const char *origin_of(const tls_config *c, const tls_key_origin *org, int k) {
    return swept(c, k) && org[k].axis_where[0] ? org[k].axis_where : org[k].where;
}

/* The range of key k's values over the grid (its axis, or its base value). */
static void key_range(const tls_config *c, int k, double *lo, double *hi) {
    *lo = *hi = tls_key_number(c, k);
    const tls_axis *ax = tls_axis_of(c, k);
    if (ax && ax->num)
        for (int i = 0; i < ax->n; i++) {
            if (ax->num[i] < *lo) *lo = ax->num[i];
            if (ax->num[i] > *hi) *hi = ax->num[i];
        }
}

/* Value i of numeric key k over the grid (ax: tls_axis_of(c, k)); an enum's index. */
static double value_at(const tls_config *c, int k, const tls_axis *ax, int i) {
    if (!ax) return tls_key_number(c, k);
    if (ax->num) return ax->num[i];
    return tls_key_number_at(k, ax->vals + (size_t)i * ax->size);
}

static void tls_rules_file_defaults(tls_config *c, const tls_key_origin *org) {
    if (!c->data_source[0]) return;
    const char *counts[] = {"data.n_source", "data.n_test"};
    for (int i = 0; i < 2; i++) {
        int k = tls_key_find(counts[i]);
        if (!org[k].user) *(int *)((char *)c + tls_keys[k].off) = -1;
    }
}

/* Every key's value, where it is not swept (the axes checked theirs as
 * they were built); a key both set and swept by the user is ambiguous. */
static int check_keys(const tls_config *c, const tls_key_origin *org, char *err) {
    for (int k = TLS_NAMED_AXES; k < tls_nkeys; k++) {
        if (swept(c, k) && org[k].user)
            return tls_input_error(err, org[k].where, tls_keys[k].name,
                                   "set here and swept in grid (%s); allowed: one of the two",
                                   org[k].axis_where);
        TLS_TRY(tls_key_check(c, k, org[k].where, "", err));
    }
    return TLS_OK;
}

/* Data files go in pairs; counts need them for `all` and must reach
 * data.classes; an image shape needs files and two numbers. */
static int check_data(const tls_config *c, const tls_key_origin *org, int files, char *err) {
    int filet = c->data_target[0] != '\0';
    int ks = tls_key_find("data.source"), kt = tls_key_find("data.target");
    if (files != filet)
        return tls_input_error(err, org[files ? ks : kt].where,
                               files ? "data.target" : "data.source",
                               "missing: data.source and data.target go together; allowed: both "
                               "paths, or neither (synthetic data)");
    const char *counts[] = {"data.n_source", "data.n_test"};
    double lo, hi, clo, chi;
    key_range(c, tls_key_find("data.classes"), &clo, &chi);
    for (int i = 0; i < 2; i++) {
        int k = tls_key_find(counts[i]);
        key_range(c, k, &lo, &hi);
        if (!files && lo == -1)
            return tls_input_error(err, origin_of(c, org, k), counts[i],
                                   "all needs data files; allowed: an integer with synthetic data");
        /* the smallest count given as a number */
        double least = hi;
        const tls_axis *ax = tls_axis_of(c, k);
        if (ax) {
            for (int j = 0; j < ax->n; j++)
                if (ax->num[j] >= 0 && ax->num[j] < least) least = ax->num[j];
        } else {
            least = lo;
        }
        if (least >= 0 && least < chi)
            return tls_input_error(err, origin_of(c, org, k), counts[i],
                                   "%g is below data.classes (%g); allowed: an integer >= "
                                   "data.classes",
                                   least, chi);
    }
    int ki = tls_key_find("data.image_shape");
    if (!files && c->image_shape.n > 0)
        return tls_input_error(err, org[ki].where, "data.image_shape",
                               "needs data.source and data.target; allowed: [] with synthetic "
                               "data");
    if (c->image_shape.n != 0 && c->image_shape.n != 2)
        return tls_input_error(err, org[ki].where, "data.image_shape",
                               "%d values; allowed: [] or [height, width]", c->image_shape.n);
    const tls_axis *nt = &c->axis[TLS_AXIS_NTARGET];
    for (int i = 0; i < nt->n; i++)
        if (nt->inum[i] < chi)
            return tls_input_error(err, org[TLS_AXIS_NTARGET].axis_where, "grid.n_target",
                                   "%lld is below data.classes (%g): every class needs a "
                                   "labelled point; allowed: %s",
                                   (long long)nt->inum[i], chi, tls_keys[TLS_AXIS_NTARGET].allowed);
    return TLS_OK;
}

/* Every shift of the grid must mean something for every data.shift_kind. */
static int check_shifts(const tls_config *c, const tls_key_origin *org, int files, char *err) {
    int kk = tls_key_find("data.shift_kind");
    const tls_axis *kax = tls_axis_of(c, kk), *sh = &c->axis[TLS_AXIS_SHIFT];
    const char *key = kax ? "grid.data.shift_kind" : "data.shift_kind";
    for (int i = 0; i < (kax ? kax->n : 1); i++) {
        int kind = (int)value_at(c, kk, kax, i);
        const char *name = tls_key_word(&tls_keys[kk], kind);
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
                return tls_input_error(err, org[TLS_AXIS_SHIFT].axis_where, "grid.shift",
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
static int check_holdout(const tls_config *c, const tls_key_origin *org, const char *hkey,
                         const char *nkey, const char *what, char *err) {
    int kh = tls_key_find(hkey), kn = tls_key_find(nkey), kc = tls_key_find("data.classes");
    const tls_axis *hax = tls_axis_of(c, kh), *nax = tls_axis_of(c, kn), *cax = tls_axis_of(c, kc);
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

/* The grid's size, in checked arithmetic, before anything is sized by it. */
static int grid_size(const tls_config *c, const tls_key_origin *org, int64_t *size, char *err) {
    int64_t n = 1;
    for (int a = 0; a < c->naxes; a++) {
        if (c->axis[a].n > TLS_MAX_GRID / n) {
            char dims[256] = "";
            for (int b = 0; b < c->naxes; b++)
                snprintf(dims + strlen(dims), sizeof(dims) - strlen(dims), "%s%d", b ? " x " : "",
                         c->axis[b].n);
            return tls_input_error(err, org[c->axis[a].key].axis_where, "grid",
                                   "%s configurations is more than one sweep handles; allowed: "
                                   "at most %d configurations",
                                   dims, TLS_MAX_GRID);
        }
        n *= c->axis[a].n;
    }
    *size = n;
    return TLS_OK;
}

static int tls_rules_check(const tls_config *c, const tls_key_origin *org, int64_t *size,
                           char *err) {
    int files = c->data_source[0] != '\0';
    TLS_TRY(check_keys(c, org, err));
    TLS_TRY(check_data(c, org, files, err));
    TLS_TRY(check_shifts(c, org, files, err));
    TLS_TRY(check_holdout(c, org, "selection.target_holdout", "grid.n_target",
                          "labelled target point", err));
    if (!files) /* with files the drawn source's class counts are known only per seed */
        TLS_TRY(check_holdout(c, org, "selection.source_holdout", "data.n_source", "source point",
                              err));
    return grid_size(c, org, size, err);
}

static void tls_rules_shift_meaning(tls_config *c) {
    static const char *const units[] = {"degree", "1", "1", "1", "1"};
    static const char *const names[] = {
        "rotation of the target domain",
        "translation of the target domain along (1, -1)/sqrt(2), in source class spreads",
        "factor of the target classes' spread", "share of class 0 in the target sets",
        "share of target labels swapped to (y + 1) mod classes"};
    int kk = tls_key_find("data.shift_kind");
    const tls_axis *kax = tls_axis_of(c, kk);
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

static int unknown_key(char *err, const char *where, const char *name) {
    /* grid.train.lrr: the key after grid. is what is misspelt */
    const char *key = name, *prefix = "";
    if (!strncmp(name, "grid.", 5) && strchr(name + 5, '.')) key = name + 5, prefix = "grid.";
    int best = tls_key_closest(key);
    if (best >= 0)
        return tls_input_error(err, where, name,
                               "unknown key; did you mean %s%s? allowed: the keys listed in "
                               "configs/README.md",
                               prefix, tls_keys[best].name);
    return tls_input_error(err, where, name,
                           "unknown key; allowed: sections %s with the keys listed in "
                           "configs/README.md",
                           TLS_KEY_SECTIONS);
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

/* Loads the YAML file at path into doc. */
static int load_file(yaml_document_t *doc, const char *path, char *err) {
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return tls_input_error(err, path, "(file)",
                               "not a regular file (%s); allowed: a readable YAML file",
                               S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
    FILE *f = fopen(path, "rb");
    if (!f)
        return tls_input_error(err, path, "(file)",
                               "cannot read the configuration: %s; allowed: a readable YAML file",
                               strerror(errno));
    int rc = load_doc(doc, path, NULL, 0, f, err);
    fclose(f);
    return rc;
}

/* Makes key k (not a named axis) an axis of c: its own, or a new one. */
static int sweep_key(tls_config *c, int k, const char *full, yaml_document_t *doc, yaml_node_t *v,
                     const char *where, char *err) {
    if (tls_keys[k].fixed)
        return tls_input_error(err, where, full, "%s cannot be swept: %s", tls_keys[k].name,
                               tls_keys[k].fixed);
    int slot = -1;
    for (int a = TLS_NAMED_AXES; a < c->naxes; a++)
        if (c->axis[a].key == k) slot = a;
    if (slot < 0) {
        if (c->naxes >= TLS_MAX_AXES)
            return tls_input_error(err, where, full, "more than %d axes; allowed: at most %d",
                                   TLS_MAX_AXES - TLS_NAMED_AXES, TLS_MAX_AXES - TLS_NAMED_AXES);
        slot = c->naxes;
    }
    TLS_TRY(tls_axis_build(&c->axis[slot], c, k, doc, v, where, err));
    if (slot == c->naxes) c->naxes++;
    return TLS_OK;
}

/* Sets key `full` from node v, or, for a dotted key under grid:, makes it an axis. */
static int set_key(tls_config *c, const char *full, yaml_document_t *doc, yaml_node_t *v,
                   const char *where, tls_key_origin *org, int from_user, char *err) {
    int is_grid = !strncmp(full, "grid.", 5);
    const char *axis_key = is_grid && strchr(full + 5, '.') ? full + 5 : NULL;
    int k = tls_key_find(axis_key ? axis_key : full);
    if (k < 0) return unknown_key(err, where, full);
    if (is_grid && !axis_key && !is_named_axis(k)) return unknown_key(err, where, full);
    if (axis_key && is_named_axis(k)) return unknown_key(err, where, full);
    if (axis_key || is_named_axis(k)) {
        /* grid.shift and the like are always an axis (axis k) */
        TLS_TRY(axis_key ? sweep_key(c, k, full, doc, v, where, err)
                         : tls_axis_build(&c->axis[k], c, k, doc, v, where, err));
        snprintf(org[k].axis_where, sizeof(org[k].axis_where), "%s", where);
        return TLS_OK;
    }
    TLS_TRY(tls_key_apply(c, k, doc, v, where, err));
    snprintf(org[k].where, sizeof(org[k].where), "%s", where);
    org[k].user = from_user;
    return TLS_OK;
}

/* The dotted keys a document has given, to refuse one given twice. */
typedef struct {
    char (*name)[96];
    int n, cap;
} seen_keys;

/* Applies the keys of section `sec` (mapping vn) to c. */
static int apply_section(tls_config *c, yaml_document_t *doc, const char *name, const char *sec,
                         yaml_node_t *vn, seen_keys *seen, tls_key_origin *org, int from_user,
                         char *err) {
    char where[400];
    for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top; q++) {
        yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
        yaml_node_t *v2 = yaml_document_get_node(doc, q->value);
        snprintf(where, sizeof(where), "%s:%zu", name, k2->start_mark.line + 1);
        if (k2->type != YAML_SCALAR_NODE)
            return tls_input_error(err, where, sec,
                                   "a key must be a plain word; allowed: "
                                   "the keys listed in configs/README.md");
        char full[96];
        snprintf(full, sizeof(full), "%s.%.80s", sec, (const char *)k2->data.scalar.value);
        for (int i = 0; i < seen->n; i++)
            if (!strcmp(seen->name[i], full))
                return tls_input_error(err, where, full, "given twice; allowed: each key once");
        if (seen->n < seen->cap) snprintf(seen->name[seen->n++], sizeof(seen->name[0]), "%s", full);
        TLS_TRY(set_key(c, full, doc, v2, where, org, from_user, err));
    }
    return TLS_OK;
}

/* Applies a whole document (a mapping of sections) to c. */
static int apply_doc(tls_config *c, yaml_document_t *doc, const char *name, tls_key_origin *org,
                     int from_user, char *err) {
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root) return TLS_OK; /* an empty file: defaults */
    char where[400];
    snprintf(where, sizeof(where), "%s:%zu", name, root->start_mark.line + 1);
    if (root->type != YAML_MAPPING_NODE)
        return tls_input_error(err, where, "(top level)",
                               "expected a mapping of sections, got %s; allowed: %s",
                               node_kind(root), TLS_KEY_SECTIONS);
    char seen_sec[16][32];
    int nsec = 0;
    seen_keys seen = {.cap = tls_nkeys + TLS_MAX_AXES};
    seen.name = malloc(sizeof(seen.name[0]) * (size_t)seen.cap);
    TLS_CHECK(seen.name, TLS_ERR_NOMEM, "out of memory");
    int rc = TLS_OK;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top && rc == TLS_OK; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        snprintf(where, sizeof(where), "%s:%zu", name, kn->start_mark.line + 1);
        if (kn->type != YAML_SCALAR_NODE) {
            rc = tls_input_error(err, where, "(top level)",
                                 "a section name must be a plain word; allowed: %s",
                                 TLS_KEY_SECTIONS);
            break;
        }
        const char *sec = (const char *)kn->data.scalar.value;
        for (int i = 0; i < nsec && rc == TLS_OK; i++)
            if (!strcmp(seen_sec[i], sec))
                rc = tls_input_error(err, where, sec,
                                     "section given twice; allowed: each section once, with all "
                                     "its keys");
        if (rc) break;
        if (nsec < 16) snprintf(seen_sec[nsec++], sizeof(seen_sec[0]), "%s", sec);
        if (vn->type == YAML_SCALAR_NODE && vn->data.scalar.length == 0) continue; /* `sec:` */
        if (vn->type != YAML_MAPPING_NODE)
            rc = tls_input_error(err, where, sec,
                                 "expected a mapping of keys, got %s; allowed: e.g. %s: "
                                 "{key: value}",
                                 node_kind(vn), sec);
        else
            rc = apply_section(c, doc, name, sec, vn, &seen, org, from_user, err);
    }
    free(seen.name);
    return rc;
}

static int apply_set(tls_config *c, const char *set, tls_key_origin *org, char *err) {
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
        int k = tls_key_find(key);
        char al[TLS_KEY_ALLOWED];
        rc = k < 0 ? unknown_key(err, where, key)
                   : tls_input_error(err, where, key, "no value given; allowed: %s",
                                     tls_key_allowed(&tls_keys[k], al));
    } else {
        rc = set_key(c, key, &doc, root, where, org, 1, err);
    }
    yaml_document_delete(&doc);
    return rc;
}

/* ---- loading -------------------------------------------------------------- */

/* Starts from the engine's defaults and the built-in default sweep. */
static int load_defaults(tls_config *c, tls_key_origin *org, char *err) {
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

/* Applies the file at path, or the text named path, to c. */
static int load_user(tls_config *c, const char *path, const char *text, tls_key_origin *org,
                     char *err) {
    yaml_document_t doc;
    snprintf(c->source, sizeof(c->source), "%s", path);
    TLS_TRY(text ? load_doc(&doc, path, (const unsigned char *)text, strlen(text), NULL, err)
                 : load_file(&doc, path, err));
    int rc = apply_doc(c, &doc, path, org, 1, err);
    yaml_document_delete(&doc);
    return rc;
}

/* Copies the named axes' first values into the base point. */
static void base_point(tls_config *c) {
    for (int a = 0; a < TLS_NAMED_AXES; a++)
        memcpy((char *)c + c->axis[a].off, c->axis[a].vals, c->axis[a].size);
}

static int load(const tls_config **out, const char *path, const char *text, const char *const *sets,
                int nsets, char *err) {
    *out = NULL;
    err[0] = '\0';
    tls_config *c = calloc(1, sizeof(*c));
    tls_key_origin *org = calloc((size_t)tls_nkeys, sizeof(*org));
    int rc = TLS_ERR_NOMEM;
    if (!c || !org) goto done;
    rc = load_defaults(c, org, err);
    if (rc == TLS_OK && (path || text)) rc = load_user(c, path, text, org, err);
    for (int i = 0; i < nsets && rc == TLS_OK; i++) rc = apply_set(c, sets[i], org, err);
    if (rc) goto done;
    tls_rules_file_defaults(c, org);
    rc = tls_rules_check(c, org, &c->grid_size, err);
    if (rc) goto done;
    tls_rules_shift_meaning(c);
    base_point(c);
done:
    free(org);
    if (rc) {
        if (rc == TLS_ERR_NOMEM && !err[0]) snprintf(err, TLS_ERRMSG, "out of memory");
        const tls_config *dead = c;
        tls_config_destroy(&dead);
        return rc;
    }
    *out = c;
    return TLS_OK;
}

int tls_config_load(const tls_config **out, const char *path, const char *const *sets, int nsets,
                    char *err) {
    return load(out, path, NULL, sets, nsets, err);
}

int tls_config_load_text(const tls_config **out, const char *name, const char *text, char *err) {
    return load(out, name, text, NULL, 0, err);
}

void tls_config_destroy(const tls_config **c) {
    if (!*c) return;
    tls_config *owned = (tls_config *)*c; /* the loader's allocation, now given back */
    for (int a = 0; a < owned->naxes; a++) tls_axis_free(&owned->axis[a]);
    free(owned);
    *c = NULL;
}

/* ---- canonical text ------------------------------------------------------ */

/* Canonical YAML, sections in table order, the grid first. `for_hash`:
 * leave out output.sync_seconds, which changes nothing in the file. */
static tls_sbuf yaml_text(const tls_config *c, int for_hash) {
    tls_sbuf b = for_hash ? tls_sbuf_hasher() : (tls_sbuf){0};
    char section[32] = "";
    for (int k = 0; k < tls_nkeys; k++) {
        const tls_key *kd = &tls_keys[k];
        if (for_hash && !strcmp(kd->name, "output.sync_seconds")) continue;
        const char *dot = strchr(kd->name, '.');
        int sl = (int)(dot - kd->name);
        if (strncmp(section, kd->name, (size_t)sl) || section[sl]) {
            snprintf(section, sizeof(section), "%.*s", sl, kd->name);
            tls_sbuf_printf(&b, "%s:\n", section);
        }
        if (is_named_axis(k)) {
            tls_axis_yaml(&b, dot + 1, &c->axis[k]);
            if (k == TLS_NAMED_AXES - 1)
                for (int a = TLS_NAMED_AXES; a < c->naxes; a++)
                    tls_axis_yaml(&b, c->axis[a].key_name, &c->axis[a]);
            continue;
        }
        if (tls_axis_of(c, k)) {
            tls_sbuf_printf(&b, "  # %s: swept (grid.%s)\n", dot + 1, kd->name);
            continue;
        }
        tls_sbuf_printf(&b, "  %s: ", dot + 1);
        tls_key_print(&b, c, k);
        tls_sbuf_printf(&b, "\n");
    }
    return b;
}

char *tls_config_yaml(const tls_config *c) {
    return yaml_text(c, 0).s;
}

uint64_t tls_config_hash(const tls_config *c) {
    return yaml_text(c, 1).h;
}
