#include "tlsweep/sched.h"

#include "tlsweep/check.h"
#include "tlsweep/engine.h"
#include "tlsweep/signals.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The coordinator's state, shared with rank 0's compute thread. */
typedef struct {
    const tls_sched_opts *o;
    tls_compute_fn fn;
    void *ctx;
    pthread_mutex_t mu;
    int64_t next; /* next position in o->work */
    int stop;     /* TLS_STOP_*: hand out nothing more */
    int64_t done, failed;
    double max_seconds; /* longest configuration so far, s */
    double t0;
    int local_finished; /* the compute thread has left */
    int local_error;    /* its error code */
} coord;

/* Takes up to max indices to compute, under the lock; 0 when none. */
static int take_work(coord *x, int64_t *out, int max) {
    int n = 0;
    pthread_mutex_lock(&x->mu);
    if (!x->stop && tls_signals_received()) x->stop = TLS_STOP_SIGNAL;
    if (!x->stop && x->o->time_limit > 0 && x->next < x->o->nwork) {
        /* do not start what cannot finish: the longest configuration so far,
         * plus a reserve for writing the results file */
        double left = x->o->time_limit - (tls_now() - x->t0);
        if (left < 1.5 * x->max_seconds + TLS_SCHED_RESERVE_SECONDS) x->stop = TLS_STOP_TIME;
    }
    while (!x->stop && n < max && x->next < x->o->nwork) out[n++] = x->o->work[x->next++];
    pthread_mutex_unlock(&x->mu);
    return n;
}

static void count(coord *x, int64_t done, int64_t failed, double seconds) {
    pthread_mutex_lock(&x->mu);
    x->done += done;
    x->failed += failed;
    if (seconds > x->max_seconds) x->max_seconds = seconds;
    pthread_mutex_unlock(&x->mu);
}

static void *local_worker(void *arg) {
    coord *x = arg;
    int64_t idx;
    while (take_work(x, &idx, 1) == 1) {
        int status;
        double s;
        tls_msg_rec rec = {idx, 0, 0, 0};
        int rc = x->fn(x->ctx, idx, &status, &s, &rec.offset);
        if (rc == TLS_OK && x->o->on_record) {
            rec.status = status;
            pthread_mutex_lock(&x->mu);
            x->o->on_record(x->o->record_ctx, 0, &rec);
            pthread_mutex_unlock(&x->mu);
        }
        if (rc != TLS_OK) {
            pthread_mutex_lock(&x->mu);
            x->local_error = rc;
            x->stop = TLS_STOP_ERROR;
            pthread_mutex_unlock(&x->mu);
            break;
        }
        count(x, status == TLS_STATUS_DONE, status != TLS_STATUS_DONE, s);
    }
    pthread_mutex_lock(&x->mu);
    x->local_finished = 1;
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

/* Rank 0: serves the other ranks while its compute thread works. */
static int coordinate(MPI_Comm comm, coord *x, int nranks) {
    static tls_msg_work msg; /* one coordinator per process */
    int active = nranks - 1, announced = 0;
    double drain_start = 0;
    for (;;) {
        pthread_mutex_lock(&x->mu);
        if (!x->stop && tls_signals_received()) x->stop = TLS_STOP_SIGNAL;
        int stop = x->stop, local_done = x->local_finished;
        int64_t done = x->done, failed = x->failed;
        pthread_mutex_unlock(&x->mu);
        if (stop == TLS_STOP_SIGNAL && !announced) {
            if (x->o->progress && x->o->progress->printed_bar) fputc('\n', stderr);
            fprintf(stderr,
                    "tlsweep: signal received: no new configurations; waiting up to %.0f s for "
                    "those in flight\n",
                    x->o->drain_seconds);
            announced = 1;
            drain_start = tls_now();
        }
        if (announced && tls_now() - drain_start > x->o->drain_seconds) {
            fprintf(stderr,
                    "tlsweep: drain bound of %.0f s reached; configurations in flight are "
                    "abandoned; the sweep is resumable with --resume\n",
                    x->o->drain_seconds);
            MPI_Abort(comm, TLS_EXIT_RESUMABLE);
        }
        if (active == 0 && local_done) break;
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TLS_TAG_ASK, comm, &flag, &st);
        if (!flag) {
            if (x->o->progress) tls_progress_update(x->o->progress, done, failed, 0);
            struct timespec ts = {0, 500000}; /* 0.5 ms: keeps the core for the compute thread */
            nanosleep(&ts, NULL);
            continue;
        }
        static tls_msg_ask ask;
        MPI_Recv(&ask, sizeof(ask), MPI_BYTE, st.MPI_SOURCE, TLS_TAG_ASK, comm, MPI_STATUS_IGNORE);
        count(x, ask.done, ask.failed, ask.max_seconds);
        pthread_mutex_lock(&x->mu);
        for (int32_t i = 0; x->o->on_record && i < ask.nrec && i < TLS_WORK_MAX; i++)
            x->o->on_record(x->o->record_ctx, st.MPI_SOURCE, &ask.rec[i]);
        if (!x->stop && (ask.flags & TLS_ASK_ERROR)) x->stop = TLS_STOP_ERROR;
        if (!x->stop && (ask.flags & TLS_ASK_SIGNALLED)) x->stop = TLS_STOP_SIGNAL;
        pthread_mutex_unlock(&x->mu);
        msg.n = (ask.flags & TLS_ASK_ERROR) ? 0 : take_work(x, msg.idx, x->o->batch);
        MPI_Send(&msg, (int)(offsetof(tls_msg_work, idx) + sizeof(int64_t) * (size_t)msg.n),
                 MPI_BYTE, st.MPI_SOURCE, TLS_TAG_WORK, comm);
        if (msg.n == 0) active--;
    }
    return TLS_OK;
}

/* Ranks > 0: ask for work until told there is none. */
static int serve(MPI_Comm comm, const tls_sched_opts *o, tls_compute_fn fn, void *ctx) {
    static tls_msg_work msg;
    static tls_msg_ask ask;
    memset(&ask, 0, offsetof(tls_msg_ask, rec));
    int error = TLS_OK;
    (void)o;
    for (;;) {
        ask.flags = (tls_signals_received() ? TLS_ASK_SIGNALLED : 0) | (error ? TLS_ASK_ERROR : 0);
        ask.error = error;
        MPI_Send(&ask, (int)(offsetof(tls_msg_ask, rec) + sizeof(tls_msg_rec) * (size_t)ask.nrec),
                 MPI_BYTE, 0, TLS_TAG_ASK, comm);
        MPI_Recv(&msg, sizeof(msg), MPI_BYTE, 0, TLS_TAG_WORK, comm, MPI_STATUS_IGNORE);
        if (msg.n <= 0) break;
        ask.done = ask.failed = 0;
        ask.max_seconds = 0;
        ask.nrec = 0;
        for (int32_t i = 0; i < msg.n && !error; i++) {
            int status;
            double s;
            tls_msg_rec *rec = &ask.rec[ask.nrec];
            error = fn(ctx, msg.idx[i], &status, &s, &rec->offset);
            if (error) break;
            rec->index = msg.idx[i];
            rec->status = status;
            ask.nrec++;
            ask.done += status == TLS_STATUS_DONE;
            ask.failed += status != TLS_STATUS_DONE;
            if (s > ask.max_seconds) ask.max_seconds = s;
        }
    }
    return error;
}

int tls_sched_run(MPI_Comm comm, const tls_sched_opts *o, tls_compute_fn fn, void *ctx,
                  tls_sched_result *res) {
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    memset(res, 0, sizeof(*res));
    if (rank != 0) {
        res->error = serve(comm, o, fn, ctx);
        return res->error;
    }
    coord x;
    memset(&x, 0, sizeof(x));
    x.o = o, x.fn = fn, x.ctx = ctx;
    x.t0 = tls_now();
    pthread_mutex_init(&x.mu, NULL);
    pthread_t th;
    int rc = pthread_create(&th, NULL, local_worker, &x);
    if (rc != 0) {
        x.local_finished = 1;
        x.local_error = TLS_ERR_NOMEM;
        x.stop = TLS_STOP_ERROR;
        fprintf(stderr, "tlsweep: rank 0: cannot start the compute thread\n");
    }
    coordinate(comm, &x, nranks);
    if (rc == 0) pthread_join(th, NULL);
    if (o->progress) tls_progress_update(o->progress, x.done, x.failed, 1);
    pthread_mutex_destroy(&x.mu);
    res->done = x.done;
    res->failed = x.failed;
    res->stop = x.stop;
    res->error = x.local_error;
    return res->error;
}
