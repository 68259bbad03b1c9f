/* worker.c - one configuration computed and journaled (worker.h). */
#include "tlsweep/worker.h"

#include "tlsweep/check.h"
#include "tlsweep/grid.h"
#include "tlsweep/progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Whether TLSWEEP_FAULT lists grid index idx (never set in production). */
static int injected_fault(int64_t idx) {
    const char *s = getenv("TLSWEEP_FAULT");
    while (s && *s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s) return 0;
        if (v == idx) return 1;
        s = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* While the file TLSWEEP_HOLD names exists, no configuration starts (never set in
   production): tests that must act on a running sweep hold it there, whatever the
   machine's speed. A "%a" in the name stands for the Slurm array task id, so that
   one part of a job array can be held. */
static void hold_while_asked(void) {
    const char *name = getenv("TLSWEEP_HOLD");
    if (!name || !*name) return;
    const char *task = getenv("SLURM_ARRAY_TASK_ID"), *at = strstr(name, "%a");
    char path[4096];
    if (at)
        snprintf(path, sizeof(path), "%.*s%s%s", (int)(at - name), name, task ? task : "", at + 2);
    else
        snprintf(path, sizeof(path), "%s", name);
    struct timespec pause = {0, 20 * 1000 * 1000};
    while (access(path, F_OK) == 0) nanosleep(&pause, NULL);
}

int tls_worker_compute(void *worker, int64_t idx, tls_msg_rec *rec, double *seconds) {
    tls_worker *x = worker;
    hold_while_asked();
    tls_settings st;
    tls_grid_settings(x->s->c, idx, &st);
    tls_data_files_bind(&x->s->files, &st.eng);
    double t = tls_now();
    TLS_CALL(tls_engine_run(x->r, &st.eng, &st.pt));
    tls_result_expand(x->r, &st.eng, &x->s->env);
    if (injected_fault(idx)) {
        tls_scalars *sc = &x->r->s;
        sc->status = sc->mstatus[TLS_METHOD_MMD] = TLS_STATUS_FAILED;
        sc->acc[TLS_METHOD_MMD] = sc->mmd2_feat_after = sc->pad_feat = NAN;
        sc->negative_transfer = -1;
        snprintf(sc->reason, sizeof(sc->reason), "mmd: fault injected by TLSWEEP_FAULT");
    }
    tls_record_meta meta;
    memset(&meta, 0, sizeof(meta));
    meta.index = idx;
    meta.rank = x->rank;
    meta.seconds = tls_now() - t;
    meta.finished = (double)time(NULL);
    memcpy(meta.host, x->host, sizeof(meta.host));
    TLS_TRY(tls_journal_append(x->journal, &meta, x->r, &rec->offset)); /* said by compute() */
    if (tls_journal_check(x->journal) != TLS_OK) return TLS_ERR_STATE;
    rec->status = x->r->s.status;
    memcpy(rec->acc, x->r->s.acc, sizeof(rec->acc));
    *seconds = meta.seconds;
    return TLS_OK;
}
