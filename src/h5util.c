#define _GNU_SOURCE /* memfd_create */
#include "h5util.h"

#include "tlsweep/check.h"
#include "tlsweep/progress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5_hl.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
    if (!c->msg[0]) { /* the HDF5 call named, not the expression ("d = H5Dcreate2(...)") */
        const char *fn = strstr(call, "H5") ? strstr(call, "H5") : call, *end = strchr(fn, '(');
        snprintf(c->msg, sizeof(c->msg), "%s (in %.*s)", cause, end ? (int)(end - fn) : 60, fn);
    }
    if (c->failed_at == 0) c->failed_at = tls_now();
}

/* Open MPI's OMPIO reports a failed write only by a line on stderr (its
 * calls return MPI_SUCCESS; HDF5 sees the bytes missing): the first such
 * line in the captured stderr is when the failure was, its end the cause. */
static double io_failed(tls_h5_watch *w) {
    struct stat st;
    if (w->mem < 0 || fstat(w->mem, &st) != 0 || st.st_size <= w->scanned) return 0;
    char buf[4096];
    ssize_t n = pread(w->mem, buf, sizeof(buf) - 1, w->scanned);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *line = strstr(buf, "mca_fbtl_posix"), *nl = line ? strchr(line, '\n') : NULL;
    if (!line || !nl) { /* none, or not a whole line yet */
        char *last = strrchr(buf, '\n');
        if (!line && last) w->scanned += last + 1 - buf;
        return 0;
    }
    *nl = '\0';
    char *cause = strrchr(line, ':');
    cause = cause ? cause + 1 : line;
    snprintf(w->cause, sizeof(w->cause), "%s", cause + strspn(cause, " "));
    return tls_now();
}

static void *watch(void *arg) {
    tls_h5_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    double io = 0;
    while (!w->stop) {
        if (io == 0) io = io_failed(w);
        double at = w->e->failed_at;
        if (at == 0 || (io > 0 && io < at)) at = io;
        if (at > 0 && tls_now() - at > w->seconds) {
            char line[TLS_ERRMSG + 600];
            int n = snprintf(line, sizeof(line),
                             "tlsweep: rank %d: cannot write %s: %s; HDF5 left the other ranks "
                             "waiting: the job ends here, what the file is written from intact "
                             "(a sweep: free space or fix the cause, then --resume)\n",
                             w->rank, w->e->path, w->e->msg[0] ? w->e->msg : w->cause);
            if (write(w->fd, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0) {
            }
            MPI_Abort(MPI_COMM_WORLD, TLS_EXIT_FAILURE);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void tls_h5_watch_start(tls_h5_watch *w, const tls_h5ctx *e, const tls_h5_captured *cap, int rank,
                        double seconds) {
    memset(w, 0, sizeof(*w));
    w->e = e, w->rank = rank, w->seconds = seconds;
    w->fd = cap->saved >= 0 ? cap->saved : 2;
    w->mem = cap->mem;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->on = pthread_create(&w->thread, NULL, watch, w) == 0;
}

void tls_h5_watch_stop(tls_h5_watch *w) {
    if (w->on) {
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->on = 0;
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

/* ---- a file that cannot be written, the library's end ------------------------ */

int tls_h5_discard(const char *path) {
    char want[PATH_MAX], fdpath[64], got[PATH_MAX];
    if (!realpath(path, want)) return 0;
    DIR *d = opendir("/proc/self/fd");
    int mem = d ? memfd_create("tlsweep-discarded", MFD_CLOEXEC) : -1, n = 0;
    for (struct dirent *e; mem >= 0 && (e = readdir(d));) {
        int fd = atoi(e->d_name);
        snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
        ssize_t len = e->d_name[0] == '.' ? -1 : readlink(fdpath, got, sizeof(got) - 1);
        if (len <= 0 || fd == mem) continue;
        got[len] = '\0';
        if (!strcmp(got, want) && dup2(mem, fd) == fd) n++;
    }
    if (mem >= 0) close(mem);
    if (d) closedir(d);
    return n;
}

/* HDF5 1.10's report, when the library ends, of memory its error paths
 * did not give back (after a failed write): two lines, the second a list
 * of its packages' initials. */
static int leak_report(const char *line) {
    if (!strcmp(line, "HDF5: infinite loop closing library")) return 1;
    size_t lead = strspn(line, " ");
    return lead >= 4 && line[lead] &&
           strspn(line + lead, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_top,") == strlen(line + lead);
}

static int broken; /* an H5Fclose failed: the library holds a half-closed file */

void tls_h5_begin(void) {
    H5dont_atexit();
    H5open();
}

void tls_h5_close_failed(void) {
    broken = 1;
}

void tls_h5_end(void) {
    if (broken) return; /* ending the library would visit the half-closed file and crash */
    tls_h5_captured c;
    tls_h5_capture_begin(&c);
    H5close();
    tls_h5_capture_end(&c);
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
                strncmp(line, "mca_io_ompio", 12) && !leak_report(line))
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
