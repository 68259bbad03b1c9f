#include "tlsweep/scalar.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int tls_scalar_real(const char *s, double *v) {
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) return *v = NAN, 0;
    if (!strcmp(s, ".inf") || !strcmp(s, "+.inf") || !strcmp(s, ".Inf")) return *v = INFINITY, 0;
    if (!strcmp(s, "-.inf") || !strcmp(s, "-.Inf")) return *v = -INFINITY, 0;
    if (!*s) return -1;
    /* strtod also reads "nan"/"inf"/hex, which YAML would not call numbers */
    for (const char *p = s; *p; p++)
        if (strchr("0123456789+-.eE", *p) == NULL) return -1;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (*end || errno == ERANGE) return -1;
    return 0;
}

int tls_scalar_int64(const char *s, int64_t *v) {
    const char *p = s + (*s == '+' || *s == '-');
    if (*p && strspn(p, "0123456789") == strlen(p)) {
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (*end || errno == ERANGE) return -1;
        *v = x;
        return 0;
    }
    double d;
    if (tls_scalar_real(s, &d) || !isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return -1;
    *v = (int64_t)d;
    return 0;
}

int tls_scalar_bool(const char *s, int *v) {
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off"};
    for (int i = 0; i < 6; i++) {
        if (!strcmp(s, yes[i])) return *v = 1, 0;
        if (!strcmp(s, no[i])) return *v = 0, 0;
    }
    return -1;
}

int tls_scalar_range(const char *s, int64_t *start, int64_t *step, int64_t *count) {
    if (strncmp(s, "range(", 6)) return -1;
    size_t len = strlen(s);
    if (len < 8 || s[len - 1] != ')') return -1;
    int64_t v[3] = {0, 0, 1};
    int nv = 0;
    const char *p = s + 6, *end = s + len - 1;
    while (p <= end && nv < 3) {
        const char *q = p;
        while (q < end && *q != ',') q++;
        char tok[48];
        while (p < q && isspace((unsigned char)*p)) p++;
        const char *e = q;
        while (e > p && isspace((unsigned char)e[-1])) e--;
        if (e - p <= 0 || e - p >= (long)sizeof(tok)) return -1;
        memcpy(tok, p, (size_t)(e - p));
        tok[e - p] = '\0';
        if (tls_scalar_int64(tok, &v[nv++])) return -1;
        p = q + 1;
        if (q == end) break;
    }
    if (p <= end || nv < 2 || v[2] == 0) return -1;
    __int128 span = (__int128)v[1] - v[0], st = v[2];
    __int128 n =
        st > 0 ? (span > 0 ? (span + st - 1) / st : 0) : (span < 0 ? (-span - st - 1) / -st : 0);
    *start = v[0], *step = v[2];
    *count = n > INT64_MAX ? INT64_MAX : (int64_t)n;
    return 0;
}
