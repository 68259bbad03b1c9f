#define _GNU_SOURCE /* memfd_create */
#include "tlsweep/store.h"

#include "tlsweep/check.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the layout ------------------------------------------------------------ */

void tls_layout_init(tls_layout *L, const tls_config *c, const tls_engine_params *env,
                     tls_part part) {
    L->c = c;
    L->env = *env;
    L->part = part;
    L->count = tls_part_count(c->grid_size, part);
}

static int is_cube(const tls_layout *L) {
    return L->part.n == 1;
}

void tls_store_block(int64_t count, int rank, int nranks, int64_t *lo, int64_t *hi) {
    *lo = count * rank / nranks;
    *hi = count * (rank + 1) / nranks;
}

/* ---- the variables --------------------------------------------------------- */

enum { MAX_VARS = TLS_MAX_VARS };

/* One variable of a file: a definition, for one method where per_method. */
typedef struct {
    const tls_field *d;
    int method;
    char name[64];
    char long_name[256];
    int64_t elems; /* values per configuration */
    size_t esize;  /* bytes per value in the file */
} var;

static size_t esize_of(tls_ftype t) {
    return t == TLS_T_F64 ? 8 : t == TLS_T_I8 ? 1 : 4;
}

static int64_t trail_len(const tls_layout *L, int d) {
    return tls_dim_len(&L->env, d);
}

/* The variables of layout L, in file order. */
static int vars_of(const tls_layout *L, var *v) {
    int n = 0;
    for (int k = 0; k < tls_nfields; k++) {
        const tls_field *d = &tls_fields[k];
        if (d->embeddings && !L->c->embeddings) continue;
        for (int m = 0; m < (d->per_method ? TLS_NMETHODS : 1); m++) {
            var *x = &v[n++];
            memset(x, 0, sizeof(*x));
            x->d = d;
            x->method = d->per_method ? m : -1;
            snprintf(x->name, sizeof(x->name), d->name, tls_method_names[m]);
            snprintf(x->long_name, sizeof(x->long_name), d->long_name, tls_method_names[m]);
            x->elems = 1;
            for (int t = 0; t < d->ntrail; t++) x->elems *= trail_len(L, d->trail[t]);
            x->esize = esize_of(d->type);
        }
    }
    return n;
}

/* Where var x's values of one configuration are in a record, and their
 * element size in memory. */
static void *record_field(const var *x, tls_record_meta *meta, tls_result *r, size_t *msize) {
    const tls_field *d = x->d;
    *msize = d->mem_int32 ? 4 : x->esize;
    switch (d->from) {
    case TLS_SRC_SCALARS:
        return (char *)&r->s + d->off + (x->method >= 0 ? (size_t)x->method * *msize : 0);
    case TLS_SRC_META:
        return (char *)meta + d->off;
    case TLS_SRC_ARRAY:
        return tls_result_array(r, (int)d->off);
    default:
        return NULL; /* TLS_SRC_HOST */
    }
}

double tls_store_bytes_per_config(const tls_layout *L) {
    var v[MAX_VARS];
    int n = vars_of(L, v);
    double b = 16; /* reason and bookkeeping */
    for (int k = 0; k < n; k++) b += (double)v[k].elems * (double)v[k].esize;
    return b;
}

void tls_store_print_layout(const tls_layout *L, FILE *f) {
    var v[MAX_VARS];
    int n = vars_of(L, v);
    const tls_config *c = L->c;
    char conf[TLS_MAX_AXES * 70] = "";
    if (is_cube(L))
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
                     tls_dim_names[v[k].d->trail[t]], (long long)trail_len(L, v[k].d->trail[t]));
        fprintf(f, "  %s%-20s (...%s)\n", v[k].d->embeddings ? "embeddings/" : "", v[k].name, dims);
    }
    fprintf(f, "  %-20s (...)  string\n", "reason");
}

/* ---- HDF5 helpers ---------------------------------------------------------- */

typedef struct {
    char what[400]; /* the innermost HDF5/MPI error description */
} h5err;

static herr_t walk_error(unsigned n, const H5E_error2_t *e, void *data) {
    h5err *x = data;
    (void)n;
    if (!x->what[0] && e->desc && e->desc[0]) snprintf(x->what, sizeof(x->what), "%s", e->desc);
    return 0;
}

/* The failure's cause, from HDF5's error stack (then cleared), for one line. */
static void h5_cause(char *buf, size_t len) {
    h5err x = {""};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_error, &x);
    H5Eclear2(H5E_DEFAULT);
    snprintf(buf, len, "%s", x.what[0] ? x.what : "HDF5 reported no cause");
}

static int world_rank(void) {
    int r = 0, init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

/* Checks an hid_t/herr_t; on failure records the cause once and jumps to fail. */
#define H5TRY(ctx, expr)                                                                           \
    do {                                                                                           \
        if ((expr) < 0) {                                                                          \
            h5_fail((ctx), #expr);                                                                 \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

typedef struct {
    const char *path;
    char msg[TLS_ERRMSG + 64]; /* first failure on this rank */
} h5ctx;

static void h5_fail(h5ctx *c, const char *call) {
    int e = errno;
    char cause[400];
    h5_cause(cause, sizeof(cause));
    if (e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO || e == EROFS)
        snprintf(cause, sizeof(cause), "%s", strerror(e)); /* the system's word is the cause */
    if (!c->msg[0]) {
        const char *fn = strchr(call, '(');
        snprintf(c->msg, sizeof(c->msg), "%.*s: %s", fn ? (int)(fn - call) : 40, call, cause);
    }
}

static hid_t str_vlen(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static hid_t file_type(tls_ftype t) {
    return t == TLS_T_F64   ? H5T_IEEE_F64LE
           : t == TLS_T_F32 ? H5T_IEEE_F32LE
           : t == TLS_T_I8  ? H5T_STD_I8LE
                            : H5T_STD_I32LE;
}

static hid_t mem_type(tls_ftype t) {
    return t == TLS_T_F64   ? H5T_NATIVE_DOUBLE
           : t == TLS_T_F32 ? H5T_NATIVE_FLOAT
           : t == TLS_T_I8  ? H5T_NATIVE_INT8
                            : H5T_NATIVE_INT32;
}

/* The fill value of a type, as bytes. */
static const void *fill_of(tls_ftype t) {
    static const double f64 = NAN;
    static const float f32 = NAN;
    static const int8_t i8 = -1;
    static const int32_t i32 = -1;
    return t == TLS_T_F64   ? (const void *)&f64
           : t == TLS_T_F32 ? (const void *)&f32
           : t == TLS_T_I8  ? (const void *)&i8
                            : (const void *)&i32;
}

static int attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                      const void *v) {
    hid_t sp = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    if (sp < 0) return -1;
    int rc = 0;
    if (H5Aexists(loc, name) > 0 && H5Adelete(loc, name) < 0) rc = -1;
    hid_t a = rc ? -1 : H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, v) < 0) rc = -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

static int attr_str(hid_t loc, const char *name, const char *value) {
    hid_t t = str_vlen();
    if (t < 0) return -1;
    int rc = attr_write(loc, name, t, t, 0, &value);
    H5Tclose(t);
    return rc;
}

static int attr_strs(hid_t loc, const char *name, const char *const *values, int n) {
    hid_t t = str_vlen();
    if (t < 0) return -1;
    int rc = attr_write(loc, name, t, t, (hsize_t)(n > 0 ? n : 1),
                        n > 0 ? values : (const char *const[]){""});
    H5Tclose(t);
    return rc;
}

static int attr_i64(hid_t loc, const char *name, long long v) {
    int64_t x = v;
    return attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &x);
}

/* ---- what the MPI-IO layer prints ------------------------------------------- */

/* While the file is written, stderr goes to an in-memory file: Open MPI's
 * I/O components print a line per failed write (a full disk gives dozens).
 * Afterwards whatever is not such a line is passed on; the failure itself
 * reaches the user as one line of ours. */
typedef struct {
    int saved, mem;
} captured;

static void capture_begin(captured *c) {
    fflush(stderr);
    c->saved = dup(2);
    c->mem = c->saved >= 0 ? memfd_create("tlsweep-stderr", MFD_CLOEXEC) : -1;
    if (c->mem < 0 || dup2(c->mem, 2) < 0) {
        if (c->mem >= 0) close(c->mem);
        if (c->saved >= 0) close(c->saved);
        c->saved = c->mem = -1;
    }
}

static void capture_end(captured *c) {
    if (c->saved < 0) return;
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    off_t n = lseek(c->mem, 0, SEEK_END);
    char *text = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (text && pread(c->mem, text, (size_t)n, 0) == n) {
        text[n] = '\0';
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
            if (strncmp(line, "mca_fbtl_", 9) && strncmp(line, "mca_fcoll_", 10) &&
                strncmp(line, "mca_io_ompio", 12))
                fprintf(stderr, "%s\n", line);
    }
    free(text);
    close(c->mem);
    c->saved = c->mem = -1;
}

/* ---- writing --------------------------------------------------------------- */

typedef struct {
    h5ctx e;
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
    var v[MAX_VARS];
    hid_t dset[MAX_VARS];
    hid_t config_var;        /* list: the config index */
    hid_t aux[TLS_MAX_AXES]; /* list: the numeric axes' values along config */
    int no_coords;           /* creating the auxiliary coordinates themselves */
    unsigned char *buf[MAX_VARS];
    int64_t round; /* positions per round */
} writer;

/* Creates dataset `name` in loc with nd dims: attribute creation order
 * tracked (as netCDF-4 does), space allocated at once. Every entry is
 * written exactly once, so there is no fill pass; `fill` (may be NULL) is
 * the dataset's fill value, what readers mask. Variable-length strings,
 * which HDF5 must fill when it allocates, are filled with it (or ""). */
static int create_dataset(writer *w, hid_t loc, const char *name, hid_t ftype, int nd,
                          const hsize_t *dims, const void *fill, int early, hid_t *out) {
    static const char *const empty = "";
    int vlen = H5Tis_variable_str(ftype) > 0;
    if (vlen && !fill) fill = &empty;
    hid_t sp = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
    H5TRY(&w->e, sp = H5Screate_simple(nd, dims, NULL));
    H5TRY(&w->e, dcpl = H5Pcreate(H5P_DATASET_CREATE));
    H5TRY(&w->e, H5Pset_attr_creation_order(dcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED));
    H5TRY(&w->e, H5Pset_alloc_time(dcpl, early ? H5D_ALLOC_TIME_EARLY : H5D_ALLOC_TIME_LATE));
    H5TRY(&w->e, H5Pset_fill_time(dcpl, vlen ? H5D_FILL_TIME_IFSET : H5D_FILL_TIME_NEVER));
    if (fill) H5TRY(&w->e, H5Pset_fill_value(dcpl, ftype, fill));
    H5TRY(&w->e, d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT));
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
        dims[nd] = (hsize_t)trail_len(w->L, trail[t]), scales[nd++] = w->trail_scale[trail[t]];
    hid_t d = H5I_INVALID_HID;
    TLS_TRY(create_dataset(w, loc, name, ftype, nd, dims, fill, !given, &d));
    for (int i = 0; i < nd; i++) H5TRY(&w->e, H5DSattach_scale(d, scales[i], (unsigned)i));
    H5TRY(&w->e, attr_write(d, "_FillValue", ftype, ftype, 0, fill));
    if (units) H5TRY(&w->e, attr_str(d, "units", units));
    if (long_name) H5TRY(&w->e, attr_str(d, "long_name", long_name));
    if (flag_values) {
        int8_t fv[8];
        int nf = 0;
        for (const char *p = flag_values; *p && nf < 8; nf++)
            fv[nf] = (int8_t)strtol(p, (char **)&p, 10);
        hsize_t hn = (hsize_t)nf;
        hid_t fsp = H5Screate_simple(1, &hn, NULL);
        hid_t a = H5Acreate2(d, "flag_values", ftype, fsp, H5P_DEFAULT, H5P_DEFAULT);
        int ok = fsp >= 0 && a >= 0 && H5Awrite(a, H5T_NATIVE_INT8, fv) >= 0;
        if (a >= 0) H5Aclose(a);
        if (fsp >= 0) H5Sclose(fsp);
        H5TRY(&w->e, ok ? 0 : -1);
        H5TRY(&w->e, attr_str(d, "flag_meanings", flag_meanings));
    }
    if (!is_cube(w->L) && !w->no_coords) {
        /* a part's list: the grid's axes are auxiliary coordinates along config */
        char coords[TLS_MAX_AXES * 66] = "";
        for (int a = 0; a < w->L->c->naxes; a++)
            if (w->L->c->axis[a].type != TLS_V_STR)
                snprintf(coords + strlen(coords), sizeof(coords) - strlen(coords), "%s%s",
                         coords[0] ? " " : "", w->L->c->axis[a].dim);
        if (coords[0]) H5TRY(&w->e, attr_str(d, "coordinates", coords));
    }
    *out = d;
    return TLS_OK;
fail:
    H5Dclose(d);
    return TLS_ERR_IO;
}

static int make_var(writer *w, hid_t loc, hid_t *out, const char *name, hid_t ftype,
                    const void *fill, int ntrail, const int *trail, const char *units,
                    const char *long_name, const char *flag_values, const char *flag_meanings) {
    return make_var_in(w, loc, NULL, out, name, ftype, fill, ntrail, trail, units, long_name,
                       flag_values, flag_meanings);
}

/* A 1-D dimension scale `name` of n values; rank 0 writes numeric values
 * now (values NULL: written later). */
static int make_scale(writer *w, hid_t *out, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                      const void *values, const char *units, const char *long_name) {
    hid_t d = H5I_INVALID_HID;
    TLS_TRY(create_dataset(w, w->file, name, ftype, 1, &n, NULL, 1, &d));
    H5TRY(&w->e, H5DSset_scale(d, name));
    if (units) H5TRY(&w->e, attr_str(d, "units", units));
    if (long_name) H5TRY(&w->e, attr_str(d, "long_name", long_name));
    if (values && n > 0) {
        /* independent write by rank 0; the others select nothing */
        hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, &n, NULL);
        int ok = fs >= 0 && ms >= 0;
        if (ok && w->rank != 0) ok = H5Sselect_none(fs) >= 0 && H5Sselect_none(ms) >= 0;
        if (ok) ok = H5Dwrite(d, mtype, ms, fs, w->dxpl, values) >= 0;
        if (ms >= 0) H5Sclose(ms);
        if (fs >= 0) H5Sclose(fs);
        H5TRY(&w->e, ok ? 0 : -1);
    }
    *out = d;
    return TLS_OK;
fail:
    H5Dclose(d);
    return TLS_ERR_IO;
}

static int index_scale(writer *w, int which, int first) {
    hsize_t n = (hsize_t)trail_len(w->L, which);
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
    if (is_cube(w->L)) {
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
            hid_t st = ax->type == TLS_V_STR ? str_vlen() : H5I_INVALID_HID;
            int rc = make_scale(w, &w->conf_scale[a], ax->dim, st >= 0 ? st : ft, mt,
                                (hsize_t)ax->n, vals, ax->units, ax->long_name);
            if (st >= 0) H5Tclose(st);
            free(i32);
            free(i8);
            TLS_TRY(rc);
            if (a >= TLS_NAMED_AXES && attr_str(w->conf_scale[a], "key", ax->key_name) < 0)
                return TLS_ERR_IO;
            if (ax->type == TLS_V_BOOL &&
                (attr_str(w->conf_scale[a], "flag_meanings", "false true") < 0))
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
    hid_t st = str_vlen();
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
    w->nvars = vars_of(w->L, w->v);
    if (w->L->c->embeddings) {
        hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
        if (gcpl < 0) return TLS_ERR_IO;
        H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        w->group = H5Gcreate2(w->file, "embeddings", H5P_DEFAULT, gcpl, H5P_DEFAULT);
        H5Pclose(gcpl);
        if (w->group < 0) {
            h5_fail(&w->e, "H5Gcreate2(embeddings)");
            return TLS_ERR_IO;
        }
    }
    for (int k = 0; k < w->nvars; k++) {
        const var *x = &w->v[k];
        const tls_field *d = x->d;
        TLS_TRY(make_var(w, d->embeddings ? w->group : w->file, &w->dset[k], x->name,
                         file_type(d->type), fill_of(d->type), d->ntrail, d->trail, d->units,
                         x->long_name, d->flag_values, d->flag_meanings));
        if (k == 1) {
            /* the reason string right after the accuracies' group of variables */
        }
    }
    if (!is_cube(w->L)) {
        w->no_coords = 1;
        for (int a = 0; a < w->L->c->naxes; a++) {
            const tls_axis *ax = &w->L->c->axis[a];
            if (ax->type == TLS_V_STR) continue;
            tls_ftype t = ax->type == TLS_V_REAL   ? TLS_T_F64
                          : ax->type == TLS_V_BOOL ? TLS_T_I8
                                                   : TLS_T_F64;
            hid_t ft = ax->type == TLS_V_INT ? H5T_STD_I64LE : file_type(t);
            static const int64_t fill64 = -1;
            TLS_TRY(make_var(w, w->file, &w->aux[a], ax->dim, ft,
                             ax->type == TLS_V_INT ? (const void *)&fill64 : fill_of(t), 0, NULL,
                             ax->units, ax->long_name, NULL, NULL));
        }
        w->no_coords = 0;
    }
    return TLS_OK;
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
static herr_t var_io(hid_t d, int writing, hid_t mtype, hid_t dxpl, const tls_layout *L, int nconf,
                     const hsize_t *conf, int ntrail, const hsize_t *trail, int64_t elems,
                     int64_t lo, int64_t hi, void *buf) {
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

static void trail_dims(const tls_layout *L, const tls_field *d, hsize_t *trail) {
    for (int t = 0; t < d->ntrail; t++) trail[t] = (hsize_t)trail_len(L, d->trail[t]);
}

/* Copies one record into (pack) or out of (unpack) the round buffers at row i. */
static void frame_copy(const var *v, int nvars, unsigned char *const *buf, int64_t i,
                       tls_record_meta *meta, tls_result *r, int32_t host, int32_t *host_out,
                       int pack) {
    for (int k = 0; k < nvars; k++) {
        const var *x = &v[k];
        unsigned char *row = buf[k] + (size_t)i * (size_t)x->elems * x->esize;
        if (x->d->from == TLS_SRC_HOST) {
            if (pack)
                memcpy(row, &host, 4);
            else
                memcpy(host_out, row, 4);
            continue;
        }
        size_t msize;
        unsigned char *field = record_field(x, meta, r, &msize);
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

static int host_index(const tls_store_info *info, const char *host) {
    if (!host[0]) return -1;
    for (int h = 0; h < info->nhosts; h++)
        if (!strcmp(info->hosts[h], host)) return h;
    return -1;
}

static int all_ok(MPI_Comm comm, int ok) {
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, comm);
    return all;
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
    rc |= attr_str(f, "title", title);
    rc |= attr_str(f, "Conventions", "CF-1.10");
    rc |= attr_str(f, "history", history);
    rc |= attr_str(f, "source", "tlsweep (https://github.com/tlsweep)");
    rc |= attr_str(f, "format", "tlsweep-results-2 (docs/FORMAT.md)");
    rc |= attr_str(f, "layout", is_cube(w->L) ? "cube" : "part list");
    snprintf(buf, sizeof(buf), "%d/%d", w->L->part.k, w->L->part.n);
    rc |= attr_str(f, "part", buf);
    rc |= attr_str(f, "config_yaml", in->config_yaml);
    rc |= attr_str(f, "config_hash", hash);
    rc |= attr_str(f, "config_source", in->config_source);
    rc |= attr_str(f, "data_mode", in->data_mode);
    if (in->data_source) {
        char crc[16];
        rc |= attr_str(f, "data_source", in->data_source);
        snprintf(crc, sizeof(crc), "%08x", (unsigned)in->data_crc[0]);
        rc |= attr_str(f, "data_source_crc32", crc);
        rc |= attr_str(f, "data_target", in->data_target);
        snprintf(crc, sizeof(crc), "%08x", (unsigned)in->data_crc[1]);
        rc |= attr_str(f, "data_target_crc32", crc);
    }
    free(history);
    rc |= attr_str(f, "started", nr ? runs->run[0].field[0] : "");
    rc |= attr_str(f, "finished", nr ? runs->run[nr - 1].field[1] : "");
    rc |= attr_i64(f, "nranks", w->nranks);
    rc |= attr_i64(f, "runs", nr);
    rc |= attr_i64(f, "n_configs", w->L->count);
    rc |= attr_i64(f, "n_grid", c->grid_size);
    rc |= attr_i64(f, "n_done", cnt->done);
    rc |= attr_i64(f, "n_failed", cnt->failed);
    rc |= attr_i64(f, "n_pending", cnt->pending);
    rc |= attr_i64(f, "complete", cnt->pending == 0);
    for (int fld = 0; fld < TLS_RUN_FIELDS && nr > 0; fld++) {
        const char **col = malloc(sizeof(char *) * (size_t)nr);
        TLS_CHECK(col, TLS_ERR_NOMEM, "out of memory");
        for (int i = 0; i < nr; i++) col[i] = runs->run[i].field[fld];
        char name[48];
        snprintf(name, sizeof(name), "run_%s", tls_run_field_names[fld]);
        rc |= attr_strs(f, name, col, nr);
        free(col);
    }
    for (int i = 0; i < 12 && in->versions[i][0]; i++)
        rc |= attr_str(f, in->versions[i][0], in->versions[i][1]);
    if (rc) {
        h5_fail(&w->e, "H5Awrite(root attributes)");
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
    H5TRY(&w->e, fapl);
    H5TRY(&w->e, f = H5Fopen(w->e.path, H5F_ACC_RDWR, fapl));
    H5TRY(&w->e, st = str_vlen());
    const tls_config *c = w->L->c;
    if (is_cube(w->L))
        for (int a = 0; a < c->naxes; a++) {
            if (c->axis[a].type != TLS_V_STR) continue;
            H5TRY(&w->e, d = H5Dopen2(f, c->axis[a].dim, H5P_DEFAULT));
            H5TRY(&w->e, H5Dwrite(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->axis[a].text));
            H5Dclose(d), d = H5I_INVALID_HID;
        }
    H5TRY(&w->e, d = H5Dopen2(f, "approach", H5P_DEFAULT));
    H5TRY(&w->e, H5Dwrite(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, tls_method_names));
    H5Dclose(d), d = H5I_INVALID_HID;
    H5TRY(&w->e, d = H5Dopen2(f, "hosts", H5P_DEFAULT));
    static const char *const none[] = {""};
    H5TRY(&w->e, H5Dwrite(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                          w->info->nhosts > 0 ? w->info->hosts : none));
    H5Dclose(d), d = H5I_INVALID_HID;
    /* the reasons: a string per configuration, created here, in the file
     * rank 0 has alone: its space is allocated only when a reason is
     * written (parallel HDF5 would allocate and fill it at creation) */
    hid_t scales[TLS_MAX_AXES] = {0};
    int nsc = 0;
    for (int a = 0; a < w->nconf; a++) {
        const char *dim = is_cube(w->L) ? c->axis[a].dim : "config";
        H5TRY(&w->e, scales[a] = H5Dopen2(f, dim, H5P_DEFAULT));
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
    if (nfail > 0) {
        /* the failed configurations' reasons: a point selection */
        int nd = w->nconf;
        coords = malloc(sizeof(hsize_t) * (size_t)nd * (size_t)nfail);
        ptr = malloc(sizeof(char *) * (size_t)nfail);
        TLS_CHECK(coords && ptr, TLS_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < nfail; i++) {
            if (is_cube(w->L)) {
                int64_t co[TLS_MAX_AXES];
                tls_grid_coords(c, fpos[i], co);
                for (int a = 0; a < nd; a++) coords[i * nd + a] = (hsize_t)co[a];
            } else {
                coords[i] = (hsize_t)fpos[i];
            }
            ptr[i] = freason[i];
        }
        hsize_t n = (hsize_t)nfail;
        H5TRY(&w->e, d = H5Dopen2(f, "reason", H5P_DEFAULT));
        H5TRY(&w->e, fs = H5Dget_space(d));
        H5TRY(&w->e, H5Sselect_elements(fs, H5S_SELECT_SET, (size_t)nfail, coords));
        H5TRY(&w->e, ms = H5Screate_simple(1, &n, NULL));
        H5TRY(&w->e, H5Dwrite(d, st, ms, fs, H5P_DEFAULT, ptr));
    }
    rc = TLS_OK;
fail:
    free(coords);
    free(ptr);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (d >= 0) H5Dclose(d);
    if (st >= 0) H5Tclose(st);
    if (f >= 0 && H5Fclose(f) < 0 && rc == TLS_OK) {
        h5_fail(&w->e, "H5Fclose(strings)");
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
     * full: HDF5 1.10 leaves a half-closed file behind a failed close, which
     * crashes when MPI_Finalize ends the library. Flush first; when anything
     * failed, the file is worthless: empty it, which makes room for the
     * metadata that closing writes, and remove it after */
    if (ok && w->file >= 0 && H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0) {
        h5_fail(&w->e, "H5Fflush(results file)");
        ok = 0;
    }
    ok = all_ok(w->comm, ok);
    if (!ok && w->file >= 0) {
        rc = TLS_ERR_IO;
        if (w->rank == 0 && truncate(w->e.path, 0) != 0) { /* closing still tries */
        }
        MPI_Barrier(w->comm);
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
            h5_fail(&w->e, "H5Fclose(results file)");
            rc = TLS_ERR_IO;
        }
        w->file = H5I_INVALID_HID;
        if (rc != TLS_OK) {
            MPI_Barrier(w->comm);
            if (w->rank == 0) unlink(w->e.path);
        }
    }
    for (int k = 0; k < MAX_VARS; k++) free(w->buf[k]);
    return rc;
}

/* Rank 0: reserves the disk space the file will take (its variables plus
 * a margin for metadata) by allocating it to the file itself, which
 * H5Fcreate then truncates and fills. */
static int reserve(h5ctx *e, const tls_layout *L) {
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

int tls_store_write(const char *path, MPI_Comm comm, const tls_layout *L,
                    const tls_store_info *info, const tls_record_source *src,
                    tls_store_counts *counts) {
    writer *w = calloc(1, sizeof(*w));
    TLS_CHECK(w, TLS_ERR_NOMEM, "out of memory");
    w->e.path = path;
    w->L = L;
    w->info = info;
    w->comm = comm;
    MPI_Comm_rank(comm, &w->rank);
    MPI_Comm_size(comm, &w->nranks);
    w->file = w->group = w->dxpl = w->hosts_scale = H5I_INVALID_HID;
    w->config_var = H5I_INVALID_HID;
    for (int a = 0; a < TLS_MAX_AXES; a++) w->conf_scale[a] = w->aux[a] = H5I_INVALID_HID;
    for (int t = 0; t < TLS_NDIMS; t++) w->trail_scale[t] = H5I_INVALID_HID;
    for (int k = 0; k < MAX_VARS; k++) w->dset[k] = H5I_INVALID_HID;
    H5E_auto2_t efunc;
    void *edata;
    H5Eget_auto2(H5E_DEFAULT, &efunc, &edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* failures become one line, not a stack dump */
    captured cap;
    capture_begin(&cap);
    tls_result *r = NULL;
    int64_t *fpos = NULL, *gpos = NULL;
    char(*freason)[112] = NULL, (*greason)[112] = NULL;
    int64_t nfail = 0, capfail = 0, gfail = 0;
    tls_store_counts cnt = {0, 0, 0};
    int ok = 1;
    int rc = tls_result_create(&r, &L->env);
    ok = rc == TLS_OK;

    /* the space first, before HDF5 writes anything: a disk that fills up
     * under HDF5 leaves a file it can neither flush nor close */
    if (ok && w->rank == 0) ok = reserve(&w->e, L) == TLS_OK;
    if (!all_ok(comm, ok)) goto done;

    /* create: collective; every rank agrees on the outcome */
    hid_t fapl = H5I_INVALID_HID, fcpl = H5I_INVALID_HID;
    MPI_Info hints = MPI_INFO_NULL;
    char err[TLS_ERRMSG];
    if (ok && tls_store_hints(&hints, info->hints, err) != TLS_OK) {
        snprintf(w->e.msg, sizeof(w->e.msg), "%s", err);
        ok = 0;
    }
    if (ok) {
        fapl = H5Pcreate(H5P_FILE_ACCESS);
        fcpl = H5Pcreate(H5P_FILE_CREATE);
        ok = fapl >= 0 && fcpl >= 0 && H5Pset_fapl_mpio(fapl, comm, hints) >= 0 &&
             H5Pset_coll_metadata_write(fapl, 1) >= 0 &&
             H5Pset_all_coll_metadata_ops(fapl, 1) >= 0 &&
             H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0 &&
             H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0;
        if (ok) w->file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
        if (!ok || w->file < 0) {
            h5_fail(&w->e, "H5Fcreate(results file)");
            ok = 0;
        }
    }
    if (hints != MPI_INFO_NULL) MPI_Info_free(&hints);
    if (fapl >= 0) H5Pclose(fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    if (!all_ok(comm, ok)) goto done;
    w->dxpl = H5Pcreate(H5P_DATASET_XFER);
    ok = w->dxpl >= 0 && H5Pset_dxpl_mpio(w->dxpl, H5FD_MPIO_COLLECTIVE) >= 0;
    if (ok) ok = create_scales(w) == TLS_OK && create_vars(w) == TLS_OK;
    if (!all_ok(comm, ok)) goto done;

    /* the rounds: each rank's block in pieces of bounded memory */
    int64_t lo, hi;
    tls_store_block(L->count, w->rank, w->nranks, &lo, &hi);
    size_t per = 8; /* the list's config index */
    for (int k = 0; k < w->nvars; k++) per += (size_t)w->v[k].elems * w->v[k].esize;
    w->round = (int64_t)((8u << 20) / per); /* 8 MiB of buffers per rank and round */
    if (w->round < 1) w->round = 1;
    int64_t mine = (hi - lo + w->round - 1) / w->round, rounds = 0;
    MPI_Allreduce(&mine, &rounds, 1, MPI_INT64_T, MPI_MAX, comm);
    int64_t rn = hi - lo < w->round ? hi - lo : w->round;
    for (int k = 0; k < w->nvars && ok; k++) {
        w->buf[k] = malloc((size_t)(rn > 0 ? rn : 1) * (size_t)w->v[k].elems * w->v[k].esize + 1);
        ok = w->buf[k] != NULL;
    }
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)(rn > 0 ? rn : 1));
    int64_t *auxbuf = malloc(sizeof(int64_t) * (size_t)(rn > 0 ? rn : 1));
    ok = ok && idx && auxbuf;
    if (!ok) snprintf(w->e.msg, sizeof(w->e.msg), "out of memory for the write buffers");
    if (!all_ok(comm, ok)) {
        free(idx), free(auxbuf);
        goto done;
    }
    tls_record_meta meta;
    for (int64_t q = 0; q < rounds; q++) {
        int64_t a = lo + q * w->round, b = a + w->round < hi ? a + w->round : hi;
        if (a > hi) a = hi;
        if (ok && b > a && src->prepare && src->prepare(src->ctx, a, b) != TLS_OK) {
            snprintf(w->e.msg, sizeof(w->e.msg), "cannot read the results to write");
            ok = 0;
        }
        for (int64_t p = a; ok && p < b; p++) {
            int have = 0;
            memset(&meta, 0, sizeof(meta));
            if (src->get(src->ctx, p, &meta, r, &have) != TLS_OK) {
                snprintf(w->e.msg, sizeof(w->e.msg), "cannot read the result of configuration %lld",
                         (long long)tls_layout_index(L, p));
                ok = 0;
                break;
            }
            if (!have) {
                tls_result_fill(r);
                memset(&meta, 0, sizeof(meta));
                meta.rank = -1;
                meta.seconds = NAN;
                cnt.pending++;
            } else if (r->s.status == TLS_STATUS_DONE) {
                cnt.done++;
            } else {
                cnt.failed++;
                if (nfail == capfail) {
                    capfail = capfail ? 2 * capfail : 64;
                    int64_t *np = realloc(fpos, sizeof(int64_t) * (size_t)capfail);
                    if (np) fpos = np;
                    char(*nr)[112] = realloc(freason, 112 * (size_t)capfail);
                    if (nr) freason = nr;
                    if (!np || !nr) {
                        snprintf(w->e.msg, sizeof(w->e.msg), "out of memory");
                        ok = 0;
                        break;
                    }
                }
                fpos[nfail] = p;
                memcpy(freason[nfail], r->s.reason, 112);
                freason[nfail][111] = '\0';
                nfail++;
            }
            idx[p - a] = tls_layout_index(L, p);
            frame_copy(w->v, w->nvars, w->buf, p - a, &meta, r, host_index(info, meta.host), NULL,
                       1);
        }
        int64_t wa = ok ? a : 0, wb = ok ? b : 0; /* a rank that failed writes nothing more */
        for (int k = 0; k < w->nvars; k++) {
            if (w->v[k].elems == 0) continue; /* a dimension of length 0: nothing to write */
            hsize_t trail[3];
            trail_dims(L, w->v[k].d, trail);
            herr_t e =
                var_io(w->dset[k], 1, mem_type(w->v[k].d->type), w->dxpl, L, w->nconf, w->conf_dims,
                       w->v[k].d->ntrail, trail, w->v[k].elems, wa, wb, w->buf[k]);
            if (e < 0 && ok) {
                char call[96];
                snprintf(call, sizeof(call), "H5Dwrite of %s", w->v[k].name);
                h5_fail(&w->e, call);
                ok = 0;
            }
        }
        if (!is_cube(L)) {
            herr_t e = var_io(w->config_var, 1, H5T_NATIVE_INT64, w->dxpl, L, 1, w->conf_dims, 0,
                              NULL, 1, wa, wb, idx);
            for (int a = 0; a < L->c->naxes && e >= 0; a++) {
                const tls_axis *ax = &L->c->axis[a];
                if (w->aux[a] < 0) continue;
                /* the axis's value at each configuration of the round, in place of idx */
                for (int64_t p = 0; p < wb - wa; p++) {
                    int64_t co[TLS_MAX_AXES];
                    tls_grid_coords(L->c, tls_layout_index(L, wa + p), co);
                    if (ax->type == TLS_V_REAL)
                        memcpy(&auxbuf[p], &ax->num[co[a]], 8);
                    else
                        auxbuf[p] = ax->inum[co[a]];
                }
                e = var_io(w->aux[a], 1,
                           ax->type == TLS_V_REAL ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, w->dxpl,
                           L, 1, w->conf_dims, 0, NULL, 1, wa, wb, auxbuf);
            }
            if (e < 0 && ok) {
                h5_fail(&w->e, "H5Dwrite(config)");
                ok = 0;
            }
        }
        if (!all_ok(comm, ok)) break;
    }
    free(idx), free(auxbuf);
    if (!all_ok(comm, ok)) goto done;
    int64_t local[3] = {cnt.done, cnt.failed, cnt.pending}, total[3];
    MPI_Allreduce(local, total, 3, MPI_INT64_T, MPI_SUM, comm);
    cnt.done = total[0], cnt.failed = total[1], cnt.pending = total[2];
    ok = write_attrs(w, &cnt) == TLS_OK;
    if (!all_ok(comm, ok)) goto done;

    /* the failed configurations' reasons go to rank 0 */
    int nf = (int)nfail, *fcounts = NULL, *fdispl = NULL, *rcounts = NULL, *rdispl = NULL;
    if (w->rank == 0) {
        fcounts = calloc((size_t)w->nranks, sizeof(int));
        fdispl = calloc((size_t)w->nranks, sizeof(int));
        rcounts = calloc((size_t)w->nranks, sizeof(int));
        rdispl = calloc((size_t)w->nranks, sizeof(int));
    }
    MPI_Gather(&nf, 1, MPI_INT, fcounts, 1, MPI_INT, 0, comm);
    if (w->rank == 0) {
        for (int i = 0; i < w->nranks; i++) {
            fdispl[i] = (int)gfail;
            rcounts[i] = 112 * fcounts[i];
            rdispl[i] = 112 * (int)gfail;
            gfail += fcounts[i];
        }
        gpos = malloc(sizeof(int64_t) * (size_t)(gfail + 1));
        greason = malloc(112 * (size_t)(gfail + 1));
    }
    MPI_Gatherv(fpos, nf, MPI_INT64_T, gpos, fcounts, fdispl, MPI_INT64_T, 0, comm);
    MPI_Gatherv(freason, 112 * nf, MPI_CHAR, greason, rcounts, rdispl, MPI_CHAR, 0, comm);
    free(fcounts), free(fdispl), free(rcounts), free(rdispl);

done:
    ok = all_ok(comm, ok);
    if (writer_close(w, ok) != TLS_OK) ok = 0;
    ok = all_ok(comm, ok);
    if (ok && w->rank == 0) ok = write_strings(w, gpos, greason, gfail) == TLS_OK;
    ok = all_ok(comm, ok);
    capture_end(&cap);
    if (!ok) {
        /* one line: the lowest rank that knows a cause, else the lowest that failed */
        int rank_known = w->e.msg[0] && !strstr(w->e.msg, "no cause") ? w->rank : w->nranks;
        int rank_any = w->e.msg[0] ? w->rank : w->nranks, first_known, first_any;
        MPI_Allreduce(&rank_known, &first_known, 1, MPI_INT, MPI_MIN, comm);
        MPI_Allreduce(&rank_any, &first_any, 1, MPI_INT, MPI_MIN, comm);
        if (w->rank == (first_known < w->nranks ? first_known : first_any))
            fprintf(stderr, "tlsweep: rank %d: cannot write %s: %s\n", w->rank, path, w->e.msg);
    }
    H5Eset_auto2(H5E_DEFAULT, efunc, edata);
    if (counts) *counts = cnt;
    tls_result_destroy(&r);
    free(fpos), free(freason), free(gpos), free(greason);
    free(w);
    (void)world_rank;
    return ok ? TLS_OK : TLS_ERR_IO;
}

/* ---- reading --------------------------------------------------------------- */

struct tls_store_reader {
    char path[4096];
    hid_t file;
    tls_store_meta meta;
    char *attr_buf[32];
    char attr_name[32][48];
    int nattr;
    /* after tls_store_check */
    const tls_layout *L;
    int nconf;
    hsize_t conf_dims[TLS_MAX_AXES];
    int nvars;
    var v[MAX_VARS];
    hid_t dset[MAX_VARS];
    hid_t reason;
    unsigned char *buf[MAX_VARS];
    char **reasons; /* (block) read reasons */
    char **hosts;
    int nhosts;
    int64_t lo, hi, cap;
};

/* A string attribute of loc, malloc'ed ("" when absent or not a string). */
static char *read_str_attr(hid_t loc, const char *name) {
    char *out = NULL;
    if (H5Aexists(loc, name) > 0) {
        hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a), sp = H5Aget_space(a);
        hid_t st = str_vlen();
        char *s = NULL;
        if (a >= 0 && t >= 0 && sp >= 0 && st >= 0 && H5Tget_class(t) == H5T_STRING &&
            H5Tis_variable_str(t) > 0 && H5Sget_simple_extent_npoints(sp) == 1 &&
            H5Aread(a, st, &s) >= 0 && s) {
            out = strdup(s);
            H5free_memory(s);
        }
        if (st >= 0) H5Tclose(st);
        if (sp >= 0) H5Sclose(sp);
        if (t >= 0) H5Tclose(t);
        if (a >= 0) H5Aclose(a);
    }
    return out ? out : strdup("");
}

/* A string root attribute ("" when absent). */
static const char *attr(tls_store_reader *rd, const char *name) {
    for (int i = 0; i < rd->nattr; i++)
        if (!strcmp(rd->attr_name[i], name)) return rd->attr_buf[i];
    if (rd->nattr == 32) return "";
    H5E_auto2_t f;
    void *d;
    H5Eget_auto2(H5E_DEFAULT, &f, &d);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char *v = read_str_attr(rd->file, name);
    H5Eset_auto2(H5E_DEFAULT, f, d);
    if (!v) return "";
    snprintf(rd->attr_name[rd->nattr], sizeof(rd->attr_name[0]), "%s", name);
    rd->attr_buf[rd->nattr] = v;
    return rd->attr_buf[rd->nattr++];
}

/* An integer root attribute, or def when absent or not an integer. */
static int64_t attr_int(tls_store_reader *rd, const char *name, int64_t def) {
    H5E_auto2_t f;
    void *d;
    H5Eget_auto2(H5E_DEFAULT, &f, &d);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int64_t v = def;
    if (H5Aexists(rd->file, name) > 0) {
        hid_t a = H5Aopen(rd->file, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1;
        hid_t sp = a >= 0 ? H5Aget_space(a) : -1;
        int64_t x;
        if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_INTEGER &&
            H5Sget_simple_extent_npoints(sp) == 1 && H5Aread(a, H5T_NATIVE_INT64, &x) >= 0)
            v = x;
        if (sp >= 0) H5Sclose(sp);
        if (t >= 0) H5Tclose(t);
        if (a >= 0) H5Aclose(a);
    }
    H5Eset_auto2(H5E_DEFAULT, f, d);
    return v;
}

/* Exactly n hex digits. */
static int hex(const char *s, int n, uint64_t *v) {
    *v = 0;
    for (int i = 0; i < n; i++) {
        int c = s[i], d = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
        if (d < 0) return 0;
        *v = *v * 16 + (uint64_t)d;
    }
    return s[n] == '\0';
}

/* Reads and checks the root attributes the readers use. */
static int read_meta(tls_store_reader *rd, char *err) {
    tls_store_meta *m = &rd->meta;
    m->config_yaml = attr(rd, "config_yaml");
    m->config_source = attr(rd, "config_source");
    m->data_mode = attr(rd, "data_mode");
    m->data_source = attr(rd, "data_source");
    m->data_target = attr(rd, "data_target");
    m->started = attr(rd, "started");
    m->n_pending = attr_int(rd, "n_pending", -1);
    const char *part = attr(rd, "part");
    int k = 0, n = 0, used = 0;
    if (sscanf(part, "%d/%d%n", &k, &n, &used) != 2 || part[used] || n < 1 || k < 1 || k > n)
        return tls_input_error(err, rd->path, "part",
                               "'%.40s' is not K/N with 1 <= K <= N; allowed: a file written by "
                               "tlsweep run",
                               part);
    m->part = (tls_part){k, n};
    const char *hash = attr(rd, "config_hash");
    if (!hex(hash, 16, &m->config_hash))
        return tls_input_error(err, rd->path, "config_hash",
                               "'%.40s' is not 16 hex digits; allowed: a file written by "
                               "tlsweep run",
                               hash);
    for (int i = 0; i < 2 && m->data_source[0]; i++) {
        const char *name = i ? "data_target_crc32" : "data_source_crc32";
        uint64_t crc = 0;
        if (!hex(attr(rd, name), 8, &crc))
            return tls_input_error(err, rd->path, name,
                                   "'%.40s' is not 8 hex digits; allowed: a file written by "
                                   "tlsweep run",
                                   attr(rd, name));
        m->data_crc[i] = (uint32_t)crc;
    }
    return TLS_OK;
}

const tls_store_meta *tls_store_meta_of(const tls_store_reader *rd) {
    return &rd->meta;
}

int tls_store_open(tls_store_reader **out, const char *path, char *err) {
    *out = NULL;
    tls_store_reader *rd = calloc(1, sizeof(*rd));
    TLS_CHECK(rd, TLS_ERR_NOMEM, "out of memory");
    snprintf(rd->path, sizeof(rd->path), "%s", path);
    rd->file = rd->reason = H5I_INVALID_HID;
    for (int k = 0; k < MAX_VARS; k++) rd->dset[k] = H5I_INVALID_HID;
    H5E_auto2_t f;
    void *d;
    H5Eget_auto2(H5E_DEFAULT, &f, &d);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = TLS_OK;
    struct stat st;
    const char *why = NULL; /* what the path is, when not a file to open */
    if (stat(path, &st) != 0)
        why = errno == ENOENT ? "no such file" : "cannot be read";
    else if (S_ISDIR(st.st_mode))
        why = "is a directory";
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    if (why) {
        rc = tls_input_error(err, path, "(file)",
                             "%s; allowed: a results file written by tlsweep run", why);
    } else if (H5Fis_hdf5(path) <= 0) {
        rc = tls_input_error(err, path, "(file)",
                             "not a tlsweep results file (not an HDF5 file); allowed: a results "
                             "file written by tlsweep run");
    } else if ((rd->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        rc = tls_input_error(err, path, "(file)",
                             "not a tlsweep results file (HDF5 cannot open it); allowed: a "
                             "results file written by tlsweep run");
    } else if (strncmp(attr(rd, "format"), "tlsweep-results-2", 17) != 0) {
        const char *fmt = attr(rd, "format");
        rc = tls_input_error(err, path, "(file)",
                             "not a tlsweep results file of this version (%s%s); allowed: a "
                             "results file written by tlsweep %s (format tlsweep-results-2)",
                             fmt[0] ? "format " : "an HDF5 file without tlsweep's attributes", fmt,
                             TLSWEEP_VERSION);
    } else {
        rc = read_meta(rd, err);
    }
    H5Eset_auto2(H5E_DEFAULT, f, d);
    *out = rd;
    if (rc) tls_store_close(out);
    return rc;
}

void tls_store_close(tls_store_reader **rdp) {
    tls_store_reader *rd = *rdp;
    if (!rd) return;
    for (int k = 0; k < rd->nvars; k++)
        if (rd->dset[k] >= 0) H5Dclose(rd->dset[k]);
    if (rd->reason >= 0) H5Dclose(rd->reason);
    if (rd->file >= 0) H5Fclose(rd->file);
    for (int i = 0; i < rd->nattr; i++) free(rd->attr_buf[i]);
    for (int k = 0; k < MAX_VARS; k++) free(rd->buf[k]);
    if (rd->reasons)
        for (int64_t i = 0; i < rd->cap; i++) free(rd->reasons[i]);
    free(rd->reasons);
    for (int h = 0; h < rd->nhosts; h++) free(rd->hosts[h]);
    free(rd->hosts);
    TLS_FREE(*rdp);
}

int tls_store_config(tls_store_reader *rd, const char *path, tls_config **c, char *err) {
    TLS_TRY(tls_config_load_text(c, path, rd->meta.config_yaml, err));
    unsigned long long mine = (unsigned long long)tls_config_hash(*c);
    if (rd->meta.config_hash != mine) {
        tls_config_destroy(c);
        return tls_input_error(err, path, "config_yaml",
                               "hashes to %016llx, but the file's config_hash is '%016llx': "
                               "edited or damaged; allowed: a file as tlsweep wrote it",
                               mine, (unsigned long long)rd->meta.config_hash);
    }
    return TLS_OK;
}

/* A 1-D string attribute array: n strings appended to out (malloc'ed). */
static int read_str_array_attr(hid_t loc, const char *name, char ***out, int *n) {
    *out = NULL;
    *n = 0;
    if (H5Aexists(loc, name) <= 0) return TLS_OK;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), sp = H5Aget_space(a), st = str_vlen();
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    int rc = TLS_ERR_IO;
    if (a >= 0 && st >= 0 && np >= 0 && np < 1000000) {
        char **s = calloc((size_t)np + 1, sizeof(char *));
        if (s && H5Aread(a, st, s) >= 0) {
            *out = calloc((size_t)np + 1, sizeof(char *));
            if (*out) {
                for (hssize_t i = 0; i < np; i++) (*out)[i] = strdup(s[i] ? s[i] : "");
                *n = (int)np;
                rc = TLS_OK;
            }
            H5Dvlen_reclaim(st, sp, H5P_DEFAULT, s);
        }
        free(s);
    }
    if (st >= 0) H5Tclose(st);
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    return rc;
}

int tls_store_runs(tls_store_reader *rd, tls_runs *runs) {
    char **col[TLS_RUN_FIELDS] = {0};
    int n[TLS_RUN_FIELDS] = {0}, rc = TLS_OK;
    H5E_auto2_t f;
    void *d;
    H5Eget_auto2(H5E_DEFAULT, &f, &d);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    for (int fld = 0; fld < TLS_RUN_FIELDS && rc == TLS_OK; fld++) {
        char name[48];
        snprintf(name, sizeof(name), "run_%s", tls_run_field_names[fld]);
        rc = read_str_array_attr(rd->file, name, &col[fld], &n[fld]);
    }
    H5Eset_auto2(H5E_DEFAULT, f, d);
    for (int i = 0; rc == TLS_OK && i < n[0]; i++) {
        tls_run run = {{0}};
        for (int fld = 0; fld < TLS_RUN_FIELDS; fld++)
            run.field[fld] = i < n[fld] ? col[fld][i] : "";
        rc = tls_runs_add(runs, &run);
    }
    for (int fld = 0; fld < TLS_RUN_FIELDS; fld++) {
        for (int i = 0; i < n[fld]; i++) free(col[fld][i]);
        free(col[fld]);
    }
    return rc;
}

static int64_t scale_len(hid_t f, const char *name) {
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return -1;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), sp = d >= 0 ? H5Dget_space(d) : -1;
    hssize_t n =
        sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return n >= 0 && n <= 2000000000 ? (int64_t)n : -1;
}

int tls_store_envelope(tls_store_reader *rd, tls_engine_params *env) {
    H5E_auto2_t f;
    void *d;
    H5Eget_auto2(H5E_DEFAULT, &f, &d);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    struct {
        const char *name;
        int *field;
    } dims[] = {{"true_class", &env->classes},
                {"epoch", &env->epochs},
                {"finetune_epoch", &env->finetune_epochs},
                {"source_point", &env->n_source},
                {"test_point", &env->n_test},
                {"feature", &env->features},
                {"input_dim", &env->dim}};
    for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
        int64_t n = scale_len(rd->file, dims[i].name);
        if (n >= 0) *dims[i].field = (int)n;
    }
    H5Eset_auto2(H5E_DEFAULT, f, d);
    return TLS_OK;
}

/* Checks one dataset's type class, size and dims. */
static int check_dataset(tls_store_reader *rd, hid_t d, const char *name, H5T_class_t cls,
                         size_t size, int nd, const hsize_t *dims, char *err) {
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hsize_t got[TLS_MAX_AXES + 3];
    int ok = t >= 0 && sp >= 0 && H5Tget_class(t) == cls && (size == 0 || H5Tget_size(t) == size) &&
             H5Sget_simple_extent_ndims(sp) == nd;
    if (ok) {
        H5Sget_simple_extent_dims(sp, got, NULL);
        for (int i = 0; i < nd; i++) ok &= got[i] == dims[i];
    }
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (!ok)
        return tls_input_error(err, rd->path, name,
                               "has another type or shape than the configuration implies; "
                               "allowed: a file written by tlsweep for this configuration");
    return TLS_OK;
}

int tls_store_check(tls_store_reader *rd, const tls_layout *L, char *err) {
    rd->L = L;
    const tls_config *c = L->c;
    H5E_auto2_t f;
    void *d;
    H5Eget_auto2(H5E_DEFAULT, &f, &d);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = TLS_OK;
    if (is_cube(L)) {
        rd->nconf = c->naxes;
        for (int a = 0; a < c->naxes; a++) rd->conf_dims[a] = (hsize_t)c->axis[a].n;
    } else {
        rd->nconf = 1;
        rd->conf_dims[0] = (hsize_t)L->count;
    }
    rd->nvars = vars_of(L, rd->v);
    for (int k = 0; k < rd->nvars && rc == TLS_OK; k++) {
        const var *x = &rd->v[k];
        char full[96];
        snprintf(full, sizeof(full), "%s%s", x->d->embeddings ? "embeddings/" : "", x->name);
        rd->dset[k] = (!x->d->embeddings || H5Lexists(rd->file, "embeddings", H5P_DEFAULT) > 0) &&
                              H5Lexists(rd->file, full, H5P_DEFAULT) > 0
                          ? H5Dopen2(rd->file, full, H5P_DEFAULT)
                          : H5I_INVALID_HID;
        if (rd->dset[k] < 0) {
            rc = tls_input_error(err, rd->path, full,
                                 "missing; allowed: a file written by "
                                 "tlsweep for this configuration");
            break;
        }
        hsize_t dims[TLS_MAX_AXES + 3];
        int nd = 0;
        for (int a = 0; a < rd->nconf; a++) dims[nd++] = rd->conf_dims[a];
        for (int t = 0; t < x->d->ntrail; t++) dims[nd++] = (hsize_t)trail_len(L, x->d->trail[t]);
        rc = check_dataset(rd, rd->dset[k], full,
                           x->d->type == TLS_T_F64 || x->d->type == TLS_T_F32 ? H5T_FLOAT
                                                                              : H5T_INTEGER,
                           x->esize, nd, dims, err);
    }
    if (rc == TLS_OK) {
        rd->reason = H5Lexists(rd->file, "reason", H5P_DEFAULT) > 0
                         ? H5Dopen2(rd->file, "reason", H5P_DEFAULT)
                         : H5I_INVALID_HID;
        if (rd->reason < 0)
            rc = tls_input_error(err, rd->path, "reason",
                                 "missing; allowed: a file written by "
                                 "tlsweep for this configuration");
        else
            rc = check_dataset(rd, rd->reason, "reason", H5T_STRING, 0, rd->nconf, rd->conf_dims,
                               err);
    }
    if (rc == TLS_OK) {
        /* the hosts table: read, bounded */
        hid_t hd = H5Lexists(rd->file, "hosts", H5P_DEFAULT) > 0
                       ? H5Dopen2(rd->file, "hosts", H5P_DEFAULT)
                       : H5I_INVALID_HID;
        hid_t sp = hd >= 0 ? H5Dget_space(hd) : H5I_INVALID_HID, st = str_vlen();
        hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
        rc = TLS_ERR_INPUT;
        if (n >= 0 && n < 1000000 && st >= 0) {
            rd->hosts = calloc((size_t)n + 1, sizeof(char *));
            char **tmp = calloc((size_t)n + 1, sizeof(char *));
            if (rd->hosts && tmp && H5Dread(hd, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) >= 0) {
                for (hssize_t i = 0; i < n; i++) rd->hosts[i] = strdup(tmp[i] ? tmp[i] : "");
                rd->nhosts = (int)n;
                H5Dvlen_reclaim(st, sp, H5P_DEFAULT, tmp);
                rc = TLS_OK;
            }
            free(tmp);
        }
        if (rc)
            tls_input_error(err, rd->path, "hosts",
                            "missing or unreadable; allowed: a file "
                            "written by tlsweep");
        if (st >= 0) H5Tclose(st);
        if (sp >= 0) H5Sclose(sp);
        if (hd >= 0) H5Dclose(hd);
    }
    H5Eset_auto2(H5E_DEFAULT, f, d);
    return rc;
}

int tls_store_read_status(tls_store_reader *rd, int8_t *status, char *reasons, size_t reason_len) {
    int k = 0;
    while (k < rd->nvars && strcmp(rd->v[k].name, "status")) k++;
    TLS_CHECK(k < rd->nvars &&
                  H5Dread(rd->dset[k], H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, status) >= 0,
              TLS_ERR_IO, "%s: cannot read status", rd->path);
    if (!reasons) return TLS_OK;
    int64_t n = rd->L->count;
    memset(reasons, 0, (size_t)n * reason_len);
    hid_t st = str_vlen(), sp = H5Dget_space(rd->reason);
    char **s = calloc((size_t)n, sizeof(char *));
    int ok =
        st >= 0 && sp >= 0 && s && H5Dread(rd->reason, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) >= 0;
    if (ok) {
        for (int64_t i = 0; i < n; i++)
            if (s[i]) snprintf(reasons + (size_t)i * reason_len, reason_len, "%s", s[i]);
        H5Dvlen_reclaim(st, sp, H5P_DEFAULT, s);
    }
    free(s);
    if (sp >= 0) H5Sclose(sp);
    if (st >= 0) H5Tclose(st);
    TLS_CHECK(ok, TLS_ERR_IO, "%s: cannot read reason", rd->path);
    return TLS_OK;
}

static int reader_prepare(void *ctx, int64_t lo, int64_t hi) {
    tls_store_reader *rd = ctx;
    const tls_layout *L = rd->L;
    int64_t n = hi - lo;
    if (n > rd->cap) {
        for (int k = 0; k < rd->nvars; k++) {
            free(rd->buf[k]);
            rd->buf[k] = malloc((size_t)n * (size_t)rd->v[k].elems * rd->v[k].esize + 1);
            TLS_CHECK(rd->buf[k], TLS_ERR_NOMEM, "out of memory");
        }
        if (rd->reasons)
            for (int64_t i = 0; i < rd->cap; i++) free(rd->reasons[i]);
        free(rd->reasons);
        rd->reasons = calloc((size_t)n, sizeof(char *));
        TLS_CHECK(rd->reasons, TLS_ERR_NOMEM, "out of memory");
        rd->cap = n;
    }
    for (int k = 0; k < rd->nvars; k++) {
        if (rd->v[k].elems == 0) continue;
        hsize_t trail[3];
        trail_dims(L, rd->v[k].d, trail);
        TLS_CHECK(var_io(rd->dset[k], 0, mem_type(rd->v[k].d->type), H5P_DEFAULT, L, rd->nconf,
                         rd->conf_dims, rd->v[k].d->ntrail, trail, rd->v[k].elems, lo, hi,
                         rd->buf[k]) >= 0,
                  TLS_ERR_IO, "%s: cannot read %s", rd->path, rd->v[k].name);
    }
    for (int64_t i = 0; i < rd->cap; i++) free(rd->reasons[i]), rd->reasons[i] = NULL;
    hid_t st = str_vlen();
    herr_t e = st < 0 ? -1
                      : var_io(rd->reason, 0, st, H5P_DEFAULT, L, rd->nconf, rd->conf_dims, 0, NULL,
                               1, lo, hi, rd->reasons);
    if (st >= 0) H5Tclose(st);
    TLS_CHECK(e >= 0, TLS_ERR_IO, "%s: cannot read reason", rd->path);
    rd->lo = lo;
    rd->hi = hi;
    return TLS_OK;
}

static int reader_get(void *ctx, int64_t pos, tls_record_meta *meta, tls_result *r, int *have) {
    tls_store_reader *rd = ctx;
    TLS_CHECK(pos >= rd->lo && pos < rd->hi, TLS_ERR_IO, "position %lld not prepared",
              (long long)pos);
    int32_t host = -1;
    tls_result_fill(r);
    memset(meta, 0, sizeof(*meta));
    frame_copy(rd->v, rd->nvars, rd->buf, pos - rd->lo, meta, r, 0, &host, 0);
    *have = r->s.status == TLS_STATUS_DONE || r->s.status == TLS_STATUS_FAILED;
    if (!*have) return TLS_OK;
    /* nothing read from disk is trusted */
    char why[160];
    TLS_CHECK(tls_result_check(r, why, sizeof(why)) == 0, TLS_ERR_IO, "%s: %s", rd->path, why);
    meta->index = tls_layout_index(rd->L, pos);
    if (host >= 0 && host < rd->nhosts)
        snprintf(meta->host, sizeof(meta->host), "%s", rd->hosts[host]);
    const char *reason = rd->reasons[pos - rd->lo];
    snprintf(r->s.reason, sizeof(r->s.reason), "%s", reason ? reason : "");
    return TLS_OK;
}

void tls_store_source(tls_store_reader *rd, tls_record_source *src) {
    src->prepare = reader_prepare;
    src->get = reader_get;
    src->ctx = rd;
}

int tls_store_hosts(tls_store_reader *rd, const char *const **hosts) {
    *hosts = (const char *const *)rd->hosts;
    return rd->nhosts;
}
