/* sbuf.h - text appended with printf into a growing buffer, or folded into
 * a 64-bit FNV-1a hash instead of kept (the canonical configuration and its
 * hash come from the same printing code).
 *
 * Start from (tls_sbuf){0} to keep text, or tls_sbuf_hasher() to hash it.
 * When an allocation fails the text is freed, s stays NULL and `failed` is
 * set; later appends do nothing. The caller frees s. */
#ifndef TLSWEEP_SBUF_H
#define TLSWEEP_SBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *s;         /* the text, NUL-terminated (NULL until something is kept) */
    size_t len, cap; /* bytes used (without the NUL) and allocated */
    int failed;      /* 1: out of memory, s is NULL */
    int hashing;     /* 1: fold the text into h, keep nothing */
    uint64_t h;      /* FNV-1a of everything appended while hashing */
} tls_sbuf;

/* A buffer that hashes what is appended (h starts at FNV-1a's offset basis). */
tls_sbuf tls_sbuf_hasher(void);

/* Appends printf output. */
void tls_sbuf_printf(tls_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
