#include "tlsweep/collect.h"

#include "tlsweep/check.h"
#include "tlsweep/comm.h"
#include "tlsweep/mmd.h"
#include "tlsweep/progress.h"
#include "tlsweep/provenance.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libsvm/svm.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char *openblas_get_config(void);

void tls_collect_info(tls_store_info *in, tls_versions *v, const tls_setup *s, const char *yaml,
                      const tls_runs *runs, char **hosts, int nhosts) {
    memset(in, 0, sizeof(*in));
    in->config_yaml = yaml;
    in->config_hash = tls_config_hash(s->c);
    in->config_source = s->c->source;
    in->data_mode = tls_setup_data_mode(s->c);
    if (s->files.source) {
        in->data_source = s->c->data_source;
        in->data_target = s->c->data_target;
        in->data_crc[0] = s->files.source->crc32;
        in->data_crc[1] = s->files.target->crc32;
    }
    in->runs = runs;
    in->hosts = (const char *const *)hosts;
    in->nhosts = nhosts;
    in->hints = getenv("TLSWEEP_MPIIO_HINTS");
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    snprintf(v->hdf5, sizeof(v->hdf5), "%u.%u.%u", maj, min, rel);
    int len = 0;
    MPI_Get_library_version(v->mpi, &len);
    v->mpi[strcspn(v->mpi, ",\n")] = '\0';
    snprintf(v->libsvm, sizeof(v->libsvm), "%d", LIBSVM_VERSION);
    const tls_build *b = tls_build_info();
    const char *pairs[][2] = {{"tlsweep_version", b->version},
                              {"tlsweep_commit", b->commit},
                              {"compiler", b->compiler},
                              {"cflags", b->cflags},
                              {"hdf5_version", v->hdf5},
                              {"mpi_version", v->mpi},
                              {"openblas_config", openblas_get_config()},
                              {"libsvm_version", v->libsvm},
                              {"mmd_kernel", tls_mmd_kernel()}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        in->versions[i][0] = pairs[i][0], in->versions[i][1] = pairs[i][1];
}

/* Runs fn with the working directory at dir: MPI-IO layers have limits on
 * path lengths (Open MPI 4.1's shared file pointer component overflows a
 * buffer beyond about 225 characters), so the results file is always
 * opened by a short relative name. */
static int in_dir(const char *dir, int *saved) {
    *saved = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*saved < 0) return TLS_ERR_IO;
    if (chdir(dir) != 0) {
        close(*saved);
        *saved = -1;
        return TLS_ERR_IO;
    }
    return TLS_OK;
}

static void back_dir(int *saved) {
    if (*saved >= 0) {
        if (fchdir(*saved) != 0) { /* nothing more can be done */
        }
        close(*saved);
    }
    *saved = -1;
}

int tls_collect_source(MPI_Comm comm, const tls_setup *s, const char *odir, const char *name,
                       const tls_store_info *info, const tls_record_source *src,
                       tls_store_counts *counts) {
    int saved = -1;
    int rc = tls_agree(comm, in_dir(odir, &saved), "cannot enter the output directory");
    if (rc == TLS_OK) rc = tls_store_write(name, comm, &s->L, info, src, counts);
    back_dir(&saved);
    return rc;
}

typedef struct {
    tls_journal_reader *rd;
    const int32_t *file;
    const int64_t *offset;
    int64_t lo; /* position of file[0] */
} journal_source;

static int journal_get(void *ctx, int64_t pos, tls_record_meta *meta, tls_result *r, int *have) {
    journal_source *js = ctx;
    int64_t i = pos - js->lo;
    *have = js->file[i] >= 0;
    if (!*have) return TLS_OK;
    return tls_journal_read_at(js->rd, js->file[i], js->offset[i], meta, r);
}

/* Rank 0: the map of the journals' records in m -- the one kept during the
 * run, when the journals are what it expects (every rank's file of this run
 * after the earlier ones), else every record read again -- and the hosts of
 * this run's ranks (all: nranks x TLS_HOST_LEN). */
static int rank0_map(const tls_setup *s, tls_journal_reader *rd, tls_resume_map *known,
                     int known_files, const char *all, int nranks, tls_resume_map *m) {
    int rc = TLS_OK;
    if (known && tls_journal_reader_nfiles(rd) == known_files) {
        *m = *known;
        memset(known, 0, sizeof(*known)); /* taken over */
    } else {
        known = NULL;
        rc = tls_resume_map_build(m, rd, s->L.part, s->L.count, 0, s->r);
    }
    for (int i = 0; rc == TLS_OK && known && all && i < nranks; i++)
        rc = tls_resume_map_add_host(m, all + (size_t)i * TLS_HOST_LEN);
    return rc;
}

/* Collective: rank 0's hosts (m) on every rank, as an array of n pointers
 * into *buf. */
static char **bcast_hosts(MPI_Comm comm, const tls_resume_map *m, int *n, char **buf) {
    *n = tls_bcast_int(comm, m->nhosts);
    *buf = calloc((size_t)(*n ? *n : 1), TLS_HOST_LEN);
    char **hosts = calloc((size_t)(*n ? *n : 1), sizeof(char *));
    if (!*buf || !hosts) tls_comm_abort(comm, TLS_EXIT_FAILURE, "out of memory for the hosts");
    if (tls_comm_rank(comm) == 0)
        for (int h = 0; h < *n; h++)
            snprintf(*buf + (size_t)h * TLS_HOST_LEN, TLS_HOST_LEN, "%s", m->hosts[h]);
    tls_bcast_strings(comm, *buf, *n, TLS_HOST_LEN);
    for (int h = 0; h < *n; h++) hosts[h] = *buf + (size_t)h * TLS_HOST_LEN;
    return hosts;
}

/* Collective: each rank's block of rank 0's map (file, offset) for positions [lo, hi). */
static void scatter_map(MPI_Comm comm, const tls_setup *s, const tls_resume_map *m, int32_t *file,
                        int64_t *off, int64_t lo, int64_t hi) {
    int rank = tls_comm_rank(comm), nranks = tls_comm_size(comm);
    int *cnt = NULL, *displ = NULL;
    if (rank == 0) {
        cnt = calloc((size_t)nranks, sizeof(int));
        displ = calloc((size_t)nranks, sizeof(int));
        if (!cnt || !displ)
            tls_comm_abort(comm, TLS_EXIT_FAILURE, "out of memory for the write map");
        for (int i = 0; i < nranks; i++) {
            int64_t a, b;
            tls_store_block(s->L.count, i, nranks, &a, &b);
            cnt[i] = (int)(b - a), displ[i] = (int)a;
        }
    }
    TLS_MPI(comm, MPI_Scatterv(m->file, cnt, displ, MPI_INT32_T, file, (int)(hi - lo), MPI_INT32_T,
                               0, comm));
    TLS_MPI(comm, MPI_Scatterv(m->offset, cnt, displ, MPI_INT64_T, off, (int)(hi - lo), MPI_INT64_T,
                               0, comm));
    free(cnt);
    free(displ);
}

int tls_collect_journals(MPI_Comm comm, const tls_setup *s, const char *dir, const char *odir,
                         const char *name, uint64_t sweep_id, tls_resume_map *known,
                         int known_files, const tls_runs *runs, tls_store_counts *counts,
                         double *seconds) {
    int rank = tls_comm_rank(comm), nranks = tls_comm_size(comm);
    double t0 = tls_now();
    size_t ab = tls_journal_array_bytes(s->r, s->c->embeddings);
    tls_journal_reader *rd = NULL;
    tls_resume_map m;
    memset(&m, 0, sizeof(m));
    char msg[TLS_ERRMSG] = "";
    int rc = TLS_OK;
    /* the hosts of this run's ranks, for a map kept during the run */
    char me[TLS_HOST_LEN] = "", *all = rank == 0 ? calloc((size_t)nranks, TLS_HOST_LEN) : NULL;
    tls_hostname(me, sizeof(me));
    tls_gather_string(comm, me, TLS_HOST_LEN, all);
    if (rank == 0) {
        rc = tls_state_journal_reader(&rd, dir, sweep_id, s->c->grid_size, ab);
        if (rc == TLS_OK) rc = rank0_map(s, rd, known, known_files, all, nranks, &m);
        if (rc) snprintf(msg, sizeof(msg), "rank 0: cannot read the journals in %s", dir);
    }
    free(all);
    rc = tls_agree(comm, rc, msg);
    if (rc) {
        tls_journal_reader_close(&rd);
        return rc;
    }
    /* every rank reads the same journal files, in rank 0's order */
    int nfiles = tls_bcast_int(comm, rank == 0 ? tls_journal_reader_nfiles(rd) : 0);
    if (rank != 0) rc = tls_state_journal_reader(&rd, dir, sweep_id, s->c->grid_size, ab);
    if (rc == TLS_OK && tls_journal_reader_nfiles(rd) != nfiles) rc = TLS_ERR_IO;
    if (rc)
        snprintf(msg, sizeof(msg), "rank %d: the journals in %s changed while writing", rank, dir);
    rc = tls_agree(comm, rc, msg);
    int nhosts = 0;
    char *hostbuf = NULL, **hosts = bcast_hosts(comm, &m, &nhosts, &hostbuf);
    int64_t lo, hi;
    tls_store_block(s->L.count, rank, nranks, &lo, &hi);
    int32_t *file = malloc(sizeof(int32_t) * (size_t)(hi - lo + 1));
    int64_t *off = malloc(sizeof(int64_t) * (size_t)(hi - lo + 1));
    int ok = file && off;
    if (tls_agree(comm, ok ? TLS_OK : TLS_ERR_NOMEM, "out of memory for the write map") == TLS_OK &&
        rc == TLS_OK) {
        scatter_map(comm, s, &m, file, off, lo, hi);
        journal_source js = {rd, file, off, lo};
        tls_record_source src = {NULL, journal_get, &js, NULL};
        tls_versions v;
        tls_store_info info;
        char *yaml = tls_config_yaml(s->c);
        tls_collect_info(&info, &v, s, yaml, runs, hosts, nhosts);
        rc = tls_collect_source(comm, s, odir, name, &info, &src, counts);
        free(yaml);
    } else if (rc == TLS_OK) {
        rc = TLS_ERR_NOMEM;
    }
    free(file), free(off), free(hostbuf), free(hosts);
    tls_journal_reader_close(&rd);
    tls_resume_map_free(&m);
    *seconds = tls_now() - t0;
    return rc;
}

/* Removes from dir the temporary files beside base that a write on this
 * host left when it was killed: .BASE.tmp-PID@HOST with HOST this host's
 * name and no process PID alive. Another host's, or a live process's, stay. */
static void remove_stale_temps(const char *dir, const char *base, const char *host) {
    char prefix[300];
    int np = snprintf(prefix, sizeof(prefix), ".%.200s.tmp-", base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char *end, *at = strchr(e->d_name, '@');
        if (strncmp(e->d_name, prefix, (size_t)np) || !at || strcmp(at + 1, host)) continue;
        long pid = strtol(e->d_name + np, &end, 10);
        if (end != at || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char path[8400];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && unlink(path) == 0)
            fprintf(stderr, "tlsweep: removed %s (%.1f MB), left by a write that was killed\n",
                    path, (double)st.st_size / 1e6);
    }
    if (d) closedir(d);
}

void tls_collect_temp_name(MPI_Comm comm, const char *dir, char *buf, size_t len,
                           const char *base) {
    char host[72] = "";
    if (tls_comm_rank(comm) == 0) {
        gethostname(host, sizeof(host) - 1);
        remove_stale_temps(dir, base, host);
    }
    long pid = (long)tls_bcast_i64(comm, (int64_t)getpid());
    MPI_Bcast(host, sizeof(host), MPI_CHAR, 0, comm);
    snprintf(buf, len, ".%.160s.tmp-%ld@%.64s", base, pid, host);
}

int tls_collect_put_in_place(const char *dir, const char *tmp, const char *dest) {
    char from[8400];
    snprintf(from, sizeof(from), "%s/%s", dir, tmp);
    if (tls_fsync_path(from) != TLS_OK || rename(from, dest) != 0 ||
        tls_fsync_parent(dest) != TLS_OK) {
        fprintf(stderr, "tlsweep: cannot move %s to %s: %s\n", from, dest, strerror(errno));
        unlink(from);
        return TLS_ERR_IO;
    }
    return TLS_OK;
}
