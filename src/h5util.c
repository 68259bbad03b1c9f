#define _GNU_SOURCE /* memfd_create */
#include "h5util.h"

#include "tlsweep/check.h"

#include <errno.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
void tls_h5_cause(char *buf, size_t len) {
    h5err x = {""};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_error, &x);
    H5Eclear2(H5E_DEFAULT);
    snprintf(buf, len, "%s", x.what[0] ? x.what : "HDF5 reported no cause");
}

void tls_h5_fail(tls_h5ctx *c, const char *call) {
    int e = errno;
    char cause[400];
    tls_h5_cause(cause, sizeof(cause));
    if (e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO || e == EROFS)
        snprintf(cause, sizeof(cause), "%s", strerror(e)); /* the system's word is the cause */
    if (!c->msg[0]) {
        const char *fn = strchr(call, '(');
        snprintf(c->msg, sizeof(c->msg), "%.*s: %s", fn ? (int)(fn - call) : 40, call, cause);
    }
}

hid_t tls_h5_str_vlen(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

hid_t tls_h5_file_type(tls_ftype t) {
    return t == TLS_T_F64   ? H5T_IEEE_F64LE
           : t == TLS_T_F32 ? H5T_IEEE_F32LE
           : t == TLS_T_I8  ? H5T_STD_I8LE
                            : H5T_STD_I32LE;
}

hid_t tls_h5_mem_type(tls_ftype t) {
    return t == TLS_T_F64   ? H5T_NATIVE_DOUBLE
           : t == TLS_T_F32 ? H5T_NATIVE_FLOAT
           : t == TLS_T_I8  ? H5T_NATIVE_INT8
                            : H5T_NATIVE_INT32;
}

/* The fill value of a type, as bytes. */
const void *tls_h5_fill_of(tls_ftype t) {
    static const double f64 = NAN;
    static const float f32 = NAN;
    static const int8_t i8 = -1;
    static const int32_t i32 = -1;
    return t == TLS_T_F64   ? (const void *)&f64
           : t == TLS_T_F32 ? (const void *)&f32
           : t == TLS_T_I8  ? (const void *)&i8
                            : (const void *)&i32;
}

int tls_h5_attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
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

int tls_h5_attr_str(hid_t loc, const char *name, const char *value) {
    hid_t t = tls_h5_str_vlen();
    if (t < 0) return -1;
    int rc = tls_h5_attr_write(loc, name, t, t, 0, &value);
    H5Tclose(t);
    return rc;
}

int tls_h5_attr_flags(hid_t loc, hid_t ftype, const char *values, const char *meanings) {
    int8_t fv[32];
    hsize_t nf = 0;
    for (char *p = (char *)values; *p && nf < 32; nf++) {
        char *end;
        fv[nf] = (int8_t)strtol(p, &end, 10);
        if (end == p) return -1;
        p = end;
    }
    if (tls_h5_attr_write(loc, "flag_values", ftype, H5T_NATIVE_INT8, nf, fv) < 0) return -1;
    return tls_h5_attr_str(loc, "flag_meanings", meanings);
}

int tls_h5_attr_strs(hid_t loc, const char *name, const char *const *values, int n) {
    hid_t t = tls_h5_str_vlen();
    if (t < 0) return -1;
    int rc = tls_h5_attr_write(loc, name, t, t, (hsize_t)(n > 0 ? n : 1),
                               n > 0 ? values : (const char *const[]){""});
    H5Tclose(t);
    return rc;
}

int tls_h5_attr_i64(hid_t loc, const char *name, long long v) {
    int64_t x = v;
    return tls_h5_attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &x);
}

/* ---- what the MPI-IO layer prints ------------------------------------------- */

void tls_h5_capture_begin(tls_h5_captured *c) {
    fflush(stderr);
    c->saved = dup(2);
    c->mem = c->saved >= 0 ? memfd_create("tlsweep-stderr", MFD_CLOEXEC) : -1;
    if (c->mem < 0 || dup2(c->mem, 2) < 0) {
        if (c->mem >= 0) close(c->mem);
        if (c->saved >= 0) close(c->saved);
        c->saved = c->mem = -1;
    }
}

void tls_h5_capture_end(tls_h5_captured *c) {
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

/* A string attribute of loc, malloc'ed ("" when absent or not a string). */
char *tls_h5_read_str_attr(hid_t loc, const char *name) {
    char *out = NULL;
    if (H5Aexists(loc, name) > 0) {
        hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a), sp = H5Aget_space(a);
        hid_t st = tls_h5_str_vlen();
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

/* A 1-D string attribute array: n strings appended to out (malloc'ed). */
int tls_h5_read_str_array_attr(hid_t loc, const char *name, char ***out, int *n) {
    *out = NULL;
    *n = 0;
    if (H5Aexists(loc, name) <= 0) return TLS_OK;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), sp = H5Aget_space(a), st = tls_h5_str_vlen();
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

int64_t tls_h5_scale_len(hid_t f, const char *name) {
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return -1;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), sp = d >= 0 ? H5Dget_space(d) : -1;
    hssize_t n =
        sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return n >= 0 && n <= 2000000000 ? (int64_t)n : -1;
}
