/* store_int.h - the variables of a results file, shared by its writer and
 * its reader (internal to src/store_*.c).
 *
 * The variables of a layout are the table of result fields (result.h),
 * each field once, or once per method or score; positions [lo, hi) of a layout map
 * to row-major boxes of its configuration dimensions. */
#ifndef TLSWEEP_STORE_INT_H
#define TLSWEEP_STORE_INT_H

#include "tlsweep/store.h"

#include <hdf5.h>
#include <pthread.h>

/* One variable of a file: a definition, for one method or score where it
 * has one variable per method or score. */
typedef struct {
    const tls_field *d;
    int inst; /* the method or score (tls_field_var's instance), -1: the field's one variable */
    char name[64];
    char long_name[256];
    int64_t elems; /* values per configuration */
    size_t esize;  /* bytes per value in the file */
} tls_svar;

int tls_layout_is_cube(const tls_layout *L);
/* The length of trailing dimension d (TLS_DIM_*) in layout L. */
int64_t tls_layout_trail(const tls_layout *L, int d);
/* The variables of layout L, in file order, into v (TLS_MAX_VARS); their number. */
int tls_store_vars(const tls_layout *L, tls_svar *v);
/* Where x's values of one configuration are in a record; their element
 * size in memory in *msize (NULL for the host index). */
void *tls_store_field(const tls_svar *x, tls_record_meta *meta, tls_result *r, size_t *msize);
/* The trailing dimensions of field d in L. */
void tls_store_trail_dims(const tls_layout *L, const tls_field *d, hsize_t *trail);
/* Reads or writes positions [lo, hi) of dataset d (nconf configuration dims
 * conf, ntrail trailing dims trail, elems values per configuration) from or
 * to buf. */
herr_t tls_store_var_io(hid_t d, int writing, hid_t mtype, hid_t dxpl, const tls_layout *L,
                        int nconf, const hsize_t *conf, int ntrail, const hsize_t *trail,
                        int64_t elems, int64_t lo, int64_t hi, void *buf);
/* Copies one record into (pack) or out of (unpack) row i of the round
 * buffers buf (one per variable); host: the host index to store, host_out
 * where the stored one goes when unpacking. */
void tls_store_frame_copy(const tls_svar *v, int nvars, unsigned char *const *buf, int64_t i,
                          tls_record_meta *meta, tls_result *r, int32_t host, int32_t *host_out,
                          int pack);

/* ---- the variables' checksums (store_sum.c) ---- */

/* The CRC-32 of the line that names the sweep, the part and variable x
 * (NULL: reason): where a variable's sum starts. */
uint32_t tls_store_sum_begin(uint64_t config_hash, tls_part part, const tls_svar *x);
/* crc continued over n values of esize bytes each, little-endian. */
uint32_t tls_store_sum_bytes(uint32_t crc, const void *values, int64_t n, size_t esize);
/* crc continued over the string s and its terminating zero (NULL: ""). */
uint32_t tls_store_sum_string(uint32_t crc, const char *s);
/* crc[k] continued over `rows` rows of each variable's round buffer buf[k]. */
void tls_store_sum_round(uint32_t *crc, const tls_svar *v, int nvars, unsigned char *const *buf,
                         int64_t rows);
/* A round's sums, computed by a thread of their own while the round is
 * written (the buffers are only read by both). */
typedef struct {
    pthread_t thread;
    int running; /* 1 between a started thread and its wait */
    uint32_t *crc;
    const tls_svar *v;
    int nvars;
    unsigned char *const *buf;
    int64_t rows;
} tls_store_sum_job;
/* tls_store_sum_round(crc, v, nvars, buf, rows) in a thread (here and now
 * when no thread can be started); the arguments must stay valid, and buf
 * unchanged, until tls_store_sum_wait(j). */
void tls_store_sum_start(tls_store_sum_job *j, uint32_t *crc, const tls_svar *v, int nvars,
                         unsigned char *const *buf, int64_t rows);
void tls_store_sum_wait(tls_store_sum_job *j);
/* first continued by n sums of blocks that follow one another: the i-th at
 * part[i * stride], over bytes[i] bytes. */
uint32_t tls_store_sum_combine(uint32_t first, const uint32_t *part, const int64_t *bytes, int n,
                               int stride);
/* crc continued over the values of dataset d -- variable x (NULL: reason)
 * of layout L, nconf configuration dims conf -- read in position order, in
 * rounds of at most 8 MiB. TLS_ERR_IO when a read fails. */
int tls_store_sum_read(hid_t d, const tls_svar *x, const tls_layout *L, int nconf,
                       const hsize_t *conf, uint32_t *crc);

/* ---- the decide modes' cells (store_cells.c) ---- */

#include "tlsweep/cells.h"
#include "h5util.h"

typedef struct {
    int on;        /* a decide mode: the file has cells */
    double *acc;   /* (n, TLS_NMETHODS) this rank's positions' accuracies */
    int8_t *have;  /* (n) whether each has a record */
    int64_t lo, n; /* this rank's block of positions */
    /* rank 0, after tls_store_cells_decide */
    int64_t ncells;              /* the part's cells */
    tls_cell_decision *out;      /* (ncells, ncompare) */
    int8_t *stop;                /* (ncells) TLS_CELL_* */
    int8_t *not_needed;          /* (count) 1: no record and not needed */
    int64_t unneeded;            /* every rank: how many */
    int64_t ebh_kept, ebh_signs; /* rank 0, decide.multiplicity ebh: sign decisions kept, of */
} tls_store_cells;

/* Prepares the notes of this rank's block [lo, hi) (nothing outside the decide modes). */
int tls_store_cells_init(tls_store_cells *x, const tls_layout *L, int64_t lo, int64_t hi);
/* Notes position pos's record r (have: it has one). */
void tls_store_cells_note(tls_store_cells *x, int64_t pos, const tls_result *r, int have);
/* Collective: the notes to rank 0, which replays every cell; every rank
 * learns how many positions are not needed. */
int tls_store_cells_decide(tls_store_cells *x, MPI_Comm comm, const tls_layout *L);
/* Rank 0, in the file it reopened alone: the cell variables, and the status
 * of the positions not needed. */
int tls_store_cells_write(const tls_store_cells *x, hid_t f, const tls_layout *L, tls_h5ctx *e);
void tls_store_cells_free(tls_store_cells *x);

/* Rank 0, in the file it reopened alone, after the cells: every variable's
 * `crc32` attribute, from crc (nranks x nvars: each rank's sums of its
 * block, tls_store_sum_round from 0) and the failures' reasons (fpos
 * ascending); a decide mode's status is read back (rank 0 has set the
 * positions not needed since). */
int tls_store_sum_write(hid_t f, const tls_layout *L, uint64_t config_hash, const tls_svar *v,
                        int nvars, const uint32_t *crc, int nranks, const int64_t *fpos,
                        char (*freason)[112], int64_t nfail, tls_h5ctx *e);

#endif
