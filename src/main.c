/* main.c - the tlsweep command line: one, run, config, status. */
#include "tlsweep/check.h"
#include "tlsweep/config.h"
#include "tlsweep/dataset.h"
#include "tlsweep/engine.h"
#include "tlsweep/sweep.h"

#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: tlsweep COMMAND [OPTIONS]\n"
    "\n"
    "When does transfer learning help? Runs the article's three methods (RBF SVM from\n"
    "scratch on the labelled target points, direct transfer of a source SVM, and an MLP\n"
    "trained with cross-entropy + lambda*MMD^2 then fine-tuned) over a grid of\n"
    "(shift, lambda, n_target, seed) and writes one parallel HDF5 file.\n"
    "\n"
    "commands:\n"
    "  one     run one configuration and print its results as one JSON object\n"
    "  run     run a sweep with MPI (mpirun -n P tlsweep run ...) into an HDF5 file\n"
    "  config  print the effective configuration and the grid size\n"
    "  status  print done / failed / pending of a results file or interrupted sweep\n"
    "\n"
    "tlsweep one [--shift DEG] [--lambda L] [--n-target N] [--seed S] [CONFIG] [--set "
    "KEY=VALUE]...\n"
    "  --shift DEG      target rotation in degrees (default 45, the article's)\n"
    "  --lambda L       weight of MMD^2, >= 0 (default 0.5)\n"
    "  --n-target N     labelled target points, data.classes..1000000 (default 50)\n"
    "  --seed S         integer >= 0 (default 42)\n"
    "  CONFIG, --set    engine settings as for run (the grid is ignored)\n"
    "\n"
    "tlsweep run [CONFIG] [-o FILE] [--set KEY=VALUE]... [options]\n"
    "  CONFIG                 YAML file (configs/README.md); default: the built-in sweep\n"
    "  -o, --output FILE      results file (default results.h5)\n"
    "  --set KEY=VALUE        override a key; VALUE is YAML: --set grid.seed=[0,1,2]\n"
    "  --force                replace an existing results file; skip the disk-space check\n"
    "  --resume               continue an interrupted sweep (same CONFIG and --set)\n"
    "  --retry-failed         with --resume: recompute failed configurations too\n"
    "  --dry-run              print grid size, output layout and a time estimate only\n"
    "  --drain-seconds S      after SIGTERM/SIGINT/SIGUSR1, wait at most S s for work in\n"
    "                         flight (default 25, inside Slurm's 30 s KillWait)\n"
    "  --time-limit S         start no configuration that cannot finish within S s\n"
    "  --progress-seconds S   progress line interval when stderr is not a terminal (10)\n"
    "  --batch N              configurations handed out per request (default 1)\n"
    "\n"
    "tlsweep config [CONFIG] [--set KEY=VALUE]...\n"
    "tlsweep status FILE\n"
    "\n"
    "environment: TLSWEEP_PROGRESS=bar|lines (progress style; under mpirun stderr is a pipe),\n"
    "TLSWEEP_MPIIO_HINTS=key=value,... (MPI-IO hints for the results file)\n"
    "\n"
    "exit status: 0 complete; 2 bad input (nothing written); 75 interrupted, resumable\n"
    "with --resume; 1 any other failure.\n";

static int bad(const char *cmd, const char *opt, const char *val, const char *allowed) {
    fprintf(stderr, "tlsweep %s: %s: '%s' is not allowed; allowed: %s (tlsweep --help)\n", cmd, opt,
            val, allowed);
    return TLS_EXIT_BAD_INPUT;
}

static int parse_double(const char *s, double *v) {
    char *end;
    *v = strtod(s, &end);
    return *s && !*end && isfinite(*v) ? 0 : -1;
}

static int parse_int(const char *s, long long lo, long long hi, long long *v) {
    char *end;
    *v = strtoll(s, &end, 10);
    return *s && !*end && *v >= lo && *v <= hi ? 0 : -1;
}

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
    OPT_SHIFT,
    OPT_LAMBDA,
    OPT_NTARGET,
    OPT_SEED,
    OPT_HELP
};

static const struct option LONG_OPTS[] = {{"output", required_argument, 0, 'o'},
                                          {"set", required_argument, 0, OPT_SET},
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
                                          {"help", no_argument, 0, OPT_HELP},
                                          {0, 0, 0, 0}};

typedef struct {
    tls_sweep_opts sweep;
    const char *sets[256];
    tls_point pt;
    int have_config;
} cli;

/* Parses argv after the command into cl. Returns -1 to go on, else an exit status. */
static int parse(int argc, char **argv, const char *cmd, cli *cl) {
    tls_sweep_opts *o = &cl->sweep;
    int c;
    double v;
    long long n;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:h", LONG_OPTS, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->output = optarg;
            break;
        case OPT_SET:
            if (o->nsets >= 256) return bad(cmd, "--set", optarg, "at most 256 --set options");
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
        case OPT_DRAIN:
            if (parse_double(optarg, &v) || v < 0)
                return bad(cmd, "--drain-seconds", optarg, "seconds >= 0");
            o->drain_seconds = v;
            break;
        case OPT_TLIMIT:
            if (parse_double(optarg, &v) || v <= 0)
                return bad(cmd, "--time-limit", optarg, "seconds > 0");
            o->time_limit = v;
            break;
        case OPT_PROGRESS:
            if (parse_double(optarg, &v) || v <= 0)
                return bad(cmd, "--progress-seconds", optarg, "seconds > 0");
            o->progress_seconds = v;
            break;
        case OPT_BATCH:
            if (parse_int(optarg, 1, 1000000, &n))
                return bad(cmd, "--batch", optarg, "an integer from 1 to 1000000");
            o->batch = (int)n;
            break;
        case OPT_SHIFT:
            if (parse_double(optarg, &v))
                return bad(cmd, "--shift", optarg, "a finite angle in degrees");
            cl->pt.shift = v;
            break;
        case OPT_LAMBDA:
            if (parse_double(optarg, &v) || v < 0)
                return bad(cmd, "--lambda", optarg, "a finite number >= 0");
            cl->pt.lambda = v;
            break;
        case OPT_NTARGET:
            if (parse_int(optarg, 1, 1000000, &n))
                return bad(cmd, "--n-target", optarg, "an integer from data.classes to 1000000");
            cl->pt.n_target = (int)n;
            break;
        case OPT_SEED:
            if (parse_int(optarg, 0, 9007199254740992LL, &n))
                return bad(cmd, "--seed", optarg, "an integer >= 0");
            cl->pt.seed = n;
            break;
        case 'h':
        case OPT_HELP:
            fputs(USAGE, stdout);
            return 0;
        case ':':
            fprintf(stderr, "tlsweep %s: %s needs a value; allowed: see tlsweep --help\n", cmd,
                    argv[optind - 1]);
            return TLS_EXIT_BAD_INPUT;
        default:
            fprintf(stderr, "tlsweep %s: unknown option %s; allowed: see tlsweep --help\n", cmd,
                    argv[optind - 1]);
            return TLS_EXIT_BAD_INPUT;
        }
    }
    if (optind < argc) {
        o->config_path = argv[optind++];
        cl->have_config = 1;
    }
    if (optind < argc) {
        fprintf(stderr,
                "tlsweep %s: unexpected argument '%s'; allowed: one CONFIG file (tlsweep --help)\n",
                cmd, argv[optind]);
        return TLS_EXIT_BAD_INPUT;
    }
    o->sets = cl->sets;
    return -1;
}

static void print_json(FILE *f, const tls_result *r, const tls_engine_params *p,
                       const tls_point *pt) {
    const tls_scalars *s = &r->s;
    int C = p->classes;
    fprintf(f, "{\"shift\": %.17g, \"lambda\": %.17g, \"n_target\": %d, \"seed\": %lld", pt->shift,
            pt->lambda, pt->n_target, (long long)pt->seed);
    fprintf(f, ", \"status\": \"%s\", \"reason\": \"%s\"",
            s->status == TLS_STATUS_DONE ? "done" : "failed", s->reason);
    for (int m = 0; m < TLS_NMETHODS; m++)
        fprintf(f, ", \"acc_%s\": %.17g", tls_method_names[m], s->acc[m]);
    fprintf(f, ", \"mmd2_input\": %.17g, \"mmd2_feat_before\": %.17g, \"mmd2_feat_after\": %.17g",
            s->mmd2_input, s->mmd2_feat_before, s->mmd2_feat_after);
    fprintf(f, ", \"pad_input\": %.17g, \"pad_feat\": %.17g, \"negative_transfer\": %s",
            s->pad_input, s->pad_feat, s->negative_transfer ? "true" : "false");
    for (int m = 0; m < TLS_NMETHODS; m++)
        fprintf(f, ", \"seconds_%s\": %.6f", tls_method_names[m], s->seconds[m]);
    for (int m = 0; m < TLS_NMETHODS; m++) {
        fprintf(f, ", \"confusion_%s\": [", tls_method_names[m]);
        for (int i = 0; i < C; i++) {
            fprintf(f, "%s[", i ? ", " : "");
            for (int j = 0; j < C; j++)
                fprintf(f, "%s%d", j ? ", " : "", r->confusion[((size_t)m * C + i) * C + j]);
            fprintf(f, "]");
        }
        fprintf(f, "]");
    }
    const float *curves[] = {r->ce_epoch, r->mmd_epoch, r->ft_epoch};
    const char *names[] = {"ce_epoch", "mmd2_epoch", "finetune_ce"};
    int lens[] = {p->epochs, p->epochs, p->finetune_epochs};
    for (int k = 0; k < 3; k++) {
        fprintf(f, ", \"%s\": [", names[k]);
        for (int e = 0; e < lens[k]; e++) fprintf(f, "%s%.9g", e ? ", " : "", curves[k][e]);
        fprintf(f, "]");
    }
    fprintf(f, "}\n");
}

static int cmd_one(cli *cl) {
    char err[TLS_ERRMSG];
    tls_config *c = NULL;
    int rc = tls_config_load(&c, cl->sweep.config_path, cl->sets, cl->sweep.nsets, err);
    if (rc != TLS_OK) {
        fprintf(stderr, "tlsweep one: %s\n", err);
        return rc == TLS_ERR_INPUT ? TLS_EXIT_BAD_INPUT : TLS_EXIT_FAILURE;
    }
    tls_data_files files;
    if (tls_data_files_attach(&files, c, err) != TLS_OK) {
        fprintf(stderr, "tlsweep one: %s\n", err);
        tls_config_destroy(&c);
        return TLS_EXIT_BAD_INPUT;
    }
    if (cl->pt.n_target < c->eng.classes) {
        fprintf(stderr,
                "tlsweep one: --n-target: %d is below data.classes (%d); allowed: an integer "
                "from data.classes to 1000000\n",
                cl->pt.n_target, c->eng.classes);
        tls_config_destroy(&c);
        return TLS_EXIT_BAD_INPUT;
    }
    tls_result *r = NULL;
    int exit_code = TLS_EXIT_FAILURE;
    if (tls_result_create(&r, &c->eng) == TLS_OK && tls_engine_run(r, &c->eng, &cl->pt) == TLS_OK) {
        print_json(stdout, r, &c->eng, &cl->pt);
        exit_code = TLS_EXIT_OK;
    }
    tls_data_files_release(&files);
    tls_result_destroy(&r);
    tls_config_destroy(&c);
    return exit_code;
}

static int cmd_config(cli *cl) {
    char err[TLS_ERRMSG];
    tls_config *c = NULL;
    int rc = tls_config_load(&c, cl->sweep.config_path, cl->sets, cl->sweep.nsets, err);
    if (rc != TLS_OK) {
        fprintf(stderr, "tlsweep config: %s\n", err);
        return rc == TLS_ERR_INPUT ? TLS_EXIT_BAD_INPUT : TLS_EXIT_FAILURE;
    }
    char *y = tls_config_yaml(c);
    printf("# effective configuration from %s\n%s", c->source, y ? y : "");
    printf("# grid: %d shift x %d lambda x %d n_target x %d seed = %lld configurations\n",
           c->axis[0].n, c->axis[1].n, c->axis[2].n, c->axis[3].n,
           (long long)tls_config_grid_size(c));
    printf("# config_hash: %016llx\n", (unsigned long long)tls_config_hash(c));
    free(y);
    tls_config_destroy(&c);
    return TLS_EXIT_OK;
}

static int cmd_run(cli *cl) {
    tls_sweep_install_signals();
    int provided = 0;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (provided < MPI_THREAD_FUNNELED) {
        fprintf(stderr, "tlsweep run: the MPI library does not provide MPI_THREAD_FUNNELED\n");
        MPI_Abort(MPI_COMM_WORLD, TLS_EXIT_FAILURE);
    }
    int code = tls_sweep_run(&cl->sweep);
    MPI_Finalize();
    return code;
}

int main(int argc, char **argv) {
    /* one BLAS thread per process: MPI ranks supply the parallelism, and the
     * results are bitwise reproducible only for a fixed BLAS thread count */
    openblas_set_num_threads(1);
    if (argc < 2) {
        fputs(USAGE, stderr);
        return TLS_EXIT_BAD_INPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("tlsweep %s\n", TLSWEEP_VERSION);
        return 0;
    }
    cli cl;
    memset(&cl, 0, sizeof(cl));
    cl.sweep.output = "results.h5";
    cl.sweep.drain_seconds = 25;
    cl.sweep.progress_seconds = 10;
    cl.sweep.batch = 1;
    cl.pt = (tls_point){.shift = 45, .lambda = 0.5, .n_target = 50, .seed = 42};
    int known = !strcmp(cmd, "one") || !strcmp(cmd, "run") || !strcmp(cmd, "config") ||
                !strcmp(cmd, "status");
    if (!known) {
        fprintf(
            stderr,
            "tlsweep: unknown command '%s'; allowed: one, run, config, status (tlsweep --help)\n",
            cmd);
        return TLS_EXIT_BAD_INPUT;
    }
    int rc = parse(argc - 1, argv + 1, cmd, &cl);
    if (rc >= 0) return rc;
    if (!strcmp(cmd, "one")) return cmd_one(&cl);
    if (!strcmp(cmd, "config")) return cmd_config(&cl);
    if (!strcmp(cmd, "status")) {
        if (!cl.have_config) {
            fprintf(stderr, "tlsweep status: missing FILE; allowed: tlsweep status results.h5\n");
            return TLS_EXIT_BAD_INPUT;
        }
        return tls_sweep_status(cl.sweep.config_path);
    }
    return cmd_run(&cl);
}
