#include "tlsweep/input.h"

#include "tlsweep/check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies src into dst (cap bytes) with control characters escaped, so that
 * a message stays one line whatever the input held; when it does not fit,
 * its head and its tail (where "allowed: ..." is) are kept around " ... ". */
static void escape_cap(char *dst, size_t cap, const char *src) {
    char full[4 * TLS_ERRMSG];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p && o + 5 < sizeof(full); p++) {
        if (*p >= 0x20 && *p != 0x7f)
            full[o++] = (char)*p;
        else
            o += (size_t)snprintf(full + o, sizeof(full) - o, "\\x%02x", *p);
    }
    full[o] = '\0';
    if (o < cap) {
        memcpy(dst, full, o + 1);
        return;
    }
    size_t tail = (cap - 6) / 2, head = cap - 6 - tail;
    snprintf(dst, cap, "%.*s ... %s", (int)head, full, full + o - tail);
}

int tls_input_verror(char *err, const char *where, const char *key, const char *fmt, va_list ap) {
    char what[2 * TLS_ERRMSG], w[240], k[120], m[TLS_ERRMSG - 368];
    vsnprintf(what, sizeof(what), fmt, ap);
    escape_cap(w, sizeof(w), where);
    escape_cap(k, sizeof(k), key);
    escape_cap(m, sizeof(m), what);
    snprintf(err, TLS_ERRMSG, "%s: %s: %s", w, k, m);
    return TLS_ERR_INPUT;
}

int tls_input_error(char *err, const char *where, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = tls_input_verror(err, where, key, fmt, ap);
    va_end(ap);
    return rc;
}

int tls_edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    int prev[64], cur[64];
    if (la > 63 || lb > 63) return 99;
    for (int j = 0; j <= lb; j++) prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

const char *tls_did_you_mean(const char *w, const char *const *words, int n, int max_distance) {
    const char *best = NULL;
    int bestd = max_distance + 1;
    for (int i = 0; i < n; i++) {
        int d = tls_edit_distance(w, words[i]);
        if (d < bestd) bestd = d, best = words[i];
    }
    return best;
}

void tls_format_real(char *buf, size_t len, double v) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (!isfinite(v) || strtod(buf, NULL) == v) return;
    }
}
