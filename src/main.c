/* main.c - the tlsweep command line: its commands (COMMANDS), their options and help. */
#include "h5util.h"
#include "tlsweep/check.h"
#include "tlsweep/comm.h"
#include "tlsweep/config.h"
#include "tlsweep/dataset.h"
#include "tlsweep/engine.h"
#include "tlsweep/export.h"
#include "tlsweep/grid.h"
#include "tlsweep/provenance.h"
#include "tlsweep/signals.h"
#include "tlsweep/slurm.h"
#include "tlsweep/status.h"
#include "tlsweep/sweep.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const HELP_HEAD =
    "usage: tlsweep COMMAND [OPTIONS]     (tlsweep COMMAND --help for one command)\n"
    "\n"
    "When does transfer learning help, and when does it hurt? Runs the article's three\n"
    "methods (an RBF SVM from scratch on the labelled target points, direct transfer of a\n"
    "source SVM, and an MLP trained with cross-entropy + lambda*MMD^2 then fine-tuned) over a\n"
    "grid of any configuration keys and writes one parallel HDF5 (netCDF-4) file.\n"
    "\n"
    "commands:\n";

static const char *const HELP_TAIL =
    "\n"
    "  tlsweep --version    version and git commit of this build\n"
    "\n"
    "environment: TLSWEEP_PROGRESS=bar|lines (progress style; under mpirun stderr is a pipe),\n"
    "TLSWEEP_MPIIO_HINTS=key=value,... (MPI-IO hints for the results file),\n"
    "TLSWEEP_RESUME_WITH (the command that resumes a sweep, e.g. jobs/local.sh, for messages)\n"
    "\n"
    "exit status: 0 complete; 1 failure; 2 bad input (nothing written); 3 complete but every\n"
    "configuration failed (tlsweep one: the configuration failed); 4 status: running now;\n"
    "75 interrupted, resumable with --resume.\n"
    "Configuration keys: configs/README.md. The results file: docs/FORMAT.md.\n";

static const char *const HELP_ONE =
    "usage: tlsweep one [CONFIG] [--shift DEG] [--lambda L] [--n-target N] [--seed S]\n"
    "                   [--set KEY=VALUE]...\n"
    "\n"
    "Runs one configuration and prints one JSON object: accuracies, distances, per-method\n"
    "status, curves and confusion matrices (null: not computed). Exit status 3 when a method\n"
    "of the configuration failed (the reason is in the output).\n"
    "\n"
    "  CONFIG, --set KEY=VALUE   settings as for run; the grid is ignored\n"
    "  --shift DEG      target rotation in degrees (default 45, the article's); with\n"
    "                   data.shift_kind the shift of that kind (configs/README.md)\n"
    "  --lambda L       weight of MMD^2, >= 0 (default 0.5)\n"
    "  --n-target N     labelled target points, data.classes..1000000 (default 50)\n"
    "  --seed S         integer >= 0 (default 42)\n";

static const char *const HELP_RUN =
    "usage: mpirun -n P tlsweep run [CONFIG] [-o FILE] [--set KEY=VALUE]... [options]\n"
    "       tlsweep run -o FILE --resume       (continue with the stored configuration)\n"
    "\n"
    "Runs a sweep over the grid of CONFIG (default: the built-in sweep, configs/default.yaml)\n"
    "on all ranks and writes FILE. Any key may be an axis: grid: {train.lr: [0.001, 0.01]}.\n"
    "\n"
    "  CONFIG                 YAML file (configs/README.md)\n"
    "  -o, --output FILE      results file (default results.h5)\n"
    "  --set KEY=VALUE        override a key; VALUE is YAML: --set 'grid.seed=[0,1,2]',\n"
    "                         --set 'grid.train.lr=[0.001,0.01]' sweeps train.lr\n"
    "  --part K/N             compute part K of N of the grid (job arrays; then tlsweep merge)\n"
    "  --force                replace an existing FILE (discards its results); skip the\n"
    "                         disk-space check\n"
    "  --resume               continue an interrupted sweep; without CONFIG and --set it\n"
    "                         uses the stored configuration\n"
    "  --retry-failed         with --resume: recompute failed configurations too\n"
    "  --dry-run              print the grid, the file layout, its size and a time estimate\n"
    "  --drain-seconds S      after SIGTERM/SIGINT/SIGUSR1, wait at most S s for work in\n"
    "                         flight (default 25, inside Slurm's 30 s KillWait)\n"
    "  --time-limit T         start no configuration that cannot finish within T: seconds\n"
    "                         (3600) or a Slurm time (60:00, 1:00:00, 1-00:00:00)\n"
    "  --progress-seconds S   progress line interval when stderr is not a terminal (10)\n"
    "  --batch N              configurations handed out per request (default 1; 1..4096)\n";

static const char *const HELP_CONFIG =
    "usage: tlsweep config [CONFIG] [--set KEY=VALUE]...\n"
    "\n"
    "Prints the effective configuration (canonical YAML, reads back the same), the grid's\n"
    "axes and size, and the configuration hash that results files record.\n";

static const char *const HELP_STATUS =
    "usage: tlsweep status FILE\n"
    "\n"
    "Prints done / failed / pending of the sweep whose results file is FILE: while it runs\n"
    "(who runs it and the rate), after an interruption, or complete; the failed\n"
    "configurations with their reasons. Exit status 0 complete, 4 running, 75 resumable.\n";

static const char *const HELP_SNAPSHOT =
    "usage: tlsweep snapshot FILE -o PARTIAL [--force]\n"
    "\n"
    "Writes, from the journals of the sweep writing FILE (running or interrupted) and\n"
    "without disturbing it, PARTIAL with exactly the final layout: pending configurations\n"
    "as fill values.\n";

static const char *const HELP_MERGE =
    "usage: [mpirun -n P] tlsweep merge PART-1.h5 ... PART-N.h5 -o FILE [--allow-partial]\n"
    "                     [--force]\n"
    "\n"
    "Merges the files of the N parts of a sweep (tlsweep run --part K/N) into the one\n"
    "results file a one-job run would write (equal data, bit for bit). Refuses parts of\n"
    "different configurations, missing or repeated parts and incomplete parts\n"
    "(--allow-partial: merge them, pending configurations as fill values).\n";

static const char *const HELP_EXPORT =
    "usage: tlsweep export RESULTS.h5 -o OUT.csv [--force]\n"
    "       tlsweep export RESULTS.h5 -o -         (to standard output)\n"
    "\n"
    "Writes a results file (or a part's, run --part K/N) as one tidy CSV table: a header\n"
    "row, then one row per configuration x approach, in the file's order. Columns: every\n"
    "grid axis (its coordinate as the file holds it: numbers, booleans 0/1, string axes as\n"
    "text), approach (mmd: the transfer network, whatever align.loss aligns it with), the\n"
    "configuration's status and the approach's approach_status, then every variable of the\n"
    "file with one value per configuration: those with one per approach (acc_<approach>,\n"
    "seconds_<approach>, score_*_<approach>) as one column without the approach's name,\n"
    "holding the row's approach's value; the others (distances, scores, flags, who computed\n"
    "it) as in the file; reason last. Flags are written as their words; NaN and fill values\n"
    "are empty. Pending and not_needed configurations are rows too: their status says so\n"
    "and their values are empty. Not in it: confusion matrices, curves, embeddings and the\n"
    "decide modes' per-cell decisions (read them with xarray or analysis; docs/FORMAT.md).\n"
    "Parquet: pandas.read_csv(OUT.csv).to_parquet(...) needs pyarrow, which Debian 12 does\n"
    "not package (a venv with pip install pyarrow has it).\n"
    "\n"
    "  -o, --output OUT   the CSV file; - for standard output\n"
    "  --force            replace an existing OUT\n";

enum {
    OPT_SET = 1000,
    OPT_FORCE,
    OPT_RESUME,
    OPT_RETRY,
    OPT_DRY,
    OPT_DRAIN,
    OPT_TLIMIT,
    OPT_PROGRESS,
    OPT_BATCH,
    OPT_PART,
    OPT_SHIFT,
    OPT_LAMBDA,
    OPT_NTARGET,
    OPT_SEED,
    OPT_PARTIAL,
    OPT_HELP
};

static const struct option LONG_OPTS[] = {{"output", required_argument, 0, 'o'},
                                          {"set", required_argument, 0, OPT_SET},
                                          {"part", required_argument, 0, OPT_PART},
                                          {"force", no_argument, 0, OPT_FORCE},
                                          {"resume", no_argument, 0, OPT_RESUME},
                                          {"retry-failed", no_argument, 0, OPT_RETRY},
                                          {"dry-run", no_argument, 0, OPT_DRY},
                                          {"drain-seconds", required_argument, 0, OPT_DRAIN},
                                          {"time-limit", required_argument, 0, OPT_TLIMIT},
                                          {"progress-seconds", required_argument, 0, OPT_PROGRESS},
                                          {"batch", required_argument, 0, OPT_BATCH},
                                          {"shift", required_argument, 0, OPT_SHIFT},
                                          {"lambda", required_argument, 0, OPT_LAMBDA},
                                          {"n-target", required_argument, 0, OPT_NTARGET},
                                          {"seed", required_argument, 0, OPT_SEED},
                                          {"allow-partial", no_argument, 0, OPT_PARTIAL},
                                          {"help", no_argument, 0, OPT_HELP},
                                          {0, 0, 0, 0}};

static int bad(const char *cmd, const char *opt, const char *val, const char *allowed) {
    fprintf(stderr, "tlsweep %s: %s: '%s' is not allowed; allowed: %s (tlsweep %s --help)\n", cmd,
            opt, val, allowed, cmd);
    return TLS_EXIT_BAD_INPUT;
}

/* A finite number, in plain decimal notation (no hex, inf or nan). */
static int parse_double(const char *s, double *v) {
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s)) return -1;
    char *end;
    *v = strtod(s, &end);
    return !*end && isfinite(*v) ? 0 : -1;
}

static int parse_int(const char *s, long long lo, long long hi, long long *v) {
    if (!*s || strspn(s, "0123456789+-") != strlen(s)) return -1;
    char *end;
    *v = strtoll(s, &end, 10);
    return !*end && *v >= lo && *v <= hi ? 0 : -1;
}

/* The closest of a space-separated list of words to w, or NULL. */
static const char *closest(const char *w, const char *words, char *buf, size_t len) {
    int best = 99;
    const char *p = words;
    while (*p) {
        size_t n = strcspn(p, " ");
        char cand[64];
        snprintf(cand, sizeof(cand), "%.*s", (int)n, p);
        int d = tls_edit_distance(w, cand);
        if (d < best) best = d, snprintf(buf, len, "%s", cand);
        p += n + (p[n] == ' ');
    }
    return best <= 2 || (best <= 3 && strlen(w) > 6) ? buf : NULL;
}

typedef struct cli {
    tls_run_opts run;
    const char *sets[256];
    const char *args[1024]; /* positional arguments */
    int nargs;
    tls_point pt;
    int shift_given; /* --shift was on the command line (else pt.shift is the default) */
    int allow_partial;
    int output_given; /* -o was on the command line (else run.output is the default) */
} cli;

/* A command: one row of COMMANDS, from which the dispatch, tlsweep --help's
 * list and the unknown-command message (with its did-you-mean) derive. */
typedef struct {
    const char *name;
    const char *summary; /* its line in tlsweep --help */
    const char *help;    /* tlsweep NAME --help */
    const char *options; /* the long options it takes, space-separated */
    int (*fn)(cli *cl);  /* checks its arguments, then runs; returns the exit status */
    int mpi;             /* fn runs between MPI_Init and MPI_Finalize */
} command;

/* Refuses an option of another command: -1 when `c` (li: its LONG_OPTS
 * index) is one of cmd's, else an exit status. */
static int not_this_command(const command *cmd, int c, int li) {
    if (c == 1 || c == ':' || c == '?' || c == 'h' || c == OPT_HELP) return -1;
    const char *word = c == 'o' ? "output" : li >= 0 ? LONG_OPTS[li].name : "";
    char padded[80], list[400];
    snprintf(padded, sizeof(padded), " %s ", word);
    snprintf(list, sizeof(list), " %s ", cmd->options);
    if (strstr(list, padded)) return -1;
    fprintf(stderr, "tlsweep %s: --%s is not an option of %s; allowed: see tlsweep %s --help\n",
            cmd->name, word, cmd->name, cmd->name);
    return TLS_EXIT_BAD_INPUT;
}

/* An option that is not one of tlsweep's, with the closest of cmd's. */
static int unknown_option(const command *cmd, const char *opt) {
    const char *name = cmd->name;
    char word[64], buf[64];
    snprintf(word, sizeof(word), "%.*s", (int)strcspn(opt + strspn(opt, "-"), "="),
             opt + strspn(opt, "-"));
    const char *near = closest(word, cmd->options, buf, sizeof(buf));
    if (near)
        fprintf(stderr,
                "tlsweep %s: unknown option %s; did you mean --%s? allowed: see tlsweep "
                "%s --help\n",
                name, opt, near, name);
    else
        fprintf(stderr, "tlsweep %s: unknown option %s; allowed: see tlsweep %s --help\n", name,
                opt, name);
    return TLS_EXIT_BAD_INPUT;
}

/* The flags and --set: -1 to go on, else an exit status. */
static int take_flag(cli *cl, const char *name, int c, int argc, char **argv) {
    tls_run_opts *o = &cl->run;
    switch (c) {
    case 1: /* a positional argument, in order */
        if (cl->nargs >= 1024) return bad(name, "argument", optarg, "at most 1024 arguments");
        cl->args[cl->nargs++] = optarg;
        break;
    case 'o':
        o->output = optarg;
        cl->output_given = 1;
        break;
    case OPT_SET:
        if (o->nsets >= 256) return bad(name, "--set", optarg, "at most 256 --set options");
        if (!strchr(optarg, '=')) {
            /* --set KEY VALUE: the value went to the next word */
            fprintf(stderr,
                    "tlsweep %s: --set %s: --set expects KEY=VALUE; allowed: e.g. --set "
                    "%s=%s\n",
                    name, optarg, optarg,
                    optind < argc && argv[optind][0] != '-' ? argv[optind] : "VALUE");
            return TLS_EXIT_BAD_INPUT;
        }
        cl->sets[o->nsets++] = optarg;
        break;
    case OPT_FORCE:
        o->force = 1;
        break;
    case OPT_RESUME:
        o->resume = 1;
        break;
    case OPT_RETRY:
        o->retry_failed = 1;
        break;
    case OPT_DRY:
        o->dry_run = 1;
        break;
    case OPT_PARTIAL:
        cl->allow_partial = 1;
        break;
    }
    return -1;
}

/* The options with a value to check: -1 to go on, else an exit status. */
static int take_value(cli *cl, const char *name, int c) {
    tls_run_opts *o = &cl->run;
    double v;
    long long n;
    switch (c) {
    case OPT_PART:
        if (sscanf(optarg, "%d/%d", &o->part.k, &o->part.n) != 2 || o->part.n < 1 ||
            o->part.k < 1 || o->part.k > o->part.n ||
            strspn(optarg, "0123456789/") != strlen(optarg))
            return bad(name, "--part", optarg, "K/N with 1 <= K <= N, e.g. 2/8");
        break;
    case OPT_DRAIN:
        if (parse_double(optarg, &v) || v < 0)
            return bad(name, "--drain-seconds", optarg, "seconds >= 0");
        o->drain_seconds = v;
        break;
    case OPT_TLIMIT:
        if ((v = tls_parse_time_limit(optarg)) <= 0)
            return bad(name, "--time-limit", optarg,
                       "seconds > 0 (3600) or a Slurm time (60:00, 1:00:00, 1-00:00:00)");
        o->time_limit = v;
        break;
    case OPT_PROGRESS:
        if (parse_double(optarg, &v) || v <= 0)
            return bad(name, "--progress-seconds", optarg, "seconds > 0");
        o->progress_seconds = v;
        break;
    case OPT_BATCH:
        if (parse_int(optarg, 1, 4096, &n))
            return bad(name, "--batch", optarg, "an integer from 1 to 4096");
        o->batch = (int)n;
        break;
    case OPT_SHIFT:
        if (parse_double(optarg, &v) || fabs(v) > 1e6)
            return bad(name, "--shift", optarg,
                       "a number from -1000000 to 1000000 (degrees, or as data.shift_kind says)");
        cl->pt.shift = v;
        cl->shift_given = 1;
        break;
    case OPT_LAMBDA:
        if (parse_double(optarg, &v) || v < 0 || v > 1e6)
            return bad(name, "--lambda", optarg, "a finite number >= 0");
        cl->pt.lambda = v;
        break;
    case OPT_NTARGET:
        if (parse_int(optarg, 1, 1000000, &n))
            return bad(name, "--n-target", optarg, "an integer from data.classes to 1000000");
        cl->pt.n_target = (int)n;
        break;
    case OPT_SEED:
        if (parse_int(optarg, 0, 9223372036854775807LL, &n))
            return bad(name, "--seed", optarg, "an integer from 0 to 9223372036854775807");
        cl->pt.seed = n;
        break;
    }
    return -1;
}

/* Options that do not go together: -1 to go on, else an exit status. */
static int check_together(const tls_run_opts *o, const char *name) {
    if (o->force && o->resume) {
        fprintf(stderr,
                "tlsweep %s: --force and --resume together; allowed: --resume to "
                "continue the sweep, or --force to start it over (which discards its "
                "finished configurations)\n",
                name);
        return TLS_EXIT_BAD_INPUT;
    }
    if (o->retry_failed && !o->resume) {
        fprintf(stderr,
                "tlsweep %s: --retry-failed needs --resume; allowed: --resume "
                "--retry-failed\n",
                name);
        return TLS_EXIT_BAD_INPUT;
    }
    return -1;
}

/* Parses argv after the command into cl. Returns -1 to go on, else an exit status. */
static int parse(int argc, char **argv, const command *cmd, cli *cl) {
    const char *name = cmd->name;
    int c, rc;
    opterr = 0;
    optind = 1;
    int li = -1;
    while ((c = getopt_long(argc, argv, "-:o:h", LONG_OPTS, &li)) != -1) {
        if ((rc = not_this_command(cmd, c, li)) >= 0) return rc;
        li = -1;
        if (c == 'h' || c == OPT_HELP) {
            fputs(cmd->help, stdout);
            return 0;
        }
        if (c == ':') {
            fprintf(stderr, "tlsweep %s: %s needs a value; allowed: see tlsweep %s --help\n", name,
                    argv[optind - 1], name);
            return TLS_EXIT_BAD_INPUT;
        }
        if (c == '?') return unknown_option(cmd, argv[optind - 1]);
        if ((rc = take_flag(cl, name, c, argc, argv)) >= 0) return rc;
        if ((rc = take_value(cl, name, c)) >= 0) return rc;
    }
    cl->run.sets = cl->sets;
    return check_together(&cl->run, name);
}

static int config_args(const cli *cl, const char *name, const char **path) {
    *path = cl->nargs > 0 ? cl->args[0] : NULL;
    if (cl->nargs > 1) {
        fprintf(stderr,
                "tlsweep %s: unexpected argument '%s'; allowed: one CONFIG file (tlsweep %s "
                "--help)\n",
                name, cl->args[1], name);
        return TLS_EXIT_BAD_INPUT;
    }
    return -1;
}

static int cmd_one(cli *cl) {
    const char *path;
    int rc = config_args(cl, "one", &path);
    if (rc >= 0) return rc;
    char err[TLS_ERRMSG];
    const tls_config *c = NULL;
    /* the grid is ignored, but for the one shift that runs: it is checked against the kind */
    const char *sets[257];
    char shift_set[64], num[40];
    tls_format_real(num, sizeof(num), cl->pt.shift);
    snprintf(shift_set, sizeof(shift_set), "grid.shift=[%s]", num);
    for (int i = 0; i < cl->run.nsets; i++) sets[i] = cl->sets[i];
    sets[cl->run.nsets] = shift_set;
    rc = tls_config_load(&c, path, sets, cl->run.nsets + 1, err);
    if (rc != TLS_OK) {
        /* the shift the user gave as --shift (or its default), not as a --set */
        char mine[96];
        snprintf(mine, sizeof(mine), "--set %s: grid.shift: ", shift_set);
        if (!strncmp(err, mine, strlen(mine)))
            fprintf(stderr, "tlsweep one: --shift %s%s: %s\n", num,
                    cl->shift_given ? "" : " (the default)", err + strlen(mine));
        else
            fprintf(stderr, "tlsweep one: %s\n", err);
        return tls_exit_of(rc);
    }
    tls_data_files files;
    if (tls_data_files_open(&files, c, err) != TLS_OK) {
        fprintf(stderr, "tlsweep one: %s\n", err);
        tls_config_destroy(&c);
        return TLS_EXIT_BAD_INPUT;
    }
    /* the settings of the grid's first configuration, with the point given:
     * an extra axis of one value sets its key; more values leave no one
     * configuration to run */
    int many = -1;
    for (int a = TLS_NAMED_AXES; a < c->naxes && many < 0; a++)
        if (c->axis[a].n > 1) many = a;
    tls_settings st;
    tls_grid_settings(c, 0, &st);
    st.pt = cl->pt;
    tls_data_files_bind(&files, &st.eng);
    int exit_code = TLS_EXIT_FAILURE;
    tls_result *r = NULL;
    if (many >= 0) {
        char v[40];
        fprintf(stderr,
                "tlsweep one: grid.%s: %d values, and one runs one configuration; allowed: one "
                "value, e.g. --set 'grid.%s=[%s]'\n",
                c->axis[many].key_name, c->axis[many].n, c->axis[many].key_name,
                tls_axis_text(&c->axis[many], 0, v, sizeof(v)));
        exit_code = TLS_EXIT_BAD_INPUT;
    } else if (cl->pt.n_target < st.eng.classes) {
        fprintf(stderr,
                "tlsweep one: --n-target: %d is below data.classes (%d); allowed: an integer "
                "from data.classes to 1000000\n",
                cl->pt.n_target, st.eng.classes);
        exit_code = TLS_EXIT_BAD_INPUT;
    } else if (files.source && cl->pt.n_target > files.max_n_target) {
        fprintf(
            stderr,
            "tlsweep one: --n-target: %d is more than the grid's largest n_target (%d), for "
            "which the data files were checked; allowed: at most %d, or --set grid.n_target=[%d]\n",
            cl->pt.n_target, files.max_n_target, files.max_n_target, cl->pt.n_target);
        exit_code = TLS_EXIT_BAD_INPUT;
    } else if (tls_result_create(&r, &st.eng) == TLS_OK &&
               tls_engine_run(r, &st.eng, &st.pt) == TLS_OK) {
        tls_result_json(stdout, r, &st.eng, &st.pt);
        exit_code = r->s.status == TLS_STATUS_DONE ? TLS_EXIT_OK : TLS_EXIT_ALL_FAILED;
    }
    tls_data_files_release(&files);
    tls_result_destroy(&r);
    tls_config_destroy(&c);
    return exit_code;
}

static int cmd_config(cli *cl) {
    const char *path;
    int rc = config_args(cl, "config", &path);
    if (rc >= 0) return rc;
    char err[TLS_ERRMSG];
    const tls_config *c = NULL;
    rc = tls_config_load(&c, path, cl->sets, cl->run.nsets, err);
    if (rc != TLS_OK) {
        fprintf(stderr, "tlsweep config: %s\n", err);
        return tls_exit_of(rc);
    }
    char notes[4096];
    if (tls_grid_fixed_notes(c, notes, sizeof(notes))) fputs(notes, stderr);
    char *y = tls_config_yaml(c);
    printf("# effective configuration from %s\n%s", c->source, y ? y : "");
    printf("# grid:");
    for (int a = 0; a < c->naxes; a++)
        printf("%s %d %s", a ? " x" : "", c->axis[a].n,
               a < TLS_NAMED_AXES ? c->axis[a].dim : c->axis[a].key_name);
    printf(" = %lld configurations\n", (long long)c->grid_size);
    printf("# config_hash: %016llx\n", (unsigned long long)tls_config_hash(c));
    free(y);
    tls_config_destroy(&c);
    return TLS_EXIT_OK;
}

static int cmd_status(cli *cl) {
    if (cl->nargs != 1) {
        fprintf(stderr, "tlsweep status: %s; allowed: tlsweep status results.h5\n",
                cl->nargs ? "one FILE only" : "missing FILE");
        return TLS_EXIT_BAD_INPUT;
    }
    return tls_status(cl->args[0], cl->run.program);
}

static int cmd_run(cli *cl) {
    int rc = config_args(cl, "run", &cl->run.config_path);
    return rc >= 0 ? rc : tls_sweep_run(MPI_COMM_WORLD, &cl->run);
}

static int cmd_merge(cli *cl) {
    if (cl->nargs < 1) {
        fprintf(stderr, "tlsweep merge: no part files given; allowed: tlsweep merge "
                        "part-1.h5 ... part-N.h5 -o results.h5\n");
        return TLS_EXIT_BAD_INPUT;
    }
    tls_merge_opts m = {cl->args,      cl->nargs,       cl->run.output, cl->allow_partial,
                        cl->run.force, cl->run.command, cl->run.program};
    return tls_sweep_merge(MPI_COMM_WORLD, &m);
}

static int cmd_snapshot(cli *cl) {
    if (cl->nargs != 1 || !strcmp(cl->run.output, "results.h5")) {
        fprintf(stderr,
                "tlsweep snapshot: %s; allowed: tlsweep snapshot results.h5 -o "
                "partial.h5\n",
                cl->nargs != 1 ? "expected one FILE (the sweep's -o)" : "missing -o PARTIAL");
        return TLS_EXIT_BAD_INPUT;
    }
    return tls_sweep_snapshot(MPI_COMM_WORLD, cl->args[0], cl->run.output, cl->run.force);
}

static int cmd_export(cli *cl) {
    const char *out = cl->run.output;
    if (cl->nargs != 1 || !cl->output_given) {
        fprintf(stderr, "tlsweep export: %s; allowed: tlsweep export results.h5 -o results.csv\n",
                cl->nargs != 1 ? "expected one FILE (a results file)" : "missing -o OUT");
        return TLS_EXIT_BAD_INPUT;
    }
    char err[TLS_ERRMSG], tmp[4200];
    struct stat st;
    int to_stdout = !strcmp(out, "-");
    if (!to_stdout && stat(out, &st) == 0 && !cl->run.force) {
        fprintf(stderr,
                "tlsweep export: -o: %s: already exists; allowed: another -o, or --force to "
                "replace it\n",
                out);
        return TLS_EXIT_BAD_INPUT;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", out, (long)getpid());
    FILE *f = to_stdout ? stdout : fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "tlsweep export: -o: cannot write %s: %s\n", tmp, strerror(errno));
        return TLS_EXIT_BAD_INPUT;
    }
    int rc = tls_export_csv(cl->args[0], f, err);
    int wrote = fflush(f) == 0 && !ferror(f);
    if (!to_stdout) wrote &= fclose(f) == 0;
    if (rc == TLS_OK && !wrote) rc = TLS_ERR_IO;
    if (rc == TLS_OK && !to_stdout && rename(tmp, out) != 0) rc = TLS_ERR_IO;
    if (rc != TLS_OK && !to_stdout) unlink(tmp);
    if (rc == TLS_ERR_IO)
        fprintf(stderr, "tlsweep export: cannot write %s: %s\n", to_stdout ? "the output" : out,
                strerror(errno));
    else if (rc != TLS_OK)
        fprintf(stderr, "tlsweep export: %s\n", err);
    return tls_exit_of(rc);
}

static const command COMMANDS[] = {
    {"one", "run one configuration and print its results as one JSON object", HELP_ONE,
     "shift lambda n-target seed set help", cmd_one, 0},
    {"run", "run a sweep with MPI (mpirun -n P tlsweep run ...) into an HDF5 file", HELP_RUN,
     "output set part force resume retry-failed dry-run drain-seconds time-limit "
     "progress-seconds batch help",
     cmd_run, 1},
    {"config", "print the effective configuration, the grid and its hash", HELP_CONFIG, "set help",
     cmd_config, 0},
    {"status", "print done / failed / pending of a sweep, running or not", HELP_STATUS, "help",
     cmd_status, 0},
    {"snapshot", "write the results so far of a running or interrupted sweep to a file",
     HELP_SNAPSHOT, "output force help", cmd_snapshot, 1},
    {"merge", "merge the files of the parts of a sweep (run --part K/N) into one", HELP_MERGE,
     "output allow-partial force help", cmd_merge, 1},
    {"export", "write a results file as one CSV table (a row per configuration x approach)",
     HELP_EXPORT, "output force help", cmd_export, 0},
};
enum { NCOMMANDS = sizeof(COMMANDS) / sizeof(COMMANDS[0]) };

static void print_help(FILE *f) {
    fputs(HELP_HEAD, f);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fputs(HELP_TAIL, f);
}

/* The row of command `name`, or NULL after the one-line message naming the
 * commands there are and the closest of them. */
static const command *find_command(const char *name) {
    char words[256] = "", list[256] = "", buf[64];
    for (int i = 0; i < NCOMMANDS; i++) {
        if (!strcmp(name, COMMANDS[i].name)) return &COMMANDS[i];
        snprintf(words + strlen(words), sizeof(words) - strlen(words), "%s%s", i ? " " : "",
                 COMMANDS[i].name);
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                 COMMANDS[i].name);
    }
    const char *near = closest(name, words, buf, sizeof(buf));
    fprintf(stderr, "tlsweep: unknown command '%s'%s%s%s; allowed: %s (tlsweep --help)\n", name,
            near ? "; did you mean " : "", near ? near : "", near ? "?" : "", list);
    return NULL;
}

/* Runs an MPI command: MPI_Init with the funnelled thread level, then fn. */
static int with_mpi(int (*fn)(cli *), cli *cl) {
    tls_signals_install();
    tls_h5_begin();
    int provided = 0;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (provided < MPI_THREAD_FUNNELED) {
        fprintf(stderr, "tlsweep: the MPI library does not provide MPI_THREAD_FUNNELED\n");
        tls_comm_abort(MPI_COMM_WORLD, TLS_EXIT_FAILURE, NULL);
    }
    tls_comm_init(MPI_COMM_WORLD);
    int code = fn(cl);
    tls_h5_end(); /* before MPI: HDF5's files closed while MPI-IO still works */
    MPI_Finalize();
    return code;
}

/* The rank a launcher gave this process before MPI_Init (mpirun, srun, a
 * PMI), 0 when none did. */
static int launcher_rank(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                       "SLURM_PROCID", NULL};
    for (int i = 0; vars[i]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v);
    }
    return 0;
}

/* Begins a stretch whose messages only rank 0 prints (the others' stderr
 * goes to /dev/null): what every rank finds wrong in the command line is
 * said once per job, not once per rank. Returns what quiet_end takes. */
static int quiet_begin(void) {
    if (launcher_rank() <= 0) return -1;
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && null >= 0) dup2(null, 2);
    if (null >= 0) close(null);
    return saved;
}

static void quiet_end(int saved) {
    if (saved < 0) return;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

int main(int argc, char **argv) {
    /* one BLAS thread per process: MPI ranks supply the parallelism, and the
     * results are bitwise reproducible only for a fixed BLAS thread count */
    openblas_set_num_threads(1);
    if (argc < 2) {
        print_help(stderr);
        return TLS_EXIT_BAD_INPUT;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(name, "--version")) {
        printf("tlsweep %s (commit %s)\n", tls_build_info()->version, tls_build_info()->commit);
        return 0;
    }
    int quiet = quiet_begin();
    const command *cmd = find_command(name);
    if (!cmd) return quiet_end(quiet), TLS_EXIT_BAD_INPUT;
    cli cl;
    memset(&cl, 0, sizeof(cl));
    cl.run.output = "results.h5";
    cl.run.part = (tls_part){.k = 1, .n = 1};
    cl.run.drain_seconds = 25;
    cl.run.progress_seconds = 10;
    cl.run.batch = 1;
    cl.pt = (tls_point){.shift = 45, .lambda = 0.5, .n_target = 50, .seed = 42};
    char *command = tls_command_line(argc, argv), *program = tls_command_line(1, argv);
    cl.run.command = command;
    cl.run.program = program ? program : "tlsweep";
    int rc = parse(argc - 1, argv + 1, cmd, &cl);
    quiet_end(quiet);
    if (rc < 0) rc = cmd->mpi ? with_mpi(cmd->fn, &cl) : cmd->fn(&cl);
    free(command);
    free(program);
    return rc;
}
