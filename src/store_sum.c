/* store_sum.c - the checksums of a results file's variables.
 *
 * Every variable carries `crc32`: the CRC-32 (zlib's) of a line naming the
 * sweep, the part and the variable ("tlsweep crc32 config_hash=%016llx
 * part=K/N variable=NAME\n"), then of its values in position order, each
 * value's bytes little-endian, as the file stores them; `reason`'s values
 * are its strings, each with its terminating zero. Values moved, swapped or
 * flipped, a variable renamed, a file given another part's or sweep's
 * attributes: the CRC differs. The writer sums each rank's block as it is
 * written and rank 0 combines the blocks (crc32_combine); the reader sums
 * the file again. The values are summed with libdeflate's CRC-32 (the same
 * function, twice zlib's speed), the blocks combined with zlib's. */
#include "h5util.h"
#include "store_int.h"
#include "tlsweep/check.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

uint32_t tls_store_sum_begin(uint64_t config_hash, tls_part part, const tls_svar *x) {
    char head[200];
    int n =
        snprintf(head, sizeof(head), "tlsweep crc32 config_hash=%016llx part=%d/%d variable=%s\n",
                 (unsigned long long)config_hash, part.k, part.n, x ? x->name : "reason");
    return (uint32_t)crc32_z(0, (const unsigned char *)head, (size_t)n);
}

uint32_t tls_store_sum_bytes(uint32_t crc, const void *values, int64_t n, size_t esize) {
    const unsigned char *p = values;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    unsigned char le[4096];
    for (int64_t i = 0; i < n;) {
        int64_t m = 0;
        for (; i < n && (m + 1) * (int64_t)esize <= (int64_t)sizeof(le); i++, m++)
            for (size_t b = 0; b < esize; b++) le[m * esize + b] = p[i * esize + esize - 1 - b];
        crc = libdeflate_crc32(crc, le, (size_t)m * esize);
    }
    return crc;
#else
    return libdeflate_crc32(crc, p, (size_t)n * esize);
#endif
}

void tls_store_sum_round(uint32_t *crc, const tls_svar *v, int nvars, unsigned char *const *buf,
                         int64_t rows) {
    for (int k = 0; k < nvars; k++)
        crc[k] = tls_store_sum_bytes(crc[k], buf[k], rows * v[k].elems, v[k].esize);
}

static void *sum_thread(void *arg) {
    tls_store_sum_job *j = arg;
    tls_store_sum_round(j->crc, j->v, j->nvars, j->buf, j->rows);
    return NULL;
}

void tls_store_sum_start(tls_store_sum_job *j, uint32_t *crc, const tls_svar *v, int nvars,
                         unsigned char *const *buf, int64_t rows) {
    *j = (tls_store_sum_job){.crc = crc, .v = v, .nvars = nvars, .buf = buf, .rows = rows};
    j->running = pthread_create(&j->thread, NULL, sum_thread, j) == 0;
    if (!j->running) sum_thread(j);
}

void tls_store_sum_wait(tls_store_sum_job *j) {
    if (j->running) pthread_join(j->thread, NULL);
    j->running = 0;
}

uint32_t tls_store_sum_combine(uint32_t first, const uint32_t *part, const int64_t *bytes, int n,
                               int stride) {
    for (int i = 0; i < n; i++)
        first = (uint32_t)crc32_combine(first, part[(size_t)i * (size_t)stride], (z_off_t)bytes[i]);
    return first;
}

uint32_t tls_store_sum_string(uint32_t crc, const char *s) {
    return (uint32_t)crc32_z(crc, (const unsigned char *)(s ? s : ""), strlen(s ? s : "") + 1);
}

int tls_store_sum_read(hid_t d, const tls_svar *x, const tls_layout *L, int nconf,
                       const hsize_t *conf, uint32_t *crc) {
    int vlen = x == NULL; /* reason */
    size_t row = vlen ? sizeof(char *) : (size_t)x->elems * x->esize;
    int64_t round = row ? (int64_t)((8u << 20) / row) : L->count;
    if (round < 1) round = 1;
    if (round > L->count) round = L->count;
    unsigned char *buf = malloc((size_t)(round ? round : 1) * (row ? row : 1));
    hid_t mt = vlen ? tls_h5_str_vlen() : tls_h5_mem_type(x->d->type);
    hsize_t trail[3];
    if (!vlen) tls_store_trail_dims(L, x->d, trail);
    int ok = buf && mt >= 0;
    for (int64_t lo = 0; ok && lo < L->count && (vlen || x->elems > 0); lo += round) {
        int64_t hi = lo + round < L->count ? lo + round : L->count;
        if (vlen) memset(buf, 0, (size_t)(hi - lo) * row);
        ok = tls_store_var_io(d, 0, mt, H5P_DEFAULT, L, nconf, conf, vlen ? 0 : x->d->ntrail, trail,
                              vlen ? 1 : x->elems, lo, hi, buf) >= 0;
        if (ok && !vlen) *crc = tls_store_sum_bytes(*crc, buf, (hi - lo) * x->elems, x->esize);
        for (int64_t i = 0; ok && vlen && i < hi - lo; i++) {
            char *s = ((char **)buf)[i];
            *crc = tls_store_sum_string(*crc, s);
            H5free_memory(s);
        }
    }
    if (mt >= 0 && vlen) H5Tclose(mt);
    free(buf);
    return ok ? TLS_OK : TLS_ERR_IO;
}

/* crc continued over n zero bytes. */
static uint32_t zeros_sum(uint32_t crc, int64_t n) {
    static const unsigned char zeros[4096];
    while (n > 0) {
        size_t m = n < (int64_t)sizeof(zeros) ? (size_t)n : sizeof(zeros);
        crc = libdeflate_crc32(crc, zeros, m);
        n -= (int64_t)m;
    }
    return crc;
}

/* The CRC of the reasons as rank 0 writes them: the failed positions'
 * reasons (fpos ascending), "" at every other position. */
static uint32_t reasons_sum(uint32_t crc, const tls_layout *L, const int64_t *fpos,
                            char (*freason)[112], int64_t nfail) {
    int64_t at = 0;
    for (int64_t i = 0; i < nfail; i++) {
        crc = tls_store_sum_string(zeros_sum(crc, fpos[i] - at), freason[i]);
        at = fpos[i] + 1;
    }
    return zeros_sum(crc, L->count - at);
}

/* Opens variable x (NULL: reason) of file f. */
static hid_t open_var(hid_t f, const tls_svar *x) {
    char full[96];
    snprintf(full, sizeof(full), "%s%s", x && x->d->embeddings ? "embeddings/" : "",
             x ? x->name : "reason");
    return H5Dopen2(f, full, H5P_DEFAULT);
}

int tls_store_sum_write(hid_t f, const tls_layout *L, uint64_t config_hash, const tls_svar *v,
                        int nvars, const uint32_t *crc, int nranks, const int64_t *fpos,
                        char (*freason)[112], int64_t nfail, tls_h5ctx *e) {
    int64_t *bytes = malloc(sizeof(int64_t) * (size_t)nranks);
    hid_t d = H5I_INVALID_HID;
    int rc = TLS_ERR_IO;
    TLS_H5TRY(e, bytes ? 0 : -1);
    int nconf = tls_layout_is_cube(L) ? L->c->naxes : 1;
    hsize_t conf[TLS_MAX_AXES];
    for (int a = 0; a < nconf; a++)
        conf[a] = tls_layout_is_cube(L) ? (hsize_t)L->c->axis[a].n : (hsize_t)L->count;
    for (int k = 0; k <= nvars; k++) {
        const tls_svar *x = k < nvars ? &v[k] : NULL;
        uint32_t sum = tls_store_sum_begin(config_hash, L->part, x);
        TLS_H5TRY(e, d = open_var(f, x));
        if (!x) {
            sum = reasons_sum(sum, L, fpos, freason, nfail);
        } else if (L->c->decide.mode != TLS_MODE_GRID && !strcmp(x->name, "status")) {
            /* rank 0 has set the positions not needed since: read it back */
            TLS_H5TRY(e, tls_store_sum_read(d, x, L, nconf, conf, &sum) == TLS_OK ? 0 : -1);
        } else {
            for (int r = 0; r < nranks; r++) {
                int64_t lo, hi;
                tls_store_block(L->count, r, nranks, &lo, &hi);
                bytes[r] = (hi - lo) * x->elems * (int64_t)x->esize;
            }
            sum = tls_store_sum_combine(sum, crc + k, bytes, nranks, nvars);
        }
        char hex[16];
        snprintf(hex, sizeof(hex), "%08x", (unsigned)sum);
        TLS_H5TRY(e, tls_h5_attr_str(d, "crc32", hex));
        H5Dclose(d), d = H5I_INVALID_HID;
    }
    rc = TLS_OK;
fail:
    if (d >= 0) H5Dclose(d);
    free(bytes);
    return rc;
}
