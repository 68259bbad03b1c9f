/* scalar.h - YAML scalars read as numbers, the way the configuration reads
 * them: exactly, and refusing what YAML would not call a number.
 *
 * Each parser returns 0 and sets *v, or -1 (and leaves *v unspecified) when
 * the text is not of its form. No I/O, no allocation. */
#ifndef TLSWEEP_SCALAR_H
#define TLSWEEP_SCALAR_H

#include <stdint.h>

/* A YAML number: decimal or exponent notation, .nan, .inf, -.inf (the
 * YAML 1.1 spellings); not strtod's "nan", "inf" or hex. Overflow: -1. */
int tls_scalar_real(const char *s, double *v);

/* An integer, exactly: decimal digits are read as int64, anything else as a
 * number that must be integral and below 2^53 in magnitude (where doubles
 * are exact). */
int tls_scalar_int64(const char *s, int64_t *v);

/* true/True/TRUE/yes/Yes/on (1) or false/False/FALSE/no/No/off (0). */
int tls_scalar_bool(const char *s, int *v);

/* "range(START, STOP[, STEP])": integers, STOP excluded, STEP != 0 (default
 * 1), as Python's and Hydra's range. Sets *start, *step and *count (values
 * it makes, possibly 0; INT64_MAX when more). */
int tls_scalar_range(const char *s, int64_t *start, int64_t *step, int64_t *count);

#endif
