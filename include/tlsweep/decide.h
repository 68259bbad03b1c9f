/* decide.h - anytime-valid decisions on paired differences, per cell and comparison.
 *
 * For seed s of a cell, D_s = acc_A(s) - acc_B(s) in [-1, 1]; the cell's truth is mu = E[D].
 * A state takes the differences in seed order and, after every round of seeds, updates
 * confidence sequences (CS) for mu and the decision: helps (the CS above 0), hurts (below 0),
 * equivalent (inside (-delta, delta)) or undecided. docs/decisions-study.md gives the
 * constructions, their coverage and why the default rule is what it is; docs/FORMAT.md the
 * variables they fill.
 *
 *   betting     Waudby-Smith & Ramdas (JRSS-B 2023): the hedged capital process on
 *               X = (D + 1)/2 with predictable plug-in bets truncated at c/m and c/(1-m),
 *               theta = 1/2; CS {m : capital < 1/alpha}, bounds by bisection. Valid for every
 *               distribution on [-1, 1] at every check at once (P(ever misses) <= alpha).
 *   asymptotic  Waudby-Smith et al. (2021), time-uniform CLT: mean +- sd * the Robbins
 *               normal-mixture margin, tightest near t_opt seeds. Valid only asymptotically
 *               (rare collapses break it; see the study).
 * The betting CS is a running intersection over the checks (the asymptotic one optionally).
 * A rule names which CS decides the signs and which decides equivalence, the guards (seeds
 * before any decision, before 'equivalent', a variance floor) and the futility stop.
 *
 * Pure computation: no MPI, no I/O, no globals. A state is a deterministic function of the
 * differences pushed (their doubles, in order) and of its rule: the same inputs give the same
 * bits on every run and rank of a build (sums in seed order, fixed bisection steps, no
 * contraction of a*b+c; log1p, exp, sqrt from the C library). Replaying the stored
 * differences after a restart rebuilds the state exactly. */
#ifndef TLSWEEP_DECIDE_H
#define TLSWEEP_DECIDE_H

#include <stddef.h>

/* Decision values (the file's flag values). */
enum {
    TLS_DECIDE_UNDECIDED = 0,
    TLS_DECIDE_HELPS = 1,
    TLS_DECIDE_HURTS = 2,
    TLS_DECIDE_EQUIVALENT = 3
};

/* Which confidence sequence serves a decision. */
enum { TLS_DECIDE_CS_BETTING = 0, TLS_DECIDE_CS_ASYMPTOTIC = 1 };

typedef struct {
    double alpha;      /* error level per cell and comparison, in (0, 1); 0.05 */
    double delta;      /* equivalence margin on the D scale, in [0, 1); 0.01 */
    int round;         /* seeds per round: the CS is checked after each, >= 1 */
    int max_seeds;     /* the budget (also checked when not a multiple of round), >= 1 */
    int sign_cs;       /* TLS_DECIDE_CS_* deciding helps / hurts */
    int equiv_cs;      /* TLS_DECIDE_CS_* deciding equivalent */
    double c;          /* betting: bets truncated at c/m, c/(1-m), in (0, 1) */
    double t_opt;      /* asymptotic: seeds at which the CS is tightest, > 0 */
    double var_floor;  /* asymptotic: floor on the variance of D, D^2 units, >= 0 */
    int min_seeds;     /* no decision at a check before this many seeds, >= 0 */
    int min_seeds_eq;  /* no 'equivalent' before this many seeds, >= 0 */
    int asym_running;  /* 1: the asymptotic CS is a running intersection over the checks; 0:
                        * each check's own interval (the betting CS always is one) */
    int futility;      /* from this many seeds on, give the comparison up when no decision is
                        * reachable by max_seeds (see futile below); 0: never */
    double futility_z; /* the optimism of that projection, in standard errors, > 0; 2 */
} tls_decide_rule;

/* The rule recommended by docs/decisions-study.md: every decision from the betting CS
 * (c = 0.9), so that the probability of any wrong decision (the CS ever missing mu) is at
 * most alpha for every distribution of D on [-1, 1]; futility from 20 seeds (z = 2); alpha
 * 0.05, delta 0.01, round 5, max_seeds 100. The asymptotic CS is computed alongside (t_opt
 * 20, variance floor 0.01^2, no running intersection) for the file, not for decisions. */
void tls_decide_rule_default(tls_decide_rule *r);
/* The opt-in that decides more cells by assuming more: signs and equivalence from the
 * asymptotic CS (t_opt 20, variance floor 0.01^2, each check's own interval), futility from
 * 20 seeds; valid only when every mode of D (e.g. a rare collapse) shows within the seeds
 * run -- docs/decisions-study.md measures how wrong it gets when not. Other fields as
 * tls_decide_rule_default. */
void tls_decide_rule_asymptotic(tls_decide_rule *r);
/* The rule of the run modes: the default (cs TLS_DECIDE_CS_BETTING) or the asymptotic one,
 * with these alpha, delta, round and max_seeds. */
void tls_decide_rule_of(tls_decide_rule *r, int cs, double alpha, double delta, int round,
                        int max_seeds);
/* The fewest seeds at which rule r can decide anything: the first seed at which a stream of
 * the largest effect there is (a difference of -1 at every seed) is decided, checked after
 * every seed (so no round of r decides earlier); -1 when not within TLS_DECIDE_PROBE seeds.
 * r->max_seeds and r->round are not used. */
#define TLS_DECIDE_PROBE 10000
int tls_decide_fewest(const tls_decide_rule *r);
/* NULL if r is usable, else a static message naming the first bad field and what is
 * allowed. */
const char *tls_decide_rule_check(const tls_decide_rule *r);

/* What a state knows after its last check. Bounds on the D scale; before the first check
 * every CS is [-1, 1]. A running intersection can be empty (low > high) only after the CS
 * missed mu (probability <= alpha for the betting CS); the bounds are kept as they are.
 *
 * futile: at a check from rule.futility seeds on, with m and s the mean and the (floored)
 * standard deviation of the seeds so far and se = s / sqrt(seeds), the comparison is given
 * up when neither a sign (|m| + z se >= w_sign) nor equivalence (max(0, |m| - z se) + w_eq
 * < delta) looks reachable by max_seeds, w being the half-width the deciding CS would have
 * then: for the betting CS that of max_seeds zeros, for the asymptotic CS s times its margin
 * at max_seeds. A futility stop decides nothing: the decision stays undecided for good. */
typedef struct {
    int decision;   /* TLS_DECIDE_*, frozen once taken */
    int futile;     /* 1 once given up (decision undecided for good), else 0 */
    int stopped_at; /* seeds at the check that decided or gave up; 0 while open */
    int seeds;      /* differences pushed */
    int checked;    /* seeds at the last check (a multiple of round, or max_seeds) */
    double cs_low;  /* the sign CS (rule.sign_cs) at the last check */
    double cs_high;
    double exact_low; /* the betting CS at the last check */
    double exact_high;
    double asym_low; /* the asymptotic CS at the last check, clipped to [-1, 1] */
    double asym_high;
    double mean;   /* mean of the differences at the last check; NaN before */
    double evalue; /* the betting test martingale for H0: mu = 0 at the last check,
                    * theta K+(1/2) + (1 - theta) K-(1/2): an e-value at any stopping
                    * time (for e-BH across cells); 1 before the first check */
} tls_decide_result;

typedef struct tls_decide tls_decide;

/* Creates an empty state for rule r (copied); *out is NULL on failure. Returns 0,
 * TLS_ERR_INPUT when tls_decide_rule_check(r) fails, or TLS_ERR_NOMEM. Owned by the caller;
 * holds 3 max_seeds doubles (the differences and two scratch arrays). Computes the betting
 * CS of max_seeds zeros once (for futility): ~0.1 ms at 100 seeds. */
int tls_decide_create(tls_decide **out, const tls_decide_rule *r);
void tls_decide_destroy(tls_decide **s);
/* Forgets every difference pushed (the rule stays). */
void tls_decide_reset(tls_decide *s);

/* Appends the next seed's difference d, in [-1, 1]. After a round is complete (seeds a
 * multiple of round, or max_seeds) the CSs, the decision, the futility and the e-value are
 * updated (the decision and futility only while the comparison is open), and
 * *checked (when not NULL) is set to 1; else to 0. Returns 0, or TLS_ERR_INPUT for d outside
 * [-1, 1] (or NaN) or a push beyond max_seeds (the state is then unchanged). A check costs
 * about 110 * seeds log1p (two bisections): 30 us on average over a 100-seed stream checked
 * every 5 seeds (AMD EPYC, one core). */
int tls_decide_push(tls_decide *s, double d, int *checked);
/* The state after its last check. */
void tls_decide_get(const tls_decide *s, tls_decide_result *out);

/* e-BH (Wang & Ramdas 2022) at level alpha over K e-values e (K): sets reject[k] to 1 for the
 * k* largest, k* = max {k : e_(k) >= K / (alpha k)} (ties with the k*-th all rejected), 0
 * for the others. Valid under any dependence between the e-values. Returns k' (the number
 * set to 1). work: K doubles. */
int tls_decide_ebh(int *reject, const double *e, int K, double alpha, double *work);

#endif
