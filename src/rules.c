#include "tlsweep/rules.h"

#include "tlsweep/axis.h"
#include "tlsweep/bmap.h"
#include "tlsweep/check.h"
#include "tlsweep/decide.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int swept(const tls_config *c, int k) {
    return tls_axis_of(c, k) != NULL;
}

static const char *origin_of(const tls_config *c, const tls_key_origin *org, int k) {
    return swept(c, k) && org[k].axis_where[0] ? org[k].axis_where : org[k].where;
}

/* Whether the user set key k (in the file or with --set; swept or not): not the built-in
 * default's value. */
static int by_user(const tls_key_origin *org, int k) {
    return org[k].user || (org[k].axis_where[0] && strncmp(org[k].axis_where, "(built-in", 9));
}

/* Key k as the user wrote it: grid.KEY when swept (the four named axes are grid.* already). */
static const char *shown_key(const tls_config *c, int k, char *buf, size_t len) {
    snprintf(buf, len, "%s%s", swept(c, k) && k >= TLS_NAMED_AXES ? "grid." : "", tls_keys[k].name);
    return buf;
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

void tls_rules_file_defaults(tls_config *c, const tls_key_origin *org) {
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
    int kc = tls_key_find("data.classes");
    char cn[96];
    key_range(c, kc, &clo, &chi);
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
        if (least >= 0 && least < chi && !by_user(org, k) && by_user(org, kc))
            return tls_input_error(err, origin_of(c, org, kc), shown_key(c, kc, cn, sizeof(cn)),
                                   "%g classes need a point each of %s, whose built-in default "
                                   "is %g; allowed: at most %g classes, or %s >= %g as well",
                                   chi, counts[i], least, least, counts[i], chi);
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
        if (nt->inum[i] < chi && !org[TLS_AXIS_NTARGET].user && by_user(org, kc))
            return tls_input_error(err, origin_of(c, org, kc), shown_key(c, kc, cn, sizeof(cn)),
                                   "%g classes need a labelled point each, and the built-in "
                                   "grid.n_target holds %lld; allowed: at most %lld classes, or "
                                   "grid.n_target with integers >= %g as well (e.g. --set "
                                   "'grid.n_target=[%g, %g]')",
                                   chi, (long long)nt->inum[i], (long long)nt->inum[i], chi, chi,
                                   5 * chi);
        else if (nt->inum[i] < chi)
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
        /* several kinds share one list: the way to give each its own */
        const char *per_kind = kax && kax->n > 1 ? "; for a shift list per kind, run a sweep per "
                                                   "kind and combine them with analysis.concat "
                                                   "(configs/README.md)"
                                                 : "";
        for (int j = 0; j < sh->n; j++)
            if ((sh->num[j] < lo || sh->num[j] > hi) && !org[TLS_AXIS_SHIFT].user &&
                by_user(org, kk))
                return tls_input_error(err, origin_of(c, org, kk), key,
                                       "%s makes the shift %s, and the built-in grid.shift "
                                       "holds %g; allowed: grid.shift with numbers %s as well "
                                       "(e.g. --set 'grid.shift=%s')",
                                       name, what, sh->num[j], hi > 1.0 ? ">= 0" : "from 0 to 1",
                                       hi > 1.0 ? "[0.5, 1, 2]" : "[0, 0.5, 1]");
            else if (sh->num[j] < lo || sh->num[j] > hi)
                return tls_input_error(err, org[TLS_AXIS_SHIFT].axis_where, "grid.shift",
                                       "%g is not %s (data.shift_kind %s); allowed: numbers %s "
                                       "with that kind%s",
                                       sh->num[j], what, name, hi > 1.0 ? ">= 0" : "from 0 to 1",
                                       per_kind);
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

/* The boundary mode maps at least one and at most TLS_BMAP_MAX_ORDERED ordered axes (bmap.h). */
static int check_boundary(const tls_config *c, const tls_key_origin *org, char *err) {
    if (c->decide.mode != TLS_MODE_BOUNDARY) return TLS_OK;
    int n = 0;
    for (int a = 0; a < c->naxes; a++)
        n += a != TLS_AXIS_SEED && c->axis[a].n > 1 &&
             (c->axis[a].type == TLS_V_REAL || c->axis[a].type == TLS_V_INT);
    int km = tls_key_find("decide.mode");
    if (n == 0)
        return tls_input_error(err, org[km].where, "decide.mode",
                               "boundary, but no numeric axis has more than one value: there is "
                               "no map to draw; allowed: a numeric axis of several values (e.g. "
                               "grid.shift), or decide.mode sequential");
    if (n > TLS_BMAP_MAX_ORDERED)
        return tls_input_error(err, org[km].where, "decide.mode",
                               "boundary over %d numeric axes of more than one value; allowed: "
                               "at most %d (the others as single values or decide.mode "
                               "sequential)",
                               n, TLS_BMAP_MAX_ORDERED);
    return TLS_OK;
}

/* The decide modes: a round no longer than the seeds, and enough seeds for the rule to
 * decide anything at all (tls_decide_fewest). */
static int check_seeds(const tls_config *c, const tls_key_origin *org, char *err) {
    if (c->decide.mode == TLS_MODE_GRID) return TLS_OK;
    int seeds = c->axis[TLS_AXIS_SEED].n;
    const char *where = org[TLS_AXIS_SEED].axis_where;
    const char *key = org[TLS_AXIS_SEED].user ? "grid.seed" : "decide.max_seeds";
    int kr = tls_key_find("decide.round");
    if (c->decide.round > seeds)
        return tls_input_error(err, org[kr].where, "decide.round",
                               "%d seeds per round, more than the sweep's %d seeds (%s): one "
                               "round, nothing sequential; allowed: at most %d, or decide.mode "
                               "grid",
                               c->decide.round, seeds, key, seeds);
    tls_decide_rule rule;
    tls_decide_rule_of(&rule, c->decide.cs, c->decide.alpha, c->decide.delta, c->decide.round,
                       seeds);
    int fewest = tls_decide_fewest(&rule);
    if (fewest > seeds)
        return tls_input_error(err, where, key,
                               "%d seeds: with decide.cs %s at decide.alpha %g no cell can be "
                               "decided (a difference of -1 at every seed is decided at %d seeds "
                               "at the earliest); allowed: at least %d seeds",
                               seeds, tls_cs_names[c->decide.cs], c->decide.alpha, fewest, fewest);
    return TLS_OK;
}

int tls_rules_check(const tls_config *c, const tls_key_origin *org, int64_t *size, char *err) {
    int files = c->data_source[0] != '\0';
    TLS_TRY(check_keys(c, org, err));
    TLS_TRY(check_data(c, org, files, err));
    TLS_TRY(check_shifts(c, org, files, err));
    TLS_TRY(check_boundary(c, org, err));
    TLS_TRY(check_seeds(c, org, err));
    TLS_TRY(check_holdout(c, org, "selection.target_holdout", "grid.n_target",
                          "labelled target point", err));
    if (!files) /* with files the drawn source's class counts are known only per seed */
        TLS_TRY(check_holdout(c, org, "selection.source_holdout", "data.n_source", "source point",
                              err));
    return grid_size(c, org, size, err);
}

void tls_rules_shift_meaning(tls_config *c) {
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
