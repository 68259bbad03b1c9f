#define _GNU_SOURCE /* memmem */
#include "tlsweep/journal.h"

#include "tlsweep/check.h"
#include "tlsweep/state.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define RECORD_MAGIC 0x52534c54u /* "TLSR" little-endian */

typedef struct {
    uint32_t magic;
    uint16_t version;
    uint16_t header; /* bytes of this header */
    uint64_t sweep_id;
    int64_t index;
    uint64_t payload; /* bytes after this header */
    uint32_t crc;     /* CRC-32 of this header (crc = 0) and the payload */
    uint32_t zero;
} rec_header;

static double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t tls_journal_array_bytes(const tls_result *r, int embeddings) {
    if (embeddings) return r->mem_bytes;
    return (size_t)((const char *)tls_result_array(r, TLS_ARR_EMB_SOURCE) - (const char *)r->mem);
}

static size_t payload_bytes(size_t array_bytes) {
    return sizeof(tls_record_meta) + sizeof(tls_scalars) + array_bytes;
}

static uint32_t record_crc(const rec_header *h, const unsigned char *payload, size_t n) {
    rec_header z = *h;
    z.crc = 0;
    uLong c = crc32(0L, (const Bytef *)&z, sizeof(z));
    /* zlib takes uInt lengths: feed large payloads in pieces */
    while (n > 0) {
        uInt piece = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, payload, piece);
        payload += piece;
        n -= piece;
    }
    return (uint32_t)c;
}

/* ---- writing ------------------------------------------------------------- */

struct tls_journal {
    int fd;
    char path[4096];
    uint64_t sweep_id;
    size_t array_bytes;
    double sync_seconds, last_sync;
    int failed;     /* sticky: a journal that failed once is not trusted again */
    char why[4200]; /* what failed: "cannot append to FILE: cause" */
    unsigned char *buf;
    size_t cap;
};

int tls_journal_open(tls_journal **out, const char *path, uint64_t sweep_id, size_t array_bytes,
                     double sync_seconds) {
    *out = NULL;
    tls_journal *j;
    TLS_ALLOC(j, 1);
    snprintf(j->path, sizeof(j->path), "%s", path);
    char why[96];
    j->fd = tls_open_regular(path, O_RDWR | O_CREAT | O_APPEND, 0644, why, sizeof(why));
    if (j->fd < 0) {
        free(j);
        TLS_CHECK(0, TLS_ERR_IO, "cannot open journal %s: %s", path, why);
    }
    j->sweep_id = sweep_id;
    j->array_bytes = array_bytes;
    j->sync_seconds = sync_seconds;
    j->last_sync = wall_seconds();
    *out = j;
    return TLS_OK;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Marks j failed with "WHAT FILE: cause" (errno e); TLS_ERR_IO. */
static int journal_fail(tls_journal *j, const char *what, int e) {
    j->failed = 1;
    snprintf(j->why, sizeof(j->why), "%s %s: %s", what, j->path, strerror(e));
    return TLS_ERR_IO;
}

const char *tls_journal_error(const tls_journal *j) {
    return j && j->failed ? j->why : "";
}

int tls_journal_append(tls_journal *j, const tls_record_meta *meta, const tls_result *r,
                       int64_t *offset) {
    if (j->failed) return TLS_ERR_IO;
    size_t pay = payload_bytes(j->array_bytes), total = sizeof(rec_header) + pay;
    if (total > j->cap) {
        unsigned char *b = realloc(j->buf, total);
        TLS_CHECK(b, TLS_ERR_NOMEM, "out of memory for a journal record of %zu bytes", total);
        j->buf = b;
        j->cap = total;
    }
    unsigned char *p = j->buf + sizeof(rec_header);
    memcpy(p, meta, sizeof(*meta));
    memcpy(p + sizeof(*meta), &r->s, sizeof(r->s));
    memcpy(p + sizeof(*meta) + sizeof(r->s), r->mem, j->array_bytes);
    rec_header h = {
        RECORD_MAGIC, TLS_JOURNAL_VERSION, sizeof(rec_header), j->sweep_id, meta->index, pay, 0, 0};
    h.crc = record_crc(&h, p, pay);
    memcpy(j->buf, &h, sizeof(h));
    off_t at = lseek(j->fd, 0, SEEK_END);
    /* one write() per record: a kill leaves at most one partial record at the end */
    if (at < 0 || write_all(j->fd, j->buf, total) != 0)
        return journal_fail(j, "cannot append to", errno);
    if (offset) *offset = (int64_t)at;
    double t = wall_seconds();
    if (t - j->last_sync >= j->sync_seconds) {
        if (fdatasync(j->fd) != 0) return journal_fail(j, "cannot sync", errno);
        j->last_sync = t;
    }
    return TLS_OK;
}

int tls_journal_check(const tls_journal *j) {
    struct stat st;
    return fstat(j->fd, &st) == 0 && st.st_nlink > 0 ? TLS_OK : TLS_ERR_IO;
}

int tls_journal_salvage(tls_journal *j, const char *path) {
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    TLS_CHECK(fd >= 0, TLS_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    unsigned char buf[1 << 16];
    off_t at = 0;
    int rc = TLS_OK;
    for (;;) {
        ssize_t n = pread(j->fd, buf, sizeof(buf), at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || (n > 0 && write_all(fd, buf, (size_t)n) != 0)) {
            rc = TLS_ERR_IO;
            break;
        }
        if (n == 0) break;
        at += n;
    }
    if (rc == TLS_OK && fsync(fd) != 0) rc = TLS_ERR_IO;
    if (rc != TLS_OK) {
        fprintf(stderr, "tlsweep: cannot copy %s to %s: %s\n", j->path, path, strerror(errno));
        close(fd);
        return rc;
    }
    close(j->fd);
    j->fd = fd;
    snprintf(j->path, sizeof(j->path), "%s", path);
    return TLS_OK;
}

int tls_journal_close(tls_journal **jp) {
    tls_journal *j = *jp;
    if (!j) return TLS_OK;
    int rc = TLS_OK;
    if (j->failed) { /* said by whoever reads tls_journal_error */
        rc = TLS_ERR_IO;
    } else if (fdatasync(j->fd) != 0) {
        fprintf(stderr, "tlsweep: cannot sync %s: %s\n", j->path, strerror(errno));
        rc = TLS_ERR_IO;
    }
    if (close(j->fd) != 0 && rc == TLS_OK) {
        fprintf(stderr, "tlsweep: cannot close %s: %s\n", j->path, strerror(errno));
        rc = TLS_ERR_IO;
    }
    free(j->buf);
    TLS_FREE(*jp);
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

struct tls_journal_reader {
    int nfiles;
    char **paths;
    int *fds;
    uint64_t sweep_id;
    int64_t grid_size;
    size_t array_bytes;
    unsigned char *buf; /* one record */
};

int tls_journal_reader_open(tls_journal_reader **out, const char *const *paths, int npaths,
                            uint64_t sweep_id, int64_t grid_size, size_t array_bytes) {
    *out = NULL;
    tls_journal_reader *rd;
    TLS_ALLOC(rd, 1);
    rd->sweep_id = sweep_id;
    rd->grid_size = grid_size;
    rd->array_bytes = array_bytes;
    *out = rd;
    rd->buf = malloc(sizeof(rec_header) +
                     payload_bytes(array_bytes == TLS_JOURNAL_SCALARS_ONLY ? 0 : array_bytes));
    rd->paths = calloc((size_t)npaths + 1, sizeof(char *));
    rd->fds = malloc(sizeof(int) * ((size_t)npaths + 1));
    TLS_CHECK(rd->buf && rd->paths && rd->fds, TLS_ERR_NOMEM, "out of memory for a journal reader");
    for (int i = 0; i < npaths; i++) {
        char *p = strdup(paths[i]);
        TLS_CHECK(p, TLS_ERR_NOMEM, "out of memory");
        char why[96];
        int fd = tls_open_regular(p, O_RDONLY, 0, why, sizeof(why));
        if (fd < 0) {
            fprintf(stderr,
                    "tlsweep: cannot read journal %s: %s; allowed: the journals tlsweep "
                    "writes (remove or rename it)\n",
                    p, why);
            free(p);
            return TLS_ERR_IO;
        }
        rd->paths[rd->nfiles] = p;
        rd->fds[rd->nfiles++] = fd;
    }
    return TLS_OK;
}

int tls_journal_reader_nfiles(const tls_journal_reader *rd) {
    return rd->nfiles;
}

const char *tls_journal_reader_path(const tls_journal_reader *rd, int file) {
    return rd->paths[file];
}

void tls_journal_reader_close(tls_journal_reader **rdp) {
    tls_journal_reader *rd = *rdp;
    if (!rd) return;
    for (int i = 0; i < rd->nfiles; i++) {
        close(rd->fds[i]);
        free(rd->paths[i]);
    }
    free(rd->paths);
    free(rd->fds);
    free(rd->buf);
    TLS_FREE(*rdp);
}

/* Whether the header at h (with `avail` bytes from it in the file) starts
 * an intact record: 1 ours, 2 another sweep's, 0 not a record. */
static int check_record(const tls_journal_reader *rd, const rec_header *h,
                        const unsigned char *payload, uint64_t avail) {
    if (h->magic != RECORD_MAGIC || h->version != TLS_JOURNAL_VERSION ||
        h->header != sizeof(rec_header) || h->zero != 0)
        return 0;
    if (h->payload > avail - sizeof(rec_header) || h->payload > ((uint64_t)1 << 40)) return 0;
    if (record_crc(h, payload, (size_t)h->payload) != h->crc) return 0;
    if (h->sweep_id != rd->sweep_id) return 2;
    if (rd->array_bytes == TLS_JOURNAL_SCALARS_ONLY ? h->payload < payload_bytes(0)
                                                    : h->payload != payload_bytes(rd->array_bytes))
        return 0;
    if (h->index < 0 || h->index >= rd->grid_size) return 0;
    return 1;
}

/* Copies a checked payload into meta and r, and checks its fields: 0 when
 * they make sense. */
static int unpack(const tls_journal_reader *rd, const rec_header *h, const unsigned char *p,
                  tls_record_meta *meta, tls_result *r) {
    memcpy(meta, p, sizeof(*meta));
    memcpy(&r->s, p + sizeof(*meta), sizeof(r->s));
    if (rd->array_bytes == TLS_JOURNAL_SCALARS_ONLY) {
        /* arrays not read */
    } else if (rd->array_bytes > r->mem_bytes) {
        return -1;
    } else {
        memcpy(r->mem, p + sizeof(*meta) + sizeof(r->s), rd->array_bytes);
    }
    if (rd->array_bytes != TLS_JOURNAL_SCALARS_ONLY && rd->array_bytes < r->mem_bytes) {
        /* the embeddings were not kept: they read as fill values */
        float *v = (float *)((char *)r->mem + rd->array_bytes);
        for (size_t i = 0; i < (r->mem_bytes - rd->array_bytes) / 4; i++) v[i] = NAN;
        for (int a = TLS_ARR_Y_SOURCE; a <= TLS_ARR_Y_TARGET; a++) {
            int32_t *y = tls_result_array(r, a);
            char *end = a == TLS_ARR_Y_TARGET ? (char *)r->mem + r->mem_bytes
                                              : (char *)tls_result_array(r, a + 1);
            for (int32_t *q = y; (char *)q < end; q++) *q = -1;
        }
    }
    meta->host[TLS_HOST_LEN - 1] = '\0';
    r->s.reason[sizeof(r->s.reason) - 1] = '\0';
    if (meta->index != h->index || meta->rank < 0) return -1;
    if (r->s.status != TLS_STATUS_DONE && r->s.status != TLS_STATUS_FAILED) return -1;
    char why[160];
    if (tls_result_check(r, why, sizeof(why)) != 0) return -1;
    return 0;
}

/* The offset of the next record magic at or after `from` in the file of fd
 * mapped at map (size bytes), or size when there is none. Holes (what a
 * sparse file never had written) hold no record and are skipped without
 * being read: an 8 GiB sparse file took 20 s byte by byte. */
static uint64_t next_magic(int fd, const unsigned char *map, uint64_t size, uint64_t from) {
    static const uint32_t magic = RECORD_MAGIC;
    while (from + 4 <= size) {
        off_t data = lseek(fd, (off_t)from, SEEK_DATA), hole = -1;
        if (data < 0 && errno == ENXIO) return size; /* nothing but a hole after from */
        if (data < 0)
            data = (off_t)from; /* SEEK_DATA not supported: all data */
        else
            hole = lseek(fd, data, SEEK_HOLE);
        uint64_t end = hole < 0 || (uint64_t)hole > size ? size : (uint64_t)hole;
        uint64_t lo = (uint64_t)data, hi = end + 3 < size ? end + 3 : size; /* magic across */
        const unsigned char *m = hi > lo ? memmem(map + lo, hi - lo, &magic, 4) : NULL;
        if (m) return (uint64_t)(m - map);
        if (end <= from) return size;
        from = end;
    }
    return size;
}

int tls_journal_scan(tls_journal_reader *rd, tls_result *r, tls_journal_fn fn, void *ctx,
                     tls_journal_stats *stats) {
    tls_journal_stats st = {0, 0, 0};
    for (int f = 0; f < rd->nfiles; f++) {
        struct stat sb;
        TLS_CHECK(fstat(rd->fds[f], &sb) == 0, TLS_ERR_IO, "cannot read %s: %s", rd->paths[f],
                  strerror(errno));
        uint64_t size = (uint64_t)sb.st_size;
        if (size == 0) continue;
        const unsigned char *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, rd->fds[f], 0);
        TLS_CHECK(map != MAP_FAILED, TLS_ERR_IO, "cannot read %s: %s", rd->paths[f],
                  strerror(errno));
        uint64_t at = 0;
        int in_damage = 0, stop = 0;
        while (!stop && at + sizeof(rec_header) <= size) {
            rec_header h;
            memcpy(&h, map + at, sizeof(h));
            int kind = check_record(rd, &h, map + at + sizeof(h), size - at);
            tls_record_meta meta;
            if (kind == 1 && unpack(rd, &h, map + at + sizeof(h), &meta, r) != 0) kind = 0;
            if (kind == 0) {
                /* damaged or cut short: look for the next record's magic */
                if (!in_damage) st.damaged++;
                in_damage = 1;
                at = next_magic(rd->fds[f], map, size, at + 1);
                if (at >= size) break;
                continue;
            }
            in_damage = 0;
            if (kind == 2) {
                st.foreign++;
            } else {
                st.records++;
                stop = fn(ctx, f, (int64_t)at, &meta, r) != 0;
            }
            at += sizeof(h) + h.payload;
        }
        if (!stop && at < size && at + sizeof(rec_header) > size && !in_damage) st.damaged++;
        munmap((void *)map, size);
        if (stop) break;
    }
    if (stats) *stats = st;
    return TLS_OK;
}

int tls_journal_read_at(tls_journal_reader *rd, int file, int64_t offset, tls_record_meta *meta,
                        tls_result *r) {
    TLS_CHECK(file >= 0 && file < rd->nfiles && offset >= 0, TLS_ERR_IO,
              "no journal record at file %d offset %lld", file, (long long)offset);
    TLS_CHECK(rd->array_bytes != TLS_JOURNAL_SCALARS_ONLY, TLS_ERR_IO,
              "journal records opened for their scalars only");
    size_t total = sizeof(rec_header) + payload_bytes(rd->array_bytes);
    size_t got = 0;
    while (got < total) {
        ssize_t n = pread(rd->fds[file], rd->buf + got, total - got, offset + (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    rec_header h;
    memcpy(&h, rd->buf, sizeof(h));
    int ok = got == total && check_record(rd, &h, rd->buf + sizeof(h), total) == 1 &&
             unpack(rd, &h, rd->buf + sizeof(h), meta, r) == 0;
    TLS_CHECK(ok, TLS_ERR_IO, "%s: the record at offset %lld is damaged", rd->paths[file],
              (long long)offset);
    return TLS_OK;
}
