/* merge.c - `tlsweep merge` (the files of a sweep's parts into the one file
 * a one-job run writes) and `tlsweep snapshot` (a running or interrupted
 * sweep's journals into a file with the final layout). */
#include "tlsweep/check.h"
#include "tlsweep/collect.h"
#include "tlsweep/comm.h"
#include "tlsweep/progress.h"
#include "tlsweep/resume.h"
#include "tlsweep/runrec.h"
#include "tlsweep/sweep.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The record source of a merge: position i of the cube (grid index i) is
 * in the part that holds index i, at its position there; pending when that
 * part is missing (--allow-partial). */
typedef struct {
    tls_store_reader **rd; /* (n) part k at k - 1; NULL: missing */
    tls_record_source *src;
    const tls_layout *pl; /* (n) each part's layout */
    int n;
    int last; /* the part of the last record asked for */
} merge_source;

static int merge_prepare(void *ctx, int64_t lo, int64_t hi) {
    merge_source *m = ctx;
    for (int k = 0; k < m->n; k++) {
        int64_t plo = tls_part_pos(m->pl[k].part, lo), phi = tls_part_pos(m->pl[k].part, hi);
        if (plo < phi && m->rd[k]) TLS_TRY(m->src[k].prepare(m->src[k].ctx, plo, phi));
    }
    return TLS_OK;
}

static int merge_get(void *ctx, int64_t pos, tls_record_meta *meta, tls_result *r, int *have) {
    merge_source *m = ctx;
    int k = tls_part_which(m->pl[0].part, pos) - 1;
    m->last = k;
    *have = 0;
    if (!m->rd[k]) return TLS_OK; /* a missing part */
    return m->src[k].get(m->src[k].ctx, tls_part_pos(m->pl[k].part, pos), meta, r, have);
}

static const char *merge_why(void *ctx) {
    merge_source *m = ctx;
    return m->src[m->last].why(m->src[m->last].ctx);
}

/* The parts given, checked and put in order 1..N. */
typedef struct {
    int n, N;               /* files given, parts of the split */
    tls_store_reader **rd;  /* (n) as given */
    tls_store_reader **ord; /* (N) part k at k - 1; NULL: missing (--allow-partial) */
    tls_record_source *src; /* (N) */
    tls_layout *pl;         /* (N) each part's layout */
    int *seen;              /* (N + 1) 1 + the file index of part k, 0 none */
    tls_runs runs;          /* every part's runs, then this merge */
    char **hosts;           /* every part's hosts, in order (views into the readers) */
    int nhosts;
} parts;

static void parts_free(parts *p) {
    for (int i = 0; p->rd && i < p->n; i++) tls_store_close(&p->rd[i]);
    free(p->rd), free(p->src), free(p->seen), free(p->pl), free(p->ord), free(p->hosts);
    tls_runs_free(&p->runs);
}

/* Opens part i and checks it is one of N parts of the first part's sweep. */
static int open_part(parts *p, const tls_merge_opts *o, int i, uint64_t *hash, char *err) {
    TLS_TRY(tls_store_open(&p->rd[i], o->parts[i], err));
    const tls_store_meta *meta = tls_store_meta_of(p->rd[i]);
    tls_part k = meta->part;
    unsigned long long h = meta->config_hash;
    if (i == 0) {
        p->N = k.n, *hash = h;
        p->seen = calloc((size_t)p->N + 1, sizeof(int));
        if (!p->seen) return TLS_ERR_NOMEM;
        if (p->n > p->N || (p->n < p->N && !o->allow_partial))
            return tls_input_error(err, "merge", "(parts)",
                                   "%d files given but %s is part %d of %d; allowed: all %d "
                                   "parts, each once%s",
                                   p->n, o->parts[0], k.k, k.n, k.n,
                                   p->n < p->N ? ", or --allow-partial (the missing parts' "
                                                 "configurations pending, as fill values)"
                                               : "");
    } else if (h != *hash) {
        return tls_input_error(err, o->parts[i], "config_hash",
                               "%016llx, but %s has %016llx: written for another "
                               "configuration; allowed: parts of one sweep",
                               h, o->parts[0], (unsigned long long)*hash);
    } else if (k.n != p->N) {
        return tls_input_error(err, o->parts[i], "part",
                               "%d/%d, but %s is one of %d parts; allowed: parts of one split", k.k,
                               k.n, o->parts[0], p->N);
    }
    if (p->seen[k.k])
        return tls_input_error(err, o->parts[i], "part",
                               "%d/%d is given twice (also %s); allowed: each part once", k.k, k.n,
                               o->parts[p->seen[k.k] - 1]);
    p->seen[k.k] = i + 1;
    if (!o->allow_partial && meta->n_pending != 0)
        return tls_input_error(err, o->parts[i], "n_pending",
                               "%lld configurations of this part are pending; allowed: complete "
                               "parts (resume it with %s run ... --part %d/%d --resume), "
                               "or --allow-partial (pending as fill values)",
                               (long long)meta->n_pending, o->program, k.k, k.n);
    return TLS_OK;
}

/* Every part, then each checked against its own layout and against what
 * was recorded of it when it was written (the checks shared among the
 * ranks), in order 1..N. */
static int open_parts(parts *p, const tls_merge_opts *o, tls_setup *s, MPI_Comm comm, char *err) {
    p->n = o->nparts;
    p->rd = calloc((size_t)p->n, sizeof(*p->rd));
    if (!p->rd) return snprintf(err, TLS_ERRMSG, "out of memory"), TLS_ERR_NOMEM;
    TLS_TRY(tls_output_check(o->output, err));
    struct stat st;
    if (stat(o->output, &st) == 0 && !o->force)
        return tls_input_error(err, "-o", o->output,
                               "already exists; allowed: another -o, or --force to replace it");
    uint64_t hash = 0;
    for (int i = 0; i < p->n; i++) TLS_TRY(open_part(p, o, i, &hash, err));
    TLS_TRY(tls_setup_of_file(s, p->rd[0], o->parts[0], err));
    p->pl = calloc((size_t)p->N, sizeof(tls_layout));
    p->ord = calloc((size_t)p->N, sizeof(*p->ord));
    p->src = calloc((size_t)p->N, sizeof(*p->src));
    if (!p->pl || !p->ord || !p->src) return TLS_ERR_NOMEM;
    for (int k = 1; k <= p->N; k++) {
        tls_layout_init(&p->pl[k - 1], s->c, &s->env, (tls_part){.k = k, .n = p->N});
        if (!p->seen[k]) continue; /* missing (--allow-partial): its configurations pending */
        p->ord[k - 1] = p->rd[p->seen[k] - 1];
        TLS_TRY(tls_store_check(p->ord[k - 1], &p->pl[k - 1], err));
        int nranks = tls_comm_size(comm);
        TLS_TRY(tls_store_verify(p->ord[k - 1], (tls_comm_rank(comm) + k) % nranks, nranks, err));
        tls_store_source(p->ord[k - 1], &p->src[k - 1]);
        TLS_TRY(tls_store_runs(p->ord[k - 1], &p->runs));
    }
    return TLS_OK;
}

/* The hosts of every part, each once, in part order. */
static int merge_hosts(parts *p) {
    for (int k = 0; k < p->N; k++) {
        if (!p->ord[k]) continue;
        const char *const *ph;
        int np = tls_store_hosts(p->ord[k], &ph);
        for (int h = 0; h < np; h++) {
            int known = 0;
            for (int j = 0; j < p->nhosts && !known; j++) known = !strcmp(p->hosts[j], ph[h]);
            if (known) continue;
            char **g = realloc(p->hosts, sizeof(char *) * (size_t)(p->nhosts + 1));
            if (!g) return TLS_ERR_NOMEM;
            p->hosts = g;
            p->hosts[p->nhosts++] = (char *)ph[h];
        }
    }
    return TLS_OK;
}

/* Collective: the merged file, from the checked parts. */
static int write_merged(MPI_Comm comm, parts *p, const tls_setup *s, const tls_merge_opts *o) {
    tls_run_rec me;
    tls_run_rec_init(&me, comm, o->command);
    snprintf(me.finished, sizeof(me.finished), "%s", me.started);
    snprintf(me.exit_status, sizeof(me.exit_status), "0");
    tls_runs_add(&p->runs, &me.run);
    merge_hosts(p);
    merge_source ms = {p->ord, p->src, p->pl, p->N, 0};
    tls_record_source msrc = {merge_prepare, merge_get, &ms, merge_why};
    tls_versions v;
    tls_store_info info;
    char *yaml = tls_config_yaml(s->c);
    tls_collect_info(&info, &v, s, yaml, &p->runs, p->hosts, p->nhosts);
    const tls_store_meta *first = tls_store_meta_of(p->rd[0]);
    info.config_source = first->config_source;
    info.data_mode = first->data_mode;
    if (first->data_source[0]) {
        info.data_source = first->data_source;
        info.data_target = first->data_target;
        info.data_crc[0] = first->data_crc[0];
        info.data_crc[1] = first->data_crc[1];
    }
    char dir[4200], base[4200], tmp[300];
    tls_split_path(o->output, dir, sizeof(dir), base, sizeof(base));
    tls_collect_temp_name(comm, dir, tmp, sizeof(tmp), base);
    tls_store_counts cnt;
    double t0 = tls_now();
    int rc = tls_collect_source(comm, s, dir, tmp, &info, &msrc, &cnt);
    free(yaml);
    if (rc == TLS_OK && tls_comm_rank(comm) == 0) {
        rc = tls_collect_put_in_place(dir, tmp, o->output);
        if (rc == TLS_OK)
            fprintf(stderr,
                    "tlsweep: merged %d parts%s: %lld configurations: %lld done, %lld failed, "
                    "%lld pending; wrote %s (file writing %.2f s)\n",
                    p->n, p->n < p->N ? " (the others missing)" : "", (long long)s->L.count,
                    (long long)cnt.done, (long long)cnt.failed, (long long)cnt.pending, o->output,
                    tls_now() - t0);
    }
    return tls_agree(comm, rc, "");
}

int tls_sweep_merge(MPI_Comm comm, const tls_merge_opts *o) {
    char err[TLS_ERRMSG] = "";
    parts p;
    memset(&p, 0, sizeof(p));
    tls_setup s;
    memset(&s, 0, sizeof(s));
    int rc = tls_agree(comm, open_parts(&p, o, &s, comm, err), err);
    if (rc == TLS_OK) rc = write_merged(comm, &p, &s, o);
    parts_free(&p);
    tls_setup_free(&s);
    return tls_exit_of(rc);
}

/* Rank 0: the manifest and configuration of the sweep writing sweep_output. */
static int snapshot_state(const char *sweep_output, const char *dir, tls_manifest *man, char **text,
                          char *err) {
    char mpath[4300];
    struct stat st;
    snprintf(mpath, sizeof(mpath), "%s/manifest", dir);
    if (stat(mpath, &st) != 0)
        return tls_input_error(err, "snapshot", sweep_output,
                               "no running or interrupted sweep (%s has no manifest); allowed: "
                               "the -o of a sweep that runs or was interrupted (a finished "
                               "results file is complete already)",
                               dir);
    TLS_TRY(tls_manifest_read(dir, man, err));
    if (!(*text = tls_state_config(dir)))
        return tls_input_error(err, dir, "config.yaml",
                               "missing, or not a regular file; allowed: a sweep's state");
    return TLS_OK;
}

/* Collective: rank 0's manifest on every rank, field by field. */
static void bcast_manifest(MPI_Comm comm, tls_manifest *m) {
    m->version = tls_bcast_int(comm, m->version);
    m->sweep_id = tls_bcast_u64(comm, m->sweep_id);
    m->config_hash = tls_bcast_u64(comm, m->config_hash);
    m->data_crc[0] = (uint32_t)tls_bcast_i64(comm, m->data_crc[0]);
    m->data_crc[1] = (uint32_t)tls_bcast_i64(comm, m->data_crc[1]);
    m->grid_size = tls_bcast_i64(comm, m->grid_size);
    m->part.k = tls_bcast_int(comm, m->part.k);
    m->part.n = tls_bcast_int(comm, m->part.n);
    tls_bcast_strings(comm, m->started, 1, (int)sizeof(m->started));
}

/* TLS_OK when dest lies neither in the sweep's state directory `dir` (or
 * below it: deleted with it when the sweep completes) nor at the sweep's
 * own output; one line in err otherwise. */
static int snapshot_dest_check(const char *sweep_output, const char *dir, const char *dest,
                               char *err) {
    char odir[4200], base[4200], sdir[4200], sbase[4200];
    char real_o[PATH_MAX], real_state[PATH_MAX], real_s[PATH_MAX];
    tls_split_path(dest, odir, sizeof(odir), base, sizeof(base));
    tls_split_path(sweep_output, sdir, sizeof(sdir), sbase, sizeof(sbase));
    if (!realpath(odir, real_o)) return TLS_OK; /* tls_output_check says why */
    size_t n = realpath(dir, real_state) ? strlen(real_state) : 0;
    if (n && !strncmp(real_o, real_state, n) && (real_o[n] == '\0' || real_o[n] == '/'))
        return tls_input_error(err, "-o", dest,
                               "inside the sweep's state directory %s, which is deleted when "
                               "the sweep completes; allowed: a file outside it",
                               dir);
    if (realpath(sdir, real_s) && !strcmp(real_s, real_o) && !strcmp(base, sbase))
        return tls_input_error(err, "-o", dest,
                               "the sweep's own output, written when it completes; allowed: "
                               "another file");
    return TLS_OK;
}

int tls_sweep_snapshot(MPI_Comm comm, const char *sweep_output, const char *dest, int force) {
    int rank = tls_comm_rank(comm);
    char err[TLS_ERRMSG] = "", dir[4200];
    int rc = tls_state_dir(dir, sizeof(dir), sweep_output, err);
    tls_manifest man;
    memset(&man, 0, sizeof(man));
    char *text = NULL;
    struct stat st;
    if (rc == TLS_OK) rc = tls_output_check(dest, err);
    if (rc == TLS_OK) rc = snapshot_dest_check(sweep_output, dir, dest, err);
    if (rc == TLS_OK && stat(dest, &st) == 0 && !force)
        rc = tls_input_error(err, "-o", dest,
                             "already exists; allowed: another -o, or --force to replace it");
    if (rc == TLS_OK && rank == 0) rc = snapshot_state(sweep_output, dir, &man, &text, err);
    rc = tls_agree(comm, rc, err);
    if (rc) {
        free(text);
        return tls_exit_of(rc);
    }
    bcast_manifest(comm, &man);
    text = tls_bcast_text(comm, text);
    tls_setup s;
    rc = tls_setup_load(&s, "(the sweep's stored configuration)", text, NULL, 0, man.part, rank,
                        err);
    free(text);
    rc = tls_agree(comm, rc, err);
    tls_runs runs = {0, NULL}, mine = {0, NULL};
    if (rc == TLS_OK) {
        if (rank == 0) tls_state_runs_read(dir, &mine);
        tls_runs_bcast(comm, &mine, &runs);
        tls_runs_free(&mine);
        char odir[4200], base[4200], tmp[300];
        tls_split_path(dest, odir, sizeof(odir), base, sizeof(base));
        tls_collect_temp_name(comm, odir, tmp, sizeof(tmp), base);
        tls_store_counts cnt;
        double tw;
        rc =
            tls_collect_journals(comm, &s, dir, odir, tmp, man.sweep_id, NULL, 0, &runs, &cnt, &tw);
        if (rc == TLS_OK && rank == 0) {
            rc = tls_collect_put_in_place(odir, tmp, dest);
            if (rc == TLS_OK)
                fprintf(stderr,
                        "tlsweep: snapshot of %s: %lld configurations: %lld done, %lld failed, "
                        "%lld pending; wrote %s\n",
                        sweep_output, (long long)s.L.count, (long long)cnt.done,
                        (long long)cnt.failed, (long long)cnt.pending, dest);
        }
        rc = tls_agree(comm, rc, "");
    }
    tls_runs_free(&runs);
    tls_setup_free(&s);
    return tls_exit_of(rc);
}
