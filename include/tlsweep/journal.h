/* journal.h - the durable record of completed configurations.
 *
 * While a sweep runs, every rank appends each finished configuration to its
 * own journal file in the sweep's state directory (state.h), as one record
 * written with one write(): a 40-byte header (magic "TLSR", format version
 * 2, the sweep's 64-bit identity, the grid index, the payload length, a
 * CRC-32 of header and payload) and a payload (tls_record_meta, the
 * tls_scalars, the result's arrays). Files are fdatasync'ed at most every
 * sync_seconds.
 *
 * Readers trust nothing: a record whose magic, version, length, index (0 <=
 * index < grid size), CRC or fields are wrong is skipped, and reading goes
 * on at the next valid record (resynchronising on the magic), so one
 * flipped byte loses one record. Records of another sweep (a journal
 * copied in) are refused and counted. A later record of an index
 * supersedes an earlier one (files in name order, records in file order).
 * Not collective: each rank owns its files. No MPI. */
#ifndef TLSWEEP_JOURNAL_H
#define TLSWEEP_JOURNAL_H

#include "tlsweep/engine.h"

#include <stdint.h>
#include <stdio.h>

/* A record's format: the layout of tls_record_meta, tls_scalars and the
 * arrays (result.h), whose size is checked at compile time there. */
enum { TLS_JOURNAL_VERSION = TLS_RESULT_LAYOUT };

/* The bytes of a result's arrays that a journal keeps: all of them, or,
 * without embeddings, the ones before the embeddings (confusion and curves). */
size_t tls_journal_array_bytes(const tls_result *r, int embeddings);

typedef struct tls_journal tls_journal;

/* Opens (creating, appending) the journal file at path. */
int tls_journal_open(tls_journal **out, const char *path, uint64_t sweep_id, size_t array_bytes,
                     double sync_seconds);
/* Appends one record; its offset in the file goes to *offset (may be NULL).
 * TLS_ERR_IO when the record cannot be written or synced, printing nothing
 * (tls_journal_error says what); after a failure every later append fails
 * too. */
int tls_journal_append(tls_journal *j, const tls_record_meta *meta, const tls_result *r,
                       int64_t *offset);
/* TLS_ERR_IO when the journal's file is no longer in the file system (its
 * directory or the file was deleted); prints nothing. */
int tls_journal_check(const tls_journal *j);
/* Writes what this journal holds to a new file at path (after its own file
 * was deleted) and goes on appending there. */
int tls_journal_salvage(tls_journal *j, const char *path);
/* What made j fail, in one line ("cannot append to FILE: cause"); "" when
 * nothing did (or j is NULL). Owned by j. */
const char *tls_journal_error(const tls_journal *j);
/* Syncs to disk and closes. TLS_ERR_IO when that fails (said on stderr) or
 * j had failed before (said by tls_journal_error, not again). */
int tls_journal_close(tls_journal **j);

/* ---- reading ---- */

typedef struct {
    int64_t records; /* intact records of this sweep */
    int64_t damaged; /* stretches of bytes skipped as damaged */
    int64_t foreign; /* intact records of another sweep, refused */
} tls_journal_stats;

typedef struct tls_journal_reader tls_journal_reader;

/* Opens the journal files paths[0 .. npaths) -- in the order in which
 * their records supersede each other: state.h lists a sweep's -- for
 * reading records of sweep `sweep_id` on a grid of grid_size with
 * array_bytes of arrays (TLS_JOURNAL_SCALARS_ONLY: any, and only meta and
 * scalars are read: what `status` needs without the data files). A file
 * that cannot be opened, or is not a regular file, is an error. Returns 0
 * or TLS_ERR_IO / TLS_ERR_NOMEM with a message on stderr. */
#define TLS_JOURNAL_SCALARS_ONLY ((size_t)-1)
int tls_journal_reader_open(tls_journal_reader **out, const char *const *paths, int npaths,
                            uint64_t sweep_id, int64_t grid_size, size_t array_bytes);
int tls_journal_reader_nfiles(const tls_journal_reader *rd);
const char *tls_journal_reader_path(const tls_journal_reader *rd, int file);
void tls_journal_reader_close(tls_journal_reader **rd);

/* Calls fn for every intact record in file order, then record order. r
 * (created for the sweep's shapes) is filled in place and valid only
 * during the call; fn returns non-zero to stop. Returns 0 or TLS_ERR_IO. */
typedef int (*tls_journal_fn)(void *ctx, int file, int64_t offset, const tls_record_meta *meta,
                              const tls_result *r);
int tls_journal_scan(tls_journal_reader *rd, tls_result *r, tls_journal_fn fn, void *ctx,
                     tls_journal_stats *stats);
/* Reads the record at (file, offset), checking it as a scan does. Returns
 * 0, or TLS_ERR_IO when it is not an intact record of this sweep. */
int tls_journal_read_at(tls_journal_reader *rd, int file, int64_t offset, tls_record_meta *meta,
                        tls_result *r);

#endif
