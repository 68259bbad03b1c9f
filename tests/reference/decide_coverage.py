"""Coverage of the decision constructions on simulated streams of paired differences D in [-1, 1].

Three shape families, each at several settings, every setting with its own streams:
  bounded   D = 2 B - 1, B ~ Beta(a, b): continuous, from U-shaped to concentrated
  bimodal   a flat part (a discretised normal near +0.01, sd 0.01, on the 1/200 grid) plus rare
            collapses: with probability p the seed's D is the flat value - 0.5 (p = 1% .. 10%);
            the mean 0.01 - 0.5 p crosses 0 and +-delta as p grows; and the same with the flat
            part at 0 (mean -0.5 p: outside +-delta for p > 2%, while a run without a collapse
            looks equivalent)
  discrete  D = (K_A - K_B) / 200 with K ~ Binomial(200, p_A), Binomial(200, p_B) (independent
            test-set noise), and a narrow pmf on {-0.01, ..., +0.01} (paired, nearly flat)
The true mean of each setting is exact (the pmf's mean, or 2a/(a+b) - 1).

For each setting: the share of streams in which a CS ever excludes the true mean at a check
(after every round of 5 seeds, up to 100) -- for the betting CS it must be <= alpha --
and, for each candidate decision rule (CANDIDATES), the share of streams decided wrongly
(helps with mu <= 0, hurts with mu >= 0, equivalent with |mu| >= delta), the share decided and
the mean seeds used.

    /usr/bin/python3 tests/reference/decide_coverage.py            # short: 10 000 streams per setting
    /usr/bin/python3 tests/reference/decide_coverage.py --long     # 100 000 per setting, more settings
    /usr/bin/python3 tests/reference/decide_coverage.py --streams 20000 --markdown
"""
import argparse
import dataclasses
import math
import os
import sys
import time

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decide_reference as R  # noqa: E402

ALPHA, DELTA, ROUND, MAX_SEEDS = 0.05, 0.01, 5, 100
GRID = np.arange(-200, 201) / 200.0  # D on the 1/n_test grid, n_test = 200

# Candidate constructions (docs/decisions-study.md discusses each). "now": the asymptotic CS
# of each check alone (no running intersection); floor: variance floor (sd); fut: futility.
RECOMMENDED = R.Rule(sign="betting", equiv="betting", c=0.9, t_opt=20, var_floor=0.01 ** 2,
                     asym_running=False, futility=20, futility_z=2.0)  # tls_decide_rule_default
ASYMPTOTIC = dataclasses.replace(RECOMMENDED, sign="asymptotic", equiv="asymptotic")  # the opt-in
CANDIDATES = {
    "exact c=0.5": R.Rule(sign="betting", equiv="betting", c=0.5),
    "exact c=0.75": R.Rule(sign="betting", equiv="betting", c=0.75),
    "exact c=0.9": R.Rule(sign="betting", equiv="betting", c=0.9),
    "exact c=0.9 fut (recommended)": RECOMMENDED,
    "asymptotic": R.Rule(sign="asymptotic", equiv="asymptotic", t_opt=20),
    "asymptotic min10": R.Rule(sign="asymptotic", equiv="asymptotic", t_opt=20, min_seeds=10),
    "asymptotic eq>=50": R.Rule(sign="asymptotic", equiv="asymptotic", t_opt=20, min_seeds_eq=50),
    "asymptotic floor0.02": R.Rule(sign="asymptotic", equiv="asymptotic", t_opt=20, var_floor=0.02 ** 2),
    "asym signs + exact eq": R.Rule(sign="asymptotic", equiv="betting", c=0.9, t_opt=20),
    "exact signs + asym eq now eq>=30 floor0.01 fut": dataclasses.replace(RECOMMENDED, equiv="asymptotic",
                                                                          min_seeds_eq=30),
    "asymptotic now floor0.01 fut (opt-in)": ASYMPTOTIC,
}


def grid_candidates():
    """The wider family the study scans: the CS deciding signs (E: exact, c = 0.9; A:
    asymptotic) / the CS deciding equivalence; 'now': the asymptotic CS without running
    intersection; seeds before any decision and before 'equivalent'; a variance floor (sd)."""
    out = {}
    for sign, equiv in (("betting", "asymptotic"), ("asymptotic", "betting"), ("asymptotic", "asymptotic")):
        for running in (True, False):
            for min_all, eq_after in ((0, 0), (0, 30), (0, 50), (10, 30), (20, 50)):
                for floor in (0.0, 0.01, 0.02):
                    if equiv == "betting" and eq_after:
                        continue
                    if sign == "betting" and min_all:
                        continue
                    name = (f"{'E' if sign == 'betting' else 'A'}/{'E' if equiv == 'betting' else 'A'}"
                            + ("" if running else " now") + (f" min{min_all}" if min_all else "")
                            + (f" eq>={eq_after}" if eq_after else "") + (f" floor{floor}" if floor else ""))
                    out[name] = R.Rule(sign=sign, equiv=equiv, c=0.9, t_opt=20, var_floor=floor ** 2,
                                       min_seeds=min_all, min_seeds_eq=eq_after, asym_running=running)
    # futility stops (no decision reachable by max_seeds) on the main contenders
    base = {
        "E": R.Rule(sign="betting", equiv="betting", c=0.9),
        "E/A now eq>=30 floor0.01": R.Rule(sign="betting", equiv="asymptotic", c=0.9, var_floor=1e-4,
                                           min_seeds_eq=30, asym_running=False),
        "E/A now eq>=50 floor0.01": R.Rule(sign="betting", equiv="asymptotic", c=0.9, var_floor=1e-4,
                                           min_seeds_eq=50, asym_running=False),
        "A/A now floor0.01": R.Rule(sign="asymptotic", equiv="asymptotic", c=0.9, var_floor=1e-4,
                                    asym_running=False),
        "A/A now min10 eq>=30 floor0.01": R.Rule(sign="asymptotic", equiv="asymptotic", c=0.9,
                                                 var_floor=1e-4, min_seeds=10, min_seeds_eq=30,
                                                 asym_running=False),
    }
    for name, rule in base.items():
        for start, z in ((20, 2.0), (20, 3.0), (30, 2.0)):
            out[f"{name} fut{start} z{z:g}"] = dataclasses.replace(rule, futility=start, futility_z=z)
    return out


# ---------------------------------------------------------------- shapes

def _grid_sampler(pmf):
    pmf = np.asarray(pmf, dtype=float)
    pmf = pmf / pmf.sum()
    cdf = np.cumsum(pmf)
    cdf[-1] = 1.0
    mu = float(np.dot(pmf, GRID))

    def sample(rng, S, T):
        return GRID[np.searchsorted(cdf, rng.random((S, T)), side="right")]
    return sample, mu


def _discretised_normal(mean, sd):
    edges = (np.arange(-200, 202) - 0.5) / 200.0
    p = np.diff(stats.norm.cdf(edges, loc=mean, scale=sd))
    return p / p.sum()


def bimodal(p, flat=0.01, sd=0.01, drop=0.5):
    base = _discretised_normal(flat, sd)
    shift = int(round(drop * 200))
    pmf = (1.0 - p) * base
    pmf[:-shift] += p * base[shift:]  # the flat value minus drop
    return _grid_sampler(pmf)


def binomial_difference(pa, pb, n=200):
    ka = stats.binom.pmf(np.arange(n + 1), n, pa)
    kb = stats.binom.pmf(np.arange(n + 1), n, pb)
    pmf = np.convolve(ka, kb[::-1])  # index i: K_A - K_B = i - n
    return _grid_sampler(pmf)


def narrow(probs):
    """probs on D = -0.01, -0.005, 0, 0.005, 0.01."""
    pmf = np.zeros(GRID.size)
    pmf[198:203] = probs
    return _grid_sampler(pmf)


def beta(a, b):
    def sample(rng, S, T):
        return 2.0 * rng.beta(a, b, (S, T)) - 1.0
    return sample, 2.0 * a / (a + b) - 1.0


def shapes(long=False):
    """[(family, name, sampler, mu)]"""
    out = []
    betas = [(1, 1), (0.5, 0.5), (20, 18), (2, 8)] + ([(200, 199), (1, 30)] if long else [])
    for a, b in betas:
        out.append(("bounded", f"beta({a},{b})", *beta(a, b)))
    ps = [0.01, 0.02, 0.05, 0.10] + ([0.03, 0.04, 0.07] if long else [])
    for p in ps:
        out.append(("bimodal", f"collapse p={p:.2f}", *bimodal(p)))
    # a flat part at 0: a run without a collapse looks equivalent while mu is outside +-delta
    for p in [0.03, 0.05] + ([0.04, 0.07, 0.10] if long else []):
        out.append(("bimodal", f"flat 0, collapse p={p:.2f}", *bimodal(p, flat=0.0)))
    pairs = [(0.80, 0.80), (0.85, 0.80)] + ([(0.60, 0.62), (0.95, 0.94)] if long else [])
    for pa, pb in pairs:
        out.append(("discrete", f"binomial {pa:.2f}-{pb:.2f}", *binomial_difference(pa, pb)))
    out.append(("discrete", "narrow 1/200 steps", *narrow([0.05, 0.2, 0.5, 0.2, 0.05])))
    if long:
        out.append(("discrete", "narrow skewed", *narrow([0.02, 0.08, 0.5, 0.3, 0.1])))
    return out


# ---------------------------------------------------------------- measures

def checks():
    return np.array(R.check_times(ROUND, MAX_SEEDS))


def betting_miss(d, mu, c):
    """Share of streams in which the betting CS ever excludes mu at a check."""
    below, above = R.betting_excluded(d, (mu + 1.0) / 2.0, ALPHA, c, checks())
    return float((below[:, -1] | above[:, -1]).mean())


def asymptotic_miss(d, mu, t_opt=20, var_floor=0.0, first=0):
    """Share of streams in which the asymptotic CS ever excludes mu at a check >= first (the
    same with or without running intersection)."""
    ch = checks()
    ch = ch[ch >= first]
    lo, hi = R.asymptotic_running(d, ALPHA, t_opt, var_floor, ch)
    return float(((lo[:, -1] > mu) | (hi[:, -1] < mu)).mean())


def wrong(decision, mu):
    return (((decision == R.HELPS) & (mu <= 0)) | ((decision == R.HURTS) & (mu >= 0))
            | ((decision == R.EQUIVALENT) & (abs(mu) >= DELTA)))


def simulate(streams=10_000, long=False, seed=20231, candidates=CANDIDATES, chunk=20_000):
    """One row per shape setting: dict(family, name, mu, miss_exact (c = 0.5), miss_exact_c09,
    miss_asym, miss_asym_floor (sd floor 0.01), and per candidate: wrong, decided, seeds)."""
    rows = []
    for i, (family, name, sample, mu) in enumerate(shapes(long)):
        rng = np.random.default_rng([seed, i])
        acc = {}
        n_done = 0
        while n_done < streams:
            S = min(chunk, streams - n_done)
            d = sample(rng, S, MAX_SEEDS)
            part = {"miss_exact": betting_miss(d, mu, 0.5), "miss_exact_c09": betting_miss(d, mu, 0.9),
                    "miss_asym": asymptotic_miss(d, mu), "miss_asym_floor": asymptotic_miss(d, mu, var_floor=1e-4)}
            for cname, rule in candidates.items():
                dec, used = R.decisions_fast(d, ALPHA, DELTA, ROUND, MAX_SEEDS, rule)
                part[f"{cname}:wrong"] = float(wrong(dec, mu).mean())
                part[f"{cname}:decided"] = float((dec != R.UNDECIDED).mean())
                part[f"{cname}:seeds"] = float(used.mean())
            for k, v in part.items():
                acc[k] = acc.get(k, 0.0) + v * S
            n_done += S
        row = {k: v / streams for k, v in acc.items()}
        row.update(family=family, name=name, mu=mu, streams=streams)
        rows.append(row)
    return rows


def markdown(rows, candidates=CANDIDATES):
    out = ["| family | setting | mu | betting CS c=0.5 | betting CS c=0.9 | asymptotic CS | asymptotic CS, sd floor 0.01 |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['family']} | {r['name']} | {r['mu']:+.4f} | {r['miss_exact']:.4f} | "
                   f"{r['miss_exact_c09']:.4f} | {r['miss_asym']:.4f} | {r['miss_asym_floor']:.4f} |")
    names = [n for n in candidates if f"{n}:wrong" in rows[0]]
    if not names:
        return "\n".join(out)
    out += ["", "Wrong decisions, share of streams (share decided), per candidate and setting:", ""]
    out.append("| candidate | " + " | ".join(f"{r['name']} ({r['mu']:+.3f})" for r in rows) + " |")
    out.append("|---|" + "---|" * len(rows))
    for n in names:
        out.append(f"| {n} | " + " | ".join(f"{r[n + ':wrong']:.3f} ({r[n + ':decided']:.2f})" for r in rows) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--long", action="store_true", help="100 000 streams per setting and more settings")
    ap.add_argument("--streams", type=int, help="streams per setting (default 10 000, 100 000 with --long)")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    ap.add_argument("--grid", action="store_true", help="also the study's wider family (grid_candidates)")
    ap.add_argument("--match", help="only the candidates whose name contains this")
    args = ap.parse_args()
    streams = args.streams or (100_000 if args.long else 10_000)
    t0 = time.time()
    cands = {**CANDIDATES, **grid_candidates()} if args.grid else CANDIDATES
    if args.match:
        cands = {k: v for k, v in cands.items() if args.match in k}
    rows = simulate(streams, args.long, candidates=cands)
    if args.markdown:
        print(markdown(rows, cands))
    else:
        for r in rows:
            print(f"{r['family']:9s} {r['name']:26s} mu={r['mu']:+.4f}  betting CS miss {r['miss_exact']:.4f}"
                  f" (c=0.9 {r['miss_exact_c09']:.4f})  asymptotic miss {r['miss_asym']:.4f}"
                  f" (sd floor 0.01: {r['miss_asym_floor']:.4f})")
    bad = [r["name"] for r in rows if r["miss_exact"] > ALPHA or r["miss_exact_c09"] > ALPHA]
    print(f"\n{len(rows)} settings x {streams} streams in {time.time() - t0:.1f} s;"
          f" exact CS miss rate > alpha in: {bad or 'none'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
