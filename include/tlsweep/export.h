/* export.h - `tlsweep export`: a results file as one tidy table (CSV).
 *
 * One row per configuration x approach, in the file's order of
 * configurations and approaches, after a header row. The columns derive
 * from the file's variables (the store's list, itself the table of result
 * fields, result.h): every grid axis (its coordinate as the file holds it;
 * string axes as their text), `approach`, the configuration's `status` and
 * the approach's `approach_status`, then every variable with one value per
 * configuration -- those with one variable per approach (acc_<approach>,
 * ...) as one column named without the approach (acc), taking the row's
 * approach's value; the others as in the file -- and `reason`. Flags are
 * their words (flag_meanings), fill values and NaN empty. Pending and
 * not_needed configurations are rows too. The arrays (confusion matrices,
 * curves, embeddings) and the decide modes' per-cell variables are not in
 * it. Serial, no MPI; reads the file with the store's reader (store.h). */
#ifndef TLSWEEP_EXPORT_H
#define TLSWEEP_EXPORT_H

#include <stdio.h>

/* Writes the table of the results file (or part file) at path to out.
 * TLS_ERR_INPUT with one line in err (TLS_ERRMSG bytes) when path is not a
 * readable results file or holds values out of range; TLS_ERR_IO when out
 * cannot be written; TLS_ERR_NOMEM. */
int tls_export_csv(const char *path, FILE *out, char *err);

#endif
