"""The headline: sentences (HTML) computed from the data that say where
transfer helps and where it hurts, which tuning value is best, what failed,
how often transfer is negative, and how well each label-free score would
have chosen lambda."""
import html

import numpy as np

from .. import results as R
from .names import pct, signed


def headline(ctx):
    """Sentences (HTML) that say what the sweep found, computed from the data."""
    ds, n_, info = ctx.ds, ctx.names, ctx.info
    n, done, failed, pending = info["counts"]
    if done == 0:
        return nothing_finished(ctx)
    tun = ", ".join(n_.setting(a, ds[a].values[i]) for a, i in ctx.tuning.items() if ds.sizes[a] > 1)
    lead = (f"From the {done} finished configurations" + (f" (of {n}: partial)" if pending else "")
            + (f", at the best {tun}" if tun else "") + ": ")
    if "shift" in ctx.lay.vary and ctx.cross is not None:
        out = [lead + "; ".join(crossings(ctx)) + "."]
    else:
        out = [gains(ctx, lead)]
    out += best_sentences(ctx)
    if failed:
        bad = [f"{n_.short(m)} in {f}" for m, (d, f) in info["methods"].items() if f]
        out.append(f"{failed} configuration{'s' if failed > 1 else ''} failed"
                   + (f" ({', '.join(bad)})" if bad else "") + f"; most often: <i>{html.escape(info['top_reason'])}</i> "
                   "(listed below).")
    neg = info["negative"]
    if neg["pairs"]:
        s = (f"<b>Negative transfer</b> ({n_.short(ctx.trans)} below {n_.short(ctx.base)}) in "
             f"<b>{pct(neg['share'])}</b> of the {neg['pairs']} configurations where both finished")
        if neg.get("pairs_best") and tun:
            s += f"; {pct(neg['share_best'])} of {neg['pairs_best']} at the best {tun}"
        out.append(s + ".")
    if ctx.lay.notes:
        out.append("Extra axes: the figures show " + html.escape(ctx.lay.selection_text()) + ".")
    return out


def nothing_finished(ctx):
    n_, info = ctx.names, ctx.info
    n, done, failed, pending = info["counts"]
    out = []
    why = " and ".join(x for x in (f"{failed} failed" if failed else "", f"{pending} pending" if pending else "") if x)
    out.append(f"<b>No configuration is finished</b> (0 of {n} done: {why}), so there is nothing to conclude yet.")
    if failed:
        out.append(f"The most frequent reason for failing: <i>{html.escape(info['top_reason'])}</i>.")
    ran = [m for m, (d, f) in info["methods"].items() if d]
    if ran:
        out.append("What did run: " + ", ".join(f"{n_.short(m)} in {info['methods'][m][0]} configurations"
                                               for m in ran) + " (the accuracy figure shows them).")
    return out


def crossings(ctx):
    """Per n_target: up to which shift transfer beats the baseline."""
    ds, n_ = ctx.ds, ctx.names
    short_t, short_b = n_.short(ctx.trans), n_.short(ctx.base)
    parts = []
    for k in range(ds.sizes["n_target"]):
        c = ctx.cross_row(k)
        nt = ds["n_target"].values[k]
        who = f"with n_target = {nt}" if ds.sizes["n_target"] > 1 else f"with {nt} labelled target points"
        if c is None or c["kind"] == "no data":
            parts.append(f"{who}: no finished pair of {short_t} and {short_b}")
        elif c["kind"] == "crosses":
            parts.append(f"{who}, {short_t} beats {short_b} up to a shift of about "
                         f"<b>{n_.shift_text(c['crossover'])}</b> and hurts beyond it ({n_.interval_text(c)})")
        else:
            verb = f"beats {short_b}" if c["kind"] == "helps everywhere" else f"is below {short_b}"
            iv = f"; {n_.interval_text(c)}" if c["n_points"] > 1 else ""
            parts.append(f"{who}, {short_t} <b>{verb} {covered(ctx, c)}{iv})")
    return parts


def covered(ctx, c):
    """"at every shift ..." for a crossover row: all of the grid, or (partial) those with data."""
    ds, n_ = ctx.ds, ctx.names
    a, b = n_.fmt("shift", c["data_first"]), n_.fmt("shift", c["data_last"])
    if c["n_points"] == ds.sizes["shift"]:
        return f"at every shift swept</b> ({a}–{b}"
    if c["n_points"] == 1:
        return (f"at the only shift finished so far</b> ({a}, of {n_.fmt('shift', c['first'])}–"
                f"{n_.fmt('shift', c['last'])}")
    return (f"at every shift finished so far</b> ({c['n_points']} of {ds.sizes['shift']}: {a}–{b}, of "
            f"{n_.fmt('shift', c['first'])}–{n_.fmt('shift', c['last'])}")


def gains(ctx, lead):
    """Without a shift axis to cross: whether transfer helps in each cell."""
    n_, gcol = ctx.names, ctx.gcol
    sub = ctx.cube.isel({k: v for k, v in ctx.tuning.items() if k in ctx.cube.dims})
    parts = []
    fixed = [a for a in sub[gcol].dims if sub.sizes[a] == 1]
    if fixed:
        lead += "at " + ", ".join(n_.setting(a, sub[a].values[0]) for a in fixed) + ", "
    for idx in np.ndindex(*[sub.sizes[a] for a in sub[gcol].dims]):
        d = dict(zip(sub[gcol].dims, idx))
        g, h = float(sub[gcol].isel(d)), float(sub[f"{gcol}_ci95"].isel(d))
        where = ", ".join(n_.setting(a, sub[a].values[i]) for a, i in d.items() if a not in fixed) or "the only cell"
        if not np.isfinite(g):
            parts.append(f"at {where}: no finished pair")
        elif np.isfinite(h) and g - h > 0:
            parts.append(f"at {where} it <b>helps</b> ({signed(g)} ± {h:.3f})")
        elif np.isfinite(h) and g + h < 0:
            parts.append(f"at {where} it <b>hurts</b> ({signed(g)} ± {h:.3f})")
        else:
            parts.append(f"at {where} it makes no clear difference ({signed(g)}"
                         + (f" ± {h:.3f})" if np.isfinite(h) else ", one seed)"))
    return lead + f"{n_.short(ctx.trans)} against {n_.short(ctx.base)}: " + "; ".join(parts) + "."


def best_sentences(ctx):
    """Per tuning axis that varies: its best value and how much lower the others are."""
    ds, n_ = ctx.ds, ctx.names
    out = []
    for a, b in ctx.best.items():
        if ds.sizes[a] < 2 or not np.isfinite(b["accuracy"].iloc[0]):
            continue
        first = b.index[0]
        rest = ", ".join(f"{n_.setting(a, v)} is {abs(r['diff_to_best']):.3f} lower"
                         + (f" (± {r['diff_to_best_ci95']:.3f})" if np.isfinite(r["diff_to_best_ci95"]) else "")
                         for v, r in b.iloc[1:].iterrows() if np.isfinite(r["accuracy"]))
        out.append(f"Best {n_.axis_name(a)} for {n_.short(ctx.trans)}: <b>{n_.setting(a, first)}</b>, mean accuracy "
                   f"{b['accuracy'].iloc[0]:.3f} over the {int(b['configurations'].iloc[0])} configurations "
                   f"where every {n_.axis_name(a)} finished" + (f"; {rest} (paired, 95% CI over seeds)." if rest else "."))
    return out


def negative_info(ds, tuning):
    base, trans = R.roles(ds)
    a, b = R.accuracy(ds, trans), R.accuracy(ds, base)
    both = np.isfinite(a) & np.isfinite(b)
    res = {"pairs": int(both.sum()), "share": float(((a < b) & both).sum() / max(int(both.sum()), 1))}
    sel = {k: v for k, v in tuning.items() if ds.sizes[k] > 1}
    if sel:
        bb = both.isel(sel)
        res["pairs_best"] = int(bb.sum())
        res["share_best"] = float(((a < b).isel(sel) & bb).sum() / max(int(bb.sum()), 1))
    return res


def selection_sentences(ctx, overall, over):
    """One sentence per score (HTML): its mean regret, its gain over never
    adapting, and where it does worst; then never adapting itself."""
    n_ = ctx.names
    out = []
    ref = R.REFERENCE.get(over)
    ref_txt = f"{n_.axis_name(over)} = {ref:g}" if isinstance(ref, float) else f"{n_.axis_name(over)} = {ref}"

    def pm(v, h):
        return signed(v) + (f" ± {h:.3f}" if h is not None else "")
    for n, o in overall.items():
        if n == "oracle" or o["regret"] is None:
            continue
        where = ""
        if o.get("worst_cell"):
            where = "; worst at " + ", ".join(n_.setting(a, v) for a, v in o["worst_cell"].items()) \
                + f" ({o['worst_regret']:.3f})"
        if n == "reference":
            out.append(f"<b>Never adapting</b> ({ref_txt} always) loses <b>{o['regret']:.3f}</b>"
                       + (f" ± {o['regret_ci95']:.3f}" if o["regret_ci95"] is not None else "")
                       + f" to the oracle{where}.")
            continue
        gain = (f"; against {ref_txt} {pm(o['gain'], o['gain_ci95'])}"
                f" (below it in {pct(o['share_below_reference'])} of the cells × seeds)"
                if o["gain"] is not None and o["share_below_reference"] is not None else "")
        out.append(f"Choosing {n_.axis_name(over)} by <b>{html.escape(str(n_.score(n)))}</b>: regret "
                   f"<b>{o['regret']:.3f}</b>" + (f" ± {o['regret_ci95']:.3f}" if o["regret_ci95"] is not None else "")
                   + f" (oracle − picked accuracy, mean over the cells, 95% CI over {o['n_seeds']} seeds){gain}{where}.")
    return out
