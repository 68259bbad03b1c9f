/* runmsg.h - what `tlsweep run` says on rank 0: the line it starts with, the
 * lines it ends with, the command that resumes it, and its exit status.
 * Said once, on stderr. */
#ifndef TLSWEEP_RUNMSG_H
#define TLSWEEP_RUNMSG_H

#include "tlsweep/sched.h"
#include "tlsweep/store.h"
#include "tlsweep/sweep.h"

#include <stddef.h>
#include <stdint.h>

/* What the run is about to do. cells/stopped: the decide modes' cells (the boundary map: those
 * it asks for first) and those already decided or spent (cells < 0: a plain grid); grid: the
 * part's cells; already/nwork: configurations recorded before this run and left to compute;
 * count: the configurations of this part. */
void tls_runmsg_opening(const tls_run_opts *o, int nranks, int64_t cells, int64_t stopped,
                        int64_t grid, int64_t already, int64_t nwork, int64_t count);

/* The command that resumes this sweep, into buf: TLSWEEP_RESUME_WITH's
 * launcher, else mpirun with this run's ranks, else the program alone (the
 * part, for a part). */
void tls_runmsg_resume_hint(char *buf, size_t len, const tls_run_opts *o, int nranks);

/* The run's end, once its file is in place: the counts, the time, the
 * share spent deciding (decide modes), where the failed are listed, and
 * why it stopped early; returns the exit status (TLS_EXIT_OK, _RESUMABLE
 * when configurations are pending or the state directory was lost,
 * _ALL_FAILED). elapsed/write_seconds: the run's and the file's wall time, s. */
int tls_runmsg_closing(const tls_run_opts *o, int nranks, int64_t count,
                       const tls_store_counts *cnt, const tls_sched_result *sr, int decide_mode,
                       int lost, double elapsed, double write_seconds);

#endif
