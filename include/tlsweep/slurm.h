/* slurm.h - what tlsweep asks of Slurm: time formats, the time a job has
 * left, and the job's identity. No MPI; reads the environment and runs
 * squeue only when asked. */
#ifndef TLSWEEP_SLURM_H
#define TLSWEEP_SLURM_H

#include <stddef.h>

/* Seconds in a Slurm time: "minutes:seconds", "hours:minutes:seconds",
 * "days-hours", "days-hours:minutes", "days-hours:minutes:seconds" (squeue
 * %L and sbatch --time print these); -1 when s is not one (UNLIMITED,
 * NOT_SET, junk, negative fields). */
double tls_parse_slurm_time(const char *s);

/* A --time-limit value: plain seconds ("3600", "90.5") or a Slurm time as
 * above ("1:00:00", "1-00:00:00"). Hexadecimal, inf and nan are not
 * accepted. Returns seconds > 0, or -1. */
double tls_parse_time_limit(const char *s);

/* Seconds left in the Slurm job this process runs in (squeue %L), or 0 when
 * not in a job or unknown. */
double tls_slurm_time_left(void);

/* The Slurm job this process runs in, as "JOBID" or "ARRAYJOB_TASK" with
 * ", restart N" for a requeued job; "" outside Slurm. */
void tls_slurm_job(char *buf, size_t len);

#endif
