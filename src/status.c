#define _GNU_SOURCE /* timegm */
#include "tlsweep/status.h"

#include "tlsweep/bmap.h"

#include "tlsweep/cells.h"
#include "tlsweep/check.h"
#include "tlsweep/grid.h"
#include "tlsweep/journal.h"
#include "tlsweep/progress.h"
#include "tlsweep/state.h"
#include "tlsweep/store.h"
#include "tlsweep/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { SHOWN = 20, REASON = sizeof(((tls_scalars *)0)->reason) };

/* Prints the failed configurations (at most SHOWN) with their reasons. */
static void print_failed(const tls_config *c, tls_part part, int64_t count, const int8_t *status,
                         const char *reasons) {
    int64_t nf = 0;
    for (int64_t p = 0; p < count; p++) nf += status[p] == TLS_STATUS_FAILED;
    if (!nf) return;
    printf("failed (%lld):\n", (long long)nf);
    int64_t shown = 0;
    for (int64_t p = 0; p < count && shown < SHOWN; p++) {
        if (status[p] != TLS_STATUS_FAILED) continue;
        char desc[1024];
        tls_grid_describe(c, tls_part_index(part, p), desc, sizeof(desc));
        printf("  %s: %.*s\n", desc, (int)REASON, reasons + (size_t)p * REASON);
        shown++;
    }
    if (nf > shown) printf("  ... and %lld more\n", (long long)(nf - shown));
}

static void print_counts(const char *what, int64_t count, const int8_t *status) {
    int64_t c[4] = {0, 0, 0, 0};
    for (int64_t p = 0; p < count; p++) c[status[p] >= 0 && status[p] <= 3 ? status[p] : 0]++;
    printf("%s: %lld configurations: %lld done, %lld failed, %lld pending", what, (long long)count,
           (long long)c[1], (long long)c[2], (long long)c[0]);
    if (c[3]) printf(", %lld not needed", (long long)c[3]);
    printf("\n");
}

/* The decide modes: every cell replayed from the accuracies (count x
 * TLS_NMETHODS) of the positions with a record (status done or failed); the
 * positions not needed get status NOT_NEEDED; what the cells are is printed
 * to f. */
static int replay_cells(FILE *f, const tls_config *c, tls_part part, int64_t count,
                        const double *acc, int8_t *status) {
    tls_cell_grid g;
    tls_cell_grid_init(&g, c);
    int64_t n = tls_cells_in(&g, part);
    int K = c->decide.compare.n;
    int8_t *have = malloc((size_t)count + 1), *stop = malloc((size_t)n + 1);
    int8_t *unneeded = malloc((size_t)count + 1);
    tls_cell_decision *out = calloc((size_t)(n * K + 1), sizeof(*out));
    int rc = have && stop && unneeded && out ? TLS_OK : TLS_ERR_NOMEM;
    for (int64_t p = 0; rc == TLS_OK && p < count; p++)
        have[p] = status[p] == TLS_STATUS_DONE || status[p] == TLS_STATUS_FAILED;
    int64_t kept = 0, signs = 0;
    if (rc == TLS_OK && tls_cells_replay(c, part, count, acc, have, out, stop, unneeded) < 0)
        rc = TLS_ERR_NOMEM;
    if (rc == TLS_OK) rc = tls_cells_ebh(c, n, out, &kept, &signs);
    if (rc == TLS_OK) {
        int64_t by[6] = {0};
        for (int64_t j = 0; j < n; j++) by[stop[j]]++;
        fprintf(f,
                "cells: %lld: %lld decided, %lld stopped with a comparison given up (no decision "
                "reachable within max_seeds), %lld with the seed budget spent, %lld open",
                (long long)n, (long long)by[TLS_CELL_DECIDED], (long long)by[TLS_CELL_FUTILE],
                (long long)by[TLS_CELL_BUDGET], (long long)by[TLS_CELL_OPEN]);
        if (c->decide.mode == TLS_MODE_BOUNDARY)
            fprintf(f,
                    ", %lld not run (the map did not need them), %lld left out by "
                    "decide.max_trainings",
                    (long long)by[TLS_CELL_NOT_RUN], (long long)by[TLS_CELL_TRAININGS]);
        fprintf(f,
                "\n  decided by the %s confidence sequence at alpha %g per cell and comparison, "
                "equivalent within delta %g\n",
                tls_cs_names[c->decide.cs], c->decide.alpha, c->decide.delta);
        for (int k = 0; k < K; k++) {
            int64_t d[3][4] = {{0}}, unknown = 0; /* [source][decision] */
            for (int64_t j = 0; j < n; j++) {
                const tls_cell_decision *x = &out[j * K + k];
                if (x->source == TLS_BMAP_UNKNOWN)
                    unknown++;
                else
                    d[x->source][x->decision]++;
            }
            fprintf(f, "  %s:%s: %lld helps, %lld hurts, %lld equivalent, %lld undecided",
                    tls_method_names[c->decide.compare.v[k][0]],
                    tls_method_names[c->decide.compare.v[k][1]], (long long)d[1][TLS_DECIDE_HELPS],
                    (long long)d[1][TLS_DECIDE_HURTS], (long long)d[1][TLS_DECIDE_EQUIVALENT],
                    (long long)d[1][TLS_DECIDE_UNDECIDED]);
            if (c->decide.mode == TLS_MODE_BOUNDARY)
                fprintf(f,
                        "; inferred: %lld helps, %lld hurts, %lld equivalent, %lld undecided; "
                        "%lld unknown",
                        (long long)d[2][TLS_DECIDE_HELPS], (long long)d[2][TLS_DECIDE_HURTS],
                        (long long)d[2][TLS_DECIDE_EQUIVALENT],
                        (long long)d[2][TLS_DECIDE_UNDECIDED], (long long)unknown);
            fprintf(f, "\n");
        }
        if (c->decide.multiplicity == TLS_MULT_EBH)
            fprintf(f, "  e-BH across cells at alpha %g: %lld of %lld helps / hurts kept\n",
                    c->decide.alpha, (long long)kept, (long long)signs);
        for (int64_t p = 0; p < count; p++)
            if (unneeded[p]) status[p] = TLS_STATUS_NOT_NEEDED;
    }
    free(have), free(stop), free(unneeded), free(out);
    return rc;
}

/* ---- a sweep's state: the journals ------------------------------------------------ */

typedef struct {
    int8_t *status;
    char *reasons;
    double *acc; /* (count, TLS_NMETHODS) in the decide modes, else NULL */
    tls_part part;
    int64_t count;
    int last_file_run;   /* the run number of the newest journal files */
    int64_t in_last_run; /* records of that run */
    double seconds_last; /* their wall times, summed, s */
    int64_t n_records;   /* records of every run */
    double seconds_all;  /* their wall times, summed, s */
    tls_journal_reader *rd;
} scan_ctx;

static int note(void *ctx, int file, int64_t offset, const tls_record_meta *meta,
                const tls_result *r) {
    scan_ctx *x = ctx;
    (void)offset;
    if (!tls_part_has(x->part, meta->index)) return 0;
    int64_t p = tls_part_pos(x->part, meta->index);
    if (p >= x->count) return 0;
    x->status[p] = (int8_t)r->s.status;
    memcpy(x->reasons + (size_t)p * REASON, r->s.reason, REASON);
    if (x->acc) memcpy(x->acc + p * TLS_NMETHODS, r->s.acc, sizeof(r->s.acc));
    const char *name = strrchr(tls_journal_reader_path(x->rd, file), '/');
    int run, rank;
    x->n_records++;
    x->seconds_all += meta->seconds;
    if (name && tls_state_journal_parse(name + 1, &run, &rank) && run == x->last_file_run)
        x->in_last_run++, x->seconds_last += meta->seconds;
    return 0;
}

static time_t parse_iso(const char *s) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) return 0;
    return timegm(&tm);
}

/* The state's manifest and configuration, checked against each other; an exit status on
 * failure (the one line printed). */
static int load_state(const char *out, const char *dir, tls_manifest *m, const tls_config **c) {
    char err[TLS_ERRMSG];
    if (tls_manifest_read(dir, m, err) != TLS_OK) {
        fprintf(stderr, "tlsweep: status %s: %s\n", out, err);
        return TLS_EXIT_BAD_INPUT;
    }
    char *text = tls_state_config(dir);
    int rc = text ? tls_config_load_text(c, dir, text, err)
                  : tls_input_error(err, dir, "config.yaml",
                                    "missing, or not a regular file; allowed: a sweep's state "
                                    "(tlsweep run --resume with the sweep's configuration "
                                    "writes it again)");
    free(text);
    if (rc == TLS_OK && ((*c)->grid_size != m->grid_size || tls_config_hash(*c) != m->config_hash))
        rc = tls_input_error(err, dir, "config.yaml",
                             "does not match the manifest; allowed: a state written by tlsweep");
    if (rc) {
        fprintf(stderr, "tlsweep: status %s: %s\n", out, err);
        tls_config_destroy(c);
        return TLS_EXIT_BAD_INPUT;
    }
    return TLS_OK;
}

/* The running run's line, and when it will be done: the configurations left times the mean
 * wall time of a configuration in this run (in the sweep's, before this run has finished
 * any) over the run's ranks, each of which computes one configuration at a time. */
static void print_running(const char *dir, const char *holder, const scan_ctx *x, int64_t pending,
                          int decide) {
    tls_runs runs;
    double rate = 0;
    int ranks = 1;
    if (tls_state_runs_read(dir, &runs) == TLS_OK && runs.n > 0) {
        time_t t0 = parse_iso(runs.run[runs.n - 1].field[0]);
        double el = t0 ? difftime(time(NULL), t0) : 0;
        if (el > 0) rate = (double)x->in_last_run / el;
        ranks = atoi(runs.run[runs.n - 1].field[3]);
        if (ranks < 1) ranks = 1;
        tls_runs_free(&runs);
    }
    printf("running now: %s; %.2f configurations/s in this run; state in %s\n", holder, rate, dir);
    int64_t n = x->in_last_run ? x->in_last_run : x->n_records;
    double mean = n ? (x->in_last_run ? x->seconds_last : x->seconds_all) / (double)n : 0;
    if (!pending || mean <= 0) {
        printf("ETA: %s\n", pending ? "not known until a configuration has finished" : "now");
        return;
    }
    char eta[32];
    tls_format_duration(eta, sizeof(eta), (double)pending * mean / ranks);
    printf("ETA: %sabout %s (%lld configurations left x %.3g s per configuration, the mean of "
           "%s%lld, / %d rank%s)\n",
           decide ? "at most " : "", eta, (long long)pending, mean,
           x->in_last_run ? "this run's " : "the sweep's ", (long long)n, ranks,
           ranks > 1 ? "s" : "");
}

/* Prints what the journals of a sweep's state say. */
static void print_state(const char *out, const char *dir, const tls_manifest *m,
                        const tls_config *c, scan_ctx *x, const tls_journal_stats *st) {
    char what[8400];
    snprintf(what, sizeof(what), "%s", out);
    if (m->part.n > 1) snprintf(what, sizeof(what), "%s part %d/%d", out, m->part.k, m->part.n);
    char *cells = NULL;
    size_t clen = 0;
    FILE *cf = x->acc ? open_memstream(&cells, &clen) : NULL;
    if (cf) {
        if (replay_cells(cf, c, x->part, x->count, x->acc, x->status) != TLS_OK)
            fprintf(stderr, "tlsweep: status %s: out of memory for the cells\n", out);
        fclose(cf);
    }
    print_counts(what, x->count, x->status);
    if (cells) fputs(cells, stdout);
    free(cells);
    char stray[256];
    int nstray = tls_state_strays(dir, stray, sizeof(stray));
    if (nstray)
        printf("state: ignored %d file%s that %s not its own (%s%s)\n", nstray,
               nstray > 1 ? "s" : "", nstray > 1 ? "are" : "is", stray, nstray > 1 ? ", ..." : "");
    if (st->foreign || st->damaged > 1)
        printf("journals: %lld records of another sweep refused, %lld damaged stretches "
               "skipped\n",
               (long long)st->foreign, (long long)st->damaged);
}

static int status_of_state(const char *out, const char *dir, int running, const char *holder,
                           const char *program) {
    tls_manifest m;
    const tls_config *c = NULL;
    int rc = load_state(out, dir, &m, &c);
    if (rc) return rc;
    scan_ctx x;
    memset(&x, 0, sizeof(x));
    x.part = tls_grid_part(c, m.part.k, m.part.n);
    x.count = tls_part_count(c->grid_size, x.part);
    x.status = calloc((size_t)x.count, 1);
    x.reasons = calloc((size_t)x.count, REASON);
    x.last_file_run = tls_state_last_run(dir);
    tls_result none;
    memset(&none, 0, sizeof(none));
    tls_journal_stats st = {0, 0, 0};
    int decide = c->decide.mode != TLS_MODE_GRID;
    if (decide) x.acc = malloc(sizeof(double) * TLS_NMETHODS * (size_t)(x.count ? x.count : 1));
    rc = x.status && x.reasons && (x.acc || !decide) ? TLS_OK : TLS_ERR_NOMEM;
    if (rc)
        fprintf(stderr, "tlsweep: status %s: out of memory for %lld configurations\n", out,
                (long long)x.count);
    if (rc == TLS_OK)
        rc = tls_state_journal_reader(&x.rd, dir, m.sweep_id, c->grid_size,
                                      TLS_JOURNAL_SCALARS_ONLY);
    if (rc == TLS_OK) rc = tls_journal_scan(x.rd, &none, note, &x, &st);
    tls_journal_reader_close(&x.rd);
    if (rc == TLS_OK) { /* an error was printed where it was found, in one line */
        print_state(out, dir, &m, c, &x, &st);
        int64_t pending = 0;
        for (int64_t p = 0; p < x.count; p++) pending += x.status[p] == TLS_STATUS_PENDING;
        char pt[48] = "";
        if (m.part.n > 1) snprintf(pt, sizeof(pt), " --part %d/%d", m.part.k, m.part.n);
        if (running)
            print_running(dir, holder, &x, pending, decide);
        else if (pending)
            printf("interrupted, resumable with: %s run -o %s%s --resume\n", program, out, pt);
        else
            printf("complete in its journals; the results file is written by: %s run -o %s "
                   "--resume\n",
                   program, out);
        rc = running ? TLS_EXIT_RUNNING : TLS_EXIT_RESUMABLE;
        print_failed(c, x.part, x.count, x.status, x.reasons);
    }
    free(x.status);
    free(x.acc);
    free(x.reasons);
    tls_config_destroy(&c);
    return rc == TLS_OK ? TLS_EXIT_OK : rc;
}

/* ---- a results file ---------------------------------------------------------------- */

/* The decide modes: the cells of a results file, replayed from its accuracies. */
static void print_file_cells(tls_store_reader *rd, const tls_config *c, const tls_layout *L,
                             const int8_t *status) {
    double *acc = malloc(sizeof(double) * TLS_NMETHODS * (size_t)(L->count ? L->count : 1));
    int8_t *st = malloc((size_t)L->count + 1);
    if (acc && st && tls_store_read_acc(rd, acc) == TLS_OK) {
        memcpy(st, status, (size_t)L->count);
        replay_cells(stdout, c, L->part, L->count, acc, st);
    }
    free(acc);
    free(st);
}

static int status_of_file(const char *out, const char *dir_note, const char *program) {
    char err[TLS_ERRMSG];
    tls_store_reader *rd = NULL;
    if (tls_store_open(&rd, out, err) != TLS_OK) {
        fprintf(stderr, "tlsweep: status: %s\n", err);
        return TLS_EXIT_BAD_INPUT;
    }
    const tls_config *c = NULL;
    int rc = tls_store_config(rd, out, &c, err);
    tls_part part = tls_store_meta_of(rd)->part;
    if (rc == TLS_OK) part = tls_grid_part(c, part.k, part.n);
    if (rc == TLS_OK && part.n > c->grid_size)
        rc = tls_input_error(err, out, "part",
                             "%d/%d of a grid of %lld configurations; allowed: a file written "
                             "by tlsweep run",
                             part.k, part.n, (long long)c->grid_size);
    tls_engine_params env;
    tls_layout L;
    int8_t *status = NULL;
    char *reasons = NULL;
    if (rc == TLS_OK) {
        int a, b;
        tls_grid_envelope(c, NULL, NULL, &env, &a, &b);
        tls_store_envelope(rd, &env);
        tls_layout_init(&L, c, &env, part);
        rc = tls_store_check(rd, &L, err);
    }
    if (rc == TLS_OK) {
        status = malloc((size_t)L.count);
        reasons = calloc((size_t)L.count, REASON);
        rc = status && reasons ? tls_store_read_status(rd, status, reasons, REASON) : TLS_ERR_NOMEM;
        if (rc) snprintf(err, sizeof(err), "%s: cannot read its status", out);
    }
    if (rc == TLS_OK) {
        char what[8400];
        if (part.n > 1)
            snprintf(what, sizeof(what), "%s (part %d/%d)", out, part.k, part.n);
        else
            snprintf(what, sizeof(what), "%s", out);
        print_counts(what, L.count, status);
        if (c->decide.mode != TLS_MODE_GRID) print_file_cells(rd, c, &L, status);
        int64_t pending = 0, done = 0;
        for (int64_t p = 0; p < L.count; p++) {
            if (status[p] < TLS_STATUS_PENDING || status[p] > TLS_STATUS_NOT_NEEDED) {
                rc = tls_input_error(err, out, "status", "value %d out of range; allowed: 0 1 2 3",
                                     status[p]);
                break;
            }
            pending += status[p] == TLS_STATUS_PENDING;
            done += status[p] == TLS_STATUS_DONE;
        }
        if (rc == TLS_OK) {
            char pt[48] = "";
            if (part.n > 1) snprintf(pt, sizeof(pt), " --part %d/%d", part.k, part.n);
            if (pending)
                printf("incomplete%s: resumable with: %s run -o %s%s --resume\n", dir_note, program,
                       out, pt);
            else if (done == 0)
                printf("complete, but every configuration failed\n");
            else
                printf("complete\n");
            print_failed(c, part, L.count, status, reasons);
            rc = pending ? TLS_EXIT_RESUMABLE : TLS_EXIT_OK;
        }
    }
    if (rc == TLS_ERR_INPUT || rc == TLS_ERR_IO || rc == TLS_ERR_NOMEM) {
        fprintf(stderr, "tlsweep: status: %s\n", err);
        rc = tls_exit_of(rc);
    }
    free(status);
    free(reasons);
    tls_config_destroy(&c);
    tls_store_close(&rd);
    return rc;
}

int tls_status(const char *out, const char *program) {
    char dir[4200], err[TLS_ERRMSG], mpath[4300], holder[200];
    if (tls_state_dir(dir, sizeof(dir), out, err) != TLS_OK) {
        fprintf(stderr, "tlsweep: status: %s\n", err);
        return TLS_EXIT_BAD_INPUT;
    }
    struct stat st;
    snprintf(mpath, sizeof(mpath), "%s/manifest", dir);
    int have_state = stat(mpath, &st) == 0, have_file = stat(out, &st) == 0;
    int running = have_state && tls_state_probe(dir, holder, sizeof(holder));
    if (have_state && have_file && !running) {
        /* a complete file of this sweep wins over a state left by a kill in clean-up */
        tls_store_reader *rd = NULL;
        tls_manifest m;
        if (tls_store_open(&rd, out, err) == TLS_OK && tls_manifest_read(dir, &m, err) == TLS_OK) {
            const tls_store_meta *fm = tls_store_meta_of(rd);
            int complete = fm->n_pending == 0 && fm->config_hash == m.config_hash;
            tls_store_close(&rd);
            if (complete) return status_of_file(out, "", program);
        }
        tls_store_close(&rd);
    }
    if (have_state) return status_of_state(out, dir, running, holder, program);
    if (tls_state_orphaned(dir)) { /* as --resume says it */
        fprintf(stderr,
                "tlsweep: status %s: %s: manifest: missing, but the directory holds journals: a "
                "sweep's state that lost its manifest; allowed: --force to start over (discards "
                "the sweep's finished work)\n",
                out, dir);
        return TLS_EXIT_BAD_INPUT;
    }
    if (!have_file) {
        fprintf(stderr,
                "tlsweep: status: %s: neither a results file nor a sweep's state (%s): the "
                "sweep may not have started yet (its state appears as its run starts); allowed: "
                "the -o of a tlsweep run\n",
                out, dir);
        return TLS_EXIT_BAD_INPUT;
    }
    return status_of_file(out, " (no sweep state: --resume takes over the file's results)",
                          program);
}
