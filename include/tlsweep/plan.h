/* plan.h - what a run of the decide modes computes next (rank 0).
 *
 * Sequential mode: every cell of the run's part runs its seeds in rounds
 * (cells.h) until it stops; a round's seeds are handed out when the cell's
 * previous round is complete, so cells proceed independently and no rank
 * waits for a barrier. The records already in the journals (a resume) are
 * replayed first, in seed order. Boundary mode: the same, for the cells the
 * map needs (bmap.h), as it needs them; with decide.max_trainings in the
 * map's canonical order, as the budget admits them. Which configurations
 * run is a function of their results only: any rank count, schedule, part
 * or resume runs the same ones. */
#ifndef TLSWEEP_PLAN_H
#define TLSWEEP_PLAN_H

#include "tlsweep/cells.h"
#include "tlsweep/resume.h"
#include "tlsweep/sched.h"
#include "tlsweep/setup.h"

typedef struct tls_seqplan tls_seqplan;

/* A plan over the cells of s's part, replaying x->map's records (made with
 * accuracies); the records of the run go to x->map too. *out NULL on failure. */
int tls_seqplan_create(tls_seqplan **out, const tls_setup *s, tls_resume *x);
void tls_seqplan_destroy(tls_seqplan **p);
/* The scheduler's view of it. */
void tls_seqplan_plan(tls_seqplan *p, tls_plan *plan);
/* Cells of the part (the boundary mode: the cells the map has asked for so far), of them
 * stopped (decided or max_seeds spent), and the part's cells in the grid. */
void tls_seqplan_counts(const tls_seqplan *p, int64_t *cells, int64_t *stopped, int64_t *grid);

#endif
