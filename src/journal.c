#include "tlsweep/journal.h"

#include "tlsweep/check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define RECORD_MAGIC 0x52534c54u /* "TLSR" */

typedef struct {
    uint32_t magic;
    uint32_t crc;     /* CRC-32 of the payload */
    uint64_t payload; /* bytes after this header */
} rec_header;

struct tls_journal {
    int fd;
    char path[1024];
    double sync_seconds;
    double last_sync;
    unsigned char *buf;
    size_t cap;
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int tls_journal_open(tls_journal **out, const char *dir, int run, int rank, double sync_seconds) {
    *out = NULL;
    tls_journal *j;
    TLS_ALLOC(j, 1);
    snprintf(j->path, sizeof(j->path), "%s/journal-%06d-%06d.bin", dir, run, rank);
    j->fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (j->fd < 0) {
        int e = errno;
        free(j);
        TLS_CHECK(0, TLS_ERR_IO, "rank %d: cannot open journal %s/journal-%06d-%06d.bin: %s", rank,
                  dir, run, rank, strerror(e));
    }
    j->sync_seconds = sync_seconds;
    j->last_sync = now_seconds();
    *out = j;
    return TLS_OK;
}

static size_t payload_bytes(const tls_result *r) {
    return sizeof(tls_record_meta) + sizeof(tls_scalars) + r->mem_bytes;
}

int tls_journal_append(tls_journal *j, const tls_record_meta *meta, const tls_result *r) {
    size_t pay = payload_bytes(r), total = sizeof(rec_header) + pay;
    if (total > j->cap) {
        unsigned char *b = realloc(j->buf, total);
        TLS_CHECK(b, TLS_ERR_NOMEM, "out of memory for a journal record of %zu bytes", total);
        j->buf = b;
        j->cap = total;
    }
    unsigned char *p = j->buf + sizeof(rec_header);
    memcpy(p, meta, sizeof(*meta));
    memcpy(p + sizeof(*meta), &r->s, sizeof(r->s));
    memcpy(p + sizeof(*meta) + sizeof(r->s), r->mem, r->mem_bytes);
    rec_header h = {RECORD_MAGIC, 0, pay};
    h.crc = (uint32_t)crc32(0L, p, (uInt)pay);
    memcpy(j->buf, &h, sizeof(h));
    /* one write() per record: a kill leaves at most one partial record at the end */
    size_t done = 0;
    while (done < total) {
        ssize_t w = write(j->fd, j->buf + done, total - done);
        if (w < 0 && errno == EINTR) continue;
        TLS_CHECK(w > 0, TLS_ERR_IO, "cannot append to %s: %s", j->path, strerror(errno));
        done += (size_t)w;
    }
    double t = now_seconds();
    if (t - j->last_sync >= j->sync_seconds) {
        TLS_CHECK(fdatasync(j->fd) == 0, TLS_ERR_IO, "cannot sync %s: %s", j->path,
                  strerror(errno));
        j->last_sync = t;
    }
    return TLS_OK;
}

int tls_journal_close(tls_journal **jp) {
    tls_journal *j = *jp;
    if (!j) return TLS_OK;
    int rc = TLS_OK;
    if (fdatasync(j->fd) != 0 || close(j->fd) != 0) {
        fprintf(stderr, "tlsweep: cannot sync and close %s: %s\n", j->path, strerror(errno));
        rc = TLS_ERR_IO;
    }
    free(j->buf);
    TLS_FREE(*jp);
    return rc;
}

static int is_journal(const struct dirent *e) {
    return strncmp(e->d_name, "journal-", 8) == 0 && strlen(e->d_name) > 4 &&
           strcmp(e->d_name + strlen(e->d_name) - 4, ".bin") == 0;
}

static int64_t scan_file(const char *path, int file, tls_result *r, tls_journal_fn fn, void *ctx) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t pay = payload_bytes(r);
    unsigned char *buf = malloc(pay);
    int64_t n = 0;
    rec_header h;
    while (buf && fread(&h, sizeof(h), 1, f) == 1) {
        if (h.magic != RECORD_MAGIC || h.payload != pay) break; /* foreign or damaged */
        if (fread(buf, pay, 1, f) != 1) break;                  /* cut short by a kill */
        if ((uint32_t)crc32(0L, buf, (uInt)pay) != h.crc) break;
        tls_record_meta meta;
        memcpy(&meta, buf, sizeof(meta));
        memcpy(&r->s, buf + sizeof(meta), sizeof(r->s));
        memcpy(r->mem, buf + sizeof(meta) + sizeof(r->s), r->mem_bytes);
        n++;
        if (fn(ctx, file, &meta, r) != 0) break;
    }
    free(buf);
    fclose(f);
    return n;
}

int64_t tls_journal_scan_part(const char *dir, int part, int nparts, tls_result *r,
                              tls_journal_fn fn, void *ctx) {
    struct dirent **names;
    int k = scandir(dir, &names, is_journal, alphasort);
    if (k < 0) {
        fprintf(stderr, "tlsweep: cannot read the sweep state directory %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    int64_t n = 0;
    for (int i = 0; i < k; i++) {
        if (i % nparts == part) {
            char path[2048];
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            n += scan_file(path, i, r, fn, ctx);
        }
        free(names[i]);
    }
    free(names);
    return n;
}

int64_t tls_journal_scan(const char *dir, tls_result *r, tls_journal_fn fn, void *ctx) {
    return tls_journal_scan_part(dir, 0, 1, r, fn, ctx);
}

int tls_journal_last_run(const char *dir) {
    struct dirent **names;
    int k = scandir(dir, &names, is_journal, alphasort);
    int last = 0;
    for (int i = 0; i < k; i++) {
        int run = atoi(names[i]->d_name + 8);
        if (run > last) last = run;
        free(names[i]);
    }
    if (k >= 0) free(names);
    return last;
}
