/* sched.h - hands configurations to ranks: the only point-to-point MPI.
 *
 * Rank 0 is the coordinator: its main thread serves requests while a
 * second thread computes like any other rank (MPI_THREAD_FUNNELED: only
 * the main thread calls MPI). The protocol, on the communicator given:
 *
 *   worker -> 0   TLS_TAG_ASK   tls_msg_ask: what it finished since its last
 *                               ask (done, failed, longest seconds, and where
 *                               each record is in its journal) and flags
 *                               (signalled, error); asks for work
 *   0 -> worker   TLS_TAG_WORK  tls_msg_work: up to `batch` grid indices;
 *                               n = 0 means no more: the worker leaves.
 *                               While the plan has nothing now but may have
 *                               more later, the answer waits (the worker
 *                               blocks in its receive).
 *
 * Every worker's last message is an ASK answered with n = 0, so nothing is
 * left in flight. The coordinator stops handing out work on a signal
 * (tls_signals_received), at the time limit (it starts nothing that cannot
 * finish, judged by the longest configuration so far plus a reserve for
 * writing the results), or when any rank reports an error; after a signal
 * it waits at most drain_seconds for configurations in flight, then aborts
 * the job with status 75 (the journals stay consistent). Collective over
 * the communicator. */
#ifndef TLSWEEP_SCHED_H
#define TLSWEEP_SCHED_H

/* Seconds of a time limit kept for writing the results file. */
#define TLS_SCHED_RESERVE_SECONDS 5.0

#include "tlsweep/progress.h"
#include "tlsweep/result.h"

#include <mpi.h>
#include <stdint.h>

enum { TLS_TAG_ASK = 21, TLS_TAG_WORK = 22 };
enum { TLS_ASK_SIGNALLED = 1, TLS_ASK_ERROR = 2 };

enum { TLS_WORK_MAX = 4096 };

/* A finished configuration: where its record is, and what a plan decides by. */
typedef struct {
    int64_t index;  /* grid index */
    int64_t offset; /* in the rank's journal of this run */
    int32_t status; /* TLS_STATUS_DONE or FAILED */
    int32_t reserved;
    double acc[TLS_NMETHODS]; /* its accuracies (NaN: not computed) */
} tls_msg_rec;

typedef struct {
    int32_t flags;      /* TLS_ASK_* */
    int32_t error;      /* the error code when TLS_ASK_ERROR */
    int64_t done;       /* configurations finished since the last ask, done */
    int64_t failed;     /* ... failed */
    double max_seconds; /* the longest of them, s */
    int32_t nrec;       /* records that follow */
    int32_t reserved;
    tls_msg_rec rec[TLS_WORK_MAX];
} tls_msg_ask;

typedef struct {
    int32_t n; /* indices that follow; 0: no more work */
    int32_t reserved;
    int64_t idx[TLS_WORK_MAX];
} tls_msg_work;

/* Computes configuration idx and records it; returns 0 (with rec filled:
 * the configuration's status, TLS_STATUS_DONE or FAILED, its accuracies,
 * its record's offset in the rank's journal, and its seconds) or an error
 * code that stops this rank. Called on rank 0's compute thread and on the
 * other ranks' main threads. */
typedef int (*tls_compute_fn)(void *ctx, int64_t idx, tls_msg_rec *rec, double *seconds);

/* What to compute (rank 0): a plan hands out grid indices and is told of
 * every finished record of the run, rank 0's own included. Its functions
 * are called one at a time (under the coordinator's lock). A plan whose
 * next work depends on results (sequential decisions, boundary maps)
 * returns 0 with *more = 1 while records in flight may bring more: the
 * asking rank then waits, and asks again when a record arrives. */
typedef struct {
    /* Up to max grid indices into out; how many. 0 and *more = 0: done.
     * With max = 0 only *more is set: 1 while the plan is not done. */
    int (*next)(void *ctx, int64_t *out, int max, int *more);
    /* A finished record of rank `rank` (may be NULL). */
    void (*record)(void *ctx, int rank, const tls_msg_rec *rec);
    void *ctx;
} tls_plan;

enum { TLS_STOP_NONE = 0, TLS_STOP_SIGNAL = 1, TLS_STOP_TIME = 2, TLS_STOP_ERROR = 3 };

typedef struct {
    tls_plan plan;          /* rank 0: what to compute */
    int batch;              /* indices per message, 1..TLS_WORK_MAX */
    double time_limit;      /* seconds this run may take; 0: none. No configuration
                             * starts unless 1.5 x the longest so far plus
                             * TLS_SCHED_RESERVE_SECONDS are left */
    double drain_seconds;   /* after a signal, how long work in flight may take */
    tls_progress *progress; /* rank 0: shown while serving */
} tls_sched_opts;

typedef struct {
    int64_t done, failed; /* rank 0: finished in this run, all ranks */
    int stop;             /* rank 0: why handing out stopped early (TLS_STOP_*) */
    int error;            /* this rank's own error code, 0 when none */
    double seconds;       /* rank 0: wall time of the compute phase, s */
    double plan_seconds;  /* rank 0: of it, in the plan (what to compute next), s */
} tls_sched_result;

/* Runs the sweep's compute phase. Collective. Returns this rank's error
 * code (0 when it computed everything it was given). */
int tls_sched_run(MPI_Comm comm, const tls_sched_opts *o, tls_compute_fn fn, void *ctx,
                  tls_sched_result *res);

#endif
