#include "tlsweep/state.h"

#include "tlsweep/check.h"
#include "tlsweep/config.h"
#include "tlsweep/provenance.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const tls_run_field_names[TLS_RUN_FIELDS] = {"started",   "finished",    "command",
                                                         "ranks",     "hosts",       "cpus",
                                                         "slurm_job", "exit_status", "version"};

void tls_runs_free(tls_runs *r) {
    for (int i = 0; i < r->n; i++)
        for (int f = 0; f < TLS_RUN_FIELDS; f++) free(r->run[i].field[f]);
    free(r->run);
    r->run = NULL;
    r->n = 0;
}

int tls_runs_add(tls_runs *r, const tls_run *run) {
    tls_run *grown = realloc(r->run, sizeof(tls_run) * (size_t)(r->n + 1));
    TLS_CHECK(grown, TLS_ERR_NOMEM, "out of memory");
    r->run = grown;
    tls_run *dst = &r->run[r->n];
    for (int f = 0; f < TLS_RUN_FIELDS; f++) {
        dst->field[f] = strdup(run->field[f] ? run->field[f] : "");
        if (!dst->field[f]) {
            for (int g = 0; g < f; g++) free(dst->field[g]);
            TLS_CHECK(0, TLS_ERR_NOMEM, "out of memory");
        }
    }
    r->n++;
    return TLS_OK;
}

int tls_state_dir(char *buf, size_t len, const char *out, char *err) {
    const char *base = strrchr(out, '/');
    base = base ? base + 1 : out;
    if (strlen(base) + strlen(".tlsweep.d") > NAME_MAX)
        return tls_input_error(err, "-o", out,
                               "the file name is %zu bytes, too long for its state directory "
                               "(name + \".tlsweep.d\" must fit in %d bytes); allowed: a file "
                               "name of at most %d bytes",
                               strlen(base), NAME_MAX, NAME_MAX - 10);
    if (strlen(out) + 11 + 64 > len)
        return tls_input_error(err, "-o", out, "the path is %zu bytes; allowed: at most %zu",
                               strlen(out), len - 11 - 64);
    snprintf(buf, len, "%s.tlsweep.d", out);
    return TLS_OK;
}

void tls_state_path(const tls_state *s, const char *name, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s", s->dir, name);
}

void tls_state_journal_path(const char *dir, int run, int rank, char *buf, size_t len) {
    if (run == 0)
        snprintf(buf, len, "%s/journal-000000-import.bin", dir);
    else
        snprintf(buf, len, "%s/journal-%06d-%06d.bin", dir, run, rank);
}

/* n decimal digits at s, as a number. */
static int digits(const char *s, int n, int *v) {
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

int tls_state_journal_parse(const char *name, int *run, int *rank) {
    /* exactly the names tls_state_journal_path makes: journal-RRRRRR-KKKKKK.bin, run >= 1 */
    if (!strcmp(name, "journal-000000-import.bin")) return *run = 0, *rank = -1, 1;
    return strlen(name) == 25 && !strncmp(name, "journal-", 8) && digits(name + 8, 6, run) &&
           *run >= 1 && *run <= TLS_STATE_MAX_RUNS && name[14] == '-' &&
           digits(name + 15, 6, rank) && !strcmp(name + 21, ".bin");
}

int tls_state_strays(const char *dir, char *first, size_t len) {
    static const char *const own[] = {
        "lock",         "manifest",        "config.yaml",  "runs.txt", "partial.h5",
        "manifest.tmp", "config.yaml.tmp", "runs.txt.tmp", NULL};
    first[0] = '\0';
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0, run, rank;
    struct dirent *e;
    while ((e = readdir(d))) {
        int ours = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
                   tls_state_journal_parse(e->d_name, &run, &rank);
        for (int i = 0; own[i] && !ours; i++) ours = !strcmp(e->d_name, own[i]);
        if (ours) continue;
        if (!n++) snprintf(first, len, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

static int is_journal(const struct dirent *e) {
    int run, rank;
    return tls_state_journal_parse(e->d_name, &run, &rank);
}

int tls_state_journals(const char *dir, char ***paths, int *n) {
    *paths = NULL;
    *n = 0;
    struct dirent **names = NULL;
    int k = scandir(dir, &names, is_journal, alphasort);
    if (k < 0) {
        if (errno == ENOENT) return TLS_OK;
        TLS_CHECK(0, TLS_ERR_IO, "cannot read the sweep state directory %s: %s", dir,
                  strerror(errno));
    }
    char **p = calloc((size_t)k + 1, sizeof(char *));
    int rc = p ? TLS_OK : TLS_ERR_NOMEM;
    for (int i = 0; i < k; i++) {
        size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
        char *one = rc == TLS_OK ? malloc(len) : NULL;
        if (one) snprintf(one, len, "%s/%s", dir, names[i]->d_name), p[(*n)++] = one;
        if (!one) rc = TLS_ERR_NOMEM;
        free(names[i]);
    }
    free(names);
    *paths = p;
    if (rc) tls_state_journals_free(p, *n), *paths = NULL, *n = 0;
    TLS_CHECK(rc == TLS_OK, rc, "out of memory listing the journals of %s", dir);
    return TLS_OK;
}

void tls_state_journals_free(char **paths, int n) {
    for (int i = 0; paths && i < n; i++) free(paths[i]);
    free(paths);
}

int tls_state_journal_reader(tls_journal_reader **rd, const char *dir, uint64_t sweep_id,
                             int64_t grid_size, size_t array_bytes) {
    char **paths = NULL;
    int n = 0;
    *rd = NULL;
    TLS_TRY(tls_state_journals(dir, &paths, &n));
    int rc = tls_journal_reader_open(rd, (const char *const *)paths, n, sweep_id, grid_size,
                                     array_bytes);
    tls_state_journals_free(paths, n);
    return rc;
}

static void read_holder(int fd, char *holder, size_t len) {
    ssize_t n = pread(fd, holder, len - 1, 0);
    holder[n > 0 ? n : 0] = '\0';
    holder[strcspn(holder, "\n")] = '\0';
}

int tls_state_lock(tls_state *s, const char *dir, char *err) {
    s->lock_fd = -1;
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return tls_input_error(err, dir, "(state)",
                               "cannot create the sweep state directory: %s; allowed: an output "
                               "directory that tlsweep can write",
                               strerror(errno));
    char path[4200];
    tls_state_path(s, "lock", path, sizeof(path));
    char why[96];
    int fd = tls_open_regular(path, O_RDWR | O_CREAT, 0644, why, sizeof(why));
    if (fd < 0)
        return tls_input_error(err, path, "(state)", "cannot open: %s; allowed: a writable state",
                               why);
    int locked = flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (!locked && errno != EWOULDBLOCK) {
        int e = errno;
        close(fd);
        return tls_input_error(err, dir, "(state)",
                               "cannot lock %s: %s (a file system without locks, e.g. NFS "
                               "without lockd); allowed: an output directory on a file system "
                               "with flock (a local or parallel file system)",
                               path, strerror(e));
    }
    if (!locked) {
        char who[160];
        read_holder(fd, who, sizeof(who));
        close(fd);
        return tls_input_error(err, dir, "(state)",
                               "another tlsweep run is using this sweep (%s); allowed: wait for "
                               "it to end or stop it, then --resume",
                               who[0] ? who : "holder unknown");
    }
    s->lock_fd = fd;
    return TLS_OK;
}

void tls_state_claim(tls_state *s) {
    char me[160], host[64], now[32];
    tls_hostname(host, sizeof(host));
    tls_iso_time(now, sizeof(now));
    int n = snprintf(me, sizeof(me), "pid %ld on %s since %s\n", (long)getpid(), host, now);
    if (s->lock_fd < 0 || ftruncate(s->lock_fd, 0) != 0 ||
        pwrite(s->lock_fd, me, (size_t)n, 0) != n) { /* informative only */
    }
}

void tls_state_unlock(tls_state *s) {
    if (s->lock_fd >= 0) close(s->lock_fd);
    s->lock_fd = -1;
}

int tls_state_probe(const char *dir, char *holder, size_t len) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/lock", dir);
    holder[0] = '\0';
    char why[96];
    int fd = tls_open_regular(path, O_RDONLY, 0, why, sizeof(why));
    if (fd < 0) return 0;
    int held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (held) read_holder(fd, holder, len);
    close(fd);
    return held;
}

/* Removes dir's entries; the lock file only when `lock_too`. */
static int empty_dir(const char *dir, int lock_too) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    char path[4400];
    int rc = 0;
    /* journals first: a state without journals but with a manifest is an
     * empty sweep; one without a manifest is read as no state at all */
    for (int pass = 0; pass < 2; pass++) {
        rewinddir(d);
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            if (!lock_too && !strcmp(e->d_name, "lock")) continue;
            int journal = !strncmp(e->d_name, "journal-", 8);
            if ((pass == 0) != journal) continue;
            if (!strcmp(e->d_name, "lock") || !strcmp(e->d_name, "manifest")) continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (unlink(path) != 0 && errno != ENOENT) rc = -1;
        }
    }
    closedir(d);
    snprintf(path, sizeof(path), "%s/manifest", dir);
    if (unlink(path) != 0 && errno != ENOENT) rc = -1;
    if (lock_too) {
        snprintf(path, sizeof(path), "%s/lock", dir);
        if (unlink(path) != 0 && errno != ENOENT) rc = -1;
    }
    return rc;
}

/* Writes text to dir/name atomically (temporary file, fsync, rename). */
static int write_atomic(const tls_state *s, const char *name, const char *text) {
    char path[4200], tmp[4300];
    tls_state_path(s, name, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    char why[96];
    FILE *f = tls_fopen_regular(tmp, "w", why, sizeof(why));
    TLS_CHECK(f, TLS_ERR_IO, "cannot write %s: %s", tmp, why);
    int ok = fputs(text, f) >= 0;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    TLS_CHECK(ok && rename(tmp, path) == 0, TLS_ERR_IO, "cannot write %s: %s", path,
              strerror(errno));
    return TLS_OK;
}

int tls_state_write_config(tls_state *s, const char *config_yaml) {
    char *text = malloc(strlen(config_yaml) + 128);
    TLS_CHECK(text, TLS_ERR_NOMEM, "out of memory");
    sprintf(text, "# effective configuration of this sweep (tlsweep config prints the same)\n%s",
            config_yaml);
    int rc = write_atomic(s, "config.yaml", text);
    free(text);
    return rc;
}

int tls_state_orphaned(const char *dir) {
    char path[4400];
    struct stat st;
    snprintf(path, sizeof(path), "%s/manifest", dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || lstat(path, &st) == 0) return 0;
    char **paths = NULL;
    int n = 0;
    if (tls_state_journals(dir, &paths, &n) != TLS_OK) return 0;
    tls_state_journals_free(paths, n);
    return n > 0;
}

int tls_state_reset(tls_state *s, const tls_manifest *m, const char *config_yaml) {
    TLS_CHECK(empty_dir(s->dir, 0) == 0, TLS_ERR_IO, "cannot empty the old state %s: %s", s->dir,
              strerror(errno));
    TLS_TRY(tls_state_write_config(s, config_yaml));
    char man[512];
    snprintf(man, sizeof(man),
             "tlsweep-state %d\nsweep_id %016llx\nconfig_hash %016llx\ndata_crc %08x %08x\n"
             "grid_size %lld\npart %d/%d\nstarted %s\n",
             TLS_STATE_VERSION, (unsigned long long)m->sweep_id, (unsigned long long)m->config_hash,
             (unsigned)m->data_crc[0], (unsigned)m->data_crc[1], (long long)m->grid_size, m->part.k,
             m->part.n, m->started);
    return write_atomic(s, "manifest", man);
}

int tls_manifest_read(const char *dir, tls_manifest *m, char *err) {
    char path[4200], line[256];
    snprintf(path, sizeof(path), "%s/manifest", dir);
    memset(m, 0, sizeof(*m));
    char why[96];
    FILE *f = tls_fopen_regular(path, "r", why, sizeof(why));
    if (!f)
        return tls_input_error(err, path, "(state)",
                               "cannot read: %s; allowed: --force to start "
                               "over (discards the sweep's finished work)",
                               why);
    int have = 0;
    unsigned long long a, b;
    unsigned c0, c1;
    long long n;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "tlsweep-state %d", &m->version) == 1) have |= 1;
        if (sscanf(line, "sweep_id %16llx", &a) == 1) m->sweep_id = a, have |= 2;
        if (sscanf(line, "config_hash %16llx", &b) == 1) m->config_hash = b, have |= 4;
        if (sscanf(line, "data_crc %8x %8x", &c0, &c1) == 2)
            m->data_crc[0] = c0, m->data_crc[1] = c1, have |= 8;
        if (sscanf(line, "grid_size %lld", &n) == 1) m->grid_size = n, have |= 16;
        if (sscanf(line, "part %d/%d", &m->part.k, &m->part.n) == 2) have |= 32;
        if (sscanf(line, "started %31s", m->started) == 1) have |= 64;
    }
    fclose(f);
    if ((have & 1) && m->version != TLS_STATE_VERSION)
        return tls_input_error(err, path, "(state)",
                               "a state of format %d, written by another tlsweep version; "
                               "allowed: finish it with that version, or --force to start over",
                               m->version);
    if (have != 127 || m->grid_size < 1 || m->grid_size > TLS_MAX_GRID || m->part.n < 1 ||
        m->part.k < 1 || m->part.k > m->part.n)
        return tls_input_error(err, path, "(state)",
                               "damaged; allowed: --force to start over (discards the sweep's "
                               "finished work)");
    return TLS_OK;
}

uint64_t tls_state_new_id(void) {
    uint64_t id = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&id, sizeof(id), 1, f) != 1) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        id = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
             ((uint64_t)getpid() << 32);
    }
    if (f) fclose(f);
    return id;
}

char *tls_state_config(const char *dir) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/config.yaml", dir);
    char why[96];
    FILE *f = tls_fopen_regular(path, "rb", why, sizeof(why));
    if (!f) return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char buf[4096];
    size_t n;
    while (mem && (n = fread(buf, 1, sizeof(buf), f)) > 0) fwrite(buf, 1, n, mem);
    fclose(f);
    if (mem) fclose(mem);
    return text;
}

/* runs.txt: "RUN<TAB>FIELD<TAB>VALUE" lines, values escaped (\\, \t, \n). */
static void put_escaped(FILE *f, const char *v) {
    for (; v && *v; v++) {
        if (*v == '\\')
            fputs("\\\\", f);
        else if (*v == '\t')
            fputs("\\t", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void unescape(char *s) {
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            *o++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

int tls_state_runs_read(const char *dir, tls_runs *out) {
    memset(out, 0, sizeof(*out));
    char path[4200];
    snprintf(path, sizeof(path), "%s/runs.txt", dir);
    char why[96];
    FILE *f = tls_fopen_regular(path, "r", why, sizeof(why));
    if (!f) return TLS_OK;
    char *line = NULL;
    size_t cap = 0;
    int rc = TLS_OK;
    while (rc == TLS_OK && getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2) continue;
        *t1 = *t2 = '\0';
        int num = atoi(line);
        if (num < 1 || num > 1000000) continue;
        int fld = -1;
        for (int i = 0; i < TLS_RUN_FIELDS; i++)
            if (!strcmp(t1 + 1, tls_run_field_names[i])) fld = i;
        if (fld < 0) continue;
        while (rc == TLS_OK && out->n < num) {
            tls_run empty = {{0}};
            rc = tls_runs_add(out, &empty);
        }
        if (rc) break;
        unescape(t2 + 1);
        char *v = strdup(t2 + 1);
        if (!v) {
            rc = TLS_ERR_NOMEM;
            break;
        }
        free(out->run[num - 1].field[fld]);
        out->run[num - 1].field[fld] = v;
    }
    free(line);
    fclose(f);
    if (rc) tls_runs_free(out);
    return rc;
}

int tls_state_run_write(tls_state *s, int number, const tls_run *run) {
    tls_runs all;
    TLS_TRY(tls_state_runs_read(s->dir, &all));
    tls_run empty = {{0}};
    int rc = TLS_OK;
    while (rc == TLS_OK && all.n < number) rc = tls_runs_add(&all, &empty);
    for (int f = 0; rc == TLS_OK && f < TLS_RUN_FIELDS; f++) {
        char *v = strdup(run->field[f] ? run->field[f] : "");
        if (!v) {
            rc = TLS_ERR_NOMEM;
            break;
        }
        free(all.run[number - 1].field[f]);
        all.run[number - 1].field[f] = v;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = rc == TLS_OK ? open_memstream(&text, &len) : NULL;
    if (mem) {
        for (int i = 0; i < all.n; i++)
            for (int f = 0; f < TLS_RUN_FIELDS; f++) {
                fprintf(mem, "%d\t%s\t", i + 1, tls_run_field_names[f]);
                put_escaped(mem, all.run[i].field[f]);
                fputc('\n', mem);
            }
        fclose(mem);
        rc = write_atomic(s, "runs.txt", text);
    } else if (rc == TLS_OK) {
        rc = TLS_ERR_NOMEM;
    }
    free(text);
    tls_runs_free(&all);
    return rc;
}

int tls_state_remove(tls_state *s) {
    int rc = empty_dir(s->dir, 1);
    tls_state_unlock(s);
    if (rc == 0 && rmdir(s->dir) != 0 && errno != ENOENT) rc = -1;
    TLS_CHECK(rc == 0, TLS_ERR_IO, "cannot remove the finished sweep's state %s: %s", s->dir,
              strerror(errno));
    return tls_fsync_parent(s->dir);
}

int tls_open_regular(const char *path, int flags, int mode, char *why, size_t len) {
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, mode);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, len, "%s", strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, len, "not a regular file (%s)",
                 S_ISDIR(st.st_mode) ? "a directory" : "a FIFO, device or socket");
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

FILE *tls_fopen_regular(const char *path, const char *how, char *why, size_t len) {
    int w = how[0] == 'w';
    int fd = tls_open_regular(path, w ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0644, why, len);
    FILE *f = fd >= 0 ? fdopen(fd, how) : NULL;
    if (fd >= 0 && !f) {
        snprintf(why, len, "%s", strerror(errno));
        close(fd);
    }
    return f;
}

int tls_fsync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a file or a directory */
    TLS_CHECK(fd >= 0, TLS_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    TLS_CHECK(rc == 0, TLS_ERR_IO, "cannot sync %s: %s", path, strerror(e));
    return TLS_OK;
}

int tls_fsync_parent(const char *path) {
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    return tls_fsync_path(dir);
}

typedef struct {
    tls_resume_map *m;
    tls_part part;
} map_ctx;

static int note_record(void *ctx, int file, int64_t offset, const tls_record_meta *meta,
                       const tls_result *r) {
    map_ctx *x = ctx;
    tls_resume_map *m = x->m;
    if (!tls_part_has(x->part, meta->index)) return 0; /* another part's: not ours */
    int64_t pos = tls_part_pos(x->part, meta->index);
    if (pos >= m->count) return 0;
    if (m->file[pos] >= 0) {
        if (m->status[pos] == TLS_STATUS_DONE)
            m->ndone--;
        else
            m->nfailed--;
    }
    m->file[pos] = file;
    m->offset[pos] = offset;
    m->status[pos] = (int8_t)r->s.status;
    if (m->acc) memcpy(m->acc + pos * TLS_NMETHODS, r->s.acc, sizeof(r->s.acc));
    if (r->s.status == TLS_STATUS_DONE)
        m->ndone++;
    else
        m->nfailed++;
    return tls_resume_map_add_host(m, meta->host) != TLS_OK;
}

int tls_resume_map_add_host(tls_resume_map *m, const char *host) {
    if (!host[0]) return TLS_OK;
    for (int h = 0; h < m->nhosts; h++)
        if (!strcmp(m->hosts[h], host)) return TLS_OK;
    TLS_CHECK(m->nhosts < 65536, TLS_ERR_IO, "more than 65536 hosts");
    char **grown = realloc(m->hosts, sizeof(char *) * (size_t)(m->nhosts + 1));
    if (grown) m->hosts = grown;
    char *h = grown ? strdup(host) : NULL;
    TLS_CHECK(h, TLS_ERR_NOMEM, "out of memory");
    m->hosts[m->nhosts++] = h;
    return TLS_OK;
}

int tls_resume_map_build(tls_resume_map *m, tls_journal_reader *rd, tls_part part, int64_t count,
                         int with_acc, tls_result *r) {
    memset(m, 0, sizeof(*m));
    m->count = count;
    m->file = malloc(sizeof(int32_t) * (size_t)(count ? count : 1));
    m->offset = malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
    m->status = calloc((size_t)(count ? count : 1), 1);
    if (!m->file || !m->offset || !m->status) {
        tls_resume_map_free(m);
        TLS_CHECK(0, TLS_ERR_NOMEM, "out of memory for a grid of %lld configurations",
                  (long long)count);
    }
    for (int64_t i = 0; i < count; i++) m->file[i] = -1;
    if (with_acc) {
        m->acc = malloc(sizeof(double) * TLS_NMETHODS * (size_t)(count ? count : 1));
        if (!m->acc) {
            tls_resume_map_free(m);
            TLS_CHECK(0, TLS_ERR_NOMEM, "out of memory for the accuracies of %lld configurations",
                      (long long)count);
        }
        for (int64_t i = 0; i < count * TLS_NMETHODS; i++) m->acc[i] = NAN;
    }
    map_ctx x = {m, part};
    int rc = tls_journal_scan(rd, r, note_record, &x, &m->stats);
    if (rc) tls_resume_map_free(m);
    return rc;
}

void tls_resume_map_free(tls_resume_map *m) {
    free(m->file);
    free(m->offset);
    free(m->status);
    free(m->acc);
    for (int h = 0; h < m->nhosts; h++) free(m->hosts[h]);
    free(m->hosts);
    memset(m, 0, sizeof(*m));
}

int tls_state_last_run(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int last = 0, run, rank;
    while ((e = readdir(d)))
        if (tls_state_journal_parse(e->d_name, &run, &rank) && run > last) last = run;
    closedir(d);
    return last;
}
