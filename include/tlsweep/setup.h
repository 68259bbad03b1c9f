/* setup.h - what every rank of a command holds: the configuration, its data
 * files, the envelope of the grid's shapes, the layout of its results file
 * and one result to compute into. Each rank loads its own copy (not
 * collective); the caller makes the ranks agree on the outcome. */
#ifndef TLSWEEP_SETUP_H
#define TLSWEEP_SETUP_H

#include "tlsweep/config.h"
#include "tlsweep/dataset.h"
#include "tlsweep/store.h"

typedef struct {
    const tls_config *c;
    tls_data_files files;
    tls_engine_params env; /* the grid's envelope: the arrays' shapes */
    tls_layout L;
    tls_result *r; /* created for the envelope */
} tls_setup;

/* Loads a configuration (from path and sets, or from text, `path` then
 * naming it), its data files and the layout of part `part` of its grid.
 * TLS_ERR_INPUT with one line in err, or TLS_ERR_NOMEM ("rank R: ..."). */
int tls_setup_load(tls_setup *s, const char *path, const char *text, const char *const *sets,
                   int nsets, tls_part part, int rank, char *err);
/* The setup of a results file (merge): its configuration, checked against
 * its hash, and the envelope of its dimensions, found without the data
 * files; the layout of the whole grid. */
int tls_setup_of_file(tls_setup *s, tls_store_reader *rd, const char *path, char *err);
void tls_setup_free(tls_setup *s);

/* What the shift does to which data (the results file's data_mode): synthetic data or
 * files, and what the shift is for data.shift_kind (or, swept, that data_shift_kind says). */
const char *tls_setup_data_mode(const tls_config *c);

/* Prints the grid, the file layout, its size and a time estimate for
 * nranks ranks (--dry-run): the last configuration is run twice. */
void tls_setup_dry_run(const tls_setup *s, int nranks);

#endif
