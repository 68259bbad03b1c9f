/* test_core: the sweep's core modules without MPI and without timing --
 * grid, config, journal, state, Slurm times. Each check names what it
 * shows; the program exits non-zero when any fails. */
#include "tlsweep/check.h"
#include "tlsweep/config.h"
#include "tlsweep/grid.h"
#include "tlsweep/journal.h"
#include "tlsweep/keys.h"
#include "tlsweep/result.h"
#include "tlsweep/slurm.h"
#include "tlsweep/state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int checks, failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static char tmpdir[256];

/* ---- grid ------------------------------------------------------------------------- */

typedef struct {
    int nd;
    const int64_t *dims;
    int64_t next; /* the index the next box must start at */
    int ok, boxes;
} box_check;

static int on_box(void *ctx, const int64_t *start, const int64_t *count) {
    box_check *b = ctx;
    /* a box is row-major contiguous: its first index is where the last one ended */
    int64_t first = 0, size = 1;
    for (int a = 0; a < b->nd; a++) first = first * b->dims[a] + start[a], size *= count[a];
    int inner_full = 1, seen_partial = 0;
    for (int a = 0; a < b->nd; a++) {
        if (start[a] < 0 || count[a] < 1 || start[a] + count[a] > b->dims[a]) b->ok = 0;
        if (seen_partial && (start[a] != 0 || count[a] != b->dims[a])) inner_full = 0;
        if (count[a] > 1 || (count[a] == 1 && a == b->nd - 1)) seen_partial = 1;
    }
    if (first != b->next || !inner_full) b->ok = 0;
    b->next += size;
    b->boxes++;
    return 0;
}

static void test_grid_boxes(void) {
    unsigned seed = 7;
    int worst = 0;
    for (int trial = 0; trial < 3000; trial++) {
        int64_t dims[6];
        int nd = 1 + (int)(rand_r(&seed) % 6);
        int64_t total = 1;
        for (int a = 0; a < nd; a++) dims[a] = 1 + rand_r(&seed) % 5, total *= dims[a];
        int64_t lo = rand_r(&seed) % (total + 1), hi = lo + rand_r(&seed) % (total - lo + 1);
        box_check b = {nd, dims, lo, 1, 0};
        tls_grid_boxes(nd, dims, lo, hi, on_box, &b);
        CHECK(b.ok && b.next == (hi > lo ? hi : lo),
              "boxes of [%lld, %lld) over %d dims cover it once, in order", (long long)lo,
              (long long)hi, nd);
        CHECK(b.boxes <= (hi > lo ? 2 * nd - 1 : 0), "at most 2*nd-1 boxes (got %d for nd %d)",
              b.boxes, nd);
        if (b.boxes > worst) worst = b.boxes;
    }
    CHECK(worst >= 5, "the trials reached multi-box ranges (worst %d)", worst);
}

static void test_parts(void) {
    for (int64_t size = 1; size < 40; size++)
        for (int n = 1; n <= 7 && n <= size; n++) {
            int64_t seen = 0, lo = size, hi = 0;
            for (int k = 1; k <= n; k++) {
                tls_part p = {.k = k, .n = n};
                int64_t c = tls_part_count(size, p);
                if (c < lo) lo = c;
                if (c > hi) hi = c;
                for (int64_t pos = 0; pos < c; pos++) {
                    int64_t idx = tls_part_index(p, pos);
                    CHECK(idx >= 0 && idx < size && tls_part_has(p, idx), "part index in range");
                    seen += idx + 1;
                }
            }
            CHECK(seen == size * (size + 1) / 2, "every index in exactly one of %d parts of %lld",
                  n, (long long)size);
            CHECK(hi - lo <= 1, "parts balanced within one (%lld..%lld)", (long long)lo,
                  (long long)hi);
        }
    /* parts by cells (the decide modes): a grid of pre x seeds x stride indices, the
     * cells being (pre, post); every cell in one part with all its seeds, positions
     * the part's indices in ascending order */
    for (int pre = 1; pre <= 5; pre++)
        for (int seeds = 1; seeds <= 4; seeds++)
            for (int stride = 1; stride <= 6; stride++)
                for (int n = 1; n <= 5 && n <= pre * stride; n++) {
                    int64_t size = (int64_t)pre * seeds * stride, seen = 0;
                    for (int k = 1; k <= n; k++) {
                        tls_part p = {k, n, seeds, stride};
                        int64_t c = tls_part_count(size, p), prev = -1, mine = 0;
                        for (int64_t idx = 0; idx < size; idx++) {
                            int64_t cell = (idx / (seeds * stride)) * stride + idx % stride;
                            int has = tls_part_has(p, idx);
                            CHECK(has == (cell % n == k - 1) &&
                                      tls_part_which(p, idx) == cell % n + 1,
                                  "cell %lld is in part %lld of %d", (long long)cell,
                                  (long long)(cell % n + 1), n);
                            CHECK(tls_part_pos(p, idx) == mine,
                                  "the position of %lld is the count "
                                  "below it",
                                  (long long)idx);
                            mine += has;
                        }
                        CHECK(mine == c, "count of part %d/%d: %lld", k, n, (long long)c);
                        for (int64_t pos = 0; pos < c; pos++) {
                            int64_t idx = tls_part_index(p, pos);
                            CHECK(idx > prev && idx < size && tls_part_has(p, idx) &&
                                      tls_part_pos(p, idx) == pos,
                                  "position %lld of part %d/%d (%d x %d x %d) is index %lld",
                                  (long long)pos, k, n, pre, seeds, stride, (long long)idx);
                            prev = idx;
                            seen += idx + 1;
                        }
                    }
                    CHECK(seen == size * (size + 1) / 2, "every index in one part by cells");
                }
}

/* ---- config ----------------------------------------------------------------------- */

static const tls_config *load(const char *text, char *err) {
    const tls_config *c = NULL;
    if (tls_config_load_text(&c, "t.yaml", text, err) != TLS_OK) return NULL;
    return c;
}

static void expect_error(const char *text, const char *part) {
    char err[TLS_ERRMSG];
    const tls_config *c = load(text, err);
    CHECK(!c && strstr(err, part) && strstr(err, "allowed"), "'%s' is refused with '%s' (got: %s)",
          text, part, c ? "accepted" : err);
    tls_config_destroy(&c);
}

static void test_config(void) {
    char err[TLS_ERRMSG];
    const tls_config *c = load("grid: {shift: [90, 0, 45], seed: [2, 1], train.lr: [0.01, 0.001], "
                               "svm.gamma: [scale, auto]}\n",
                               err);
    CHECK(c != NULL, "a grid with extra axes loads (%s)", c ? "" : err);
    if (!c) return;
    const tls_axis *sh = &c->axis[TLS_AXIS_SHIFT];
    CHECK(sh->n == 3 && sh->num[0] == 0 && sh->num[1] == 45 && sh->num[2] == 90,
          "numeric axes are stored ascending");
    CHECK(c->naxes == 6 && !strcmp(c->axis[4].dim, "train_lr") &&
              !strcmp(c->axis[5].dim, "svm_gamma"),
          "extra axes follow the named ones, in the order written, named key with '_'");
    CHECK(c->axis[4].num[0] == 0.001, "extra numeric axes ascending too");
    CHECK(!strcmp(c->axis[5].text[0], "scale") && !strcmp(c->axis[5].text[1], "auto"),
          "string axes keep the order written");
    CHECK(c->grid_size == 3 * 3 * 2 * 2 * 2 * 2, "grid size is the product (%lld)",
          (long long)c->grid_size);
    /* every index maps to coordinates and back, and to the settings of its point */
    int ok = 1;
    for (int64_t i = 0; i < c->grid_size; i++) {
        int64_t co[TLS_MAX_AXES];
        tls_grid_coords(c, i, co);
        tls_settings st;
        tls_grid_settings(c, i, &st);
        ok &= tls_grid_index(c, co) == i && st.pt.shift == sh->num[co[0]] &&
              st.pt.seed == c->axis[TLS_AXIS_SEED].inum[co[3]] &&
              st.eng.lr == c->axis[4].num[co[4]] &&
              st.eng.svm.gamma_mode == (co[5] == 0 ? TLS_GAMMA_SCALE : TLS_GAMMA_AUTO) &&
              st.eng.svm.C == 1.0; /* svm.gamma's axis leaves svm.C alone */
    }
    CHECK(ok, "index <-> coordinates <-> settings agree for every point");
    /* the canonical text reads back as the same configuration */
    char *y = tls_config_yaml(c);
    const tls_config *d = load(y, err);
    CHECK(d && tls_config_hash(d) == tls_config_hash(c), "canonical YAML round-trips (%s)",
          d ? "" : err);
    CHECK(y && strstr(y, "lr: 0.001") == NULL && strstr(y, "train.lr: [0.001, 0.01]"),
          "a swept key appears in grid: only");
    free(y);
    tls_config_destroy(&d);
    tls_config_destroy(&c);

    c = load("grid: {seed: [9007199254740993, 0]}\ntrain: {lr: 0.6}\n", err);
    CHECK(c && c->axis[TLS_AXIS_SEED].inum[1] == 9007199254740993LL, "seeds above 2^53 stay exact");
    y = c ? tls_config_yaml(c) : NULL;
    CHECK(y && strstr(y, "lr: 0.6\n") && strstr(y, "9007199254740993"),
          "numbers print in their shortest exact form");
    free(y);
    tls_config_destroy(&c);

    expect_error("grid: {seed: [0, 1, 0]}\n", "repeats element 1");
    expect_error("train: {lr: 0.1}\ngrid: {train.lr: [0.1, 0.2]}\n", "set here and swept in grid");
    expect_error("grid: {output.embeddings: [true, false]}\n", "cannot be swept");
    expect_error("grid: {data.source: [a.h5, b.h5]}\n", "cannot be swept");
    expect_error("grid: {train.lr: [0.1, -1]}\n", "element 2");
    expect_error("train: {epochs: 5}\n---\ntrain: {epochs: 6}\n", "a second YAML document");
    expect_error("{}\ntrain: {epochs: 5}\n", "(syntax)");
    expect_error("train: {epochs: 5}\ntrain: {lr: 0.1}\n", "section given twice");
    expect_error("grid: {train.lrr: [1, 2]}\n", "did you mean grid.train.lr");
    expect_error("grid: {seed: [1e300]}\n", "is not an integer");
    /* 65536^4 = 2^64 configurations: refused in checked arithmetic */
    size_t n = 65536, len = n * 8 + 64;
    char *big = malloc(4 * len + 64), *p = big;
    p += sprintf(p, "grid:\n");
    const char *axes[] = {"shift", "lambda", "n_target", "seed"};
    for (int a = 0; a < 4; a++) {
        p += sprintf(p, "  %s: [", axes[a]);
        for (size_t i = 0; i < n; i++) p += sprintf(p, "%s%zu", i ? "," : "", i + (a == 2 ? 2 : 0));
        p += sprintf(p, "]\n");
    }
    expect_error(big, "more than one sweep handles");
    free(big);
}

/* ---- keys ------------------------------------------------------------------------- */

static const char *const fruit_words[] = {"apple", "pear", "plum", NULL};
static const char *fruit(int i) {
    return i >= 0 && i < 3 ? fruit_words[i] : NULL;
}

/* Every key row is complete for its type, and the rows of a section are adjacent (the
 * canonical YAML writes sections in table order). */
static void test_key_table(void) {
    for (int k = 0; k < tls_nkeys; k++) {
        const tls_key *kd = &tls_keys[k];
        const tls_key_type *t = &tls_key_types[kd->type];
        int exact = t->vtype == TLS_V_INT || t->vtype == TLS_V_BOOL;
        CHECK(kd->type >= 0 && kd->type < TLS_K_NTYPES && !t->parse != !t->parse_node && t->print &&
                  exact == (t->exact != NULL) && (!t->ranges || t->number),
              "%s: its type's row is complete", kd->name);
        CHECK(kd->type == TLS_K_ENUM ? !kd->allowed && !kd->names != !kd->name_of
                                     : kd->allowed && !kd->names && !kd->name_of,
              "%s: an enum has its words (an array or a function) and no allowed text; other "
              "keys have allowed text",
              kd->name);
        CHECK(kd->off + kd->size <= sizeof(tls_config) && kd->size > 0,
              "%s: its field is inside tls_config", kd->name);
        CHECK(tls_key_find(kd->name) == k && strchr(kd->name, '.'), "%s: one dotted name",
              kd->name);
        CHECK((k < TLS_NAMED_AXES) == !strncmp(kd->name, "grid.", 5),
              "%s: the named axes are the first rows, in axis order", kd->name);
        CHECK(kd->fixed || (kd->units && kd->long_name),
              "%s: a sweepable key has units and meaning", kd->name);
        size_t sl = (size_t)(strchr(kd->name, '.') - kd->name) + 1; /* "section." */
        int before = 0;
        for (int j = 0; j + 1 < k; j++) before |= !strncmp(tls_keys[j].name, kd->name, sl);
        CHECK(!before || !strncmp(tls_keys[k - 1].name, kd->name, sl),
              "%s: its section's rows are adjacent", kd->name);
    }
}

static void test_keys(void) {
    test_key_table();
    /* an enum's words where they are declared: a NULL-terminated array or a function */
    tls_key a = {.name = "t.fruit", .type = TLS_K_ENUM, .names = fruit_words};
    tls_key f = {.name = "t.fruit", .type = TLS_K_ENUM, .name_of = fruit};
    char buf[TLS_KEY_ALLOWED], err[TLS_ERRMSG];
    CHECK(!strcmp(tls_key_allowed(&a, buf), "apple, pear or plum") &&
              !strcmp(tls_key_allowed(&f, buf), "apple, pear or plum"),
          "an enum's allowed text lists its words (got '%s')", buf);
    int v = -1;
    CHECK(tls_key_types[TLS_K_ENUM].parse(&f, &v, "plum", "t.yaml:1", err) == TLS_OK && v == 2,
          "an enum reads a word from a function as its index (%d)", v);
    CHECK(tls_key_types[TLS_K_ENUM].parse(&a, &v, "fig", "t.yaml:1", err) == TLS_ERR_INPUT &&
              !strcmp(err, "t.yaml:1: t.fruit: 'fig' is not one of its words; allowed: apple, "
                           "pear or plum"),
          "an unknown word is refused with the words (%s)", err);
    tls_sbuf b = {0};
    tls_key_types[TLS_K_ENUM].print(&b, &f, &v);
    CHECK(b.s && !strcmp(b.s, "plum"), "an enum prints its word");
    free(b.s);
    expect_error("align: {loss: mmdd}\n", "allowed: mmd, coral, dann or none");
    expect_error("grid: {finetune.strategy: [all, al]}\n",
                 "element 2: 'al' is not one of its words; did you mean all? allowed: all, "
                 "classifier or l2sp");
}

/* ---- journal ---------------------------------------------------------------------- */

typedef struct {
    int64_t seen[64];
    int n;
} collected;

static int collect(void *ctx, int file, int64_t offset, const tls_record_meta *meta,
                   const tls_result *r) {
    collected *c = ctx;
    (void)file, (void)offset;
    if (c->n < 64 && r->s.acc[0] == (double)meta->index / 100) c->seen[c->n++] = meta->index;
    return 0;
}

static void write_records(const char *path, uint64_t id, int n, int64_t first, tls_result *r,
                          size_t ab) {
    tls_journal *j = NULL;
    CHECK(tls_journal_open(&j, path, id, ab, 3600) == TLS_OK, "journal opens");
    for (int i = 0; i < n && j; i++) {
        tls_record_meta m;
        memset(&m, 0, sizeof(m));
        m.index = first + i;
        r->s.status = TLS_STATUS_DONE;
        for (int k = 0; k < TLS_NMETHODS; k++) r->s.mstatus[k] = TLS_STATUS_DONE;
        r->s.negative_transfer = 0;
        r->s.acc[0] = (double)m.index / 100;
        tls_journal_append(j, &m, r, NULL);
    }
    tls_journal_close(&j);
}

static collected scan_dir(const char *dir, uint64_t id, int64_t grid, tls_result *r, size_t ab,
                          tls_journal_stats *st, int *rc) {
    collected c = {{0}, 0};
    tls_journal_reader *rd = NULL;
    *rc = tls_state_journal_reader(&rd, dir, id, grid, ab);
    if (*rc == TLS_OK) *rc = tls_journal_scan(rd, r, collect, &c, st);
    tls_journal_reader_close(&rd);
    return c;
}

static void test_journal(void) {
    tls_engine_params p = tls_engine_defaults();
    p.n_source = 20, p.n_test = 10, p.epochs = 3, p.finetune_epochs = 2;
    tls_result *r = NULL;
    tls_result_create(&r, &p);
    size_t ab = tls_journal_array_bytes(r, 0);
    char dir[300], path[400];
    snprintf(dir, sizeof(dir), "%s/j", tmpdir);
    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/journal-000001-000000.bin", dir);
    write_records(path, 42, 10, 0, r, ab);
    tls_journal_stats st;
    int rc;
    collected c = scan_dir(dir, 42, 100, r, ab, &st, &rc);
    CHECK(rc == TLS_OK && c.n == 10 && st.records == 10 && st.damaged == 0, "10 records read back");
    /* one flipped byte inside the 4th record loses that record only */
    struct stat sb;
    stat(path, &sb);
    size_t rec = (size_t)sb.st_size / 10;
    int fd = open(path, O_RDWR);
    unsigned char b;
    CHECK(pread(fd, &b, 1, (off_t)(3 * rec + rec / 2)) == 1, "read a byte");
    b ^= 0x10;
    CHECK(pwrite(fd, &b, 1, (off_t)(3 * rec + rec / 2)) == 1, "flip a byte");
    close(fd);
    c = scan_dir(dir, 42, 100, r, ab, &st, &rc);
    CHECK(c.n == 9 && st.damaged == 1 && c.seen[3] == 4,
          "a flipped byte loses one record, the reader resynchronises (got %d, damaged %lld)", c.n,
          (long long)st.damaged);
    /* a journal copied in from another sweep is refused */
    snprintf(path, sizeof(path), "%s/journal-000002-000000.bin", dir);
    write_records(path, 43, 5, 50, r, ab);
    c = scan_dir(dir, 42, 100, r, ab, &st, &rc);
    CHECK(c.n == 9 && st.foreign == 5, "records of another sweep are refused (%lld)",
          (long long)st.foreign);
    /* a record with a valid CRC and an index outside the grid is refused */
    unlink(path);
    write_records(path, 42, 3, 98, r, ab); /* 98, 99, 100: the last is outside a grid of 100 */
    c = scan_dir(dir, 42, 100, r, ab, &st, &rc);
    CHECK(c.n == 11 && st.damaged == 2, "an out-of-grid index is refused, not used (%d)", c.n);
    /* a journal the reader cannot read is an error, not an empty journal */
    snprintf(path, sizeof(path), "%s/journal-000003-000000.bin", dir);
    mkdir(path, 0755);
    c = scan_dir(dir, 42, 100, r, ab, &st, &rc);
    CHECK(rc != TLS_OK, "an unreadable journal is an error that reaches the caller");
    rmdir(path);
    /* deletion is detected, and what the journal holds can be saved again */
    snprintf(path, sizeof(path), "%s/journal-000004-000000.bin", dir);
    tls_journal *j = NULL;
    tls_journal_open(&j, path, 42, ab, 3600);
    tls_record_meta m;
    memset(&m, 0, sizeof(m));
    m.index = 60;
    r->s.acc[0] = 0.6;
    tls_journal_append(j, &m, r, NULL);
    CHECK(tls_journal_check(j) == TLS_OK, "a journal in place checks fine");
    unlink(path);
    CHECK(tls_journal_check(j) != TLS_OK, "a deleted journal is noticed");
    CHECK(tls_journal_salvage(j, path) == TLS_OK && tls_journal_check(j) == TLS_OK,
          "its records are saved again");
    tls_journal_close(&j);
    c = scan_dir(dir, 42, 100, r, ab, &st, &rc);
    CHECK(c.n == 12 && c.seen[11] == 60, "the saved record reads back");
    tls_result_destroy(&r);
}

/* ---- state ------------------------------------------------------------------------ */

static void test_state(void) {
    char dir[300], err[TLS_ERRMSG];
    snprintf(dir, sizeof(dir), "%s/out.h5.tlsweep.d", tmpdir);
    tls_state s = {"", -1}, t = {"", -1};
    CHECK(tls_state_lock(&s, dir, err) == TLS_OK, "the first run takes the lock");
    CHECK(tls_state_lock(&t, dir, err) == TLS_ERR_INPUT && strstr(err, "another tlsweep run"),
          "a second run is refused");
    tls_manifest m = {TLS_STATE_VERSION,     0x1234, 0xabcd, {1, 2}, 120, {.k = 2, .n = 3},
                      "2026-01-01T00:00:00Z"};
    CHECK(tls_state_reset(&s, &m, "grid: {}\n") == TLS_OK, "reset writes a manifest");
    CHECK(tls_state_lock(&t, dir, err) == TLS_ERR_INPUT,
          "the lock is held through --force's reset");
    tls_manifest back;
    CHECK(tls_manifest_read(dir, &back, err) == TLS_OK && back.sweep_id == 0x1234 &&
              back.part.k == 2 && back.part.n == 3 && back.grid_size == 120,
          "the manifest reads back");
    char path[400];
    snprintf(path, sizeof(path), "%s/manifest", dir);
    FILE *f = fopen(path, "w");
    fputs("tlsweep-state 1\nconfig_hash 1\n", f);
    fclose(f);
    CHECK(tls_manifest_read(dir, &back, err) == TLS_ERR_INPUT &&
              strstr(err, "another tlsweep version"),
          "a manifest of another format version is named as such");
    f = fopen(path, "w");
    fputs("tlsweep-state 2\ngrid_size -5\n", f);
    fclose(f);
    CHECK(tls_manifest_read(dir, &back, err) == TLS_ERR_INPUT && strstr(err, "damaged"),
          "a damaged manifest is refused");
    tls_run run = {
        {"2026-01-01T00:00:00Z", "", "tlsweep run 'a\tb'\nc", "2", "h", "cpu", "", "", "v"}};
    CHECK(tls_state_run_write(&s, 1, &run) == TLS_OK && tls_state_run_write(&s, 2, &run) == TLS_OK,
          "runs are recorded");
    tls_runs rs;
    CHECK(tls_state_runs_read(dir, &rs) == TLS_OK && rs.n == 2 &&
              !strcmp(rs.run[1].field[2], run.field[2]),
          "run records read back with tabs and newlines intact");
    tls_runs_free(&rs);
    CHECK(tls_state_remove(&s) == TLS_OK && access(dir, F_OK) != 0, "the state is removed");
    char name[400], buf[600];
    memset(name, 'x', 250);
    name[250] = '\0';
    CHECK(tls_state_dir(buf, sizeof(buf), name, err) == TLS_ERR_INPUT && strstr(err, "too long"),
          "an output name whose state directory name exceeds NAME_MAX is bad input");
}

static void test_state_names(void) {
    int run = -9, rank = -9;
    char path[700];
    tls_state_journal_path("d", 12, 3, path, sizeof(path));
    CHECK(!strcmp(path, "d/journal-000012-000003.bin"), "journal path %s", path);
    CHECK(tls_state_journal_parse(path + 2, &run, &rank) && run == 12 && rank == 3,
          "the name it builds parses back (%d %d)", run, rank);
    tls_state_journal_path("d", TLS_STATE_MAX_RUNS, 0, path, sizeof(path));
    CHECK(tls_state_journal_parse(path + 2, &run, &rank) && run == TLS_STATE_MAX_RUNS,
          "the last run's journal parses back (%d)", run);
    tls_state_journal_path("d", 0, -1, path, sizeof(path));
    CHECK(tls_state_journal_parse(path + 2, &run, &rank) && run == 0 && rank == -1,
          "the import journal's name parses back");
    const char *strays[] = {"journal-zzz.bin",
                            "journal-1000000-000000.bin",
                            "journal-999999-000000.bin", /* past TLS_STATE_MAX_RUNS */
                            "journal-010000-000000.bin",
                            "journal-000000-000000.bin",
                            "journal-00001-000000.bin",
                            "journal-000001-000000.bin.bak",
                            "journal-nodeB-000001-000000.bin",
                            "journal-0000x1-000000.bin",
                            NULL};
    for (int i = 0; strays[i]; i++)
        CHECK(!tls_state_journal_parse(strays[i], &run, &rank), "%s is not a journal's name",
              strays[i]);
    /* the listing: the state's own journals in superseding order, strays counted apart */
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/names", tmpdir);
    mkdir(dir, 0755);
    const char *files[] = {"journal-000002-000001.bin",
                           "journal-zzz.bin",
                           "journal-000000-import.bin",
                           "journal-000002-000000.bin",
                           "journal-000001-000000.bin",
                           "notes.txt",
                           NULL};
    for (int i = 0; files[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "w");
        if (f) fclose(f);
    }
    char **paths = NULL;
    int n = 0;
    CHECK(tls_state_journals(dir, &paths, &n) == TLS_OK && n == 4, "4 journals listed (%d)", n);
    const char *order[] = {"journal-000000-import.bin", "journal-000001-000000.bin",
                           "journal-000002-000000.bin", "journal-000002-000001.bin"};
    for (int i = 0; i < n && i < 4; i++)
        CHECK(!strcmp(strrchr(paths[i], '/') + 1, order[i]), "journal %d is %s", i, paths[i]);
    tls_state_journals_free(paths, n);
    char first[64];
    CHECK(tls_state_strays(dir, first, sizeof(first)) == 2, "two strays counted");
}

static void test_slurm_formats(void) {
    struct {
        const char *s;
        double want;
    } cases[] = {{"3600", 3600},        {"90.5", 90.5},   {"10:00", 600},  {"1:00:00", 3600},
                 {"1-00:00:00", 86400}, {"2-03", 183600}, {"0x10", -1},    {"inf", -1},
                 {"nan", -1},           {"-5", -1},       {"1:2:3:4", -1}, {"", -1},
                 {"1e3", -1},           {"0", -1},        {"1..2", -1},    {"5-", -1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double got = tls_parse_time_limit(cases[i].s);
        CHECK(got == cases[i].want, "--time-limit '%s' gives %g (want %g)", cases[i].s, got,
              cases[i].want);
    }
}

/* ---- the table of result fields -------------------------------------------------- */

static void test_fields(void) {
    /* the reasons' CF flags are their names, in order */
    char meanings[256] = "", values[64] = "";
    for (int i = 0; i < TLS_TS_NREASONS; i++) {
        snprintf(meanings + strlen(meanings), sizeof(meanings) - strlen(meanings), "%s%s",
                 i ? " " : "", tls_ts_reason_names[i]);
        snprintf(values + strlen(values), sizeof(values) - strlen(values), "%s%d", i ? " " : "", i);
    }
    CHECK(!strcmp(meanings, TLS_TS_REASON_MEANINGS), "TLS_TS_REASON_MEANINGS is not %s", meanings);
    CHECK(!strcmp(values, TLS_TS_REASON_VALUES), "TLS_TS_REASON_VALUES is not %s", values);
    /* the variables: names distinct; per network, none for the SVMs; per score, one each */
    char names[TLS_MAX_VARS][64], ln[256];
    int n = 0, svm_entropy = 0, scores = 0;
    for (int k = 0; k < tls_nfields; k++)
        for (int i = 0; i < tls_field_values(&tls_fields[k]); i++) {
            if (!tls_field_var(&tls_fields[k], i, names[n], 64, ln, sizeof(ln))) {
                svm_entropy += tls_fields[k].per == TLS_PER_NETWORK;
                continue;
            }
            for (int j = 0; j < n; j++) CHECK(strcmp(names[j], names[n]), "%s twice", names[n]);
            scores += !strncmp(names[n], "ts_", 3) && !strstr(names[n], "_reason");
            n++;
        }
    CHECK(svm_entropy == 4, "%d SVM variables left out of the per-network fields (want 4)",
          svm_entropy);
    CHECK(scores == TLS_TS_NSCORES, "%d ts_ variables (want %d)", scores, TLS_TS_NSCORES);
}

int main(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_core.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_grid_boxes();
    test_parts();
    test_config();
    test_keys();
    test_journal();
    test_state_names();
    test_state();
    test_slurm_formats();
    test_fields();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    printf("test_core: %d checks, %d failed\n", checks, failures);
    return failures != 0;
}
