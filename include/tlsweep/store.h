/* store.h - the results file: its one writer and its one reader.
 *
 * A netCDF-4 compatible HDF5 file (docs/FORMAT.md) that xarray (every
 * engine), netCDF-C (ncdump), h5py and h5dump open as is. Every variable
 * is one row of a table in store.c; the same table writes and reads.
 *
 * Two layouts. The cube: one dimension per grid axis (shift, lambda,
 * n_target, seed, then the extra axes), ascending for numbers, so that
 * ds.sel(shift=slice(0, 90)) works. The list (a part of a grid, written by
 * `tlsweep run --part K/N`): one dimension `config` whose coordinate is the
 * grid index. Either way every entry of every variable is written exactly
 * once: pending configurations as fill values.
 *
 * Writing is collective: each rank writes a contiguous block of positions
 * (tls_store_block) in rounds of bounded memory, one collective write per
 * variable and round. Per-configuration strings (reason) and string
 * coordinates are variable-length strings, which parallel HDF5 cannot
 * write: rank 0 writes them after the parallel phase. The file is written
 * to the given path (the caller renames it into place). */
#ifndef TLSWEEP_STORE_H
#define TLSWEEP_STORE_H

#include "tlsweep/grid.h"
#include "tlsweep/journal.h"
#include "tlsweep/state.h"

#include <mpi.h>
#include <stdio.h>

/* What a results file holds. */
typedef struct {
    const tls_config *c;
    tls_engine_params env; /* the grid's envelope: the arrays' shapes */
    tls_part part;         /* {1, 1}: the cube; else the list of a part's configurations */
    int64_t count;         /* configurations in the file */
} tls_layout;

void tls_layout_init(tls_layout *L, const tls_config *c, const tls_engine_params *env,
                     tls_part part);
/* The grid index at position pos of the file. */
static inline int64_t tls_layout_index(const tls_layout *L, int64_t pos) {
    return tls_part_index(L->part, pos);
}
/* The block of positions [*lo, *hi) that rank `rank` of `nranks` writes. */
void tls_store_block(int64_t count, int rank, int nranks, int64_t *lo, int64_t *hi);

/* Everything the store records besides the configurations' results: it is
 * handed these, it looks nothing up itself. */
typedef struct {
    const char *config_yaml;               /* tls_config_yaml */
    uint64_t config_hash;                  /* tls_config_hash */
    const char *config_source;             /* the YAML file, or "(built-in default)" */
    const char *data_mode;                 /* what the shift does to which data */
    const char *data_source, *data_target; /* NULL without data files */
    uint32_t data_crc[2];
    const tls_runs *runs;     /* every run of the sweep so far, this one last */
    const char *const *hosts; /* the hosts of the records (the `hosts` coordinate) */
    int nhosts;
    const char
        *versions[12][2]; /* (name, value) pairs: hdf5, mpi, openblas, libsvm, ...; NULL-ended */
    const char *hints;    /* TLSWEEP_MPIIO_HINTS, or NULL */
} tls_store_info;

/* Where the records come from. `prepare` is called with each round's
 * positions [lo, hi) of this rank before `get` asks for them; get fills
 * meta and r (created for the layout's envelope) and sets *have to 0 for a
 * configuration that is pending. */
typedef struct {
    int (*prepare)(void *ctx, int64_t lo, int64_t hi);
    int (*get)(void *ctx, int64_t pos, tls_record_meta *meta, tls_result *r, int *have);
    void *ctx;
    /* the one line that explains get's TLS_ERR_INPUT (a record out of range); may be NULL */
    const char *(*why)(void *ctx);
} tls_record_source;

typedef struct {
    int64_t done, failed, pending; /* configurations, over all ranks */
    int64_t not_needed;            /* decide modes: pending, but their cells stopped before */
} tls_store_counts;

/* MPI-IO hints from "key=value,key=value" (TLSWEEP_MPIIO_HINTS). *info is
 * MPI_INFO_NULL for an empty spec; the caller frees it. TLS_ERR_INPUT with
 * one line in err for a malformed spec. */
int tls_store_hints(MPI_Info *info, const char *spec, char *err);

/* Writes the file at path (truncating it). Collective over comm; every
 * rank passes the same layout and info. On failure every rank returns
 * TLS_ERR_IO, and one line naming the rank, the file and the cause is on
 * stderr; no HDF5 object stays open. */
int tls_store_write(const char *path, MPI_Comm comm, const tls_layout *L,
                    const tls_store_info *info, const tls_record_source *src,
                    tls_store_counts *counts);

/* Bytes of the file per configuration (all variables), for estimates. */
double tls_store_bytes_per_config(const tls_layout *L);
/* Prints the file's layout (variables and their dimensions), for --dry-run. */
void tls_store_print_layout(const tls_layout *L, FILE *f);

/* ---- reading (serial, any process) ---- */

typedef struct tls_store_reader tls_store_reader;

/* The root attributes a results file is read by, parsed and checked once
 * when it is opened: no other module reads an attribute by name. Strings
 * are "" when absent; they live as long as the reader. */
typedef struct {
    const char *config_yaml;               /* the configuration it was written for */
    const char *config_source;             /* the YAML file it came from */
    const char *data_mode;                 /* what the shift does to which data */
    const char *data_source, *data_target; /* "" without data files */
    const char *started;                   /* the sweep's first run's start (ISO 8601) */
    tls_part part;                         /* part K/N of its grid; {1, 1}: the cube */
    uint64_t config_hash;                  /* 16 hex digits in the file */
    uint32_t data_crc[2];                  /* CRC-32 of the data files (0 without) */
    int64_t n_pending;                     /* configurations pending; -1 when not recorded */
} tls_store_meta;

/* Opens a tlsweep results file and reads its metadata. TLS_ERR_INPUT with
 * one line in err when path is not one (not HDF5, no tlsweep attributes,
 * another format) or its metadata is malformed (naming the attribute). */
int tls_store_open(tls_store_reader **out, const char *path, char *err);
void tls_store_close(tls_store_reader **rd);
/* The file's metadata (valid while rd is open). */
const tls_store_meta *tls_store_meta_of(const tls_store_reader *rd);
/* The configuration the file was written for (its config_yaml), loaded
 * and checked against its config_hash: TLS_ERR_INPUT with one line in err
 * when the text does not load or does not hash to config_hash (edited or
 * damaged). path names the file in messages. */
int tls_store_config(tls_store_reader *rd, const char *path, const tls_config **c, char *err);
/* The runs recorded in the file (provenance), appended to runs. */
int tls_store_runs(tls_store_reader *rd, tls_runs *runs);

/* Overwrites the shape parameters of env (classes, epochs, finetune_epochs
 * and, with embeddings, n_source, n_test, features, dim) with the lengths
 * of the file's dimensions: the envelope it was written with, found without
 * its data files. Checked by tls_store_check. */
int tls_store_envelope(tls_store_reader *rd, tls_engine_params *env);

/* Checks that the file has L's layout: every variable present with the
 * shapes, types and coordinates L implies. TLS_ERR_INPUT with one line in
 * err otherwise. Must be called before reading records. */
int tls_store_check(tls_store_reader *rd, const tls_layout *L, char *err);
/* Checks a checked file against what tlsweep recorded of it when writing:
 * the CRC-32 of every variable (its crc32 attribute) and the counts
 * (n_configs, n_done, n_failed, n_pending, complete, n_not_needed) against
 * its status variable. The work is shared by nshares callers: this one
 * (share, 0 <= share < nshares) checks the counts when share is 0 and every
 * nshares-th variable. TLS_ERR_INPUT with one line in err naming the file
 * and what differs; TLS_ERR_IO when it cannot be read. */
int tls_store_verify(tls_store_reader *rd, int share, int nshares, char *err);
/* Reads the statuses (count) and, for failed ones, the reasons into
 * caller-allocated arrays (reasons: count x reason_len bytes, may be NULL). */
int tls_store_read_status(tls_store_reader *rd, int8_t *status, char *reasons, size_t reason_len);
/* Reads acc_<method> of every configuration of a checked file into acc
 * (count x TLS_NMETHODS, caller-allocated). */
int tls_store_read_acc(tls_store_reader *rd, double *acc);
/* The `hosts` coordinate of a checked file; returns its length. */
int tls_store_hosts(tls_store_reader *rd, const char *const **hosts);
/* A record source reading the checked file: positions are the file's. */
void tls_store_source(tls_store_reader *rd, tls_record_source *src);

#endif
