/* sweep.c - `tlsweep run`: the run of a sweep as five phases, each ending
 * with every rank agreeing on its outcome:
 *   setup     the configuration, data files and layout, on every rank
 *   prepare   rank 0 decides whether the run may start and what is left
 *   compute   the scheduler hands out configurations; records go to journals
 *   collect   the journals become the results file, under a temporary name
 *   commit    the file is put in place, the state removed or kept, the exit
 *             status decided. */
#include "tlsweep/sweep.h"

#include "tlsweep/check.h"
#include "tlsweep/collect.h"
#include "tlsweep/comm.h"
#include "tlsweep/plan.h"
#include "tlsweep/progress.h"
#include "tlsweep/provenance.h"
#include "tlsweep/resume.h"
#include "tlsweep/runmsg.h"
#include "tlsweep/runrec.h"
#include "tlsweep/sched.h"
#include "tlsweep/signals.h"
#include "tlsweep/slurm.h"
#include "tlsweep/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    MPI_Comm comm;
    int rank, nranks;
    const tls_run_opts *o;
    tls_setup s;
    char *yaml;        /* the effective configuration */
    tls_resume x;      /* rank 0's plan */
    tls_seqplan *seq;  /* rank 0, in the decide modes: the cells' plan */
    uint64_t sweep_id; /* every rank: the sweep's identity */
    int run_no;        /* ... this run's number */
    char *dir;         /* ... the state directory */
    tls_run_rec me;    /* this run's record */
    tls_progress prog; /* rank 0 */
    tls_sched_result sr;
    double mem_after_compute; /* rank 0's peak memory after the compute phase, MiB */
    int lost;                 /* the state directory was deleted while the run went on */
    int exit_code;
} run_ctx;

/* ---- setup ----------------------------------------------------------------------- */

/* Collective: every rank read the same data files as rank 0 (their CRC-32):
 * a stale node-local copy at the same path would compute some configurations
 * on other data. */
static int same_data(run_ctx *u, char *err) {
    const tls_data_files *f = &u->s.files;
    uint64_t mine = f->source ? ((uint64_t)f->source->crc32 << 32) | f->target->crc32 : 0;
    uint64_t first = tls_bcast_u64(u->comm, mine);
    int rc = TLS_OK;
    if (mine != first) {
        int src = (uint32_t)(mine >> 32) != (uint32_t)(first >> 32);
        char host[TLS_HOST_LEN];
        tls_hostname(host, sizeof(host));
        rc = tls_input_error(err, src ? u->s.c->data_source : u->s.c->data_target,
                             src ? "data.source" : "data.target",
                             "rank %d on %s reads it with CRC-32 %08x, rank 0 with %08x: the data "
                             "differs between ranks (a stale node-local copy?); nothing was "
                             "computed; allowed: the same file on every node",
                             u->rank, host, (unsigned)(src ? mine >> 32 : mine & 0xffffffffu),
                             (unsigned)(src ? first >> 32 : first & 0xffffffffu));
    }
    return tls_agree(u->comm, rc, err);
}

static int setup(run_ctx *u, char *err) {
    const tls_run_opts *o = u->o;
    char *stored = NULL;
    if (o->resume && !o->config_path && o->nsets == 0) {
        if (u->rank == 0) stored = tls_resume_stored_config(o->output);
        stored = tls_bcast_text(u->comm, stored);
    }
    int rc = tls_setup_load(&u->s, stored ? "(the sweep's stored configuration)" : o->config_path,
                            stored, o->sets, o->nsets, o->part, u->rank, err);
    free(stored);
    TLS_TRY(tls_agree(u->comm, rc, err));
    char notes[4096];
    if (u->rank == 0 && tls_grid_fixed_notes(u->s.c, notes, sizeof(notes))) fputs(notes, stderr);
    TLS_TRY(same_data(u, err));
    if (o->dry_run) return TLS_OK;
    u->yaml = tls_config_yaml(u->s.c);
    if (!u->yaml) rc = TLS_ERR_NOMEM, snprintf(err, TLS_ERRMSG, "rank %d: out of memory", u->rank);
    return tls_agree(u->comm, rc, err);
}

/* ---- prepare --------------------------------------------------------------------- */

/* Rank 0 prepares the state and the work; every rank learns the outcome
 * and the sweep's identity, run number and state directory. */
static int prepare(run_ctx *u, char *err) {
    int rc = u->rank == 0 ? tls_resume_prepare(&u->x, u->o, &u->s, u->yaml, err) : TLS_OK;
    if (rc == TLS_OK && u->rank == 0 && !u->x.nothing_to_do &&
        u->s.c->decide.mode != TLS_MODE_GRID && tls_seqplan_create(&u->seq, &u->s, &u->x) != TLS_OK)
        rc = TLS_ERR_NOMEM, snprintf(err, TLS_ERRMSG, "rank 0: out of memory for the cells' plan");
    TLS_TRY(tls_agree(u->comm, rc, err));
    if (tls_bcast_int(u->comm, u->x.nothing_to_do)) return TLS_OK;
    u->sweep_id = tls_bcast_u64(u->comm, u->x.man.sweep_id);
    u->run_no = tls_bcast_int(u->comm, u->x.run_no);
    u->dir = tls_bcast_text(u->comm, u->rank == 0 ? strdup(u->x.state.dir) : NULL);
    tls_run_rec_init(&u->me, u->comm, u->o->command);
    if (u->rank == 0) rc = tls_state_run_write(&u->x.state, u->run_no, &u->me.run);
    return tls_agree(u->comm, rc, "cannot record the run in the sweep state");
}

/* ---- compute --------------------------------------------------------------------- */

static void seq_counts(const void *ctx, int64_t *n, int64_t *stopped, int64_t *grid) {
    tls_seqplan_counts(ctx, n, stopped, grid);
}

/* Rank 0: what the run says before it computes; the time it may take. */
static double announce(run_ctx *u) {
    const tls_run_opts *o = u->o;
    double time_limit = o->time_limit;
    double slurm_left = o->time_limit > 0 ? 0 : tls_slurm_time_left();
    if (slurm_left > 0) {
        char left[32];
        tls_format_duration(left, sizeof(left), slurm_left);
        fprintf(stderr,
                "tlsweep: Slurm job %s has %s left: no configuration will start that cannot "
                "finish in it\n",
                u->me.slurm, left);
        time_limit = slurm_left;
    }
    int64_t n = -1, stopped = 0, grid = 0;
    if (u->seq) tls_seqplan_counts(u->seq, &n, &stopped, &grid);
    tls_runmsg_opening(o, u->nranks, n, stopped, grid, u->x.already, u->x.nwork, u->s.L.count);
    tls_progress_init(&u->prog, o->progress_seconds, u->s.L.count, u->x.already);
    if (u->seq) u->prog.cells = seq_counts, u->prog.cells_ctx = u->seq;
    return time_limit;
}

/* The state directory (or a journal) was deleted while the run went on:
 * keep what can be kept (rank 0 makes a new state; every rank's journal is
 * saved again). */
static int recover(run_ctx *u, tls_worker *cx, const char *jpath) {
    char err[TLS_ERRMSG] = "";
    int rc = TLS_OK;
    if (u->rank == 0) {
        fprintf(stderr,
                "tlsweep: the sweep state %s was deleted while the sweep ran; saving this "
                "run's results again and taking over those of %s\n",
                u->dir, u->o->output);
        rc = tls_resume_recover(&u->x, u->o, &u->s, u->yaml, u->run_no, &u->me.run, err);
    }
    rc = tls_agree(u->comm, rc, err);
    if (rc == TLS_OK && tls_journal_check(cx->journal) != TLS_OK)
        rc = tls_journal_salvage(cx->journal, jpath);
    return tls_agree(u->comm, rc, "cannot save this run's results again");
}

static int compute(run_ctx *u, char *err) {
    tls_worker cx = {&u->s, u->s.r, NULL, u->rank, ""};
    tls_hostname(cx.host, sizeof(cx.host));
    char jpath[4400];
    tls_state_journal_path(u->dir, u->run_no, u->rank, jpath, sizeof(jpath));
    int rc =
        tls_journal_open(&cx.journal, jpath, u->sweep_id,
                         tls_journal_array_bytes(u->s.r, u->s.c->embeddings), u->s.c->sync_seconds);
    snprintf(err, TLS_ERRMSG, "rank %d: cannot open its journal in %.900s", u->rank, u->dir);
    TLS_TRY(tls_agree(u->comm, rc, err));
    double time_limit = u->rank == 0 ? announce(u) : u->o->time_limit;
    tls_signals_install(); /* again: MPI_Init may have replaced them */
    tls_sched_opts so = {{NULL, NULL, NULL},
                         u->o->batch,
                         time_limit,
                         u->o->drain_seconds,
                         u->rank == 0 ? &u->prog : NULL};
    if (u->rank == 0 && u->seq)
        tls_seqplan_plan(u->seq, &so.plan);
    else if (u->rank == 0)
        tls_resume_plan(&u->x, &so.plan);
    int crc = tls_sched_run(u->comm, &so, tls_worker_compute, &cx, &u->sr);
    u->mem_after_compute = tls_peak_rss_mib();
    u->lost = !tls_all_ok(u->comm, crc != TLS_ERR_STATE);
    if (u->lost) crc = recover(u, &cx, jpath);
    const char *jerr = tls_journal_error(cx.journal);
    if (jerr[0]) /* a write error: one line naming rank, host, file and cause */
        snprintf(err, TLS_ERRMSG, "rank %d on %s: %.900s; the sweep is resumable (--resume)",
                 u->rank, cx.host, jerr);
    else
        snprintf(err, TLS_ERRMSG, "rank %d: cannot continue (code %d); the sweep is resumable",
                 u->rank, crc);
    int jrc = tls_journal_close(&cx.journal);
    crc = crc ? crc : jrc;
    rc = tls_agree(u->comm, crc, err);
    return u->lost ? TLS_OK : rc;
}

/* ---- collect --------------------------------------------------------------------- */

/* The results file from the journals, as partial.h5 in the state directory. */
static int collect(run_ctx *u, tls_store_counts *cnt, double *tw) {
    tls_run_rec_finish(&u->me, "");
    tls_runs all = {0, NULL};
    if (u->rank == 0) {
        tls_runs_free(&u->x.runs);
        if (tls_state_runs_read(u->dir, &u->x.runs) != TLS_OK) u->x.runs.n = 0;
        /* this run, finished now */
        if (u->run_no <= u->x.runs.n) {
            free(u->x.runs.run[u->run_no - 1].field[1]);
            u->x.runs.run[u->run_no - 1].field[1] = strdup(u->me.finished);
        }
    }
    tls_runs_bcast(u->comm, &u->x.runs, &all);
    int rc =
        tls_collect_journals(u->comm, &u->s, u->dir, u->dir, "partial.h5", u->sweep_id,
                             u->lost ? NULL : &u->x.map, u->x.nfiles + u->nranks, &all, cnt, tw);
    tls_runs_free(&all);
    if (rc && u->rank == 0) {
        char hint[4400];
        tls_runmsg_resume_hint(hint, sizeof(hint), u->o, u->nranks);
        fprintf(stderr,
                "tlsweep: the results file was not written; the journals are intact: "
                "free space or fix the cause, then: %s\n",
                hint);
    }
    return rc;
}

/* ---- commit ---------------------------------------------------------------------- */

/* Rank 0: durable -- the new file's data, the rename -- then the state goes
 * (or stays, for a resume); what happened, said once. */
static int commit(run_ctx *u, const tls_store_counts *cnt, double tw) {
    const tls_run_opts *o = u->o;
    char partial[4400], hint[4400];
    snprintf(partial, sizeof(partial), "%s/partial.h5", u->dir);
    if (tls_fsync_path(partial) != TLS_OK || rename(partial, o->output) != 0 ||
        tls_fsync_parent(o->output) != TLS_OK) {
        tls_runmsg_resume_hint(hint, sizeof(hint), o, u->nranks);
        fprintf(stderr, "tlsweep: cannot move %s to %s: %s; the sweep is resumable: %s\n", partial,
                o->output, strerror(errno), hint);
        return TLS_EXIT_FAILURE;
    }
    int code = tls_runmsg_closing(o, u->nranks, u->s.L.count, cnt, &u->sr, u->seq != NULL, u->lost,
                                  tls_now() - u->prog.t0, tw);
    snprintf(u->me.exit_status, sizeof(u->me.exit_status), "%d", code);
    if (code != TLS_EXIT_RESUMABLE) {
        if (tls_state_remove(&u->x.state) != TLS_OK)
            fprintf(stderr, "tlsweep: the state %s is left behind: remove it\n", u->dir);
    } else {
        tls_state_run_write(&u->x.state, u->run_no, &u->me.run);
    }
    return code;
}

/* ---- the run --------------------------------------------------------------------- */

int tls_sweep_run(MPI_Comm comm, const tls_run_opts *o) {
    run_ctx u;
    memset(&u, 0, sizeof(u));
    u.comm = comm, u.o = o, u.rank = tls_comm_rank(comm), u.nranks = tls_comm_size(comm);
    u.x.state.lock_fd = -1;
    u.exit_code = TLS_EXIT_FAILURE;
    char err[TLS_ERRMSG] = "";
    if (tls_run_tie_to_launcher(comm) != TLS_OK) return TLS_EXIT_FAILURE;
    int rc = setup(&u, err);
    if (rc == TLS_OK && o->dry_run) {
        if (u.rank == 0) tls_setup_dry_run(&u.s, u.nranks);
        u.exit_code = TLS_EXIT_OK;
    } else if (rc == TLS_OK && (rc = prepare(&u, err)) == TLS_OK && !u.dir) {
        u.exit_code = TLS_EXIT_OK; /* complete already */
    } else if (rc == TLS_OK && (rc = compute(&u, err)) == TLS_OK) {
        tls_store_counts cnt;
        double tw = 0;
        if (collect(&u, &cnt, &tw) == TLS_OK && u.rank == 0) u.exit_code = commit(&u, &cnt, tw);
        u.exit_code = tls_bcast_int(comm, u.exit_code);
        if (u.rank == 0 && getenv("TLSWEEP_REPORT_MEMORY"))
            fprintf(stderr,
                    "tlsweep: rank 0 peak memory %.1f MiB (after the compute phase %.1f MiB)\n",
                    tls_peak_rss_mib(), u.mem_after_compute);
    }
    if (rc) u.exit_code = tls_exit_of(rc);
    tls_seqplan_destroy(&u.seq);
    tls_resume_free(&u.x);
    free(u.dir);
    free(u.yaml);
    tls_setup_free(&u.s);
    return u.exit_code;
}
