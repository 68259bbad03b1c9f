#include "tlsweep/progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double tls_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tls_format_duration(char *buf, unsigned long len, double s) {
    if (!isfinite(s) || s < 0) {
        snprintf(buf, len, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

void tls_progress_init(tls_progress *p, double interval, int64_t total, int64_t already) {
    memset(p, 0, sizeof(*p));
    const char *mode = getenv("TLSWEEP_PROGRESS");
    p->bar = mode ? !strcmp(mode, "bar") : isatty(2);
    p->interval = p->bar ? 0.25 : interval;
    p->t0 = p->last = tls_now();
    p->total = total;
    p->already = already;
}

/* The decide modes: configurations run (of at most total) and cells stopped. */
static void update_cells(tls_progress *p, int64_t done, int64_t failed, int final, double t) {
    int64_t n = 0, stopped = 0, grid = 0;
    p->cells(p->cells_ctx, &n, &stopped, &grid);
    double el = t - p->t0, rate = el > 0 ? done / el : 0;
    char se[32], of[64] = "";
    tls_format_duration(se, sizeof(se), el);
    if (n != grid) /* the boundary map: the cells it has asked for so far */
        snprintf(of, sizeof(of), " (asked for by the map, of %lld)", (long long)grid);
    if (p->bar) {
        fprintf(stderr,
                "\r%lld/%lld cells%s decided or spent, %lld configurations (at most %lld) "
                "%.2f cfg/s elapsed %s%s%s",
                (long long)stopped, (long long)n, of, (long long)(done + p->already),
                (long long)p->total, rate, se, failed ? " (failures)" : "", final ? "\n" : "");
        p->printed_bar = !final;
    } else {
        fprintf(stderr,
                "tlsweep: %lld/%lld cells%s decided or spent; %lld configurations (at most %lld), "
                "%lld failed, %.2f cfg/s, elapsed %s\n",
                (long long)stopped, (long long)n, of, (long long)(done + p->already),
                (long long)p->total, (long long)failed, rate, se);
    }
}

void tls_progress_update(tls_progress *p, int64_t done, int64_t failed, int final) {
    double t = tls_now();
    if (!final && t - p->last < p->interval) return;
    p->last = t;
    if (p->cells) {
        update_cells(p, done, failed, final, t);
        return;
    }
    int64_t todo = p->total - p->already;
    double el = t - p->t0, rate = el > 0 ? done / el : 0;
    double eta = rate > 0 ? (todo - done) / rate : NAN;
    char se[32], sr[32];
    tls_format_duration(se, sizeof(se), el);
    tls_format_duration(sr, sizeof(sr), eta);
    double frac = p->total ? (double)(done + p->already) / p->total : 1;
    if (p->bar) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %lld/%lld %5.1f%% %.2f cfg/s elapsed %s ETA %s%s%s", bar,
                (long long)(done + p->already), (long long)p->total, 100 * frac, rate, se, sr,
                failed ? " (failures)" : "", final ? "\n" : "");
        p->printed_bar = !final;
    } else {
        fprintf(stderr,
                "tlsweep: %lld/%lld done (%.1f%%), %lld failed, %.2f cfg/s, elapsed %s, ETA %s\n",
                (long long)(done + p->already), (long long)p->total, 100 * frac, (long long)failed,
                rate, se, sr);
    }
}
