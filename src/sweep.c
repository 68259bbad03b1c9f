#include "tlsweep/sweep.h"

#include "tlsweep/check.h"
#include "tlsweep/config.h"
#include "tlsweep/dataset.h"
#include "tlsweep/engine.h"
#include "tlsweep/grid.h"
#include "tlsweep/journal.h"
#include "tlsweep/mmd.h"
#include "tlsweep/progress.h"
#include "tlsweep/provenance.h"
#include "tlsweep/sched.h"
#include "tlsweep/signals.h"
#include "tlsweep/slurm.h"
#include "tlsweep/state.h"
#include "tlsweep/store.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libsvm/svm.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

extern char *openblas_get_config(void);

/* ---- every rank agrees ------------------------------------------------------ */

static int world_rank(void) {
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

/* Collective: the outcome of a step every rank took. Returns 0 when every
 * rank's rc is 0, else the rc of the lowest rank that failed; that rank's
 * message (if any) is printed once, by rank 0. */
static int agree(int rc, const char *msg) {
    int rank, n;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    int mine = rc ? rank : n, first = n;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == n) return TLS_OK;
    struct {
        int rc;
        char msg[TLS_ERRMSG];
    } m;
    memset(&m, 0, sizeof(m));
    if (rank == first) {
        m.rc = rc;
        snprintf(m.msg, sizeof(m.msg), "%s", msg ? msg : "");
    }
    MPI_Bcast(&m, sizeof(m), MPI_BYTE, first, MPI_COMM_WORLD);
    if (rank == 0 && m.msg[0]) fprintf(stderr, "tlsweep: %s\n", m.msg);
    return m.rc;
}

static int exit_of(int rc) {
    return rc == TLS_OK ? TLS_EXIT_OK : rc == TLS_ERR_INPUT ? TLS_EXIT_BAD_INPUT : TLS_EXIT_FAILURE;
}

/* ---- setup: configuration, data, layout (every rank) -------------------------- */

typedef struct {
    tls_config *c;
    tls_data_files files;
    tls_engine_params env;
    tls_layout L;
    tls_result *r; /* created for the envelope */
} setup;

static void setup_free(setup *s) {
    tls_result_destroy(&s->r);
    tls_data_files_release(&s->files);
    tls_config_destroy(&s->c);
}

/* Loads a configuration (from path and sets, or from text), its data
 * files, and the layout of its results file. */
static int setup_load(setup *s, const char *path, const char *text, const char *const *sets,
                      int nsets, tls_part part, char *err) {
    memset(s, 0, sizeof(*s));
    int rc = text ? tls_config_load_text(&s->c, path, text, err)
                  : tls_config_load(&s->c, path, sets, nsets, err);
    if (rc) return rc;
    if (part.n > s->c->grid_size)
        return tls_input_error(err, "--part", "(option)",
                               "%d parts of a grid of %lld configurations; allowed: at most one "
                               "part per configuration",
                               part.n, (long long)s->c->grid_size);
    TLS_TRY(tls_data_files_open(&s->files, s->c, err));
    int min_nt, max_nt;
    tls_grid_envelope(s->c, tls_data_files_bind, &s->files, &s->env, &min_nt, &max_nt);
    tls_layout_init(&s->L, s->c, &s->env, part);
    rc = tls_result_create(&s->r, &s->env);
    if (rc) snprintf(err, TLS_ERRMSG, "rank %d: out of memory for a result", world_rank());
    return rc;
}

static const char *data_mode(const tls_config *c) {
    return !c->data_source[0]      ? "synthetic Gaussian domains: the shift rotates the target"
           : c->image_shape.n == 2 ? "image files: the shift rotates the target images"
                                   : "files: the shift rotates the first two coordinates";
}

/* The library versions and build facts the store records. */
typedef struct {
    char hdf5[32], mpi[MPI_MAX_LIBRARY_VERSION_STRING], libsvm[16];
} versions;

static void store_info_init(tls_store_info *in, versions *v, const setup *s, char *yaml,
                            const tls_runs *runs, char **hosts, int nhosts) {
    memset(in, 0, sizeof(*in));
    in->config_yaml = yaml;
    in->config_hash = tls_config_hash(s->c);
    in->config_source = s->c->source;
    in->data_mode = data_mode(s->c);
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

/* ---- the hosts and CPUs of a run --------------------------------------------- */

/* Collective: "host (n ranks), host (n ranks)" and the distinct CPU models. */
static void run_machines(char *hosts, size_t hlen, char *cpus, size_t clen) {
    int rank, n;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    struct {
        char host[64], cpu[128];
    } me, *all = NULL;
    memset(&me, 0, sizeof(me));
    tls_hostname(me.host, sizeof(me.host));
    tls_cpu_model(me.cpu, sizeof(me.cpu));
    if (rank == 0) all = calloc((size_t)n, sizeof(*all));
    MPI_Gather(&me, sizeof(me), MPI_BYTE, all, sizeof(me), MPI_BYTE, 0, MPI_COMM_WORLD);
    hosts[0] = cpus[0] = '\0';
    if (rank != 0 || !all) return;
    for (int i = 0; i < n; i++) {
        int seen = 0, count = 0;
        for (int j = 0; j < i; j++) seen |= !strcmp(all[j].host, all[i].host);
        if (!seen) {
            for (int j = i; j < n; j++) count += !strcmp(all[j].host, all[i].host);
            snprintf(hosts + strlen(hosts), hlen - strlen(hosts), "%s%s (%d rank%s)",
                     hosts[0] ? ", " : "", all[i].host, count, count > 1 ? "s" : "");
        }
        seen = 0;
        for (int j = 0; j < i; j++) seen |= !strcmp(all[j].cpu, all[i].cpu);
        if (!seen)
            snprintf(cpus + strlen(cpus), clen - strlen(cpus), "%s%s", cpus[0] ? "; " : "",
                     all[i].cpu);
    }
    free(all);
}

/* ---- what differs between two configurations ----------------------------------- */

/* Names the keys whose canonical YAML lines differ between a and b. */
static void config_diff(const char *a, const char *b, char *out, size_t len) {
    out[0] = '\0';
    int listed = 0;
    const char *texts[2] = {a, b};
    for (int side = 0; side < 2; side++) {
        const char *p = texts[side];
        char section[64] = "";
        while (p && *p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            char line[1024];
            snprintf(line, sizeof(line), "%.*s", (int)(n < 1023 ? n : 1023), p);
            p = nl ? nl + 1 : NULL;
            if (line[0] != ' ' && line[0] != '#' && strchr(line, ':')) {
                snprintf(section, sizeof(section), "%.*s", (int)strcspn(line, ":"), line);
                continue;
            }
            const char *k = line + strspn(line, " ");
            if (*k == '#' || !strchr(k, ':')) continue;
            /* is this exact line in the other text? */
            const char *other = texts[1 - side];
            char needle[1100];
            snprintf(needle, sizeof(needle), "\n%s\n", line);
            int found = 0;
            const char *q = other;
            char sec2[64] = "";
            while (q && *q && !found) {
                const char *nl2 = strchr(q, '\n');
                size_t m = nl2 ? (size_t)(nl2 - q) : strlen(q);
                if (q[0] != ' ' && q[0] != '#' && memchr(q, ':', m))
                    snprintf(sec2, sizeof(sec2), "%.*s", (int)strcspn(q, ":"), q);
                else
                    found = !strcmp(sec2, section) && m == strlen(line) && !strncmp(q, line, m);
                q = nl2 ? nl2 + 1 : NULL;
            }
            if (found) continue;
            char key[160];
            snprintf(key, sizeof(key), "%s.%.*s", section, (int)strcspn(k, ":"), k);
            if (strstr(out, key)) continue;
            if (++listed > 8) continue; /* counted, not listed */
            snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? ", " : "", key);
        }
    }
    if (listed > 8) snprintf(out + strlen(out), len - strlen(out), " and %d more keys", listed - 8);
    if (!out[0]) snprintf(out, len, "the data files' contents");
}

/* ---- the run: rank 0's decisions ----------------------------------------------- */

typedef struct {
    const tls_run_opts *o;
    setup s;
    tls_state state;
    tls_manifest man;
    int run_no;
    char *yaml;    /* the effective configuration */
    int64_t *work; /* rank 0: positions to compute */
    int64_t nwork, already;
    tls_runs runs;      /* provenance: every run so far */
    int nothing_to_do;  /* rank 0: the sweep is complete already */
    tls_resume_map map; /* rank 0: the latest record of every configuration, kept up to date */
    int nfiles;         /* rank 0: journal files before this run */
} run_ctx;

/* The directory and file name of path ("." when none). */
static void split_path(const char *path, char *dir, size_t dlen, char *base, size_t blen) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dlen, ".");
        snprintf(base, blen, "%s", path);
    } else {
        snprintf(dir, dlen, "%.*s", slash == path ? 1 : (int)(slash - path), path);
        snprintf(base, blen, "%s", slash + 1);
    }
}

static int file_exists(const char *p, struct stat *st) {
    return stat(p, st) == 0;
}

/* Checks -o before anything is computed. */
static int check_output(const char *out, char *err) {
    struct stat st;
    if (!out[0])
        return tls_input_error(err, "-o", "\"\"",
                               "empty path; allowed: a file path, e.g. "
                               "results.h5");
    size_t n = strlen(out);
    if (out[n - 1] == '/' || (file_exists(out, &st) && S_ISDIR(st.st_mode)))
        return tls_input_error(err, "-o", out,
                               "is a directory; allowed: a file path, e.g. %s%s"
                               "results.h5",
                               out, out[n - 1] == '/' ? "" : "/");
    if (file_exists(out, &st) && !S_ISREG(st.st_mode))
        return tls_input_error(err, "-o", out, "is not a regular file; allowed: a file path");
    char parent[4200], base[4200];
    split_path(out, parent, sizeof(parent), base, sizeof(base));
    int found = stat(parent, &st) == 0;
    if (!found || !S_ISDIR(st.st_mode))
        return tls_input_error(err, "-o", out,
                               "output directory %s %s; allowed: a path in an existing, "
                               "writable directory",
                               parent,
                               found || errno == ENOTDIR ? "is not a directory" : "does not exist");
    if (access(parent, W_OK | X_OK) != 0)
        return tls_input_error(err, "-o", out,
                               "output directory %s is not writable; allowed: a path in an "
                               "existing, writable directory",
                               parent);
    return TLS_OK;
}

/* Bytes free where out is written, or -1 when unknown. */
static double free_bytes(const char *out) {
    char parent[4200], base[4200];
    split_path(out, parent, sizeof(parent), base, sizeof(base));
    struct statvfs vfs;
    if (statvfs(parent, &vfs) != 0) return -1;
    return (double)vfs.f_bavail * (double)vfs.f_frsize;
}

static void format_bytes(char *buf, size_t len, double b) {
    if (b >= 1073741824.0)
        snprintf(buf, len, "%.2f GiB", b / 1073741824.0);
    else
        snprintf(buf, len, "%.1f MiB", b / 1048576.0);
}

/* The disk the run needs: the new results file, the journal records still
 * to come; the old file and journals stay until the new file is in place. */
static int check_space(run_ctx *x, int64_t todo, char *err) {
    const tls_layout *L = &x->s.L;
    double file = tls_store_bytes_per_config(L) * (double)L->count;
    double rec = (double)(sizeof(tls_record_meta) + sizeof(tls_scalars) +
                          tls_journal_array_bytes(x->s.r, x->s.c->embeddings) + 40);
    double need = file * 1.02 + (1 << 20) + rec * (double)todo, avail = free_bytes(x->o->output);
    if (x->o->force || avail < 0 || need <= avail) return TLS_OK;
    char sneed[32], savail[32];
    format_bytes(sneed, sizeof(sneed), need);
    format_bytes(savail, sizeof(savail), avail);
    return tls_input_error(err, "-o", x->o->output,
                           "the sweep needs about %s (results file and journal records still to "
                           "come) but its directory has %s free; allowed: a smaller grid, --set "
                           "output.embeddings=false, another -o, free space, or --force to try "
                           "anyway",
                           sneed, savail);
}

/* Takes over the results of an existing results file into a new state
 * (resume without a state directory: deleted, or the file was copied). */
static int import_file(run_ctx *x, tls_store_reader *rd, char *err) {
    const tls_layout *L = &x->s.L;
    TLS_TRY(tls_store_check(rd, L, err));
    char path[4200];
    tls_state_path(&x->state, "journal-000000-import.bin", path, sizeof(path));
    tls_journal *j = NULL;
    TLS_TRY(tls_journal_open(&j, path, x->man.sweep_id,
                             tls_journal_array_bytes(x->s.r, x->s.c->embeddings), 3600));
    tls_record_source src;
    tls_store_source(rd, &src);
    int rc = TLS_OK;
    const int64_t block = 4096;
    for (int64_t lo = 0; lo < L->count && rc == TLS_OK; lo += block) {
        int64_t hi = lo + block < L->count ? lo + block : L->count;
        rc = src.prepare(src.ctx, lo, hi);
        for (int64_t p = lo; p < hi && rc == TLS_OK; p++) {
            tls_record_meta meta;
            int have = 0;
            rc = src.get(src.ctx, p, &meta, x->s.r, &have);
            if (rc == TLS_OK && have) rc = tls_journal_append(j, &meta, x->s.r, NULL);
        }
    }
    int crc = tls_journal_close(&j);
    if (rc == TLS_OK) rc = crc;
    if (rc) snprintf(err, TLS_ERRMSG, "cannot take over the results of %s", x->o->output);
    return rc;
}

/* A fresh manifest for this configuration. */
static void new_manifest(run_ctx *x) {
    memset(&x->man, 0, sizeof(x->man));
    x->man.version = TLS_STATE_VERSION;
    x->man.sweep_id = tls_state_new_id();
    x->man.config_hash = tls_config_hash(x->s.c);
    if (x->s.files.source) {
        x->man.data_crc[0] = x->s.files.source->crc32;
        x->man.data_crc[1] = x->s.files.target->crc32;
    }
    x->man.grid_size = x->s.c->grid_size;
    x->man.part = x->o->part;
    tls_iso_time(x->man.started, sizeof(x->man.started));
}

static int same_sweep(const run_ctx *x, const tls_manifest *m) {
    return m->config_hash == x->man.config_hash && m->data_crc[0] == x->man.data_crc[0] &&
           m->data_crc[1] == x->man.data_crc[1] && m->part.k == x->o->part.k &&
           m->part.n == x->o->part.n;
}

/* What a refused resume says: the keys that differ, and the ways out. */
static int refuse_other(run_ctx *x, const char *what, const char *stored_yaml, char *err) {
    if (!x->o->config_path && x->o->nsets == 0)
        return tls_input_error(err, "--resume", x->o->output,
                               "its stored configuration does not match its config_hash (the "
                               "file or state was edited or damaged); allowed: --resume with the "
                               "sweep's CONFIG and --set options, or --force to start over");
    /* compare canonical texts: the stored one loaded and printed again */
    char diff[600], lerr[TLS_ERRMSG];
    tls_config *old = NULL;
    char *canon = stored_yaml && tls_config_load_text(&old, "stored", stored_yaml, lerr) == TLS_OK
                      ? tls_config_yaml(old)
                      : NULL;
    config_diff(canon ? canon : stored_yaml ? stored_yaml : "", x->yaml, diff, sizeof(diff));
    free(canon);
    tls_config_destroy(&old);
    return tls_input_error(
        err, "--resume", x->o->output,
        "%s was written for a different configuration (differs in: %s); allowed: "
        "--resume with no CONFIG and no --set (uses the stored one), the "
        "same configuration, another -o, or --force to start over (which "
        "discards the finished configurations)",
        what, diff);
}

/* Rank 0: decides whether the run may start, prepares the state, and finds
 * what is already done. */
static int prepare(run_ctx *x, char *err) {
    const tls_run_opts *o = x->o;
    char dir[4200];
    struct stat st;
    TLS_TRY(check_output(o->output, err));
    TLS_TRY(tls_state_dir(dir, sizeof(dir), o->output, err));
    MPI_Info hints;
    TLS_TRY(tls_store_hints(&hints, getenv("TLSWEEP_MPIIO_HINTS"), err));
    if (hints != MPI_INFO_NULL) MPI_Info_free(&hints);
    new_manifest(x);
    int out_exists = file_exists(o->output, &st);
    char mpath[4300];
    snprintf(mpath, sizeof(mpath), "%s/manifest", dir);
    int have_state = file_exists(mpath, &st);
    if (!o->resume) {
        if ((out_exists || have_state) && !o->force)
            return tls_input_error(err, "-o", o->output,
                                   "%s already exists; allowed: --resume to continue%s, another "
                                   "-o, or --force to replace it (discards its results)",
                                   out_exists ? o->output : dir,
                                   have_state ? " the interrupted sweep" : " it if incomplete");
        TLS_TRY(check_space(x, x->s.L.count, err));
        TLS_TRY(tls_state_lock(&x->state, dir, err));
        TLS_TRY(tls_state_reset(&x->state, &x->man, x->yaml));
        tls_state_claim(&x->state);
        return TLS_OK;
    }
    /* --resume: the state, or else the results file, says what is done */
    if (file_exists(dir, &st)) TLS_TRY(tls_state_lock(&x->state, dir, err));
    tls_store_reader *rd = NULL;
    char ferr[TLS_ERRMSG];
    int rc = TLS_OK, file_ours = 0, file_complete = 0;
    if (out_exists && tls_store_open(&rd, o->output, ferr) == TLS_OK) {
        unsigned long long h = 0;
        tls_part fp = {1, 1};
        sscanf(tls_store_attr(rd, "config_hash"), "%16llx", &h);
        sscanf(tls_store_attr(rd, "part"), "%d/%d", &fp.k, &fp.n);
        file_ours = h == x->man.config_hash && fp.k == o->part.k && fp.n == o->part.n;
        file_complete = file_ours && tls_store_attr_int(rd, "n_pending", -1) == 0;
        if (file_ours) {
            /* nothing read from disk is trusted: the layout, then the statuses */
            rc = tls_store_check(rd, &x->s.L, err);
            int8_t *st8 = rc == TLS_OK ? malloc((size_t)x->s.L.count + 1) : NULL;
            if (rc == TLS_OK && (!st8 || tls_store_read_status(rd, st8, NULL, 0) != TLS_OK))
                rc = tls_input_error(err, "--resume", o->output,
                                     "cannot read its status; allowed: a results file written "
                                     "by tlsweep run, or --force");
            for (int64_t i = 0; rc == TLS_OK && file_complete && i < x->s.L.count; i++)
                file_complete =
                    st8[i] == TLS_STATUS_DONE || (st8[i] == TLS_STATUS_FAILED && !o->retry_failed);
            free(st8);
            if (rc) {
                tls_store_close(&rd);
                return rc;
            }
        }
    }
    if (have_state) {
        /* the state is the authority; the file may be another sweep's
         * earlier result, replaced when this one finishes */
        tls_manifest m;
        rc = tls_manifest_read(dir, &m, err);
        if (rc == TLS_OK && !same_sweep(x, &m)) {
            char *stored = tls_state_config(dir);
            int part_differs = m.part.k != o->part.k || m.part.n != o->part.n;
            rc = m.config_hash != x->man.config_hash
                     ? refuse_other(x, "the interrupted sweep", stored, err)
                 : part_differs
                     ? tls_input_error(err, "--resume", o->output,
                                       "the sweep began as part %d/%d, this run is part %d/%d; "
                                       "allowed: the same part (--part %d/%d), or --force to "
                                       "start over (discards the finished configurations)",
                                       m.part.k, m.part.n, o->part.k, o->part.n, m.part.k, m.part.n)
                     : tls_input_error(err, "--resume", o->output,
                                       "the data files changed since the sweep began "
                                       "(see %s/config.yaml); allowed: the same data, "
                                       "or --force to start over (discards the finished "
                                       "configurations)",
                                       dir);
            free(stored);
        }
        if (rc == TLS_OK) x->man = m;
    } else if (!out_exists) {
        rc = tls_input_error(err, "--resume", o->output,
                             "no sweep to resume (neither the file nor %s exists); allowed: run "
                             "without --resume first",
                             dir);
    } else if (!rd) {
        rc = tls_input_error(err, "--resume", o->output,
                             "%s; allowed: a results file written by tlsweep run, or --force",
                             strstr(ferr, ": (file): ") ? strstr(ferr, ": (file): ") + 10 : ferr);
    } else if (!file_ours) {
        unsigned long long h = 0;
        sscanf(tls_store_attr(rd, "config_hash"), "%16llx", &h);
        rc = h != x->man.config_hash
                 ? refuse_other(x, o->output, tls_store_attr(rd, "config_yaml"), err)
                 : tls_input_error(err, "--resume", o->output,
                                   "is part %s of its sweep; allowed: the same --part",
                                   tls_store_attr(rd, "part"));
    }
    if (rc == TLS_OK && file_complete) {
        /* complete: a state left by a kill during clean-up goes now */
        fprintf(stderr, "tlsweep: %s is complete: nothing to resume\n", o->output);
        if (x->state.lock_fd >= 0 && tls_state_remove(&x->state) != TLS_OK)
            fprintf(stderr, "tlsweep: the old state %s is left behind: remove it\n", dir);
        x->nothing_to_do = 1;
    } else if (rc == TLS_OK && !have_state) {
        fprintf(stderr,
                "tlsweep: %s has no sweep state (%s): taking over the results the file holds\n",
                o->output, dir);
        if (x->state.lock_fd < 0) rc = tls_state_lock(&x->state, dir, err);
        const char *started = tls_store_attr(rd, "started");
        if (started[0]) snprintf(x->man.started, sizeof(x->man.started), "%s", started);
        if (rc == TLS_OK) rc = tls_state_reset(&x->state, &x->man, x->yaml);
        if (rc == TLS_OK) rc = import_file(x, rd, err);
        tls_runs old = {0, NULL};
        if (rc == TLS_OK) rc = tls_store_runs(rd, &old);
        for (int i = 0; rc == TLS_OK && i < old.n; i++)
            rc = tls_state_run_write(&x->state, i + 1, &old.run[i]);
        tls_runs_free(&old);
    }
    tls_store_close(&rd);
    return rc; /* the space check and the claim follow the plan: they need the work left */
}

/* Rank 0: what the journals hold, and the work list. */
static int plan(run_ctx *x, char *err) {
    tls_journal_reader *rd = NULL;
    tls_resume_map *m = &x->map;
    size_t ab = tls_journal_array_bytes(x->s.r, x->s.c->embeddings);
    int rc = tls_journal_reader_open(&rd, x->state.dir, x->man.sweep_id, x->s.c->grid_size, ab);
    if (rc == TLS_OK) rc = tls_resume_map_build(m, rd, x->o->part, x->s.L.count, x->s.r);
    x->nfiles = rc == TLS_OK ? tls_journal_reader_nfiles(rd) : 0;
    tls_journal_reader_close(&rd);
    if (rc) {
        snprintf(err, TLS_ERRMSG, "cannot read the sweep state in %.900s", x->state.dir);
        return rc;
    }
    if (m->stats.foreign)
        fprintf(stderr, "tlsweep: %s: %lld journal records of another sweep refused\n",
                x->state.dir, (long long)m->stats.foreign);
    if (m->stats.damaged > 1)
        fprintf(stderr,
                "tlsweep: %s: %lld damaged stretches of journal skipped; their configurations "
                "are computed again\n",
                x->state.dir, (long long)m->stats.damaged);
    x->work = malloc(sizeof(int64_t) * (size_t)(m->count ? m->count : 1));
    if (!x->work) {
        snprintf(err, TLS_ERRMSG, "rank 0: out of memory for the work list");
        return TLS_ERR_NOMEM;
    }
    for (int64_t p = 0; p < m->count; p++) {
        int todo = m->file[p] < 0 || (x->o->retry_failed && m->status[p] == TLS_STATUS_FAILED);
        if (todo)
            x->work[x->nwork++] = tls_layout_index(&x->s.L, p);
        else
            x->already++;
    }
    x->run_no = tls_state_last_run(x->state.dir) + 1;
    TLS_TRY(tls_state_runs_read(x->state.dir, &x->runs));
    if (x->run_no <= x->runs.n) x->run_no = x->runs.n + 1;
    return TLS_OK;
}

/* ---- computing one configuration ------------------------------------------------ */

typedef struct {
    const setup *s;
    tls_result *r;
    tls_journal *journal;
    int rank;
    char host[TLS_HOST_LEN];
} compute_ctx;

/* Fault injection for tests of failure containment: TLSWEEP_FAULT is a
 * comma-separated list of grid indices whose MMD method is recorded as
 * failed (tests/README.md; never set in production). */
static int injected_fault(int64_t idx) {
    const char *s = getenv("TLSWEEP_FAULT");
    while (s && *s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s) return 0;
        if (v == idx) return 1;
        s = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int compute_one(void *arg, int64_t idx, int *status, double *seconds, int64_t *offset) {
    compute_ctx *x = arg;
    tls_settings st;
    tls_grid_settings(x->s->c, idx, &st);
    tls_data_files_bind(&x->s->files, &st.eng);
    double t = tls_now();
    TLS_CALL(tls_engine_run(x->r, &st.eng, &st.pt));
    tls_result_expand(x->r, &st.eng, &x->s->env);
    if (injected_fault(idx)) {
        tls_scalars *sc = &x->r->s;
        sc->status = sc->mstatus[TLS_METHOD_MMD] = TLS_STATUS_FAILED;
        sc->acc[TLS_METHOD_MMD] = sc->mmd2_feat_after = sc->pad_feat = NAN;
        sc->negative_transfer = -1;
        snprintf(sc->reason, sizeof(sc->reason), "mmd: fault injected by TLSWEEP_FAULT");
    }
    tls_record_meta meta;
    memset(&meta, 0, sizeof(meta));
    meta.index = idx;
    meta.rank = x->rank;
    meta.seconds = tls_now() - t;
    meta.finished = (double)time(NULL);
    memcpy(meta.host, x->host, sizeof(meta.host));
    TLS_CALL(tls_journal_append(x->journal, &meta, x->r, offset));
    if (tls_journal_check(x->journal) != TLS_OK) return TLS_ERR_STATE;
    *status = x->r->s.status;
    *seconds = meta.seconds;
    return TLS_OK;
}

/* Rank 0: a record of this run, from the scheduler. Rank r's journal of
 * this run sorts after every earlier file, as file nfiles + r. */
static void on_record(void *arg, int rank, const tls_msg_rec *rec) {
    run_ctx *x = arg;
    tls_resume_map *m = &x->map;
    tls_part part = x->s.L.part;
    if (rec->index < 0 || !tls_part_has(part, rec->index)) return;
    int64_t pos = rec->index / part.n;
    if (pos >= m->count) return;
    if (m->file[pos] >= 0) {
        if (m->status[pos] == TLS_STATUS_DONE)
            m->ndone--;
        else
            m->nfailed--;
    }
    m->file[pos] = x->nfiles + rank;
    m->offset[pos] = rec->offset;
    m->status[pos] = (int8_t)rec->status;
    if (rec->status == TLS_STATUS_DONE)
        m->ndone++;
    else
        m->nfailed++;
}

/* ---- writing the results file ------------------------------------------------- */

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

/* Collective: writes odir/name from the journals of dir (sweep `sweep_id`),
 * the map built by rank 0. Every rank passes the same s and runs. */
static int write_from_journals(const setup *s, const char *dir, const char *odir, const char *name,
                               uint64_t sweep_id, tls_resume_map *known, int known_files,
                               const tls_runs *runs, tls_store_counts *counts, double *seconds) {
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
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
    MPI_Gather(me, TLS_HOST_LEN, MPI_CHAR, all, TLS_HOST_LEN, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        /* the map rank 0 kept during the run, when the journals are what it
         * expects (every rank's file of this run after the earlier ones);
         * else every record read again */
        rc = tls_journal_reader_open(&rd, dir, sweep_id, s->c->grid_size, ab);
        if (rc == TLS_OK && known && tls_journal_reader_nfiles(rd) == known_files) {
            m = *known;
            memset(known, 0, sizeof(*known)); /* taken over */
        } else if (rc == TLS_OK) {
            known = NULL;
            rc = tls_resume_map_build(&m, rd, s->L.part, s->L.count, s->r);
        }
        for (int i = 0; rc == TLS_OK && known && all && i < nranks; i++)
            rc = tls_resume_map_add_host(&m, all + (size_t)i * TLS_HOST_LEN);
        if (rc) snprintf(msg, sizeof(msg), "rank 0: cannot read the journals in %s", dir);
    }
    free(all);
    rc = agree(rc, msg);
    if (rc) {
        tls_journal_reader_close(&rd);
        return rc;
    }
    /* every rank reads the same journal files, in rank 0's order */
    int nfiles = rank == 0 ? tls_journal_reader_nfiles(rd) : 0;
    MPI_Bcast(&nfiles, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rank != 0) rc = tls_journal_reader_open(&rd, dir, sweep_id, s->c->grid_size, ab);
    if (rc == TLS_OK && tls_journal_reader_nfiles(rd) != nfiles) rc = TLS_ERR_IO;
    if (rc)
        snprintf(msg, sizeof(msg), "rank %d: the journals in %s changed while writing", rank, dir);
    rc = agree(rc, msg);
    /* the hosts, then each rank's share of the map */
    int nhosts = m.nhosts;
    MPI_Bcast(&nhosts, 1, MPI_INT, 0, MPI_COMM_WORLD);
    char(*hostbuf)[TLS_HOST_LEN] = calloc((size_t)(nhosts ? nhosts : 1), TLS_HOST_LEN);
    char **hosts = calloc((size_t)(nhosts ? nhosts : 1), sizeof(char *));
    if (rank == 0)
        for (int h = 0; h < nhosts && hostbuf; h++)
            snprintf(hostbuf[h], TLS_HOST_LEN, "%s", m.hosts[h]);
    MPI_Bcast(hostbuf, nhosts * TLS_HOST_LEN, MPI_CHAR, 0, MPI_COMM_WORLD);
    for (int h = 0; h < nhosts && hosts; h++) hosts[h] = hostbuf[h];
    int64_t lo, hi;
    tls_store_block(s->L.count, rank, nranks, &lo, &hi);
    int *cnt = NULL, *displ = NULL;
    if (rank == 0) {
        cnt = calloc((size_t)nranks, sizeof(int));
        displ = calloc((size_t)nranks, sizeof(int));
        for (int i = 0; i < nranks && cnt && displ; i++) {
            int64_t a, b;
            tls_store_block(s->L.count, i, nranks, &a, &b);
            cnt[i] = (int)(b - a), displ[i] = (int)a;
        }
    }
    int32_t *file = malloc(sizeof(int32_t) * (size_t)(hi - lo + 1));
    int64_t *off = malloc(sizeof(int64_t) * (size_t)(hi - lo + 1));
    int ok = file && off && hostbuf && hosts && (rank != 0 || (cnt && displ));
    if (agree(ok ? TLS_OK : TLS_ERR_NOMEM, "out of memory for the write map") == TLS_OK &&
        rc == TLS_OK) {
        MPI_Scatterv(m.file, cnt, displ, MPI_INT32_T, file, (int)(hi - lo), MPI_INT32_T, 0,
                     MPI_COMM_WORLD);
        MPI_Scatterv(m.offset, cnt, displ, MPI_INT64_T, off, (int)(hi - lo), MPI_INT64_T, 0,
                     MPI_COMM_WORLD);
        journal_source js = {rd, file, off, lo};
        tls_record_source src = {NULL, journal_get, &js};
        versions v;
        tls_store_info info;
        char *yaml = tls_config_yaml(s->c);
        store_info_init(&info, &v, s, yaml, runs, hosts, nhosts);
        int saved = -1;
        rc = agree(in_dir(odir, &saved), "cannot enter the output directory");
        if (rc == TLS_OK) rc = tls_store_write(name, MPI_COMM_WORLD, &s->L, &info, &src, counts);
        back_dir(&saved);
        free(yaml);
    } else if (rc == TLS_OK) {
        rc = TLS_ERR_NOMEM;
    }
    free(cnt), free(displ), free(file), free(off), free(hostbuf), free(hosts);
    tls_journal_reader_close(&rd);
    tls_resume_map_free(&m);
    *seconds = tls_now() - t0;
    return rc;
}

/* ---- dry run ------------------------------------------------------------------- */

static void dry_run(const setup *s, int nranks) {
    const tls_config *c = s->c;
    printf("grid:");
    for (int a = 0; a < c->naxes; a++)
        printf("%s %d %s", a ? " x" : "", c->axis[a].n,
               a < TLS_NAMED_AXES ? c->axis[a].dim : c->axis[a].key_name);
    printf(" = %lld configurations", (long long)c->grid_size);
    if (s->L.part.n > 1)
        printf("; part %d/%d: %lld of them", s->L.part.k, s->L.part.n, (long long)s->L.count);
    printf("\n");
    tls_store_print_layout(&s->L, stdout);
    printf("size: about %.1f MiB\n",
           tls_store_bytes_per_config(&s->L) * (double)s->L.count / 1048576.0);
    /* time: the last configuration (numeric axes ascending: their largest
     * values) run twice, without source epochs and with two: what does not
     * depend on the epochs (SVMs, distances, fine-tuning, the other
     * networks), plus the cost of an epoch times the epochs */
    tls_settings st;
    tls_grid_settings(c, tls_layout_index(&s->L, s->L.count - 1), &st);
    tls_data_files_bind(&s->files, &st.eng);
    int full = st.eng.epochs, probe = full < 2 ? full : 2;
    double t[2];
    for (int i = 0; i < 2; i++) {
        st.eng.epochs = i == 0 ? 0 : probe;
        double t0 = tls_now();
        tls_engine_run(s->r, &st.eng, &st.pt);
        t[i] = tls_now() - t0;
    }
    double per = t[0] + (probe > 0 ? (t[1] - t[0]) / probe * full : 0);
    if (per < t[0]) per = t[0];
    char d[32];
    tls_format_duration(d, sizeof(d), per * (double)s->L.count / nranks);
    printf("estimate: %.2f s per configuration, about %s on %d rank%s\n", per, d, nranks,
           nranks > 1 ? "s" : "");
}

/* ---- the run ------------------------------------------------------------------- */

/* The command that resumes this sweep. */
static void resume_hint(char *buf, size_t len, const tls_run_opts *o, int nranks) {
    const char *launcher = getenv("TLSWEEP_RESUME_WITH");
    char pt[48] = ""; /* a part resumes as that part */
    if (o->part.n > 1) snprintf(pt, sizeof(pt), " --part %d/%d", o->part.k, o->part.n);
    if (launcher && *launcher)
        snprintf(buf, len, "%s -o %s%s --resume", launcher, o->output, pt);
    else if (getenv("OMPI_COMM_WORLD_SIZE") || nranks > 1)
        snprintf(buf, len, "mpirun -n %d tlsweep run -o %s%s --resume", nranks, o->output, pt);
    else
        snprintf(buf, len, "tlsweep run -o %s%s --resume", o->output, pt);
}

/* Rank 0: the config text a --resume without CONFIG and --set uses. */
static char *stored_config(const char *out) {
    char dir[4200], err[TLS_ERRMSG];
    if (tls_state_dir(dir, sizeof(dir), out, err) != TLS_OK) return NULL;
    char *text = tls_state_config(dir);
    if (text) return text;
    tls_store_reader *rd = NULL;
    if (tls_store_open(&rd, out, err) != TLS_OK) return NULL;
    const char *y = tls_store_attr(rd, "config_yaml");
    text = y[0] ? strdup(y) : NULL;
    tls_store_close(&rd);
    return text;
}

/* Broadcasts a string from rank 0 (NULL stays NULL). Caller frees. */
static char *bcast_text(char *text) {
    long long len = text ? (long long)strlen(text) + 1 : 0;
    MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    if (len == 0) return NULL;
    if (world_rank() != 0) text = malloc((size_t)len);
    if (!text) MPI_Abort(MPI_COMM_WORLD, TLS_EXIT_FAILURE);
    MPI_Bcast(text, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD);
    return text;
}

/* Whether this process's parent is an MPI or Slurm launcher (by its name). */
static int parent_is_launcher(void) {
    static const char *const names[] = {"mpirun",  "mpiexec", "orterun",         "orted",
                                        "prterun", "prted",   "hydra_pmi_proxy", "slurmstepd",
                                        "srun",    NULL};
    char path[64], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)getppid());
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    if (!fgets(comm, sizeof(comm), f)) comm[0] = '\0';
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    for (int i = 0; names[i]; i++)
        if (!strcmp(comm, names[i])) return 1;
    return 0;
}

int tls_sweep_run(const tls_run_opts *o) {
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    /* die with the launcher: an orphaned rank must not go on writing journals
     * that a resumed run is also writing. Only a launcher's child: a run
     * started from a shell (nohup, setsid, &) outlives the shell */
    int launched = parent_is_launcher();
    if (launched) prctl(PR_SET_PDEATHSIG, SIGKILL);
    if ((nranks > 1 || launched) && getppid() == 1) { /* the launcher ended before prctl */
        fprintf(stderr, "tlsweep: rank %d: its launcher has ended; nothing done\n", rank);
        return TLS_EXIT_FAILURE;
    }
    run_ctx x;
    memset(&x, 0, sizeof(x));
    x.o = o;
    x.state.lock_fd = -1;
    compute_ctx cx;
    memset(&cx, 0, sizeof(cx));
    tls_progress prog;
    memset(&prog, 0, sizeof(prog));
    char err[TLS_ERRMSG] = "";
    int exit_code = TLS_EXIT_FAILURE;

    /* 1. configuration, data, layout: every rank, every rank agrees */
    char *stored = NULL;
    if (o->resume && !o->config_path && o->nsets == 0) {
        if (rank == 0) stored = stored_config(o->output);
        stored = bcast_text(stored);
    }
    int rc = setup_load(&x.s, stored ? "(the sweep's stored configuration)" : o->config_path,
                        stored, o->sets, o->nsets, o->part, err);
    free(stored);
    rc = agree(rc, err);
    if (rc) {
        setup_free(&x.s);
        return exit_of(rc);
    }
    if (o->dry_run) {
        if (rank == 0) dry_run(&x.s, nranks);
        setup_free(&x.s);
        return TLS_EXIT_OK;
    }
    x.yaml = tls_config_yaml(x.s.c);
    if (!x.yaml) rc = TLS_ERR_NOMEM, snprintf(err, sizeof(err), "rank %d: out of memory", rank);
    rc = agree(rc, err);

    /* 2. rank 0 prepares the state and the work; every rank learns the outcome */
    if (rc == TLS_OK && rank == 0) {
        rc = prepare(&x, err);
        if (rc == TLS_OK && !x.nothing_to_do) rc = plan(&x, err);
        if (rc == TLS_OK && !x.nothing_to_do && o->resume) rc = check_space(&x, x.nwork, err);
        if (rc == TLS_OK && !x.nothing_to_do) tls_state_claim(&x.state);
    }
    rc = agree(rc, err);
    int nothing = x.nothing_to_do;
    MPI_Bcast(&nothing, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rc || nothing) {
        exit_code = rc ? exit_of(rc) : TLS_EXIT_OK;
        goto cleanup;
    }
    struct {
        uint64_t sweep_id;
        int run_no;
        char dir[4200];
    } shared;
    memset(&shared, 0, sizeof(shared));
    if (rank == 0) {
        shared.sweep_id = x.man.sweep_id;
        shared.run_no = x.run_no;
        snprintf(shared.dir, sizeof(shared.dir), "%s", x.state.dir);
    }
    MPI_Bcast(&shared, sizeof(shared), MPI_BYTE, 0, MPI_COMM_WORLD);

    /* 3. provenance of this run */
    char hosts[2048], cpus[1024], slurm[160], started[32];
    run_machines(hosts, sizeof(hosts), cpus, sizeof(cpus));
    tls_slurm_job(slurm, sizeof(slurm));
    tls_iso_time(started, sizeof(started));
    char ranks_s[16], version[160];
    snprintf(ranks_s, sizeof(ranks_s), "%d", nranks);
    snprintf(version, sizeof(version), "%s (%s)", tls_build_info()->version,
             tls_build_info()->commit);
    tls_run me = {{started, "", (char *)(o->command ? o->command : ""), ranks_s, hosts, cpus, slurm,
                   "", version}};
    if (rank == 0) rc = tls_state_run_write(&x.state, shared.run_no, &me);
    rc = agree(rc, "cannot record the run in the sweep state");
    if (rc) goto cleanup;

    /* 4. compute */
    cx.s = &x.s;
    cx.r = x.s.r;
    cx.rank = rank;
    tls_hostname(cx.host, sizeof(cx.host));
    char jpath[4400];
    snprintf(jpath, sizeof(jpath), "%s/journal-%06d-%06d.bin", shared.dir, shared.run_no, rank);
    rc = tls_journal_open(&cx.journal, jpath, shared.sweep_id,
                          tls_journal_array_bytes(x.s.r, x.s.c->embeddings), x.s.c->sync_seconds);
    snprintf(err, sizeof(err), "rank %d: cannot open its journal in %.900s", rank, shared.dir);
    rc = agree(rc, err);
    if (rc) goto cleanup;
    double time_limit = o->time_limit;
    if (rank == 0) {
        double slurm_left = o->time_limit > 0 ? 0 : tls_slurm_time_left();
        if (slurm_left > 0) {
            char left[32];
            tls_format_duration(left, sizeof(left), slurm_left);
            fprintf(stderr,
                    "tlsweep: Slurm job %s has %s left: no configuration will start that cannot "
                    "finish in it\n",
                    slurm, left);
            time_limit = slurm_left;
        }
        if (o->resume)
            fprintf(stderr,
                    "tlsweep: resuming %s: %lld of %lld configurations already recorded, %lld to "
                    "compute\n",
                    o->output, (long long)x.already, (long long)x.s.L.count, (long long)x.nwork);
        else
            fprintf(stderr, "tlsweep: %lld configurations%s on %d rank%s -> %s\n",
                    (long long)x.s.L.count, o->part.n > 1 ? " (this part)" : "", nranks,
                    nranks > 1 ? "s" : "", o->output);
        tls_progress_init(&prog, o->progress_seconds, x.s.L.count, x.already);
    }
    tls_signals_install(); /* again: MPI_Init may have replaced them */
    tls_sched_opts so = {
        x.work,    x.nwork, o->batch, time_limit, o->drain_seconds, rank == 0 ? &prog : NULL,
        on_record, &x};
    tls_sched_result sr;
    int crc = tls_sched_run(MPI_COMM_WORLD, &so, compute_one, &cx, &sr);
    double mem_after_compute = tls_peak_rss_mib();
    int state_lost = crc == TLS_ERR_STATE;
    int lost_any = 0;
    MPI_Allreduce(&state_lost, &lost_any, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    if (lost_any) {
        /* the state directory (or a journal) was deleted: keep what can be kept */
        if (rank == 0) {
            fprintf(stderr,
                    "tlsweep: the sweep state %s was deleted while the sweep ran; saving this "
                    "run's results again and taking over those of %s\n",
                    shared.dir, o->output);
            tls_state_unlock(&x.state);
            rc = tls_state_lock(&x.state, shared.dir, err);
            if (rc == TLS_OK) rc = tls_state_reset(&x.state, &x.man, x.yaml);
            tls_store_reader *rd = NULL;
            char ferr[TLS_ERRMSG];
            if (rc == TLS_OK && tls_store_open(&rd, o->output, ferr) == TLS_OK)
                rc = import_file(&x, rd, err);
            tls_store_close(&rd);
            for (int i = 0; rc == TLS_OK && i < x.runs.n; i++)
                rc = tls_state_run_write(&x.state, i + 1, &x.runs.run[i]);
            if (rc == TLS_OK) rc = tls_state_run_write(&x.state, shared.run_no, &me);
        }
        rc = agree(rc, err);
        if (rc == TLS_OK && tls_journal_check(cx.journal) != TLS_OK)
            rc = tls_journal_salvage(cx.journal, jpath);
        rc = agree(rc, "cannot save this run's results again");
        crc = rc;
    }
    int jrc = tls_journal_close(&cx.journal);
    crc = crc ? crc : jrc;
    snprintf(err, sizeof(err), "rank %d: cannot continue (code %d); the sweep is resumable", rank,
             crc);
    rc = agree(crc, err);
    if (rc && !lost_any) goto cleanup;

    /* 5. the results file: from the journals, to a temporary name, renamed into place */
    char finished[32];
    tls_iso_time(finished, sizeof(finished));
    me.field[1] = finished;
    tls_runs runs = {0, NULL};
    if (rank == 0) {
        tls_runs_free(&x.runs);
        if (tls_state_runs_read(shared.dir, &x.runs) != TLS_OK) x.runs.n = 0;
    }
    /* every rank passes the same runs: rank 0's, broadcast field by field */
    int nr = rank == 0 ? x.runs.n : 0;
    MPI_Bcast(&nr, 1, MPI_INT, 0, MPI_COMM_WORLD);
    for (int i = 0; i < nr; i++) {
        tls_run one = {{0}};
        for (int f = 0; f < TLS_RUN_FIELDS; f++) {
            char *v = rank == 0 ? strdup(i + 1 == shared.run_no && f == 1 ? finished
                                                                          : x.runs.run[i].field[f])
                                : NULL;
            one.field[f] = bcast_text(v);
        }
        tls_runs_add(&runs, &one);
        for (int f = 0; f < TLS_RUN_FIELDS; f++) free(one.field[f]);
    }
    tls_store_counts cnt;
    double tw = 0;
    rc = write_from_journals(&x.s, shared.dir, shared.dir, "partial.h5", shared.sweep_id,
                             lost_any ? NULL : &x.map, x.nfiles + nranks, &runs, &cnt, &tw);
    tls_runs_free(&runs);
    if (rc) {
        if (rank == 0)
            fprintf(stderr,
                    "tlsweep: the results file was not written; the journals are intact: "
                    "free space or fix the cause, then: %s\n",
                    o->output);
        exit_code = TLS_EXIT_FAILURE;
        goto cleanup;
    }
    if (rank == 0) {
        char partial[4400];
        snprintf(partial, sizeof(partial), "%s/partial.h5", shared.dir);
        char hint[4400];
        resume_hint(hint, sizeof(hint), o, nranks);
        /* durable: the new file's data, the rename, then the state goes */
        if (tls_fsync_path(partial) != TLS_OK || rename(partial, o->output) != 0 ||
            tls_fsync_parent(o->output) != TLS_OK) {
            fprintf(stderr, "tlsweep: cannot move %s to %s: %s; the sweep is resumable: %s\n",
                    partial, o->output, strerror(errno), hint);
            exit_code = TLS_EXIT_FAILURE;
        } else {
            char el[32], exit_s[8];
            tls_format_duration(el, sizeof(el), tls_now() - prog.t0);
            fprintf(stderr,
                    "tlsweep: %lld configurations: %lld done, %lld failed, %lld pending; wrote %s "
                    "in %s (file writing %.2f s)\n",
                    (long long)x.s.L.count, (long long)cnt.done, (long long)cnt.failed,
                    (long long)cnt.pending, o->output, el, tw);
            if (cnt.failed)
                fprintf(stderr,
                        "tlsweep: %lld failed: `tlsweep status %s` lists them with their "
                        "reasons\n",
                        (long long)cnt.failed, o->output);
            if (lost_any)
                exit_code = TLS_EXIT_RESUMABLE;
            else if (cnt.pending)
                exit_code = TLS_EXIT_RESUMABLE;
            else if (cnt.done == 0)
                exit_code = TLS_EXIT_ALL_FAILED;
            else
                exit_code = TLS_EXIT_OK;
            char why[200] = "";
            if (lost_any)
                snprintf(why, sizeof(why), " (state directory deleted)");
            else if (sr.stop == TLS_STOP_TIME)
                snprintf(why, sizeof(why),
                         " (time limit: nothing starts in its last %g s, kept for writing the "
                         "file, nor when 1.5 x the longest configuration so far would not fit)",
                         TLS_SCHED_RESERVE_SECONDS);
            else if (sr.stop == TLS_STOP_SIGNAL)
                snprintf(why, sizeof(why), " (signal)");
            if (exit_code == TLS_EXIT_RESUMABLE)
                fprintf(stderr, "tlsweep: interrupted%s; continue with: %s\n", why, hint);
            if (exit_code == TLS_EXIT_ALL_FAILED)
                fprintf(stderr,
                        "tlsweep: every configuration failed (exit status 3); see "
                        "`tlsweep status %s`\n",
                        o->output);
            snprintf(exit_s, sizeof(exit_s), "%d", exit_code);
            me.field[7] = exit_s;
            if (exit_code != TLS_EXIT_RESUMABLE) {
                if (tls_state_remove(&x.state) != TLS_OK)
                    fprintf(stderr, "tlsweep: the state %s is left behind: remove it\n",
                            shared.dir);
            } else {
                tls_state_run_write(&x.state, shared.run_no, &me);
            }
        }
    }
    MPI_Bcast(&exit_code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rank == 0 && getenv("TLSWEEP_REPORT_MEMORY"))
        fprintf(stderr, "tlsweep: rank 0 peak memory %.1f MiB (after the compute phase %.1f MiB)\n",
                tls_peak_rss_mib(), mem_after_compute);
cleanup:
    tls_journal_close(&cx.journal);
    tls_state_unlock(&x.state);
    tls_runs_free(&x.runs);
    tls_resume_map_free(&x.map);
    free(x.work);
    free(x.yaml);
    setup_free(&x.s);
    return exit_code;
}

/* ---- merge and snapshot ---------------------------------------------------------- */

/* Collective: a temporary name beside dest, the same on every rank. */
static void temp_name(char *buf, size_t len, const char *base) {
    long pid = (long)getpid();
    MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    snprintf(buf, len, ".%.200s.tmp-%ld", base, pid);
}

/* Rank 0: puts the written temporary file in place, durably. */
static int put_in_place(const char *dir, const char *tmp, const char *dest) {
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

/* The record source of a merge: position i of the cube is position i / N
 * of part i mod N + 1. */
typedef struct {
    tls_store_reader **rd;
    tls_record_source *src;
    int n;
} merge_source;

static int merge_prepare(void *ctx, int64_t lo, int64_t hi) {
    merge_source *m = ctx;
    for (int k = 0; k < m->n; k++) {
        int64_t plo = lo <= k ? 0 : (lo - k + m->n - 1) / m->n;
        int64_t phi = hi <= k ? 0 : (hi - k + m->n - 1) / m->n;
        if (plo < phi) TLS_TRY(m->src[k].prepare(m->src[k].ctx, plo, phi));
    }
    return TLS_OK;
}

static int merge_get(void *ctx, int64_t pos, tls_record_meta *meta, tls_result *r, int *have) {
    merge_source *m = ctx;
    int k = (int)(pos % m->n);
    return m->src[k].get(m->src[k].ctx, pos / m->n, meta, r, have);
}

/* The run record of a merge or a snapshot. */
static void this_run(tls_run *me, char *started, char *ranks_s, char *hosts, size_t hlen,
                     char *cpus, size_t clen, char *slurm, size_t slen, char *version,
                     const char *command) {
    int nranks;
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    tls_iso_time(started, 32);
    snprintf(ranks_s, 16, "%d", nranks);
    run_machines(hosts, hlen, cpus, clen);
    tls_slurm_job(slurm, slen);
    snprintf(version, 160, "%s (%s)", tls_build_info()->version, tls_build_info()->commit);
    tls_run r = {{started, started, (char *)(command ? command : ""), ranks_s, hosts, cpus, slurm,
                  "0", version}};
    *me = r;
}

int tls_sweep_merge(const tls_merge_opts *o) {
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char err[TLS_ERRMSG] = "";
    int n = o->nparts, rc = TLS_OK;
    tls_store_reader **rd = calloc((size_t)n, sizeof(*rd));
    tls_record_source *src = calloc((size_t)n, sizeof(*src));
    setup s;
    memset(&s, 0, sizeof(s));
    tls_runs runs = {0, NULL};
    char **hosts = NULL;
    int nhosts = 0;
    if (!rd || !src) rc = TLS_ERR_NOMEM, snprintf(err, sizeof(err), "out of memory");
    if (rc == TLS_OK) rc = check_output(o->output, err);
    struct stat st;
    if (rc == TLS_OK && file_exists(o->output, &st) && !o->force)
        rc = tls_input_error(err, "-o", o->output,
                             "already exists; allowed: another -o, or --force to replace it");
    /* every part: a tlsweep file, one of N parts of the same configuration */
    int N = 0;
    uint64_t hash = 0;
    int *seen = NULL;
    for (int i = 0; rc == TLS_OK && i < n; i++) {
        rc = tls_store_open(&rd[i], o->parts[i], err);
        if (rc) break;
        tls_part p = {0, 0};
        unsigned long long h = 0;
        if (sscanf(tls_store_attr(rd[i], "part"), "%d/%d", &p.k, &p.n) != 2 || p.n < 1 || p.k < 1 ||
            p.k > p.n || sscanf(tls_store_attr(rd[i], "config_hash"), "%16llx", &h) != 1) {
            rc = tls_input_error(err, o->parts[i], "part",
                                 "'%s' is not K/N; allowed: files "
                                 "written by tlsweep run --part K/N",
                                 tls_store_attr(rd[i], "part"));
            break;
        }
        if (i == 0) {
            N = p.n, hash = h;
            seen = calloc((size_t)N + 1, sizeof(int));
            if (!seen) rc = TLS_ERR_NOMEM;
            if (n != N && !rc)
                rc = tls_input_error(err, "merge", "(parts)",
                                     "%d files given but %s is part %d of %d; allowed: all %d "
                                     "parts, each once",
                                     n, o->parts[0], p.k, p.n, p.n);
        } else if (h != hash) {
            rc = tls_input_error(err, o->parts[i], "config_hash",
                                 "%016llx, but %s has %016llx: written for another "
                                 "configuration; allowed: parts of one sweep",
                                 h, o->parts[0], (unsigned long long)hash);
        } else if (p.n != N) {
            rc = tls_input_error(err, o->parts[i], "part",
                                 "%d/%d, but %s is one of %d parts; allowed: parts of one split",
                                 p.k, p.n, o->parts[0], N);
        }
        if (rc) break;
        if (seen[p.k]) {
            rc = tls_input_error(err, o->parts[i], "part",
                                 "%d/%d is given twice (also %s); allowed: each part once", p.k,
                                 p.n, o->parts[seen[p.k] - 1]);
            break;
        }
        seen[p.k] = i + 1;
        if (!o->allow_partial && tls_store_attr_int(rd[i], "n_pending", -1) != 0)
            rc = tls_input_error(err, o->parts[i], "n_pending",
                                 "%lld configurations of this part are pending; allowed: complete "
                                 "parts (resume it with tlsweep run ... --part %d/%d --resume), "
                                 "or --allow-partial (pending as fill values)",
                                 (long long)tls_store_attr_int(rd[i], "n_pending", -1), p.k, p.n);
    }
    /* the configuration, from the first part; the layout from its dimensions */
    if (rc == TLS_OK) {
        rc = tls_store_config(rd[0], o->parts[0], &s.c, err);
        if (rc == TLS_OK) {
            int a, b;
            tls_grid_envelope(s.c, NULL, NULL, &s.env, &a, &b);
            tls_store_envelope(rd[0], &s.env);
            if (s.env.n_source < 0) s.env.n_source = 0; /* not stored: no embeddings */
            if (s.env.n_test < 0) s.env.n_test = 0;
            rc = tls_result_create(&s.r, &s.env);
        }
    }
    /* parts in order 1..N, each checked against its own layout */
    tls_layout *pl = rc == TLS_OK ? calloc((size_t)N, sizeof(tls_layout)) : NULL;
    tls_store_reader **ord = rc == TLS_OK ? calloc((size_t)N, sizeof(*ord)) : NULL;
    if (rc == TLS_OK && (!pl || !ord)) rc = TLS_ERR_NOMEM;
    for (int k = 1; rc == TLS_OK && k <= N; k++) {
        ord[k - 1] = rd[seen[k] - 1];
        tls_part p = {k, N};
        tls_layout_init(&pl[k - 1], s.c, &s.env, p);
        rc = tls_store_check(ord[k - 1], &pl[k - 1], err);
        if (rc == TLS_OK) tls_store_source(ord[k - 1], &src[k - 1]);
        if (rc == TLS_OK) rc = tls_store_runs(ord[k - 1], &runs);
    }
    if (rc == TLS_OK) tls_layout_init(&s.L, s.c, &s.env, (tls_part){1, 1});
    rc = agree(rc, err);
    if (rc) goto done;
    /* the hosts: every part's, in order */
    {
        char started[32], ranks_s[16], mh[2048], mc[1024], slurm[160], version[160];
        tls_run me;
        this_run(&me, started, ranks_s, mh, sizeof(mh), mc, sizeof(mc), slurm, sizeof(slurm),
                 version, o->command);
        tls_runs_add(&runs, &me);
        for (int k = 0; k < N; k++) {
            const char *const *ph;
            int np = tls_store_hosts(ord[k], &ph);
            for (int h = 0; h < np; h++) {
                int known = 0;
                for (int j = 0; j < nhosts && !known; j++) known = !strcmp(hosts[j], ph[h]);
                if (known) continue;
                char **g = realloc(hosts, sizeof(char *) * (size_t)(nhosts + 1));
                if (!g) break;
                hosts = g;
                hosts[nhosts++] = (char *)ph[h];
            }
        }
        merge_source ms = {ord, src, N};
        tls_record_source msrc = {merge_prepare, merge_get, &ms};
        versions v;
        tls_store_info info;
        char *yaml = tls_config_yaml(s.c);
        store_info_init(&info, &v, &s, yaml, &runs, hosts, nhosts);
        info.config_source = tls_store_attr(ord[0], "config_source");
        info.data_mode = tls_store_attr(ord[0], "data_mode");
        if (tls_store_attr(ord[0], "data_source")[0]) {
            info.data_source = tls_store_attr(ord[0], "data_source");
            info.data_target = tls_store_attr(ord[0], "data_target");
            sscanf(tls_store_attr(ord[0], "data_source_crc32"), "%8x", &info.data_crc[0]);
            sscanf(tls_store_attr(ord[0], "data_target_crc32"), "%8x", &info.data_crc[1]);
        }
        char dir[4200], base[4200], tmp[300];
        split_path(o->output, dir, sizeof(dir), base, sizeof(base));
        temp_name(tmp, sizeof(tmp), base);
        int saved = -1;
        tls_store_counts cnt;
        double t0 = tls_now();
        rc = agree(in_dir(dir, &saved), "cannot enter the output directory");
        if (rc == TLS_OK) rc = tls_store_write(tmp, MPI_COMM_WORLD, &s.L, &info, &msrc, &cnt);
        back_dir(&saved);
        free(yaml);
        if (rc == TLS_OK && rank == 0) {
            rc = put_in_place(dir, tmp, o->output);
            if (rc == TLS_OK)
                fprintf(stderr,
                        "tlsweep: merged %d parts: %lld configurations: %lld done, %lld failed, "
                        "%lld pending; wrote %s (file writing %.2f s)\n",
                        N, (long long)s.L.count, (long long)cnt.done, (long long)cnt.failed,
                        (long long)cnt.pending, o->output, tls_now() - t0);
        }
        rc = agree(rc, "");
    }
done:
    for (int i = 0; rd && i < n; i++) tls_store_close(&rd[i]);
    free(rd), free(src), free(seen), free(pl), free(ord), free(hosts);
    tls_runs_free(&runs);
    setup_free(&s);
    return rc ? (rc == TLS_ERR_INPUT ? TLS_EXIT_BAD_INPUT : TLS_EXIT_FAILURE) : TLS_EXIT_OK;
}

int tls_sweep_snapshot(const char *sweep_output, const char *dest, int force, const char *command) {
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char err[TLS_ERRMSG] = "", dir[4200];
    int rc = tls_state_dir(dir, sizeof(dir), sweep_output, err);
    tls_manifest man;
    memset(&man, 0, sizeof(man));
    char *text = NULL;
    struct stat st;
    if (rc == TLS_OK) rc = check_output(dest, err);
    if (rc == TLS_OK && file_exists(dest, &st) && !force)
        rc = tls_input_error(err, "-o", dest,
                             "already exists; allowed: another -o, or --force to replace it");
    if (rc == TLS_OK && rank == 0) {
        char mpath[4300];
        snprintf(mpath, sizeof(mpath), "%s/manifest", dir);
        if (!file_exists(mpath, &st))
            rc = tls_input_error(err, "snapshot", sweep_output,
                                 "no running or interrupted sweep (%s has no manifest); allowed: "
                                 "the -o of a sweep that runs or was interrupted (a finished "
                                 "results file is complete already)",
                                 dir);
        else
            rc = tls_manifest_read(dir, &man, err);
        if (rc == TLS_OK && !(text = tls_state_config(dir)))
            rc = tls_input_error(err, dir, "config.yaml", "missing; allowed: a sweep's state");
    }
    rc = agree(rc, err);
    if (rc) {
        free(text);
        return exit_of(rc);
    }
    MPI_Bcast(&man, sizeof(man), MPI_BYTE, 0, MPI_COMM_WORLD);
    text = bcast_text(text);
    setup s;
    rc = setup_load(&s, "(the sweep's stored configuration)", text, NULL, 0, man.part, err);
    free(text);
    rc = agree(rc, err);
    tls_runs runs = {0, NULL};
    if (rc == TLS_OK) {
        if (rank == 0) tls_state_runs_read(dir, &runs);
        int nr = runs.n;
        MPI_Bcast(&nr, 1, MPI_INT, 0, MPI_COMM_WORLD);
        tls_runs all = {0, NULL};
        for (int i = 0; i < nr; i++) {
            tls_run one = {{0}};
            for (int f = 0; f < TLS_RUN_FIELDS; f++)
                one.field[f] = bcast_text(rank == 0 ? strdup(runs.run[i].field[f]) : NULL);
            tls_runs_add(&all, &one);
            for (int f = 0; f < TLS_RUN_FIELDS; f++) free(one.field[f]);
        }
        tls_runs_free(&runs);
        runs = all;
        char odir[4200], base[4200], tmp[300];
        split_path(dest, odir, sizeof(odir), base, sizeof(base));
        temp_name(tmp, sizeof(tmp), base);
        tls_store_counts cnt;
        double tw;
        rc = write_from_journals(&s, dir, odir, tmp, man.sweep_id, NULL, 0, &runs, &cnt, &tw);
        if (rc == TLS_OK && rank == 0) {
            rc = put_in_place(odir, tmp, dest);
            if (rc == TLS_OK)
                fprintf(stderr,
                        "tlsweep: snapshot of %s: %lld configurations: %lld done, %lld failed, "
                        "%lld pending; wrote %s\n",
                        sweep_output, (long long)s.L.count, (long long)cnt.done,
                        (long long)cnt.failed, (long long)cnt.pending, dest);
        }
        rc = agree(rc, "");
    }
    (void)command;
    tls_runs_free(&runs);
    setup_free(&s);
    return exit_of(rc);
}
