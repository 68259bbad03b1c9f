#include "tlsweep/grid.h"

#include <stdio.h>
#include <string.h>

void tls_grid_coords(const tls_config *c, int64_t idx, int64_t *coords) {
    for (int a = c->naxes - 1; a >= 0; a--) {
        coords[a] = idx % c->axis[a].n;
        idx /= c->axis[a].n;
    }
}

int64_t tls_grid_index(const tls_config *c, const int64_t *coords) {
    int64_t idx = 0;
    for (int a = 0; a < c->naxes; a++) idx = idx * c->axis[a].n + coords[a];
    return idx;
}

void tls_grid_settings(const tls_config *c, int64_t idx, tls_settings *out) {
    *out = c->base;
    for (int a = c->naxes - 1; a >= 0; a--) {
        const tls_axis *ax = &c->axis[a];
        int64_t i = idx % ax->n;
        idx /= ax->n;
        /* the axis's field, as an offset into the config's base settings */
        memcpy((char *)out + (ax->off - offsetof(tls_config, base)),
               ax->vals + (size_t)i * ax->size, ax->size);
    }
}

int tls_grid_fixed_notes(const tls_config *c, char *buf, size_t len) {
    int n = 0;
    size_t used = 0;
    buf[0] = '\0';
    for (int a = TLS_NAMED_AXES; a < c->naxes; a++) {
        const tls_axis *ax = &c->axis[a];
        if (ax->n != 1 || used >= len) continue;
        char t[64];
        const char *v = tls_axis_text(ax, 0, t, sizeof(t));
        int sec = (int)strcspn(ax->key_name, ".");
        int w = snprintf(buf + used, len - used,
                         "tlsweep: grid.%s has one value (%s): held fixed, as a dimension %s of "
                         "size 1 in the results file; without the dimension: %.*s: {%s: %s}, or "
                         "--set %s=%s\n",
                         ax->key_name, v, ax->dim, sec, ax->key_name, ax->key_name + sec + 1, v,
                         ax->key_name, v);
        if (w < 0) break;
        used += (size_t)w;
        n++;
    }
    return n;
}

void tls_grid_describe(const tls_config *c, int64_t idx, char *buf, size_t len) {
    int64_t coords[TLS_MAX_AXES];
    tls_grid_coords(c, idx, coords);
    size_t used = 0;
    buf[0] = '\0';
    for (int a = 0; a < c->naxes && used < len; a++) {
        const tls_axis *ax = &c->axis[a];
        const char *name = a < TLS_NAMED_AXES ? ax->dim : ax->key_name;
        char t[64];
        int n = snprintf(buf + used, len - used, "%s%s=%s", a ? " " : "", name,
                         tls_axis_text(ax, (int)coords[a], t, sizeof(t)));
        if (n < 0) break;
        used += (size_t)n;
    }
}

void tls_grid_envelope(const tls_config *c, void (*resolve)(const void *ctx, tls_engine_params *e),
                       const void *ctx, tls_engine_params *env, int *min_n_target,
                       int *max_n_target) {
    /* the envelope of independent axes: each axis's values against the first
     * configuration (every axis at its first value: not the base, which holds
     * a swept key's default) */
    tls_settings first, s;
    tls_grid_settings(c, 0, &first);
    s = first;
    if (resolve) resolve(ctx, &s.eng);
    *env = s.eng;
    for (int a = TLS_NAMED_AXES; a < c->naxes; a++) {
        const tls_axis *ax = &c->axis[a];
        for (int i = 0; i < ax->n; i++) {
            s = first;
            memcpy((char *)&s + (ax->off - offsetof(tls_config, base)),
                   ax->vals + (size_t)i * ax->size, ax->size);
            if (resolve) resolve(ctx, &s.eng);
            tls_engine_shape_max(env, &s.eng);
        }
    }
    const tls_axis *nt = &c->axis[TLS_AXIS_NTARGET];
    *min_n_target = *max_n_target = (int)nt->inum[0];
    for (int i = 0; i < nt->n; i++) {
        if (nt->inum[i] < *min_n_target) *min_n_target = (int)nt->inum[i];
        if (nt->inum[i] > *max_n_target) *max_n_target = (int)nt->inum[i];
    }
}

tls_part tls_grid_part(const tls_config *c, int k, int n) {
    tls_part p = {k, n, 0, 1};
    if (c->decide.mode == TLS_MODE_GRID) return p;
    p.seeds = c->axis[TLS_AXIS_SEED].n;
    for (int a = TLS_AXIS_SEED + 1; a < c->naxes; a++) p.stride *= c->axis[a].n;
    return p;
}

/* Cells c in [0, x) with c mod n == k - 1. */
static int64_t cells_below(const tls_part *p, int64_t x) {
    return (x + p->n - p->k) / p->n;
}

int64_t tls_part_pos(tls_part p, int64_t idx) {
    if (!p.seeds) return (idx + p.n - p.k) / p.n;
    int64_t block = (int64_t)p.seeds * p.stride, pre = idx / block, rest = idx % block;
    int64_t seed = rest / p.stride, post = rest % p.stride, first = pre * p.stride;
    int64_t before = cells_below(&p, first), here = cells_below(&p, first + p.stride) - before;
    return before * p.seeds + seed * here + cells_below(&p, first + post) - before;
}

int64_t tls_part_count(int64_t size, tls_part p) {
    if (!p.seeds) return size / p.n + (size % p.n > p.k - 1);
    return cells_below(&p, size / p.seeds) * p.seeds;
}

int64_t tls_part_index(tls_part p, int64_t position) {
    if (!p.seeds) return position * p.n + (p.k - 1);
    /* the block of cells (pre) that holds the position: the last one whose
     * first position is at most it */
    int64_t block = (int64_t)p.seeds * p.stride, lo = 0;
    int64_t hi = (position / p.seeds + 1) * p.n / p.stride + 2; /* beyond the answer */
    while (lo < hi) { /* the first pre whose first position exceeds position */
        int64_t mid = lo + (hi - lo) / 2;
        if (cells_below(&p, mid * p.stride) * p.seeds <= position)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t pre = lo - 1, first = pre * p.stride, before = cells_below(&p, first);
    int64_t here = cells_below(&p, first + p.stride) - before;
    int64_t rest = position - before * p.seeds, seed = rest / here, j = rest % here;
    int64_t c0 = first + ((p.k - 1 - first) % p.n + p.n) % p.n; /* the block's first cell of p */
    return pre * block + seed * p.stride + (c0 + j * p.n - first);
}

int tls_part_has(tls_part p, int64_t idx) {
    return tls_part_which(p, idx) == p.k;
}

int tls_part_which(tls_part p, int64_t idx) {
    if (!p.seeds) return (int)(idx % p.n) + 1;
    int64_t block = (int64_t)p.seeds * p.stride;
    return (int)(((idx / block) * p.stride + idx % p.stride) % p.n) + 1;
}

int tls_grid_boxes(int nd, const int64_t *dims, int64_t lo, int64_t hi, tls_box_fn fn, void *ctx) {
    if (lo >= hi) return 0;
    /* stride[a]: indices per step of axis a */
    int64_t stride[TLS_MAX_AXES + 1];
    stride[nd - 1] = 1;
    for (int a = nd - 2; a >= 0; a--) stride[a] = stride[a + 1] * dims[a + 1];
    int64_t start[TLS_MAX_AXES], count[TLS_MAX_AXES];
    int64_t cur = lo;
    while (cur < hi) {
        /* the largest box starting at cur: the deepest axis level at which
         * cur is aligned and a whole step fits below hi */
        int level = nd - 1; /* boxes of single elements of the last axis */
        for (int a = nd - 1; a > 0; a--) {
            if (cur % stride[a - 1] != 0 || cur + stride[a - 1] > hi) break;
            level = a - 1;
        }
        int64_t rem = cur;
        for (int a = 0; a < nd; a++) {
            start[a] = rem / stride[a];
            rem %= stride[a];
        }
        /* as many steps of axis `level` as fit below hi and within the axis */
        int64_t steps = (hi - cur) / stride[level];
        if (steps > dims[level] - start[level]) steps = dims[level] - start[level];
        for (int a = 0; a < nd; a++) count[a] = a < level ? 1 : a == level ? steps : dims[a];
        int rc = fn(ctx, start, count);
        if (rc) return rc;
        cur += steps * stride[level];
    }
    return 0;
}
