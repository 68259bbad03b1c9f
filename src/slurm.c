#include "tlsweep/slurm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a run of 1-9 decimal digits at *s into *v; -1 when there is none. */
static int digits(const char **s, long *v) {
    const char *p = *s;
    long x = 0;
    int n = 0;
    while (isdigit((unsigned char)*p) && n < 9) x = 10 * x + (*p++ - '0'), n++;
    if (n == 0 || isdigit((unsigned char)*p)) return -1;
    *v = x;
    *s = p;
    return 0;
}

double tls_parse_slurm_time(const char *s) {
    long f[4];
    int n = 0;
    long days = 0;
    const char *p = s;
    if (!p || !*p) return -1;
    const char *dash = strchr(p, '-');
    if (dash) {
        if (digits(&p, &days) || *p != '-') return -1;
        p++;
    }
    for (;;) {
        if (n == 3 || digits(&p, &f[n])) return -1;
        n++;
        if (*p == '\0') break;
        if (*p != ':') return -1;
        p++;
    }
    double sec;
    if (dash) { /* days-hours[:minutes[:seconds]] */
        long h = f[0], m = n > 1 ? f[1] : 0, x = n > 2 ? f[2] : 0;
        sec = ((days * 24.0 + h) * 60.0 + m) * 60.0 + x;
    } else if (n == 3) { /* hours:minutes:seconds */
        sec = (f[0] * 60.0 + f[1]) * 60.0 + f[2];
    } else if (n == 2) { /* minutes:seconds */
        sec = f[0] * 60.0 + f[1];
    } else {
        return -1; /* a bare number is not a Slurm time here: see tls_parse_time_limit */
    }
    return sec;
}

double tls_parse_time_limit(const char *s) {
    if (!s || !*s) return -1;
    if (strchr(s, ':') || strchr(s, '-')) {
        double t = tls_parse_slurm_time(s);
        return t > 0 ? t : -1;
    }
    /* plain seconds: digits and at most one point */
    if (strspn(s, "0123456789.") != strlen(s) || strchr(s, '.') != strrchr(s, '.')) return -1;
    double t = strtod(s, NULL);
    return t > 0 ? t : -1;
}

double tls_slurm_time_left(void) {
    const char *job = getenv("SLURM_JOB_ID");
    if (!job || !*job || strspn(job, "0123456789_") != strlen(job) || strlen(job) > 40) return 0;
    char cmd[128], out[64] = "";
    snprintf(cmd, sizeof(cmd), "squeue -h -j %s -o %%L 2>/dev/null", job);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    if (!fgets(out, sizeof(out), p)) out[0] = '\0';
    pclose(p);
    out[strcspn(out, " \n")] = '\0';
    double left = tls_parse_slurm_time(out);
    return left > 0 ? left : 0;
}

void tls_slurm_job(char *buf, size_t len) {
    const char *job = getenv("SLURM_JOB_ID"), *arr = getenv("SLURM_ARRAY_JOB_ID");
    const char *task = getenv("SLURM_ARRAY_TASK_ID"), *restart = getenv("SLURM_RESTART_COUNT");
    buf[0] = '\0';
    if (!job || !*job) return;
    if (arr && *arr && task && *task)
        snprintf(buf, len, "%.40s_%.20s (job %.40s)", arr, task, job);
    else
        snprintf(buf, len, "%.40s", job);
    if (restart && *restart && strcmp(restart, "0"))
        snprintf(buf + strlen(buf), len - strlen(buf), ", restart %.20s", restart);
}
