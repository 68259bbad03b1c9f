"""Anytime-valid decisions on paired differences: a NumPy reference written from the papers.

The quantity: for seed s of a cell, D_s = acc_A(s) - acc_B(s) in [-1, 1]; the cell's truth is
mu = E[D]. Seeds arrive in order; the decision is taken after each round of seeds.

1. The betting confidence sequence (CS) of Waudby-Smith & Ramdas, "Estimating means of bounded
   random variables by betting", JRSS-B 2023 (arXiv:2010.09686), on X = (D + 1) / 2 in [0, 1]:

   - predictable plug-in bets (their lambda^PrPl, with the regularised mean and variance):
         mu_hat_t    = (1/2 + sum_{i<=t} X_i) / (t + 1)
         sigma2_t    = (1/4 + sum_{i<=t} (X_i - mu_hat_i)^2) / (t + 1),   sigma2_0 = 1/4
         lamdot_t    = sqrt(2 log(2/alpha) / (sigma2_{t-1} t log(1 + t)))
     (lamdot_t uses X_1 .. X_{t-1} only: the bet is placed before X_t is seen);
   - the hedged capital process, for a candidate mean m (bets truncated at c/m, c/(1-m)):
         K+_t(m) = prod_{i<=t} (1 + min(lamdot_i, c/m)     (X_i - m))
         K-_t(m) = prod_{i<=t} (1 - min(lamdot_i, c/(1-m)) (X_i - m))
         K_t(m)  = max(theta K+_t(m), (1 - theta) K-_t(m)),   theta = 1/2,  c in (0, 1)
     Under mu = m both K+ and K- are nonnegative martingales with initial value 1, every factor
     is at least 1 - c > 0, and Ville's inequality gives P(exists t: K_t(m) >= 1/alpha) <= alpha;
   - the CS C_t = {m : K_t(m) < 1/alpha}. K+_t(m) is nonincreasing in m (each factor is: with
     lam = lamdot its derivative is -lamdot, with lam = c/m it is -c X/m^2) and K-_t(m)
     nondecreasing, so C_t = (L_t, U_t) with
         L_t = inf {m : K+_t(m) < 1/(theta alpha)},   U_t = sup {m : K-_t(m) < 1/((1-theta) alpha)}.
     Both are found by bisection on [0, 1] (BISECT_STEPS below: deterministic, a fixed rule, reporting
     the excluded end of the last bracket, so that the reported interval contains C_t);
   - the running intersection over the times at which the CS is computed (the ends of rounds):
     low = max of the lows so far, high = min of the highs. It can be empty (low > high) only
     after the CS has missed (probability <= alpha); the bounds are then stored as they are and
     the decision rule below still gives one answer.
   Everything is returned on the D scale: d = 2 m - 1.

2. The asymptotic CS of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas, "Time-uniform central
   limit theory and asymptotic confidence sequences" (arXiv:2103.06476, Theorem 2.2, the
   Lyapunov-type AsympCS with the Robbins normal mixture):
         mu_hat_t +- sigma_hat_t sqrt(2 (t rho^2 + 1) / (t^2 rho^2) log(sqrt(t rho^2 + 1) / alpha))
   with sigma_hat_t^2 = (1/t) sum (D_i - mu_hat_t)^2 and rho^2 tuned for the time t_opt with
   the closed-form approximation rho^2 = (2 log(1/alpha) + log(1 + 2 log(1/alpha))) / t_opt
   (any rho > 0 is valid; this one makes the CS tightest near t_opt). Its coverage holds only
   as t grows (the variance estimate must be consistent); tests/reference/decide_coverage.py
   measures how far off it is at 5 .. 100 seeds. An optional variance floor replaces
   sigma_hat_t^2 by max(sigma_hat_t^2, var_floor). The running intersection over the checks
   is optional for this CS (Rule.asym_running): it is valid for a valid CS, but for this one
   it keeps the narrow intervals of an early run without a collapse after the collapses have
   widened the later ones (docs/decisions-study.md measures it).

3. The decision after each round (a decision, once taken, is frozen): helps (1) if the sign
   CS lies above 0, hurts (2) if below 0, equivalent (3) if the equivalence CS lies inside
   (-delta, delta) and at least min_seeds_eq seeds were seen, undecided (0) otherwise; a sign
   takes precedence over equivalent when both hold. A rule names which CS serves the signs and
   which the equivalence ('betting' or 'asymptotic').
   Futility (optional, from Rule.futility seeds on): an undecided comparison is given up when
   no decision looks reachable by max_seeds: with m, s the mean and (floored) sd of the seeds
   so far and se = s / sqrt(t), a sign needs |m| + z se >= w_sign and equivalence needs
   max(0, |m| - z se) + w_eq < delta, where w is the half-width the CS would have at
   max_seeds: for the betting CS that of a constant stream of zeros (flat_halfwidth), for the
   asymptotic one s * margin(max_seeds). A futility stop never decides anything; it only stops
   spending seeds (the comparison stays undecided).

4. e-values: the test martingale theta K+_t(1/2) + (1 - theta) K-_t(1/2) for H0: mu = 0
   (E <= 1 under H0 at any stopping time), and e-BH (Wang & Ramdas 2022, "False discovery
   rate control with e-values", JRSS-B): reject the k* largest e-values, k* the largest k with
   e_(k) >= K / (alpha k).

Functions take one stream (1-D array of D in seed order) unless they say otherwise; the
vectorized forms used by the coverage simulation and the design study work on (streams, T).
"""
import math
from dataclasses import dataclass

import numpy as np

UNDECIDED, HELPS, HURTS, EQUIVALENT = 0, 1, 2, 3
NAMES = {UNDECIDED: "undecided", HELPS: "helps", HURTS: "hurts", EQUIVALENT: "equivalent"}

THETA = 0.5          # the hedge between the two capital processes
BISECT_STEPS = 64    # bisection steps at most (the bracket stops shrinking after ~53)


# ---------------------------------------------------------------- bets and capital

def unit(d):
    """D in [-1, 1] -> X = (D + 1) / 2 in [0, 1]."""
    return (np.asarray(d, dtype=float) + 1.0) / 2.0


def prpl_bets(x, alpha):
    """The predictable plug-in bets lamdot_t, t = 1 .. T, for X in [0, 1] (last axis: time).
    Sequential sums (np.cumsum), in the order the C module adds them."""
    x = np.asarray(x, dtype=float)
    T = x.shape[-1]
    t = np.arange(1, T + 1, dtype=float)
    mu = (0.5 + np.cumsum(x, axis=-1)) / (t + 1.0)
    s2 = (0.25 + np.cumsum((x - mu) ** 2, axis=-1)) / (t + 1.0)
    s2_prev = np.concatenate([np.full(x.shape[:-1] + (1,), 0.25), s2[..., :-1]], axis=-1)
    return np.sqrt(2.0 * math.log(2.0 / alpha) / (s2_prev * t * np.log1p(t)))


def _lam_plus(lamdot, m, c):
    m = np.asarray(m, dtype=float)
    with np.errstate(divide="ignore"):
        cap = np.where(m > 0.0, c / np.where(m > 0.0, m, 1.0), np.inf)
    return np.minimum(lamdot, cap)


def _lam_minus(lamdot, m, c):
    m = np.asarray(m, dtype=float)
    cap = np.where(m < 1.0, c / np.where(m < 1.0, 1.0 - m, 1.0), np.inf)
    return np.minimum(lamdot, cap)


def log_capital(x, lamdot, m, c):
    """(log K+_t(m), log K-_t(m)) for t = 1 .. T (cumulative over the last axis). m: a scalar or
    an array broadcasting against x[..., :1] (one candidate per stream)."""
    m = np.asarray(m, dtype=float)
    mm = m if m.ndim == 0 else m.reshape(m.shape + (1,))
    lp = np.cumsum(np.log1p(_lam_plus(lamdot, mm, c) * (x - mm)), axis=-1)
    lm = np.cumsum(np.log1p(-_lam_minus(lamdot, mm, c) * (x - mm)), axis=-1)
    return lp, lm


def _log_kplus_at(x, lamdot, m, c):
    """log K+_t(m) at the last time of x (streams, t), m per stream: a sequential sum."""
    f = np.log1p(_lam_plus(lamdot, m[:, None], c) * (x - m[:, None]))
    return np.cumsum(f, axis=-1)[:, -1]


def _log_kminus_at(x, lamdot, m, c):
    f = np.log1p(-_lam_minus(lamdot, m[:, None], c) * (x - m[:, None]))
    return np.cumsum(f, axis=-1)[:, -1]


def betting_bounds(x, lamdot, alpha, c):
    """The betting CS (L_t, U_t) on the X scale at the last time of x (streams, t), before any
    running intersection, by bisection. Returns (lo, hi): lo is the largest candidate found
    excluded from below (K+ >= 1/(theta alpha)) or 0, hi the smallest found excluded from above
    or 1; [lo, hi] contains C_t."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    lamdot = np.atleast_2d(lamdot)
    S = x.shape[0]
    thr_p = math.log(1.0 / (THETA * alpha))
    thr_m = math.log(1.0 / ((1.0 - THETA) * alpha))
    # lower end: K+(m) nonincreasing; excluded at lo, included at hi (K+(1) <= 1 < threshold)
    lo, hi = np.zeros(S), np.ones(S)
    active = _log_kplus_at(x, lamdot, lo, c) >= thr_p
    for _ in range(BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        active &= (mid > lo) & (mid < hi)
        if not active.any():
            break
        ex = _log_kplus_at(x, lamdot, mid, c) >= thr_p
        lo = np.where(active & ex, mid, lo)
        hi = np.where(active & ~ex, mid, hi)
    low = lo
    # upper end: K-(m) nondecreasing; included at lo (K-(0) <= 1), excluded at hi
    lo, hi = np.zeros(S), np.ones(S)
    active = _log_kminus_at(x, lamdot, hi, c) >= thr_m
    for _ in range(BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        active &= (mid > lo) & (mid < hi)
        if not active.any():
            break
        ex = _log_kminus_at(x, lamdot, mid, c) >= thr_m
        hi = np.where(active & ex, mid, hi)
        lo = np.where(active & ~ex, mid, lo)
    return low, hi


def evalue(d, alpha, c):
    """The e-value for H0: mu = 0 after all of d: theta K+(1/2) + (1 - theta) K-(1/2)."""
    x = unit(d)
    lamdot = prpl_bets(x, alpha)
    lp, lm = log_capital(x, lamdot, 0.5, c)
    return THETA * math.exp(lp[-1]) + (1.0 - THETA) * math.exp(lm[-1])


def ebh(e, alpha):
    """e-BH at level alpha over the e-values e (any dependence): a boolean mask of the rejected
    hypotheses. k* = max {k : e_(k) >= K / (alpha k)} (e_(1) the largest), the k* largest
    rejected; none if no k qualifies. Ties at the k*-th value are all rejected."""
    e = np.asarray(e, dtype=float)
    K = e.size
    if K == 0:
        return np.zeros(0, dtype=bool)
    order = np.sort(e)[::-1]
    k = np.arange(1, K + 1)
    ok = order >= K / (alpha * k)
    if not ok.any():
        return np.zeros(K, dtype=bool)
    kstar = int(k[ok].max())
    return e >= order[kstar - 1]


# ---------------------------------------------------------------- the asymptotic CS

def rho2_for(t_opt, alpha):
    """rho^2 of the normal mixture that makes the CS tightest near t_opt (closed-form approx.)."""
    L = math.log(1.0 / alpha)
    return (2.0 * L + math.log(1.0 + 2.0 * L)) / t_opt


def asymptotic_margin(t, alpha, rho2):
    """The unit-variance margin sqrt(2 (t rho^2 + 1) / (t^2 rho^2) log(sqrt(t rho^2 + 1)/alpha))."""
    t = np.asarray(t, dtype=float)
    a = t * rho2 + 1.0
    return np.sqrt(2.0 * a / (t * t * rho2) * np.log(np.sqrt(a) / alpha))


def asymptotic_bounds(d, alpha, t_opt, var_floor=0.0):
    """The asymptotic CS (low, high) on the D scale at the last time of d (streams, t), before
    the running intersection. Mean and variance by sequential sums (two passes)."""
    d = np.atleast_2d(np.asarray(d, dtype=float))
    t = d.shape[-1]
    mean = np.cumsum(d, axis=-1)[:, -1] / t
    var = np.cumsum((d - mean[:, None]) ** 2, axis=-1)[:, -1] / t
    var = np.maximum(var, var_floor)
    half = np.sqrt(var) * asymptotic_margin(t, alpha, rho2_for(t_opt, alpha))
    return mean - half, mean + half


# ---------------------------------------------------------------- the sequential decision

@dataclass(frozen=True)
class Rule:
    """A decision construction. sign, equiv: which CS decides signs and equivalence
    ('betting' or 'asymptotic'). min_seeds: no decision before; min_seeds_eq: no 'equivalent'
    before. c: the betting truncation; t_opt, var_floor: the asymptotic CS's tuning;
    asym_running: the asymptotic CS as a running intersection (else the current interval);
    futility: seeds from which a comparison is given up when no decision is reachable (0:
    never), futility_z: the optimism of that projection, in standard errors."""
    sign: str = "betting"
    equiv: str = "betting"
    c: float = 0.5
    t_opt: float = 20.0
    var_floor: float = 0.0
    min_seeds: int = 0
    min_seeds_eq: int = 0
    asym_running: bool = True
    futility: int = 0
    futility_z: float = 2.0


EXACT = Rule()


def check_times(round_, max_seeds):
    """The numbers of seeds after which the CS is checked: round, 2 round, ..., and max_seeds."""
    ts = list(range(round_, max_seeds + 1, round_))
    if not ts or ts[-1] != max_seeds:
        ts.append(max_seeds)
    return ts


def flat_halfwidth(t, alpha, c):
    """Half-width of the betting CS after t seeds of D = 0 (the narrowest it gets near 0):
    the upper bound of the CS of a constant stream, before any intersection."""
    x = np.full((1, t), 0.5)
    _, U = betting_bounds(x, prpl_bets(x, alpha), alpha, c)
    return float(2.0 * U[0] - 1.0)


def _futile(mean, var, delta, alpha, max_seeds, t, rule, w_flat):
    """The futility test at t seeds for arrays of means and (floored) variances."""
    se = np.sqrt(var / t)
    z = rule.futility_z
    w_asym = np.sqrt(var) * asymptotic_margin(max_seeds, alpha, rho2_for(rule.t_opt, alpha))
    w_sign = w_flat if rule.sign == "betting" else w_asym
    w_eq = w_flat if rule.equiv == "betting" else w_asym
    reach_sign = np.abs(mean) + z * se >= w_sign
    reach_eq = np.maximum(np.abs(mean) - z * se, 0.0) + w_eq < delta
    return (t >= rule.futility) & ~reach_sign & ~reach_eq


def _moments(d):
    """Mean and variance (1/t) of d (streams, t) as the asymptotic CS computes them."""
    t = d.shape[-1]
    mean = np.cumsum(d, axis=-1)[:, -1] / t
    var = np.cumsum((d - mean[:, None]) ** 2, axis=-1)[:, -1] / t
    return mean, var


def _intersect(prev_lo, prev_hi, lo, hi):
    return np.maximum(prev_lo, lo), np.minimum(prev_hi, hi)


def sequential(d, alpha=0.05, delta=0.01, round_=5, max_seeds=100, rule=EXACT, stop=True):
    """Run the procedure on each stream of d (streams, T values, or 1-D; T <= max_seeds is
    allowed, then only the check times up to T are used): after each check time t the CSs
    (running intersections) and the decision, which is frozen once taken. Returns a dict of
    arrays per stream: decision, seeds (the check time of the decision, or the last check),
    exact_low/high (betting CS), cs_low/high (the sign CS), evalue -- at the stream's last
    check, which is its decision's with stop=True (the cell stops there) and the last check
    otherwise (the cell goes on for another comparison) -- and 'trace', per check time the
    values of every stream, for agreement tests. With a futility rule, 'futile' marks the
    streams given up (undecided), at the check 'seeds'."""
    d = np.atleast_2d(np.asarray(d, dtype=float))[:, :max_seeds]
    S, T = d.shape
    w_flat = flat_halfwidth(max_seeds, alpha, rule.c) if rule.futility else 0.0
    futile = np.zeros(S, dtype=bool)
    x = unit(d)
    lamdot = prpl_bets(x, alpha)
    ex_lo, ex_hi = np.full(S, -1.0), np.full(S, 1.0)
    as_lo, as_hi = np.full(S, -1.0), np.full(S, 1.0)
    decision = np.zeros(S, dtype=int)
    seeds = np.zeros(S, dtype=int)
    out = {k: np.full(S, np.nan) for k in ("exact_low", "exact_high", "cs_low", "cs_high", "evalue")}
    trace = []
    for t in [t for t in check_times(round_, max_seeds) if t <= T]:
        L, U = betting_bounds(x[:, :t], lamdot[:, :t], alpha, rule.c)
        ex_lo, ex_hi = _intersect(ex_lo, ex_hi, 2.0 * L - 1.0, 2.0 * U - 1.0)
        a_lo, a_hi = asymptotic_bounds(d[:, :t], alpha, rule.t_opt, rule.var_floor)
        a_lo, a_hi = np.maximum(a_lo, -1.0), np.minimum(a_hi, 1.0)
        as_lo, as_hi = _intersect(as_lo, as_hi, a_lo, a_hi) if rule.asym_running else (a_lo, a_hi)
        lp, lm = log_capital(x[:, :t], lamdot[:, :t], 0.5, rule.c)
        ev = THETA * np.exp(lp[:, -1]) + (1.0 - THETA) * np.exp(lm[:, -1])
        s_lo, s_hi = (ex_lo, ex_hi) if rule.sign == "betting" else (as_lo, as_hi)
        e_lo, e_hi = (ex_lo, ex_hi) if rule.equiv == "betting" else (as_lo, as_hi)
        new = np.zeros(S, dtype=int)
        if t >= rule.min_seeds:
            eq = (e_lo > -delta) & (e_hi < delta) & (t >= rule.min_seeds_eq)
            new = np.where(s_lo > 0.0, HELPS, np.where(s_hi < 0.0, HURTS,
                                                        np.where(eq, EQUIVALENT, UNDECIDED)))
        open_ = (decision == UNDECIDED) & ~futile
        upd = open_ if stop else np.ones(S, dtype=bool)
        for k, v in (("exact_low", ex_lo), ("exact_high", ex_hi), ("cs_low", s_lo),
                     ("cs_high", s_hi), ("evalue", ev)):
            out[k] = np.where(upd, v, out[k])
        seeds = np.where(upd, t, seeds)
        decision = np.where(open_ & (new != UNDECIDED), new, decision)
        if rule.futility:
            mean, var = _moments(d[:, :t])
            var = np.maximum(var, rule.var_floor)
            futile |= (decision == UNDECIDED) & _futile(mean, var, delta, alpha, max_seeds, t, rule, w_flat)
        trace.append(dict(t=t, exact_low=ex_lo.copy(), exact_high=ex_hi.copy(), asym_low=as_lo.copy(),
                          asym_high=as_hi.copy(), evalue=ev, decision=decision.copy(),
                          futile=futile.copy()))
    out.update(decision=decision, seeds=seeds, trace=trace, futile=futile)
    return out


# ---------------------------------------------------------------- fast forms (simulation, study)
#
# The CS excludes a candidate at a check time exactly when the capital there is at least the
# threshold, and the running intersection's low end is above a point p exactly when p was
# excluded from below at some check: so the decisions need the capital at 1/2 and 1/2 -+ delta/2
# only, not the bounds. decisions_fast equals sequential's decisions except when a bound lies
# within a few ulps of 0 or +-delta (tests/test_decide.py checks it on random streams).

def _running_any(flags):
    return np.logical_or.accumulate(flags, axis=-1)


def betting_excluded(d, m, alpha, c, checks):
    """(below, above): whether the candidate m (X scale, scalar or per stream) was excluded from
    below (K+ >= 1/(theta alpha)) / from above (K- >= ...) at some check so far; (streams,
    checks) booleans, running over the checks."""
    x = unit(np.atleast_2d(d))
    lamdot = prpl_bets(x, alpha)
    m = np.asarray(m, dtype=float)
    m = m if m.ndim == 0 else m.reshape(-1, 1)
    lp = np.cumsum(np.log1p(_lam_plus(lamdot, m, c) * (x - m)), axis=-1)
    lm = np.cumsum(np.log1p(-_lam_minus(lamdot, m, c) * (x - m)), axis=-1)
    idx = np.asarray(checks) - 1
    below = lp[:, idx] >= math.log(1.0 / (THETA * alpha))
    above = lm[:, idx] >= math.log(1.0 / ((1.0 - THETA) * alpha))
    return _running_any(below), _running_any(above)


def asymptotic_running(d, alpha, t_opt, var_floor, checks, running=True):
    """The asymptotic CS's running intersection (low, high), (streams, checks), clipped to
    [-1, 1], computed as sequential() does (running=False: each check's own interval)."""
    d = np.atleast_2d(np.asarray(d, dtype=float))
    rho2 = rho2_for(t_opt, alpha)
    lows, highs = [], []
    lo, hi = np.full(d.shape[0], -1.0), np.full(d.shape[0], 1.0)
    for t in checks:
        a, b = asymptotic_bounds(d[:, :t], alpha, t_opt, var_floor)
        a, b = np.maximum(a, -1.0), np.minimum(b, 1.0)
        lo, hi = (np.maximum(lo, a), np.minimum(hi, b)) if running else (a, b)
        lows.append(lo)
        highs.append(hi)
    return np.stack(lows, axis=-1), np.stack(highs, axis=-1)


def decisions_fast(d, alpha=0.05, delta=0.01, round_=5, max_seeds=100, rule=EXACT):
    """Decision and seeds used per stream (the cell stops at its decision), as sequential()."""
    d = np.atleast_2d(np.asarray(d, dtype=float))[:, :max_seeds]
    S, T = d.shape
    checks = np.array([t for t in check_times(round_, max_seeds) if t <= T])
    need_b = "betting" in (rule.sign, rule.equiv)
    need_a = "asymptotic" in (rule.sign, rule.equiv)
    if need_b:
        b0_lo, b0_hi = betting_excluded(d, 0.5, alpha, rule.c, checks)
        bl, _ = betting_excluded(d, 0.5 - delta / 2, alpha, rule.c, checks)
        _, bh = betting_excluded(d, 0.5 + delta / 2, alpha, rule.c, checks)
        betting = dict(helps=b0_lo, hurts=b0_hi, eq=bl & bh)
    if need_a:
        lo, hi = asymptotic_running(d, alpha, rule.t_opt, rule.var_floor, checks, rule.asym_running)
        asym = dict(helps=lo > 0.0, hurts=hi < 0.0, eq=(lo > -delta) & (hi < delta))
    sg = betting if rule.sign == "betting" else asym
    eqd = betting if rule.equiv == "betting" else asym
    ok = checks >= rule.min_seeds
    eq_ok = ok & (checks >= rule.min_seeds_eq)
    new = np.where(sg["helps"] & ok, HELPS, np.where(sg["hurts"] & ok, HURTS,
                   np.where(eqd["eq"] & eq_ok, EQUIVALENT, UNDECIDED)))
    stops = new != UNDECIDED
    if rule.futility:
        w_flat = flat_halfwidth(max_seeds, alpha, rule.c)
        fut = np.zeros_like(stops)
        for j, t in enumerate(checks):
            mean, var = _moments(d[:, :t])
            fut[:, j] = _futile(mean, np.maximum(var, rule.var_floor), delta, alpha, max_seeds, t, rule, w_flat)
        stops = stops | fut
    first = np.where(stops.any(axis=1), stops.argmax(axis=1), len(checks) - 1)
    decision = new[np.arange(S), first]
    return decision, checks[first]
