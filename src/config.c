#include "tlsweep/config.h"

#include "tlsweep/axis.h"
#include "tlsweep/check.h"
#include "tlsweep/keys.h"
#include "tlsweep/rules.h"
#include "tlsweep_default_config.h" /* generated from configs/default.yaml */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_named_axis(int k) {
    return k < TLS_NAMED_AXES;
}

static int unknown_key(char *err, const char *where, const char *name) {
    /* grid.train.lrr: the key after grid. is what is misspelt */
    const char *key = name, *prefix = "";
    if (!strncmp(name, "grid.", 5) && strchr(name + 5, '.')) key = name + 5, prefix = "grid.";
    int best = tls_key_closest(key);
    if (key == name && !strncmp(name, "grid.", 5)) {
        /* grid.lr or grid.sed: a key swept without its section (grid.train.lr), or a named
         * axis misspelt (grid.seed) */
        best = tls_key_closest(name + 5);
        prefix = best >= TLS_NAMED_AXES ? "grid." : "";
    }
    if (best >= 0)
        return tls_input_error(err, where, name,
                               "unknown key; did you mean %s%s? allowed: the keys listed in "
                               "configs/README.md",
                               prefix, tls_keys[best].name);
    char sections[TLS_KEY_ALLOWED];
    return tls_input_error(err, where, name,
                           "unknown key; allowed: sections %s with the keys listed in "
                           "configs/README.md",
                           tls_key_sections(sections));
}

/* ---- documents ---------------------------------------------------------- */

static int syntax_error(char *err, const char *name, yaml_parser_t *parser) {
    char where[600];
    snprintf(where, sizeof(where), "%s:%zu", name, parser->problem_mark.line + 1);
    char began[64] = "";
    if (parser->context && parser->context_mark.line != parser->problem_mark.line)
        snprintf(began, sizeof(began), " that began at line %zu", parser->context_mark.line + 1);
    return tls_input_error(err, where, "(syntax)",
                           "YAML syntax error: %s%s%s%s; allowed: valid YAML (see "
                           "configs/README.md)",
                           parser->problem ? parser->problem : "unknown problem",
                           parser->context ? " " : "", parser->context ? parser->context : "",
                           began);
}

#define TLS_YAML_MAX_DEPTH 64 /* nested lists and mappings: a configuration needs 4 */

/* A libyaml parser reading text (len bytes) or, when f is given, the file f. */
static int parser_open(yaml_parser_t *parser, const char *name, const unsigned char *text,
                       size_t len, FILE *f, char *err) {
    if (!yaml_parser_initialize(parser))
        return tls_input_error(err, name, "yaml", "cannot initialise libyaml; allowed: -");
    if (f)
        yaml_parser_set_input_file(parser, f);
    else
        yaml_parser_set_input_string(parser, text, len);
    return TLS_OK;
}

/* TLS_OK when no list or mapping of text/file lies more than
 * TLS_YAML_MAX_DEPTH deep (syntax errors are left to the loader); one line
 * in err otherwise. Reads only up to the first too deep node: libyaml's
 * scanner takes time quadratic in the depth. A file is rewound. */
static int depth_check(const char *name, const unsigned char *text, size_t len, FILE *f,
                       char *err) {
    yaml_parser_t parser;
    TLS_TRY(parser_open(&parser, name, text, len, f, err));
    int depth = 0, rc = TLS_OK;
    yaml_event_t ev;
    while (rc == TLS_OK && yaml_parser_parse(&parser, &ev)) {
        int type = ev.type;
        depth += type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT;
        depth -= type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT;
        if (depth > TLS_YAML_MAX_DEPTH) {
            char where[600];
            snprintf(where, sizeof(where), "%s:%zu", name, ev.start_mark.line + 1);
            rc = tls_input_error(err, where, "(syntax)",
                                 "lists and mappings nested more than %d deep; allowed: at "
                                 "most %d",
                                 TLS_YAML_MAX_DEPTH, TLS_YAML_MAX_DEPTH);
        }
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete(&parser);
    if (f) rewind(f);
    return rc;
}

/* Loads the one YAML document of text/file into doc; a second document or
 * nodes nested too deep are bad input. */
static int load_doc(yaml_document_t *doc, const char *name, const unsigned char *text, size_t len,
                    FILE *f, char *err) {
    TLS_TRY(depth_check(name, text, len, f, err));
    yaml_parser_t parser;
    TLS_TRY(parser_open(&parser, name, text, len, f, err));
    if (!yaml_parser_load(&parser, doc)) {
        int rc = syntax_error(err, name, &parser);
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_document_t next;
    int rc = TLS_OK;
    if (!yaml_parser_load(&parser, &next)) {
        rc = syntax_error(err, name, &parser);
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&next);
        if (root) {
            char where[600];
            snprintf(where, sizeof(where), "%s:%zu", name, next.start_mark.line + 1);
            rc = tls_input_error(err, where, "(document)",
                                 "a second YAML document; allowed: one document (no --- "
                                 "after the configuration)");
        }
        yaml_document_delete(&next);
    }
    yaml_parser_delete(&parser);
    if (rc) yaml_document_delete(doc);
    return rc;
}

/* Loads the YAML file at path into doc. */
static int load_file(yaml_document_t *doc, const char *path, char *err) {
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return tls_input_error(err, path, "(file)",
                               "not a regular file (%s); allowed: a readable YAML file",
                               S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
    FILE *f = fopen(path, "rb");
    if (!f)
        return tls_input_error(err, path, "(file)",
                               "cannot read the configuration: %s; allowed: a readable YAML file",
                               strerror(errno));
    int rc = load_doc(doc, path, NULL, 0, f, err);
    fclose(f);
    return rc;
}

/* Makes key k (not a named axis) an axis of c: its own, or a new one. */
static int sweep_key(tls_config *c, int k, const char *full, yaml_document_t *doc, yaml_node_t *v,
                     const char *where, char *err) {
    if (tls_keys[k].fixed)
        return tls_input_error(err, where, full, "%s cannot be swept: %s", tls_keys[k].name,
                               tls_keys[k].fixed);
    int slot = -1;
    for (int a = TLS_NAMED_AXES; a < c->naxes; a++)
        if (c->axis[a].key == k) slot = a;
    if (slot < 0) {
        if (c->naxes >= TLS_MAX_AXES)
            return tls_input_error(err, where, full, "more than %d axes; allowed: at most %d",
                                   TLS_MAX_AXES - TLS_NAMED_AXES, TLS_MAX_AXES - TLS_NAMED_AXES);
        slot = c->naxes;
    }
    TLS_TRY(tls_axis_build(&c->axis[slot], c, k, doc, v, where, err));
    if (slot == c->naxes) c->naxes++;
    return TLS_OK;
}

/* Sets key `full` from node v, or, for a dotted key under grid:, makes it an axis. */
static int set_key(tls_config *c, const char *full, yaml_document_t *doc, yaml_node_t *v,
                   const char *where, tls_key_origin *org, int from_user, char *err) {
    int is_grid = !strncmp(full, "grid.", 5);
    const char *axis_key = is_grid && strchr(full + 5, '.') ? full + 5 : NULL;
    int k = tls_key_find(axis_key ? axis_key : full);
    if (k < 0) return unknown_key(err, where, full);
    if (is_grid && !axis_key && !is_named_axis(k)) return unknown_key(err, where, full);
    if (axis_key && is_named_axis(k)) return unknown_key(err, where, full);
    if (axis_key || is_named_axis(k)) {
        /* grid.shift and the like are always an axis (axis k) */
        TLS_TRY(axis_key ? sweep_key(c, k, full, doc, v, where, err)
                         : tls_axis_build(&c->axis[k], c, k, doc, v, where, err));
        snprintf(org[k].axis_where, sizeof(org[k].axis_where), "%s", where);
        if (is_named_axis(k)) org[k].user = from_user;
        return TLS_OK;
    }
    TLS_TRY(tls_key_apply(c, k, doc, v, where, err));
    snprintf(org[k].where, sizeof(org[k].where), "%s", where);
    org[k].user = from_user;
    return TLS_OK;
}

/* The dotted keys a document has given, to refuse one given twice. */
typedef struct {
    char (*name)[96];
    int n, cap;
} seen_keys;

/* A flow mapping splits `{seed: range(0, 40)}` at its comma: into `seed: range(0` and a key
 * `40)` without a value. Joins such a value back from the keys after it (*q advances past
 * them) into one scalar (one, text: len bytes); v itself otherwise. */
static yaml_node_t *rejoin_range(yaml_document_t *doc, yaml_node_t *vn, yaml_node_pair_t **q,
                                 yaml_node_t *v, yaml_node_t *one, char *text, size_t len) {
    if (vn->data.mapping.style != YAML_FLOW_MAPPING_STYLE || v->type != YAML_SCALAR_NODE ||
        v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        strncmp((const char *)v->data.scalar.value, "range(", 6) ||
        strchr((const char *)v->data.scalar.value, ')'))
        return v;
    snprintf(text, len, "%s", (const char *)v->data.scalar.value);
    while (*q + 1 < vn->data.mapping.pairs.top && !strchr(text, ')')) {
        yaml_node_t *k = yaml_document_get_node(doc, (*q)[1].key);
        yaml_node_t *e = yaml_document_get_node(doc, (*q)[1].value);
        if (k->type != YAML_SCALAR_NODE || e->type != YAML_SCALAR_NODE || e->data.scalar.length)
            break;
        snprintf(text + strlen(text), len - strlen(text), ", %s",
                 (const char *)k->data.scalar.value);
        (*q)++;
    }
    *one = *v;
    one->data.scalar.value = (yaml_char_t *)text;
    one->data.scalar.length = strlen(text);
    return one;
}

/* Applies the keys of section `sec` (mapping vn) to c. */
static int apply_section(tls_config *c, yaml_document_t *doc, const char *name, const char *sec,
                         yaml_node_t *vn, seen_keys *seen, tls_key_origin *org, int from_user,
                         char *err) {
    char where[400];
    for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top; q++) {
        yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
        yaml_node_t one;
        char range[128];
        yaml_node_t *v2 = rejoin_range(doc, vn, &q, yaml_document_get_node(doc, q->value), &one,
                                       range, sizeof(range));
        snprintf(where, sizeof(where), "%s:%zu", name, k2->start_mark.line + 1);
        if (k2->type != YAML_SCALAR_NODE)
            return tls_input_error(err, where, sec,
                                   "a key must be a plain word; allowed: "
                                   "the keys listed in configs/README.md");
        char full[96];
        snprintf(full, sizeof(full), "%s.%.80s", sec, (const char *)k2->data.scalar.value);
        for (int i = 0; i < seen->n; i++)
            if (!strcmp(seen->name[i], full))
                return tls_input_error(err, where, full, "given twice; allowed: each key once");
        if (seen->n < seen->cap) snprintf(seen->name[seen->n++], sizeof(seen->name[0]), "%s", full);
        TLS_TRY(set_key(c, full, doc, v2, where, org, from_user, err));
    }
    return TLS_OK;
}

/* Applies a whole document (a mapping of sections) to c. */
static int apply_doc(tls_config *c, yaml_document_t *doc, const char *name, tls_key_origin *org,
                     int from_user, char *err) {
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root) return TLS_OK; /* an empty file: defaults */
    char where[400], sections[TLS_KEY_ALLOWED];
    tls_key_sections(sections);
    snprintf(where, sizeof(where), "%s:%zu", name, root->start_mark.line + 1);
    if (root->type != YAML_MAPPING_NODE)
        return tls_input_error(err, where, "(top level)",
                               "expected a mapping of sections, got %s; allowed: %s",
                               tls_key_node_kind(root), sections);
    char seen_sec[16][32];
    int nsec = 0;
    seen_keys seen = {.cap = tls_nkeys + TLS_MAX_AXES};
    seen.name = malloc(sizeof(seen.name[0]) * (size_t)seen.cap);
    TLS_CHECK(seen.name, TLS_ERR_NOMEM, "out of memory");
    int rc = TLS_OK;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top && rc == TLS_OK; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        snprintf(where, sizeof(where), "%s:%zu", name, kn->start_mark.line + 1);
        if (kn->type != YAML_SCALAR_NODE) {
            rc = tls_input_error(err, where, "(top level)",
                                 "a section name must be a plain word; allowed: %s", sections);
            break;
        }
        const char *sec = (const char *)kn->data.scalar.value;
        for (int i = 0; i < nsec && rc == TLS_OK; i++)
            if (!strcmp(seen_sec[i], sec))
                rc = tls_input_error(err, where, sec,
                                     "section given twice; allowed: each section once, with all "
                                     "its keys");
        if (rc) break;
        if (nsec < 16) snprintf(seen_sec[nsec++], sizeof(seen_sec[0]), "%s", sec);
        if (vn->type == YAML_SCALAR_NODE && vn->data.scalar.length == 0) continue; /* `sec:` */
        if (vn->type != YAML_MAPPING_NODE)
            rc = tls_input_error(err, where, sec,
                                 "expected a mapping of keys, got %s; allowed: e.g. %s: "
                                 "{key: value}",
                                 tls_key_node_kind(vn), sec);
        else
            rc = apply_section(c, doc, name, sec, vn, &seen, org, from_user, err);
    }
    free(seen.name);
    return rc;
}

/* --set train.lr=0.001,0.01 (Hydra's way to sweep) sets one value that fails: adds to the
 * message in err how to sweep the key ("to sweep it: --set 'grid.train.lr=[0.001, 0.01]'"). */
static void hint_sweep(char *err, const char *key, const yaml_node_t *v) {
    if (v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return;
    const char *text = (const char *)v->data.scalar.value;
    int k = tls_key_find(key);                                         /* train.lr, grid.seed */
    if (k < 0 && !strncmp(key, "grid.", 5)) k = tls_key_find(key + 5); /* grid.train.lr */
    char *allowed = strstr(err, "; allowed: ");
    if (!strchr(text, ',') || strpbrk(text, "([{") || k < 0 || tls_keys[k].fixed || !allowed)
        return; /* range(0,0) is a range, not a list */
    char list[400] = "", rest[TLS_ERRMSG];
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%.*s", list[0] ? ", " : "",
                 (int)n, p);
        p += n + (p[n] == ',');
        p += strspn(p, " ");
    }
    snprintf(rest, sizeof(rest), "%s", allowed);
    snprintf(allowed, TLS_ERRMSG - (size_t)(allowed - err), "; to sweep it: --set '%s%s=[%s]'%s",
             is_named_axis(k) ? "" : "grid.", tls_keys[k].name, list, rest);
}

static int apply_set(tls_config *c, const char *set, tls_key_origin *org, char *err) {
    char where[300];
    snprintf(where, sizeof(where), "--set %.280s", set);
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return tls_input_error(err, where, "--set",
                               "expected KEY=VALUE; allowed: e.g. --set train.epochs=5 or "
                               "--set grid.seed=[0,1,2]");
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - set), set);
    const char *val = eq + 1;
    yaml_document_t doc;
    TLS_TRY(load_doc(&doc, where, (const unsigned char *)val, strlen(val), NULL, err));
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc;
    if (!root) {
        int k = tls_key_find(key);
        char al[TLS_KEY_ALLOWED];
        rc = k < 0 ? unknown_key(err, where, key)
                   : tls_input_error(err, where, key, "no value given; allowed: %s",
                                     tls_key_allowed(&tls_keys[k], al));
    } else {
        rc = set_key(c, key, &doc, root, where, org, 1, err);
        if (rc == TLS_ERR_INPUT) hint_sweep(err, key, root);
    }
    yaml_document_delete(&doc);
    return rc;
}

/* ---- loading -------------------------------------------------------------- */

/* Starts from the engine's defaults and the built-in default sweep. */
static int load_defaults(tls_config *c, tls_key_origin *org, char *err) {
    c->base.eng = tls_engine_defaults();
    c->naxes = TLS_NAMED_AXES;
    yaml_document_t doc;
    TLS_TRY(load_doc(&doc, "(built-in default)", (const unsigned char *)tls_default_config_yaml,
                     strlen(tls_default_config_yaml), NULL, err));
    int rc = apply_doc(c, &doc, "(built-in default)", org, 0, err);
    yaml_document_delete(&doc);
    snprintf(c->source, sizeof(c->source), "(built-in default)");
    return rc;
}

/* Applies the file at path, or the text named path, to c. */
static int load_user(tls_config *c, const char *path, const char *text, tls_key_origin *org,
                     char *err) {
    yaml_document_t doc;
    snprintf(c->source, sizeof(c->source), "%s", path);
    TLS_TRY(text ? load_doc(&doc, path, (const unsigned char *)text, strlen(text), NULL, err)
                 : load_file(&doc, path, err));
    int rc = apply_doc(c, &doc, path, org, 1, err);
    yaml_document_delete(&doc);
    return rc;
}

/* Copies the named axes' first values into the base point. */
static void base_point(tls_config *c) {
    for (int a = 0; a < TLS_NAMED_AXES; a++)
        memcpy((char *)c + c->axis[a].off, c->axis[a].vals, c->axis[a].size);
}

/* The decide modes: the seeds are 0 .. decide.max_seeds - 1 unless grid.seed
 * lists them (then decide.max_seeds is their number). */
static int decide_seeds(tls_config *c, tls_key_origin *org, char *err) {
    if (c->decide.mode == TLS_MODE_GRID) return TLS_OK;
    int km = tls_key_find("decide.max_seeds");
    tls_axis *seed = &c->axis[TLS_AXIS_SEED];
    if (org[TLS_AXIS_SEED].user) {
        if (org[km].user && c->decide.max_seeds != seed->n)
            return tls_input_error(err, org[km].where, "decide.max_seeds",
                                   "%d, but grid.seed (%s) lists %d seeds; allowed: one of the "
                                   "two (in the decide modes the seeds are 0 .. max_seeds - 1 "
                                   "unless grid.seed lists them)",
                                   c->decide.max_seeds, org[TLS_AXIS_SEED].axis_where, seed->n);
        c->decide.max_seeds = seed->n;
        return TLS_OK;
    }
    char text[64];
    snprintf(text, sizeof(text), "range(0, %d)", c->decide.max_seeds);
    yaml_document_t doc;
    TLS_TRY(load_doc(&doc, org[km].where, (const unsigned char *)text, strlen(text), NULL, err));
    int rc = tls_axis_build(seed, c, TLS_AXIS_SEED, &doc, yaml_document_get_root_node(&doc),
                            org[km].where, err);
    yaml_document_delete(&doc);
    snprintf(org[TLS_AXIS_SEED].axis_where, sizeof(org[TLS_AXIS_SEED].axis_where), "%s",
             org[km].where);
    return rc;
}

/* data.source and data.target given as relative paths in the configuration
 * file at path are read from that file's directory, wherever tlsweep runs
 * (given with --set: from the current directory); c->data_where says where
 * each was set, for the messages about the files. */
static int resolve_data_paths(tls_config *c, const tls_key_origin *org, const char *path,
                              char *err) {
    const char *keys[2] = {"data.source", "data.target"};
    char *vals[2] = {c->data_source, c->data_target};
    const char *slash = path ? strrchr(path, '/') : NULL;
    for (int i = 0; i < 2; i++) {
        const tls_key_origin *o = &org[tls_key_find(keys[i])];
        snprintf(c->data_where[i], sizeof(c->data_where[i]), "%s", o->user ? o->where : "");
        size_t n = path ? strlen(path) : 0;
        int from_file = n && !strncmp(o->where, path, n) && o->where[n] == ':';
        if (!from_file || !slash || !vals[i][0] || vals[i][0] == '/') continue;
        char joined[sizeof(c->data_source)];
        int len = snprintf(joined, sizeof(joined), "%.*s/%s", (int)(slash - path), path, vals[i]);
        if (len < 0 || (size_t)len >= sizeof(joined))
            return tls_input_error(err, o->where, keys[i],
                                   "'%s' read from the configuration file's directory is %d "
                                   "characters long; allowed: a path of at most %zu",
                                   vals[i], len, sizeof(joined) - 1);
        memcpy(vals[i], joined, (size_t)len + 1);
    }
    return TLS_OK;
}

static int load(const tls_config **out, const char *path, const char *text, const char *const *sets,
                int nsets, char *err) {
    *out = NULL;
    err[0] = '\0';
    tls_config *c = calloc(1, sizeof(*c));
    tls_key_origin *org = calloc((size_t)tls_nkeys, sizeof(*org));
    int rc = TLS_ERR_NOMEM;
    if (!c || !org) goto done;
    rc = load_defaults(c, org, err);
    if (rc == TLS_OK && (path || text)) rc = load_user(c, path, text, org, err);
    for (int i = 0; i < nsets && rc == TLS_OK; i++) rc = apply_set(c, sets[i], org, err);
    if (rc == TLS_OK) rc = resolve_data_paths(c, org, text ? NULL : path, err);
    if (rc) goto done;
    tls_rules_file_defaults(c, org);
    rc = decide_seeds(c, org, err);
    if (rc == TLS_OK) rc = tls_rules_check(c, org, &c->grid_size, err);
    if (rc) goto done;
    tls_rules_shift_meaning(c);
    base_point(c);
done:
    free(org);
    if (rc) {
        if (rc == TLS_ERR_NOMEM && !err[0]) snprintf(err, TLS_ERRMSG, "out of memory");
        const tls_config *dead = c;
        tls_config_destroy(&dead);
        return rc;
    }
    *out = c;
    return TLS_OK;
}

int tls_config_load(const tls_config **out, const char *path, const char *const *sets, int nsets,
                    char *err) {
    return load(out, path, NULL, sets, nsets, err);
}

int tls_config_load_text(const tls_config **out, const char *name, const char *text, char *err) {
    return load(out, name, text, NULL, 0, err);
}

void tls_config_destroy(const tls_config **c) {
    if (!*c) return;
    tls_config *owned = (tls_config *)*c; /* the loader's allocation, now given back */
    for (int a = 0; a < owned->naxes; a++) tls_axis_free(&owned->axis[a]);
    free(owned);
    *c = NULL;
}

/* ---- canonical text ------------------------------------------------------ */

/* Canonical YAML, sections in table order, the grid first. `for_hash`:
 * leave out output.sync_seconds, which changes nothing in the file, and the
 * decide keys of a grid's run, which change nothing in it either (so that
 * the hash of every grid sweep is what it was before they existed). */
static tls_sbuf yaml_text(const tls_config *c, int for_hash) {
    tls_sbuf b = for_hash ? tls_sbuf_hasher() : (tls_sbuf){0};
    char section[32] = "";
    for (int k = 0; k < tls_nkeys; k++) {
        const tls_key *kd = &tls_keys[k];
        if (for_hash && !strcmp(kd->name, "output.sync_seconds")) continue;
        if (for_hash && !strncmp(kd->name, "decide.", 7) && c->decide.mode == TLS_MODE_GRID)
            continue;
        const char *dot = strchr(kd->name, '.');
        int sl = (int)(dot - kd->name);
        if (strncmp(section, kd->name, (size_t)sl) || section[sl]) {
            snprintf(section, sizeof(section), "%.*s", sl, kd->name);
            tls_sbuf_printf(&b, "%s:\n", section);
        }
        if (is_named_axis(k)) {
            tls_axis_yaml(&b, dot + 1, &c->axis[k]);
            if (k == TLS_NAMED_AXES - 1)
                for (int a = TLS_NAMED_AXES; a < c->naxes; a++)
                    tls_axis_yaml(&b, c->axis[a].key_name, &c->axis[a]);
            continue;
        }
        if (tls_axis_of(c, k)) {
            tls_sbuf_printf(&b, "  # %s: swept (grid.%s)\n", dot + 1, kd->name);
            continue;
        }
        tls_sbuf_printf(&b, "  %s: ", dot + 1);
        tls_key_print(&b, c, k);
        tls_sbuf_printf(&b, "\n");
    }
    return b;
}

char *tls_config_yaml(const tls_config *c) {
    return yaml_text(c, 0).s;
}

uint64_t tls_config_hash(const tls_config *c) {
    return yaml_text(c, 1).h;
}
