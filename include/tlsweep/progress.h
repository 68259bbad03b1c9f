/* progress.h - the progress of a sweep on stderr (rank 0).
 *
 * A live bar when a terminal shows it, else one line every `interval`
 * seconds (Slurm logs). Under mpirun a rank's stderr is a pipe even when
 * mpirun's is a terminal, so TLSWEEP_PROGRESS=bar|lines decides; it is read
 * once, when the progress is created. No MPI. */
#ifndef TLSWEEP_PROGRESS_H
#define TLSWEEP_PROGRESS_H

#include <stdint.h>

typedef struct {
    int bar;         /* 1: redraw one line in place */
    double interval; /* seconds between lines (bar: 0.25) */
    double t0, last; /* start and last output, monotonic seconds */
    int64_t total;   /* configurations of the sweep (or part) */
    int64_t already; /* recorded before this run */
    int printed_bar; /* a bar is on screen: end it with a newline */
    /* the decide modes: the cells asked for (all, but in the boundary mode), of them stopped,
     * and the grid's (NULL: a grid's run) */
    void (*cells)(const void *ctx, int64_t *n, int64_t *stopped, int64_t *grid);
    const void *cells_ctx;
} tls_progress;

/* Monotonic seconds. */
double tls_now(void);
/* Formats a duration as M:SS or H:MM:SS ("--:--" when unknown). */
void tls_format_duration(char *buf, unsigned long len, double seconds);

void tls_progress_init(tls_progress *p, double interval, int64_t total, int64_t already);
/* Shows done/failed (of this run) when the interval has passed, or always
 * when final. */
void tls_progress_update(tls_progress *p, int64_t done, int64_t failed, int final);

#endif
