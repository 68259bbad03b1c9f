/* journal.h - the durable record of completed configurations.
 *
 * While a sweep runs, its state lives in a directory beside the results
 * file (OUT.tlsweep.d/): a manifest (the effective configuration and its
 * hash) and one append-only journal file per rank and run. Every finished
 * configuration is appended as one record (header + CRC-32 of the payload),
 * and the file is fdatasync'ed at most every sync_seconds. A record cut short
 * by a kill fails its length or CRC check and is ignored by readers, so
 * after SIGKILL at any instant the journals hold every configuration
 * completed up to the last sync. The HDF5 file is written from the journals
 * at the end of a run (to a temporary name, then renamed), so it is never
 * the only copy of a result. Not collective: each rank owns its files. */
#ifndef TLSWEEP_JOURNAL_H
#define TLSWEEP_JOURNAL_H

#include "tlsweep/engine.h"

#include <stdint.h>
#include <stdio.h>

enum { TLS_HOST_LEN = 64 };

/* Who computed a record and how long it took. */
typedef struct {
    int64_t index;           /* linear grid index */
    int32_t rank;            /* MPI rank that computed it */
    double seconds;          /* wall time of the whole configuration, s */
    char host[TLS_HOST_LEN]; /* host name of that rank */
} tls_record_meta;

typedef struct tls_journal tls_journal;

/* Opens (creating) dir/journal-RUN-RANK.bin for appending. */
int tls_journal_open(tls_journal **out, const char *dir, int run, int rank, double sync_seconds);
/* Appends one record: meta, the scalars and the result's array block. */
int tls_journal_append(tls_journal *j, const tls_record_meta *meta, const tls_result *r);
/* Syncs to disk and closes. */
int tls_journal_close(tls_journal **j);

/* Calls fn for every intact record of every journal file in dir, in file
 * name order (= run order, then rank), then record order; `file` is the
 * file's position in that order, so a later record of the same index
 * supersedes an earlier one. r is filled in place (sized for the same
 * parameters) and is valid only during the call. Returns the number of
 * records visited, or -1 with a message on stderr when dir cannot be read.
 * Reading stops at a file's first damaged record (a write cut by a kill). */
typedef int (*tls_journal_fn)(void *ctx, int file, const tls_record_meta *meta,
                              const tls_result *r);
int64_t tls_journal_scan(const char *dir, tls_result *r, tls_journal_fn fn, void *ctx);

/* Same, for the journal files numbered `part` mod `nparts` in name order:
 * how the ranks share out the writing of the results file. */
int64_t tls_journal_scan_part(const char *dir, int part, int nparts, tls_result *r,
                              tls_journal_fn fn, void *ctx);

/* The largest run number among dir's journal files (0 when none). */
int tls_journal_last_run(const char *dir);

#endif
