#include "tlsweep/decide.h"

#include "tlsweep/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The hedge between the two capital processes, and the bisection's step limit (the bracket
 * on [0, 1] stops shrinking after about 53 steps; 64 bounds the loop). */
#define DECIDE_THETA        0.5
#define DECIDE_BISECT_STEPS 64

struct tls_decide {
    tls_decide_rule rule;
    tls_decide_result res;
    double rho2;    /* the asymptotic CS's mixture parameter, from t_opt and alpha */
    double w_flat;  /* half-width of the betting CS of max_seeds zeros (futility) */
    double m_max;   /* the asymptotic CS's unit-variance margin at max_seeds (futility) */
    double *d;      /* (max_seeds) the differences, in seed order */
    double *x;      /* (max_seeds) scratch: X = (D + 1) / 2 */
    double *lamdot; /* (max_seeds) scratch: the bets */
};

void tls_decide_rule_default(tls_decide_rule *r) {
    r->alpha = 0.05;
    r->delta = 0.01;
    r->round = 5;
    r->max_seeds = 100;
    r->sign_cs = TLS_DECIDE_CS_BETTING;
    r->equiv_cs = TLS_DECIDE_CS_BETTING;
    r->c = 0.9;
    r->t_opt = 20.0;
    r->var_floor = 0.01 * 0.01;
    r->min_seeds = 0;
    r->min_seeds_eq = 0;
    r->asym_running = 0;
    r->futility = 20;
    r->futility_z = 2.0;
}

void tls_decide_rule_asymptotic(tls_decide_rule *r) {
    tls_decide_rule_default(r);
    r->sign_cs = r->equiv_cs = TLS_DECIDE_CS_ASYMPTOTIC;
}

void tls_decide_rule_of(tls_decide_rule *r, int cs, double alpha, double delta, int round,
                        int max_seeds) {
    if (cs == TLS_DECIDE_CS_ASYMPTOTIC)
        tls_decide_rule_asymptotic(r);
    else
        tls_decide_rule_default(r);
    r->alpha = alpha;
    r->delta = delta;
    r->round = round;
    r->max_seeds = max_seeds;
}

int tls_decide_fewest(const tls_decide_rule *r) {
    tls_decide_rule probe = *r;
    probe.round = 1;
    probe.max_seeds = TLS_DECIDE_PROBE;
    tls_decide *s = NULL;
    if (tls_decide_create(&s, &probe) != 0) return -1;
    tls_decide_result res = {0};
    for (int t = 0; t < TLS_DECIDE_PROBE && res.decision == TLS_DECIDE_UNDECIDED; t++) {
        tls_decide_push(s, -1.0, NULL);
        tls_decide_get(s, &res);
    }
    tls_decide_destroy(&s);
    return res.decision == TLS_DECIDE_UNDECIDED ? -1 : res.stopped_at;
}

const char *tls_decide_rule_check(const tls_decide_rule *r) {
    if (!(r->alpha > 0.0 && r->alpha < 1.0)) return "alpha: allowed: 0 < alpha < 1";
    if (!(r->delta >= 0.0 && r->delta < 1.0)) return "delta: allowed: 0 <= delta < 1";
    if (r->round < 1) return "round: allowed: an integer >= 1";
    if (r->max_seeds < 1) return "max_seeds: allowed: an integer >= 1";
    if (r->sign_cs != TLS_DECIDE_CS_BETTING && r->sign_cs != TLS_DECIDE_CS_ASYMPTOTIC)
        return "sign_cs: allowed: betting, asymptotic";
    if (r->equiv_cs != TLS_DECIDE_CS_BETTING && r->equiv_cs != TLS_DECIDE_CS_ASYMPTOTIC)
        return "equiv_cs: allowed: betting, asymptotic";
    if (!(r->c > 0.0 && r->c < 1.0)) return "c: allowed: 0 < c < 1";
    if (!(r->t_opt > 0.0 && r->t_opt < 1e12)) return "t_opt: allowed: a number > 0";
    if (!(r->var_floor >= 0.0 && r->var_floor <= 1.0)) return "var_floor: allowed: 0 .. 1";
    if (r->min_seeds < 0) return "min_seeds: allowed: an integer >= 0";
    if (r->min_seeds_eq < 0) return "min_seeds_eq: allowed: an integer >= 0";
    if (r->asym_running != 0 && r->asym_running != 1) return "asym_running: allowed: 0, 1";
    if (r->futility < 0) return "futility: allowed: an integer >= 0 (0: never)";
    if (!(r->futility_z > 0.0 && r->futility_z < 1e6)) return "futility_z: allowed: a number > 0";
    return NULL;
}

static double asym_margin(double t, double alpha, double rho2) {
    double a = t * rho2 + 1.0;
    return sqrt(2.0 * a / (t * t * rho2) * log(sqrt(a) / alpha));
}

static void betting_bounds(double *lo_out, double *hi_out, const double *x, const double *lamdot,
                           int t, double alpha, double c);
static void prpl_bets(double *lamdot, const double *x, int t, double alpha);

static void decide_clear(tls_decide *s) {
    tls_decide_result *o = &s->res;
    memset(o, 0, sizeof *o);
    o->decision = TLS_DECIDE_UNDECIDED;
    o->cs_low = o->exact_low = o->asym_low = -1.0;
    o->cs_high = o->exact_high = o->asym_high = 1.0;
    o->mean = NAN;
    o->evalue = 1.0;
}

int tls_decide_create(tls_decide **out, const tls_decide_rule *r) {
    *out = NULL;
    if (tls_decide_rule_check(r)) return TLS_ERR_INPUT;
    tls_decide *s = malloc(sizeof *s);
    if (!s) return TLS_ERR_NOMEM;
    s->d = malloc(sizeof(double) * 3 * (size_t)r->max_seeds);
    if (!s->d) {
        free(s);
        return TLS_ERR_NOMEM;
    }
    s->x = s->d + r->max_seeds;
    s->lamdot = s->x + r->max_seeds;
    s->rule = *r;
    double L = log(1.0 / r->alpha);
    s->rho2 = (2.0 * L + log(1.0 + 2.0 * L)) / r->t_opt;
    s->m_max = asym_margin((double)r->max_seeds, r->alpha, s->rho2);
    for (int i = 0; i < r->max_seeds; i++) s->x[i] = 0.5;
    prpl_bets(s->lamdot, s->x, r->max_seeds, r->alpha);
    double lo, hi;
    betting_bounds(&lo, &hi, s->x, s->lamdot, r->max_seeds, r->alpha, r->c);
    s->w_flat = 2.0 * hi - 1.0;
    decide_clear(s);
    *out = s;
    return TLS_OK;
}

void tls_decide_destroy(tls_decide **s) {
    if (!*s) return;
    free((*s)->d);
    free(*s);
    *s = NULL;
}

void tls_decide_reset(tls_decide *s) {
    decide_clear(s);
}

void tls_decide_get(const tls_decide *s, tls_decide_result *out) {
    *out = s->res;
}

/* ---------------------------------------------------------------- the betting CS */

/* The predictable plug-in bets lamdot (t) for x (t) in [0, 1]:
 *   mu_i = (1/2 + sum_{j<=i} x_j) / (i + 1),  s2_i = (1/4 + sum_{j<=i} (x_j - mu_j)^2) / (i + 1),
 *   lamdot_i = sqrt(2 log(2/alpha) / (s2_{i-1} i log(1 + i))),  s2_0 = 1/4. */
static void prpl_bets(double *lamdot, const double *x, int t, double alpha) {
    double num = 2.0 * log(2.0 / alpha);
    double sum = 0.0, sq = 0.0, s2_prev = 0.25;
    for (int i = 0; i < t; i++) {
        double n = (double)(i + 1);
        lamdot[i] = sqrt(num / (s2_prev * n * log1p(n)));
        sum += x[i];
        double mu = (0.5 + sum) / (n + 1.0);
        double e = x[i] - mu;
        sq += e * e;
        s2_prev = (0.25 + sq) / (n + 1.0);
    }
}

/* log K+_t(m) = sum log(1 + min(lamdot, c/m) (x - m)) */
static double log_kplus(const double *x, const double *lamdot, int t, double m, double c) {
    double cap = m > 0.0 ? c / m : INFINITY, sum = 0.0;
    for (int i = 0; i < t; i++) sum += log1p(fmin(lamdot[i], cap) * (x[i] - m));
    return sum;
}

/* log K-_t(m) = sum log(1 - min(lamdot, c/(1-m)) (x - m)) */
static double log_kminus(const double *x, const double *lamdot, int t, double m, double c) {
    double cap = m < 1.0 ? c / (1.0 - m) : INFINITY, sum = 0.0;
    for (int i = 0; i < t; i++) sum += log1p(-fmin(lamdot[i], cap) * (x[i] - m));
    return sum;
}

/* The betting CS at time t on the X scale, [*lo, *hi] containing {m : K_t(m) < 1/alpha}.
 * K+ is nonincreasing in m and K- nondecreasing, so each end is one bisection; the end
 * reported is the last candidate found excluded (or 0, 1 when none is). */
static void betting_bounds(double *lo_out, double *hi_out, const double *x, const double *lamdot,
                           int t, double alpha, double c) {
    double thr_p = log(1.0 / (DECIDE_THETA * alpha));
    double thr_m = log(1.0 / ((1.0 - DECIDE_THETA) * alpha));
    double lo = 0.0, hi = 1.0;
    if (log_kplus(x, lamdot, t, lo, c) >= thr_p) {
        for (int k = 0; k < DECIDE_BISECT_STEPS; k++) {
            double mid = 0.5 * (lo + hi);
            if (!(mid > lo && mid < hi)) break;
            if (log_kplus(x, lamdot, t, mid, c) >= thr_p)
                lo = mid;
            else
                hi = mid;
        }
    }
    *lo_out = lo;
    lo = 0.0, hi = 1.0;
    if (log_kminus(x, lamdot, t, hi, c) >= thr_m) {
        for (int k = 0; k < DECIDE_BISECT_STEPS; k++) {
            double mid = 0.5 * (lo + hi);
            if (!(mid > lo && mid < hi)) break;
            if (log_kminus(x, lamdot, t, mid, c) >= thr_m)
                hi = mid;
            else
                lo = mid;
        }
    }
    *hi_out = hi;
}

/* ---------------------------------------------------------------- a check */

static void decide_check(tls_decide *s) {
    const tls_decide_rule *r = &s->rule;
    tls_decide_result *o = &s->res;
    int t = o->seeds;
    double *x = s->x, *lamdot = s->lamdot;

    /* betting: on X = (D + 1) / 2 */
    for (int i = 0; i < t; i++) x[i] = (s->d[i] + 1.0) / 2.0;
    prpl_bets(lamdot, x, t, r->alpha);
    double L, U;
    betting_bounds(&L, &U, x, lamdot, t, r->alpha, r->c);
    double lo = 2.0 * L - 1.0, hi = 2.0 * U - 1.0;
    if (lo > o->exact_low) o->exact_low = lo;
    if (hi < o->exact_high) o->exact_high = hi;
    double lp = log_kplus(x, lamdot, t, 0.5, r->c), lm = log_kminus(x, lamdot, t, 0.5, r->c);
    o->evalue = DECIDE_THETA * exp(lp) + (1.0 - DECIDE_THETA) * exp(lm);

    /* asymptotic: mean +- sd * margin, two passes in seed order */
    double sum = 0.0;
    for (int i = 0; i < t; i++) sum += s->d[i];
    double mean = sum / t, sq = 0.0;
    for (int i = 0; i < t; i++) {
        double e = s->d[i] - mean;
        sq += e * e;
    }
    double var = sq / t;
    if (var < r->var_floor) var = r->var_floor;
    double half = sqrt(var) * asym_margin((double)t, r->alpha, s->rho2);
    lo = fmax(mean - half, -1.0), hi = fmin(mean + half, 1.0);
    if (!r->asym_running || lo > o->asym_low) o->asym_low = lo;
    if (!r->asym_running || hi < o->asym_high) o->asym_high = hi;
    o->mean = mean;

    int sign_exact = r->sign_cs == TLS_DECIDE_CS_BETTING;
    int eq_exact = r->equiv_cs == TLS_DECIDE_CS_BETTING;
    o->cs_low = sign_exact ? o->exact_low : o->asym_low;
    o->cs_high = sign_exact ? o->exact_high : o->asym_high;
    double e_lo = eq_exact ? o->exact_low : o->asym_low;
    double e_hi = eq_exact ? o->exact_high : o->asym_high;
    o->checked = t;

    if (o->decision != TLS_DECIDE_UNDECIDED || o->futile) return;
    int d = TLS_DECIDE_UNDECIDED;
    if (t >= r->min_seeds) {
        if (o->cs_low > 0.0)
            d = TLS_DECIDE_HELPS;
        else if (o->cs_high < 0.0)
            d = TLS_DECIDE_HURTS;
        else if (e_lo > -r->delta && e_hi < r->delta && t >= r->min_seeds_eq)
            d = TLS_DECIDE_EQUIVALENT;
    }
    if (d != TLS_DECIDE_UNDECIDED) {
        o->decision = d;
        o->stopped_at = t;
        return;
    }
    if (r->futility > 0 && t >= r->futility) {
        double se = sqrt(var / t), z = r->futility_z, am = fabs(mean);
        double w_asym = sqrt(var) * s->m_max;
        double w_sign = sign_exact ? s->w_flat : w_asym;
        double w_eq = eq_exact ? s->w_flat : w_asym;
        int reach_sign = am + z * se >= w_sign;
        int reach_eq = fmax(am - z * se, 0.0) + w_eq < r->delta;
        if (!reach_sign && !reach_eq) {
            o->futile = 1;
            o->stopped_at = t;
        }
    }
}

int tls_decide_push(tls_decide *s, double d, int *checked) {
    if (checked) *checked = 0;
    if (!(d >= -1.0 && d <= 1.0)) return TLS_ERR_INPUT;
    if (s->res.seeds >= s->rule.max_seeds) return TLS_ERR_INPUT;
    s->d[s->res.seeds++] = d;
    int t = s->res.seeds;
    if (t % s->rule.round != 0 && t != s->rule.max_seeds) return TLS_OK;
    decide_check(s);
    if (checked) *checked = 1;
    return TLS_OK;
}

/* ---------------------------------------------------------------- e-BH */

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

int tls_decide_ebh(int *reject, const double *e, int K, double alpha, double *work) {
    if (K <= 0) return 0;
    memcpy(work, e, sizeof(double) * (size_t)K);
    qsort(work, (size_t)K, sizeof(double), cmp_desc);
    int kstar = 0;
    for (int k = 1; k <= K; k++)
        if (work[k - 1] >= K / (alpha * k)) kstar = k;
    int n = 0;
    for (int i = 0; i < K; i++) {
        reject[i] = kstar > 0 && e[i] >= work[kstar - 1];
        n += reject[i];
    }
    return n;
}
