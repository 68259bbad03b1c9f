#include "tlsweep/sched.h"

#include "tlsweep/check.h"
#include "tlsweep/comm.h"
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
    int stop;      /* TLS_STOP_*: hand out nothing more */
    int done_plan; /* the plan said it has nothing more */
    int64_t done, failed;
    double max_seconds; /* longest configuration so far, s */
    double t0;
    double plan_seconds; /* spent in the plan's next and record, s */
    int local_finished;  /* the compute thread has left */
    int local_waiting;   /* ... waits for the plan */
    int local_error;     /* its error code */
} coord;

/* Takes up to max indices to compute, under the lock: how many; 0 with
 * *wait set when the plan may have more once records arrive. */
static int take_work_locked(coord *x, int64_t *out, int max, int *wait) {
    *wait = 0;
    if (!x->stop && tls_signals_received()) x->stop = TLS_STOP_SIGNAL;
    if (x->stop || x->done_plan) return 0;
    if (x->o->time_limit > 0) {
        /* do not start what cannot finish: the longest configuration so far,
         * plus a reserve for writing the results file */
        double left = x->o->time_limit - (tls_now() - x->t0);
        if (left < 1.5 * x->max_seconds + TLS_SCHED_RESERVE_SECONDS) {
            int more = 0; /* a time stop only when the plan has work left */
            x->o->plan.next(x->o->plan.ctx, NULL, 0, &more);
            if (more)
                x->stop = TLS_STOP_TIME;
            else
                x->done_plan = 1;
            return 0;
        }
    }
    double t = tls_now();
    int more = 0, n = x->o->plan.next(x->o->plan.ctx, out, max, &more);
    x->plan_seconds += tls_now() - t;
    if (n == 0 && !more) x->done_plan = 1;
    *wait = n == 0 && more;
    return n;
}

static void count(coord *x, int64_t done, int64_t failed, double seconds) {
    x->done += done;
    x->failed += failed;
    if (seconds > x->max_seconds) x->max_seconds = seconds;
}

static void record(coord *x, int rank, const tls_msg_rec *rec) {
    double t = tls_now();
    if (x->o->plan.record) x->o->plan.record(x->o->plan.ctx, rank, rec);
    x->plan_seconds += tls_now() - t;
}

static void *local_worker(void *arg) {
    coord *x = arg;
    for (;;) {
        int64_t idx;
        int wait = 0, n;
        pthread_mutex_lock(&x->mu);
        n = take_work_locked(x, &idx, 1, &wait);
        x->local_waiting = wait;
        pthread_mutex_unlock(&x->mu);
        if (wait) {
            struct timespec ts = {0, 1000000}; /* 1 ms: records of other ranks may bring work */
            nanosleep(&ts, NULL);
            continue;
        }
        if (n == 0) break;
        double s;
        tls_msg_rec rec;
        memset(&rec, 0, sizeof(rec));
        rec.index = idx;
        int rc = x->fn(x->ctx, idx, &rec, &s);
        pthread_mutex_lock(&x->mu);
        if (rc == TLS_OK) {
            record(x, 0, &rec);
            count(x, rec.status == TLS_STATUS_DONE, rec.status != TLS_STATUS_DONE, s);
        } else {
            x->local_error = rc;
            x->stop = TLS_STOP_ERROR;
        }
        pthread_mutex_unlock(&x->mu);
        if (rc != TLS_OK) break;
    }
    pthread_mutex_lock(&x->mu);
    x->local_finished = 1;
    x->local_waiting = 0;
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

/* The workers that asked and wait for the plan to have work. */
typedef struct {
    int *rank;
    int n;
} waiting;

/* Answers rank with up to `batch` indices (n = 0: leave); 1 when it left. */
static int answer(MPI_Comm comm, coord *x, int rank, int *wait) {
    static tls_msg_work msg; /* one coordinator per process */
    pthread_mutex_lock(&x->mu);
    msg.n = take_work_locked(x, msg.idx, x->o->batch, wait);
    pthread_mutex_unlock(&x->mu);
    if (*wait) return 0;
    TLS_MPI(comm,
            MPI_Send(&msg, (int)(offsetof(tls_msg_work, idx) + sizeof(int64_t) * (size_t)msg.n),
                     MPI_BYTE, rank, TLS_TAG_WORK, comm));
    return msg.n == 0;
}

/* Rank 0: after a signal, says so once and ends the job when the drain bound passes. */
static void drain(MPI_Comm comm, coord *x, int *announced, double *drain_start) {
    if (!*announced) {
        if (x->o->progress && x->o->progress->printed_bar) fputc('\n', stderr);
        fprintf(stderr,
                "tlsweep: signal received: no new configurations; waiting up to %.0f s for "
                "those in flight\n",
                x->o->drain_seconds);
        *announced = 1;
        *drain_start = tls_now();
    }
    if (tls_now() - *drain_start > x->o->drain_seconds) {
        fprintf(stderr,
                "tlsweep: drain bound of %.0f s reached; configurations in flight are "
                "abandoned; the sweep is resumable with --resume\n",
                x->o->drain_seconds);
        tls_comm_abort(comm, TLS_EXIT_RESUMABLE, NULL);
    }
}

/* Takes one ASK: its records and counts, then an answer (or a wait). */
static void serve_ask(MPI_Comm comm, coord *x, const MPI_Status *st, waiting *w, int *active) {
    static tls_msg_ask ask;
    TLS_MPI(comm, MPI_Recv(&ask, sizeof(ask), MPI_BYTE, st->MPI_SOURCE, TLS_TAG_ASK, comm,
                           MPI_STATUS_IGNORE));
    pthread_mutex_lock(&x->mu);
    count(x, ask.done, ask.failed, ask.max_seconds);
    for (int32_t i = 0; i < ask.nrec && i < TLS_WORK_MAX; i++)
        record(x, st->MPI_SOURCE, &ask.rec[i]);
    if (!x->stop && (ask.flags & TLS_ASK_ERROR)) x->stop = TLS_STOP_ERROR;
    if (!x->stop && (ask.flags & TLS_ASK_SIGNALLED)) x->stop = TLS_STOP_SIGNAL;
    pthread_mutex_unlock(&x->mu);
    int wait = 0;
    if (answer(comm, x, st->MPI_SOURCE, &wait)) (*active)--;
    if (wait) w->rank[w->n++] = st->MPI_SOURCE;
}

/* Answers the waiting workers the plan now has work for (or none to give). */
static void serve_waiting(MPI_Comm comm, coord *x, waiting *w, int *active) {
    int kept = 0;
    for (int i = 0; i < w->n; i++) {
        int wait = 0;
        if (answer(comm, x, w->rank[i], &wait)) (*active)--;
        if (wait) w->rank[kept++] = w->rank[i];
    }
    w->n = kept;
}

/* Whether the plan has work left though nothing is in flight (the caller
 * knows every rank waits): a stall. A plan that is done is marked so. */
static int stalled(coord *x) {
    int more = 0;
    pthread_mutex_lock(&x->mu);
    if (!x->stop && !x->done_plan) {
        x->o->plan.next(x->o->plan.ctx, NULL, 0, &more);
        if (!more) x->done_plan = 1;
    }
    int stall = more && !x->stop;
    pthread_mutex_unlock(&x->mu);
    return stall;
}

/* Rank 0: serves the other ranks while its compute thread works. */
static int coordinate(MPI_Comm comm, coord *x, int nranks) {
    int active = nranks - 1, announced = 0;
    double drain_start = 0;
    waiting w = {calloc((size_t)(nranks > 0 ? nranks : 1), sizeof(int)), 0};
    if (!w.rank) tls_comm_abort(comm, TLS_EXIT_FAILURE, "out of memory for the coordinator");
    for (;;) {
        pthread_mutex_lock(&x->mu);
        if (!x->stop && tls_signals_received()) x->stop = TLS_STOP_SIGNAL;
        int stop = x->stop, local_done = x->local_finished, local_waits = x->local_waiting;
        int64_t done = x->done, failed = x->failed;
        pthread_mutex_unlock(&x->mu);
        if (stop == TLS_STOP_SIGNAL) drain(comm, x, &announced, &drain_start);
        if (w.n > 0) serve_waiting(comm, x, &w, &active);
        if (active == 0 && local_done) break;
        if (w.n == active && (local_waits || local_done) && stalled(x)) {
            /* every rank waits, nothing is in flight, and the plan still has work */
            fprintf(stderr, "tlsweep: rank 0: the plan has work left but none to hand out\n");
            pthread_mutex_lock(&x->mu);
            x->stop = TLS_STOP_ERROR;
            x->local_error = TLS_ERR_PLAN;
            pthread_mutex_unlock(&x->mu);
            continue;
        }
        int flag = 0;
        MPI_Status st;
        TLS_MPI(comm, MPI_Iprobe(MPI_ANY_SOURCE, TLS_TAG_ASK, comm, &flag, &st));
        if (!flag) {
            if (x->o->progress) tls_progress_update(x->o->progress, done, failed, 0);
            struct timespec ts = {0, 500000}; /* 0.5 ms: keeps the core for the compute thread */
            nanosleep(&ts, NULL);
            continue;
        }
        serve_ask(comm, x, &st, &w, &active);
    }
    free(w.rank);
    return TLS_OK;
}

/* Ranks > 0: ask for work until told there is none. */
static int serve(MPI_Comm comm, tls_compute_fn fn, void *ctx) {
    static tls_msg_work msg;
    static tls_msg_ask ask;
    memset(&ask, 0, offsetof(tls_msg_ask, rec));
    int error = TLS_OK;
    for (;;) {
        ask.flags = (tls_signals_received() ? TLS_ASK_SIGNALLED : 0) | (error ? TLS_ASK_ERROR : 0);
        ask.error = error;
        TLS_MPI(comm,
                MPI_Send(&ask,
                         (int)(offsetof(tls_msg_ask, rec) + sizeof(tls_msg_rec) * (size_t)ask.nrec),
                         MPI_BYTE, 0, TLS_TAG_ASK, comm));
        TLS_MPI(comm,
                MPI_Recv(&msg, sizeof(msg), MPI_BYTE, 0, TLS_TAG_WORK, comm, MPI_STATUS_IGNORE));
        if (msg.n <= 0) break;
        ask.done = ask.failed = 0;
        ask.max_seconds = 0;
        ask.nrec = 0;
        for (int32_t i = 0; i < msg.n && !error; i++) {
            double s;
            tls_msg_rec *rec = &ask.rec[ask.nrec];
            memset(rec, 0, sizeof(*rec));
            rec->index = msg.idx[i];
            error = fn(ctx, msg.idx[i], rec, &s);
            if (error) break;
            ask.nrec++;
            ask.done += rec->status == TLS_STATUS_DONE;
            ask.failed += rec->status != TLS_STATUS_DONE;
            if (s > ask.max_seconds) ask.max_seconds = s;
        }
    }
    return error;
}

int tls_sched_run(MPI_Comm comm, const tls_sched_opts *o, tls_compute_fn fn, void *ctx,
                  tls_sched_result *res) {
    int rank = tls_comm_rank(comm), nranks = tls_comm_size(comm);
    memset(res, 0, sizeof(*res));
    if (rank != 0) {
        res->error = serve(comm, fn, ctx);
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
    res->plan_seconds = x.plan_seconds;
    res->seconds = tls_now() - x.t0;
    res->error = x.local_error;
    return res->error;
}
