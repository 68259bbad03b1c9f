"""Decisions per cell: in this cell of the grid, does approach A help or hurt against B?

A cell is a point of the grid without its seed axis; a comparison A:B asks about the paired
differences D_s = acc_A(s) - acc_B(s) of its seeds (both approaches see the same draws). The
seeds are taken in the file's seed order; after every round of `round` differences a
confidence sequence (CS) for the mean of D, valid at every check at once (exactly for the
betting CS, as the seeds grow for the asymptotic one), is checked, and the comparison is
decided -- and frozen -- as soon as the CS lies above 0 (A helps), below 0 (A hurts) or inside
(-delta, delta) (equivalent), or given up (undecided for good, futility); otherwise it stays
undecided. This is what the run does cell by cell in the decide modes (src/cells.c,
src/decide.c): on a file of `decide.mode: sequential` decide() gives the file's own decisions,
on a boundary map those of the cells it ran (decisions() reads the file's own, inferred cells
included); on a plain grid it gives the CS at the grid's fixed seeds, the same rule stopped at
the seeds there are.

    decide(ds, "mmd", "target_mlp")    # per cell: decision, cs_low, cs_high, seeds_used, given_up, ...
    decisions(ds)                      # every comparison the file asks about (decide.compare)
    boundaries(decisions(ds), "shift") # per line along an ordered axis: where the sign changes

The constructions (docs/decisions-study.md says which serves the default and why):
  betting     Waudby-Smith & Ramdas, "Estimating means of bounded random variables by betting"
              (JRSS-B 2023): on X = (D + 1)/2, predictable plug-in bets truncated at c/m and
              c/(1 - m), the hedged capital max(K+, K-) with theta = 1/2, the CS {m : capital
              < 1/alpha}, each end by bisection; a running intersection over the checks. Valid at
              every check at once.
  asymptotic  Waudby-Smith et al. (2021), time-uniform CLT: mean +- sd * the Robbins
              normal-mixture margin, tightest near t_opt differences; a running intersection or
              each check's own interval (Rule.asym_running).
The rules are the C module's (include/tlsweep/decide.h): DEFAULT is tls_decide_rule_default (the
betting CS, c = 0.9, for every decision; futility from 20 seeds), ASYMPTOTIC the opt-in
tls_decide_rule_asymptotic (decide.cs: asymptotic). Futility: from Rule.futility differences on,
a comparison still open at a check is given up -- undecided for good, it takes no more seeds --
when neither a sign nor equivalence looks reachable within max_seeds (decide.h says how).
A file names its rule (the decide_rule attribute, else decide.cs in its configuration); its
decide.multiplicity: ebh demotes the helps / hurts that e-BH over the measured cells' e-values does
not reject, as the run does.

Pending configurations (status 0) and those never run (3, not needed) end a cell's seeds; a seed
where A or B has no accuracy (a failed method) is skipped: it counts as a seed the cell took but
gives no difference. The sums run in seed order, as in the C module, so the bounds agree with the
file's to rounding.
"""
import dataclasses
import math
import re
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import xarray as xr

from . import results as R
from .tables import file_name

UNDECIDED, HELPS, HURTS, EQUIVALENT = 0, 1, 2, 3
MEANINGS = ("undecided", "helps", "hurts", "equivalent")
NOT_KNOWN = -1  # decision: a cell with no seeds and no inferred decision (the file's fill, too)
UNKNOWN, MEASURED, INFERRED = 0, 1, 2  # decision_source: where a cell's decision comes from
SOURCES = ("unknown", "measured", "inferred")
# stop_reason: why a cell (in a file of the decide modes) or a comparison (computed) stopped taking seeds
OPEN, DECIDED, BUDGET, NOT_RUN, MAX_TRAININGS, FUTILE = 0, 1, 2, 3, 4, 5
STOP_REASONS = ("open", "decided", "budget", "not_run", "max_trainings", "futile")
NOT_NEEDED = 3  # the status of a configuration a stopped cell never ran
THETA = 0.5  # the hedge between the two capital processes
BISECT_STEPS = 64  # the bracket on [0, 1] stops shrinking after about 53 steps
MIN_SEEDS_FOR_INTERVAL = 5  # fewer seeds than this: an interval is flagged wherever it is shown
ROUND = 5  # decide.round's default, for files written before the decide keys
CELL_VARS = ("decision", "decision_source", "cs_low", "cs_high", "mean_diff", "evalue", "seeds_used", "stop_round",
             "stop_reason")


@dataclass(frozen=True)
class Rule:
    """A construction, as tls_decide_rule: which CS decides the signs and which equivalence
    ('betting' or 'asymptotic'); c, the betting truncation in (0, 1); t_opt > 0 and var_floor >= 0
    (D^2 units), the asymptotic CS's tuning; no decision before min_seeds differences, no
    'equivalent' before min_seeds_eq; asym_running: the asymptotic CS a running intersection over
    the checks (else each check's own interval); futility: from this many differences on, give a
    comparison up when no decision is reachable within max_seeds (0: never), futility_z: the
    optimism of that projection, in standard errors."""
    sign: str
    equiv: str
    c: float
    t_opt: float
    var_floor: float
    min_seeds: int
    min_seeds_eq: int
    asym_running: bool = True
    futility: int = 0
    futility_z: float = 2.0

    def text(self):
        return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in asdict(self).items())


# tls_decide_rule_default (src/decide.c), the rule the decide modes run with unless decide.cs says asymptotic:
# checked against the C default by tests/test_decide_analysis.py
DEFAULT = Rule(sign="betting", equiv="betting", c=0.9, t_opt=20.0, var_floor=0.01 ** 2, min_seeds=0, min_seeds_eq=0,
               asym_running=False, futility=20, futility_z=2.0)
# tls_decide_rule_asymptotic: decide.cs: asymptotic
ASYMPTOTIC = dataclasses.replace(DEFAULT, sign="asymptotic", equiv="asymptotic")
RULES = {"betting": DEFAULT, "asymptotic": ASYMPTOTIC}  # decide.cs -> its rule
# what each construction is, in words (the report names the one that decided)
CS_WORDS = {"betting": "anytime-valid betting confidence sequence (Waudby-Smith & Ramdas 2023)",
            "asymptotic": "time-uniform asymptotic confidence sequence (Waudby-Smith et al. 2021: valid as the "
                          "seeds grow, not at a handful)"}
# the betting CS for every decision, c = 1/2, no guards, no futility (the reference's EXACT)
EXACT = Rule(sign="betting", equiv="betting", c=0.5, t_opt=20.0, var_floor=0.0, min_seeds=0, min_seeds_eq=0)


# ---------------------------------------------------------------- the confidence sequences

def check_times(round_, max_seeds):
    """The numbers of differences after which the CS is checked: round, 2 round, ... and max_seeds."""
    ts = list(range(round_, max_seeds + 1, round_))
    return ts if ts and ts[-1] == max_seeds else ts + [max_seeds]


def _bets(x, alpha):
    """The predictable plug-in bets for X (rows, t) in [0, 1]: each uses the X before it only."""
    t = np.arange(1, x.shape[1] + 1, dtype=float)
    mu = (0.5 + np.cumsum(x, axis=1)) / (t + 1.0)
    s2 = (0.25 + np.cumsum((x - mu) * (x - mu), axis=1)) / (t + 1.0)
    s2_prev = np.concatenate([np.full((x.shape[0], 1), 0.25), s2[:, :-1]], axis=1)
    return np.sqrt(2.0 * math.log(2.0 / alpha) / (s2_prev * t * np.log1p(t)))


def _log_capital(x, lam, m, c, side):
    """log K+(m) (side +1) or log K-(m) (side -1) after all of x (rows, t), m per row: a sum in
    seed order (cumsum, as the C module adds)."""
    m = m[:, None]
    if side > 0:
        cap = np.where(m > 0.0, c / np.where(m > 0.0, m, 1.0), np.inf)
        f = np.log1p(np.minimum(lam, cap) * (x - m))
    else:
        cap = np.where(m < 1.0, c / np.where(m < 1.0, 1.0 - m, 1.0), np.inf)
        f = np.log1p(-np.minimum(lam, cap) * (x - m))
    return np.cumsum(f, axis=1)[:, -1]


def _betting_end(x, lam, alpha, c, side):
    """One end of the betting CS on the X scale by bisection on [0, 1]: the lower end (side +1)
    is the last candidate found excluded from below (or 0), the upper (side -1) the last found
    excluded from above (or 1), so that the interval reported contains the CS."""
    rows = x.shape[0]
    thr = math.log(1.0 / ((THETA if side > 0 else 1.0 - THETA) * alpha))
    lo, hi = np.zeros(rows), np.ones(rows)
    active = _log_capital(x, lam, lo if side > 0 else hi, c, side) >= thr
    for _ in range(BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        active &= (mid > lo) & (mid < hi)
        if not active.any():
            break
        out = _log_capital(x, lam, mid, c, side) >= thr
        if side > 0:  # K+ falls with m: excluded at lo, included at hi
            lo, hi = np.where(active & out, mid, lo), np.where(active & ~out, mid, hi)
        else:  # K- rises with m: included at lo, excluded at hi
            hi, lo = np.where(active & out, mid, hi), np.where(active & ~out, mid, lo)
    return lo if side > 0 else hi


def _margin(t, alpha, t_opt):
    """The asymptotic CS's unit-variance margin after t differences (the Robbins normal mixture tuned for t_opt)."""
    L = math.log(1.0 / alpha)
    rho2 = (2.0 * L + math.log(1.0 + 2.0 * L)) / t_opt
    a = t * rho2 + 1.0
    return math.sqrt(2.0 * a / (float(t) * t * rho2) * math.log(math.sqrt(a) / alpha))


def _asymptotic(d, alpha, t_opt, var_floor):
    """The asymptotic CS (low, high) of each row of d (rows, t), clipped to [-1, 1], the mean and the
    (floored) variance."""
    t = d.shape[1]
    mean = np.cumsum(d, axis=1)[:, -1] / t
    e = d - mean[:, None]
    var = np.maximum(np.cumsum(e * e, axis=1)[:, -1] / t, var_floor)
    half = np.sqrt(var) * _margin(t, alpha, t_opt)
    return np.maximum(mean - half, -1.0), np.minimum(mean + half, 1.0), mean, var


def flat_halfwidth(max_seeds, alpha, c):
    """The half-width of the betting CS after max_seeds differences of 0: the narrowest a sign CS can get
    by max_seeds (futility)."""
    x = np.full((1, max_seeds), 0.5)
    return float(2.0 * _betting_end(x, _bets(x, alpha), alpha, c, -1)[0] - 1.0)


def _futile(mean, var, t, alpha, delta, max_seeds, rule, w_flat):
    """Given up at a check of t differences (decide.h): neither a sign (|m| + z se >= w_sign) nor equivalence
    (max(0, |m| - z se) + w_eq < delta) reachable by max_seeds, w the half-width the deciding CS would have
    then (the betting CS's of max_seeds zeros; the asymptotic CS's sd times its margin at max_seeds)."""
    se, am, z = np.sqrt(var / t), np.abs(mean), rule.futility_z
    w_asym = np.sqrt(var) * _margin(max_seeds, alpha, rule.t_opt)
    w_sign = w_flat if rule.sign == "betting" else w_asym
    w_eq = w_flat if rule.equiv == "betting" else w_asym
    return ~(am + z * se >= w_sign) & ~(np.maximum(am - z * se, 0.0) + w_eq < delta)


def streams(d, ran=None, alpha=0.05, delta=0.01, round=ROUND, max_seeds=None, rule=DEFAULT):
    """Decides every row of d (cells, seeds): the differences D in seed order, NaN where a seed
    gives none (skipped). ran (cells, seeds), default all True: whether the seed's configuration
    ran; a cell's seeds end at its first one that did not. max_seeds: the budget (default: the
    seeds given), also a check. A comparison stops at its decision or when given up (futile).
    Returns a dict of arrays per cell: decision (MEANINGS), cs_low, cs_high (the sign CS at the
    check that stopped it, or the last; [-1, 1] before any), mean_diff (NaN before any check),
    evalue (1 before any), seeds_used (the cell's seeds at the check that stopped it, or all it
    took), checked (differences at that check), decided_at (0: undecided), futile (bool: given
    up), stopped_at (differences at the check that decided or gave up; 0: open) and taken (the
    cell's seeds that ran)."""
    d = np.atleast_2d(np.asarray(d, dtype=float))
    S, n = d.shape
    max_seeds = n if max_seeds is None else int(max_seeds)
    ran = np.ones(d.shape, bool) if ran is None else np.atleast_2d(np.asarray(ran, bool))
    taken = np.where(ran.all(axis=1), n, np.argmin(ran, axis=1))
    ok = (np.arange(n)[None, :] < taken[:, None]) & np.isfinite(d)
    npush = ok.sum(axis=1)
    order = np.argsort(~ok, axis=1, kind="stable")  # the differences first, in seed order
    D = np.take_along_axis(np.where(ok, d, 0.0), order, axis=1)
    seed_at = np.take_along_axis(np.broadcast_to(np.arange(1, n + 1), (S, n)), order, axis=1)
    X = (D + 1.0) / 2.0
    need_bet = "betting" in (rule.sign, rule.equiv)
    w_flat = flat_halfwidth(max_seeds, alpha, rule.c) if rule.futility else 0.0
    out = dict(decision=np.zeros(S, np.int8), cs_low=np.full(S, -1.0), cs_high=np.ones(S), mean_diff=np.full(S, np.nan),
               evalue=np.ones(S), checked=np.zeros(S, np.int64), decided_at=np.zeros(S, np.int64),
               futile=np.zeros(S, bool), stopped_at=np.zeros(S, np.int64))
    ex_lo, ex_hi, as_lo, as_hi = np.full(S, -1.0), np.ones(S), np.full(S, -1.0), np.ones(S)
    for t in check_times(round, max_seeds):
        live = npush >= t
        if not live.any():
            break
        rows = np.flatnonzero(live & (out["stopped_at"] == 0))
        if not rows.size:
            continue
        x, dd = X[rows, :t], D[rows, :t]
        lam = _bets(x, alpha)
        if need_bet:
            lo = 2.0 * _betting_end(x, lam, alpha, rule.c, +1) - 1.0
            hi = 2.0 * _betting_end(x, lam, alpha, rule.c, -1) - 1.0
            ex_lo[rows], ex_hi[rows] = np.maximum(ex_lo[rows], lo), np.minimum(ex_hi[rows], hi)
        half = np.full(rows.size, 0.5)
        lp, lm = _log_capital(x, lam, half, rule.c, +1), _log_capital(x, lam, half, rule.c, -1)
        a_lo, a_hi, mean, var = _asymptotic(dd, alpha, rule.t_opt, rule.var_floor)
        if rule.asym_running:
            a_lo, a_hi = np.maximum(as_lo[rows], a_lo), np.minimum(as_hi[rows], a_hi)
        as_lo[rows], as_hi[rows] = a_lo, a_hi
        s_lo, s_hi = (ex_lo, ex_hi) if rule.sign == "betting" else (as_lo, as_hi)
        e_lo, e_hi = (ex_lo, ex_hi) if rule.equiv == "betting" else (as_lo, as_hi)
        out["cs_low"][rows], out["cs_high"][rows] = s_lo[rows], s_hi[rows]
        out["mean_diff"][rows], out["checked"][rows] = mean, t
        out["evalue"][rows] = THETA * np.exp(lp) + (1.0 - THETA) * np.exp(lm)
        new = np.zeros(rows.size, np.int8)
        if t >= rule.min_seeds:
            new = np.where(s_lo[rows] > 0.0, HELPS, np.where(s_hi[rows] < 0.0, HURTS, UNDECIDED))
            eq = (e_lo[rows] > -delta) & (e_hi[rows] < delta) & (t >= rule.min_seeds_eq)
            new = np.where((new == UNDECIDED) & eq, EQUIVALENT, new)
        out["decision"][rows] = new
        out["decided_at"][rows] = np.where(new != UNDECIDED, t, 0)
        fut = np.zeros(rows.size, bool)
        if rule.futility and t >= rule.futility:
            fut = (new == UNDECIDED) & _futile(mean, var, t, alpha, delta, max_seeds, rule, w_flat)
        out["futile"][rows] = fut
        out["stopped_at"][rows] = np.where((new != UNDECIDED) | fut, t, 0)
    stopped = out["stopped_at"] > 0
    at = np.maximum(out["stopped_at"], 1) - 1
    out["seeds_used"] = np.where(stopped, seed_at[np.arange(S), at], taken).astype(np.int64)
    out["taken"] = taken.astype(np.int64)
    return out


def ebh(e, alpha):
    """e-BH (Wang & Ramdas 2022) at level alpha over the e-values e, as tls_decide_ebh: a boolean mask of the
    k* largest, k* = max {k : e_(k) >= K / (alpha k)} (ties with the k*-th all rejected)."""
    e = np.asarray(e, dtype=float).ravel()
    if not e.size:
        return np.zeros(0, bool)
    top = np.sort(e)[::-1]
    k = np.arange(1, e.size + 1)
    ok = top >= e.size / (alpha * k)
    return e >= top[k[ok].max() - 1] if ok.any() else np.zeros(e.size, bool)


# ---------------------------------------------------------------- a file's settings

def settings(ds):
    """The file's decide section (config_yaml) as a dict: mode ('grid' for files from before the
    keys), compare [(A, B), ...], alpha, delta, round, max_seeds, max_trainings, cs, multiplicity
    (absent keys left out)."""
    text = str(R.load(ds).attrs.get("config_yaml", "")) + "\n"
    m = re.search(r"^decide:[ \t]*\n((?:[ \t]+.*\n)*)", text, re.M)
    out = {"mode": "grid"}
    if not m:
        return out
    for line in m.group(1).splitlines():
        k, _, v = line.strip().partition(":")
        v = v.strip()
        if k in ("mode", "cs", "multiplicity"):
            out[k] = v
        elif k == "compare":
            out["compare"] = [tuple(p.strip().split(":")) for p in v.strip("[]").split(",") if ":" in p]
        elif k in ("alpha", "delta"):
            out[k] = float(v)
        elif k in ("round", "max_seeds", "max_trainings"):
            out[k] = int(v)
    return out


def file_rule(ds):
    """The rule a file names: its decide_rule attribute (the C rule's text, which starts with the
    construction's name) when it has one, else its decide.cs, else DEFAULT. Returns (name, Rule)."""
    ds = R.load(ds)
    text = R._str(ds.attrs.get("decide_rule", "")).strip()
    name = text.split(" ", 1)[0] if text else settings(ds).get("cs", "betting")
    if name not in RULES:
        raise ValueError(f"the file's decide rule {text or name!r} is neither of {', '.join(RULES)}")
    return name, RULES[name]


def comparisons(ds):
    """The comparisons (A, B) to decide for a file: its decide.compare where both approaches are
    in the file, else (transfer, baseline) (results.roles)."""
    ds = R.load(ds)
    have = R.approaches(ds)
    pairs = [p for p in settings(ds).get("compare", []) if len(p) == 2 and p[0] in have and p[1] in have]
    if not pairs:
        base, trans = R.roles(ds)
        pairs = [(trans, base)] if base and trans and base != trans else []
    return pairs


# ---------------------------------------------------------------- per cell

def _ran(ds):
    """Over the grid axes: the configuration ran (done or failed), as the run's replay has it."""
    st = ds["status"]
    return (st == R.DONE) | (st == R.FAILED)


def decide(ds, a, b, alpha=None, delta=None, round=None, rule=None):
    """Per cell (the grid's axes but seed), whether approach a helps or hurts against b, from the
    paired differences acc_a - acc_b of the cell's seeds in order (see the module's text).
    ds: a path or a loaded dataset; a, b: approaches of the file (results.approaches; the tables'
    name transfer reads as the file's mmd, and the comparison is named in the file's names). alpha,
    delta, round (differences per round): None, the file's decide.alpha, decide.delta and
    decide.round, else 0.05, 0.01 and 5; rule: a Rule (None: the one the file names, file_rule);
    the budget is the file's seed axis. Returns an xarray.Dataset over the
    cell axes: decision (int8; 0 undecided, 1 helps, 2 hurts, 3 equivalent, -1 not known: no seed),
    decision_source (int8; 1 measured: the cell has a seed, else 0 unknown), cs_low, cs_high, seeds_used (int32),
    mean_diff, evalue, stop_round (int32), stop_reason (int8, this comparison's: open, decided,
    budget: every seed taken undecided, futile), given_up (bool: futile), with the comparison "a:b",
    alpha, delta, round, max_seeds and the rule (rule, rule_name) as attributes. On a file of the
    decide modes, with its alpha, delta and round, the measured cells' values are the file's own
    (decisions() reads them too), and on a boundary map's file the cells it inferred are the file's
    (decision_source 2); with other settings those cells have no seeds and are unknown
    (decision_source 0, decision -1), said by a warning. On a grid, the CS at its seeds."""
    ds = R.load(ds)
    have = R.approaches(ds)
    a, b = file_name(a), file_name(b)
    for m in (a, b):
        if m not in have:
            raise KeyError(f"{m!r} is not an approach of the file; allowed: {', '.join(have)}")
    if "seed" not in ds["status"].dims:
        raise ValueError("the file has no seed axis (a part's list of configurations?): merge the parts first")
    s = settings(ds)
    alpha = s.get("alpha", 0.05) if alpha is None else alpha
    delta = s.get("delta", 0.01) if delta is None else delta
    round = s.get("round", ROUND) if round is None else round
    if not (0.0 < alpha < 1.0 and 0.0 <= delta < 1.0):
        raise ValueError(f"alpha={alpha}, delta={delta}; allowed: 0 < alpha < 1, 0 <= delta < 1")
    if int(round) < 1:
        raise ValueError(f"round={round}; allowed: an integer >= 1")
    own_name, own_rule = file_rule(ds)
    name, rule = (own_name, own_rule) if rule is None else (next((k for k, r in RULES.items() if r == rule), "custom"),
                                                             rule)
    cells = R.cell_axes(ds)
    diff = (ds[f"acc_{a}"] - ds[f"acc_{b}"]).transpose(*cells, "seed")
    ran = _ran(ds).transpose(*cells, "seed")
    shape = [ds.sizes[c] for c in cells]
    n = ds.sizes["seed"]
    res = streams(diff.values.reshape(-1, n), ran.values.reshape(-1, n), alpha, delta, int(round), n, rule)
    res["decision_source"] = np.where(res["seeds_used"] > 0, MEASURED, UNKNOWN)
    res["stop_reason"] = np.where(res["decision"] != UNDECIDED, DECIDED, np.where(
        res["futile"], FUTILE, np.where(res["taken"] >= n, BUDGET, OPEN)))
    res["stop_round"] = (res["seeds_used"] + int(round) - 1) // int(round)
    res["given_up"] = res["futile"]
    res["decision"] = np.where(res["seeds_used"] > 0, res["decision"], NOT_KNOWN)
    out = xr.Dataset(coords={c: ds[c] for c in cells})
    kinds = {"decision": np.int8, "decision_source": np.int8, "seeds_used": np.int32, "stop_round": np.int32,
             "stop_reason": np.int8, "given_up": bool}
    for k in CELL_VARS + ("given_up",):
        out[k] = (cells, res[k].reshape(shape).astype(kinds.get(k, float)))
    _flags(out)
    out.attrs.update(comparison=f"{a}:{b}", alpha=alpha, delta=delta, round=int(round), max_seeds=n, rule=rule.text(),
                     rule_name=name)
    if s["mode"] == "boundary":
        own = (alpha, delta, int(round), rule) == (s.get("alpha"), s.get("delta"), s.get("round"), own_rule)
        _map_inferred(ds, out, f"{a}:{b}", own)
    return out


def _map_inferred(ds, out, comparison, own):
    """A boundary map's cells it inferred, into decide()'s out: the file's decisions when decide ran
    at the file's settings on one of its comparisons; else a warning that they are unknown here."""
    unknown = out["decision_source"].values == UNKNOWN
    if not unknown.any():
        return
    names = [R._str(c) for c in ds["comparison"].values] if "comparison" in ds.dims else []
    if own and comparison in names and "decision_source" in ds:
        f = ds[["decision", "decision_source"]].isel(comparison=names.index(comparison)).transpose(*out["decision"].dims)
        inferred = unknown & (f["decision_source"].fillna(UNKNOWN).values == INFERRED)
        out["decision"].values = np.where(inferred, f["decision"].fillna(UNDECIDED).values, out["decision"].values
                                          ).astype(np.int8)
        out["decision_source"].values = np.where(inferred, INFERRED, out["decision_source"].values).astype(np.int8)
        return
    warnings.warn(f"{int(unknown.sum())} cells of this boundary map did not run: decide() has no seeds there "
                  "(decision_source 0, unknown); the map's inferred decisions are the file's, at its settings: "
                  "decisions(ds) or decide() without alpha, delta, round and rule", stacklevel=3)


def _flags(dec):
    dec["decision"].attrs.update(flag_values=np.arange(NOT_KNOWN, 4, dtype=np.int8),
                                 flag_meanings=" ".join(("not_known",) + MEANINGS))
    dec["decision_source"].attrs.update(flag_values=np.arange(3, dtype=np.int8), flag_meanings=" ".join(SOURCES))


def _ints(out, k, fill, kind):
    if k in out:
        out[k] = out[k].fillna(fill).astype(kind)


def decisions(ds, compare=None, alpha=None, delta=None, round=None, rule=None):
    """Every comparison's decisions per cell, with a `comparison` dimension ("A:B") after the
    cell axes: variables CELL_VARS and given_up (bool: undecided for good, the comparison given up
    as futile). In the decide modes, unless compare, alpha, delta, round or rule is given, they are
    the file's own (the run's: measured and, in a boundary map, inferred decisions, decision_source
    saying which; stop_reason the cell's); otherwise decide() of each comparison (compare: pairs
    (A, B) or "A:B"; default comparisons(ds)) at the file's alpha, delta, round and rule unless
    given, with e-BH when the file's decide.multiplicity is ebh. attrs: source ("file" or
    "computed"), mode, alpha, delta, round, max_seeds (the seed axis), rule (the file's
    decide_rule, else the Rule's text), rule_name ("betting", "asymptotic" or "custom"), sign_cs
    and equiv_cs (the constructions: CS_WORDS), futility (the seeds from which a comparison can be
    given up; 0: never), multiplicity (in words) and inference (a boundary map's rule, else "")."""
    ds = R.load(ds)
    s = settings(ds)
    own = (s["mode"] != "grid" and "decision" in ds and "comparison" in ds.dims
           and compare is None and alpha is None and delta is None and round is None and rule is None)
    alpha = s.get("alpha", 0.05) if alpha is None else alpha
    delta = s.get("delta", 0.01) if delta is None else delta
    round = s.get("round", ROUND) if round is None else round
    name, rule = file_rule(ds) if rule is None else (next((k for k, r in RULES.items() if r == rule), "custom"), rule)
    attrs = dict(mode=s["mode"], alpha=alpha, delta=delta, round=int(round),
                 max_seeds=ds.sizes["seed"] if "seed" in ds.dims else s.get("max_seeds", 0), rule_name=name,
                 sign_cs=rule.sign, equiv_cs=rule.equiv, futility=int(rule.futility),
                 inference=R._str(ds.attrs.get("decide_inference", "")))
    cells = R.cell_axes(ds)
    if own:
        out = _own(ds, cells, alpha, delta, round, rule)
        out.attrs = dict(attrs, source="file", rule=R._str(ds.attrs.get("decide_rule", "")) or rule.text(),
                         multiplicity=R._str(ds.attrs.get("decide_multiplicity", "")) or _mult_text(alpha))
        return out
    pairs = [tuple(map(file_name, p.split(":") if isinstance(p, str) else p)) for p in (compare or comparisons(ds))]
    parts = [decide(ds, a, b, alpha, delta, round, rule) for a, b in pairs]
    if not parts:
        return None
    out = xr.concat(parts, dim=pd.Index([f"{a}:{b}" for a, b in pairs], name="comparison"),
                    combine_attrs="drop").transpose(*cells, "comparison")
    _flags(out)
    mult = _mult_text(alpha)
    if s.get("multiplicity") == "ebh":
        mult = _apply_ebh(out, alpha)
    out.attrs = dict(attrs, source="computed", rule=rule.text(), multiplicity=mult)
    return out


def _mult_text(alpha):
    return f"none: alpha {alpha:g} per cell and comparison"


def _apply_ebh(dec, alpha):
    """decide.multiplicity: ebh, as the run applies it (tls_cells_ebh): e-BH at alpha over the e-values of
    every measured cell and comparison; a helps or hurts it does not reject becomes undecided. Returns the
    file's words for it."""
    measured = dec["decision_source"].values == MEASURED
    keep = np.zeros(measured.shape, bool)
    keep[measured] = ebh(dec["evalue"].values[measured], alpha)
    code = dec["decision"].values
    sign = measured & ((code == HELPS) | (code == HURTS))
    dec["decision"].values = np.where(sign & ~keep, UNDECIDED, code).astype(np.int8)
    return (f"e-BH (Wang & Ramdas 2022) at alpha {alpha:g} over the e-values of every measured cell and comparison: "
            f"{int((sign & keep).sum())} of {int(sign.sum())} helps / hurts decisions kept, the others made undecided")


def _own(ds, cells, alpha, delta, round, rule):
    """A decide-mode file's own decisions (CELL_VARS as stored, the fills made codes), with given_up: the
    comparison's differences, replayed under the file's rule, gave it up and the file has it undecided."""
    out = ds[[v for v in CELL_VARS if v in ds]].transpose(*cells, "comparison")
    out = out.assign_coords(comparison=[R._str(c) for c in ds["comparison"].values])
    if "decision_source" not in out:  # files from before the boundary mode: every cell measured
        out["decision_source"] = xr.full_like(out["decision"], MEASURED)
    _ints(out, "decision", NOT_KNOWN, np.int8)
    _ints(out, "decision_source", UNKNOWN, np.int8)
    out["decision"] = out["decision"].where(out["decision_source"] != UNKNOWN, NOT_KNOWN).astype(np.int8)
    _ints(out, "stop_reason", -1, np.int8)
    for k in ("seeds_used", "stop_round"):
        _ints(out, k, 0, np.int32)
    _flags(out)
    undecided = (out["decision"] == UNDECIDED) & (out["decision_source"] == MEASURED)
    if "seed" in ds["status"].dims:
        futile = xr.concat([decide(ds, *str(c).split(":"), alpha, delta, round, rule)["given_up"]
                            for c in out["comparison"].values], dim=out["comparison"]).transpose(*out["decision"].dims)
    else:  # a part's file: its cells are in a list; the cell's reason tells (but not after an e-BH demotion)
        futile = out["stop_reason"] == FUTILE
    out["given_up"] = undecided & futile
    return out


def states(dec):
    """Per cell and comparison what a reader is told, an array of str: 'helps', 'hurts', 'equivalent',
    'undecided', 'given up' (undecided for good: no decision was reachable) or 'no data' (no seed finished,
    or a boundary map's cell neither run nor inferred); decided cells may be inferred (decision_source)."""
    code = dec["decision"].values.astype(int)
    src = dec["decision_source"].values if "decision_source" in dec else np.full(code.shape, MEASURED)
    seeds = dec["seeds_used"].values if "seeds_used" in dec else np.ones(code.shape)
    known = (src == INFERRED) | ((src == MEASURED) & (seeds > 0))
    out = np.array(MEANINGS, dtype=object)[np.maximum(code, UNDECIDED)]  # NOT_KNOWN is "no data" below
    if "given_up" in dec:
        out = np.where(dec["given_up"].values & (code == UNDECIDED), "given up", out)
    return np.where(known, out, "no data")


def tally(dec):
    """Per comparison: {"helps", "hurts", "equivalent", "undecided": cells (measured or inferred; undecided
    includes given up), "given_up", "no_data": cells without a decision to state, "cells",
    "measured", "inferred": cells, "inferred_helps", "inferred_hurts", "inferred_equivalent",
    "inferred_undecided", "few": decided from fewer than MIN_SEEDS_FOR_INTERVAL seeds}."""
    res = {}
    st = states(dec)
    src = dec["decision_source"].values if "decision_source" in dec else np.full(st.shape, MEASURED)
    seeds = dec["seeds_used"].values if "seeds_used" in dec else np.full(st.shape, MIN_SEEDS_FOR_INTERVAL)
    ci = list(dec["decision"].dims).index("comparison")
    for k, c in enumerate(dec["comparison"].values):
        v, s, n = (np.take(x, k, axis=ci).ravel() for x in (st, src, seeds))
        known, inf = v != "no data", (v != "no data") & (s == INFERRED)
        decided = np.isin(v, ("helps", "hurts", "equivalent"))
        r = {m: int((v == m).sum()) for m in ("helps", "hurts", "equivalent")}
        r.update(undecided=int(np.isin(v, ("undecided", "given up")).sum()), given_up=int((v == "given up").sum()),
                 no_data=int((~known).sum()), cells=int(v.size), measured=int((known & ~inf).sum()),
                 inferred=int(inf.sum()), few=int((decided & ~inf & (n < MIN_SEEDS_FOR_INTERVAL)).sum()))
        r.update({f"inferred_{m}": int((inf & (v == m)).sum()) for m in ("helps", "hurts", "equivalent", "undecided")})
        res[str(c)] = r
    return res


# ---------------------------------------------------------------- along an ordered axis

def ordered_axes(dec):
    """The cell axes with numbers for values and more than one value: those a sign can change along."""
    return [a for a in dec["decision"].dims if a != "comparison" and dec.sizes[a] > 1
            and dec[a].values.dtype.kind in "iuf"]


def runs(x, m):
    """Runs of equal decisions m (meanings) along x: [(meaning, first x, last x, count)]."""
    out = []
    for xi, mi in zip(x, m):
        if out and out[-1][0] == mi:
            out[-1] = (mi, out[-1][1], xi, out[-1][3] + 1)
        else:
            out.append((mi, xi, xi, 1))
    return out


def changes(x, m):
    """The sign changes along x: from each decided 'helps' (or 'hurts') to the next decided
    opposite, with the values between them (undecided, equivalent, no data): the band where the
    change lies. [{"from", "to", "after", "before", "between": [x, ...]}]; nothing is inferred
    from means."""
    out, last = [], None
    for i, mi in enumerate(m):
        if mi not in ("helps", "hurts"):
            continue
        if last is not None and m[last] != mi:
            out.append({"from": m[last], "to": mi, "after": x[last], "before": x[i], "between": list(x[last + 1:i])})
        last = i
    return out


def boundaries(dec, along, comparison=None):
    """Per comparison and line of cells along the ordered axis `along` (each combination of the
    other cell axes): the decisions in ascending order of `along` and where the sign changes. A
    pandas.DataFrame with columns comparison, the other axes, values (of `along`), decisions
    (MEANINGS, or "no data" where the cell has no decision to state: no seed finished, or a
    boundary map neither ran nor inferred it), sources (per value: "measured", "inferred" or
    "unknown"), given_up (per value: an undecided cell given up as futile), runs and changes (see
    runs() and changes(): measured and inferred decisions alike). dec: decisions() (or decide()
    with a comparison dimension)."""
    others = [a for a in dec["decision"].dims if a not in (along, "comparison")]
    comps = [comparison] if comparison else [str(c) for c in dec["comparison"].values]
    x = dec[along].values
    order = np.argsort(x, kind="stable")
    xs = [R._py(v) for v in x[order]]
    rows = []
    for c in comps:
        one = dec.sel(comparison=c).transpose(*others, along)
        st = states(one)
        src = one["decision_source"].values if "decision_source" in one else np.full(st.shape, MEASURED)
        for pos in np.ndindex(*st.shape[:-1]):
            said = list(st[pos][order])
            m = ["undecided" if v == "given up" else v for v in said]
            row = {"comparison": c}
            row.update({a: R._py(dec[a].values[i]) for a, i in zip(others, pos)})
            where = ["unknown" if v == "no data" else SOURCES[int(k)] for k, v in zip(src[pos][order], said)]
            row.update(values=xs, decisions=m, sources=where, given_up=[v == "given up" for v in said],
                       runs=runs(xs, m), changes=changes(xs, m))
            rows.append(row)
    return pd.DataFrame(rows)
