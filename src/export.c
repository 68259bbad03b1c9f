/* export.c - a results file as one tidy CSV table (export.h). */
#include "tlsweep/export.h"

#include "store_int.h"
#include "tlsweep/check.h"
#include "tlsweep/grid.h"
#include "tlsweep/setup.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ROUND = 1024 }; /* configurations read at a time */

/* One column: a variable of the configuration, or the variables of a field
 * with one per approach (the row's approach picks one). */
typedef struct {
    char name[64];
    const tls_field *field;           /* a field of one variable per approach, or NULL */
    const tls_svar *of[TLS_NMETHODS]; /* its variable of each approach, or NULL (not made) */
    const tls_svar *one;              /* else the configuration's variable */
    int along_approach;               /* one's values run along the approach dimension */
} column;

/* What the table holds beside the columns of variables. */
typedef struct {
    const tls_config *c;
    column col[TLS_MAX_VARS];
    int ncol;
} table;

/* The field's name without its approach: "acc_%s" -> "acc". */
static void strip_instance(char *out, size_t len, const char *pattern) {
    const char *at = strstr(pattern, "%s");
    size_t head = (size_t)(at - pattern), skip = 2;
    if (head > 0 && pattern[head - 1] == '_')
        head--, skip++;
    else if (at[2] == '_')
        skip++;
    snprintf(out, len, "%.*s%s", (int)head, pattern, pattern + head + skip);
}

/* Adds variable x to the table's columns (or to its field's column). */
static void add_column(table *t, const tls_svar *x) {
    const tls_field *d = x->d;
    if (d->per == TLS_PER_METHOD || d->per == TLS_PER_NETWORK) {
        for (int i = 0; i < t->ncol; i++)
            if (t->col[i].field == d) {
                t->col[i].of[x->inst] = x;
                return;
            }
        column *cn = &t->col[t->ncol++];
        memset(cn, 0, sizeof(*cn));
        strip_instance(cn->name, sizeof(cn->name), d->name);
        cn->field = d;
        cn->of[x->inst] = x;
        return;
    }
    column *cn = &t->col[t->ncol++];
    memset(cn, 0, sizeof(*cn));
    snprintf(cn->name, sizeof(cn->name), "%s", x->name);
    cn->one = x;
    cn->along_approach = d->ntrail == 1 && d->trail[0] == TLS_DIM_APPROACH;
}

/* The columns of the file's variables with one value per configuration
 * (or per configuration and approach): the statuses first, then in file
 * order. */
static void make_columns(table *t, const tls_svar *v, int nv) {
    t->ncol = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < nv; k++) {
            const tls_field *d = v[k].d;
            int status = !strcmp(d->name, "status") || !strcmp(d->name, "approach_status");
            int per_config = v[k].elems == 1 || (d->ntrail == 1 && d->trail[0] == TLS_DIM_APPROACH);
            if (d->embeddings || d->from == TLS_SRC_ARRAY || !per_config || status != (pass == 0))
                continue;
            add_column(t, &v[k]);
        }
}

/* Writes s as one CSV field: quoted when it holds a comma, quote or line break. */
static void put_text(FILE *f, const char *s) {
    if (!s[strcspn(s, ",\"\r\n")]) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Word number `which` of the space-separated list `words`, into buf; "" past the end. */
static const char *nth_word(const char *words, int which, char *buf, size_t len) {
    const char *p = words;
    for (int i = 0; i < which && *p; i++) p += strcspn(p, " "), p += *p == ' ';
    snprintf(buf, len, "%.*s", (int)strcspn(p, " "), p);
    return buf;
}

/* An integer flag's word (its flag_meanings entry); "" when it is not one of its values (the
 * fill). */
static const char *flag_word(const tls_field *d, int32_t v, char *buf, size_t len) {
    char num[16];
    for (int i = 0; *nth_word(d->flag_values, i, num, sizeof(num)); i++)
        if (atoi(num) == v) return nth_word(d->flag_meanings, i, buf, len);
    buf[0] = '\0';
    return buf;
}

/* The value of column cn for approach m of a record (have: done or failed; else the file's
 * fill values, and who computed it is empty). */
static void put_value(FILE *f, const column *cn, int m, tls_record_meta *meta, tls_result *r,
                      int have) {
    const tls_svar *x = cn->one ? cn->one : cn->of[m];
    if (!x || (!have && x->d->from != TLS_SRC_SCALARS)) return; /* not made; not computed */
    if (x->d->from == TLS_SRC_HOST) {
        put_text(f, meta->host);
        return;
    }
    size_t msize;
    const char *at = tls_store_field(x, meta, r, &msize);
    at += cn->along_approach ? (size_t)m * msize : 0;
    if (msize == 8) {
        double v;
        memcpy(&v, at, 8);
        char buf[40] = "";
        if (!isnan(v)) tls_format_real(buf, sizeof(buf), v);
        fputs(buf, f);
        return;
    }
    int32_t v;
    memcpy(&v, at, 4);
    char word[64];
    if (x->d->flag_meanings)
        fputs(flag_word(x->d, v, word, sizeof(word)), f);
    else
        fprintf(f, "%d", (int)v);
}

/* Axis a's value i as the file holds it: numbers as numbers (booleans 0/1), strings as text. */
static void put_axis(FILE *f, const tls_axis *ax, int64_t i) {
    char buf[40];
    if (ax->text)
        put_text(f, ax->text[i]);
    else if (ax->inum)
        fprintf(f, "%lld", (long long)ax->inum[i]);
    else
        fputs((tls_format_real(buf, sizeof(buf), ax->num[i]), buf), f);
}

static void put_header(FILE *f, const table *t) {
    for (int a = 0; a < t->c->naxes; a++) fprintf(f, "%s,", t->c->axis[a].dim);
    fputs("approach", f);
    for (int i = 0; i < t->ncol; i++) fprintf(f, ",%s", t->col[i].name);
    fputs(",reason\n", f);
}

/* The rows of configuration index idx, one per approach. */
static void put_rows(FILE *f, const table *t, int64_t idx, tls_record_meta *meta, tls_result *r,
                     int have) {
    int64_t co[TLS_MAX_AXES];
    tls_grid_coords(t->c, idx, co);
    for (int m = 0; m < TLS_NMETHODS; m++) {
        for (int a = 0; a < t->c->naxes; a++) put_axis(f, &t->c->axis[a], co[a]), fputc(',', f);
        fputs(tls_method_names[m], f);
        for (int i = 0; i < t->ncol; i++) fputc(',', f), put_value(f, &t->col[i], m, meta, r, have);
        fputc(',', f);
        put_text(f, r->s.reason);
        fputc('\n', f);
    }
}

/* Every record of the checked file through its record source. */
static int put_records(FILE *out, const table *t, const tls_layout *L, tls_record_source *src,
                       tls_result *r, char *err) {
    tls_record_meta meta;
    for (int64_t lo = 0; lo < L->count; lo += ROUND) {
        int64_t hi = lo + ROUND < L->count ? lo + ROUND : L->count;
        TLS_TRY(src->prepare(src->ctx, lo, hi));
        for (int64_t pos = lo; pos < hi; pos++) {
            int have = 0;
            if (src->get(src->ctx, pos, &meta, r, &have) != TLS_OK) {
                snprintf(err, TLS_ERRMSG, "%s", src->why(src->ctx));
                return TLS_ERR_INPUT;
            }
            put_rows(out, t, tls_layout_index(L, pos), &meta, r, have);
        }
        if (ferror(out)) return TLS_ERR_IO;
    }
    return TLS_OK;
}

int tls_export_csv(const char *path, FILE *out, char *err) {
    tls_store_reader *rd = NULL;
    TLS_TRY(tls_store_open(&rd, path, err));
    tls_setup s;
    memset(&s, 0, sizeof(s));
    table *t = calloc(1, sizeof(*t));
    tls_svar *v = calloc(TLS_MAX_VARS, sizeof(*v));
    int rc = t && v ? tls_setup_of_file(&s, rd, path, err) : TLS_ERR_NOMEM;
    tls_part part = tls_store_meta_of(rd)->part;
    if (rc == TLS_OK && (int64_t)part.n > s.c->grid_size)
        rc = tls_input_error(err, path, "part",
                             "%d/%d of a grid of %lld configurations; allowed: a file written "
                             "by tlsweep run",
                             part.k, part.n, (long long)s.c->grid_size);
    if (rc == TLS_OK) {
        tls_layout_init(&s.L, s.c, &s.env, part); /* a part's file: its list of configurations */
        rc = tls_store_check(rd, &s.L, err);
    }
    if (rc == TLS_OK) {
        t->c = s.c;
        make_columns(t, v, tls_store_vars(&s.L, v));
        put_header(out, t);
        tls_record_source src;
        tls_store_source(rd, &src);
        rc = put_records(out, t, &s.L, &src, s.r, err);
    }
    if (rc == TLS_ERR_NOMEM) snprintf(err, TLS_ERRMSG, "%s: out of memory", path);
    free(t);
    free(v);
    tls_setup_free(&s);
    tls_store_close(&rd);
    return rc;
}
