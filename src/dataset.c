#include "tlsweep/dataset.h"

#include "tlsweep/check.h"
#include "tlsweep/config.h"
#include "tlsweep/grid.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* A bad data file: "PATH: KEY: what; allowed: ...". */
static int bad(char *err, const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(char *err, const char *path, const char *key, const char *fmt, ...) {
    char full[256];
    snprintf(full, sizeof(full),
             "%s; allowed: an HDF5 file with a float dataset X (n, dim) and an "
             "integer dataset y (n) with labels 0..classes-1",
             fmt);
    va_list ap;
    va_start(ap, fmt);
    int rc = tls_input_verror(err, path, key, full, ap);
    va_end(ap);
    return rc;
}

static int file_crc(const char *path, uint32_t *crc, long long *bytes) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char buf[65536];
    uLong c = crc32(0L, Z_NULL, 0);
    size_t n;
    *bytes = 0;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        c = crc32(c, buf, (uInt)n);
        *bytes += (long long)n;
    }
    fclose(f);
    *crc = (uint32_t)c;
    return 0;
}

/* Whether path is a regular file this process can read; else the one-line
 * message in err. */
static int readable_file(const char *path, const char *key, char *err) {
    struct stat st;
    if (stat(path, &st) != 0)
        return bad(err, path, key, "cannot read the file: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return bad(err, path, key, "not a regular file (%s)",
                   S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
    FILE *probe = fopen(path, "rb");
    if (!probe) return bad(err, path, key, "cannot read the file: %s", strerror(errno));
    fclose(probe);
    return TLS_OK;
}

/* The shape of X (n, dim) into xd, after checking that X is numeric with 2
 * dimensions in bounds and y integer labels, one per row. */
static int dataset_shape(hid_t dx, hid_t dy, const char *path, const char *key, hsize_t xd[2],
                         char *err) {
    hid_t sx = H5Dget_space(dx), sy = H5Dget_space(dy);
    hsize_t yd[1] = {0};
    int xr = H5Sget_simple_extent_ndims(sx), yr = H5Sget_simple_extent_ndims(sy);
    if (xr == 2) H5Sget_simple_extent_dims(sx, xd, NULL);
    if (yr == 1) H5Sget_simple_extent_dims(sy, yd, NULL);
    H5Sclose(sx), H5Sclose(sy);
    if (xr != 2) return bad(err, path, key, "X has %d dimensions, not 2 (n, dim)", xr);
    if (yr != 1) return bad(err, path, key, "y has %d dimensions, not 1 (n)", yr);
    if (xd[0] != yd[0])
        return bad(err, path, key, "X has %llu rows but y has %llu labels",
                   (unsigned long long)xd[0], (unsigned long long)yd[0]);
    if (xd[0] < 1 || xd[1] < 2 || xd[0] > 100000000ULL || xd[1] > 100000ULL)
        return bad(err, path, key,
                   "X is (%llu, %llu); it needs at least 1 row and 2 to 100000 columns",
                   (unsigned long long)xd[0], (unsigned long long)xd[1]);
    hid_t xt = H5Dget_type(dx), yt = H5Dget_type(dy);
    H5T_class_t xc = H5Tget_class(xt), yc = H5Tget_class(yt);
    H5Tclose(xt), H5Tclose(yt);
    if (xc != H5T_FLOAT && xc != H5T_INTEGER) return bad(err, path, key, "X is not numeric");
    if (yc != H5T_INTEGER) return bad(err, path, key, "y is not an integer dataset");
    return TLS_OK;
}

/* Whether every value of X is finite and every label in 0..classes - 1. */
static int check_values(const tls_points *p, int classes, const char *path, const char *key,
                        char *err) {
    for (size_t i = 0; i < (size_t)p->n * p->dim; i++)
        if (!isfinite(p->X[i]))
            return bad(err, path, key, "X[%zu, %zu] is not finite", i / p->dim, i % p->dim);
    for (int i = 0; i < p->n; i++)
        if (p->y[i] < 0 || p->y[i] >= classes)
            return bad(err, path, key, "y[%d] = %d is outside 0..%d (data.classes = %d)", i,
                       p->y[i], classes - 1, classes);
    return TLS_OK;
}

int tls_dataset_load(tls_dataset **out, const char *path, const char *key, int classes, char *err) {
    *out = NULL;
    H5E_auto2_t func;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5I_INVALID_HID, dx = H5I_INVALID_HID, dy = H5I_INVALID_HID;
    tls_dataset *d = NULL;
    hsize_t xd[2] = {0, 0};
    int rc = readable_file(path, key, err);
    if (rc != TLS_OK) goto cleanup;
    rc = TLS_ERR_INPUT;
    if (H5Fis_hdf5(path) <= 0 || (f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        rc = bad(err, path, key, "not an HDF5 file");
        goto cleanup;
    }
    if (H5Lexists(f, "X", H5P_DEFAULT) <= 0 || (dx = H5Dopen2(f, "X", H5P_DEFAULT)) < 0) {
        rc = bad(err, path, key, "no dataset X");
        goto cleanup;
    }
    if (H5Lexists(f, "y", H5P_DEFAULT) <= 0 || (dy = H5Dopen2(f, "y", H5P_DEFAULT)) < 0) {
        rc = bad(err, path, key, "no dataset y");
        goto cleanup;
    }
    if ((rc = dataset_shape(dx, dy, path, key, xd, err)) != TLS_OK) goto cleanup;
    d = calloc(1, sizeof(*d));
    if (!d) goto nomem;
    d->X = malloc(sizeof(float) * xd[0] * xd[1]);
    d->y = malloc(sizeof(int) * xd[0]);
    if (!d->X || !d->y) goto nomem;
    if (H5Dread(dx, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->X) < 0 ||
        H5Dread(dy, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->y) < 0) {
        rc = bad(err, path, key, "cannot read X or y");
        goto cleanup;
    }
    d->pts = (tls_points){d->X, d->y, (int)xd[0], (int)xd[1]};
    if ((rc = check_values(&d->pts, classes, path, key, err)) != TLS_OK) goto cleanup;
    snprintf(d->path, sizeof(d->path), "%s", path);
    if (file_crc(path, &d->crc32, &d->bytes) != 0) {
        rc = bad(err, path, key, "cannot read the file: %s", strerror(errno));
        goto cleanup;
    }
    rc = TLS_OK;
    goto cleanup;
nomem:
    rc = bad(err, path, key, "out of memory for %llu x %llu values", (unsigned long long)xd[0],
             (unsigned long long)xd[1]);
cleanup:
    if (dx > 0) H5Dclose(dx);
    if (dy > 0) H5Dclose(dy);
    if (f > 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, func, data);
    if (rc == TLS_OK)
        *out = d;
    else
        tls_dataset_destroy(&d);
    return rc;
}

void tls_dataset_destroy(tls_dataset **d) {
    if (!*d) return;
    free((*d)->X);
    free((*d)->y);
    TLS_FREE(*d);
}

void tls_data_files_bind(const void *ctx, tls_engine_params *e) {
    const tls_data_files *f = ctx;
    if (!f || !f->source) return;
    const tls_points *S = &f->source->pts, *T = &f->target->pts;
    if (e->n_source < 0) e->n_source = S->n;
    if (e->n_test < 0) e->n_test = T->n - f->max_n_target;
    e->dim = S->dim;
    e->source_data = S;
    e->target_data = T;
    e->image_h = f->image_h;
    e->image_w = f->image_w;
    e->std_mean = e->standardize ? f->stats : NULL;
    e->std_scale = e->standardize ? f->stats + S->dim : NULL;
}

/* With data.shift_kind label, every share of the grid must find its class counts in the
 * target file: n_target's labelled points and n_test's test points of each class
 * (tls_data_label_counts), for the largest n_test and every n_target. */
static int check_label_shift(const tls_config *c, const tls_points *T, int C, int n_test,
                             int max_nt, char *err) {
    int label = c->base.eng.shift_kind == TLS_SHIFT_LABEL;
    for (int a = TLS_NAMED_AXES; a < c->naxes; a++)
        if (!strcmp(c->axis[a].key_name, "data.shift_kind"))
            for (int i = 0; i < c->axis[a].n; i++)
                label |= *(const int *)(c->axis[a].vals + (size_t)i * c->axis[a].size) ==
                         TLS_SHIFT_LABEL;
    if (!label) return TLS_OK;
    if (n_test < 0) {
        snprintf(err, TLS_ERRMSG,
                 "data.n_test: all, with data.shift_kind label; allowed: a number, which every "
                 "class of %s can supply at every share of class 0 in the grid",
                 c->data_target);
        return TLS_ERR_INPUT;
    }
    int *have = calloc(3 * (size_t)C, sizeof(int)), *lab = have + C, *test = have + 2 * C;
    if (!have) {
        snprintf(err, TLS_ERRMSG, "data.shift_kind: out of memory; allowed: -");
        return TLS_ERR_INPUT;
    }
    for (int i = 0; i < T->n; i++) have[T->y[i]]++;
    const tls_axis *sh = &c->axis[TLS_AXIS_SHIFT], *nt = &c->axis[TLS_AXIS_NTARGET];
    int rc = TLS_OK;
    for (int i = 0; i < sh->n && rc == TLS_OK; i++)
        for (int j = 0; j < nt->n && rc == TLS_OK; j++) {
            int nl = (int)nt->inum[j];
            if (nl > max_nt) continue;
            tls_data_label_counts(lab, nl, C, sh->num[i], 1);
            tls_data_label_counts(test, n_test, C, sh->num[i], 0);
            for (int k = 0; k < C && rc == TLS_OK; k++)
                if (lab[k] + test[k] > have[k]) {
                    snprintf(err, TLS_ERRMSG,
                             "%s: data.target: class %d has %d points, fewer than the %d "
                             "labelled (n_target = %d) and %d test points (n_test = %d) that "
                             "the label shift %g needs; allowed: a smaller data.n_test or "
                             "n_target, or shares every class can supply",
                             c->data_target, k, have[k], lab[k], nl, test[k], n_test, sh->num[i]);
                    rc = TLS_ERR_INPUT;
                }
        }
    free(have);
    return rc;
}

/* Whether P's labels are all below Cmin, the smallest data.classes of the
 * grid: a configuration with fewer classes would train and score on labels
 * it does not have. */
static int labels_within(const tls_points *P, int Cmin, const char *path, const char *key,
                         char *err) {
    int top = -1;
    for (int i = 0; i < P->n; i++)
        if (P->y[i] > top) top = P->y[i];
    if (top < Cmin) return TLS_OK;
    return tls_input_error(err, path, key,
                           "labels go up to %d, but grid.data.classes includes %d (its "
                           "configurations would train and score on labels they do not "
                           "have); allowed: data.classes of at least %d with these files",
                           top, Cmin, top + 1);
}

/* The source's per-column mean and standard deviation, (2, dim): what
 * data.standardize subtracts and divides by; NULL when out of memory. */
static float *source_stats(const tls_points *S) {
    float *st = calloc(2 * (size_t)S->dim, sizeof(float));
    if (!st) return NULL;
    for (int j = 0; j < S->dim; j++) {
        double m = 0, v = 0;
        for (int i = 0; i < S->n; i++) m += S->X[(size_t)i * S->dim + j];
        m /= S->n;
        for (int i = 0; i < S->n; i++) {
            double dlt = S->X[(size_t)i * S->dim + j] - m;
            v += dlt * dlt;
        }
        double sd = sqrt(v / S->n);
        st[j] = (float)m;
        st[S->dim + j] = sd > 1e-12 ? (float)sd : 1.0f; /* constant pixels stay put */
    }
    return st;
}

int tls_data_files_open(tls_data_files *f, const tls_config *c, char *err) {
    memset(f, 0, sizeof(*f));
    if (!c->data_source[0]) return TLS_OK;
    /* the largest classes of the grid bounds the labels; every configuration must
     * see them all, so the smallest must too */
    int C = c->base.eng.classes, Cmin = C;
    for (int a = TLS_NAMED_AXES; a < c->naxes; a++)
        if (!strcmp(c->axis[a].key_name, "data.classes"))
            for (int i = 0; i < c->axis[a].n; i++) {
                if (i == 0 || c->axis[a].inum[i] > C) C = (int)c->axis[a].inum[i];
                if (i == 0 || c->axis[a].inum[i] < Cmin) Cmin = (int)c->axis[a].inum[i];
            }
    char key[2][400]; /* data.source (set at FILE:LINE): the file's line, when a file set it */
    for (int i = 0; i < 2; i++) {
        const char *w = c->data_where[i];
        int from_file = w[0] && strncmp(w, "--set", 5) != 0;
        snprintf(key[i], sizeof(key[i]), "%s%s%s%s", i ? "data.target" : "data.source",
                 from_file ? " (set at " : "", from_file ? w : "", from_file ? ")" : "");
    }
    TLS_TRY(tls_dataset_load(&f->source, c->data_source, key[0], C, err));
    int rc = tls_dataset_load(&f->target, c->data_target, key[1], C, err);
    if (rc) goto fail;
    const tls_points *S = &f->source->pts, *T = &f->target->pts;
    for (int which = 0; which < 2 && !rc; which++)
        rc = labels_within(which ? T : S, Cmin, which ? c->data_target : c->data_source,
                           which ? "data.target" : "data.source", err);
    if (rc) goto fail;
    rc = TLS_ERR_INPUT;
    if (S->dim != T->dim) {
        snprintf(err, TLS_ERRMSG,
                 "%s: data.target: X has %d columns but the source file has %d; "
                 "allowed: files of the same dim",
                 c->data_target, T->dim, S->dim);
        goto fail;
    }
    if (c->image_shape.n == 2 && (int)(c->image_shape.v[0] * c->image_shape.v[1]) != S->dim) {
        snprintf(err, TLS_ERRMSG,
                 "data.image_shape: [%g, %g] is %g pixels but the files have dim "
                 "%d; allowed: [height, width] with height * width = %d",
                 c->image_shape.v[0], c->image_shape.v[1],
                 c->image_shape.v[0] * c->image_shape.v[1], S->dim, S->dim);
        goto fail;
    }
    f->image_h = c->image_shape.n == 2 ? (int)c->image_shape.v[0] : 0;
    f->image_w = c->image_shape.n == 2 ? (int)c->image_shape.v[1] : 0;
    int min_nt;
    tls_engine_params env;
    tls_grid_envelope(c, NULL, NULL, &env, &min_nt, &f->max_n_target);
    int max_nt = f->max_n_target;
    if (env.n_source > S->n) {
        snprintf(err, TLS_ERRMSG,
                 "data.n_source: %d but %s has %d points; allowed: at most %d, or all",
                 env.n_source, c->data_source, S->n, S->n);
        goto fail;
    }
    for (int k = 0; k < C; k++) {
        int have = 0, want = max_nt / C + (k < max_nt % C);
        for (int i = 0; i < T->n; i++) have += T->y[i] == k;
        if (have < want) {
            snprintf(
                err, TLS_ERRMSG,
                "%s: data.target: class %d has %d points, fewer than the %d "
                "labelled points per class that n_target = %d needs; allowed: grid.n_target up "
                "to what every class can supply",
                c->data_target, k, have, want, max_nt);
            goto fail;
        }
    }
    int rest = T->n - max_nt;
    int least = C > 2 ? C : 2;
    if (env.n_test > rest || rest < least) {
        snprintf(err, TLS_ERRMSG,
                 "data.n_test: %d, but %s has %d points left after the largest "
                 "n_target (%d); allowed: %d to %d, or all",
                 env.n_test < 0 ? rest : env.n_test, c->data_target, rest, max_nt, least,
                 rest > least ? rest : least);
        goto fail;
    }
    rc = check_label_shift(c, T, C, env.n_test, max_nt, err);
    if (rc) goto fail;
    f->stats = source_stats(S);
    if (f->stats) return TLS_OK;
    rc = TLS_ERR_INPUT;
    snprintf(err, TLS_ERRMSG, "data.standardize: out of memory; allowed: -");
fail:
    tls_data_files_release(f);
    return rc ? rc : TLS_ERR_INPUT;
}

void tls_data_files_release(tls_data_files *f) {
    tls_dataset_destroy(&f->source);
    tls_dataset_destroy(&f->target);
    free(f->stats);
    f->stats = NULL;
}
