/* rules.h - what ties configuration keys together: the checks that need
 * several keys, over every value the grid gives them, once every key is
 * applied; the defaults and meanings that follow from other keys.
 *
 * org (tls_nkeys entries, keys.h) says where each key was set, for the
 * message. No I/O. */
#ifndef TLSWEEP_RULES_H
#define TLSWEEP_RULES_H

#include "tlsweep/keys.h"

/* With data files, data.n_source and data.n_test not set by the user
 * default to all the data (-1), not the synthetic sizes. */
void tls_rules_file_defaults(tls_config *c, const tls_key_origin *org);

/* Checks every value of every key against its range, and the rules across
 * keys (data files, counts against classes, image shape, shifts against
 * their kind, holdouts that hold out a point, the grid's size); sets
 * *grid_size to the product of the axes' lengths. TLS_ERR_INPUT with the
 * one line in err. */
int tls_rules_check(const tls_config *c, const tls_key_origin *org, int64_t *grid_size, char *err);

/* The shift axis's units and meaning in the results file, as
 * data.shift_kind says (with several kinds in the grid: a number whose
 * meaning the kind axis gives). */
void tls_rules_shift_meaning(tls_config *c);

#endif
