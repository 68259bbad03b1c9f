/* input.h - what tlsweep says about bad input: one line, always.
 *
 * Every refusal of a configuration, a command-line option or a file read
 * from disk is one line "WHERE: KEY: what is wrong; allowed: ..." (WHERE is
 * FILE:LINE, "--set KEY=VALUE", an option or a path), with control
 * characters escaped so that it stays one line whatever the input held,
 * and a did-you-mean where a word is close to an allowed one. No I/O: the
 * caller prints the line once. */
#ifndef TLSWEEP_INPUT_H
#define TLSWEEP_INPUT_H

#include <stdarg.h>
#include <stddef.h>

#define TLS_ERRMSG 1024 /* bytes of a message buffer */

/* Formats the one-line bad-input message "WHERE: KEY: what" (what from
 * fmt, which should end with "; allowed: ...") into err (TLS_ERRMSG bytes).
 * Returns TLS_ERR_INPUT, so that callers can `return tls_input_error(...)`. */
int tls_input_error(char *err, const char *where, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int tls_input_verror(char *err, const char *where, const char *key, const char *fmt, va_list ap);

/* Levenshtein distance of a and b (99 when either is over 63 bytes). */
int tls_edit_distance(const char *a, const char *b);

/* The word of words[0 .. n) closest to w, or NULL when none is within
 * max_distance edits (ties: the first). */
const char *tls_did_you_mean(const char *w, const char *const *words, int n, int max_distance);

/* Formats a double in the shortest form that strtod reads back exactly. */
void tls_format_real(char *buf, size_t len, double v);

#endif
