/* check.h - error codes and checking macros shared by every module.
 *
 * Every fallible call is wrapped so that a failure prints where it happened
 * (file:line, and the call) and returns an error code up the stack, in the
 * manner of PETSc's PetscCall. Functions that can fail return int: 0 on
 * success, one of TLS_ERR_* otherwise. Nothing here exits the process. */
#ifndef TLSWEEP_CHECK_H
#define TLSWEEP_CHECK_H

#include <stdio.h>
#include <stdlib.h>

enum {
    TLS_OK = 0,
    TLS_ERR_NOMEM = 1,   /* allocation failed */
    TLS_ERR_IO = 2,      /* file system or HDF5 I/O failed */
    TLS_ERR_INPUT = 3,   /* bad configuration or command line */
    TLS_ERR_NUMERIC = 4, /* NaN/Inf in training; the configuration fails */
    TLS_ERR_SVM = 5,     /* libsvm refused the problem */
    TLS_ERR_MPI = 6,     /* an MPI call failed */
    TLS_ERR_SIGNAL = 7,  /* interrupted by a signal; resumable */
    TLS_ERR_STATE = 8,   /* the sweep's state directory was deleted while it ran */
    TLS_ERR_PLAN = 9     /* a plan has work left but cannot hand out any (a bug) */
};

/* The process's exit statuses: the only place they are spelled (README,
 * --help and the man page describe them). */
enum {
    TLS_EXIT_OK = 0,         /* complete (failed configurations, if any, listed) */
    TLS_EXIT_FAILURE = 1,    /* any other failure, with a message naming the rank and cause */
    TLS_EXIT_BAD_INPUT = 2,  /* bad input: one line; nothing written */
    TLS_EXIT_ALL_FAILED = 3, /* complete, but every configuration failed */
    TLS_EXIT_RUNNING = 4,    /* status: the sweep is running now */
    TLS_EXIT_RESUMABLE =
        75 /* interrupted (signal, time limit); resumable with --resume (EX_TEMPFAIL) */
};

/* The one mapping from an error code to an exit status: bad input 2,
 * an interruption 75, any other failure 1. */
static inline int tls_exit_of(int rc) {
    return rc == TLS_OK           ? TLS_EXIT_OK
           : rc == TLS_ERR_INPUT  ? TLS_EXIT_BAD_INPUT
           : rc == TLS_ERR_SIGNAL ? TLS_EXIT_RESUMABLE
                                  : TLS_EXIT_FAILURE;
}

/* Evaluates an int-returning call; on failure prints file:line and returns
 * the code from the enclosing function. */
#define TLS_CALL(call)                                                                             \
    do {                                                                                           \
        int tls_rc_ = (call);                                                                      \
        if (tls_rc_ != TLS_OK) {                                                                   \
            fprintf(stderr, "tlsweep: %s:%d: %s failed (code %d)\n", __FILE__, __LINE__, #call,    \
                    tls_rc_);                                                                      \
            return tls_rc_;                                                                        \
        }                                                                                          \
    } while (0)

/* Like TLS_CALL but silent: for calls whose failure already carries its own
 * message for the user (bad input), which must reach them as one line. */
#define TLS_TRY(call)                                                                              \
    do {                                                                                           \
        int tls_rc_ = (call);                                                                      \
        if (tls_rc_ != TLS_OK) return tls_rc_;                                                     \
    } while (0)

/* Always-on condition check: on failure prints the message with file:line and
 * returns code. Kept apart from debug-only asserts (there are none). */
#define TLS_CHECK(cond, code, ...)                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "tlsweep: %s:%d: ", __FILE__, __LINE__);                               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            return (code);                                                                         \
        }                                                                                          \
    } while (0)

/* Allocates n elements of *ptr's type, zeroed, into ptr; returns
 * TLS_ERR_NOMEM with file:line on failure. */
#define TLS_ALLOC(ptr, n)                                                                          \
    TLS_CHECK(((ptr) = calloc((size_t)(n) > 0 ? (size_t)(n) : 1, sizeof(*(ptr)))) != NULL,         \
              TLS_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", (size_t)(n),              \
              sizeof(*(ptr)))

#define TLS_FREE(ptr)                                                                              \
    do {                                                                                           \
        free(ptr);                                                                                 \
        (ptr) = NULL;                                                                              \
    } while (0)

#endif
