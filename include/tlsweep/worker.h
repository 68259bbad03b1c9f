/* worker.h - a rank computing configurations: each one's settings from its
 * grid index, the engine run on them, the record appended to the rank's
 * journal. The scheduler's compute function (sched.h). */
#ifndef TLSWEEP_WORKER_H
#define TLSWEEP_WORKER_H

#include "tlsweep/journal.h"
#include "tlsweep/sched.h"
#include "tlsweep/setup.h"

typedef struct {
    const tls_setup *s;
    tls_result *r;        /* the rank's result, reused for every configuration */
    tls_journal *journal; /* the rank's journal in the state directory */
    int rank;
    char host[TLS_HOST_LEN]; /* this rank's host name, recorded with each result */
} tls_worker;

/* Computes configuration idx and appends its record to the journal; rec
 * gets its journal offset, status and accuracies, seconds its wall time.
 * A tls_compute_fn on a tls_worker. TLSWEEP_FAULT, a comma-separated list
 * of grid indices, records their MMD method as failed (for the tests of
 * failure containment; tests/README.md). */
int tls_worker_compute(void *worker, int64_t idx, tls_msg_rec *rec, double *seconds);

#endif
