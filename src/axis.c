#define _GNU_SOURCE /* qsort_r */
#include "tlsweep/axis.h"

#include "tlsweep/check.h"
#include "tlsweep/keys.h"
#include "tlsweep/scalar.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void tls_axis_free(tls_axis *ax) {
    if (ax->text)
        for (int i = 0; i < ax->n; i++) free(ax->text[i]);
    free(ax->text);
    free(ax->vals);
    free(ax->num);
    free(ax->inum);
    memset(ax, 0, sizeof(*ax));
}

const tls_axis *tls_axis_of(const tls_config *c, int k) {
    for (int a = 0; a < c->naxes; a++)
        if (c->axis[a].key == k) return &c->axis[a];
    return NULL;
}

/* ---- building -------------------------------------------------------------- */

static int is_named_axis(int k) {
    return k < TLS_NAMED_AXES;
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
                               tls_key_node_kind(n), allowed);
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
                               i + 1, tls_key_node_kind(item), tls_key_allowed(kd, al));
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

int tls_axis_build(tls_axis *ax, const tls_config *c, int k, yaml_document_t *doc, yaml_node_t *n,
                   const char *where, char *err) {
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

void tls_axis_yaml(tls_sbuf *b, const char *name, const tls_axis *ax) {
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
