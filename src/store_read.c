#include "h5util.h"
#include "store_int.h"
#include "tlsweep/check.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    tls_svar v[TLS_MAX_VARS];
    hid_t dset[TLS_MAX_VARS];
    hid_t reason;
    unsigned char *buf[TLS_MAX_VARS];
    char **reasons; /* (block) read reasons */
    char **hosts;
    int nhosts;
    int64_t lo, hi, cap;
    char why[TLS_ERRMSG]; /* what was wrong with the last record refused */
};

/* A string root attribute ("" when absent). */
static const char *attr(tls_store_reader *rd, const char *name) {
    for (int i = 0; i < rd->nattr; i++)
        if (!strcmp(rd->attr_name[i], name)) return rd->attr_buf[i];
    if (rd->nattr == 32) return "";
    H5E_auto2_t f;
    void *d;
    H5Eget_auto2(H5E_DEFAULT, &f, &d);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char *v = tls_h5_read_str_attr(rd->file, name);
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
    m->part = (tls_part){.k = k, .n = n};
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
    for (int k = 0; k < TLS_MAX_VARS; k++) rd->dset[k] = H5I_INVALID_HID;
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
    for (int k = 0; k < TLS_MAX_VARS; k++) free(rd->buf[k]);
    if (rd->reasons)
        for (int64_t i = 0; i < rd->cap; i++) free(rd->reasons[i]);
    free(rd->reasons);
    for (int h = 0; h < rd->nhosts; h++) free(rd->hosts[h]);
    free(rd->hosts);
    TLS_FREE(*rdp);
}

int tls_store_config(tls_store_reader *rd, const char *path, const tls_config **c, char *err) {
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
        rc = tls_h5_read_str_array_attr(rd->file, name, &col[fld], &n[fld]);
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
        int64_t n = tls_h5_scale_len(rd->file, dims[i].name);
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
    if (tls_layout_is_cube(L)) {
        rd->nconf = c->naxes;
        for (int a = 0; a < c->naxes; a++) rd->conf_dims[a] = (hsize_t)c->axis[a].n;
    } else {
        rd->nconf = 1;
        rd->conf_dims[0] = (hsize_t)L->count;
    }
    rd->nvars = tls_store_vars(L, rd->v);
    for (int k = 0; k < rd->nvars && rc == TLS_OK; k++) {
        const tls_svar *x = &rd->v[k];
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
        for (int t = 0; t < x->d->ntrail; t++)
            dims[nd++] = (hsize_t)tls_layout_trail(L, x->d->trail[t]);
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
        hid_t sp = hd >= 0 ? H5Dget_space(hd) : H5I_INVALID_HID, st = tls_h5_str_vlen();
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
    hid_t st = tls_h5_str_vlen(), sp = H5Dget_space(rd->reason);
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

/* Checks the sum of variable x (NULL: reason), dataset d, against its crc32. */
static int verify_var(tls_store_reader *rd, hid_t d, const tls_svar *x, char *err) {
    const char *name = x ? x->name : "reason";
    char *want = tls_h5_read_str_attr(d, "crc32");
    uint64_t recorded = 0;
    int have = want && hex(want, 8, &recorded);
    free(want);
    if (!have)
        return tls_input_error(err, rd->path, name,
                               "no crc32 attribute (8 hex digits): written by a tlsweep that "
                               "recorded no checksums, or changed since; allowed: a part "
                               "written with checksums (run the part again: tlsweep run -o %s "
                               "--part %d/%d --force, with its configuration)",
                               rd->path, rd->meta.part.k, rd->meta.part.n);
    uint32_t sum = tls_store_sum_begin(rd->meta.config_hash, rd->meta.part, x);
    TLS_CHECK(tls_store_sum_read(d, x, rd->L, rd->nconf, rd->conf_dims, &sum) == TLS_OK, TLS_ERR_IO,
              "%s: cannot read %s", rd->path, name);
    if (sum != recorded)
        return tls_input_error(err, rd->path, name,
                               "its values' CRC-32 is %08x, the file records %08x: changed since "
                               "tlsweep wrote it (the values, or the file's part or config_hash); "
                               "allowed: the file as tlsweep wrote it",
                               (unsigned)sum, (unsigned)recorded);
    return TLS_OK;
}

/* Checks the counts the file records against its status variable. */
static int verify_counts(tls_store_reader *rd, char *err) {
    int64_t n = rd->L->count, count[4] = {0};
    int8_t *status = malloc((size_t)(n ? n : 1));
    TLS_CHECK(status, TLS_ERR_NOMEM, "out of memory reading %s", rd->path);
    int rc = tls_store_read_status(rd, status, NULL, 0);
    for (int64_t i = 0; rc == TLS_OK && i < n; i++)
        if (status[i] >= TLS_STATUS_PENDING && status[i] <= TLS_STATUS_NOT_NEEDED)
            count[status[i]]++;
    free(status);
    TLS_TRY(rc);
    const struct {
        const char *name;
        int64_t want;
    } attrs[] = {{"n_configs", n},
                 {"n_done", count[TLS_STATUS_DONE]},
                 {"n_failed", count[TLS_STATUS_FAILED]},
                 {"n_pending", count[TLS_STATUS_PENDING]},
                 {"complete", count[TLS_STATUS_PENDING] == 0},
                 {"n_not_needed", rd->L->c->decide.mode != TLS_MODE_GRID ? count[3] : -1}};
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        int64_t got = attr_int(rd, attrs[i].name, -1);
        if (got != attrs[i].want)
            return tls_input_error(err, rd->path, attrs[i].name,
                                   "%lld, but its status variable says %lld; allowed: the file "
                                   "as tlsweep wrote it",
                                   (long long)got, (long long)attrs[i].want);
    }
    return TLS_OK;
}

int tls_store_verify(tls_store_reader *rd, int share, int nshares, char *err) {
    H5E_auto2_t f;
    void *d;
    H5Eget_auto2(H5E_DEFAULT, &f, &d);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = share == 0 ? verify_counts(rd, err) : TLS_OK;
    for (int k = 0; k <= rd->nvars && rc == TLS_OK; k++)
        if ((k + 1) % nshares == share)
            rc = k < rd->nvars ? verify_var(rd, rd->dset[k], &rd->v[k], err)
                               : verify_var(rd, rd->reason, NULL, err);
    H5Eset_auto2(H5E_DEFAULT, f, d);
    return rc;
}

int tls_store_read_acc(tls_store_reader *rd, double *acc) {
    int64_t n = rd->L->count;
    double *one = malloc(sizeof(double) * (size_t)(n ? n : 1));
    TLS_CHECK(one, TLS_ERR_NOMEM, "out of memory reading %s", rd->path);
    int rc = TLS_OK;
    for (int k = 0; k < rd->nvars && rc == TLS_OK; k++) {
        const tls_svar *x = &rd->v[k];
        if (x->d->from != TLS_SRC_SCALARS || x->d->off != offsetof(tls_scalars, acc)) continue;
        if (H5Dread(rd->dset[k], H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, one) < 0) {
            rc = TLS_ERR_IO;
            break;
        }
        for (int64_t i = 0; i < n; i++) acc[i * TLS_NMETHODS + x->inst] = one[i];
    }
    free(one);
    TLS_CHECK(rc == TLS_OK, rc, "%s: cannot read the accuracies", rd->path);
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
        tls_store_trail_dims(L, rd->v[k].d, trail);
        TLS_CHECK(tls_store_var_io(rd->dset[k], 0, tls_h5_mem_type(rd->v[k].d->type), H5P_DEFAULT,
                                   L, rd->nconf, rd->conf_dims, rd->v[k].d->ntrail, trail,
                                   rd->v[k].elems, lo, hi, rd->buf[k]) >= 0,
                  TLS_ERR_IO, "%s: cannot read %s", rd->path, rd->v[k].name);
    }
    for (int64_t i = 0; i < rd->cap; i++) free(rd->reasons[i]), rd->reasons[i] = NULL;
    hid_t st = tls_h5_str_vlen();
    herr_t e = st < 0 ? -1
                      : tls_store_var_io(rd->reason, 0, st, H5P_DEFAULT, L, rd->nconf,
                                         rd->conf_dims, 0, NULL, 1, lo, hi, rd->reasons);
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
    tls_store_frame_copy(rd->v, rd->nvars, rd->buf, pos - rd->lo, meta, r, 0, &host, 0);
    *have = r->s.status == TLS_STATUS_DONE || r->s.status == TLS_STATUS_FAILED;
    /* nothing read from disk is trusted */
    char why[200] = "";
    if (r->s.status < TLS_STATUS_PENDING || r->s.status > TLS_STATUS_NOT_NEEDED)
        snprintf(why, sizeof(why), "status is %d, out of range", (int)r->s.status);
    else if (*have && tls_result_check(r, why, sizeof(why)) != 0) {
    }
    if (why[0]) {
        char desc[600];
        tls_grid_describe(rd->L->c, tls_layout_index(rd->L, pos), desc, sizeof(desc));
        return tls_input_error(rd->why, rd->path, "(values)",
                               "%s at %s; allowed: a file as tlsweep wrote it", why, desc);
    }
    if (!*have) return TLS_OK;
    meta->index = tls_layout_index(rd->L, pos);
    if (host >= 0 && host < rd->nhosts)
        snprintf(meta->host, sizeof(meta->host), "%s", rd->hosts[host]);
    const char *reason = rd->reasons[pos - rd->lo];
    snprintf(r->s.reason, sizeof(r->s.reason), "%s", reason ? reason : "");
    return TLS_OK;
}

static const char *reader_why(void *ctx) {
    return ((tls_store_reader *)ctx)->why;
}

void tls_store_source(tls_store_reader *rd, tls_record_source *src) {
    src->prepare = reader_prepare;
    src->get = reader_get;
    src->ctx = rd;
    src->why = reader_why;
}

int tls_store_hosts(tls_store_reader *rd, const char *const **hosts) {
    *hosts = (const char *const *)rd->hosts;
    return rd->nhosts;
}
