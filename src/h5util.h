/* h5util.h - the HDF5 helpers of the store (store_*.c), internal to src/.
 *
 * Every hid_t and herr_t is checked: TLS_H5TRY records the first failure's
 * cause (the system's word for a full disk, else HDF5's innermost
 * description) and jumps to the caller's fail label; variable-length UTF-8
 * strings, as netCDF-C reads them; attributes written and read with their
 * types checked; Open MPI's I/O components' own lines kept off stderr while
 * a file is written. */
#ifndef TLSWEEP_H5UTIL_H
#define TLSWEEP_H5UTIL_H

#include "tlsweep/input.h"
#include "tlsweep/result.h"

#include <hdf5.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    const char *path;
    char msg[TLS_ERRMSG + 64]; /* first failure on this rank */
    _Atomic double failed_at;  /* tls_now() of the first HDF5 failure here, 0 before */
} tls_h5ctx;

/* Checks an hid_t/herr_t; on failure records the cause once and jumps to fail. */
#define TLS_H5TRY(ctx, expr)                                                                       \
    do {                                                                                           \
        if ((expr) < 0) {                                                                          \
            tls_h5_fail((ctx), #expr);                                                             \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* The failure's cause, from HDF5's error stack (then cleared), for one line. */
void tls_h5_cause(char *buf, size_t len);
/* Records call's failure in c (the first one only). */
void tls_h5_fail(tls_h5ctx *c, const char *call);

/* A variable-length UTF-8 string type (caller closes), or a negative id. */
hid_t tls_h5_str_vlen(void);
/* A field type's file type, memory type and fill value (as bytes). */
hid_t tls_h5_file_type(tls_ftype t);
hid_t tls_h5_mem_type(tls_ftype t);
const void *tls_h5_fill_of(tls_ftype t);

/* Attributes of loc, replacing one of the same name: n values (0: a
 * scalar), a string, n strings, an int64. 0 or -1. */
int tls_h5_attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                      const void *v);
int tls_h5_attr_str(hid_t loc, const char *name, const char *value);
int tls_h5_attr_strs(hid_t loc, const char *name, const char *const *values, int n);
int tls_h5_attr_i64(hid_t loc, const char *name, long long v);
/* CF flags of an int8 variable (file type ftype): flag_values from the
 * integers of `values` ("0 1 2", at most 32) and flag_meanings. 0 or -1. */
int tls_h5_attr_flags(hid_t loc, hid_t ftype, const char *values, const char *meanings);
/* A scalar string attribute, malloc'ed ("" when absent or not a string). */
char *tls_h5_read_str_attr(hid_t loc, const char *name);
/* A 1-D string attribute array: *n malloc'ed strings in *out (at most 10^6). */
int tls_h5_read_str_array_attr(hid_t loc, const char *name, char ***out, int *n);
/* The length of the 1-D dataset name of f, or -1 (absent, not 1-D, > 2*10^9). */
int64_t tls_h5_scale_len(hid_t f, const char *name);

/* Points every descriptor this process has open on path at one anonymous
 * in-memory file, so that HDF5 can close a file it can no longer write: a
 * failed H5Fclose leaves HDF5 1.10 holding a freed file, which crashes when
 * MPI_Finalize ends the library. What is written afterwards is lost: for a
 * file that is then removed. Returns how many descriptors were redirected. */
int tls_h5_discard(const char *path);

/* While the file is written, stderr goes to an in-memory file: Open MPI's
 * I/O components print a line per failed write (a full disk gives dozens).
 * Afterwards whatever is not such a line is passed on; the failure itself
 * reaches the user as one line of ours. */
typedef struct {
    int saved, mem;
} tls_h5_captured;

void tls_h5_capture_begin(tls_h5_captured *c);
void tls_h5_capture_end(tls_h5_captured *c);

/* A failed write inside a collective HDF5 call can leave the ranks where it
 * did not fail waiting for this one in HDF5 (HDF5 1.10 skips its barriers
 * on errors), and this one waiting for them in its next collective call.
 * The watch, started on each rank once stderr is captured and stopped once
 * every rank is past the file's collective calls, ends the job `seconds`
 * after this rank's first failure -- recorded in e, or an Open MPI line of
 * a failed write in the captured stderr -- with one line to the real
 * stderr (naming the rank, the file and the cause) and MPI_Abort, exit
 * status 1. */
typedef struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int on, stop;
    const tls_h5ctx *e;
    int fd, mem, rank; /* the real stderr, the captured one */
    double seconds;
    off_t scanned;   /* bytes of the captured stderr looked at */
    char cause[256]; /* from Open MPI's line */
} tls_h5_watch;

void tls_h5_watch_start(tls_h5_watch *w, const tls_h5ctx *e, const tls_h5_captured *cap, int rank,
                        double seconds);
void tls_h5_watch_stop(tls_h5_watch *w);

/* The HDF5 library's life in an MPI process: tls_h5_begin before MPI_Init
 * (HDF5 then ends neither at exit nor inside MPI_Finalize), tls_h5_end
 * before MPI_Finalize, which ends it without its report of memory that its
 * error paths kept after a failed write -- or, after tls_h5_close_failed
 * (an H5Fclose failed: HDF5 1.10 then holds a freed file, and ending the
 * library crashes), leaves it to the process's exit. */
void tls_h5_begin(void);
void tls_h5_close_failed(void);
void tls_h5_end(void);

#endif
