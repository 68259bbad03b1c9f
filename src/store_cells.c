/* store_cells.c - the decide modes' part of a results file: every cell's
 * decisions, and which configurations were not needed. Computed from the
 * records the file holds (cells.h replays them), so that a run, a snapshot,
 * a resume and a merge of parts all write the same bits. */
#include "h5util.h"
#include "store_int.h"
#include "tlsweep/check.h"
#include "tlsweep/comm.h"

#include <hdf5_hl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int tls_store_cells_init(tls_store_cells *x, const tls_layout *L, int64_t lo, int64_t hi) {
    memset(x, 0, sizeof(*x));
    x->on = L->c->decide.mode != TLS_MODE_GRID;
    if (!x->on) return TLS_OK;
    x->lo = lo, x->n = hi - lo;
    x->acc = malloc(sizeof(double) * TLS_NMETHODS * (size_t)(x->n ? x->n : 1));
    x->have = calloc((size_t)(x->n ? x->n : 1), 1);
    return x->acc && x->have ? TLS_OK : TLS_ERR_NOMEM;
}

void tls_store_cells_note(tls_store_cells *x, int64_t pos, const tls_result *r, int have) {
    if (!x->on) return;
    int64_t i = pos - x->lo;
    x->have[i] = (int8_t)have;
    for (int m = 0; m < TLS_NMETHODS; m++) x->acc[i * TLS_NMETHODS + m] = have ? r->s.acc[m] : NAN;
}

void tls_store_cells_free(tls_store_cells *x) {
    free(x->acc), free(x->have), free(x->out), free(x->stop), free(x->not_needed);
    memset(x, 0, sizeof(*x));
}

int tls_store_cells_decide(tls_store_cells *x, MPI_Comm comm, const tls_layout *L) {
    if (!x->on) return TLS_OK;
    int rank = tls_comm_rank(comm), nranks = tls_comm_size(comm);
    int64_t count = L->count;
    double *acc = NULL;
    int8_t *have = NULL;
    int *cnt = NULL, *displ = NULL, *cnt5 = NULL, *displ5 = NULL, ok = 1;
    if (rank == 0) {
        acc = malloc(sizeof(double) * TLS_NMETHODS * (size_t)(count ? count : 1));
        have = malloc((size_t)(count ? count : 1));
        cnt = calloc((size_t)nranks, sizeof(int)), displ = calloc((size_t)nranks, sizeof(int));
        cnt5 = calloc((size_t)nranks, sizeof(int)), displ5 = calloc((size_t)nranks, sizeof(int));
        ok = acc && have && cnt && displ && cnt5 && displ5;
        for (int i = 0; ok && i < nranks; i++) {
            int64_t a, b;
            tls_store_block(count, i, nranks, &a, &b);
            cnt[i] = (int)(b - a), displ[i] = (int)a;
            cnt5[i] = TLS_NMETHODS * cnt[i], displ5[i] = TLS_NMETHODS * displ[i];
        }
    }
    if (!tls_all_ok(comm, ok))
        tls_comm_abort(comm, TLS_EXIT_FAILURE, "out of memory for the cells' decisions");
    TLS_MPI(comm,
            MPI_Gatherv(x->have, (int)x->n, MPI_INT8_T, have, cnt, displ, MPI_INT8_T, 0, comm));
    TLS_MPI(comm, MPI_Gatherv(x->acc, TLS_NMETHODS * (int)x->n, MPI_DOUBLE, acc, cnt5, displ5,
                              MPI_DOUBLE, 0, comm));
    int64_t unneeded = 0;
    if (rank == 0) {
        tls_cell_grid g;
        tls_cell_grid_init(&g, L->c);
        x->ncells = tls_cells_in(&g, L->part);
        int K = L->c->decide.compare.n;
        x->out = calloc((size_t)(x->ncells * K + 1), sizeof(tls_cell_decision));
        x->stop = calloc((size_t)(x->ncells + 1), 1);
        x->not_needed = calloc((size_t)(count + 1), 1);
        unneeded =
            x->out && x->stop && x->not_needed
                ? tls_cells_replay(L->c, L->part, count, acc, have, x->out, x->stop, x->not_needed)
                : -1;
        if (unneeded >= 0 &&
            tls_cells_ebh(L->c, x->ncells, x->out, &x->ebh_kept, &x->ebh_signs) != TLS_OK)
            unneeded = -1;
    }
    free(acc), free(have), free(cnt), free(displ), free(cnt5), free(displ5);
    x->unneeded = tls_bcast_i64(comm, unneeded);
    if (x->unneeded < 0)
        tls_comm_abort(comm, TLS_EXIT_FAILURE, "out of memory for the cells' decisions");
    return TLS_OK;
}

/* Creates a cell variable of type ftype over dims (nd) with their scales,
 * its fill value, units, long name and flags. */
static int make_cell_var(hid_t f, const tls_cell_field *cf, int nd, const hsize_t *dims,
                         const hid_t *scales, tls_h5ctx *e, hid_t *out) {
    hid_t ft = tls_h5_file_type(cf->type), sp = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hid_t d = H5I_INVALID_HID;
    const void *fill = tls_h5_fill_of(cf->type);
    TLS_H5TRY(e, sp = H5Screate_simple(nd, dims, NULL));
    TLS_H5TRY(e, dcpl = H5Pcreate(H5P_DATASET_CREATE));
    TLS_H5TRY(e, H5Pset_attr_creation_order(dcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED));
    TLS_H5TRY(e, H5Pset_fill_value(dcpl, ft, fill));
    TLS_H5TRY(e, d = H5Dcreate2(f, cf->name, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    for (int i = 0; i < nd; i++) TLS_H5TRY(e, H5DSattach_scale(d, scales[i], (unsigned)i));
    TLS_H5TRY(e, tls_h5_attr_write(d, "_FillValue", ft, ft, 0, fill));
    TLS_H5TRY(e, tls_h5_attr_str(d, "units", cf->units));
    TLS_H5TRY(e, tls_h5_attr_str(d, "long_name", cf->long_name));
    if (cf->flag_values) TLS_H5TRY(e, tls_h5_attr_flags(d, ft, cf->flag_values, cf->flag_meanings));
    H5Pclose(dcpl);
    H5Sclose(sp);
    *out = d;
    return TLS_OK;
fail:
    if (d >= 0) H5Dclose(d);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return TLS_ERR_IO;
}

/* The comparison coordinate ("mmd:target_mlp", ...) and, in a part's file,
 * the cell coordinate (the cells' indices). */
static int make_cell_scales(hid_t f, const tls_layout *L, int64_t ncells, tls_h5ctx *e, hid_t *cmp,
                            hid_t *cell) {
    const tls_config *c = L->c;
    int K = c->decide.compare.n;
    char names[TLS_MAX_COMPARE][64];
    const char *ptr[TLS_MAX_COMPARE];
    for (int k = 0; k < K; k++) {
        snprintf(names[k], sizeof(names[k]), "%s:%s", tls_method_names[c->decide.compare.v[k][0]],
                 tls_method_names[c->decide.compare.v[k][1]]);
        ptr[k] = names[k];
    }
    hsize_t nk = (hsize_t)K, nc = (hsize_t)ncells;
    hid_t st = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    int64_t *ids = NULL;
    TLS_H5TRY(e, st = tls_h5_str_vlen());
    TLS_H5TRY(e, sp = H5Screate_simple(1, &nk, NULL));
    TLS_H5TRY(e, *cmp = H5Dcreate2(f, "comparison", st, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    TLS_H5TRY(e, H5Dwrite(*cmp, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptr));
    TLS_H5TRY(e, H5DSset_scale(*cmp, "comparison"));
    TLS_H5TRY(e, tls_h5_attr_str(*cmp, "long_name",
                                 "pair of approaches A:B compared (decide.compare): the "
                                 "difference acc_A - acc_B"));
    H5Sclose(sp), sp = H5I_INVALID_HID;
    if (!tls_layout_is_cube(L)) {
        ids = malloc(sizeof(int64_t) * (ncells ? (size_t)ncells : 1));
        TLS_H5TRY(e, ids ? 0 : -1);
        for (int64_t j = 0; j < ncells; j++) ids[j] = tls_cells_id(L->part, j);
        TLS_H5TRY(e, sp = H5Screate_simple(1, &nc, NULL));
        TLS_H5TRY(e, *cell = H5Dcreate2(f, "cell", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                                        H5P_DEFAULT));
        if (ncells)
            TLS_H5TRY(e, H5Dwrite(*cell, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids));
        TLS_H5TRY(e, H5DSset_scale(*cell, "cell"));
        TLS_H5TRY(e, tls_h5_attr_str(*cell, "long_name",
                                     "linear index of the cell: the grid's point without its "
                                     "seed axis, row-major over the other axes"));
    }
    free(ids);
    H5Sclose(sp);
    H5Tclose(st);
    return TLS_OK;
fail:
    free(ids);
    if (sp >= 0) H5Sclose(sp);
    if (st >= 0) H5Tclose(st);
    return TLS_ERR_IO;
}

/* Every cell variable, from rank 0's replay. */
static int write_cell_vars(const tls_store_cells *x, hid_t f, const tls_layout *L, tls_h5ctx *e) {
    const tls_config *c = L->c;
    int K = c->decide.compare.n, nd = 0, rc = TLS_ERR_IO;
    hsize_t dims[TLS_MAX_AXES + 1];
    hid_t scales[TLS_MAX_AXES + 1], cmp = H5I_INVALID_HID, cell = H5I_INVALID_HID;
    for (int a = 0; a < TLS_MAX_AXES + 1; a++) scales[a] = H5I_INVALID_HID;
    double *buf = malloc(sizeof(double) * (size_t)(x->ncells * K + 1));
    TLS_H5TRY(e, buf ? 0 : -1);
    TLS_TRY(make_cell_scales(f, L, x->ncells, e, &cmp, &cell));
    if (tls_layout_is_cube(L)) {
        for (int a = 0; a < c->naxes; a++) {
            if (a == TLS_AXIS_SEED) continue;
            dims[nd] = (hsize_t)c->axis[a].n;
            TLS_H5TRY(e, scales[nd++] = H5Dopen2(f, c->axis[a].dim, H5P_DEFAULT));
        }
    } else {
        dims[nd] = (hsize_t)x->ncells;
        scales[nd++] = cell, cell = H5I_INVALID_HID;
    }
    dims[nd] = (hsize_t)K;
    scales[nd++] = cmp, cmp = H5I_INVALID_HID;
    for (int v = 0; v < tls_ncell_fields; v++) {
        const tls_cell_field *cf = &tls_cell_fields[v];
        for (int64_t j = 0; j < x->ncells; j++)
            for (int k = 0; k < K; k++)
                buf[j * K + k] =
                    tls_cell_field_value(cf, &x->out[j * K + k], x->stop[j], c->decide.round);
        hid_t d = H5I_INVALID_HID;
        TLS_TRY(make_cell_var(f, cf, nd, dims, scales, e, &d));
        herr_t w = x->ncells * K > 0
                       ? H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)
                       : 0;
        H5Dclose(d);
        TLS_H5TRY(e, w);
    }
    rc = TLS_OK;
fail:
    free(buf);
    for (int a = 0; a < nd; a++)
        if (scales[a] >= 0) H5Dclose(scales[a]);
    if (cmp >= 0) H5Dclose(cmp);
    if (cell >= 0) H5Dclose(cell);
    return rc;
}

/* The status of the configurations not needed (TLS_STATUS_NOT_NEEDED). */
static int write_not_needed(const tls_store_cells *x, hid_t f, const tls_layout *L, tls_h5ctx *e) {
    if (x->unneeded == 0) return TLS_OK;
    const tls_config *c = L->c;
    int nd = tls_layout_is_cube(L) ? c->naxes : 1, rc = TLS_ERR_IO;
    hsize_t *coords = malloc(sizeof(hsize_t) * (size_t)nd * (size_t)x->unneeded);
    int8_t *v = malloc((size_t)x->unneeded);
    hid_t d = H5I_INVALID_HID, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    TLS_H5TRY(e, coords && v ? 0 : -1);
    int64_t n = 0;
    for (int64_t pos = 0; pos < L->count; pos++) {
        if (!x->not_needed[pos]) continue;
        if (nd == 1) {
            coords[n] = (hsize_t)pos;
        } else {
            int64_t co[TLS_MAX_AXES];
            tls_grid_coords(c, tls_layout_index(L, pos), co);
            for (int a = 0; a < nd; a++) coords[n * nd + a] = (hsize_t)co[a];
        }
        v[n++] = TLS_STATUS_NOT_NEEDED;
    }
    hsize_t hn = (hsize_t)n;
    TLS_H5TRY(e, d = H5Dopen2(f, "status", H5P_DEFAULT));
    TLS_H5TRY(e, fs = H5Dget_space(d));
    TLS_H5TRY(e, H5Sselect_elements(fs, H5S_SELECT_SET, (size_t)n, coords));
    TLS_H5TRY(e, ms = H5Screate_simple(1, &hn, NULL));
    TLS_H5TRY(e, H5Dwrite(d, H5T_NATIVE_INT8, ms, fs, H5P_DEFAULT, v));
    rc = TLS_OK;
fail:
    free(coords), free(v);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (d >= 0) H5Dclose(d);
    return rc;
}

/* How the cells decided, in words: the rule, and the control across cells. */
static int write_rule(const tls_store_cells *x, hid_t f, const tls_config *c, tls_h5ctx *e) {
    char mult[256];
    if (c->decide.multiplicity == TLS_MULT_EBH)
        snprintf(mult, sizeof(mult),
                 "e-BH (Wang & Ramdas 2022) at alpha %g over the e-values of every measured cell "
                 "and comparison: %lld of %lld helps / hurts decisions kept, the others made "
                 "undecided",
                 c->decide.alpha, (long long)x->ebh_kept, (long long)x->ebh_signs);
    else
        snprintf(mult, sizeof(mult), "none: alpha %g per cell and comparison", c->decide.alpha);
    TLS_H5TRY(e, tls_h5_attr_str(f, "decide_rule", tls_cells_rule_text(c)));
    TLS_H5TRY(e, tls_h5_attr_str(f, "decide_multiplicity", mult));
    return TLS_OK;
fail:
    return TLS_ERR_IO;
}

int tls_store_cells_write(const tls_store_cells *x, hid_t f, const tls_layout *L, tls_h5ctx *e) {
    if (!x->on) return TLS_OK;
    TLS_TRY(write_rule(x, f, L->c, e));
    TLS_TRY(write_cell_vars(x, f, L, e));
    return write_not_needed(x, f, L, e);
}
