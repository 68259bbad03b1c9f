#include "tlsweep/plan.h"

#include "tlsweep/bmap.h"
#include "tlsweep/check.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    tls_cell_run *run; /* NULL before the cell starts and once it stopped */
    int next;          /* seeds taken */
    int end;           /* seeds handed out: the current round ends here */
    int8_t state;      /* IDLE, NEEDED, STARTED, STOPPED */
} cell_state;

enum { IDLE = 0, NEEDED = 1, STARTED = 2, STOPPED = 3 };
enum { MAX_LEVELS = 128 };

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
    /* the boundary mode: cells start when the map needs them */
    tls_bmap *map;
    int64_t *todo; /* (ncells) cells needed and not started */
    int64_t ntodo;
    /* ... and, with decide.max_trainings, in the map's canonical order under it */
    int64_t budget;              /* decide.max_trainings, 0: none */
    int64_t bound;               /* trainings the started cells take at most */
    int64_t running[MAX_LEVELS]; /* started cells not stopped, per level */
    int64_t waiting[MAX_LEVELS]; /* needed cells not started, per level */
    int cut;                     /* the budget admits no more cells */
    int64_t needed, stopped_map; /* cells the map needs; of them stopped */
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

/* The map needs a cell (bmap.h's callback): it waits to start. */
static int on_need(void *ctx, int64_t cell, int level) {
    tls_seqplan *p = ctx;
    (void)level; /* read when it is final (pick_budgeted) */
    if (p->cell[cell].state != IDLE) return TLS_OK;
    p->cell[cell].state = NEEDED;
    p->todo[p->ntodo++] = cell;
    p->needed++;
    return TLS_OK;
}

/* A cell stopped: the map learns its decisions (and may need more cells). */
static int cell_stopped(tls_seqplan *p, int64_t j) {
    cell_state *cs = &p->cell[j];
    int dec[TLS_MAX_COMPARE];
    tls_cell_decision d[TLS_MAX_COMPARE];
    tls_cell_run_get(cs->run, d);
    tls_cell_run_destroy(&cs->run);
    cs->state = STOPPED;
    p->stopped++;
    if (!p->map) return TLS_OK;
    p->stopped_map++;
    if (p->budget > 0) {
        p->running[tls_bmap_level(p->map, cell_id(p, j))]--;
        p->bound -= p->g.seeds - cs->next;
    }
    for (int k = 0; k < p->s->c->decide.compare.n; k++) dec[k] = d[k].decision;
    return tls_bmap_stopped(p->map, cell_id(p, j), dec, on_need, p);
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
        if (tls_cell_run_push(cs->run, m->acc + pos * TLS_NMETHODS)) TLS_TRY(cell_stopped(p, j));
    }
    return TLS_OK;
}

static int start(tls_seqplan *p, int64_t j) {
    TLS_TRY(tls_cell_run_create(&p->cell[j].run, p->s->c));
    p->cell[j].state = STARTED;
    return advance(p, j);
}

/* The least level with a needed cell not started, or -1. */
static int lowest_waiting(const tls_seqplan *p) {
    for (int l = 0; l < MAX_LEVELS; l++)
        if (p->waiting[l]) return l;
    return -1;
}

/* Under decide.max_trainings the needed cells start in the map's canonical
 * order (level, cell): a level once every cell of the levels below it has
 * stopped (then no cell of it is still to come), a cell when the trainings
 * of every started cell (at most max_seeds for those running) and its own
 * max_seeds fit the budget. When they do not and nothing runs, the budget
 * is spent: the map stops there, whatever the schedule. */
static int pick_budgeted(tls_seqplan *p, int64_t *out) {
    int l = lowest_waiting(p);
    if (l < 0 || p->cut) return 0;
    for (int b = 0; b < l; b++)
        if (p->running[b]) return 0;
    int64_t best = -1, at = -1;
    for (int64_t i = 0; i < p->ntodo; i++)
        if (tls_bmap_level(p->map, p->todo[i]) == l && (best < 0 || p->todo[i] < best))
            best = p->todo[i], at = i;
    if (p->bound + p->g.seeds > p->budget) {
        int busy = 0;
        for (int b = 0; b < MAX_LEVELS; b++) busy |= p->running[b] > 0;
        if (!busy) p->cut = 1;
        return 0;
    }
    p->todo[at] = p->todo[--p->ntodo];
    p->waiting[l]--;
    *out = best;
    return 1;
}

/* Starts the needed cells the plan may start now. */
static int start_needed(tls_seqplan *p) {
    if (!p->map) return TLS_OK;
    for (;;) {
        int64_t cell;
        if (p->budget > 0) {
            /* levels are final for the levels that may start (bmap.h) */
            memset(p->waiting, 0, sizeof(p->waiting));
            for (int64_t i = 0; i < p->ntodo; i++) p->waiting[tls_bmap_level(p->map, p->todo[i])]++;
            if (!pick_budgeted(p, &cell)) return TLS_OK;
            int level = tls_bmap_level(p->map, cell);
            p->running[level]++;
            p->bound += p->g.seeds;
        } else if (p->ntodo > 0) {
            cell = p->todo[--p->ntodo];
        } else
            return TLS_OK;
        TLS_TRY(start(p, cell_pos(p, cell)));
    }
}

static int plan_next(void *ctx, int64_t *out, int max, int *more) {
    tls_seqplan *p = ctx;
    int n = 0;
    while (n < max && p->qhead < p->qtail) out[n++] = p->queue[p->qhead++];
    int open = p->map ? p->stopped_map < p->needed && !p->cut : p->stopped < p->ncells;
    *more = p->qhead < p->qtail || open;
    return n;
}

static void plan_record(void *ctx, int rank, const tls_msg_rec *rec) {
    tls_seqplan *p = ctx;
    tls_resume_note(p->x, rank, rec);
    int seed;
    int64_t cell = tls_cell_of(&p->g, rec->index, &seed);
    if (advance(p, cell_pos(p, cell)) != TLS_OK || start_needed(p) != TLS_OK) {
        p->qhead = p->qtail; /* out of memory: no more work is handed out */
        p->stopped = p->ncells, p->cut = 1;
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
    if (rc == TLS_OK && s->c->decide.mode == TLS_MODE_BOUNDARY) {
        p->budget = s->c->decide.max_trainings;
        p->todo = malloc(sizeof(int64_t) * (size_t)(p->ncells ? p->ncells : 1));
        rc = p->todo ? tls_bmap_create(&p->map, s->c) : TLS_ERR_NOMEM;
        if (rc == TLS_OK) rc = tls_bmap_start(p->map, on_need, p);
        if (rc == TLS_OK) rc = start_needed(p);
    }
    for (int64_t j = 0; !p->map && j < p->ncells && rc == TLS_OK; j++) rc = start(p, j);
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
    free(p->todo);
    tls_bmap_destroy(&p->map);
    TLS_FREE(*pp);
}

void tls_seqplan_plan(tls_seqplan *p, tls_plan *plan) {
    plan->next = plan_next;
    plan->record = plan_record;
    plan->ctx = p;
}

void tls_seqplan_counts(const tls_seqplan *p, int64_t *cells, int64_t *stopped, int64_t *grid) {
    *cells = p->map ? p->needed : p->ncells;
    *stopped = p->stopped;
    *grid = p->ncells;
}
