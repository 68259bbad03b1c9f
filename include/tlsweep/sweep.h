/* sweep.h - the commands that run under MPI: run, merge and snapshot.
 *
 * A short orchestrator: configuration -> grid -> scheduler -> engine ->
 * journal/state -> store. Every rank agrees on every setup step (an error
 * on any rank ends every rank, with that rank's message printed once and
 * the documented exit status; nothing hangs). Collective over the
 * communicator given. Each returns the process exit status (TLS_EXIT_*, check.h). */
#ifndef TLSWEEP_SWEEP_H
#define TLSWEEP_SWEEP_H

#include "tlsweep/check.h"
#include "tlsweep/grid.h"

#include <mpi.h>

typedef struct {
    const char *config_path; /* YAML file, or NULL: the built-in default (or, with --resume, the
                                stored one) */
    const char *const *sets; /* --set KEY=VALUE overrides */
    int nsets;
    const char *output;      /* results file */
    tls_part part;           /* --part K/N; {1, 1} for the whole grid */
    int force;               /* replace an existing output; skip the disk estimate */
    int resume;              /* continue an interrupted sweep */
    int retry_failed;        /* with resume: recompute failed configurations too */
    int dry_run;             /* print grid size, layout and time estimate; write nothing */
    double drain_seconds;    /* after a signal, how long in-flight work may take, s */
    double time_limit;       /* wall-clock budget of this run, s (0: none) */
    double progress_seconds; /* progress line interval when stderr is not a terminal, s */
    int batch;               /* configurations handed out per request */
    const char *command;     /* this run's command line, for provenance */
    const char *program;     /* argv[0] as given (shell-quoted): the commands messages suggest
                                start with it, so that they paste from any directory */
} tls_run_opts;

int tls_sweep_run(MPI_Comm comm, const tls_run_opts *o);

typedef struct {
    const char *const *parts; /* part files */
    int nparts;
    const char *output;
    int allow_partial; /* merge incomplete parts, their pending entries as fill values */
    int force;         /* replace an existing output */
    const char *command;
    const char *program; /* argv[0] as given (shell-quoted), for the commands messages suggest */
} tls_merge_opts;

int tls_sweep_merge(MPI_Comm comm, const tls_merge_opts *o);

/* Writes, from a sweep's journals and without disturbing its run, a file
 * with exactly the final layout (pending entries as fill values). */
int tls_sweep_snapshot(MPI_Comm comm, const char *sweep_output, const char *dest, int force);

#endif
