/* axis.h - building the grid's axes (tls_axis, config.h) from YAML, and
 * writing them back as canonical YAML.
 *
 * An axis keeps, for each of its values, the bytes of its key's field (what
 * a configuration of the grid copies into its settings), the value as a
 * number (and exact integer) where it is one, and as text where it is not.
 * Used while a configuration loads; no I/O. */
#ifndef TLSWEEP_AXIS_H
#define TLSWEEP_AXIS_H

#include "tlsweep/config.h"
#include "tlsweep/sbuf.h"

#include <yaml.h>

/* Builds *ax for key k from node n (a list, range(...) or a single value)
 * as written under grid: at `where`: each value read into a scratch copy of
 * c, checked against the key's range, and its field bytes kept. Numbers
 * are sorted ascending, strings keep the order written; values must be
 * distinct. The values of c's other axes count against
 * TLS_MAX_HELD_VALUES. On success the old *ax is freed and replaced; on
 * failure *ax is freed and zeroed. TLS_ERR_INPUT (one line in err) or
 * TLS_ERR_NOMEM. */
int tls_axis_build(tls_axis *ax, const tls_config *c, int k, yaml_document_t *doc, yaml_node_t *n,
                   const char *where, char *err);

/* Frees an axis's values and zeroes it. */
void tls_axis_free(tls_axis *ax);

/* The axis of key k in c, or NULL when k is not swept. */
const tls_axis *tls_axis_of(const tls_config *c, int k);

/* Appends the axis as canonical YAML: "  name: [v, ...]\n", or for a long
 * arithmetic progression of integers "  name: range(START, STOP, STEP)\n"
 * (written out as a list when b is hashing). */
void tls_axis_yaml(tls_sbuf *b, const char *name, const tls_axis *ax);

#endif
