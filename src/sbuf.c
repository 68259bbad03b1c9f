#include "tlsweep/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

tls_sbuf tls_sbuf_hasher(void) {
    tls_sbuf b = {0};
    b.hashing = 1;
    b.h = 1469598103934665603ULL;
    return b;
}

static void sb_hash(tls_sbuf *b, const char *fmt, va_list ap) {
    char small[256], *t = small;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(small, sizeof(small), fmt, aq);
    va_end(aq);
    if (n < 0) return;
    if ((size_t)n >= sizeof(small)) {
        t = malloc((size_t)n + 1);
        if (!t) {
            b->failed = 1;
            return;
        }
        vsnprintf(t, (size_t)n + 1, fmt, ap);
    }
    for (int i = 0; i < n; i++) b->h = (b->h ^ (unsigned char)t[i]) * 1099511628211ULL;
    if (t != small) free(t);
}

void tls_sbuf_printf(tls_sbuf *b, const char *fmt, ...) {
    if (b->failed) return;
    if (b->hashing) {
        va_list ap;
        va_start(ap, fmt);
        sb_hash(b, fmt, ap);
        va_end(ap);
        return;
    }
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            free(b->s);
            b->s = NULL;
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}
