/* sweep.h - the distributed sweep: rank 0 hands out grid points, every rank
 * (rank 0 included, on a compute thread) runs the engine, results go to
 * per-rank journals, and all ranks then write one parallel HDF5 file.
 *
 * Collective over MPI_COMM_WORLD. Returns the process exit status:
 * 0 complete, 2 bad input (nothing written), 75 interrupted and resumable,
 * 1 any other failure (with a message naming the rank and cause). */
#ifndef TLSWEEP_SWEEP_H
#define TLSWEEP_SWEEP_H

enum { TLS_EXIT_OK = 0, TLS_EXIT_FAILURE = 1, TLS_EXIT_BAD_INPUT = 2, TLS_EXIT_RESUMABLE = 75 };

typedef struct {
    const char *config_path; /* YAML file, or NULL for the built-in default */
    const char *const *sets; /* --set KEY=VALUE overrides */
    int nsets;
    const char *output;      /* results file */
    int force;               /* replace an existing output / ignore the disk estimate */
    int resume;              /* continue an interrupted sweep */
    int retry_failed;        /* with resume: recompute failed configurations too */
    int dry_run;             /* print grid size, layout and time estimate; write nothing */
    double drain_seconds;    /* after a signal, how long in-flight work may take, s */
    double time_limit;       /* wall-clock budget of this run, s (0: none) */
    double progress_seconds; /* progress line interval when stderr is not a terminal, s */
    int batch;               /* configurations handed out per request */
} tls_sweep_opts;

int tls_sweep_run(const tls_sweep_opts *o);

/* Installs the SIGTERM/SIGINT/SIGUSR1 handlers of a run (first signal: stop
 * handing out work and drain; second: exit 75 at once). Call before
 * MPI_Init so that an early signal cannot kill a rank. */
void tls_sweep_install_signals(void);

/* Seconds in a Slurm time as squeue's %L prints it ("[days-][hours:]minutes:seconds"),
 * or -1 when s is not one (UNLIMITED, NOT_SET, ...). */
double tls_parse_slurm_time(const char *s);

/* Prints done / failed / pending of a results file or an interrupted
 * sweep's state, and the failed configurations with their reasons. Serial.
 * Returns 0 when complete, 75 when resumable, 2 when path is not a tlsweep
 * results file. */
int tls_sweep_status(const char *path);

#endif
