/* h5out.h - the results file: one parallel HDF5 file laid out as a labelled
 * cube that xarray (engine="h5netcdf"), pandas, h5py and h5dump open as is.
 *
 * Grid axes shift, lambda, n_target and seed are root datasets made HDF5
 * dimension scales; every scalar metric is a (shift, lambda, n_target, seed)
 * dataset with them attached; curves, confusion matrices and embeddings add
 * their own scales. The layout is documented in docs/FORMAT.md.
 *
 * Collective: create, finish and close must be called by every rank of the
 * communicator with the same arguments. write_record is independent. */
#ifndef TLSWEEP_H5OUT_H
#define TLSWEEP_H5OUT_H

#include "tlsweep/config.h"
#include "tlsweep/journal.h"

#include <mpi.h>

typedef struct tls_h5out tls_h5out;

/* Facts about the run, stored as root attributes. */
typedef struct {
    char started[32];  /* ISO 8601 UTC time of the first run of the sweep */
    char finished[32]; /* ... of the end of this run */
    int nranks;        /* ranks of this run */
    int runs;          /* runs so far (1 + resumes) */
} tls_run_info;

/* MPI-IO hints for the results file from a "key=value,key=value" string
 * (the TLSWEEP_MPIIO_HINTS environment variable: striping_factor,
 * striping_unit, romio_cb_write, cb_nodes, ...). *info is MPI_INFO_NULL for
 * an empty spec; the caller frees it. TLS_ERR_INPUT, with one line on
 * stderr, on a malformed spec (a pair without KEY, =, or VALUE; over 1023
 * characters). */
int tls_h5out_hints(MPI_Info *info, const char *spec);

/* Creates `path` (truncating it) with every dataset preallocated and filled
 * with the pending state (NaN, status 0). Collective. */
int tls_h5out_create(tls_h5out **out, const char *path, MPI_Comm comm, const tls_config *c);

/* Writes one configuration's record: its arrays now, its scalars buffered
 * until finish. Independent: each rank writes the records it owns. */
int tls_h5out_write_record(tls_h5out *h, const tls_record_meta *meta, const tls_result *r);

/* Writes the buffered scalars and the root attributes (done/failed/pending
 * counts are summed over ranks). Collective. */
int tls_h5out_finish(tls_h5out *h, const tls_run_info *info, int64_t *ndone, int64_t *nfailed);

/* Closes the file and frees h. Collective. */
int tls_h5out_close(tls_h5out **h);

/* Reads the root attribute `name` of a tlsweep results file into buf
 * (serial, any rank). Returns 0, or non-zero when path is not a readable
 * tlsweep file (then buf holds why). */
int tls_h5out_read_attr(const char *path, const char *name, char *buf, size_t len);

/* What `tlsweep status` shows of a finished file (serial, any rank). */
typedef struct {
    int64_t n;      /* configurations */
    int8_t *status; /* (n) TLS_STATUS_* */
    char *reasons;  /* (n, reason_len) */
    size_t reason_len;
    double *axis[TLS_NAXES]; /* grid axes */
    int axis_n[TLS_NAXES];
} tls_h5status;

/* Reads status, reasons and axes of a tlsweep results file into *st
 * (caller frees with tls_h5status_free). Returns 0 or TLS_ERR_IO. */
int tls_h5out_read_status(const char *path, tls_h5status *st);
void tls_h5status_free(tls_h5status *st);

#endif
