"""Decisions per cell: in this cell of the grid, does approach A help or hurt against B?

A cell is a point of the grid without its seed axis; a comparison A:B asks about the paired
differences D_s = acc_A(s) - acc_B(s) of its seeds (both approaches see the same draws). The
seeds are taken in the file's seed order; after every round of `round` differences a
confidence sequence (CS) for the mean of D, valid at every check at once (exactly for the
betting CS, as the seeds grow for the asymptotic one), is checked, and the comparison is
decided -- and frozen -- as soon as the CS lies above 0 (A helps), below 0 (A hurts) or inside
(-delta, delta) (equivalent); otherwise it stays undecided. This is what the run does cell by
cell in `decide.mode: sequential` (src/cells.c, src/decide.c): on a file of that mode,
decide() gives the file's own decisions; on a plain grid it gives the CS at the grid's fixed
seeds, the same rule stopped at the seeds there are.

    decide(ds, "mmd", "target_mlp")    # per cell: decision, cs_low, cs_high, seeds_used, ...
    decisions(ds)                      # every comparison the file asks about (decide.compare)
    boundaries(decisions(ds), "shift") # per line along an ordered axis: where the sign changes

The constructions (docs/decisions-study.md says which serves the default and why):
  betting     Waudby-Smith & Ramdas, "Estimating means of bounded random variables by betting"
              (JRSS-B 2023): on X = (D + 1)/2, predictable plug-in bets truncated at c/m and
              c/(1 - m), the hedged capital max(K+, K-) with theta = 1/2, the CS {m : capital
              < 1/alpha}, each end by bisection. Valid at every check at once.
  asymptotic  Waudby-Smith et al. (2021), time-uniform CLT: mean +- sd * the Robbins
              normal-mixture margin, tightest near t_opt differences.
Both are running intersections over the checks. Pending configurations (status 0) and those
never run (3, not needed) end a cell's seeds; a seed where A or B has no accuracy (a failed
method) is skipped: it counts as a seed the cell took but gives no difference. The sums run in
seed order, as in the C module, so the bounds agree with the file's to rounding.
"""
import math
import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import xarray as xr

from . import results as R
from .tables import file_name

UNDECIDED, HELPS, HURTS, EQUIVALENT = 0, 1, 2, 3
MEANINGS = ("undecided", "helps", "hurts", "equivalent")
NOT_NEEDED = 3  # the status of a configuration a stopped cell never ran
THETA = 0.5  # the hedge between the two capital processes
BISECT_STEPS = 64  # the bracket on [0, 1] stops shrinking after about 53 steps
MIN_SEEDS_FOR_INTERVAL = 5  # fewer seeds than this: an interval is flagged wherever it is shown
ROUND = 5  # decide.round's default, for files written before the decide keys
CELL_VARS = ("decision", "cs_low", "cs_high", "mean_diff", "evalue", "seeds_used", "stop_round")


@dataclass(frozen=True)
class Rule:
    """A construction: which CS decides the signs and which equivalence ('betting' or
    'asymptotic'); c, the betting truncation in (0, 1); t_opt > 0 and var_floor >= 0 (D^2 units),
    the asymptotic CS's tuning; no decision before min_seeds differences, no 'equivalent' before
    min_seeds_eq."""
    sign: str
    equiv: str
    c: float
    t_opt: float
    var_floor: float
    min_seeds: int
    min_seeds_eq: int

    def text(self):
        return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in asdict(self).items())


# tls_decide_rule_default (src/decide.c), the rule the sequential runs decide with: one line here,
# checked against the C default by tests/test_decide_analysis.py
DEFAULT = Rule(sign="asymptotic", equiv="asymptotic", c=0.5, t_opt=20.0, var_floor=0.0, min_seeds=0, min_seeds_eq=0)
# what each construction is, in words (the report names the one that decided)
CS_WORDS = {"betting": "anytime-valid betting confidence sequence (Waudby-Smith & Ramdas 2023)",
            "asymptotic": "time-uniform asymptotic confidence sequence (Waudby-Smith et al. 2021: valid as the "
                          "seeds grow, not at a handful)"}
# tls_decide_rule_exact: the betting CS for every decision, no guards
EXACT = Rule(sign="betting", equiv="betting", c=0.5, t_opt=DEFAULT.t_opt, var_floor=DEFAULT.var_floor, min_seeds=0,
             min_seeds_eq=0)


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


def _asymptotic(d, alpha, t_opt, var_floor):
    """The asymptotic CS (low, high) of each row of d (rows, t), clipped to [-1, 1], and the mean."""
    t = d.shape[1]
    mean = np.cumsum(d, axis=1)[:, -1] / t
    e = d - mean[:, None]
    var = np.maximum(np.cumsum(e * e, axis=1)[:, -1] / t, var_floor)
    L = math.log(1.0 / alpha)
    rho2 = (2.0 * L + math.log(1.0 + 2.0 * L)) / t_opt
    a = t * rho2 + 1.0
    half = np.sqrt(var) * math.sqrt(2.0 * a / (float(t) * t * rho2) * math.log(math.sqrt(a) / alpha))
    return np.maximum(mean - half, -1.0), np.minimum(mean + half, 1.0), mean


def streams(d, ran=None, alpha=0.05, delta=0.01, round=ROUND, max_seeds=None, rule=DEFAULT):
    """Decides every row of d (cells, seeds): the differences D in seed order, NaN where a seed
    gives none (skipped). ran (cells, seeds), default all True: whether the seed's configuration
    ran; a cell's seeds end at its first one that did not. max_seeds: the budget (default: the
    seeds given), also a check. Returns a dict of arrays per cell: decision (MEANINGS), cs_low,
    cs_high (the sign CS at the check that decided, or the last; [-1, 1] before any), mean_diff
    (NaN before any check), evalue (1 before any), seeds_used (the cell's seeds at the check that
    decided, or all it took), checked (differences at that check), decided_at (0: undecided)."""
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
    out = dict(decision=np.zeros(S, np.int8), cs_low=np.full(S, -1.0), cs_high=np.ones(S), mean_diff=np.full(S, np.nan),
               evalue=np.ones(S), checked=np.zeros(S, np.int64), decided_at=np.zeros(S, np.int64))
    ex_lo, ex_hi, as_lo, as_hi = np.full(S, -1.0), np.ones(S), np.full(S, -1.0), np.ones(S)
    for t in check_times(round, max_seeds):
        live = npush >= t
        if not live.any():
            break
        rows = np.flatnonzero(live & (out["decision"] == UNDECIDED))
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
        a_lo, a_hi, mean = _asymptotic(dd, alpha, rule.t_opt, rule.var_floor)
        as_lo[rows], as_hi[rows] = np.maximum(as_lo[rows], a_lo), np.minimum(as_hi[rows], a_hi)
        s_lo, s_hi = (ex_lo, ex_hi) if rule.sign == "betting" else (as_lo, as_hi)
        e_lo, e_hi = (ex_lo, ex_hi) if rule.equiv == "betting" else (as_lo, as_hi)
        out["cs_low"][rows], out["cs_high"][rows] = s_lo[rows], s_hi[rows]
        out["mean_diff"][rows], out["checked"][rows] = mean, t
        out["evalue"][rows] = THETA * np.exp(lp) + (1.0 - THETA) * np.exp(lm)
        if t < rule.min_seeds:
            continue
        new = np.where(s_lo[rows] > 0.0, HELPS, np.where(s_hi[rows] < 0.0, HURTS, UNDECIDED))
        eq = (e_lo[rows] > -delta) & (e_hi[rows] < delta) & (t >= rule.min_seeds_eq)
        new = np.where((new == UNDECIDED) & eq, EQUIVALENT, new)
        out["decision"][rows] = new
        out["decided_at"][rows] = np.where(new != UNDECIDED, t, 0)
    decided = out["decided_at"] > 0
    at = np.maximum(out["decided_at"], 1) - 1
    out["seeds_used"] = np.where(decided, seed_at[np.arange(S), at], taken).astype(np.int64)
    return out


# ---------------------------------------------------------------- a file's settings

def settings(ds):
    """The file's decide section (config_yaml) as a dict: mode ('grid' for files from before the
    keys), compare [(A, B), ...], alpha, delta, round, max_seeds (absent keys left out)."""
    text = str(R.load(ds).attrs.get("config_yaml", "")) + "\n"
    m = re.search(r"^decide:[ \t]*\n((?:[ \t]+.*\n)*)", text, re.M)
    out = {"mode": "grid"}
    if not m:
        return out
    for line in m.group(1).splitlines():
        k, _, v = line.strip().partition(":")
        v = v.strip()
        if k == "mode":
            out["mode"] = v
        elif k == "compare":
            out["compare"] = [tuple(p.strip().split(":")) for p in v.strip("[]").split(",") if ":" in p]
        elif k in ("alpha", "delta"):
            out[k] = float(v)
        elif k in ("round", "max_seeds"):
            out[k] = int(v)
    return out


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


def decide(ds, a, b, alpha=0.05, delta=0.01, round=None, rule=DEFAULT):
    """Per cell (the grid's axes but seed), whether approach a helps or hurts against b, from the
    paired differences acc_a - acc_b of the cell's seeds in order (see the module's text).
    ds: a path or a loaded dataset; a, b: approaches of the file (results.approaches; the tables'
    name transfer reads as the file's mmd, and the comparison is named in the file's names). round:
    differences per round (None: the file's decide.round, else 5); the budget is the file's seed
    axis. Returns an xarray.Dataset over the cell axes: decision (int8; 0 undecided, 1 helps,
    2 hurts, 3 equivalent), cs_low, cs_high, seeds_used (int32), mean_diff, evalue, stop_round
    (int32), with the comparison "a:b", alpha, delta, round, max_seeds and the rule as
    attributes. On a file of decide.mode sequential, with its alpha, delta and round and the
    rule it ran with, these are the file's own variables; on a grid, the CS at its seeds."""
    ds = R.load(ds)
    have = R.approaches(ds)
    a, b = file_name(a), file_name(b)
    for m in (a, b):
        if m not in have:
            raise KeyError(f"{m!r} is not an approach of the file; allowed: {', '.join(have)}")
    if "seed" not in ds["status"].dims:
        raise ValueError("the file has no seed axis (a part's list of configurations?): merge the parts first")
    if not (0.0 < alpha < 1.0 and 0.0 <= delta < 1.0):
        raise ValueError(f"alpha={alpha}, delta={delta}; allowed: 0 < alpha < 1, 0 <= delta < 1")
    if round is None:
        round = settings(ds).get("round", ROUND)
    if int(round) < 1:
        raise ValueError(f"round={round}; allowed: an integer >= 1")
    cells = R.cell_axes(ds)
    diff = (ds[f"acc_{a}"] - ds[f"acc_{b}"]).transpose(*cells, "seed")
    ran = _ran(ds).transpose(*cells, "seed")
    shape = [ds.sizes[c] for c in cells]
    n = ds.sizes["seed"]
    res = streams(diff.values.reshape(-1, n), ran.values.reshape(-1, n), alpha, delta, int(round), n, rule)
    coords = {c: ds[c] for c in cells}
    out = xr.Dataset(coords=coords)
    kinds = {"decision": np.int8, "seeds_used": np.int32}
    for k in CELL_VARS[:-1]:
        out[k] = (cells, res[k].reshape(shape).astype(kinds.get(k, float)))
    out["stop_round"] = (cells, ((res["seeds_used"] + int(round) - 1) // int(round)).reshape(shape).astype(np.int32))
    out["decision"].attrs.update(flag_values=np.arange(4, dtype=np.int8), flag_meanings=" ".join(MEANINGS))
    out.attrs.update(comparison=f"{a}:{b}", alpha=alpha, delta=delta, round=int(round), max_seeds=n, rule=rule.text())
    return out


def decisions(ds, compare=None, alpha=None, delta=None, round=None, rule=DEFAULT):
    """Every comparison's decisions per cell, with a `comparison` dimension ("A:B") after the
    cell axes: variables CELL_VARS. In the decide modes, unless compare, alpha, delta or round is
    given, they are the file's own (the run's); otherwise decide() of each comparison (compare:
    pairs (A, B) or "A:B"; default comparisons(ds)) at the file's alpha, delta and round unless
    given. attrs: source ("file" or "computed"), mode, alpha, delta, round, max_seeds (the seed
    axis), rule (its text), sign_cs and equiv_cs (the constructions: CS_WORDS); a file's rule is
    the C default the run decided with, which is DEFAULT."""
    ds = R.load(ds)
    s = settings(ds)
    own = (s["mode"] != "grid" and "decision" in ds and "comparison" in ds.dims
           and compare is None and alpha is None and delta is None and round is None)
    alpha = s.get("alpha", 0.05) if alpha is None else alpha
    delta = s.get("delta", 0.01) if delta is None else delta
    round = s.get("round", ROUND) if round is None else round
    attrs = dict(mode=s["mode"], alpha=alpha, delta=delta, round=int(round), max_seeds=ds.sizes["seed"])
    cells = R.cell_axes(ds)
    if own:
        out = ds[[v for v in CELL_VARS if v in ds]].transpose(*cells, "comparison")
        out = out.assign_coords(comparison=[R._str(c) for c in ds["comparison"].values])
        out["decision"] = out["decision"].fillna(UNDECIDED).astype(np.int8)
        for k in ("seeds_used", "stop_round"):
            if k in out:
                out[k] = out[k].fillna(0).astype(np.int32)
        out.attrs = dict(attrs, source="file", rule=DEFAULT.text(), sign_cs=DEFAULT.sign, equiv_cs=DEFAULT.equiv)
        return out
    pairs = [tuple(map(file_name, p.split(":") if isinstance(p, str) else p)) for p in (compare or comparisons(ds))]
    parts = [decide(ds, a, b, alpha, delta, round, rule) for a, b in pairs]
    if not parts:
        return None
    out = xr.concat(parts, dim=pd.Index([f"{a}:{b}" for a, b in pairs], name="comparison"),
                    combine_attrs="drop").transpose(*cells, "comparison")
    out["decision"].attrs.update(parts[0]["decision"].attrs)
    out.attrs = dict(attrs, source="computed", rule=rule.text(), sign_cs=rule.sign, equiv_cs=rule.equiv)
    return out


def tally(dec):
    """Per comparison: {"helps": n, "hurts": n, "equivalent": n, "undecided": n, "cells": n}."""
    res = {}
    for c in dec["comparison"].values:
        v = dec["decision"].sel(comparison=c).values.ravel()
        res[str(c)] = {name: int((v == k).sum()) for k, name in enumerate(MEANINGS)} | {"cells": int(v.size)}
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
    (MEANINGS, or "no data" where the cell has no seed yet), runs and changes (see runs() and
    changes()). dec: decisions() (or decide() with a comparison dimension)."""
    others = [a for a in dec["decision"].dims if a not in (along, "comparison")]
    comps = [comparison] if comparison else [str(c) for c in dec["comparison"].values]
    x = dec[along].values
    order = np.argsort(x, kind="stable")
    xs = [R._py(v) for v in x[order]]
    rows = []
    for c in comps:
        one = dec.sel(comparison=c).transpose(*others, along)
        code = one["decision"].values.astype(int)
        if "seeds_used" in one:
            code = np.where(one["seeds_used"].values > 0, code, -1)
        for pos in np.ndindex(*code.shape[:-1]):
            m = [MEANINGS[v] if v >= 0 else "no data" for v in code[pos][order]]
            row = {"comparison": c}
            row.update({a: R._py(dec[a].values[i]) for a, i in zip(others, pos)})
            row.update(values=xs, decisions=m, runs=runs(xs, m), changes=changes(xs, m))
            rows.append(row)
    return pd.DataFrame(rows)
