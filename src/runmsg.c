/* runmsg.c - what `tlsweep run` says as it starts and ends (runmsg.h). */
#include "tlsweep/runmsg.h"

#include "tlsweep/check.h"
#include "tlsweep/progress.h"

#include <stdio.h>
#include <stdlib.h>

void tls_runmsg_opening(const tls_run_opts *o, int nranks, int64_t cells, int64_t stopped,
                        int64_t grid, int64_t already, int64_t nwork, int64_t count) {
    const char *ranks = nranks > 1 ? "s" : "", *part = o->part.n > 1 ? " (this part)" : "";
    if (cells >= 0) {
        char what[160];
        if (cells != grid) /* the boundary map */
            snprintf(what, sizeof(what),
                     "the map asks for %lld of the grid's %lld cells first (more where decisions "
                     "differ)",
                     (long long)cells, (long long)grid);
        else
            snprintf(what, sizeof(what), "%lld cells", (long long)cells);
        fprintf(stderr,
                "tlsweep: %s%s: %s, %lld of them decided or spent; %lld configurations recorded, "
                "at most %lld%s on %d rank%s\n",
                o->resume ? "resuming " : "decisions cell by cell -> ", o->output, what,
                (long long)stopped, (long long)already, (long long)count, part, nranks, ranks);
    } else if (o->resume)
        fprintf(stderr,
                "tlsweep: resuming %s: %lld of %lld configurations already recorded, %lld to "
                "compute\n",
                o->output, (long long)already, (long long)count, (long long)nwork);
    else
        fprintf(stderr, "tlsweep: %lld configurations%s on %d rank%s -> %s\n", (long long)count,
                part, nranks, ranks, o->output);
}

void tls_runmsg_resume_hint(char *buf, size_t len, const tls_run_opts *o, int nranks) {
    const char *launcher = getenv("TLSWEEP_RESUME_WITH");
    char pt[48] = ""; /* a part resumes as that part */
    if (o->part.n > 1) snprintf(pt, sizeof(pt), " --part %d/%d", o->part.k, o->part.n);
    if (launcher && *launcher)
        snprintf(buf, len, "%s -o %s%s --resume", launcher, o->output, pt);
    else if (getenv("OMPI_COMM_WORLD_SIZE") || nranks > 1)
        snprintf(buf, len, "mpirun -n %d %s run -o %s%s --resume", nranks, o->program, o->output,
                 pt);
    else
        snprintf(buf, len, "%s run -o %s%s --resume", o->program, o->output, pt);
}

/* The exit status of a run whose file is in place, and why it stopped early. */
static int outcome(const tls_store_counts *cnt, const tls_sched_result *sr, int lost, char *why,
                   size_t len) {
    why[0] = '\0';
    if (lost)
        snprintf(why, len, " (state directory deleted)");
    else if (sr->stop == TLS_STOP_TIME)
        snprintf(why, len,
                 " (time limit: nothing starts in its last %g s, kept for writing the "
                 "file, nor when 1.5 x the longest configuration so far would not fit)",
                 TLS_SCHED_RESERVE_SECONDS);
    else if (sr->stop == TLS_STOP_SIGNAL)
        snprintf(why, len, " (signal)");
    if (lost || cnt->pending) return TLS_EXIT_RESUMABLE;
    return cnt->done == 0 ? TLS_EXIT_ALL_FAILED : TLS_EXIT_OK;
}

int tls_runmsg_closing(const tls_run_opts *o, int nranks, int64_t count,
                       const tls_store_counts *cnt, const tls_sched_result *sr, int decide_mode,
                       int lost, double elapsed, double write_seconds) {
    char el[32], unneeded[64] = "", why[200], hint[4400];
    tls_format_duration(el, sizeof(el), elapsed);
    if (cnt->not_needed)
        snprintf(unneeded, sizeof(unneeded), ", %lld not needed", (long long)cnt->not_needed);
    fprintf(stderr,
            "tlsweep: %lld configurations: %lld done, %lld failed, %lld pending%s; wrote %s "
            "in %s (file writing %.2f s)\n",
            (long long)count, (long long)cnt->done, (long long)cnt->failed, (long long)cnt->pending,
            unneeded, o->output, el, write_seconds);
    if (decide_mode && sr->seconds > 0)
        fprintf(stderr,
                "tlsweep: deciding what to run took %.3f s of the %.1f s of computing "
                "(%.2f%%)\n",
                sr->plan_seconds, sr->seconds, 100.0 * sr->plan_seconds / sr->seconds);
    if (cnt->failed)
        fprintf(stderr, "tlsweep: %lld failed: `%s status %s` lists them with their reasons\n",
                (long long)cnt->failed, o->program, o->output);
    int code = outcome(cnt, sr, lost, why, sizeof(why));
    tls_runmsg_resume_hint(hint, sizeof(hint), o, nranks);
    if (code == TLS_EXIT_RESUMABLE)
        fprintf(stderr, "tlsweep: interrupted%s; continue with: %s\n", why, hint);
    if (code == TLS_EXIT_ALL_FAILED)
        fprintf(stderr, "tlsweep: every configuration failed (exit status 3); see `%s status %s`\n",
                o->program, o->output);
    return code;
}
