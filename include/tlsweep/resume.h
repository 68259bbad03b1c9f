/* resume.h - whether a run may start, and what is left to compute (rank 0).
 *
 * A run starts a sweep afresh (refusing to replace results without
 * --force) or continues one (--resume): then the sweep's state directory,
 * or, without one, the results file is the authority on what is done, and
 * a refused resume names the keys that differ. The plan is the work list,
 * in grid order, and the map of the latest record of every configuration,
 * which rank 0 keeps up to date while the run goes on. Rank 0 only, no
 * collective calls; the caller makes the ranks agree on the outcome. */
#ifndef TLSWEEP_RESUME_H
#define TLSWEEP_RESUME_H

#include "tlsweep/sched.h"
#include "tlsweep/setup.h"
#include "tlsweep/state.h"
#include "tlsweep/sweep.h"

typedef struct {
    tls_state state;    /* the sweep's state directory, locked */
    tls_manifest man;   /* its identity */
    tls_part part;      /* this run's part of the grid */
    int run_no;         /* this run's number (journal-RUN-RANK.bin) */
    int64_t *work;      /* grid indices to compute, ascending */
    int64_t nwork;      /* ... how many */
    int64_t next;       /* the next of work to hand out */
    int64_t already;    /* positions recorded before this run */
    tls_runs runs;      /* every run of the sweep so far */
    int nothing_to_do;  /* the sweep is complete already */
    tls_resume_map map; /* the latest record of every position, kept up to date */
    int nfiles;         /* journal files before this run */
} tls_resume;

/* Decides whether the run of o may start (its output, its state, an
 * existing results file, the same configuration and part, the disk space),
 * takes over a results file's records when the state is gone, reads the
 * journals into x->map and makes the work list, and claims the state.
 * TLS_OK (x->nothing_to_do when the sweep is complete), or an error with one
 * line in err. */
int tls_resume_prepare(tls_resume *x, const tls_run_opts *o, const tls_setup *s, const char *yaml,
                       char *err);
/* The plan of a run that computes its work list in order (sched.h); every
 * record of this run's rank r -- whose journal sorts after every earlier
 * file, as file nfiles + r -- kept in x->map. */
void tls_resume_plan(tls_resume *x, tls_plan *plan);
/* Notes a record of this run's rank `rank` in x->map. */
void tls_resume_note(tls_resume *x, int rank, const tls_msg_rec *rec);
/* The state directory was deleted while the run went on: a new state with
 * the results of o's results file and the runs so far, this run `me` as run
 * number run_no. */
int tls_resume_recover(tls_resume *x, const tls_run_opts *o, const tls_setup *s, const char *yaml,
                       int run_no, const tls_run *me, char *err);
void tls_resume_free(tls_resume *x);

/* The configuration text a --resume without CONFIG and --set uses: the
 * state's copy, else the results file's (malloc'ed; NULL when neither). */
char *tls_resume_stored_config(const char *out);

/* Checks an output path before anything is computed: a file in an existing,
 * writable directory. TLS_ERR_INPUT with one line in err. */
int tls_output_check(const char *out, char *err);
/* The directory and file name of path ("." when none). */
void tls_split_path(const char *path, char *dir, size_t dlen, char *base, size_t blen);

#endif
