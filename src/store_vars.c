#include "store_int.h"
#include "tlsweep/cells.h"

#include <string.h>

/* ---- the layout ------------------------------------------------------------ */

void tls_layout_init(tls_layout *L, const tls_config *c, const tls_engine_params *env,
                     tls_part part) {
    L->c = c;
    L->env = *env;
    L->part = tls_grid_part(c, part.k, part.n);
    L->count = tls_part_count(c->grid_size, L->part);
}

int tls_layout_is_cube(const tls_layout *L) {
    return L->part.n == 1;
}

void tls_store_block(int64_t count, int rank, int nranks, int64_t *lo, int64_t *hi) {
    *lo = count * rank / nranks;
    *hi = count * (rank + 1) / nranks;
}

/* ---- the variables --------------------------------------------------------- */

static size_t esize_of(tls_ftype t) {
    return t == TLS_T_F64 ? 8 : t == TLS_T_I8 ? 1 : 4;
}

int64_t tls_layout_trail(const tls_layout *L, int d) {
    return tls_dim_len(&L->env, d);
}

/* The variables of layout L, in file order. */
int tls_store_vars(const tls_layout *L, tls_svar *v) {
    int n = 0;
    for (int k = 0; k < tls_nfields; k++) {
        const tls_field *d = &tls_fields[k];
        if (d->embeddings && !L->c->embeddings) continue;
        for (int i = 0; i < tls_field_values(d); i++) {
            tls_svar *x = &v[n];
            memset(x, 0, sizeof(*x));
            if (!tls_field_var(d, i, x->name, sizeof(x->name), x->long_name, sizeof(x->long_name)))
                continue;
            n++;
            x->d = d;
            x->inst = d->per == TLS_PER_ONE ? -1 : i;
            x->elems = 1;
            for (int t = 0; t < d->ntrail; t++) x->elems *= tls_layout_trail(L, d->trail[t]);
            x->esize = esize_of(d->type);
        }
    }
    return n;
}

/* Where tls_svar x's values of one configuration are in a record, and their
 * element size in memory. */
void *tls_store_field(const tls_svar *x, tls_record_meta *meta, tls_result *r, size_t *msize) {
    const tls_field *d = x->d;
    *msize = d->mem_int32 ? 4 : x->esize;
    switch (d->from) {
    case TLS_SRC_SCALARS:
        return (char *)&r->s + d->off + (x->inst >= 0 ? (size_t)x->inst * *msize : 0);
    case TLS_SRC_META:
        return (char *)meta + d->off;
    case TLS_SRC_ARRAY:
        return tls_result_array(r, (int)d->off);
    default:
        return NULL; /* TLS_SRC_HOST */
    }
}

double tls_store_bytes_per_config(const tls_layout *L) {
    tls_svar v[TLS_MAX_VARS];
    int n = tls_store_vars(L, v);
    double b = 16; /* reason and bookkeeping */
    for (int k = 0; k < n; k++) b += (double)v[k].elems * (double)v[k].esize;
    return b;
}

void tls_store_print_layout(const tls_layout *L, FILE *f) {
    tls_svar v[TLS_MAX_VARS];
    int n = tls_store_vars(L, v);
    const tls_config *c = L->c;
    char conf[TLS_MAX_AXES * 70] = "";
    if (tls_layout_is_cube(L))
        for (int a = 0; a < c->naxes; a++)
            snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "%s%s=%d", a ? ", " : "",
                     c->axis[a].dim, c->axis[a].n);
    else
        snprintf(conf, sizeof(conf), "config=%lld", (long long)L->count);
    fprintf(f, "output layout (docs/FORMAT.md): every variable has the dims (%s) first\n", conf);
    for (int k = 0; k < n; k++) {
        char dims[160] = "";
        for (int t = 0; t < v[k].d->ntrail; t++)
            snprintf(dims + strlen(dims), sizeof(dims) - strlen(dims), ", %s=%lld",
                     tls_dim_names[v[k].d->trail[t]],
                     (long long)tls_layout_trail(L, v[k].d->trail[t]));
        fprintf(f, "  %s%-20s (...%s)\n", v[k].d->embeddings ? "embeddings/" : "", v[k].name, dims);
    }
    fprintf(f, "  %-20s (...)  string\n", "reason");
    if (c->decide.mode == TLS_MODE_GRID) return;
    fprintf(f, "per cell and comparison: the dims without seed, then comparison=%d\n",
            c->decide.compare.n);
    for (int k = 0; k < tls_ncell_fields; k++)
        fprintf(f, "  %-20s (..., comparison=%d)\n", tls_cell_fields[k].name, c->decide.compare.n);
}

/* Adds a box of configuration positions, times the full trailing dims, to
 * a selection (tls_grid_boxes callback). */
typedef struct {
    hid_t space;
    int nconf, ntrail;
    hsize_t trail[3];
    int first;
    herr_t rc;
} box_ctx;

static int add_box(void *ctx, const int64_t *start, const int64_t *count) {
    box_ctx *b = ctx;
    hsize_t s[TLS_MAX_AXES + 3], n[TLS_MAX_AXES + 3];
    for (int a = 0; a < b->nconf; a++) s[a] = (hsize_t)start[a], n[a] = (hsize_t)count[a];
    for (int t = 0; t < b->ntrail; t++) s[b->nconf + t] = 0, n[b->nconf + t] = b->trail[t];
    b->rc =
        H5Sselect_hyperslab(b->space, b->first ? H5S_SELECT_SET : H5S_SELECT_OR, s, NULL, n, NULL);
    b->first = 0;
    return b->rc < 0;
}

/* Selects positions [lo, hi) of a variable's file space (none when empty). */
static herr_t select_positions(hid_t space, const tls_layout *L, int nconf, const hsize_t *conf,
                               int64_t lo, int64_t hi, int ntrail, const hsize_t *trail) {
    if (lo >= hi) return H5Sselect_none(space);
    box_ctx b = {space, nconf, ntrail, {0}, 1, 0};
    for (int t = 0; t < ntrail; t++) b.trail[t] = trail[t];
    int64_t dims[TLS_MAX_AXES];
    for (int a = 0; a < nconf; a++) dims[a] = (int64_t)conf[a];
    (void)L;
    if (tls_grid_boxes(nconf, dims, lo, hi, add_box, &b) != 0 || b.rc < 0) return -1;
    return 0;
}

/* Reads or writes positions [lo, hi) of variable dataset d from/to buf. */
herr_t tls_store_var_io(hid_t d, int writing, hid_t mtype, hid_t dxpl, const tls_layout *L,
                        int nconf, const hsize_t *conf, int ntrail, const hsize_t *trail,
                        int64_t elems, int64_t lo, int64_t hi, void *buf) {
    hid_t fs = H5Dget_space(d);
    hsize_t n = (hsize_t)((hi > lo ? hi - lo : 1) * elems);
    if (n == 0) n = 1;
    hid_t ms = H5Screate_simple(1, &n, NULL);
    herr_t rc = fs < 0 || ms < 0 ? -1 : 0;
    if (rc == 0 && (hi <= lo || elems == 0)) /* nothing (e.g. a dimension of length 0) */
        rc = H5Sselect_none(ms) < 0 ? -1 : H5Sselect_none(fs);
    else if (rc == 0)
        rc = select_positions(fs, L, nconf, conf, lo, hi, ntrail, trail);
    if (rc == 0)
        rc = writing ? H5Dwrite(d, mtype, ms, fs, dxpl, buf) : H5Dread(d, mtype, ms, fs, dxpl, buf);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

void tls_store_trail_dims(const tls_layout *L, const tls_field *d, hsize_t *trail) {
    for (int t = 0; t < d->ntrail; t++) trail[t] = (hsize_t)tls_layout_trail(L, d->trail[t]);
}

/* Copies one record into (pack) or out of (unpack) the round buffers at row i. */
void tls_store_frame_copy(const tls_svar *v, int nvars, unsigned char *const *buf, int64_t i,
                          tls_record_meta *meta, tls_result *r, int32_t host, int32_t *host_out,
                          int pack) {
    for (int k = 0; k < nvars; k++) {
        const tls_svar *x = &v[k];
        unsigned char *row = buf[k] + (size_t)i * (size_t)x->elems * x->esize;
        if (x->d->from == TLS_SRC_HOST) {
            if (pack)
                memcpy(row, &host, 4);
            else
                memcpy(host_out, row, 4);
            continue;
        }
        size_t msize;
        unsigned char *field = tls_store_field(x, meta, r, &msize);
        if (msize == x->esize) {
            if (pack)
                memcpy(row, field, (size_t)x->elems * x->esize);
            else
                memcpy(field, row, (size_t)x->elems * x->esize);
        } else { /* int32 in memory, int8 in the file */
            for (int64_t j = 0; j < x->elems; j++) {
                int32_t v32;
                if (pack) {
                    memcpy(&v32, field + 4 * j, 4);
                    row[j] = (unsigned char)(int8_t)v32;
                } else {
                    v32 = (int8_t)row[j];
                    memcpy(field + 4 * j, &v32, 4);
                }
            }
        }
    }
}
