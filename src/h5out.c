#include "tlsweep/h5out.h"

#include "tlsweep/check.h"
#include "tlsweep/mmd.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <libsvm/svm.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* Checks an hid_t/herr_t result; on failure names the rank, file:line and call. */
#define H5CALL(expr)                                                                               \
    do {                                                                                           \
        if ((expr) < 0) {                                                                          \
            fprintf(stderr, "tlsweep: rank %d: %s:%d: HDF5 call failed: %s\n", world_rank(),       \
                    __FILE__, __LINE__, #expr);                                                    \
            return TLS_ERR_IO;                                                                     \
        }                                                                                          \
    } while (0)

static int world_rank(void) {
    int r = 0, init = 0;
    MPI_Initialized(&init);
    if (init) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

enum { T_F64, T_I8, T_I32, T_STR_HOST, T_STR_REASON };

/* A scalar metric: a (shift, lambda, n_target, seed) dataset. */
typedef struct {
    const char *name;
    int type;
    int from_meta; /* 1: the field is in tls_record_meta, else in tls_scalars */
    size_t off;
    const char *units;
    const char *desc;
} metric_def;

#define S(f) 0, offsetof(tls_scalars, f)
#define M(f) 1, offsetof(tls_record_meta, f)
static const metric_def METRICS[] = {
    {"acc_scratch", T_F64, S(acc[0]), "1",
     "target test accuracy of the RBF SVM trained on the labelled target points only"},
    {"acc_direct", T_F64, S(acc[1]), "1",
     "target test accuracy of the RBF SVM trained on the source (direct transfer)"},
    {"acc_mmd", T_F64, S(acc[2]), "1",
     "target test accuracy of the MLP trained with cross-entropy + lambda MMD^2, then fine-tuned"},
    {"mmd2_input", T_F64, S(mmd2_input), "1",
     "biased MMD^2 (RBF, mmd.gamma) between source and target test points in input space"},
    {"mmd2_feat_before", T_F64, S(mmd2_feat_before), "1",
     "MMD^2 between source and target test features at initialisation"},
    {"mmd2_feat_after", T_F64, S(mmd2_feat_after), "1",
     "MMD^2 between source and target test features after fine-tuning"},
    {"pad_input", T_F64, S(pad_input), "1",
     "proxy A-distance 2(1-2 err) of a linear SVM domain classifier in input space"},
    {"pad_feat", T_F64, S(pad_feat), "1", "proxy A-distance in feature space after fine-tuning"},
    {"negative_transfer", T_I8, S(negative_transfer), "1", "1 when acc_mmd < acc_scratch"},
    {"status", T_I8, S(status), "1", "0 pending, 1 done, 2 failed (see reason)"},
    {"reason", T_STR_REASON, S(reason), "", "why a configuration failed; empty when done"},
    {"seconds_scratch", T_F64, S(seconds[0]), "s", "wall time of the scratch SVM"},
    {"seconds_direct", T_F64, S(seconds[1]), "s", "wall time of the direct-transfer SVM"},
    {"seconds_mmd", T_F64, S(seconds[2]), "s", "wall time of MMD training and fine-tuning"},
    {"seconds_total", T_F64, M(seconds), "s", "wall time of the whole configuration"},
    {"rank", T_I32, M(rank), "1", "MPI rank that computed the configuration"},
    {"host", T_STR_HOST, M(host), "", "host name of that rank"},
};
#undef S
#undef M
enum { NMETRICS = sizeof(METRICS) / sizeof(METRICS[0]) };

enum {
    SC_SHIFT,
    SC_LAMBDA,
    SC_NTARGET,
    SC_SEED,
    SC_METHOD,
    SC_TRUE,
    SC_PRED,
    SC_EPOCH,
    SC_FTEPOCH,
    SC_SPOINT,
    SC_TPOINT,
    SC_FEATURE,
    SC_INDIM,
    NSCALES
};

/* One buffered record: what finish needs for the scalar datasets. */
typedef struct {
    tls_record_meta meta;
    tls_scalars s;
} buffered;

struct tls_h5out {
    hid_t file, emb;
    hid_t scale[NSCALES];
    hid_t metric[NMETRICS];
    hid_t confusion, ce_epoch, mmd_epoch, ft_epoch;
    hid_t e_src, e_tgt, x_src, x_tgt, y_src, y_tgt; /* in /embeddings, or invalid */
    const tls_config *c;
    hsize_t grid[TLS_NAXES];
    buffered *buf;
    size_t nbuf, capbuf;
    MPI_Comm comm;
};

static hid_t str_type(size_t len) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, len) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static int attr_str(hid_t loc, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5CALL(t);
    H5CALL(H5Tset_size(t, H5T_VARIABLE));
    H5CALL(H5Tset_cset(t, H5T_CSET_UTF8));
    hid_t sp = H5Screate(H5S_SCALAR);
    H5CALL(sp);
    if (H5Aexists(loc, name) > 0) H5CALL(H5Adelete(loc, name));
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5CALL(a);
    H5CALL(H5Awrite(a, t, &value));
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return TLS_OK;
}

static int attr_i64(hid_t loc, const char *name, long long v) {
    hid_t sp = H5Screate(H5S_SCALAR);
    H5CALL(sp);
    if (H5Aexists(loc, name) > 0) H5CALL(H5Adelete(loc, name));
    hid_t a = H5Acreate2(loc, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5CALL(a);
    int64_t x = v;
    H5CALL(H5Awrite(a, H5T_NATIVE_INT64, &x));
    H5Aclose(a);
    H5Sclose(sp);
    return TLS_OK;
}

static hid_t file_type(int t) {
    switch (t) {
    case T_F64:
        return H5Tcopy(H5T_IEEE_F64LE);
    case T_I8:
        return H5Tcopy(H5T_STD_I8LE);
    case T_I32:
        return H5Tcopy(H5T_STD_I32LE);
    case T_STR_HOST:
        return str_type(TLS_HOST_LEN);
    default:
        return str_type(sizeof(((tls_scalars *)0)->reason));
    }
}

/* Creates dataset `name` in loc with the given dims (scales attached in
 * order), optional chunk shape and fill value. Collective. */
static int make_var(hid_t *out, hid_t loc, const char *name, hid_t type, int nd,
                    const hsize_t *dims, const hid_t *scales, const hsize_t *chunk,
                    const void *fill, const char *units, const char *desc) {
    hsize_t total = 1;
    for (int i = 0; i < nd; i++) total *= dims[i];
    hid_t sp = H5Screate_simple(nd, dims, NULL);
    H5CALL(sp);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5CALL(dcpl);
    if (chunk && total > 0) H5CALL(H5Pset_chunk(dcpl, nd, chunk));
    H5CALL(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    if (fill && total > 0) {
        H5CALL(H5Pset_fill_value(dcpl, type, fill));
        H5CALL(H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC));
    } else {
        H5CALL(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    }
    hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5CALL(d);
    for (int i = 0; i < nd; i++)
        if (scales) H5CALL(H5DSattach_scale(d, scales[i], (unsigned)i));
    if (units) TLS_TRY(attr_str(d, "units", units));
    if (desc) TLS_TRY(attr_str(d, "long_name", desc));
    H5Pclose(dcpl);
    H5Sclose(sp);
    *out = d;
    return TLS_OK;
}

/* A 1-D coordinate dataset made a dimension scale; rank 0 writes its values. */
static int make_scale(tls_h5out *h, int which, const char *name, hid_t ftype, hid_t mtype,
                      hsize_t n, const void *values, const char *units, const char *desc) {
    TLS_TRY(make_var(&h->scale[which], h->file, name, ftype, 1, &n, NULL, NULL, NULL, units, desc));
    H5CALL(H5DSset_scale(h->scale[which], name));
    if (world_rank() == 0 && n > 0)
        H5CALL(H5Dwrite(h->scale[which], mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, values));
    return TLS_OK;
}

static int make_index_scale(tls_h5out *h, int which, const char *name, hsize_t n, int first,
                            const char *desc) {
    int32_t *v = malloc(sizeof(int32_t) * (n ? n : 1));
    TLS_CHECK(v, TLS_ERR_NOMEM, "out of memory");
    for (hsize_t i = 0; i < n; i++) v[i] = (int32_t)i + first;
    int rc = make_scale(h, which, name, H5T_STD_I32LE, H5T_NATIVE_INT32, n, v, "1", desc);
    free(v);
    return rc;
}

static int create_scales(tls_h5out *h) {
    const tls_config *c = h->c;
    const tls_engine_params *e = &c->eng;
    TLS_TRY(make_scale(h, SC_SHIFT, "shift", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                       c->axis[TLS_AXIS_SHIFT].n, c->axis[TLS_AXIS_SHIFT].v, "degree",
                       "rotation of the target domain"));
    TLS_TRY(make_scale(h, SC_LAMBDA, "lambda", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                       c->axis[TLS_AXIS_LAMBDA].n, c->axis[TLS_AXIS_LAMBDA].v, "1",
                       "weight of MMD^2 in the source training loss"));
    int n_nt = c->axis[TLS_AXIS_NTARGET].n, n_seed = c->axis[TLS_AXIS_SEED].n;
    int32_t nt[n_nt];
    int64_t seeds[n_seed];
    for (int i = 0; i < n_nt; i++) nt[i] = (int32_t)c->axis[TLS_AXIS_NTARGET].v[i];
    for (int i = 0; i < n_seed; i++) seeds[i] = (int64_t)c->axis[TLS_AXIS_SEED].v[i];
    TLS_TRY(make_scale(h, SC_NTARGET, "n_target", H5T_STD_I32LE, H5T_NATIVE_INT32, n_nt, nt, "1",
                       "labelled target points"));
    TLS_TRY(make_scale(h, SC_SEED, "seed", H5T_STD_I64LE, H5T_NATIVE_INT64, n_seed, seeds, "1",
                       "random seed (data, initialisation, batch order)"));
    char names[TLS_NMETHODS][8];
    for (int m = 0; m < TLS_NMETHODS; m++)
        snprintf(names[m], sizeof(names[m]), "%s", tls_method_names[m]);
    hid_t st = str_type(8);
    H5CALL(st);
    TLS_TRY(make_scale(
        h, SC_METHOD, "approach", st, st, TLS_NMETHODS, names, "",
        "scratch: SVM on target labels; direct: SVM on source; mmd: MLP + MMD, fine-tuned"));
    TLS_TRY(attr_str(h->scale[SC_METHOD], "_Encoding", "utf-8"));
    H5Tclose(st);
    TLS_TRY(make_index_scale(h, SC_TRUE, "true_class", e->classes, 0, "true class"));
    TLS_TRY(make_index_scale(h, SC_PRED, "pred_class", e->classes, 0, "predicted class"));
    TLS_TRY(make_index_scale(h, SC_EPOCH, "epoch", e->epochs, 1, "source training epoch"));
    TLS_TRY(make_index_scale(h, SC_FTEPOCH, "finetune_epoch", e->finetune_epochs, 1,
                             "fine-tuning epoch"));
    if (c->embeddings) {
        TLS_TRY(make_index_scale(h, SC_SPOINT, "source_point", e->n_source, 0, "source point"));
        TLS_TRY(make_index_scale(h, SC_TPOINT, "test_point", e->n_test, 0, "target test point"));
        TLS_TRY(make_index_scale(h, SC_FEATURE, "feature", e->features, 0, "embedding coordinate"));
        TLS_TRY(make_index_scale(h, SC_INDIM, "input_dim", e->dim, 0, "input coordinate"));
    }
    return TLS_OK;
}

static int create_vars(tls_h5out *h) {
    const tls_engine_params *e = &h->c->eng;
    hsize_t d[7];
    hid_t sc[7];
    for (int a = 0; a < TLS_NAXES; a++) d[a] = h->grid[a], sc[a] = h->scale[a];
    double nan = NAN;
    int8_t zero8 = 0;
    int32_t minus1 = -1;
    for (int k = 0; k < NMETRICS; k++) {
        const metric_def *md = &METRICS[k];
        hid_t t = file_type(md->type);
        H5CALL(t);
        const void *fill = md->type == T_F64   ? (const void *)&nan
                           : md->type == T_I8  ? (const void *)&zero8
                           : md->type == T_I32 ? (const void *)&minus1
                                               : NULL;
        TLS_TRY(make_var(&h->metric[k], h->file, md->name, t, 4, d, sc, NULL, fill, md->units,
                         md->desc));
        if (md->type == T_STR_HOST || md->type == T_STR_REASON)
            TLS_TRY(attr_str(h->metric[k], "_Encoding", "utf-8"));
        H5Tclose(t);
    }
    int32_t zero32 = 0;
    float nanf_ = NAN;
    hsize_t ch[7] = {1, 1, 1, 1, 0, 0, 0};
    d[4] = TLS_NMETHODS, d[5] = e->classes, d[6] = e->classes;
    sc[4] = h->scale[SC_METHOD], sc[5] = h->scale[SC_TRUE], sc[6] = h->scale[SC_PRED];
    TLS_TRY(make_var(&h->confusion, h->file, "confusion", H5T_STD_I32LE, 7, d, sc, NULL, &zero32,
                     "1",
                     "confusion matrix counts on the target test set [method, true, predicted]"));
    d[4] = e->epochs, sc[4] = h->scale[SC_EPOCH];
    TLS_TRY(make_var(&h->ce_epoch, h->file, "ce_epoch", H5T_IEEE_F32LE, 5, d, sc, NULL, &nanf_,
                     "nat", "mean source cross-entropy per epoch"));
    TLS_TRY(make_var(&h->mmd_epoch, h->file, "mmd2_epoch", H5T_IEEE_F32LE, 5, d, sc, NULL, &nanf_,
                     "1", "mean MMD^2 between source batches and target test features per epoch"));
    d[4] = e->finetune_epochs, sc[4] = h->scale[SC_FTEPOCH];
    TLS_TRY(make_var(&h->ft_epoch, h->file, "finetune_ce", H5T_IEEE_F32LE, 5, d, sc, NULL, &nanf_,
                     "nat", "cross-entropy on the labelled target points per fine-tuning epoch"));
    h->emb = h->e_src = h->e_tgt = h->x_src = h->x_tgt = h->y_src = h->y_tgt = H5I_INVALID_HID;
    if (!h->c->embeddings) return TLS_OK;
    h->emb = H5Gcreate2(h->file, "embeddings", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5CALL(h->emb);
    /* one chunk per configuration; not filled: pending entries are undefined */
    struct {
        hid_t *id;
        const char *name;
        int pts, last;
        hid_t type;
        const char *units, *desc;
    } arr[] = {
        {&h->e_src, "source_features", SC_SPOINT, SC_FEATURE, H5T_IEEE_F32LE, "1",
         "source embeddings after training"},
        {&h->e_tgt, "target_features", SC_TPOINT, SC_FEATURE, H5T_IEEE_F32LE, "1",
         "target test embeddings after training"},
        {&h->x_src, "source_x", SC_SPOINT, SC_INDIM, H5T_IEEE_F32LE, "1", "source inputs"},
        {&h->x_tgt, "target_x", SC_TPOINT, SC_INDIM, H5T_IEEE_F32LE, "1", "target test inputs"},
        {&h->y_src, "source_y", SC_SPOINT, -1, H5T_STD_I32LE, "1", "source labels"},
        {&h->y_tgt, "target_y", SC_TPOINT, -1, H5T_STD_I32LE, "1", "target test labels"},
    };
    for (size_t i = 0; i < sizeof(arr) / sizeof(arr[0]); i++) {
        int nd = arr[i].last >= 0 ? 6 : 5;
        hsize_t n = arr[i].pts == SC_SPOINT ? (hsize_t)e->n_source : (hsize_t)e->n_test;
        d[4] = n, sc[4] = h->scale[arr[i].pts], ch[4] = n;
        if (nd == 6) {
            d[5] = arr[i].last == SC_FEATURE ? (hsize_t)e->features : (hsize_t)e->dim;
            sc[5] = h->scale[arr[i].last], ch[5] = d[5];
        }
        TLS_TRY(make_var(arr[i].id, h->emb, arr[i].name, arr[i].type, nd, d, sc, ch, NULL,
                         arr[i].units, arr[i].desc));
    }
    return TLS_OK;
}

int tls_h5out_hints(MPI_Info *info, const char *spec) {
    *info = MPI_INFO_NULL;
    if (!spec || !*spec) return TLS_OK;
    char buf[1024];
    if (strlen(spec) >= sizeof(buf)) {
        fprintf(stderr,
                "tlsweep: TLSWEEP_MPIIO_HINTS: %zu characters, longer than %zu; allowed: fewer "
                "KEY=VALUE pairs, e.g. romio_cb_write=enable,striping_factor=8\n",
                strlen(spec), sizeof(buf) - 1);
        return TLS_ERR_INPUT;
    }
    snprintf(buf, sizeof(buf), "%s", spec);
    MPI_Info_create(info);
    char *save = NULL;
    for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv || eq[1] == '\0') {
            fprintf(stderr,
                    "tlsweep: TLSWEEP_MPIIO_HINTS: '%s' is not KEY=VALUE; allowed: e.g. "
                    "romio_cb_write=enable,striping_factor=8\n",
                    kv);
            MPI_Info_free(info);
            return TLS_ERR_INPUT;
        }
        *eq = '\0';
        MPI_Info_set(*info, kv, eq + 1);
    }
    return TLS_OK;
}

int tls_h5out_create(tls_h5out **out, const char *path, MPI_Comm comm, const tls_config *c) {
    *out = NULL;
    tls_h5out *h;
    TLS_ALLOC(h, 1);
    h->c = c;
    h->comm = comm;
    for (int a = 0; a < TLS_NAXES; a++) h->grid[a] = (hsize_t)c->axis[a].n;
    for (int i = 0; i < NSCALES; i++) h->scale[i] = H5I_INVALID_HID;
    *out = h; /* so that the caller's close frees it even on failure */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5CALL(fapl);
    MPI_Info info = MPI_INFO_NULL;
    TLS_TRY(tls_h5out_hints(&info, getenv("TLSWEEP_MPIIO_HINTS")));
    herr_t st = H5Pset_fapl_mpio(fapl, comm, info);
    if (info != MPI_INFO_NULL) MPI_Info_free(&info);
    H5CALL(st);
    H5CALL(H5Pset_coll_metadata_write(fapl, 1));
    h->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    H5CALL(h->file);
    TLS_TRY(create_scales(h));
    TLS_TRY(create_vars(h));
    char *yaml = tls_config_yaml(c);
    TLS_CHECK(yaml, TLS_ERR_NOMEM, "out of memory");
    char hash[32];
    snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)tls_config_hash(c));
    int rc = attr_str(h->file, "config_yaml", yaml);
    free(yaml);
    TLS_TRY(rc);
    TLS_TRY(attr_str(h->file, "config_hash", hash));
    TLS_TRY(attr_str(h->file, "config_source", c->source));
    TLS_TRY(
        attr_str(h->file, "title",
                 "tlsweep: transfer learning sweep (scratch SVM, direct SVM, MMD-adapted MLP)"));
    TLS_TRY(attr_str(h->file, "tlsweep_version", TLSWEEP_VERSION));
    TLS_TRY(attr_str(h->file, "format", "tlsweep-results-1 (docs/FORMAT.md)"));
    if (c->data_source[0]) {
        char crc[16];
        TLS_TRY(attr_str(h->file, "data_source", c->data_source));
        snprintf(crc, sizeof(crc), "%08x", (unsigned)c->data_crc[0]);
        TLS_TRY(attr_str(h->file, "data_source_crc32", crc));
        TLS_TRY(attr_str(h->file, "data_target", c->data_target));
        snprintf(crc, sizeof(crc), "%08x", (unsigned)c->data_crc[1]);
        TLS_TRY(attr_str(h->file, "data_target_crc32", crc));
    }
    TLS_TRY(attr_str(h->file, "data_mode",
                     !c->data_source[0]      ? "synthetic Gaussian domains"
                     : c->image_shape.n == 2 ? "image files: shift rotates target images"
                                             : "files: shift rotates the first two coordinates"));
    return TLS_OK;
}

static void grid_coords(const tls_h5out *h, int64_t idx, hsize_t *c4) {
    for (int a = TLS_NAXES - 1; a >= 0; a--) {
        c4[a] = (hsize_t)(idx % (int64_t)h->grid[a]);
        idx /= (int64_t)h->grid[a];
    }
}

/* Writes one configuration's slab [c4, 0...] of a dataset of rank nd. */
static int write_slab(hid_t d, const hsize_t *c4, int nd, hid_t mtype, const void *data) {
    if (d == H5I_INVALID_HID) return TLS_OK;
    hsize_t start[7] = {0}, count[7] = {1, 1, 1, 1, 1, 1, 1}, dims[7];
    hid_t fs = H5Dget_space(d);
    H5CALL(fs);
    H5CALL(H5Sget_simple_extent_dims(fs, dims, NULL));
    hsize_t n = 1;
    for (int i = 0; i < nd; i++) {
        start[i] = i < TLS_NAXES ? c4[i] : 0;
        count[i] = i < TLS_NAXES ? 1 : dims[i];
        if (i >= TLS_NAXES) n *= dims[i];
    }
    if (n > 0) {
        H5CALL(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL));
        hid_t ms = H5Screate_simple(1, &n, NULL);
        H5CALL(ms);
        H5CALL(H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, data));
        H5Sclose(ms);
    }
    H5Sclose(fs);
    return TLS_OK;
}

int tls_h5out_write_record(tls_h5out *h, const tls_record_meta *meta, const tls_result *r) {
    if (h->nbuf == h->capbuf) {
        size_t cap = h->capbuf ? 2 * h->capbuf : 64;
        buffered *b = realloc(h->buf, cap * sizeof(*b));
        TLS_CHECK(b, TLS_ERR_NOMEM, "out of memory buffering %zu results", cap);
        h->buf = b;
        h->capbuf = cap;
    }
    h->buf[h->nbuf].meta = *meta;
    h->buf[h->nbuf].s = r->s;
    if (r->s.status != TLS_STATUS_DONE) {
        /* a failed configuration has no results: NaN, never numbers that look like data */
        tls_scalars *s = &h->buf[h->nbuf].s;
        for (int m = 0; m < TLS_NMETHODS; m++) s->acc[m] = NAN;
        s->mmd2_input = s->mmd2_feat_before = s->mmd2_feat_after = NAN;
        s->pad_input = s->pad_feat = NAN;
        s->negative_transfer = 0;
    }
    h->nbuf++;
    if (r->s.status != TLS_STATUS_DONE) return TLS_OK; /* a failed run has no arrays */
    hsize_t c4[TLS_NAXES];
    grid_coords(h, meta->index, c4);
    TLS_TRY(write_slab(h->confusion, c4, 7, H5T_NATIVE_INT32, r->confusion));
    TLS_TRY(write_slab(h->ce_epoch, c4, 5, H5T_NATIVE_FLOAT, r->ce_epoch));
    TLS_TRY(write_slab(h->mmd_epoch, c4, 5, H5T_NATIVE_FLOAT, r->mmd_epoch));
    TLS_TRY(write_slab(h->ft_epoch, c4, 5, H5T_NATIVE_FLOAT, r->ft_epoch));
    TLS_TRY(write_slab(h->e_src, c4, 6, H5T_NATIVE_FLOAT, r->emb_source));
    TLS_TRY(write_slab(h->e_tgt, c4, 6, H5T_NATIVE_FLOAT, r->emb_target));
    TLS_TRY(write_slab(h->x_src, c4, 6, H5T_NATIVE_FLOAT, r->x_source));
    TLS_TRY(write_slab(h->x_tgt, c4, 6, H5T_NATIVE_FLOAT, r->x_target));
    TLS_TRY(write_slab(h->y_src, c4, 5, H5T_NATIVE_INT32, r->y_source));
    TLS_TRY(write_slab(h->y_tgt, c4, 5, H5T_NATIVE_INT32, r->y_target));
    return TLS_OK;
}

/* Writes every buffered record's value of one metric with a point selection. */
static int write_metric(tls_h5out *h, int k, const hsize_t *coords) {
    const metric_def *md = &METRICS[k];
    if (h->nbuf == 0) return TLS_OK;
    size_t esz = md->type == T_F64        ? 8
                 : md->type == T_I8       ? 1
                 : md->type == T_I32      ? 4
                 : md->type == T_STR_HOST ? TLS_HOST_LEN
                                          : sizeof(((tls_scalars *)0)->reason);
    unsigned char *vals = malloc(esz * h->nbuf);
    TLS_CHECK(vals, TLS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < h->nbuf; i++) {
        const unsigned char *base = md->from_meta ? (const unsigned char *)&h->buf[i].meta
                                                  : (const unsigned char *)&h->buf[i].s;
        const unsigned char *src = base + md->off;
        if (md->type == T_I8) {
            int8_t v = (int8_t) * (const int32_t *)src; /* stored as int32 in memory */
            memcpy(vals + i * esz, &v, 1);
        } else {
            memcpy(vals + i * esz, src, esz);
        }
    }
    hid_t mt = md->type == T_F64   ? H5Tcopy(H5T_NATIVE_DOUBLE)
               : md->type == T_I8  ? H5Tcopy(H5T_NATIVE_INT8)
               : md->type == T_I32 ? H5Tcopy(H5T_NATIVE_INT32)
                                   : file_type(md->type);
    hid_t fs = H5Dget_space(h->metric[k]);
    hsize_t n = h->nbuf;
    hid_t ms = H5Screate_simple(1, &n, NULL);
    int rc = TLS_OK;
    if (mt < 0 || fs < 0 || ms < 0 || H5Sselect_elements(fs, H5S_SELECT_SET, h->nbuf, coords) < 0 ||
        H5Dwrite(h->metric[k], mt, ms, fs, H5P_DEFAULT, vals) < 0) {
        fprintf(stderr, "tlsweep: rank %d: %s:%d: cannot write dataset %s\n", world_rank(),
                __FILE__, __LINE__, md->name);
        rc = TLS_ERR_IO;
    }
    H5Sclose(ms);
    H5Sclose(fs);
    H5Tclose(mt);
    free(vals);
    return rc;
}

static const char *mpi_version(void) {
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    char *nl = strchr(v, '\n');
    if (nl) *nl = '\0';
    char *comma = strchr(v, ',');
    if (comma) *comma = '\0';
    return v;
}

extern char *openblas_get_config(void);

int tls_h5out_finish(tls_h5out *h, const tls_run_info *info, int64_t *ndone, int64_t *nfailed) {
    hsize_t *coords = malloc(sizeof(hsize_t) * TLS_NAXES * (h->nbuf ? h->nbuf : 1));
    TLS_CHECK(coords, TLS_ERR_NOMEM, "out of memory");
    long long counts[2] = {0, 0};
    for (size_t i = 0; i < h->nbuf; i++) {
        grid_coords(h, h->buf[i].meta.index, coords + TLS_NAXES * i);
        counts[0] += h->buf[i].s.status == TLS_STATUS_DONE;
        counts[1] += h->buf[i].s.status == TLS_STATUS_FAILED;
    }
    int rc = TLS_OK;
    for (int k = 0; k < NMETRICS && rc == TLS_OK; k++) rc = write_metric(h, k, coords);
    free(coords);
    int local_ok = rc == TLS_OK, all_ok = 0;
    MPI_Allreduce(&local_ok, &all_ok, 1, MPI_INT, MPI_LAND, h->comm);
    if (!all_ok) return TLS_ERR_IO;
    long long total[2];
    MPI_Allreduce(counts, total, 2, MPI_LONG_LONG, MPI_SUM, h->comm);
    *ndone = total[0];
    *nfailed = total[1];
    long long n = (long long)tls_config_grid_size(h->c);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    char v[64];
    TLS_TRY(attr_str(h->file, "started", info->started));
    TLS_TRY(attr_str(h->file, "finished", info->finished));
    TLS_TRY(attr_i64(h->file, "nranks", info->nranks));
    TLS_TRY(attr_i64(h->file, "runs", info->runs));
    TLS_TRY(attr_i64(h->file, "n_configs", n));
    TLS_TRY(attr_i64(h->file, "n_done", total[0]));
    TLS_TRY(attr_i64(h->file, "n_failed", total[1]));
    TLS_TRY(attr_i64(h->file, "n_pending", n - total[0] - total[1]));
    TLS_TRY(attr_i64(h->file, "complete", total[0] + total[1] == n));
    snprintf(v, sizeof(v), "%u.%u.%u", maj, min, rel);
    TLS_TRY(attr_str(h->file, "hdf5_version", v));
    TLS_TRY(attr_str(h->file, "mpi_version", mpi_version()));
    TLS_TRY(attr_str(h->file, "openblas_config", openblas_get_config()));
    TLS_TRY(attr_str(h->file, "mmd_kernel", tls_mmd_kernel()));
    snprintf(v, sizeof(v), "%d", LIBSVM_VERSION);
    TLS_TRY(attr_str(h->file, "libsvm_version", v));
    return TLS_OK;
}

int tls_h5out_close(tls_h5out **hp) {
    tls_h5out *h = *hp;
    if (!h) return TLS_OK;
    hid_t ids[] = {h->confusion, h->ce_epoch, h->mmd_epoch, h->ft_epoch, h->e_src, h->e_tgt,
                   h->x_src,     h->x_tgt,    h->y_src,     h->y_tgt,    h->emb};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (ids[i] > 0) H5Oclose(ids[i]);
    for (int k = 0; k < NMETRICS; k++)
        if (h->metric[k] > 0) H5Dclose(h->metric[k]);
    for (int i = 0; i < NSCALES; i++)
        if (h->scale[i] > 0) H5Dclose(h->scale[i]);
    int rc = TLS_OK;
    if (h->file > 0 && H5Fclose(h->file) < 0) {
        fprintf(stderr, "tlsweep: rank %d: cannot close the results file\n", world_rank());
        rc = TLS_ERR_IO;
    }
    free(h->buf);
    TLS_FREE(*hp);
    return rc;
}

int tls_h5out_read_attr(const char *path, const char *name, char *buf, size_t len) {
    H5E_auto2_t func;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = TLS_ERR_IO;
    hid_t f = H5I_INVALID_HID, a = H5I_INVALID_HID, t = H5I_INVALID_HID;
    snprintf(buf, len, "not an HDF5 file");
    if (H5Fis_hdf5(path) <= 0) goto cleanup;
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) goto cleanup;
    snprintf(buf, len, "an HDF5 file without the '%s' attribute of a tlsweep results file", name);
    if (H5Aexists(f, name) <= 0) goto cleanup;
    a = H5Aopen(f, name, H5P_DEFAULT);
    t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *s = NULL;
    if (a < 0 || H5Aread(a, t, &s) < 0 || !s) goto cleanup;
    snprintf(buf, len, "%s", s);
    H5free_memory(s);
    rc = TLS_OK;
cleanup:
    if (t > 0) H5Tclose(t);
    if (a > 0) H5Aclose(a);
    if (f > 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, func, data);
    return rc;
}

static int read_1d(hid_t f, const char *name, double **out, int *n) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    H5CALL(d);
    hid_t s = H5Dget_space(d);
    hsize_t len = 0;
    H5Sget_simple_extent_dims(s, &len, NULL);
    *n = (int)len;
    *out = malloc(sizeof(double) * (len ? len : 1));
    int rc = *out && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0
                 ? TLS_OK
                 : TLS_ERR_IO;
    H5Sclose(s);
    H5Dclose(d);
    return rc;
}

int tls_h5out_read_status(const char *path, tls_h5status *st) {
    memset(st, 0, sizeof(*st));
    H5E_auto2_t func;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = TLS_ERR_IO;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5I_INVALID_HID, t = H5I_INVALID_HID;
    if (f < 0) goto cleanup;
    const char *names[TLS_NAXES] = {"shift", "lambda", "n_target", "seed"};
    st->n = 1;
    for (int a = 0; a < TLS_NAXES; a++) {
        if (read_1d(f, names[a], &st->axis[a], &st->axis_n[a]) != TLS_OK) goto cleanup;
        st->n *= st->axis_n[a];
    }
    st->status = malloc((size_t)st->n);
    st->reason_len = sizeof(((tls_scalars *)0)->reason);
    st->reasons = calloc((size_t)st->n, st->reason_len);
    if (!st->status || !st->reasons) goto cleanup;
    d = H5Dopen2(f, "status", H5P_DEFAULT);
    if (d < 0 || H5Dread(d, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, st->status) < 0)
        goto cleanup;
    H5Dclose(d);
    t = str_type(st->reason_len);
    d = H5Dopen2(f, "reason", H5P_DEFAULT);
    if (d < 0 || H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, st->reasons) < 0) goto cleanup;
    rc = TLS_OK;
cleanup:
    if (t > 0) H5Tclose(t);
    if (d > 0) H5Dclose(d);
    if (f > 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, func, data);
    if (rc) tls_h5status_free(st);
    return rc;
}

void tls_h5status_free(tls_h5status *st) {
    free(st->status);
    free(st->reasons);
    for (int a = 0; a < TLS_NAXES; a++) free(st->axis[a]);
    memset(st, 0, sizeof(*st));
}
