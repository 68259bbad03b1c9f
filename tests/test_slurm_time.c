/* tls_parse_slurm_time: squeue's %L, the time a job has left. */
#include "tlsweep/slurm.h"

#include <stdio.h>

int main(void) {
    struct {
        const char *s;
        double want;
    } cases[] = {{"1:05", 65},     {"2:01:05", 7265}, {"3-04:05:06", 273906},
                 {"3-04", 273600}, {"0:00", 0},       {"UNLIMITED", -1},
                 {"INVALID", -1},  {"NOT_SET", -1},   {"", -1}};
    int n = sizeof(cases) / sizeof(cases[0]), failed = 0;
    for (int i = 0; i < n; i++) {
        double got = tls_parse_slurm_time(cases[i].s);
        if (got != cases[i].want) {
            fprintf(stderr, "FAIL '%s': got %g want %g\n", cases[i].s, got, cases[i].want);
            failed++;
        }
    }
    printf("test_slurm_time: %d checks, %d failed\n", n, failed);
    return failed != 0;
}
