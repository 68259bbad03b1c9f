#include "tlsweep/bmap.h"

#include "tlsweep/check.h"

#include <stdlib.h>
#include <string.h>

const char tls_bmap_rule_text[] =
    "a cell that did not run takes a comparison's decision when it lies in (or on) a box of the "
    "map whose corners all stopped with one decision (helps, hurts, equivalent, or undecided: "
    "given up or out of seeds) for every comparison; the map assumes no change of decision "
    "inside such a box";

enum { MAXD = TLS_BMAP_MAX_ORDERED };
enum { WAITING = 0, UNIFORM = 1, ATOMIC = 2, SPLIT = 3 };

typedef struct {
    int64_t base;               /* the map's cell with every ordered coordinate 0 */
    int32_t lo[MAXD], hi[MAXD]; /* index ranges along the ordered axes */
    int8_t state, depth;        /* WAITING ...; splits above it */
} box;

struct tls_bmap {
    int K;                /* comparisons */
    int d;                /* ordered axes */
    int64_t len[MAXD];    /* their values */
    int64_t stride[MAXD]; /* cells per step along them */
    int64_t ncells;
    int8_t *level;   /* (ncells) level of a needed cell, -1 */
    int8_t *stopped; /* (ncells) */
    int8_t *dec;     /* (ncells, K) decisions of the stopped cells */
    box *box;
    int64_t nbox, cap;
};

static int64_t coord(const tls_bmap *m, int64_t cell, int j) {
    return (cell / m->stride[j]) % m->len[j];
}

static int64_t base_of(const tls_bmap *m, int64_t cell) {
    for (int j = 0; j < m->d; j++) cell -= coord(m, cell, j) * m->stride[j];
    return cell;
}

/* Corner `mask` of box b: bit j picks hi along ordered axis j. */
static int64_t corner(const tls_bmap *m, const box *b, unsigned mask) {
    int64_t cell = b->base;
    for (int j = 0; j < m->d; j++)
        cell += (int64_t)((mask >> j) & 1 ? b->hi[j] : b->lo[j]) * m->stride[j];
    return cell;
}

int tls_bmap_create(tls_bmap **out, const tls_config *c) {
    *out = NULL;
    tls_bmap *m;
    TLS_ALLOC(m, 1);
    m->K = c->decide.compare.n;
    int64_t stride = 1;
    for (int a = c->naxes - 1; a >= 0; a--) { /* row-major over the axes but seed */
        if (a == TLS_AXIS_SEED) continue;
        const tls_axis *x = &c->axis[a];
        if ((x->type == TLS_V_REAL || x->type == TLS_V_INT) && x->n > 1) {
            if (m->d == MAXD) { /* rules.c refuses such a configuration */
                free(m);
                TLS_CHECK(0, TLS_ERR_INPUT, "decide.mode boundary maps at most %d ordered axes",
                          MAXD);
            }
            m->len[m->d] = x->n, m->stride[m->d] = stride, m->d++;
        }
        stride *= x->n;
    }
    m->ncells = stride;
    size_t n = (size_t)(m->ncells ? m->ncells : 1);
    m->level = malloc(n), m->stopped = calloc(n, 1), m->dec = calloc(n * (size_t)(m->K + 1), 1);
    if (!m->level || !m->stopped || !m->dec) {
        tls_bmap_destroy(&m);
        TLS_CHECK(0, TLS_ERR_NOMEM, "out of memory for the boundary map of %lld cells",
                  (long long)n);
    }
    memset(m->level, -1, n);
    *out = m;
    return TLS_OK;
}

void tls_bmap_destroy(tls_bmap **mp) {
    tls_bmap *m = *mp;
    if (!m) return;
    free(m->level), free(m->stopped), free(m->dec), free(m->box);
    TLS_FREE(*mp);
}

static int add_box(tls_bmap *m, const box *b) {
    if (m->nbox == m->cap) {
        int64_t cap = m->cap ? 2 * m->cap : 256;
        box *nb = realloc(m->box, sizeof(box) * (size_t)cap);
        TLS_CHECK(nb, TLS_ERR_NOMEM, "out of memory for the boundary map's boxes");
        m->box = nb, m->cap = cap;
    }
    m->box[m->nbox++] = *b;
    return TLS_OK;
}

/* A cell's level is the least of the splits' that need it. */
static int need(tls_bmap *m, int64_t cell, int level, tls_bmap_need_fn fn, void *ctx) {
    if (m->level[cell] >= 0 && m->level[cell] <= level) return TLS_OK;
    m->level[cell] = (int8_t)level;
    return fn(ctx, cell, level);
}

/* The lattice points along axis j: 0, S, 2S, ... and len - 1. */
static int64_t lattice_step(const tls_bmap *m, int j) {
    int64_t s = 1;
    while (2 * s <= (m->len[j] - 1) / TLS_BMAP_COARSE) s *= 2;
    return s;
}

static int on_lattice(const tls_bmap *m, int j, int64_t i) {
    return i % lattice_step(m, j) == 0 || i == m->len[j] - 1;
}

/* The next lattice point after i along axis j. */
static int32_t lattice_next(const tls_bmap *m, int j, int32_t i) {
    int64_t s = lattice_step(m, j), nx = (i / s + 1) * s;
    return (int32_t)(nx < m->len[j] - 1 ? nx : m->len[j] - 1);
}

int tls_bmap_start(tls_bmap *m, tls_bmap_need_fn fn, void *ctx) {
    for (int64_t cell = 0; cell < m->ncells; cell++) {
        int on = 1;
        for (int j = 0; j < m->d && on; j++) on = on_lattice(m, j, coord(m, cell, j));
        if (!on) continue;
        TLS_TRY(need(m, cell, 0, fn, ctx));
        /* the boxes with this cell as their low corner */
        int last = 0;
        for (int j = 0; j < m->d; j++) last |= coord(m, cell, j) == m->len[j] - 1;
        if (last && m->d > 0) continue;
        box b = {.base = base_of(m, cell)};
        for (int j = 0; j < m->d; j++)
            b.lo[j] = (int32_t)coord(m, cell, j), b.hi[j] = lattice_next(m, j, b.lo[j]);
        TLS_TRY(add_box(m, &b));
    }
    return TLS_OK;
}

/* Examines box i if every corner has stopped: uniform, atomic, or split
 * (its sub-boxes added and examined, their corners needed). */
static int examine(tls_bmap *m, int64_t i, tls_bmap_need_fn fn, void *ctx) {
    box b = m->box[i];
    unsigned ncorner = 1u << m->d;
    for (unsigned q = 0; q < ncorner; q++)
        if (!m->stopped[corner(m, &b, q)]) return TLS_OK;
    int uniform = 1, atomic = 1;
    const int8_t *d0 = m->dec + corner(m, &b, 0) * m->K;
    for (unsigned q = 0; q < ncorner && uniform; q++) {
        const int8_t *dq = m->dec + corner(m, &b, q) * m->K;
        for (int k = 0; k < m->K; k++) uniform &= dq[k] == d0[k];
    }
    for (int j = 0; j < m->d; j++) atomic &= b.hi[j] - b.lo[j] <= 1;
    m->box[i].state = uniform ? UNIFORM : atomic ? ATOMIC : SPLIT;
    if (uniform || atomic) return TLS_OK;
    /* the sub-boxes: each split axis takes its low or its high half */
    int split[MAXD], ns = 0;
    for (int j = 0; j < m->d; j++)
        if (b.hi[j] - b.lo[j] >= 2) split[ns++] = j;
    int64_t first = m->nbox;
    for (unsigned q = 0; q < 1u << ns; q++) {
        box c = b;
        c.state = WAITING, c.depth = (int8_t)(b.depth + 1);
        for (int t = 0; t < ns; t++) {
            int j = split[t];
            int32_t mid = b.lo[j] + (b.hi[j] - b.lo[j]) / 2;
            if ((q >> t) & 1)
                c.lo[j] = mid;
            else
                c.hi[j] = mid;
        }
        TLS_TRY(add_box(m, &c));
        for (unsigned r = 0; r < ncorner; r++) TLS_TRY(need(m, corner(m, &c, r), c.depth, fn, ctx));
    }
    for (int64_t k = first; k < first + (1 << ns); k++) TLS_TRY(examine(m, k, fn, ctx));
    return TLS_OK;
}

/* Whether cell is a corner of box b. */
static int is_corner(const tls_bmap *m, const box *b, int64_t cell) {
    if (base_of(m, cell) != b->base) return 0;
    for (int j = 0; j < m->d; j++) {
        int64_t x = coord(m, cell, j);
        if (x != b->lo[j] && x != b->hi[j]) return 0;
    }
    return 1;
}

int tls_bmap_stopped(tls_bmap *m, int64_t cell, const int *dec, tls_bmap_need_fn fn, void *ctx) {
    if (m->stopped[cell]) return TLS_OK;
    m->stopped[cell] = 1;
    for (int k = 0; k < m->K; k++) m->dec[cell * m->K + k] = (int8_t)dec[k];
    int64_t n = m->nbox; /* boxes added by the splits below are examined there */
    for (int64_t i = 0; i < n; i++)
        if (m->box[i].state == WAITING && is_corner(m, &m->box[i], cell))
            TLS_TRY(examine(m, i, fn, ctx));
    return TLS_OK;
}

int tls_bmap_level(const tls_bmap *m, int64_t cell) {
    return m->level[cell];
}

void tls_bmap_infer(const tls_bmap *m, const int8_t *ran, int8_t *dec, int8_t *src) {
    for (int64_t c = 0; c < m->ncells; c++)
        if (!ran[c])
            for (int k = 0; k < m->K; k++) src[c * m->K + k] = TLS_BMAP_UNKNOWN;
    for (int64_t i = 0; i < m->nbox; i++) {
        const box *b = &m->box[i];
        if (b->state != UNIFORM) continue;
        const int8_t *d0 = m->dec + corner(m, b, 0) * m->K;
        int64_t at[MAXD];
        for (int j = 0; j < m->d; j++) at[j] = b->lo[j];
        for (;;) { /* every cell of the box */
            int64_t cell = b->base;
            for (int j = 0; j < m->d; j++) cell += at[j] * m->stride[j];
            if (!ran[cell])
                for (int k = 0; k < m->K; k++)
                    dec[cell * m->K + k] = d0[k], src[cell * m->K + k] = TLS_BMAP_INFERRED;
            int j = 0;
            while (j < m->d && ++at[j] > b->hi[j]) at[j] = b->lo[j], j++;
            if (j == m->d) break;
        }
    }
}

void tls_bmap_counts(const tls_bmap *m, int64_t *uniform, int64_t *atomic, int64_t *split,
                     int64_t *waiting) {
    int64_t n[4] = {0};
    for (int64_t i = 0; i < m->nbox; i++) n[m->box[i].state]++;
    *waiting = n[WAITING], *uniform = n[UNIFORM], *atomic = n[ATOMIC], *split = n[SPLIT];
}
