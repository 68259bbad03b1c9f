/* keys.h - the configuration's keys and their types: one row per key, one
 * row per type, and what is derived from them.
 *
 * A key (tls_keys) names a field of tls_config, its type, the range its
 * values must lie in and the text that says what is allowed; a key type
 * (tls_key_types) says how a value of it is read from YAML, written back as
 * canonical YAML, seen as a number and checked against the key's range.
 * Everything here works on a key's field inside a tls_config (or a copy of
 * that field's bytes, as an axis keeps them). No I/O; messages are the one
 * line of input.h. */
#ifndef TLSWEEP_KEYS_H
#define TLSWEEP_KEYS_H

#include "tlsweep/config.h"
#include "tlsweep/sbuf.h"

#include <yaml.h>

typedef enum {
    TLS_K_INT,   /* int field */
    TLS_K_I64,   /* int64_t field, exact */
    TLS_K_REAL,  /* double field */
    TLS_K_BOOL,  /* int field, 0/1 */
    TLS_K_GAMMA, /* svm.gamma: auto, scale or a number (tls_svc_params' gamma_mode and gamma) */
    TLS_K_COUNT, /* int field or `all` (-1) */
    TLS_K_STR,   /* char[size] path */
    TLS_K_REALS, /* tls_reals */
    TLS_K_ENUM,  /* int field: the index of one of the key's words */
    TLS_K_PAIRS, /* tls_pairs: a list of approaches' pairs written A:B */
    TLS_K_NTYPES
} tls_key_kind;

/* One configuration key. */
typedef struct tls_key {
    const char *name;              /* dotted: "section.key" */
    tls_key_kind type;             /* its row in tls_key_types */
    size_t off, size;              /* the field in tls_config */
    double lo, hi;                 /* inclusive bounds of numbers and of list elements */
    int lo_open, hi_open;          /* 1: the bound itself is not allowed */
    const char *allowed;           /* what is allowed, for messages; NULL for an enum (its words) */
    const char *fixed;             /* non-NULL: may not be swept, and why */
    const char *units, *long_name; /* of its coordinate in the results file when swept */
    int integer;                   /* TLS_K_REALS: every element an integer */
    /* TLS_K_ENUM: the allowed words, where they are declared: a NULL-terminated
     * array, or a function giving word i (NULL past the last) */
    const char *const *names;
    const char *(*name_of)(int i);
} tls_key;

/* One key type. `field` is the key's field in a tls_config (or its bytes
 * kept by an axis); messages are one line (input.h) that ends with the
 * key's allowed text. */
typedef struct {
    tls_vtype vtype; /* the coordinate type of an axis of such keys */
    int ranges;      /* 1: an axis may be given as range(START, STOP[, STEP]) */
    int all;         /* 1: the value -1 is written `all` */
    /* reads scalar text s into field: TLS_OK or TLS_ERR_INPUT */
    int (*parse)(const tls_key *k, void *field, const char *s, const char *where, char *err);
    /* instead of parse, for list values: reads node n (a list, or one scalar) */
    int (*parse_node)(const tls_key *k, void *field, yaml_document_t *doc, yaml_node_t *n,
                      const char *where, char *err);
    /* appends the value as canonical YAML (reads back to the same value) */
    void (*print)(tls_sbuf *b, const tls_key *k, const void *field);
    /* the value as a number; NULL: not a number (NAN) */
    double (*number)(const void *field);
    /* the value as an exact integer: set for the types of vtype INT and BOOL */
    int64_t (*exact)(const void *field);
    /* checks the value against the key's range (`what` prefixes the
     * complaint, e.g. "element 2: "); NULL: every value read is allowed */
    int (*check)(const tls_key *k, const void *field, const char *where, const char *what,
                 char *err);
} tls_key_type;

extern const tls_key tls_keys[]; /* in canonical order: sections grouped, grid first */
extern const int tls_nkeys;      /* rows of tls_keys */
extern const tls_key_type tls_key_types[TLS_K_NTYPES];

#define TLS_KEY_ALLOWED 512 /* bytes of the buffers tls_key_allowed and _sections write into */

/* The index of the key named `name`, or -1. */
int tls_key_find(const char *name);

/* The key closest to `name` (itself, or without its section) within 3
 * edits and at most half of name's length, or -1: the did-you-mean of an
 * unknown key. */
int tls_key_closest(const char *name);

/* The sections, in table order ("grid, data, ..."), written into buf
 * (TLS_KEY_ALLOWED bytes). */
const char *tls_key_sections(char *buf);

/* Word i of enum key k, or NULL past the last. */
const char *tls_key_word(const tls_key *k, int i);

/* What key k allows, for messages: its `allowed` text, or for an enum its
 * words as "a, b or c", written into buf (TLS_KEY_ALLOWED bytes). */
const char *tls_key_allowed(const tls_key *k, char *buf);

/* What a message calls YAML node n: "a mapping", "a list" or "a scalar". */
const char *tls_key_node_kind(const yaml_node_t *n);

/* Reads node n (a scalar, or a list for list types) into key k of c. */
int tls_key_apply(tls_config *c, int k, yaml_document_t *doc, yaml_node_t *n, const char *where,
                  char *err);

/* Checks key k's value in c against its range; `what` as in tls_key_type. */
int tls_key_check(const tls_config *c, int k, const char *where, const char *what, char *err);

/* Key k's value in c as a number (NAN when not one: auto/scale, paths,
 * lists; an enum gives its word's index). */
double tls_key_number(const tls_config *c, int k);
/* The same of a field's bytes (an axis's kept value). */
double tls_key_number_at(int k, const void *field);

/* Key k's value in c as an exact integer (types of vtype INT and BOOL). */
int64_t tls_key_exact(const tls_config *c, int k);

/* Appends key k's value in c as canonical YAML. */
void tls_key_print(tls_sbuf *b, const tls_config *c, int k);

/* Where each key's value came from, for messages about values that fail
 * the checks made after everything is applied. */
typedef struct {
    char where[300];      /* "FILE:LINE" or "--set KEY=VALUE" where it was last set */
    char axis_where[300]; /* where it was given a list under grid: ("" when not) */
    int user;             /* 1: set by the file or --set, not by the built-in default */
} tls_key_origin;

#endif
