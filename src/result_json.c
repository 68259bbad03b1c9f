/* result_json.c - `tlsweep one`'s JSON of a result, derived from the table of
 * result fields (result.h). In the core library: it formats numbers as the
 * configuration does (input.h). */
#include "tlsweep/input.h"
#include "tlsweep/result.h"

#include <math.h>
#include <stdio.h>

/* JSON number in the shortest form that reads back exactly, or null for
 * what was not computed; digits < 17 rounds (timings). */
static void json_num(FILE *f, const char *key, double v, int digits) {
    char num[40];
    if (!isfinite(v)) {
        fprintf(f, ", \"%s\": null", key);
        return;
    }
    if (digits < 17)
        snprintf(num, sizeof(num), "%.*g", digits, v);
    else
        tls_format_real(num, sizeof(num), v);
    fprintf(f, ", \"%s\": %s", key, num);
}

static const char *status_name(int s) {
    return s == TLS_STATUS_DONE ? "done" : s == TLS_STATUS_FAILED ? "failed" : "not computed";
}

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* The confusion matrix of method m, rows the true class; null unless done. */
static void json_matrix(FILE *f, const tls_result *r, int m, int C) {
    if (r->s.mstatus[m] != TLS_STATUS_DONE) {
        fprintf(f, "null");
        return;
    }
    fprintf(f, "[");
    for (int i = 0; i < C; i++) {
        fprintf(f, "%s[", i ? ", " : "");
        for (int j = 0; j < C; j++)
            fprintf(f, "%s%d", j ? ", " : "", r->confusion[((size_t)m * C + i) * C + j]);
        fprintf(f, "]");
    }
    fprintf(f, "]");
}

/* One field of the table in its json style. */
static void json_field(FILE *f, const tls_field *d, const tls_result *r,
                       const tls_engine_params *p) {
    const char *pattern = d->json_name ? d->json_name : d->name;
    int per = d->json == TLS_JSON_STATUS || d->json == TLS_JSON_MATRIX; /* one key per method */
    for (int m = 0; m < (per ? TLS_NMETHODS : tls_field_values(d)); m++) {
        char key[96], ln[8];
        if (!tls_field_var(d, m, key, sizeof(key), ln, sizeof(ln)) && !per) continue;
        if (per || d->json_name) snprintf(key, sizeof(key), pattern, tls_method_names[m]);
        const char *at = (const char *)&r->s + d->off;
        switch (d->json) {
        case TLS_JSON_NUMBER:
        case TLS_JSON_SECONDS:
            json_num(f, key, ((const double *)at)[m], d->json == TLS_JSON_SECONDS ? 6 : 17);
            break;
        case TLS_JSON_BOOL: {
            int32_t v = *(const int32_t *)at;
            fprintf(f, ", \"%s\": %s", key, v < 0 ? "null" : v ? "true" : "false");
            break;
        }
        case TLS_JSON_STATUS:
            fprintf(f, ", \"%s\": \"%s\"", key, status_name(((const int32_t *)at)[m]));
            break;
        case TLS_JSON_MATRIX:
            fprintf(f, ", \"%s\": ", key);
            json_matrix(f, r, m, p->classes);
            break;
        case TLS_JSON_REASON: {
            int32_t v = ((const int32_t *)at)[m];
            fprintf(f, ", \"%s\": ", key);
            if (v >= 0 && v < TLS_TS_NREASONS)
                json_string(f, tls_ts_reason_names[v]);
            else
                fprintf(f, "null");
            break;
        }
        case TLS_JSON_CURVE: {
            const float *v = tls_result_array(r, (int)d->off);
            int64_t n = tls_dim_len(p, d->trail[0]);
            fprintf(f, ", \"%s\": [", key);
            for (int64_t e = 0; e < n; e++) {
                if (isfinite(v[e]))
                    fprintf(f, "%s%.9g", e ? ", " : "", v[e]);
                else
                    fprintf(f, "%snull", e ? ", " : "");
            }
            fprintf(f, "]");
            break;
        }
        case TLS_JSON_NONE:
            break;
        }
    }
}

void tls_result_json(FILE *f, const tls_result *r, const tls_engine_params *p,
                     const tls_point *pt) {
    char sh[40], la[40];
    tls_format_real(sh, sizeof(sh), pt->shift);
    tls_format_real(la, sizeof(la), pt->lambda);
    fprintf(f, "{\"shift\": %s, \"lambda\": %s, \"n_target\": %d, \"seed\": %lld", sh, la,
            pt->n_target, (long long)pt->seed);
    fprintf(f, ", \"status\": \"%s\", \"reason\": ", status_name(r->s.status));
    json_string(f, r->s.reason);
    for (int k = 0; k < tls_nfields; k++)
        if (tls_fields[k].json != TLS_JSON_NONE) json_field(f, &tls_fields[k], r, p);
    fprintf(f, "}\n");
}
