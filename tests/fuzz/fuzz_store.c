/* libFuzzer harness: the results-file reader -- what `tlsweep status`,
 * `--resume` and `merge` trust. Fuzzing HDF5's own parser is HDF5's
 * business; this harness edits a valid results file (TLSWEEP_FUZZ_FILE, one
 * tlsweep wrote) the way a damaged or crafted file differs: the input is a
 * list of edits -- an attribute replaced (config_yaml by fuzzed text,
 * n_pending, part, format), a variable replaced by one of another shape or
 * type, values written into a variable (statuses, host indices, flags out of
 * range). The reader then opens, checks and reads every record, as status
 * and resume do. Properties: no crash, no sanitizer report. */
#include "tlsweep/check.h"
#include "tlsweep/config.h"
#include "tlsweep/grid.h"
#include "tlsweep/store.h"

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char *base;
static size_t base_len;
static char path[128];

static const char *const VARS[] = {
    "status",    "approach_status", "host", "negative_transfer", "acc_mmd", "reason", "hosts",
    "confusion", "shift",           "seed"};
enum { NV = sizeof(VARS) / sizeof(VARS[0]) };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *src = getenv("TLSWEEP_FUZZ_FILE");
    FILE *f = src ? fopen(src, "rb") : NULL;
    if (!f) {
        fprintf(stderr, "fuzz_store: set TLSWEEP_FUZZ_FILE to a results file tlsweep wrote\n");
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    base_len = (size_t)ftell(f);
    rewind(f);
    base = malloc(base_len);
    if (fread(base, 1, base_len, f) != base_len) exit(2);
    fclose(f);
    snprintf(path, sizeof(path), "/tmp/fuzz_store.%d.h5", (int)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return 0;
}

static void set_str_attr(hid_t f, const char *name, const char *v) {
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, H5T_VARIABLE);
    if (H5Aexists(f, name) > 0) H5Adelete(f, name);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) H5Awrite(a, t, &v), H5Aclose(a);
    H5Sclose(sp), H5Tclose(t);
}

static void set_int_attr(hid_t f, const char *name, int64_t v) {
    hid_t sp = H5Screate(H5S_SCALAR);
    if (H5Aexists(f, name) > 0) H5Adelete(f, name);
    hid_t a = H5Acreate2(f, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) H5Awrite(a, H5T_NATIVE_INT64, &v), H5Aclose(a);
    H5Sclose(sp);
}

/* Applies the edits the input describes; returns 0 when the file opened. */
static int edit(const uint8_t *d, size_t n) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return -1;
    size_t i = 0;
    while (i + 2 <= n) {
        uint8_t op = d[i] % 6, arg = d[i + 1];
        i += 2;
        const char *var = VARS[arg % NV];
        if (op == 0) { /* config_yaml from the rest of the input, up to a NUL */
            size_t len = strnlen((const char *)d + i, n - i);
            char *t = malloc(len + 1);
            memcpy(t, d + i, len);
            t[len] = '\0';
            set_str_attr(f, "config_yaml", t);
            free(t);
            i += len + 1;
        } else if (op == 1 && i + 8 <= n) { /* an integer attribute */
            int64_t v;
            memcpy(&v, d + i, 8);
            i += 8;
            set_int_attr(f, arg % 2 ? "n_pending" : "n_done", v);
        } else if (op == 2) { /* part or format */
            char t[32];
            snprintf(t, sizeof(t), "%d/%d", (int8_t)arg, (int8_t)(i < n ? d[i++] : 0));
            set_str_attr(f, arg % 3 ? "part" : "format", arg % 3 ? t : "tlsweep-results-2 x");
        } else if (op == 3 && i + 4 <= n) { /* a variable of another shape or type */
            hsize_t dims[3] = {(hsize_t)(d[i] % 7), (hsize_t)(d[i + 1] % 7),
                               (hsize_t)(d[i + 2] % 7)};
            int nd = 1 + d[i + 3] % 3;
            i += 4;
            if (H5Lexists(f, var, H5P_DEFAULT) > 0) H5Ldelete(f, var, H5P_DEFAULT);
            hid_t sp = H5Screate_simple(nd, dims, NULL);
            hid_t t = arg % 2 ? H5T_STD_I8LE : H5T_IEEE_F64LE;
            hid_t ds = H5Dcreate2(f, var, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (ds >= 0) H5Dclose(ds);
            H5Sclose(sp);
        } else if (op == 4 && i + 8 <= n) { /* values into a variable, as its type */
            hid_t ds = H5Lexists(f, var, H5P_DEFAULT) > 0 ? H5Dopen2(f, var, H5P_DEFAULT) : -1;
            if (ds >= 0) {
                hid_t sp = H5Dget_space(ds), t = H5Dget_type(ds);
                hssize_t np = H5Sget_simple_extent_npoints(sp);
                size_t es = H5Tget_size(t);
                if (np > 0 && np < 100000 && H5Tget_class(t) != H5T_STRING) {
                    unsigned char *buf = calloc((size_t)np, es);
                    H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
                    for (size_t k = 0; k < 8 && k < (size_t)np * es; k++)
                        buf[(d[i] * 131 + k * 7) % ((size_t)np * es)] = d[i + k];
                    H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
                    free(buf);
                }
                H5Tclose(t), H5Sclose(sp), H5Dclose(ds);
            }
            i += 8;
        } else if (op == 5) { /* a variable removed */
            if (H5Lexists(f, var, H5P_DEFAULT) > 0) H5Ldelete(f, var, H5P_DEFAULT);
        }
    }
    H5Fclose(f);
    return 0;
}

/* What status and resume do with a file: open, configuration, layout,
 * statuses, every record. */
static void read_all(void) {
    char err[TLS_ERRMSG];
    tls_store_reader *rd = NULL;
    const tls_config *c = NULL;
    if (tls_store_open(&rd, path, err) != TLS_OK) return;
    if (tls_config_load_text(&c, path, tls_store_meta_of(rd)->config_yaml, err) == TLS_OK &&
        c->grid_size <= 100000) {
        tls_engine_params env;
        int a, b;
        tls_grid_envelope(c, NULL, NULL, &env, &a, &b);
        tls_store_envelope(rd, &env);
        if (env.n_source < 0) env.n_source = 0;
        if (env.n_test < 0) env.n_test = 0;
        tls_part part = {.k = 1, .n = 1};
        tls_layout L;
        tls_layout_init(&L, c, &env, part);
        tls_result *r = NULL;
        if (env.epochs <= 100000 && env.n_source <= 100000 &&
            tls_store_check(rd, &L, err) == TLS_OK && tls_result_create(&r, &env) == TLS_OK) {
            int8_t *st = malloc((size_t)L.count);
            char *reasons = malloc((size_t)L.count * 112);
            tls_store_read_status(rd, st, reasons, 112);
            tls_record_source src;
            tls_store_source(rd, &src);
            if (src.prepare(src.ctx, 0, L.count) == TLS_OK)
                for (int64_t p = 0; p < L.count; p++) {
                    tls_record_meta m;
                    int have;
                    src.get(src.ctx, p, &m, r, &have);
                }
            free(st), free(reasons);
        }
        tls_result_destroy(&r);
    }
    tls_config_destroy(&c);
    tls_store_close(&rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(base, 1, base_len, f);
    fclose(f);
    if (edit(data, size) == 0) read_all();
    unlink(path);
    return 0;
}
