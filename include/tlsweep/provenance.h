/* provenance.h - where a result came from: the build (version, git commit,
 * compiler and flags), the machine (host, CPU model), the time and the
 * command line. No MPI. */
#ifndef TLSWEEP_PROVENANCE_H
#define TLSWEEP_PROVENANCE_H

#include <stddef.h>

typedef struct {
    const char *version;  /* the project's version, e.g. "0.2.0" */
    const char *commit;   /* git commit of the build, "+modified" when the tree was; "unknown" */
    const char *compiler; /* e.g. "GNU 12.2.0" */
    const char *cflags;   /* the C flags of the build type */
} tls_build;

const tls_build *tls_build_info(void);

/* The CPU model (/proc/cpuinfo "model name"; the machine type when absent). */
void tls_cpu_model(char *buf, size_t len);
/* This host's name ("" when unknown). */
void tls_hostname(char *buf, size_t len);
/* Now, as ISO 8601 UTC ("2026-11-26T12:00:00Z"). */
void tls_iso_time(char *buf, size_t len);
/* This process's peak resident memory, MiB (/proc/self/status VmHWM; 0 unknown). */
double tls_peak_rss_mib(void);
/* argv as one line a shell reads back as the same words (malloc'ed; NULL
 * when out of memory). */
char *tls_command_line(int argc, char **argv);

#endif
