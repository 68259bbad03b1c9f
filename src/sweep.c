#include "tlsweep/sweep.h"

#include "tlsweep/check.h"
#include "tlsweep/config.h"
#include "tlsweep/dataset.h"
#include "tlsweep/engine.h"
#include "tlsweep/h5out.h"
#include "tlsweep/journal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

enum { TAG_REQ = 11, TAG_WORK = 12 };

/* ---- signals ------------------------------------------------------------- */

static volatile sig_atomic_t g_signals = 0;

static void on_signal(int sig) {
    (void)sig;
    g_signals++;
    if (g_signals >= 2) _exit(TLS_EXIT_RESUMABLE); /* journals stay consistent */
}

void tls_sweep_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

/* ---- small helpers ------------------------------------------------------- */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void iso_now(char *buf, size_t len) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fmt_duration(char *buf, size_t len, double s) {
    if (!isfinite(s) || s < 0) {
        snprintf(buf, len, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static void state_dir_of(char *buf, size_t len, const char *out) {
    snprintf(buf, len, "%s.tlsweep.d", out);
}

static int remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    char path[PATH_MAX + 300];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(dir);
}

/* ---- one run at a time per sweep state ------------------------------------ */

/* Takes an exclusive lock on dir/lock for the life of the process (rank 0).
 * Returns the descriptor, or -1 with a message when another run holds it. */
static int lock_state(const char *dir) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "tlsweep: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char who[128] = "";
        ssize_t n = pread(fd, who, sizeof(who) - 1, 0);
        who[n > 0 ? n : 0] = '\0';
        fprintf(stderr,
                "tlsweep: another tlsweep run is using %s (%s); allowed: wait for it to end "
                "or stop it, then --resume\n",
                dir, who[0] ? who : "holder unknown");
        close(fd);
        return -1;
    }
    char me[128];
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    int len = snprintf(me, sizeof(me), "pid %ld on %s", (long)getpid(), host);
    if (ftruncate(fd, 0) == 0 && pwrite(fd, me, (size_t)len, 0) < 0) { /* informative only */
    }
    return fd;
}

/* ---- the time a Slurm job has left ----------------------------------------- */

/* Parses squeue's %L ("[days-][hours:]minutes:seconds"); -1 when it is not a time. */
double tls_parse_slurm_time(const char *s) {
    int d = 0, h = 0, m = 0, sec = 0;
    const char *dash = strchr(s, '-');
    if (dash) {
        if (sscanf(s, "%d-", &d) != 1) return -1;
        s = dash + 1;
    }
    int n = sscanf(s, "%d:%d:%d", &h, &m, &sec);
    if (n == 2)
        sec = m, m = h, h = 0;
    else if (n == 1 && dash)
        m = 0, sec = 0; /* "days-hours" */
    else if (n != 3)
        return -1;
    return ((d * 24.0 + h) * 60.0 + m) * 60.0 + sec;
}

/* Seconds left in the Slurm job this process runs in, or 0 when unknown. */
static double slurm_time_left(void) {
    const char *job = getenv("SLURM_JOB_ID");
    if (!job || !*job || strspn(job, "0123456789_") != strlen(job)) return 0;
    char cmd[128], out[64] = "";
    snprintf(cmd, sizeof(cmd), "squeue -h -j %s -o %%L 2>/dev/null", job);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    if (!fgets(out, sizeof(out), p)) out[0] = '\0';
    pclose(p);
    out[strcspn(out, " \n")] = '\0';
    double left = tls_parse_slurm_time(out);
    return left > 0 ? left : 0;
}

/* ---- the manifest of an interrupted sweep -------------------------------- */

typedef struct {
    unsigned long long hash;
    char started[32];
} manifest;

static int manifest_write(const char *dir, const tls_config *c, const char *started) {
    char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
    char *yaml = tls_config_yaml(c);
    TLS_CHECK(yaml, TLS_ERR_NOMEM, "out of memory");
    snprintf(path, sizeof(path), "%s/config.yaml", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "# effective configuration of this sweep (tlsweep config prints the same)\n%s",
                yaml);
        fclose(f);
    }
    free(yaml);
    snprintf(path, sizeof(path), "%s/manifest.txt", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    TLS_CHECK(f, TLS_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    fprintf(f, "tlsweep-state 1\nconfig_hash %016llx\nstarted %s\ngrid_size %lld\n",
            (unsigned long long)tls_config_hash(c), started, (long long)tls_config_grid_size(c));
    int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    TLS_CHECK(ok && rename(tmp, path) == 0, TLS_ERR_IO, "cannot write %s: %s", path,
              strerror(errno));
    return TLS_OK;
}

static int manifest_read(const char *dir, manifest *m) {
    char path[PATH_MAX + 32], line[256];
    snprintf(path, sizeof(path), "%s/manifest.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) return TLS_ERR_IO;
    int have = 0;
    memset(m, 0, sizeof(*m));
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "config_hash %llx", &m->hash) == 1) have |= 1;
        if (sscanf(line, "started %31s", m->started) == 1) have |= 2;
    }
    fclose(f);
    return have == 3 ? TLS_OK : TLS_ERR_IO;
}

/* ---- what is already done ------------------------------------------------ */

typedef struct {
    int8_t *status;  /* (N) per index: TLS_STATUS_* of the latest record */
    int32_t *winner; /* (N) journal file holding the latest record, -1 none */
} done_map;

static int note_record(void *ctx, int file, const tls_record_meta *meta, const tls_result *r) {
    done_map *d = ctx;
    d->status[meta->index] = (int8_t)r->s.status;
    d->winner[meta->index] = file;
    return 0;
}

/* ---- the compute phase --------------------------------------------------- */

typedef struct {
    const tls_config *c;
    const tls_sweep_opts *o;
    tls_journal *journal;
    tls_result *res;
    int rank;
    char host[TLS_HOST_LEN];
    /* shared between rank 0's coordinator and its compute thread */
    pthread_mutex_t mu;
    int64_t *work, nwork, next;
    int stopping;     /* 1: hand out nothing more */
    int time_limited; /* stopping because of --time-limit */
    int64_t ndone, nfailed;
    double time_limit;  /* --time-limit, or what the Slurm job has left; 0: none */
    double max_seconds; /* longest configuration so far, s */
    double t0;
    int local_finished;
    int error; /* a non-recoverable error on the compute thread */
} run_ctx;

/* Fault injection for tests of failure containment: TLSWEEP_FAULT is a
 * comma-separated list of grid indices whose configurations are recorded
 * as failed (documented in tests/README.md; never set in production). */
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

/* Runs one grid point and journals it. Returns the configuration's status
 * through *status and its wall time through *seconds. */
static int compute_one(run_ctx *x, int64_t idx, int *status, double *seconds) {
    tls_point pt = tls_config_point(x->c, idx);
    double t = now_seconds();
    TLS_CALL(tls_engine_run(x->res, &x->c->eng, &pt));
    if (injected_fault(idx)) {
        x->res->s.status = TLS_STATUS_FAILED;
        snprintf(x->res->s.reason, sizeof(x->res->s.reason), "fault injected by TLSWEEP_FAULT");
    }
    tls_record_meta meta;
    memset(&meta, 0, sizeof(meta));
    meta.index = idx;
    meta.rank = x->rank;
    meta.seconds = now_seconds() - t;
    memcpy(meta.host, x->host, sizeof(meta.host));
    TLS_CALL(tls_journal_append(x->journal, &meta, x->res));
    *status = x->res->s.status;
    *seconds = meta.seconds;
    return TLS_OK;
}

/* Takes up to `max` indices to compute, under the lock; 0 when none. */
static int take_work(run_ctx *x, int64_t *out, int max) {
    int n = 0;
    pthread_mutex_lock(&x->mu);
    if (g_signals && !x->stopping) x->stopping = 1;
    if (!x->stopping && x->time_limit > 0 && x->next < x->nwork) {
        /* do not start what cannot finish: the longest configuration so far,
         * plus a reserve for writing the results file */
        double left = x->time_limit - (now_seconds() - x->t0);
        if (left < 1.5 * x->max_seconds + 5.0) x->stopping = x->time_limited = 1;
    }
    while (!x->stopping && n < max && x->next < x->nwork) out[n++] = x->work[x->next++];
    pthread_mutex_unlock(&x->mu);
    return n;
}

static void count_done(run_ctx *x, int status, double seconds) {
    pthread_mutex_lock(&x->mu);
    if (status == TLS_STATUS_DONE)
        x->ndone++;
    else
        x->nfailed++;
    if (seconds > x->max_seconds) x->max_seconds = seconds;
    pthread_mutex_unlock(&x->mu);
}

static void *local_worker(void *arg) {
    run_ctx *x = arg;
    int64_t idx;
    while (take_work(x, &idx, 1) == 1) {
        int status;
        double s;
        if (compute_one(x, idx, &status, &s) != TLS_OK) {
            pthread_mutex_lock(&x->mu);
            x->error = 1;
            x->stopping = 1;
            pthread_mutex_unlock(&x->mu);
            break;
        }
        count_done(x, status, s);
    }
    pthread_mutex_lock(&x->mu);
    x->local_finished = 1;
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

static void progress_line(run_ctx *x, int64_t total_todo, int64_t already, int final) {
    static double last = 0;
    double t = now_seconds();
    /* under mpirun stderr is a pipe: the launcher says whether a terminal is behind it */
    const char *mode = getenv("TLSWEEP_PROGRESS");
    int tty = mode ? !strcmp(mode, "bar") : isatty(2);
    if (!final && t - last < (tty ? 0.25 : x->o->progress_seconds)) return;
    last = t;
    pthread_mutex_lock(&x->mu);
    int64_t done = x->ndone + x->nfailed;
    int64_t failed = x->nfailed;
    pthread_mutex_unlock(&x->mu);
    double el = t - x->t0, rate = el > 0 ? done / el : 0;
    double eta = rate > 0 ? (total_todo - done) / rate : NAN;
    int64_t all = total_todo + already;
    char se[32], sr[32];
    fmt_duration(se, sizeof(se), el);
    fmt_duration(sr, sizeof(sr), eta);
    double frac = all ? (double)(done + already) / all : 1;
    if (tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %lld/%lld %5.1f%% %.2f cfg/s elapsed %s ETA %s%s%s", bar,
                (long long)(done + already), (long long)all, 100 * frac, rate, se, sr,
                failed ? " (failures)" : "", final ? "\n" : "");
    } else {
        fprintf(stderr,
                "tlsweep: %lld/%lld done (%.1f%%), %lld failed, %.2f cfg/s, elapsed %s, ETA %s\n",
                (long long)(done + already), (long long)all, 100 * frac, (long long)failed, rate,
                se, sr);
    }
}

/* Rank 0: serves the other ranks' requests while its compute thread works. */
static int coordinate(run_ctx *x, int nranks, int64_t already) {
    int batch = x->o->batch;
    int64_t *msg = malloc(sizeof(int64_t) * (size_t)(batch + 1));
    TLS_CHECK(msg, TLS_ERR_NOMEM, "out of memory");
    int active = nranks - 1;
    double drain_start = 0;
    int announced = 0;
    for (;;) {
        pthread_mutex_lock(&x->mu);
        if (g_signals && !x->stopping) x->stopping = 1;
        int stopping = x->stopping, local_done = x->local_finished;
        pthread_mutex_unlock(&x->mu);
        if (stopping && !announced && g_signals) {
            fprintf(stderr,
                    "\ntlsweep: signal received: no new configurations; waiting up to %.0f s "
                    "for those in flight\n",
                    x->o->drain_seconds);
            announced = 1;
            drain_start = now_seconds();
        }
        if (announced && now_seconds() - drain_start > x->o->drain_seconds) {
            fprintf(stderr,
                    "tlsweep: drain bound of %.0f s reached; configurations in flight are "
                    "abandoned; the sweep is resumable with --resume\n",
                    x->o->drain_seconds);
            MPI_Abort(MPI_COMM_WORLD, TLS_EXIT_RESUMABLE);
        }
        if (active == 0 && local_done) break;
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQ, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            progress_line(x, x->nwork, already, 0);
            struct timespec ts = {0, 500000}; /* 0.5 ms: keeps the core for the compute thread */
            nanosleep(&ts, NULL);
            continue;
        }
        double rep[4]; /* done, failed, longest seconds, signalled */
        MPI_Recv(rep, 4, MPI_DOUBLE, st.MPI_SOURCE, TAG_REQ, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        pthread_mutex_lock(&x->mu);
        x->ndone += (int64_t)rep[0];
        x->nfailed += (int64_t)rep[1];
        if (rep[2] > x->max_seconds) x->max_seconds = rep[2];
        if (rep[3] > 0 && !x->stopping) x->stopping = 1;
        pthread_mutex_unlock(&x->mu);
        int n = take_work(x, msg + 1, batch);
        msg[0] = n;
        MPI_Send(msg, batch + 1, MPI_INT64_T, st.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
        if (n == 0) active--;
    }
    free(msg);
    return TLS_OK;
}

/* Ranks > 0: ask for work until told there is none. */
static int serve(run_ctx *x) {
    int batch = x->o->batch;
    int64_t *msg = malloc(sizeof(int64_t) * (size_t)(batch + 1));
    TLS_CHECK(msg, TLS_ERR_NOMEM, "out of memory");
    double rep[4] = {0, 0, 0, 0};
    for (;;) {
        rep[3] = g_signals > 0;
        MPI_Send(rep, 4, MPI_DOUBLE, 0, TAG_REQ, MPI_COMM_WORLD);
        MPI_Recv(msg, batch + 1, MPI_INT64_T, 0, TAG_WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (msg[0] == 0) break;
        rep[0] = rep[1] = rep[2] = 0;
        for (int64_t i = 0; i < msg[0]; i++) {
            int status;
            double s;
            int rc = compute_one(x, msg[1 + i], &status, &s);
            if (rc != TLS_OK) {
                fprintf(stderr,
                        "tlsweep: rank %d: cannot continue (code %d); aborting, the sweep "
                        "is resumable\n",
                        x->rank, rc);
                MPI_Abort(MPI_COMM_WORLD, TLS_EXIT_FAILURE);
            }
            rep[status == TLS_STATUS_DONE ? 0 : 1] += 1;
            if (s > rep[2]) rep[2] = s;
        }
    }
    free(msg);
    return TLS_OK;
}

/* ---- writing the results file -------------------------------------------- */

typedef struct {
    tls_h5out *h;
    const int32_t *winner;
    int rc;
} write_ctx;

static int write_winner(void *ctx, int file, const tls_record_meta *meta, const tls_result *r) {
    write_ctx *w = ctx;
    if (w->winner[meta->index] != file) return 0; /* superseded by a later record */
    w->rc = tls_h5out_write_record(w->h, meta, r);
    return w->rc != TLS_OK;
}

static int all_ok(int rc) {
    int ok = rc == TLS_OK, all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return all;
}

/* Collective: writes every journal's latest records into dir/partial.h5. */
static int write_results(const tls_config *c, const char *dir, const int32_t *winner,
                         const tls_run_info *info, tls_result *r, int64_t *ndone,
                         int64_t *nfailed) {
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/partial.h5", dir);
    tls_h5out *h = NULL;
    int rc = tls_h5out_create(&h, path, MPI_COMM_WORLD, c);
    if (all_ok(rc)) {
        write_ctx w = {h, winner, TLS_OK};
        int64_t n = tls_journal_scan_part(dir, rank, nranks, r, write_winner, &w);
        rc = n < 0 ? TLS_ERR_IO : w.rc;
        if (all_ok(rc))
            rc = tls_h5out_finish(h, info, ndone, nfailed);
        else
            rc = TLS_ERR_IO;
    } else {
        rc = TLS_ERR_IO;
    }
    int crc = tls_h5out_close(&h);
    if (rc == TLS_OK) rc = crc;
    return all_ok(rc) ? TLS_OK : TLS_ERR_IO;
}

/* ---- pre-flight checks (rank 0) ------------------------------------------ */

static double bytes_per_config(const tls_config *c, const tls_result *r) {
    const tls_engine_params *e = &c->eng;
    double file = 300 + 4.0 * (2 * e->epochs + e->finetune_epochs) + 12.0 * e->classes * e->classes;
    if (c->embeddings)
        file += 4.0 * ((double)e->n_source * (e->features + e->dim + 1) +
                       (double)e->n_test * (e->features + e->dim + 1));
    return file + (double)r->mem_bytes + 400; /* the file plus the journal record */
}

/* Decides whether the run may start. Returns 0, or TLS_EXIT_BAD_INPUT /
 * TLS_EXIT_OK (nothing to do) with the message already printed. */
static int preflight(const tls_sweep_opts *o, const tls_config *c, const tls_result *r,
                     const char *dir) {
    /* the hints are used when the results file is created, after the sweep:
     * a mistake in them must stop the run before it starts */
    MPI_Info hints;
    if (tls_h5out_hints(&hints, getenv("TLSWEEP_MPIIO_HINTS")) != TLS_OK) return TLS_EXIT_BAD_INPUT;
    if (hints != MPI_INFO_NULL) MPI_Info_free(&hints);
    struct stat st;
    int out_exists = stat(o->output, &st) == 0;
    int dir_exists = stat(dir, &st) == 0;
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", o->output);
    char *slash = strrchr(parent, '/');
    if (slash)
        *(slash == parent ? slash + 1 : slash) = '\0';
    else
        snprintf(parent, sizeof(parent), ".");
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                "tlsweep: -o %s: output directory %s does not exist; allowed: a path in an "
                "existing, writable directory\n",
                o->output, parent);
        return TLS_EXIT_BAD_INPUT;
    }
    if (access(parent, W_OK | X_OK) != 0) {
        fprintf(stderr,
                "tlsweep: -o %s: output directory %s is not writable; allowed: a path in an "
                "existing, writable directory\n",
                o->output, parent);
        return TLS_EXIT_BAD_INPUT;
    }
    char hash[32];
    snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)tls_config_hash(c));
    if (o->resume) {
        char buf[256];
        if (out_exists &&
            tls_h5out_read_attr(o->output, "config_hash", buf, sizeof(buf)) != TLS_OK) {
            fprintf(stderr,
                    "tlsweep: --resume %s: not a tlsweep results file (%s); allowed: a file "
                    "written by tlsweep run with this configuration\n",
                    o->output, buf);
            return TLS_EXIT_BAD_INPUT;
        }
        if (out_exists && strcmp(buf, hash) != 0) {
            fprintf(
                stderr,
                "tlsweep: --resume %s: the file was written for a different configuration "
                "(hash %s, this one %s); allowed: the same configuration and --set options as the "
                "first run, or --force to start over\n",
                o->output, buf, hash);
            return TLS_EXIT_BAD_INPUT;
        }
        if (!dir_exists) {
            if (out_exists &&
                tls_h5out_read_attr(o->output, "config_hash", buf, sizeof(buf)) == 0) {
                /* no state left: the sweep finished (its state is removed on completion) */
                fprintf(stderr, "tlsweep: %s is complete: nothing to resume\n", o->output);
                return -1;
            }
            fprintf(stderr,
                    "tlsweep: --resume %s: no sweep to resume (neither the file nor %s "
                    "exists); allowed: run without --resume first\n",
                    o->output, dir);
            return TLS_EXIT_BAD_INPUT;
        }
        manifest m;
        if (manifest_read(dir, &m) != TLS_OK) {
            fprintf(stderr,
                    "tlsweep: --resume %s: %s/manifest.txt is missing or damaged; allowed: "
                    "--force to start over\n",
                    o->output, dir);
            return TLS_EXIT_BAD_INPUT;
        }
        if (m.hash != tls_config_hash(c)) {
            fprintf(
                stderr,
                "tlsweep: --resume %s: the interrupted sweep used a different "
                "configuration (hash %016llx, this one %s; see %s/config.yaml); allowed: the same "
                "configuration and --set options, or --force to start over\n",
                o->output, m.hash, hash, dir);
            return TLS_EXIT_BAD_INPUT;
        }
        return TLS_OK;
    }
    if ((out_exists || dir_exists) && !o->force) {
        fprintf(stderr,
                "tlsweep: -o %s: %s already exists; allowed: --force to replace it%s, or "
                "another -o\n",
                o->output, out_exists ? o->output : dir,
                dir_exists ? ", --resume to continue the interrupted sweep" : "");
        return TLS_EXIT_BAD_INPUT;
    }
    struct statvfs vfs;
    double need = bytes_per_config(c, r) * (double)tls_config_grid_size(c);
    if (!o->force && statvfs(parent, &vfs) == 0) {
        double avail = (double)vfs.f_bavail * (double)vfs.f_frsize;
        if (need > avail) {
            fprintf(stderr,
                    "tlsweep: -o %s: the sweep needs about %.2f GiB (results file and "
                    "journal) but %s has %.2f GiB free; allowed: a smaller grid, --set "
                    "output.embeddings=false, another -o, or --force to try anyway\n",
                    o->output, need / 1073741824.0, parent, avail / 1073741824.0);
            return TLS_EXIT_BAD_INPUT;
        }
    }
    return TLS_OK;
}

/* ---- dry run ------------------------------------------------------------- */

static void dry_run(const tls_config *c, tls_result *r, int nranks) {
    int64_t n = tls_config_grid_size(c);
    printf("grid: %d shift x %d lambda x %d n_target x %d seed = %lld configurations\n",
           c->axis[0].n, c->axis[1].n, c->axis[2].n, c->axis[3].n, (long long)n);
    printf(
        "output layout (docs/FORMAT.md):\n"
        "  /shift /lambda /n_target /seed               dimension scales\n"
        "  /acc_scratch /acc_direct /acc_mmd ...        (shift, lambda, n_target, seed)\n"
        "  /confusion                                   (..., approach, true_class, pred_class)\n"
        "  /ce_epoch /mmd2_epoch                        (..., epoch=%d)\n"
        "  /finetune_ce                                 (..., finetune_epoch=%d)\n",
        c->eng.epochs, c->eng.finetune_epochs);
    if (c->embeddings)
        printf("  /embeddings/source_features /target_features /source_x /target_x /source_y "
               "/target_y\n"
               "                                               (..., point=%d|%d, "
               "feature=%d|dim=%d)\n",
               c->eng.n_source, c->eng.n_test, c->eng.features, c->eng.dim);
    printf("size: about %.1f MiB\n", bytes_per_config(c, r) * (double)n / 1048576.0);
    /* time: one configuration with 2 source epochs, scaled to the full count */
    tls_engine_params e = c->eng;
    int full = e.epochs, probe = full < 2 ? full : 2;
    e.epochs = probe;
    tls_point pt = tls_config_point(c, n - 1);
    double t = now_seconds();
    tls_engine_run(r, &e, &pt);
    double per = now_seconds() - t;
    if (probe > 0)
        per = r->s.seconds[0] + r->s.seconds[1] +
              (per - r->s.seconds[0] - r->s.seconds[1]) * full / probe;
    char s[32];
    fmt_duration(s, sizeof(s), per * (double)n / nranks);
    printf("estimate: %.2f s per configuration, about %s on %d rank%s\n", per, s, nranks,
           nranks > 1 ? "s" : "");
}

/* ---- the run ------------------------------------------------------------- */

int tls_sweep_run(const tls_sweep_opts *o) {
    /* die with the launcher: an orphaned rank must not go on writing journals
     * that a resumed run is also writing */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) return TLS_EXIT_FAILURE;
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    char err[TLS_ERRMSG];
    tls_config *c = NULL;
    tls_result *r = NULL;
    int exit_code = TLS_EXIT_FAILURE;
    int rc = tls_config_load(&c, o->config_path, o->sets, o->nsets, err);
    if (rc != TLS_OK) {
        if (rank == 0) fprintf(stderr, "tlsweep: %s\n", err);
        return rc == TLS_ERR_INPUT ? TLS_EXIT_BAD_INPUT : TLS_EXIT_FAILURE;
    }
    tls_data_files files;
    if (tls_data_files_attach(&files, c, err) != TLS_OK) {
        if (rank == 0) fprintf(stderr, "tlsweep: %s\n", err);
        tls_config_destroy(&c);
        return TLS_EXIT_BAD_INPUT;
    }
    if (tls_result_create(&r, &c->eng) != TLS_OK) {
        tls_data_files_release(&files);
        tls_config_destroy(&c);
        return TLS_EXIT_FAILURE;
    }
    if (o->dry_run) {
        if (rank == 0) dry_run(c, r, nranks);
        exit_code = TLS_EXIT_OK;
        goto cleanup;
    }
    char dir[PATH_MAX];
    state_dir_of(dir, sizeof(dir), o->output);
    int64_t N = tls_config_grid_size(c);

    /* rank 0 decides whether to start, prepares the state directory and
     * finds what is already done */
    int verdict = TLS_OK;
    int header[2] = {0, 0}; /* verdict, run number */
    done_map dm = {NULL, NULL};
    dm.status = calloc((size_t)N, 1);
    dm.winner = malloc(sizeof(int32_t) * (size_t)N);
    if (!dm.status || !dm.winner) {
        fprintf(stderr, "tlsweep: rank %d: out of memory for a grid of %lld\n", rank, (long long)N);
        MPI_Abort(MPI_COMM_WORLD, TLS_EXIT_FAILURE);
    }
    for (int64_t i = 0; i < N; i++) dm.winner[i] = -1;
    char started[32];
    iso_now(started, sizeof(started));
    int lock_fd = -1;
    if (rank == 0) {
        verdict = preflight(o, c, r, dir);
        struct stat sb;
        if (verdict == TLS_OK && stat(dir, &sb) == 0 && (lock_fd = lock_state(dir)) < 0)
            verdict = TLS_EXIT_BAD_INPUT;
        if (verdict == TLS_OK && !o->resume) {
            if (remove_tree(dir) != 0) {
                fprintf(stderr, "tlsweep: cannot remove the old state %s: %s\n", dir,
                        strerror(errno));
                verdict = TLS_EXIT_FAILURE;
            } else if (mkdir(dir, 0755) != 0) {
                fprintf(stderr, "tlsweep: cannot create %s: %s\n", dir, strerror(errno));
                verdict = TLS_EXIT_FAILURE;
            } else if ((lock_fd = lock_state(dir)) < 0 ||
                       manifest_write(dir, c, started) != TLS_OK) {
                verdict = TLS_EXIT_FAILURE;
            }
        }
        if (verdict == TLS_OK && o->resume) {
            manifest m;
            manifest_read(dir, &m);
            snprintf(started, sizeof(started), "%s", m.started);
            if (tls_journal_scan(dir, r, note_record, &dm) < 0) verdict = TLS_EXIT_FAILURE;
        }
        header[0] = verdict;
        header[1] = tls_journal_last_run(dir) + 1;
    }
    MPI_Bcast(header, 2, MPI_INT, 0, MPI_COMM_WORLD);
    if (header[0] != TLS_OK) {
        exit_code = header[0] < 0 ? TLS_EXIT_OK : header[0];
        free(dm.status), free(dm.winner);
        if (lock_fd >= 0) close(lock_fd);
        goto cleanup;
    }
    MPI_Bcast(started, sizeof(started), MPI_CHAR, 0, MPI_COMM_WORLD);

    run_ctx x;
    memset(&x, 0, sizeof(x));
    x.c = c, x.o = o, x.res = r, x.rank = rank;
    pthread_mutex_init(&x.mu, NULL);
    gethostname(x.host, sizeof(x.host) - 1);
    int64_t already = 0;
    if (rank == 0) {
        x.work = malloc(sizeof(int64_t) * (size_t)N);
        if (!x.work) MPI_Abort(MPI_COMM_WORLD, TLS_EXIT_FAILURE);
        for (int64_t i = 0; i < N; i++) {
            int todo = dm.status[i] == TLS_STATUS_PENDING ||
                       (o->retry_failed && dm.status[i] == TLS_STATUS_FAILED);
            if (todo)
                x.work[x.nwork++] = i;
            else
                already++;
        }
        x.time_limit = o->time_limit;
        double slurm_left = o->time_limit > 0 ? 0 : slurm_time_left();
        if (slurm_left > 0) {
            x.time_limit = slurm_left;
            char left[32];
            fmt_duration(left, sizeof(left), slurm_left);
            fprintf(stderr,
                    "tlsweep: Slurm job %s has %s left: no configuration will start that "
                    "cannot finish in it\n",
                    getenv("SLURM_JOB_ID"), left);
        }
        if (o->resume)
            fprintf(stderr,
                    "tlsweep: resuming %s: %lld of %lld configurations already recorded, "
                    "%lld to compute\n",
                    o->output, (long long)already, (long long)N, (long long)x.nwork);
        else
            fprintf(stderr, "tlsweep: %lld configurations on %d rank%s -> %s\n", (long long)N,
                    nranks, nranks > 1 ? "s" : "", o->output);
    }
    tls_sweep_install_signals(); /* again: MPI_Init may have replaced them */
    rc = tls_journal_open(&x.journal, dir, header[1], rank, c->sync_seconds);
    if (!all_ok(rc)) {
        if (rank == 0) fprintf(stderr, "tlsweep: cannot open the journals in %s\n", dir);
        goto cleanup_run;
    }
    x.t0 = now_seconds();
    if (rank == 0) {
        pthread_t th;
        pthread_create(&th, NULL, local_worker, &x);
        coordinate(&x, nranks, already);
        pthread_join(th, NULL);
        progress_line(&x, x.nwork, already, 1);
        if (x.error) {
            fprintf(stderr, "tlsweep: rank 0: cannot continue; aborting, the sweep is resumable\n");
            MPI_Abort(MPI_COMM_WORLD, TLS_EXIT_FAILURE);
        }
    } else {
        serve(&x);
    }
    rc = tls_journal_close(&x.journal);
    if (!all_ok(rc)) {
        if (rank == 0) fprintf(stderr, "tlsweep: cannot sync the journals in %s\n", dir);
        goto cleanup_run;
    }

    /* which record of each index wins, then every rank writes its share */
    if (rank == 0) tls_journal_scan(dir, r, note_record, &dm);
    MPI_Bcast(dm.winner, (int)N, MPI_INT32_T, 0, MPI_COMM_WORLD);
    tls_run_info info;
    memset(&info, 0, sizeof(info));
    snprintf(info.started, sizeof(info.started), "%s", started);
    iso_now(info.finished, sizeof(info.finished));
    MPI_Bcast(info.finished, sizeof(info.finished), MPI_CHAR, 0, MPI_COMM_WORLD);
    info.nranks = nranks;
    info.runs = header[1];
    double tw = now_seconds();
    int64_t ndone = 0, nfailed = 0;
    rc = write_results(c, dir, dm.winner, &info, r, &ndone, &nfailed);
    tw = now_seconds() - tw;
    if (rc != TLS_OK) {
        if (rank == 0)
            fprintf(stderr,
                    "tlsweep: cannot write the results file; the sweep is resumable from %s\n",
                    dir);
        goto cleanup_run;
    }
    if (rank == 0) {
        char partial[PATH_MAX + 16];
        snprintf(partial, sizeof(partial), "%s/partial.h5", dir);
        int64_t pending = N - ndone - nfailed;
        if (rename(partial, o->output) != 0) {
            fprintf(stderr, "tlsweep: cannot move %s to %s: %s; the sweep is resumable\n", partial,
                    o->output, strerror(errno));
            exit_code = TLS_EXIT_FAILURE;
        } else {
            if (pending == 0) remove_tree(dir);
            char el[32];
            fmt_duration(el, sizeof(el), now_seconds() - x.t0);
            fprintf(stderr,
                    "tlsweep: %lld configurations: %lld done, %lld failed, %lld pending; "
                    "wrote %s in %s (file writing %.2f s)\n",
                    (long long)N, (long long)ndone, (long long)nfailed, (long long)pending,
                    o->output, el, tw);
            if (nfailed) {
                int shown = 0;
                for (int64_t i = 0; i < N && shown < 20; i++)
                    if (dm.status[i] == TLS_STATUS_FAILED) {
                        tls_point p = tls_config_point(c, i);
                        fprintf(stderr,
                                "  failed: shift=%g lambda=%g n_target=%d seed=%lld (tlsweep "
                                "status %s lists the reasons)\n",
                                p.shift, p.lambda, p.n_target, (long long)p.seed, o->output);
                        shown++;
                    }
            }
            if (pending) {
                fprintf(stderr,
                        "tlsweep: interrupted%s; continue with: tlsweep run %s%s-o %s "
                        "--resume%s\n",
                        x.time_limited ? " (time limit)" : "", o->config_path ? o->config_path : "",
                        o->config_path ? " " : "", o->output,
                        o->nsets ? " (and the same --set options)" : "");
                exit_code = TLS_EXIT_RESUMABLE;
            } else {
                exit_code = TLS_EXIT_OK;
            }
        }
    }
    MPI_Bcast(&exit_code, 1, MPI_INT, 0, MPI_COMM_WORLD);
cleanup_run:
    if (lock_fd >= 0) close(lock_fd); /* after the state directory is gone or consistent */
    tls_journal_close(&x.journal);
    pthread_mutex_destroy(&x.mu);
    free(x.work);
    free(dm.status), free(dm.winner);
cleanup:
    tls_result_destroy(&r);
    tls_data_files_release(&files);
    tls_config_destroy(&c);
    return exit_code;
}

/* ---- status -------------------------------------------------------------- */

typedef struct {
    int8_t *status;
    char (*reason)[sizeof(((tls_scalars *)0)->reason)];
} status_ctx;

static int note_status(void *ctx, int file, const tls_record_meta *meta, const tls_result *r) {
    (void)file;
    status_ctx *s = ctx;
    s->status[meta->index] = (int8_t)r->s.status;
    memcpy(s->reason[meta->index], r->s.reason, sizeof(s->reason[0]));
    return 0;
}

static void print_status(const char *what, int64_t n, const int8_t *status, const char *reasons,
                         size_t rlen, const double *const *axis, const int *axis_n, int state) {
    int64_t cnt[3] = {0, 0, 0};
    for (int64_t i = 0; i < n; i++) cnt[status[i] >= 0 && status[i] <= 2 ? status[i] : 0]++;
    printf("%s: %lld configurations: %lld done, %lld failed, %lld pending -> %s\n", what,
           (long long)n, (long long)cnt[1], (long long)cnt[2], (long long)cnt[0],
           cnt[0] == 0 ? "complete"
           : state     ? "incomplete, resumable with tlsweep run ... --resume"
                       : "incomplete");
    for (int64_t i = 0; i < n; i++) {
        if (status[i] != TLS_STATUS_FAILED) continue;
        int64_t k = i, ix[TLS_NAXES];
        for (int a = TLS_NAXES - 1; a >= 0; a--) ix[a] = k % axis_n[a], k /= axis_n[a];
        printf("  failed: shift=%g lambda=%g n_target=%g seed=%g: %.*s\n", axis[0][ix[0]],
               axis[1][ix[1]], axis[2][ix[2]], axis[3][ix[3]], (int)rlen,
               reasons + (size_t)i * rlen);
    }
}

int tls_sweep_status(const char *path) {
    char dir[PATH_MAX];
    state_dir_of(dir, sizeof(dir), path);
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        char cfgpath[PATH_MAX + 16], err[TLS_ERRMSG];
        snprintf(cfgpath, sizeof(cfgpath), "%s/config.yaml", dir);
        tls_config *c = NULL;
        tls_result *r = NULL;
        if (tls_config_load(&c, cfgpath, NULL, 0, err) != TLS_OK ||
            tls_result_create(&r, &c->eng)) {
            fprintf(stderr, "tlsweep: status %s: the sweep state in %s is damaged: %s\n", path, dir,
                    err);
            tls_config_destroy(&c);
            return TLS_EXIT_BAD_INPUT;
        }
        int64_t n = tls_config_grid_size(c);
        status_ctx s = {calloc((size_t)n, 1), calloc((size_t)n, sizeof(s.reason[0]))};
        if (!s.status || !s.reason) {
            fprintf(stderr, "tlsweep: status %s: out of memory for %lld configurations\n", path,
                    (long long)n);
            free(s.status), free(s.reason);
            tls_result_destroy(&r);
            tls_config_destroy(&c);
            return TLS_EXIT_FAILURE;
        }
        tls_journal_scan(dir, r, note_status, &s);
        const double *axis[TLS_NAXES];
        int axis_n[TLS_NAXES];
        for (int a = 0; a < TLS_NAXES; a++) axis[a] = c->axis[a].v, axis_n[a] = c->axis[a].n;
        char what[PATH_MAX + 64];
        snprintf(what, sizeof(what), "%s (interrupted sweep, state in %s)", path, dir);
        print_status(what, n, s.status, (const char *)s.reason, sizeof(s.reason[0]), axis, axis_n,
                     1);
        int64_t pending = 0;
        for (int64_t i = 0; i < n; i++) pending += s.status[i] == TLS_STATUS_PENDING;
        free(s.status), free(s.reason);
        tls_result_destroy(&r);
        tls_config_destroy(&c);
        return pending ? TLS_EXIT_RESUMABLE : TLS_EXIT_OK;
    }
    char buf[256];
    if (tls_h5out_read_attr(path, "config_hash", buf, sizeof(buf)) != TLS_OK) {
        fprintf(stderr,
                "tlsweep: status %s: not a tlsweep results file (%s); allowed: a file "
                "written by tlsweep run\n",
                path, buf);
        return TLS_EXIT_BAD_INPUT;
    }
    tls_h5status st;
    if (tls_h5out_read_status(path, &st) != TLS_OK) {
        fprintf(stderr, "tlsweep: status %s: cannot read its status dataset\n", path);
        return TLS_EXIT_FAILURE;
    }
    print_status(path, st.n, st.status, st.reasons, st.reason_len, (const double *const *)st.axis,
                 st.axis_n, 0);
    int64_t pending = 0;
    for (int64_t i = 0; i < st.n; i++) pending += st.status[i] == TLS_STATUS_PENDING;
    tls_h5status_free(&st);
    return pending ? TLS_EXIT_RESUMABLE : TLS_EXIT_OK;
}
