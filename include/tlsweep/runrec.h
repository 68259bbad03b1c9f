/* runrec.h - the record of one run of a command (run, merge, snapshot):
 * when it started and ended, its command line, its ranks, the hosts and CPU
 * models they ran on, its Slurm job, its exit status and tlsweep's version.
 * The sweep's state keeps one per run (state.h, runs.txt); results files
 * carry them all (the run_* attributes). Collective where it says so. */
#ifndef TLSWEEP_RUNREC_H
#define TLSWEEP_RUNREC_H

#include "tlsweep/state.h"

#include <mpi.h>

typedef struct {
    char started[32], finished[32], ranks[16], hosts[2048], cpus[1024], slurm[160];
    char exit_status[8], version[160];
    tls_run run; /* views into the fields above and the command line */
} tls_run_rec;

/* Collective: this run's record, started now, not finished; the hosts
 * ("host (n ranks), ...") and CPU models of every rank are complete on
 * rank 0. `command` must outlive the record. */
void tls_run_rec_init(tls_run_rec *r, MPI_Comm comm, const char *command);
/* Marks the run finished now, with an exit status ("" when not known). */
void tls_run_rec_finish(tls_run_rec *r, const char *exit_status);

/* Collective: rank 0's runs, copied field by field into all (empty before)
 * on every rank. */
int tls_runs_bcast(MPI_Comm comm, const tls_runs *mine, tls_runs *all);

/* Not collective: ties this process to its launcher. A rank started by an
 * MPI or Slurm launcher dies with it (an orphaned rank must not go on
 * writing journals that a resumed run also writes); a run started from a
 * shell (nohup, setsid, &) outlives the shell. TLS_ERR_STATE with a line
 * on stderr when the launcher has already ended. */
int tls_run_tie_to_launcher(MPI_Comm comm);

#endif
