#include "h5util.h"
#include "store_int.h"
#include "tlsweep/bmap.h"
#include "tlsweep/check.h"
#include "tlsweep/comm.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A string scale of at most this many values is compact (in its header,
 * 16 bytes a value; HDF5 allows up to 64 KiB). */
#define TLS_COMPACT_STRINGS 2048

typedef struct {
    tls_h5ctx e;
    const tls_layout *L;
    const tls_store_info *info;
    int rank, nranks;
    MPI_Comm comm;
    hid_t file, group, dxpl;
    int nconf; /* configuration dims: naxes (cube) or 1 (list) */
    hsize_t conf_dims[TLS_MAX_AXES];
    hid_t conf_scale[TLS_MAX_AXES];
    hid_t trail_scale[TLS_NDIMS];
    hid_t hosts_scale;
    int nvars;
    tls_svar v[TLS_MAX_VARS];
    hid_t dset[TLS_MAX_VARS];
    hid_t config_var;                 /* list: the config index */
    hid_t aux[TLS_MAX_AXES];          /* list: the numeric axes' values along config */
    int no_coords;                    /* creating the auxiliary coordinates themselves */
    unsigned char *buf[TLS_MAX_VARS]; /* (round, elems) per variable: one round's values */
    int64_t round;                    /* positions per round */
    int64_t lo, hi, rounds;           /* this rank's block of positions; rounds of every rank */
    int64_t *idx, *auxbuf;            /* (round) the list's grid indices; an axis's values */
    tls_result *r;                    /* a record, created for the envelope */
    tls_store_counts cnt;             /* this rank's, then every rank's */
    int64_t nfail, capfail;           /* this rank's failed configurations: */
    int64_t *fpos;                    /* (nfail) positions */
    char (*freason)[112];             /* (nfail) reasons */
    tls_store_cells cells;            /* the decide modes' cells */
    int input;                        /* a record read was out of range (bad input) */
    uint32_t crc[TLS_MAX_VARS];       /* each variable's sum of this rank's block */
    uint32_t *allcrc;                 /* rank 0: (nranks, nvars) every rank's */
} writer;

/* Creates dataset `name` in loc with nd dims: attribute creation order
 * tracked (as netCDF-4 does), space allocated at once. Every entry is
 * written exactly once, so there is no fill pass; `fill` (may be NULL) is
 * the dataset's fill value, what readers mask. Variable-length strings,
 * which HDF5 must fill when it allocates, are filled with it (or ""); those
 * allocated at once (the string scales, a few KiB) are compact, kept in
 * the dataset's header: filled in memory, not by one rank writing between
 * two barriers, which leaves the other ranks waiting when that write fails
 * (HDF5 1.10). */
static int create_dataset(writer *w, hid_t loc, const char *name, hid_t ftype, int nd,
                          const hsize_t *dims, const void *fill, int early, hid_t *out) {
    static const char *const empty = "";
    int vlen = H5Tis_variable_str(ftype) > 0;
    if (vlen && !fill) fill = &empty;
    hid_t sp = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
    TLS_H5TRY(&w->e, sp = H5Screate_simple(nd, dims, NULL));
    TLS_H5TRY(&w->e, dcpl = H5Pcreate(H5P_DATASET_CREATE));
    TLS_H5TRY(&w->e,
              H5Pset_attr_creation_order(dcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED));
    TLS_H5TRY(&w->e, H5Pset_alloc_time(dcpl, early ? H5D_ALLOC_TIME_EARLY : H5D_ALLOC_TIME_LATE));
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    if (vlen && early && n >= 0 && n <= TLS_COMPACT_STRINGS)
        TLS_H5TRY(&w->e, H5Pset_layout(dcpl, H5D_COMPACT));
    TLS_H5TRY(&w->e, H5Pset_fill_time(dcpl, vlen ? H5D_FILL_TIME_IFSET : H5D_FILL_TIME_NEVER));
    if (fill) TLS_H5TRY(&w->e, H5Pset_fill_value(dcpl, ftype, fill));
    TLS_H5TRY(&w->e, d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5Pclose(dcpl);
    H5Sclose(sp);
    *out = d;
    return TLS_OK;
fail:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return TLS_ERR_IO;
}

/* Creates a variable with the configuration dims then `ntrail` trailing
 * dims, its scales attached, fill value, units and long_name. In the
 * parallel file (collective, space allocated at once), or, with `scales`
 * given, in the file rank 0 reopens alone (space allocated when written). */
static int make_var_in(writer *w, hid_t loc, const hid_t *given, hid_t *out, const char *name,
                       hid_t ftype, const void *fill, int ntrail, const int *trail,
                       const char *units, const char *long_name, const char *flag_values,
                       const char *flag_meanings) {
    hsize_t dims[TLS_MAX_AXES + 3] = {0};
    hid_t scales[TLS_MAX_AXES + 3] = {0};
    int nd = 0;
    for (int a = 0; a < w->nconf; a++)
        dims[nd] = w->conf_dims[a], scales[nd] = given ? given[a] : w->conf_scale[a], nd++;
    for (int t = 0; t < ntrail; t++)
        dims[nd] = (hsize_t)tls_layout_trail(w->L, trail[t]),
        scales[nd++] = w->trail_scale[trail[t]];
    hid_t d = H5I_INVALID_HID;
    TLS_TRY(create_dataset(w, loc, name, ftype, nd, dims, fill, !given, &d));
    for (int i = 0; i < nd; i++) TLS_H5TRY(&w->e, H5DSattach_scale(d, scales[i], (unsigned)i));
    TLS_H5TRY(&w->e, tls_h5_attr_write(d, "_FillValue", ftype, ftype, 0, fill));
    if (units) TLS_H5TRY(&w->e, tls_h5_attr_str(d, "units", units));
    if (long_name) TLS_H5TRY(&w->e, tls_h5_attr_str(d, "long_name", long_name));
    if (flag_values) TLS_H5TRY(&w->e, tls_h5_attr_flags(d, ftype, flag_values, flag_meanings));
    if (!tls_layout_is_cube(w->L) && !w->no_coords) {
        /* a part's list: the grid's axes are auxiliary coordinates along config */
        char coords[TLS_MAX_AXES * 66] = "";
        for (int a = 0; a < w->L->c->naxes; a++)
            if (w->L->c->axis[a].type != TLS_V_STR)
                snprintf(coords + strlen(coords), sizeof(coords) - strlen(coords), "%s%s",
                         coords[0] ? " " : "", w->L->c->axis[a].dim);
        if (coords[0]) TLS_H5TRY(&w->e, tls_h5_attr_str(d, "coordinates", coords));
    }
    *out = d;
    return TLS_OK;
fail:
    H5Dclose(d);
    return TLS_ERR_IO;
}

/* Collective: every rank learns whether rc is TLS_OK everywhere, so that a
 * rank whose write failed does not leave the others in a collective call. */
static int agreed(writer *w, int rc) {
    return tls_all_ok(w->comm, rc == TLS_OK) ? TLS_OK : rc ? rc : TLS_ERR_IO;
}

/* Collective: make_var_in in the parallel file, the outcome agreed. */
static int make_var(writer *w, hid_t loc, hid_t *out, const char *name, hid_t ftype,
                    const void *fill, int ntrail, const int *trail, const char *units,
                    const char *long_name, const char *flag_values, const char *flag_meanings) {
    return agreed(w, make_var_in(w, loc, NULL, out, name, ftype, fill, ntrail, trail, units,
                                 long_name, flag_values, flag_meanings));
}

/* A 1-D dimension scale `name` of n values; rank 0 writes numeric values
 * now (values NULL: written later). */
static int make_scale_here(writer *w, hid_t *out, const char *name, hid_t ftype, hid_t mtype,
                           hsize_t n, const void *values, const char *units,
                           const char *long_name) {
    hid_t d = H5I_INVALID_HID;
    TLS_TRY(create_dataset(w, w->file, name, ftype, 1, &n, NULL, 1, &d));
    TLS_H5TRY(&w->e, H5DSset_scale(d, name));
    if (units) TLS_H5TRY(&w->e, tls_h5_attr_str(d, "units", units));
    if (long_name) TLS_H5TRY(&w->e, tls_h5_attr_str(d, "long_name", long_name));
    if (values && n > 0) {
        /* independent write by rank 0; the others select nothing */
        hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, &n, NULL);
        int ok = fs >= 0 && ms >= 0;
        if (ok && w->rank != 0) ok = H5Sselect_none(fs) >= 0 && H5Sselect_none(ms) >= 0;
        if (ok) ok = H5Dwrite(d, mtype, ms, fs, w->dxpl, values) >= 0;
        if (ms >= 0) H5Sclose(ms);
        if (fs >= 0) H5Sclose(fs);
        if (!ok) {
            tls_h5_fail(&w->e, "H5Dwrite of a scale");
            goto fail;
        }
    }
    *out = d;
    return TLS_OK;
fail:
    H5Dclose(d);
    return TLS_ERR_IO;
}

/* Collective: make_scale_here, the outcome agreed. */
static int make_scale(writer *w, hid_t *out, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                      const void *values, const char *units, const char *long_name) {
    return agreed(w, make_scale_here(w, out, name, ftype, mtype, n, values, units, long_name));
}

static int index_scale(writer *w, int which, int first) {
    hsize_t n = (hsize_t)tls_layout_trail(w->L, which);
    int32_t *v = malloc(sizeof(int32_t) * (n ? n : 1));
    TLS_CHECK(v, TLS_ERR_NOMEM, "out of memory");
    for (hsize_t i = 0; i < n; i++) v[i] = (int32_t)i + first;
    int rc = make_scale(w, &w->trail_scale[which], tls_dim_names[which], H5T_STD_I32LE,
                        H5T_NATIVE_INT32, n, v, "1", tls_dim_long_names[which]);
    free(v);
    return rc;
}

static int create_scales(writer *w) {
    const tls_config *c = w->L->c;
    if (tls_layout_is_cube(w->L)) {
        w->nconf = c->naxes;
        for (int a = 0; a < c->naxes; a++) {
            const tls_axis *ax = &c->axis[a];
            w->conf_dims[a] = (hsize_t)ax->n;
            hid_t ft, mt;
            const void *vals;
            int32_t *i32 = NULL;
            int8_t *i8 = NULL;
            if (ax->type == TLS_V_REAL) {
                ft = H5T_IEEE_F64LE, mt = H5T_NATIVE_DOUBLE, vals = ax->num;
            } else if (ax->type == TLS_V_BOOL) {
                i8 = malloc((size_t)ax->n);
                TLS_CHECK(i8, TLS_ERR_NOMEM, "out of memory");
                for (int i = 0; i < ax->n; i++) i8[i] = (int8_t)ax->inum[i];
                ft = H5T_STD_I8LE, mt = H5T_NATIVE_INT8, vals = i8;
            } else if (ax->type == TLS_V_INT && a == TLS_AXIS_NTARGET) {
                i32 = malloc(sizeof(int32_t) * (size_t)ax->n);
                TLS_CHECK(i32, TLS_ERR_NOMEM, "out of memory");
                for (int i = 0; i < ax->n; i++) i32[i] = (int32_t)ax->inum[i];
                ft = H5T_STD_I32LE, mt = H5T_NATIVE_INT32, vals = i32;
            } else if (ax->type == TLS_V_INT) {
                ft = H5T_STD_I64LE, mt = H5T_NATIVE_INT64, vals = ax->inum;
            } else {
                ft = mt = H5I_INVALID_HID, vals = NULL;
            }
            hid_t st = ax->type == TLS_V_STR ? tls_h5_str_vlen() : H5I_INVALID_HID;
            int rc = make_scale(w, &w->conf_scale[a], ax->dim, st >= 0 ? st : ft, mt,
                                (hsize_t)ax->n, vals, ax->units, ax->long_name);
            if (st >= 0) H5Tclose(st);
            free(i32);
            free(i8);
            TLS_TRY(rc);
            if (a >= TLS_NAMED_AXES && tls_h5_attr_str(w->conf_scale[a], "key", ax->key_name) < 0)
                return TLS_ERR_IO;
            if (ax->type == TLS_V_BOOL &&
                (tls_h5_attr_str(w->conf_scale[a], "flag_meanings", "false true") < 0))
                return TLS_ERR_IO;
        }
    } else {
        w->nconf = 1;
        w->conf_dims[0] = (hsize_t)w->L->count;
        TLS_TRY(make_scale(w, &w->conf_scale[0], "config", H5T_STD_I64LE, H5T_NATIVE_INT64,
                           (hsize_t)w->L->count, NULL, "1",
                           "linear index of the configuration in the sweep's grid"));
        w->config_var = w->conf_scale[0];
    }
    hid_t st = tls_h5_str_vlen();
    if (st < 0) return TLS_ERR_IO;
    int rc = make_scale(w, &w->trail_scale[TLS_DIM_APPROACH], "approach", st, st, TLS_NMETHODS,
                        NULL, NULL, tls_dim_long_names[TLS_DIM_APPROACH]);
    if (rc == TLS_OK)
        rc = make_scale(w, &w->hosts_scale, "hosts", st, st,
                        (hsize_t)(w->info->nhosts > 0 ? w->info->nhosts : 1), NULL, NULL,
                        "hosts that computed configurations");
    H5Tclose(st);
    TLS_TRY(rc);
    TLS_TRY(index_scale(w, TLS_DIM_TRUE, 0));
    TLS_TRY(index_scale(w, TLS_DIM_PRED, 0));
    TLS_TRY(index_scale(w, TLS_DIM_EPOCH, 1));
    TLS_TRY(index_scale(w, TLS_DIM_FTEPOCH, 1));
    TLS_TRY(index_scale(w, TLS_DIM_TEPOCH, 1));
    if (w->L->c->embeddings) {
        TLS_TRY(index_scale(w, TLS_DIM_SPOINT, 0));
        TLS_TRY(index_scale(w, TLS_DIM_TPOINT, 0));
        TLS_TRY(index_scale(w, TLS_DIM_FEATURE, 0));
        TLS_TRY(index_scale(w, TLS_DIM_INDIM, 0));
    }
    return TLS_OK;
}

static int create_vars(writer *w) {
    w->nvars = tls_store_vars(w->L, w->v);
    if (w->L->c->embeddings) {
        hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
        if (gcpl < 0) return TLS_ERR_IO;
        H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        w->group = H5Gcreate2(w->file, "embeddings", H5P_DEFAULT, gcpl, H5P_DEFAULT);
        H5Pclose(gcpl);
        if (w->group < 0) tls_h5_fail(&w->e, "H5Gcreate2(embeddings)");
        TLS_TRY(agreed(w, w->group < 0 ? TLS_ERR_IO : TLS_OK));
    }
    for (int k = 0; k < w->nvars; k++) {
        const tls_svar *x = &w->v[k];
        const tls_field *d = x->d;
        TLS_TRY(make_var(w, d->embeddings ? w->group : w->file, &w->dset[k], x->name,
                         tls_h5_file_type(d->type), tls_h5_fill_of(d->type), d->ntrail, d->trail,
                         d->units, x->long_name, d->flag_values, d->flag_meanings));
    }
    if (!tls_layout_is_cube(w->L)) {
        w->no_coords = 1;
        for (int a = 0; a < w->L->c->naxes; a++) {
            const tls_axis *ax = &w->L->c->axis[a];
            if (ax->type == TLS_V_STR) continue;
            tls_ftype t = ax->type == TLS_V_REAL   ? TLS_T_F64
                          : ax->type == TLS_V_BOOL ? TLS_T_I8
                                                   : TLS_T_F64;
            hid_t ft = ax->type == TLS_V_INT ? H5T_STD_I64LE : tls_h5_file_type(t);
            static const int64_t fill64 = -1;
            TLS_TRY(make_var(w, w->file, &w->aux[a], ax->dim, ft,
                             ax->type == TLS_V_INT ? (const void *)&fill64 : tls_h5_fill_of(t), 0,
                             NULL, ax->units, ax->long_name, NULL, NULL));
        }
        w->no_coords = 0;
    }
    return TLS_OK;
}

static int host_index(const tls_store_info *info, const char *host) {
    if (!host[0]) return -1;
    for (int h = 0; h < info->nhosts; h++)
        if (!strcmp(info->hosts[h], host)) return h;
    return -1;
}

/* Root attributes. Collective (every rank writes the same values). */
static int write_attrs(writer *w, const tls_store_counts *cnt) {
    const tls_store_info *in = w->info;
    const tls_config *c = w->L->c;
    hid_t f = w->file;
    char hash[32], buf[64];
    snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)in->config_hash);
    const tls_runs *runs = in->runs;
    int nr = runs ? runs->n : 0;
    const char *title = "tlsweep: when does transferring from a source domain help? A sweep of "
                        "the scratch SVM, the direct SVM and the MMD-adapted MLP";
    /* history (CF): one line per run, oldest first */
    size_t hl = 1;
    for (int i = 0; i < nr; i++)
        hl += strlen(runs->run[i].field[0]) + strlen(runs->run[i].field[2]) + 4;
    char *history = calloc(hl, 1);
    TLS_CHECK(history, TLS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nr; i++)
        snprintf(history + strlen(history), hl - strlen(history), "%s%s: %s", i ? "\n" : "",
                 runs->run[i].field[0], runs->run[i].field[2]);
    int rc = 0;
    rc |= tls_h5_attr_str(f, "title", title);
    rc |= tls_h5_attr_str(f, "Conventions", "CF-1.10");
    rc |= tls_h5_attr_str(f, "history", history);
    rc |= tls_h5_attr_str(f, "source", "tlsweep (https://github.com/tlsweep)");
    rc |= tls_h5_attr_str(f, "format", "tlsweep-results-2 (docs/FORMAT.md)");
    rc |= tls_h5_attr_str(f, "layout", tls_layout_is_cube(w->L) ? "cube" : "part list");
    snprintf(buf, sizeof(buf), "%d/%d", w->L->part.k, w->L->part.n);
    rc |= tls_h5_attr_str(f, "part", buf);
    rc |= tls_h5_attr_str(f, "config_yaml", in->config_yaml);
    rc |= tls_h5_attr_str(f, "config_hash", hash);
    rc |= tls_h5_attr_str(f, "config_source", in->config_source);
    rc |= tls_h5_attr_str(f, "data_mode", in->data_mode);
    if (in->data_source) {
        char crc[16];
        rc |= tls_h5_attr_str(f, "data_source", in->data_source);
        snprintf(crc, sizeof(crc), "%08x", (unsigned)in->data_crc[0]);
        rc |= tls_h5_attr_str(f, "data_source_crc32", crc);
        rc |= tls_h5_attr_str(f, "data_target", in->data_target);
        snprintf(crc, sizeof(crc), "%08x", (unsigned)in->data_crc[1]);
        rc |= tls_h5_attr_str(f, "data_target_crc32", crc);
    }
    free(history);
    rc |= tls_h5_attr_str(f, "started", nr ? runs->run[0].field[0] : "");
    rc |= tls_h5_attr_str(f, "finished", nr ? runs->run[nr - 1].field[1] : "");
    rc |= tls_h5_attr_i64(f, "nranks", w->nranks);
    rc |= tls_h5_attr_i64(f, "runs", nr);
    rc |= tls_h5_attr_i64(f, "n_configs", w->L->count);
    rc |= tls_h5_attr_i64(f, "n_grid", c->grid_size);
    rc |= tls_h5_attr_i64(f, "n_done", cnt->done);
    rc |= tls_h5_attr_i64(f, "n_failed", cnt->failed);
    rc |= tls_h5_attr_i64(f, "n_pending", cnt->pending);
    rc |= tls_h5_attr_i64(f, "complete", cnt->pending == 0);
    if (c->decide.mode != TLS_MODE_GRID) {
        rc |= tls_h5_attr_i64(f, "n_not_needed", cnt->not_needed);
        rc |= tls_h5_attr_str(f, "decide_mode", tls_mode_names[c->decide.mode]);
        if (c->decide.mode == TLS_MODE_BOUNDARY)
            rc |= tls_h5_attr_str(f, "decide_inference", tls_bmap_rule_text);
    }
    for (int fld = 0; fld < TLS_RUN_FIELDS && nr > 0; fld++) {
        const char **col = malloc(sizeof(char *) * (size_t)nr);
        TLS_CHECK(col, TLS_ERR_NOMEM, "out of memory");
        for (int i = 0; i < nr; i++) col[i] = runs->run[i].field[fld];
        char name[48];
        snprintf(name, sizeof(name), "run_%s", tls_run_field_names[fld]);
        rc |= tls_h5_attr_strs(f, name, col, nr);
        free(col);
    }
    for (int i = 0; i < 12 && in->versions[i][0]; i++)
        rc |= tls_h5_attr_str(f, in->versions[i][0], in->versions[i][1]);
    if (rc) {
        tls_h5_fail(&w->e, "H5Awrite(root attributes)");
        return TLS_ERR_IO;
    }
    return TLS_OK;
}

/* Rank 0, after the parallel phase: the variable-length strings. */
static int write_strings(writer *w, const int64_t *fpos, char (*freason)[112], int64_t nfail) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f = H5I_INVALID_HID, d = H5I_INVALID_HID;
    hid_t st = H5I_INVALID_HID, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    hsize_t *coords = NULL;
    const char **ptr = NULL;
    int rc = TLS_ERR_IO;
    TLS_H5TRY(&w->e, fapl);
    TLS_H5TRY(&w->e, f = H5Fopen(w->e.path, H5F_ACC_RDWR, fapl));
    TLS_H5TRY(&w->e, st = tls_h5_str_vlen());
    const tls_config *c = w->L->c;
    if (tls_layout_is_cube(w->L))
        for (int a = 0; a < c->naxes; a++) {
            if (c->axis[a].type != TLS_V_STR) continue;
            TLS_H5TRY(&w->e, d = H5Dopen2(f, c->axis[a].dim, H5P_DEFAULT));
            TLS_H5TRY(&w->e, H5Dwrite(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->axis[a].text));
            H5Dclose(d), d = H5I_INVALID_HID;
        }
    TLS_H5TRY(&w->e, d = H5Dopen2(f, "approach", H5P_DEFAULT));
    TLS_H5TRY(&w->e, H5Dwrite(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, tls_method_names));
    H5Dclose(d), d = H5I_INVALID_HID;
    TLS_H5TRY(&w->e, d = H5Dopen2(f, "hosts", H5P_DEFAULT));
    static const char *const none[] = {""};
    TLS_H5TRY(&w->e, H5Dwrite(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                              w->info->nhosts > 0 ? w->info->hosts : none));
    H5Dclose(d), d = H5I_INVALID_HID;
    /* the reasons: a string per configuration, created here, in the file
     * rank 0 has alone: its space is allocated only when a reason is
     * written (parallel HDF5 would allocate and fill it at creation) */
    hid_t scales[TLS_MAX_AXES] = {0};
    int nsc = 0;
    for (int a = 0; a < w->nconf; a++) {
        const char *dim = tls_layout_is_cube(w->L) ? c->axis[a].dim : "config";
        TLS_H5TRY(&w->e, scales[a] = H5Dopen2(f, dim, H5P_DEFAULT));
        nsc++;
    }
    static const char *const empty = "";
    hid_t reason = H5I_INVALID_HID;
    int made = make_var_in(w, f, scales, &reason, "reason", st, &empty, 0, NULL, NULL,
                           "why a method or distance failed (method: cause); empty when not failed",
                           NULL, NULL);
    for (int a = 0; a < nsc; a++) H5Dclose(scales[a]);
    if (made != TLS_OK) goto fail;
    H5Dclose(reason);
    if (tls_store_cells_write(&w->cells, f, w->L, &w->e) != TLS_OK ||
        tls_store_sum_write(f, w->L, w->info->config_hash, w->v, w->nvars, w->allcrc, w->nranks,
                            fpos, freason, nfail, &w->e) != TLS_OK)
        goto fail;
    if (nfail > 0) {
        /* the failed configurations' reasons: a point selection */
        int nd = w->nconf;
        coords = malloc(sizeof(hsize_t) * (size_t)nd * (size_t)nfail);
        ptr = malloc(sizeof(char *) * (size_t)nfail);
        TLS_CHECK(coords && ptr, TLS_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < nfail; i++) {
            if (tls_layout_is_cube(w->L)) {
                int64_t co[TLS_MAX_AXES];
                tls_grid_coords(c, fpos[i], co);
                for (int a = 0; a < nd; a++) coords[i * nd + a] = (hsize_t)co[a];
            } else {
                coords[i] = (hsize_t)fpos[i];
            }
            ptr[i] = freason[i];
        }
        hsize_t n = (hsize_t)nfail;
        TLS_H5TRY(&w->e, d = H5Dopen2(f, "reason", H5P_DEFAULT));
        TLS_H5TRY(&w->e, fs = H5Dget_space(d));
        TLS_H5TRY(&w->e, H5Sselect_elements(fs, H5S_SELECT_SET, (size_t)nfail, coords));
        TLS_H5TRY(&w->e, ms = H5Screate_simple(1, &n, NULL));
        TLS_H5TRY(&w->e, H5Dwrite(d, st, ms, fs, H5P_DEFAULT, ptr));
    }
    rc = TLS_OK;
fail:
    free(coords);
    free(ptr);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (d >= 0) H5Dclose(d);
    if (st >= 0) H5Tclose(st);
    if (f >= 0 && rc != TLS_OK) tls_h5_discard(w->e.path); /* closing must not fail */
    if (f >= 0 && H5Fclose(f) < 0) {
        tls_h5_close_failed();
        if (rc == TLS_OK) tls_h5_fail(&w->e, "H5Fclose(strings)");
        rc = TLS_ERR_IO;
    }
    if (fapl >= 0) H5Pclose(fapl);
    return rc;
}

int tls_store_hints(MPI_Info *info, const char *spec, char *err) {
    *info = MPI_INFO_NULL;
    if (!spec || !*spec) return TLS_OK;
    char buf[1024];
    if (strlen(spec) >= sizeof(buf))
        return tls_input_error(err, "TLSWEEP_MPIIO_HINTS", "(environment)",
                               "%zu characters, longer than %zu; allowed: fewer KEY=VALUE pairs, "
                               "e.g. romio_cb_write=enable,striping_factor=8",
                               strlen(spec), sizeof(buf) - 1);
    snprintf(buf, sizeof(buf), "%s", spec);
    MPI_Info_create(info);
    char *save = NULL;
    for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv || eq[1] == '\0') {
            MPI_Info_free(info);
            return tls_input_error(err, "TLSWEEP_MPIIO_HINTS", "(environment)",
                                   "'%s' is not KEY=VALUE; allowed: e.g. "
                                   "romio_cb_write=enable,striping_factor=8",
                                   kv);
        }
        *eq = '\0';
        MPI_Info_set(*info, kv, eq + 1);
    }
    return TLS_OK;
}

/* Closes every HDF5 object the writer opened, the file last. */
static int writer_close(writer *w, int ok) {
    int rc = TLS_OK;
    /* a file that cannot be flushed (disk full) must not reach H5Fclose
     * unwritable: HDF5 1.10 leaves a half-closed file behind a failed close,
     * which crashes when MPI_Finalize ends the library. Flush first; when
     * anything failed, the file is worthless: what closing writes goes to
     * memory (tls_h5_discard; else the file is emptied, which makes room on
     * a full disk) and the file is removed after */
    if (ok && w->file >= 0 && H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0) {
        tls_h5_fail(&w->e, "H5Fflush(results file)");
        ok = 0;
    }
    ok = tls_all_ok(w->comm, ok);
    if (!ok && w->file >= 0) {
        rc = TLS_ERR_IO;
        int diverted = tls_h5_discard(w->e.path) > 0;
        if (!tls_all_ok(w->comm, diverted) && w->rank == 0 && truncate(w->e.path, 0) != 0) {
        } /* closing still tries */
    }
    for (int k = 0; k < w->nvars; k++)
        if (w->dset[k] >= 0) H5Dclose(w->dset[k]);
    for (int a = 0; a < TLS_MAX_AXES; a++) {
        if (w->conf_scale[a] >= 0) H5Dclose(w->conf_scale[a]);
        if (w->aux[a] >= 0) H5Dclose(w->aux[a]);
    }
    for (int t = 0; t < TLS_NDIMS; t++)
        if (w->trail_scale[t] >= 0) H5Dclose(w->trail_scale[t]);
    if (w->hosts_scale >= 0) H5Dclose(w->hosts_scale);
    if (w->group >= 0) H5Gclose(w->group);
    if (w->dxpl >= 0) H5Pclose(w->dxpl);
    if (w->file >= 0) {
        if (H5Fclose(w->file) < 0) {
            tls_h5_close_failed();
            tls_h5_fail(&w->e, "H5Fclose(results file)");
            rc = TLS_ERR_IO;
        }
        w->file = H5I_INVALID_HID;
        if (rc != TLS_OK) {
            MPI_Barrier(w->comm);
            if (w->rank == 0) unlink(w->e.path);
        }
    }
    for (int k = 0; k < TLS_MAX_VARS; k++) free(w->buf[k]);
    return rc;
}

/* Rank 0: reserves the disk space the file will take (its variables plus
 * a margin for metadata) by allocating it to the file itself, which
 * H5Fcreate then truncates and fills. */
static int reserve(tls_h5ctx *e, const tls_layout *L) {
    double bytes = tls_store_bytes_per_config(L) * (double)L->count * 1.02 + (1 << 20);
    int fd = open(e->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? errno : posix_fallocate(fd, 0, (off_t)bytes);
    if (fd >= 0) close(fd);
    if (rc == EOPNOTSUPP || rc == ENOSYS || rc == EINVAL) return TLS_OK; /* no preallocation here */
    if (rc == 0) return TLS_OK;
    unlink(e->path);
    snprintf(e->msg, sizeof(e->msg), "%s (it needs about %.1f MiB)", strerror(rc),
             bytes / 1048576.0);
    return TLS_ERR_IO;
}

/* A writer for path with every handle invalid. */
static writer *writer_new(const char *path, MPI_Comm comm, const tls_layout *L,
                          const tls_store_info *info) {
    writer *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->e.path = path;
    w->L = L;
    w->info = info;
    w->comm = comm;
    w->rank = tls_comm_rank(comm);
    w->nranks = tls_comm_size(comm);
    w->file = w->group = w->dxpl = w->hosts_scale = H5I_INVALID_HID;
    w->config_var = H5I_INVALID_HID;
    for (int a = 0; a < TLS_MAX_AXES; a++) w->conf_scale[a] = w->aux[a] = H5I_INVALID_HID;
    for (int t = 0; t < TLS_NDIMS; t++) w->trail_scale[t] = H5I_INVALID_HID;
    for (int k = 0; k < TLS_MAX_VARS; k++) w->dset[k] = H5I_INVALID_HID;
    return w;
}

/* Collective: creates the file with its MPI-IO hints (every rank agrees on
 * the outcome), then its scales and variables. 1 when it went well here. */
static int create_file(writer *w, const char *path) {
    int ok = 1;
    hid_t fapl = H5I_INVALID_HID, fcpl = H5I_INVALID_HID;
    MPI_Info hints = MPI_INFO_NULL;
    char err[TLS_ERRMSG];
    if (tls_store_hints(&hints, w->info->hints, err) != TLS_OK) {
        snprintf(w->e.msg, sizeof(w->e.msg), "%s", err);
        ok = 0;
    }
    if (ok) {
        fapl = H5Pcreate(H5P_FILE_ACCESS);
        fcpl = H5Pcreate(H5P_FILE_CREATE);
        ok = fapl >= 0 && fcpl >= 0 && H5Pset_fapl_mpio(fapl, w->comm, hints) >= 0 &&
             H5Pset_coll_metadata_write(fapl, 1) >= 0 &&
             H5Pset_all_coll_metadata_ops(fapl, 1) >= 0 &&
             H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0 &&
             H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0;
        if (ok) w->file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
        if (!ok || w->file < 0) {
            tls_h5_fail(&w->e, "H5Fcreate(results file)");
            ok = 0;
        }
    }
    if (hints != MPI_INFO_NULL) MPI_Info_free(&hints);
    if (fapl >= 0) H5Pclose(fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    if (!tls_all_ok(w->comm, ok)) return 0;
    w->dxpl = H5Pcreate(H5P_DATASET_XFER);
    ok = w->dxpl >= 0 && H5Pset_dxpl_mpio(w->dxpl, H5FD_MPIO_COLLECTIVE) >= 0;
    return ok && create_scales(w) == TLS_OK && create_vars(w) == TLS_OK;
}

/* Collective: this rank's block of positions and the buffers of a round
 * (8 MiB per rank). 1 when allocated here. */
static int alloc_rounds(writer *w) {
    tls_store_block(w->L->count, w->rank, w->nranks, &w->lo, &w->hi);
    size_t per = 8; /* the list's config index */
    for (int k = 0; k < w->nvars; k++) per += (size_t)w->v[k].elems * w->v[k].esize;
    w->round = (int64_t)((8u << 20) / per);
    if (w->round < 1) w->round = 1;
    int64_t mine = (w->hi - w->lo + w->round - 1) / w->round;
    TLS_MPI(w->comm, MPI_Allreduce(&mine, &w->rounds, 1, MPI_INT64_T, MPI_MAX, w->comm));
    int64_t rn = w->hi - w->lo < w->round ? w->hi - w->lo : w->round;
    size_t n = (size_t)(rn > 0 ? rn : 1);
    int ok = 1;
    for (int k = 0; k < w->nvars && ok; k++) {
        w->buf[k] = malloc(n * (size_t)w->v[k].elems * w->v[k].esize + 1);
        ok = w->buf[k] != NULL;
    }
    w->idx = malloc(sizeof(int64_t) * n);
    w->auxbuf = malloc(sizeof(int64_t) * n);
    ok = ok && w->idx && w->auxbuf && tls_store_cells_init(&w->cells, w->L, w->lo, w->hi) == TLS_OK;
    if (!ok) snprintf(w->e.msg, sizeof(w->e.msg), "out of memory for the write buffers");
    return ok;
}

/* Notes position p as failed, with its reason (sent to rank 0 at the end). */
static int note_failure(writer *w, int64_t p) {
    if (w->nfail == w->capfail) {
        w->capfail = w->capfail ? 2 * w->capfail : 64;
        int64_t *np = realloc(w->fpos, sizeof(int64_t) * (size_t)w->capfail);
        if (np) w->fpos = np;
        char(*nr)[112] = realloc(w->freason, 112 * (size_t)w->capfail);
        if (nr) w->freason = nr;
        if (!np || !nr) {
            snprintf(w->e.msg, sizeof(w->e.msg), "out of memory");
            return 0;
        }
    }
    w->fpos[w->nfail] = p;
    memcpy(w->freason[w->nfail], w->r->s.reason, 112);
    w->freason[w->nfail][111] = '\0';
    w->nfail++;
    return 1;
}

/* Positions [a, b) from src into the round buffers, counted. 1 when read. */
static int pack_round(writer *w, const tls_record_source *src, int64_t a, int64_t b) {
    if (b > a && src->prepare && src->prepare(src->ctx, a, b) != TLS_OK) {
        snprintf(w->e.msg, sizeof(w->e.msg), "cannot read the results to write");
        return 0;
    }
    tls_record_meta meta;
    for (int64_t p = a; p < b; p++) {
        int have = 0;
        memset(&meta, 0, sizeof(meta));
        int rc = src->get(src->ctx, p, &meta, w->r, &have);
        if (rc == TLS_ERR_INPUT && src->why) { /* a record out of range: one line, bad input */
            snprintf(w->e.msg, sizeof(w->e.msg), "%s", src->why(src->ctx));
            w->input = 1;
            return 0;
        }
        if (rc != TLS_OK) {
            snprintf(w->e.msg, sizeof(w->e.msg), "cannot read the result of configuration %lld",
                     (long long)tls_layout_index(w->L, p));
            return 0;
        }
        if (!have) {
            tls_result_fill(w->r);
            memset(&meta, 0, sizeof(meta));
            meta.rank = -1;
            meta.seconds = NAN;
            w->cnt.pending++;
        } else if (w->r->s.status == TLS_STATUS_DONE) {
            w->cnt.done++;
        } else {
            w->cnt.failed++;
            if (!note_failure(w, p)) return 0;
        }
        tls_store_cells_note(&w->cells, p, w->r, have);
        w->idx[p - a] = tls_layout_index(w->L, p);
        tls_store_frame_copy(w->v, w->nvars, w->buf, p - a, &meta, w->r,
                             host_index(w->info, meta.host), NULL, 1);
    }
    return 1;
}

/* A part's list: the config index and the numeric axes' values of
 * positions [wa, wb) along config. */
static herr_t write_list_coords(writer *w, int64_t wa, int64_t wb) {
    const tls_layout *L = w->L;
    herr_t e = tls_store_var_io(w->config_var, 1, H5T_NATIVE_INT64, w->dxpl, L, 1, w->conf_dims, 0,
                                NULL, 1, wa, wb, w->idx);
    for (int a = 0; a < L->c->naxes && e >= 0; a++) {
        const tls_axis *ax = &L->c->axis[a];
        if (w->aux[a] < 0) continue;
        for (int64_t p = 0; p < wb - wa; p++) {
            int64_t co[TLS_MAX_AXES];
            tls_grid_coords(L->c, tls_layout_index(L, wa + p), co);
            if (ax->type == TLS_V_REAL)
                memcpy(&w->auxbuf[p], &ax->num[co[a]], 8);
            else
                w->auxbuf[p] = ax->inum[co[a]];
        }
        e = tls_store_var_io(w->aux[a], 1,
                             ax->type == TLS_V_REAL ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, w->dxpl,
                             L, 1, w->conf_dims, 0, NULL, 1, wa, wb, w->auxbuf);
    }
    return e;
}

/* Collective: one collective write per variable of positions [wa, wb)
 * (a rank that failed passes an empty range). 1 when it went well here. */
static int write_round(writer *w, int64_t wa, int64_t wb, int ok) {
    for (int k = 0; k < w->nvars; k++) {
        if (w->v[k].elems == 0) continue; /* a dimension of length 0: nothing to write */
        hsize_t trail[3];
        tls_store_trail_dims(w->L, w->v[k].d, trail);
        herr_t e = tls_store_var_io(w->dset[k], 1, tls_h5_mem_type(w->v[k].d->type), w->dxpl, w->L,
                                    w->nconf, w->conf_dims, w->v[k].d->ntrail, trail, w->v[k].elems,
                                    wa, wb, w->buf[k]);
        if (e < 0 && ok) {
            char call[96];
            snprintf(call, sizeof(call), "H5Dwrite of %s", w->v[k].name);
            tls_h5_fail(&w->e, call);
            ok = 0;
        }
    }
    if (!tls_layout_is_cube(w->L) && write_list_coords(w, wa, wb) < 0 && ok) {
        tls_h5_fail(&w->e, "H5Dwrite(config)");
        ok = 0;
    }
    return ok;
}

/* Collective: every round of this rank's block, then the counts of every
 * rank and the root attributes. 1 when all went well everywhere. */
static int write_records(writer *w, const tls_record_source *src) {
    int ok = 1;
    for (int64_t q = 0; q < w->rounds; q++) {
        int64_t a = w->lo + q * w->round, b = a + w->round < w->hi ? a + w->round : w->hi;
        if (a > w->hi) a = w->hi;
        tls_store_sum_job sum = {.running = 0};
        if (ok) ok = pack_round(w, src, a, b);
        if (ok) tls_store_sum_start(&sum, w->crc, w->v, w->nvars, w->buf, b - a);
        ok = write_round(w, ok ? a : 0, ok ? b : 0, ok); /* a rank that failed writes nothing */
        tls_store_sum_wait(&sum);
        if (!tls_all_ok(w->comm, ok)) return 0;
    }
    w->allcrc = w->rank == 0 ? malloc(sizeof(uint32_t) * (size_t)(w->nranks * w->nvars + 1)) : NULL;
    if (!tls_all_ok(w->comm, w->rank != 0 || w->allcrc)) return 0;
    TLS_MPI(w->comm, MPI_Gather(w->crc, w->nvars, MPI_UINT32_T, w->allcrc, w->nvars, MPI_UINT32_T,
                                0, w->comm));
    int64_t local[3] = {w->cnt.done, w->cnt.failed, w->cnt.pending}, total[3];
    TLS_MPI(w->comm, MPI_Allreduce(local, total, 3, MPI_INT64_T, MPI_SUM, w->comm));
    w->cnt.done = total[0], w->cnt.failed = total[1], w->cnt.pending = total[2];
    tls_store_cells_decide(&w->cells, w->comm, w->L);
    w->cnt.not_needed = w->cells.unneeded;
    w->cnt.pending -= w->cells.unneeded;
    return tls_all_ok(w->comm, write_attrs(w, &w->cnt) == TLS_OK);
}

/* Collective: the failed configurations' positions and reasons, on rank 0. */
static void gather_failures(writer *w, int64_t **gpos, char (**greason)[112], int64_t *gfail) {
    int nf = (int)w->nfail, *fcounts = NULL, *fdispl = NULL, *rcounts = NULL, *rdispl = NULL;
    if (w->rank == 0) {
        fcounts = calloc((size_t)w->nranks, sizeof(int));
        fdispl = calloc((size_t)w->nranks, sizeof(int));
        rcounts = calloc((size_t)w->nranks, sizeof(int));
        rdispl = calloc((size_t)w->nranks, sizeof(int));
        if (!fcounts || !fdispl || !rcounts || !rdispl)
            tls_comm_abort(w->comm, TLS_EXIT_FAILURE, "out of memory for the failures' reasons");
    }
    TLS_MPI(w->comm, MPI_Gather(&nf, 1, MPI_INT, fcounts, 1, MPI_INT, 0, w->comm));
    if (w->rank == 0) {
        for (int i = 0; i < w->nranks; i++) {
            fdispl[i] = (int)*gfail;
            rcounts[i] = 112 * fcounts[i];
            rdispl[i] = 112 * (int)*gfail;
            *gfail += fcounts[i];
        }
        *gpos = malloc(sizeof(int64_t) * (size_t)(*gfail + 1));
        *greason = malloc(112 * (size_t)(*gfail + 1));
        if (!*gpos || !*greason)
            tls_comm_abort(w->comm, TLS_EXIT_FAILURE, "out of memory for the failures' reasons");
    }
    TLS_MPI(w->comm,
            MPI_Gatherv(w->fpos, nf, MPI_INT64_T, *gpos, fcounts, fdispl, MPI_INT64_T, 0, w->comm));
    TLS_MPI(w->comm, MPI_Gatherv(w->freason, 112 * nf, MPI_CHAR, *greason, rcounts, rdispl,
                                 MPI_CHAR, 0, w->comm));
    free(fcounts), free(fdispl), free(rcounts), free(rdispl);
}

/* Collective: one line for a failed write, from the lowest rank that knows
 * a cause, else the lowest that failed; TLS_ERR_INPUT when a record read was
 * out of range (its line says so), else TLS_ERR_IO. */
static int report_failure(writer *w, const char *path) {
    int input = !tls_all_ok(w->comm, !w->input);
    if (input) { /* the lowest rank that refused a record says why */
        int mine = w->input ? w->rank : w->nranks, first;
        TLS_MPI(w->comm, MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, w->comm));
        if (w->rank == first) fprintf(stderr, "tlsweep: %s\n", w->e.msg);
        return TLS_ERR_INPUT;
    }
    int rank_known = w->e.msg[0] && !strstr(w->e.msg, "no cause") ? w->rank : w->nranks;
    int rank_any = w->e.msg[0] ? w->rank : w->nranks, first_known, first_any;
    TLS_MPI(w->comm, MPI_Allreduce(&rank_known, &first_known, 1, MPI_INT, MPI_MIN, w->comm));
    TLS_MPI(w->comm, MPI_Allreduce(&rank_any, &first_any, 1, MPI_INT, MPI_MIN, w->comm));
    if (w->rank == (first_known < w->nranks ? first_known : first_any))
        fprintf(stderr, "tlsweep: rank %d: cannot write %s: %s\n", w->rank, path, w->e.msg);
    return TLS_ERR_IO;
}

/* How long a rank whose write failed waits for the others inside HDF5
 * (TLSWEEP_HDF5_WAIT_SECONDS, default 60). */
static double wait_seconds(void) {
    const char *v = getenv("TLSWEEP_HDF5_WAIT_SECONDS");
    double s = v ? atof(v) : 0;
    return s > 0 ? s : 60;
}

int tls_store_write(const char *path, MPI_Comm comm, const tls_layout *L,
                    const tls_store_info *info, const tls_record_source *src,
                    tls_store_counts *counts) {
    writer *w = writer_new(path, comm, L, info);
    TLS_CHECK(tls_all_ok(comm, w != NULL), TLS_ERR_NOMEM, "out of memory");
    H5E_auto2_t efunc;
    void *edata;
    H5Eget_auto2(H5E_DEFAULT, &efunc, &edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* failures become one line, not a stack dump */
    tls_h5_captured cap;
    tls_h5_capture_begin(&cap);
    tls_h5_watch watch;
    tls_h5_watch_start(&watch, &w->e, &cap, w->rank, wait_seconds());
    int64_t *gpos = NULL, gfail = 0;
    char(*greason)[112] = NULL;
    int ok = tls_result_create(&w->r, &L->env) == TLS_OK;
    /* the space first, before HDF5 writes anything: a disk that fills up
     * under HDF5 leaves a file it can neither flush nor close */
    if (ok && w->rank == 0) ok = reserve(&w->e, L) == TLS_OK;
    ok = tls_all_ok(comm, ok) && tls_all_ok(comm, create_file(w, path)) &&
         tls_all_ok(comm, alloc_rounds(w)) && write_records(w, src);
    if (ok) gather_failures(w, &gpos, &greason, &gfail);
    ok = tls_all_ok(comm, ok);
    if (writer_close(w, ok) != TLS_OK) ok = 0;
    ok = tls_all_ok(comm, ok);
    if (ok && w->rank == 0) ok = write_strings(w, gpos, greason, gfail) == TLS_OK;
    ok = tls_all_ok(comm, ok); /* every rank is past HDF5's collective calls */
    tls_h5_watch_stop(&watch);
    tls_h5_capture_end(&cap);
    int rc = ok ? TLS_OK : report_failure(w, path);
    H5Eset_auto2(H5E_DEFAULT, efunc, edata);
    if (counts) *counts = w->cnt;
    tls_result_destroy(&w->r);
    free(w->fpos), free(w->freason), free(w->idx), free(w->auxbuf), free(gpos), free(greason);
    free(w->allcrc);
    tls_store_cells_free(&w->cells);
    free(w);
    return rc;
}
