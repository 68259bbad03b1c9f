#include "tlsweep/resume.h"

#include "tlsweep/check.h"
#include "tlsweep/journal.h"
#include "tlsweep/provenance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* What rank 0 decides with: the run's options and setup, and the plan it fills. */
typedef struct {
    tls_resume *x;
    const tls_run_opts *o;
    const tls_setup *s;
    const char *yaml; /* the effective configuration */
} plan_ctx;

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

//----
void tls_split_path(const char *path, char *dir, size_t dlen, char *base, size_t blen) {
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

int tls_output_check(const char *out, char *err) {
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
    tls_split_path(out, parent, sizeof(parent), base, sizeof(base));
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
    tls_split_path(out, parent, sizeof(parent), base, sizeof(base));
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
static int check_space(const plan_ctx *p, int64_t todo, char *err) {
    const tls_layout *L = &p->s->L;
    double file = tls_store_bytes_per_config(L) * (double)L->count;
    double rec = (double)(sizeof(tls_record_meta) + sizeof(tls_scalars) +
                          tls_journal_array_bytes(p->s->r, p->s->c->embeddings) + 40);
    double need = file * 1.02 + (1 << 20) + rec * (double)todo, avail = free_bytes(p->o->output);
    if (p->o->force || avail < 0 || need <= avail) return TLS_OK;
    char sneed[32], savail[32];
    format_bytes(sneed, sizeof(sneed), need);
    format_bytes(savail, sizeof(savail), avail);
    return tls_input_error(err, "-o", p->o->output,
                           "the sweep needs about %s (results file and journal records still to "
                           "come) but its directory has %s free; allowed: a smaller grid, --set "
                           "output.embeddings=false, another -o, free space, or --force to try "
                           "anyway",
                           sneed, savail);
}

/* Takes over the results of an existing results file into a new state
 * (resume without a state directory: deleted, or the file was copied). */
static int import_file(const plan_ctx *p, tls_store_reader *rd, char *err) {
    const tls_layout *L = &p->s->L;
    TLS_TRY(tls_store_check(rd, L, err));
    char path[4200];
    tls_state_journal_path(p->x->state.dir, 0, -1, path, sizeof(path));
    tls_journal *j = NULL;
    TLS_TRY(tls_journal_open(&j, path, p->x->man.sweep_id,
                             tls_journal_array_bytes(p->s->r, p->s->c->embeddings), 3600));
    tls_record_source src;
    tls_store_source(rd, &src);
    int rc = TLS_OK;
    const int64_t block = 4096;
    for (int64_t lo = 0; lo < L->count && rc == TLS_OK; lo += block) {
        int64_t hi = lo + block < L->count ? lo + block : L->count;
        rc = src.prepare(src.ctx, lo, hi);
        for (int64_t q = lo; q < hi && rc == TLS_OK; q++) {
            tls_record_meta meta;
            int have = 0;
            rc = src.get(src.ctx, q, &meta, p->s->r, &have);
            if (rc == TLS_OK && have) rc = tls_journal_append(j, &meta, p->s->r, NULL);
        }
    }
    char jerr[TLS_ERRMSG];
    snprintf(jerr, sizeof(jerr), "%s", tls_journal_error(j));
    int crc = tls_journal_close(&j);
    if (rc == TLS_ERR_INPUT)
        snprintf(err, TLS_ERRMSG, "%s", src.why(src.ctx)); /* a record out of range */
    else if (jerr[0])
        snprintf(err, TLS_ERRMSG, "cannot take over the results of %.400s: %.500s", p->o->output,
                 jerr);
    else if (rc == TLS_OK && (rc = crc) != TLS_OK)
        snprintf(err, TLS_ERRMSG, "cannot take over the results of %s", p->o->output);
    else if (rc)
        snprintf(err, TLS_ERRMSG, "cannot take over the results of %s", p->o->output);
    return rc;
}

/* A fresh manifest for this configuration. */
static void new_manifest(const plan_ctx *p) {
    tls_manifest *m = &p->x->man;
    memset(m, 0, sizeof(*m));
    m->version = TLS_STATE_VERSION;
    m->sweep_id = tls_state_new_id();
    m->config_hash = tls_config_hash(p->s->c);
    if (p->s->files.source) {
        m->data_crc[0] = p->s->files.source->crc32;
        m->data_crc[1] = p->s->files.target->crc32;
    }
    m->grid_size = p->s->c->grid_size;
    m->part = p->o->part;
    tls_iso_time(m->started, sizeof(m->started));
}

static int same_sweep(const plan_ctx *p, const tls_manifest *m) {
    const tls_manifest *me = &p->x->man;
    return m->config_hash == me->config_hash && m->data_crc[0] == me->data_crc[0] &&
           m->data_crc[1] == me->data_crc[1] && m->part.k == p->o->part.k &&
           m->part.n == p->o->part.n;
}

/* What a refused resume says: the keys that differ, and the ways out. */
static int refuse_other(const plan_ctx *p, const char *what, const char *stored_yaml, char *err) {
    if (!p->o->config_path && p->o->nsets == 0)
        return tls_input_error(err, "--resume", p->o->output,
                               "its stored configuration does not match its config_hash (the "
                               "file or state was edited or damaged); allowed: --resume with the "
                               "sweep's CONFIG and --set options, or --force to start over");
    /* compare canonical texts: the stored one loaded and printed again */
    char diff[600], lerr[TLS_ERRMSG];
    const tls_config *old = NULL;
    char *canon = stored_yaml && tls_config_load_text(&old, "stored", stored_yaml, lerr) == TLS_OK
                      ? tls_config_yaml(old)
                      : NULL;
    config_diff(canon ? canon : stored_yaml ? stored_yaml : "", p->yaml, diff, sizeof(diff));
    free(canon);
    tls_config_destroy(&old);
    return tls_input_error(
        err, "--resume", p->o->output,
        "%s was written for a different configuration (differs in: %s); allowed: "
        "--resume with no CONFIG and no --set (uses the stored one), the "
        "same configuration, another -o, or --force to start over (which "
        "discards the finished configurations)",
        what, diff);
}

/* A run without --resume: refuses to replace results without --force,
 * else starts a fresh state. */
static int start_fresh(const plan_ctx *p, const char *dir, int out_exists, int have_state,
                       char *err) {
    const tls_run_opts *o = p->o;
    if ((out_exists || have_state) && !o->force)
        return tls_input_error(err, "-o", o->output,
                               "%s already exists; allowed: --resume to continue%s, another "
                               "-o, or --force to replace it (discards its results)",
                               out_exists ? o->output : dir,
                               have_state ? " the interrupted sweep" : " it if incomplete");
    TLS_TRY(check_space(p, p->s->L.count, err));
    TLS_TRY(tls_state_lock(&p->x->state, dir, err));
    TLS_TRY(tls_state_reset(&p->x->state, &p->x->man, p->yaml));
    tls_state_claim(&p->x->state);
    return TLS_OK;
}

/* What an existing results file says: whether it is this sweep's (*ours)
 * and complete (*complete), its layout and statuses checked. */
static int read_file(const plan_ctx *p, tls_store_reader *rd, int *ours, int *complete, char *err) {
    const tls_run_opts *o = p->o;
    const tls_store_meta *m = tls_store_meta_of(rd);
    *ours =
        m->config_hash == p->x->man.config_hash && m->part.k == o->part.k && m->part.n == o->part.n;
    *complete = *ours && m->n_pending == 0;
    if (!*ours) return TLS_OK;
    /* nothing read from disk is trusted: the layout, then the statuses */
    int rc = tls_store_check(rd, &p->s->L, err);
    int8_t *st8 = rc == TLS_OK ? malloc((size_t)p->s->L.count + 1) : NULL;
    if (rc == TLS_OK && (!st8 || tls_store_read_status(rd, st8, NULL, 0) != TLS_OK))
        rc = tls_input_error(err, "--resume", o->output,
                             "cannot read its status; allowed: a results file written "
                             "by tlsweep run, or --force");
    for (int64_t i = 0; rc == TLS_OK && *complete && i < p->s->L.count; i++)
        *complete = st8[i] == TLS_STATUS_DONE || (st8[i] == TLS_STATUS_FAILED && !o->retry_failed);
    free(st8);
    return rc;
}

/* The state is the authority: it must be this sweep's (its manifest's
 * configuration, data and part). */
static int check_state(const plan_ctx *p, const char *dir, char *err) {
    const tls_run_opts *o = p->o;
    tls_manifest m;
    TLS_TRY(tls_manifest_read(dir, &m, err));
    int rc = TLS_OK;
    if (!same_sweep(p, &m)) {
        char *stored = tls_state_config(dir);
        int part_differs = m.part.k != o->part.k || m.part.n != o->part.n;
        rc = m.config_hash != p->x->man.config_hash
                 ? refuse_other(p, "the interrupted sweep", stored, err)
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
    if (rc == TLS_OK) p->x->man = m;
    char *stored = rc == TLS_OK ? tls_state_config(dir) : NULL;
    if (rc == TLS_OK && !stored) rc = tls_state_write_config(&p->x->state, p->yaml); /* lost */
    free(stored);
    return rc;
}

/* A resume without a state: a new state holding what the file holds. */
static int take_over(const plan_ctx *p, tls_store_reader *rd, const char *dir, char *err) {
    tls_resume *x = p->x;
    int rc = x->state.lock_fd < 0 ? tls_state_lock(&x->state, dir, err) : TLS_OK;
    const char *started = tls_store_meta_of(rd)->started;
    if (started[0]) snprintf(x->man.started, sizeof(x->man.started), "%s", started);
    if (rc == TLS_OK) rc = tls_state_reset(&x->state, &x->man, p->yaml);
    if (rc == TLS_OK) rc = import_file(p, rd, err);
    tls_runs old = {0, NULL};
    if (rc == TLS_OK) rc = tls_store_runs(rd, &old);
    for (int i = 0; rc == TLS_OK && i < old.n; i++)
        rc = tls_state_run_write(&x->state, i + 1, &old.run[i]);
    tls_runs_free(&old);
    if (rc == TLS_OK)
        fprintf(stderr,
                "tlsweep: %s has no sweep state (%s): took over the results the file holds\n",
                p->o->output, dir);
    else if (x->state.lock_fd >= 0)
        tls_state_remove(&x->state); /* nothing written: the new state goes */
    return rc;
}

/* Why a resume without a state cannot use the file it was given. */
static int refuse_file(const plan_ctx *p, tls_store_reader *rd, const char *dir, int out_exists,
                       const char *ferr, char *err) {
    const tls_run_opts *o = p->o;
    if (!out_exists)
        return tls_input_error(err, "--resume", o->output,
                               "no sweep to resume (neither the file nor %s exists); allowed: run "
                               "without --resume first",
                               dir);
    if (!rd)
        return tls_input_error(err, "--resume", o->output,
                               "%s; allowed: a results file written by tlsweep run, or --force",
                               strstr(ferr, ": (file): ") ? strstr(ferr, ": (file): ") + 10 : ferr);
    const tls_store_meta *m = tls_store_meta_of(rd);
    return m->config_hash != p->x->man.config_hash
               ? refuse_other(p, o->output, m->config_yaml, err)
               : tls_input_error(err, "--resume", o->output,
                                 "is part %d/%d of its sweep; allowed: the same --part", m->part.k,
                                 m->part.n);
}

/* A state directory with journals and no manifest: lost, not absent. */
static int orphaned(const char *dir, char *err) {
    return tls_input_error(err, dir, "manifest",
                           "missing, but the directory holds journals: a sweep's state that lost "
                           "its manifest; allowed: --force to start over (discards the sweep's "
                           "finished work)");
}

/* --resume: the state, or else the results file, says what is done. */
static int resume_existing(const plan_ctx *p, const char *dir, int out_exists, int have_state,
                           char *err) {
    tls_resume *x = p->x;
    struct stat st;
    if (file_exists(dir, &st)) TLS_TRY(tls_state_lock(&x->state, dir, err));
    tls_store_reader *rd = NULL;
    char ferr[TLS_ERRMSG] = "";
    int rc = TLS_OK, ours = 0, complete = 0;
    if (out_exists && tls_store_open(&rd, p->o->output, ferr) == TLS_OK)
        rc = read_file(p, rd, &ours, &complete, err);
    if (rc == TLS_OK && have_state)
        rc = check_state(p, dir, err); /* the file may be another sweep's earlier result */
    else if (rc == TLS_OK && !ours)
        rc = refuse_file(p, rd, dir, out_exists, ferr, err);
    if (rc == TLS_OK && complete) {
        /* complete: a state left by a kill during clean-up goes now */
        fprintf(stderr, "tlsweep: %s is complete: nothing to resume\n", p->o->output);
        if (x->state.lock_fd >= 0 && tls_state_remove(&x->state) != TLS_OK)
            fprintf(stderr, "tlsweep: the old state %s is left behind: remove it\n", dir);
        x->nothing_to_do = 1;
    } else if (rc == TLS_OK && !have_state) {
        rc = take_over(p, rd, dir, err);
    }
    tls_store_close(&rd);
    return rc;
}

/* What the journals hold, and the work list. */
static int plan(const plan_ctx *p, char *err) {
    tls_resume *x = p->x;
    tls_journal_reader *rd = NULL;
    tls_resume_map *m = &x->map;
    size_t ab = tls_journal_array_bytes(p->s->r, p->s->c->embeddings);
    int rc = tls_state_journal_reader(&rd, x->state.dir, x->man.sweep_id, p->s->c->grid_size, ab);
    int decide = p->s->c->decide.mode != TLS_MODE_GRID;
    if (rc == TLS_OK) rc = tls_resume_map_build(m, rd, x->part, p->s->L.count, decide, p->s->r);
    x->nfiles = rc == TLS_OK ? tls_journal_reader_nfiles(rd) : 0;
    tls_journal_reader_close(&rd);
    if (rc) return rc; /* printed where it was found, in one line */
    char stray[256];
    int nstray = tls_state_strays(x->state.dir, stray, sizeof(stray));
    if (nstray)
        fprintf(stderr, "tlsweep: %s: ignored %d file%s that %s not its own (%s%s)\n", x->state.dir,
                nstray, nstray > 1 ? "s" : "", nstray > 1 ? "are" : "is", stray,
                nstray > 1 ? ", ..." : "");
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
    for (int64_t q = 0; q < m->count; q++) {
        int todo = m->file[q] < 0 || (p->o->retry_failed && m->status[q] == TLS_STATUS_FAILED);
        if (todo)
            x->work[x->nwork++] = tls_layout_index(&p->s->L, q);
        else
            x->already++;
    }
    x->run_no = tls_state_last_run(x->state.dir) + 1;
    TLS_TRY(tls_state_runs_read(x->state.dir, &x->runs));
    if (x->run_no <= x->runs.n) x->run_no = x->runs.n + 1;
    if (x->run_no > TLS_STATE_MAX_RUNS)
        return tls_input_error(err, x->state.dir, "runs.txt",
                               "this would be run %d of the sweep; allowed: at most %d runs "
                               "(tlsweep snapshot keeps the results so far)",
                               x->run_no, TLS_STATE_MAX_RUNS);
    return TLS_OK;
}

int tls_resume_prepare(tls_resume *x, const tls_run_opts *o, const tls_setup *s, const char *yaml,
                       char *err) {
    memset(x, 0, sizeof(*x));
    x->state.lock_fd = -1;
    x->part = s->L.part;
    plan_ctx p = {x, o, s, yaml};
    char dir[4200];
    struct stat st;
    TLS_TRY(tls_output_check(o->output, err));
    TLS_TRY(tls_state_dir(dir, sizeof(dir), o->output, err));
    MPI_Info hints;
    TLS_TRY(tls_store_hints(&hints, getenv("TLSWEEP_MPIIO_HINTS"), err));
    if (hints != MPI_INFO_NULL) MPI_Info_free(&hints);
    new_manifest(&p);
    int out_exists = file_exists(o->output, &st);
    char mpath[4300];
    snprintf(mpath, sizeof(mpath), "%s/manifest", dir);
    int have_state = file_exists(mpath, &st);
    if (!have_state && !o->force && tls_state_orphaned(dir)) return orphaned(dir, err);
    if (!o->resume) TLS_TRY(start_fresh(&p, dir, out_exists, have_state, err));
    if (o->resume) TLS_TRY(resume_existing(&p, dir, out_exists, have_state, err));
    if (x->nothing_to_do) return TLS_OK;
    TLS_TRY(plan(&p, err));
    if (o->resume) TLS_TRY(check_space(&p, x->nwork, err));
    tls_state_claim(&x->state);
    return TLS_OK;
}

static int list_next(void *ctx, int64_t *out, int max, int *more) {
    tls_resume *x = ctx;
    int n = 0;
    while (n < max && x->next < x->nwork) out[n++] = x->work[x->next++];
    *more = x->next < x->nwork;
    return n;
}

static void list_record(void *ctx, int rank, const tls_msg_rec *rec) {
    tls_resume_note(ctx, rank, rec);
}

void tls_resume_plan(tls_resume *x, tls_plan *plan) {
    x->next = 0;
    plan->next = list_next;
    plan->record = list_record;
    plan->ctx = x;
}

void tls_resume_note(tls_resume *x, int rank, const tls_msg_rec *rec) {
    tls_resume_map *m = &x->map;
    if (rec->index < 0 || !tls_part_has(x->part, rec->index)) return;
    int64_t pos = tls_part_pos(x->part, rec->index);
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
    if (m->acc) memcpy(m->acc + pos * TLS_NMETHODS, rec->acc, sizeof(rec->acc));
    if (rec->status == TLS_STATUS_DONE)
        m->ndone++;
    else
        m->nfailed++;
}

int tls_resume_recover(tls_resume *x, const tls_run_opts *o, const tls_setup *s, const char *yaml,
                       int run_no, const tls_run *me, char *err) {
    plan_ctx p = {x, o, s, yaml};
    char dir[sizeof(x->state.dir)];
    snprintf(dir, sizeof(dir), "%s", x->state.dir);
    tls_state_unlock(&x->state);
    int rc = tls_state_lock(&x->state, dir, err);
    if (rc == TLS_OK) rc = tls_state_reset(&x->state, &x->man, yaml);
    tls_store_reader *rd = NULL;
    char ferr[TLS_ERRMSG];
    if (rc == TLS_OK && tls_store_open(&rd, o->output, ferr) == TLS_OK)
        rc = import_file(&p, rd, err);
    tls_store_close(&rd);
    for (int i = 0; rc == TLS_OK && i < x->runs.n; i++)
        rc = tls_state_run_write(&x->state, i + 1, &x->runs.run[i]);
    if (rc == TLS_OK) rc = tls_state_run_write(&x->state, run_no, me);
    return rc;
}

void tls_resume_free(tls_resume *x) {
    tls_state_unlock(&x->state);
    tls_runs_free(&x->runs);
    tls_resume_map_free(&x->map);
    free(x->work);
    x->work = NULL;
}

char *tls_resume_stored_config(const char *out) {
    char dir[4200], err[TLS_ERRMSG];
    if (tls_state_dir(dir, sizeof(dir), out, err) != TLS_OK) return NULL;
    char *text = tls_state_config(dir);
    if (text) return text;
    tls_store_reader *rd = NULL;
    if (tls_store_open(&rd, out, err) != TLS_OK) return NULL;
    const char *y = tls_store_meta_of(rd)->config_yaml;
    text = y[0] ? strdup(y) : NULL;
    tls_store_close(&rd);
    return text;
}
