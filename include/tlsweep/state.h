/* state.h - the state of a sweep that runs or was interrupted: the
 * directory OUT.tlsweep.d/ beside the results file OUT.
 *
 *   lock         held (flock) by the running rank 0; says "pid P on HOST since T"
 *   manifest     "tlsweep-state 2", the sweep's identity, configuration hash,
 *                data checksums, grid size, part, start time (written atomically)
 *   config.yaml  the effective configuration (what --resume without CONFIG uses)
 *   runs.txt     one entry per run: start, end, command line, ranks, hosts,
 *                CPU models, Slurm job, exit status (provenance)
 *   journal-RUN-RANK.bin   journal.h; journal-000000-import.bin holds results
 *                taken over from a results file (resume without a state)
 *   partial.h5   the results file while it is written
 *
 * The lock file is never removed while a run holds it (--force empties the
 * directory around it), so there is no moment without a lock. Removal on
 * completion happens after the complete results file is durable (store.h)
 * and in an order that leaves, at every instant, a state that `status`
 * and `--resume` read correctly. Serial (rank 0). No MPI. */
#ifndef TLSWEEP_STATE_H
#define TLSWEEP_STATE_H

#include "tlsweep/grid.h"
#include "tlsweep/journal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

enum { TLS_STATE_VERSION = 2, TLS_RUN_FIELDS = 9 };

typedef struct {
    int version;          /* TLS_STATE_VERSION */
    uint64_t sweep_id;    /* random, chosen when the state is created */
    uint64_t config_hash; /* tls_config_hash */
    uint32_t data_crc[2]; /* CRC-32 of the data files (0 without) */
    int64_t grid_size;
    tls_part part;
    char started[32]; /* ISO 8601 UTC: the first run's start */
} tls_manifest;

/* One run of a sweep, for provenance: each field a string ("" unknown).
 * Fields, in order: started, finished, command, ranks, hosts, cpus,
 * slurm_job, exit_status, version (tlsweep version and commit). */
typedef struct {
    char *field[TLS_RUN_FIELDS];
} tls_run;

extern const char *const tls_run_field_names[TLS_RUN_FIELDS];

typedef struct {
    int n;
    tls_run *run;
} tls_runs;

void tls_runs_free(tls_runs *r);
/* Appends a copy of run to r. */
int tls_runs_add(tls_runs *r, const tls_run *run);

typedef struct {
    char dir[4096];
    int lock_fd; /* -1: not locked */
} tls_state;

/* The state directory of output path `out`: "OUT.tlsweep.d". TLS_ERR_INPUT
 * (one line in err) when its name would be longer than the file system
 * allows. */
int tls_state_dir(char *buf, size_t len, const char *out, char *err);

/* Creates the directory if needed and takes the lock. TLS_ERR_INPUT with
 * one line in err when another run holds it. */
int tls_state_lock(tls_state *s, const char *dir, char *err);
void tls_state_unlock(tls_state *s);
/* Writes "pid P on HOST since T" into the held lock file: once the run
 * has decided to go on (a refused run leaves the state untouched). */
void tls_state_claim(tls_state *s);
/* Whether another process holds dir's lock (1), with its "pid P on HOST
 * since T" in holder; 0 when not held or there is no state. */
int tls_state_probe(const char *dir, char *holder, size_t len);

/* Empties a locked state directory (all but the lock) and writes a new
 * manifest and config.yaml. */
int tls_state_reset(tls_state *s, const tls_manifest *m, const char *config_yaml);

/* Writes config.yaml of a locked state: the sweep's effective configuration
 * (a resume writes it again when it is missing). */
int tls_state_write_config(tls_state *s, const char *config_yaml);

/* Whether dir is a sweep's state that lost its manifest: the directory
 * holds journals but no manifest (status and --resume refuse it alike). */
int tls_state_orphaned(const char *dir);

/* Reads and checks dir's manifest. TLS_ERR_INPUT with one line in err when
 * it is missing, damaged or of another version. */
int tls_manifest_read(const char *dir, tls_manifest *m, char *err);
/* A new random sweep identity. */
uint64_t tls_state_new_id(void);

/* The configuration stored in dir (malloc'ed text), or NULL. */
char *tls_state_config(const char *dir);

/* Appends run (its fields so far) as run number `number` to runs.txt, or
 * replaces that run's entry when it is there. */
int tls_state_run_write(tls_state *s, int number, const tls_run *run);
/* Reads runs.txt (missing: no runs). */
int tls_state_runs_read(const char *dir, tls_runs *out);

/* Path of a file in the state directory. */
void tls_state_path(const tls_state *s, const char *name, char *buf, size_t len);

/* ---- the journals' names: built and parsed here only ---- */

/* The most runs a sweep's state holds: a journal of a later run (as
 * journal-999999-000000.bin) is not the sweep's, and run TLS_STATE_MAX_RUNS + 1
 * is refused (a runs.txt of a million runs took 143 MB and 22 s). */
#define TLS_STATE_MAX_RUNS 9999

/* dir/journal-RUN-RANK.bin, the journal of rank `rank` in run `run`; run 0:
 * dir/journal-000000-import.bin, the results taken over from a results file. */
void tls_state_journal_path(const char *dir, int run, int rank, char *buf, size_t len);
/* 1 when name (a file name, no directory) is exactly a journal's name as
 * tls_state_journal_path makes it, with its run (0: the import journal; at
 * most TLS_STATE_MAX_RUNS) and
 * rank (-1 for the import journal); else 0: any other file is not a
 * journal, whatever it is called, and is never read or counted. */
int tls_state_journal_parse(const char *name, int *run, int *rank);
/* The journal files of dir, in the order in which their records supersede
 * each other (the import journal, then by run, then by rank): *paths is a
 * malloc'ed array of *n malloc'ed paths (tls_state_journals_free). A missing
 * directory has none. TLS_ERR_IO with a message on stderr. */
int tls_state_journals(const char *dir, char ***paths, int *n);
void tls_state_journals_free(char **paths, int n);
/* How many entries of dir are none of the state's own names (its lock,
 * manifest, config.yaml, runs.txt, partial.h5, their temporary names and
 * its journals), the first of them in first: what the state ignores. */
int tls_state_strays(const char *dir, char *first, size_t len);
/* Opens the journals of dir for reading (journal.h's reader on
 * tls_state_journals). */
int tls_state_journal_reader(tls_journal_reader **rd, const char *dir, uint64_t sweep_id,
                             int64_t grid_size, size_t array_bytes);

/* Removes the state directory once the sweep is complete and its results
 * file durable: journals, then the rest, then the lock and the directory. */
int tls_state_remove(tls_state *s);

/* What the journals hold, per position of a sweep (or part): the latest
 * record of each configuration. 13 bytes per configuration. */
typedef struct {
    int64_t count;   /* positions */
    int32_t *file;   /* (count) journal file of the latest record, -1: none (pending) */
    int64_t *offset; /* (count) its offset in that file */
    int8_t *status;  /* (count) its TLS_STATUS_* */
    double *acc;     /* (count, TLS_NMETHODS) its accuracies, when asked for (else NULL) */
    char **hosts;    /* the hosts that computed the records */
    int nhosts;
    int64_t ndone, nfailed;
    tls_journal_stats stats;
} tls_resume_map;

/* Scans every journal of rd (a sweep on part `part`, `count` positions)
 * into m; with_acc: also each position's accuracies (what the decide modes
 * plan by), NaN where pending. r: a result created for the sweep's
 * envelope, used as scratch. */
int tls_resume_map_build(tls_resume_map *m, tls_journal_reader *rd, tls_part part, int64_t count,
                         int with_acc, tls_result *r);
void tls_resume_map_free(tls_resume_map *m);
/* Adds host to m's hosts unless it is there. */
int tls_resume_map_add_host(tls_resume_map *m, const char *host);
/* The largest run number among dir's journal files (0: none). */
int tls_state_last_run(const char *dir);

/* open(path, flags, mode) of a regular file, never blocking: a FIFO,
 * device, socket or directory is closed again unread. The descriptor
 * (O_CLOEXEC, blocking), or -1 with why (len bytes) saying what is wrong. */
int tls_open_regular(const char *path, int flags, int mode, char *why, size_t len);
/* fopen(path, "r") or ("w": created or truncated) of a regular file through
 * tls_open_regular; NULL with why. */
FILE *tls_fopen_regular(const char *path, const char *how, char *why, size_t len);

/* fsync of a file and of the directory that holds it: what makes a
 * rename durable. */
int tls_fsync_path(const char *path);
int tls_fsync_parent(const char *path);

#endif
