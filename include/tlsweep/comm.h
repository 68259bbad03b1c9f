/* comm.h - collectives on a communicator: how the ranks of a command agree.
 *
 * Every step that one rank can fail alone (reading a file, allocating,
 * deciding whether a run may start) ends with tls_agree: every rank learns
 * the outcome of the lowest rank that failed, whose message is printed once,
 * by rank 0, before anyone enters the next collective call. Data goes
 * between ranks as typed values (integers, texts, arrays of a type), never
 * as raw struct bytes.
 *
 * MPI's own failures take one route: the communicators run with
 * MPI_ERRORS_RETURN (tls_comm_init), every call is checked by TLS_MPI, and a
 * failed call ends the job through tls_comm_abort, which prints one line
 * naming the rank, the call and MPI's reason. There is no other MPI_Abort
 * in tlsweep. Every function is collective over the communicator given
 * unless it says otherwise. */
#ifndef TLSWEEP_COMM_H
#define TLSWEEP_COMM_H

#include <mpi.h>
#include <stdint.h>

/* Makes MPI calls on comm return their errors to TLS_MPI (not collective). */
void tls_comm_init(MPI_Comm comm);

/* Ends the job: prints "tlsweep: rank R: WHAT" once from this rank (when
 * what is not NULL) and aborts every rank of comm with exit status
 * `status`. Not collective: any one rank may call it. */
__attribute__((noreturn)) void tls_comm_abort(MPI_Comm comm, int status, const char *what);

/* Aborts through tls_comm_abort when an MPI call fails. */
#define TLS_MPI(comm, call)                                                                        \
    do {                                                                                           \
        int tls_mpi_rc_ = (call);                                                                  \
        if (tls_mpi_rc_ != MPI_SUCCESS) tls_comm_mpi_failed((comm), tls_mpi_rc_, #call);           \
    } while (0)
__attribute__((noreturn)) void tls_comm_mpi_failed(MPI_Comm comm, int code, const char *call);

int tls_comm_rank(MPI_Comm comm); /* not collective */
int tls_comm_size(MPI_Comm comm); /* not collective */

/* The outcome of a step every rank took: 0 when every rank's rc is 0, else
 * the rc of the lowest rank that failed, whose msg (if any) rank 0 prints
 * once as "tlsweep: MSG". */
int tls_agree(MPI_Comm comm, int rc, const char *msg);
/* 1 when ok is non-zero on every rank (a logical and), no message. */
int tls_all_ok(MPI_Comm comm, int ok);

/* Rank 0's value, on every rank. */
int tls_bcast_int(MPI_Comm comm, int v);
int64_t tls_bcast_i64(MPI_Comm comm, int64_t v);
uint64_t tls_bcast_u64(MPI_Comm comm, uint64_t v);
/* Rank 0's text (NULL stays NULL) as a new malloc'ed copy on the other
 * ranks; rank 0 gets its own pointer back. Aborts when out of memory. */
char *tls_bcast_text(MPI_Comm comm, char *text);
/* Rank 0's n x len bytes of fixed-size strings, into buf on every rank. */
void tls_bcast_strings(MPI_Comm comm, char *buf, int n, int len);
/* Every rank's string of len bytes (len including the terminator), into
 * all (nranks x len) on rank 0 (all may be NULL elsewhere). */
void tls_gather_string(MPI_Comm comm, const char *mine, int len, char *all);

#endif
