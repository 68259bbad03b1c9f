#include "tlsweep/plan.h"

#include "tlsweep/check.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    tls_cell_run *run; /* NULL once stopped */
    int next;          /* seeds taken */
    int end;           /* seeds handed out: the current round ends here */
} cell_state;

struct tls_seqplan {
    const tls_setup *s;
    tls_resume *x;
    tls_cell_grid g;
    tls_part part;
    int round;
    int64_t ncells, stopped; /* the part's cells */
    cell_state *cell;        /* (ncells) by position of the cell in the part */
    int64_t *queue;          /* grid indices to hand out */
    int64_t qhead, qtail, qcap;
};

/* The j-th cell of the part (ascending), and back. */
static int64_t cell_id(const tls_seqplan *p, int64_t j) {
    return p->part.seeds ? j * p->part.n + (p->part.k - 1) : j;
}

static int64_t cell_pos(const tls_seqplan *p, int64_t cell) {
    return p->part.seeds ? cell / p->part.n : cell;
}

static int enqueue(tls_seqplan *p, int64_t idx) {
    if (p->qtail == p->qcap) {
        if (p->qhead > 0) { /* slide the live part to the front */
            memmove(p->queue, p->queue + p->qhead, sizeof(int64_t) * (size_t)(p->qtail - p->qhead));
            p->qtail -= p->qhead, p->qhead = 0;
        } else {
            int64_t cap = p->qcap ? 2 * p->qcap : 1024;
            int64_t *q = realloc(p->queue, sizeof(int64_t) * (size_t)cap);
            TLS_CHECK(q, TLS_ERR_NOMEM, "out of memory for the plan's queue");
            p->queue = q, p->qcap = cap;
        }
    }
    p->queue[p->qtail++] = idx;
    return TLS_OK;
}

/* Takes the cell's recorded seeds in order, handing out each new round
 * when the previous one is complete, until a seed is missing or it stops. */
static int advance(tls_seqplan *p, int64_t j) {
    cell_state *cs = &p->cell[j];
    int64_t cell = cell_id(p, j);
    const tls_resume_map *m = &p->x->map;
    while (cs->run) {
        if (cs->next == cs->end) {
            cs->end = cs->end + p->round < p->g.seeds ? cs->end + p->round : p->g.seeds;
            for (int s = cs->next; s < cs->end; s++) {
                int64_t idx = tls_cell_index(&p->g, cell, s);
                if (m->file[tls_part_pos(p->part, idx)] < 0) TLS_TRY(enqueue(p, idx));
            }
        }
        int64_t pos = tls_part_pos(p->part, tls_cell_index(&p->g, cell, cs->next));
        if (m->file[pos] < 0) break;
        cs->next++;
        if (tls_cell_run_push(cs->run, m->acc + pos * TLS_NMETHODS)) {
            tls_cell_run_destroy(&cs->run);
            p->stopped++;
        }
    }
    return TLS_OK;
}

static int plan_next(void *ctx, int64_t *out, int max, int *more) {
    tls_seqplan *p = ctx;
    int n = 0;
    while (n < max && p->qhead < p->qtail) out[n++] = p->queue[p->qhead++];
    *more = p->qhead < p->qtail || p->stopped < p->ncells;
    return n;
}

static void plan_record(void *ctx, int rank, const tls_msg_rec *rec) {
    tls_seqplan *p = ctx;
    tls_resume_note(p->x, rank, rec);
    int seed;
    int64_t cell = tls_cell_of(&p->g, rec->index, &seed);
    if (advance(p, cell_pos(p, cell)) != TLS_OK) { /* out of memory: no more work is handed out */
        p->qhead = p->qtail;
        p->stopped = p->ncells;
    }
}

int tls_seqplan_create(tls_seqplan **out, const tls_setup *s, tls_resume *x) {
    *out = NULL;
    tls_seqplan *p;
    TLS_ALLOC(p, 1);
    p->s = s, p->x = x;
    tls_cell_grid_init(&p->g, s->c);
    p->part = s->L.part;
    p->round = s->c->decide.round;
    p->ncells = p->part.seeds ? s->L.count / p->g.seeds : p->g.ncells;
    p->cell = calloc((size_t)(p->ncells ? p->ncells : 1), sizeof(cell_state));
    int rc = p->cell ? TLS_OK : TLS_ERR_NOMEM;
    for (int64_t j = 0; j < p->ncells && rc == TLS_OK; j++) {
        rc = tls_cell_run_create(&p->cell[j].run, s->c);
        if (rc == TLS_OK) rc = advance(p, j);
    }
    if (rc) {
        tls_seqplan_destroy(&p);
        TLS_CHECK(0, rc, "out of memory for the cells of the plan");
    }
    *out = p;
    return TLS_OK;
}

void tls_seqplan_destroy(tls_seqplan **pp) {
    tls_seqplan *p = *pp;
    if (!p) return;
    for (int64_t j = 0; p->cell && j < p->ncells; j++) tls_cell_run_destroy(&p->cell[j].run);
    free(p->cell);
    free(p->queue);
    TLS_FREE(*pp);
}

void tls_seqplan_plan(tls_seqplan *p, tls_plan *plan) {
    plan->next = plan_next;
    plan->record = plan_record;
    plan->ctx = p;
}

void tls_seqplan_counts(const tls_seqplan *p, int64_t *cells, int64_t *stopped) {
    *cells = p->ncells;
    *stopped = p->stopped;
}
