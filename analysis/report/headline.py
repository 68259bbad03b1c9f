"""The headline: sentences (HTML) computed from the data. They speak in
decisions (analysis.decide): per comparison how many cells help, hurt, are
equivalent or undecided, and along each ordered axis where the decided sign
changes, with the undecided band between -- never a crossover read off
means. Then negative transfer as decided cells, the best value of each
tuning axis (never of a question axis: shift, n_target, data.shift_kind),
what failed, and how well each label-free score would have chosen lambda.
Every interval from fewer than 5 seeds says so."""
import html

import numpy as np

from ..decide import CS_WORDS, INFERRED, MIN_SEEDS_FOR_INTERVAL, changes, runs, states, tally
from .. import results as R
from .names import pct, signed

MIN_SEEDS = MIN_SEEDS_FOR_INTERVAL
# what a line of cells says of each cell (decide.states, and 'not known' for a boundary map's cell without data)
VERB = {"helps": "helps", "hurts": "hurts", "equivalent": "is equivalent", "undecided": "is undecided",
        "given up": "is undecided (given up)", "no data": "has no finished seed", "not known": "is not known (not run)"}
PLURAL = {"helps": "help", "hurts": "hurt", "equivalent": "equivalent", "undecided": "undecided"}
# the cells between the two sides of a sign change, in words
BAND = {"undecided": "undecided", "given up": "given up", "equivalent": "equivalent", "no data": "not known",
        "not known": "not known"}
# where a kind of shift leaves the target as it is, when that is inside the axis rather than at its end: a label
# share of 0.5 is the unshifted prior (both ends are shifts), a scale factor of 1 the unscaled spread
UNSHIFTED = {"label": 0.5, "scale": 1.0}
# what a comparison of the file's default list asks
GLOSS = {("mmd", "target_mlp"): "what the source adds: the same network trained with and without it",
         ("mmd", "scratch"): "the article's comparison: below it is negative transfer"}


def few(n):
    """The flag after "over n seeds" of an interval or a decision from fewer than 5 seeds ('' otherwise)."""
    return f": fewer than {MIN_SEEDS}, a rough interval" if n < MIN_SEEDS else ""


def headline(ctx):
    """Sentences (HTML) that say what the sweep found, computed from the data."""
    n_, info = ctx.names, ctx.info
    n, done, failed, pending = info["counts"]
    if done == 0:
        return nothing_finished(ctx)
    out = [how_decided(ctx)]
    if ctx.dec is not None:
        out += [comparison_sentence(ctx, c) for c in ctx.dec["comparison"].values]
        out += other_axes_sentences(ctx)
        neg = negative_sentence(ctx)
        if neg:
            out.append(neg)
    out += best_sentences(ctx)
    if failed:
        bad = [f"{n_.short(m)} in {f}" for m, (d, f) in info["methods"].items() if f]
        out.append(f"{failed} configuration{'s' if failed > 1 else ''} failed"
                   + (f" ({', '.join(bad)})" if bad else "")
                   + f"; most often: <i>{html.escape(info['top_reason'])}</i> (listed below).")
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


# ---------------------------------------------------------------- decisions

def how_decided(ctx):
    """What a decision is here, from how many seeds, and in a boundary map which cells were measured."""
    n, done, failed, pending = ctx.counts
    dec = ctx.dec
    lead = f"From the {done} finished configurations" + (f" (of {n}: partial)" if pending else "")
    if dec is None:
        return lead + ": no pair of approaches to compare."
    a = dec.attrs
    cells = int(np.prod([dec.sizes[d] for d in dec["decision"].dims if d != "comparison"]))
    what = (f"{lead}, decided per cell (a point of the grid without its seeds: {cells} "
            f"cell{'s' if cells != 1 else ''}) "
            f"from the paired differences of accuracy over the cell's seeds in order: a {100 * (1 - a['alpha']):g}% "
            f"{CS_WORDS[a['sign_cs']]} for their mean (α = {a['alpha']:g} per cell and comparison) above 0 "
            f"<b>helps</b>, below 0 <b>hurts</b>, inside ±{a['delta']:g} is <b>equivalent</b>"
            + (f" (by the {CS_WORDS[a['equiv_cs']]})" if a["equiv_cs"] != a["sign_cs"] else "")
            + ", else <b>undecided</b>"
            + (f"; a comparison still undecided after {a['futility']} seeds is <b>given up</b> (undecided for good) "
               f"when no decision is reachable within {a['max_seeds']} seeds" if a.get("futility") else "") + ". ")
    if a["source"] == "file" and a["mode"] == "boundary":
        what += map_text(ctx)
    elif a["source"] == "file":
        used = dec["seeds_used"].max("comparison").values
        what += (f"The run took seeds cell by cell until each was decided (decide.mode {html.escape(a['mode'])}, "
                 f"rounds of {a['round']}, at most {a['max_seeds']} per cell): {int(used.sum())} trainings of the "
                 f"{cells * a['max_seeds']} of a fixed design at {a['max_seeds']} seeds, {used.mean():.1f} seeds per "
                 "cell on average.")
    else:
        k = seeds_per_cell(ctx)
        what += (f"This grid has {k} seed{'s' if k != 1 else ''} per cell, fixed in advance"
                 + (f": <b>fewer than {MIN_SEEDS}, too few to decide most cells</b>" if k < MIN_SEEDS else "")
                 + "; <code>decide.mode: sequential</code> takes seeds until each cell is decided.")
    if not str(a.get("multiplicity", "none")).startswith("none"):
        what += f" Across cells: {html.escape(a['multiplicity'])}."
    return what


def map_text(ctx):
    """A boundary map's cells: how many were measured, inferred, not known, and the trainings."""
    dec, a = ctx.dec, ctx.dec.attrs
    st = states(dec)
    ci = list(dec["decision"].dims).index("comparison")
    src = dec["decision_source"].values
    known = st != "no data"
    measured = (known & (src != INFERRED)).any(axis=ci)
    inferred = (known & (src == INFERRED)).any(axis=ci) & ~measured
    cells = measured.size
    used = int(dec["seeds_used"].max("comparison").values.sum())
    unknown = cells - int(measured.sum()) - int(inferred.sum())
    return (f"The run mapped where the decisions change (decide.mode boundary, rounds of {a['round']}, at most "
            f"{a['max_seeds']} seeds per cell): it <b>measured {int(measured.sum())} of the {cells} cells</b> "
            f"({used} trainings of the {cells * a['max_seeds']} of a fixed design at {a['max_seeds']} seeds) and "
            f"<b>inferred {int(inferred.sum())}</b> from the measured cells around them (a cell inside a box of the "
            "map whose corners all have one decision takes it: the map assumes no sign change inside such a box)"
            + (f"; {unknown} {'are' if unknown != 1 else 'is'} not known" if unknown else "") + ".")


def seeds_per_cell(ctx):
    """The most seeds any cell has finished (a grid's seed axis, less in a partial file)."""
    ran = (ctx.ds["status"] == R.DONE) | (ctx.ds["status"] == R.FAILED)
    return int(ran.sum("seed").max()) if ran.size else 0


def rough(ctx, what="the intervals", html=True):
    """The flag of intervals over the seeds of cells that have fewer than MIN_SEEDS ('' otherwise): for a
    caption (HTML, bold, after a sentence) or, html False, a figure's title (a line of its own)."""
    k = seeds_per_cell(ctx)
    if k >= MIN_SEEDS:
        return ""
    seeds = f"{k} seed{'s' if k != 1 else ''} per cell at most: fewer than {MIN_SEEDS}"
    if html:
        return f" <b>From {seeds}, {what} are rough.</b>"
    return f"\n({what[:1].upper()}{what[1:]} from {seeds}: rough)"


def comparison_name(ctx, c):
    """'MMD transfer against the target-only MLP' for 'mmd:target_mlp'."""
    a, b = str(c).split(":")
    return f"{ctx.names.short(a)} against {ctx.names.short(b)}"


def setting(ctx, c, ax, v):
    """A line's setting in words; lambda 0 of a comparison with the transfer method is fine-tuning without
    alignment (nothing is aligned), not MMD transfer."""
    s = ctx.names.setting(ax, v)
    if ax == "lambda" and float(v) == 0.0 and ctx.trans in str(c).split(":"):
        s += " (fine-tuning without alignment)"
    return s


def comparison_sentence(ctx, c):
    """Counts of decided cells (measured and inferred), then where the sign changes along the primary ordered
    axis, line by line."""
    k = tally(ctx.dec)[str(c)]
    a, b = str(c).split(":")
    gloss = GLOSS.get((a, b))
    name = comparison_name(ctx, c)
    s = (f"<b>{html.escape(name[:1].upper() + name[1:])}</b>" + (f" ({html.escape(gloss)})" if gloss else "")
         + f": <b>{k['helps']} cell{'s' if k['helps'] != 1 else ''} help{'' if k['helps'] != 1 else 's'}, "
         f"{k['hurts']} hurt{'' if k['hurts'] != 1 else 's'}, {k['equivalent']} equivalent, {k['undecided']} "
         f"undecided</b> (of {k['cells']})")
    if k["inferred"]:
        what = ", ".join(f"{k['inferred_' + m]} {PLURAL[m]}" for m in PLURAL if k["inferred_" + m])
        s += f"; {k['measured']} measured and {k['inferred']} inferred by the map ({what})"
    if k["no_data"]:
        s += f"; {k['no_data']} not known" + ("" if ctx.dec.attrs.get("mode") == "boundary" else
                                               " (no finished seed)")
    if k["given_up"]:
        s += (f"; {k['given_up']} of the undecided given up (no decision was reachable within "
              f"{ctx.dec.attrs['max_seeds']} seeds)")
    if k["few"]:
        s += f"; {k['few']} of the decided from fewer than {MIN_SEEDS} seeds"
    along = ctx.primary
    if along is None:
        return s + "; " + "; ".join(cell_texts(ctx, c)) + "."
    return s + f". Along {html.escape(ctx.names.axis_name(along))}: " + along_texts(ctx, c, along) + "."


def cell_texts(ctx, c):
    """Without an ordered axis: each cell's decision with its confidence sequence."""
    one = ctx.dec.sel(comparison=c)
    dims = [d for d in one["decision"].dims]
    out = []
    for idx in np.ndindex(*[one.sizes[d] for d in dims]):
        sel = dict(zip(dims, idx))
        cell = one.isel(sel)
        where = ", ".join(setting(ctx, c, d, one[d].values[i]) for d, i in sel.items() if one.sizes[d] > 1)
        m = str(states(cell.expand_dims("comparison"))[0])
        used = int(cell["seeds_used"])
        if int(cell["decision_source"]) == INFERRED:
            cs = "inferred by the map, not run"
        elif m == "no data":
            cs = "no seed"
        else:
            cs = (f"confidence sequence {signed(float(cell['cs_low']))} to {signed(float(cell['cs_high']))} after "
                  f"{used} seed{'s' if used != 1 else ''}" + few(used))
        out.append((f"at {where}: " if where else "") + f"{VERB[said_of(ctx, m)]} ({cs})")
    return out


def along_texts(ctx, c, along):
    """Each line along `along` in words (one text). The lines where the decided sign changes once, grouped by the
    direction: 'helps up to 15°–60° at 4 labelled target points, up to 0°–45° at 8; hurts beyond; undecided or
    given up between' -- from the last cell on one side to the first on the other, measured or inferred (an
    inferred end is said). The other lines (no sign change, several, or a shift read from an unshifted value
    inside the axis) in runs, lines with the same words grouped (line_groups)."""
    b = ctx.bounds[along]
    b = b[b["comparison"] == str(c)]
    vary = [a for a in b.columns if a not in ROW_COLUMNS and ctx.dec.sizes[a] > 1]
    f = lambda v: ctx.names.fmt(along, v)  # noqa: E731
    single, rest = {}, []
    for _, r in b.iterrows():
        ch = r["changes"]
        if len(ch) != 1 or (along == "shift" and _inner_unshifted(kind_of(ctx, r), r["values"])):
            rest.append(r)
            continue
        ch = ch[0]
        xs, ms = list(r["values"]), said(ctx, r)
        i, j = xs.index(ch["after"]), xs.index(ch["before"])
        ends = [xs[k] for k in (i, j) if r["sources"][k] == "inferred"]
        span = f"{f(ch['after'])}–{f(ch['before'])}" + (f" ({' and '.join(f(x) for x in ends)} inferred)" if ends
                                                         else "")
        one = single.setdefault((ch["from"], ch["to"]), {"spans": {}, "band": set()})
        one["spans"].setdefault(span, []).append(r)
        one["band"].update(ms[i + 1:j])
    out = []
    for (fr, to), one in single.items():  # one text per direction of the change
        ups = [f"up to {span}" + where_words(ctx, c, vary, rows, first=not k)
               for k, (span, rows) in enumerate(one["spans"].items())]
        text = f"{VERB[fr]} " + ", ".join(ups) + f"; {VERB[to].replace('is ', '')} beyond"
        band = sorted({BAND[m] for m in one["band"]}, key=list(BAND.values()).index)
        if band:
            text += f"; {' or '.join(band)} between"
        out.append(text)
    if rest:
        out.append("; ".join(line_groups(ctx, c, along, rest, all_lines=not single)))
    return ". ".join(t[:1].upper() + t[1:] if k else t for k, t in enumerate(out))


ROW_COLUMNS = ("comparison", "values", "decisions", "sources", "given_up", "runs", "changes")


def where_words(ctx, c, vary, rows, first=True):
    """' at 4 and 8 labelled target points' (the first time; ' at 4 and 8' after) for lines that differ in
    n_target alone, else ' at λ = 0.5, n_target = 4 and at ...'; '' when no other axis varies."""
    if not vary:
        return ""
    if vary == ["n_target"]:
        vs = [ctx.names.fmt("n_target", r["n_target"]) for r in rows]
        words = " and ".join([", ".join(vs[:-1]), vs[-1]] if len(vs) > 1 else vs)
        return f" at {words}" + (f" labelled target point{'s' if len(vs) > 1 or vs[0] != '1' else ''}"
                                 if first else "")
    return " and".join(f" at {', '.join(setting(ctx, c, a, r[a]) for a in vary)}" for r in rows)


def line_groups(ctx, c, along, rows=None, all_lines=True):
    """Lines along `along` in words (rows: boundaries() rows, default every line of c), lines with the same
    words grouped: 'at λ = 0.5, n_target = 10: helps up to 45°, is undecided at 90°, hurts from 135° on (the
    sign changes between 45° and 135°)'. all_lines: rows are every line (so 'at every ...' may be said)."""
    b = ctx.bounds[along]
    b = b[b["comparison"] == str(c)]
    rows = [r for _, r in b.iterrows()] if rows is None else rows
    vary = [a for a in b.columns if a not in ROW_COLUMNS and ctx.dec.sizes[a] > 1]
    groups = {}
    for r in rows:
        text = line_text(ctx, along, r, kind_of(ctx, r))
        groups.setdefault(text, []).append(r)
    if not vary:
        return list(groups)
    if len(groups) == 1 and all_lines:
        return [f"at every {' × '.join(html.escape(ctx.names.axis_name(a)) for a in vary)}: {next(iter(groups))}"]
    most = max(groups, key=lambda t: len(groups[t]))  # said last, as the rest, when it saves words
    rest = len(groups[most]) > 2 and all_lines
    out = [f"{where_words(ctx, c, vary, w).strip()}: {t}" for t, w in groups.items() if not (rest and t == most)]
    if rest:
        out.append(f"at the {len(groups[most])} other settings: {most}")
    return out


def said(ctx, row):
    """A line's cells as the reader is told: its decisions, 'given up' for an undecided cell given up, and in a
    boundary map 'not known' for a cell without data."""
    ms = list(row["decisions"])
    given = row["given_up"] if "given_up" in row else [False] * len(ms)
    return [said_of(ctx, "given up" if g and m == "undecided" else m) for m, g in zip(ms, given)]


def said_of(ctx, m):
    dec = getattr(ctx, "dec", None)
    return "not known" if m == "no data" and dec is not None and dec.attrs.get("mode") == "boundary" else m


def _inner_unshifted(kind, xs):
    mid = UNSHIFTED.get(kind)
    return mid is not None and (xs[0] < mid < xs[-1] or mid in xs[1:-1])


def kind_of(ctx, row):
    """The kind of shift of a line (its data_shift_kind, else the file's)."""
    return str(row["data_shift_kind"]) if "data_shift_kind" in row else R.shift_kind(ctx.ds)


def line_text(ctx, along, row, kind=None):
    """One line of cells in words, from its decisions only (inferred cells said)."""
    xs, ms = list(row["values"]), said(ctx, row)
    inferred = [v == "inferred" for v in row["sources"]] if "sources" in row else [False] * len(xs)
    if getattr(getattr(ctx, "dec", None), "attrs", {}).get("mode") == "boundary":
        # a map's line in its runs: given up is undecided (the counts say how many), a run partly inferred says
        # so (the figure hatches which), so that lines with one boundary read alike
        ms = ["undecided" if m == "given up" else m for m in ms]
        return runs_text(ctx, along, xs, ms, inferred=inferred, partly=True)
    if along == "lambda" and 0.0 in xs and ctx.trans in str(row["comparison"]).split(":"):
        text, note = runs_text(ctx, along, xs, ms, inferred=inferred), "λ = 0: fine-tuning without alignment"
        return text[:-1] + f"; {note})" if text.endswith(")") else text + f" ({note})"
    if along == "shift" and _inner_unshifted(kind, xs):
        mid = UNSHIFTED[kind]
        # both ends are shifts: each half from the unshifted value outwards
        lo = [i for i, x in enumerate(xs) if x <= mid][::-1]
        hi = [i for i, x in enumerate(xs) if x >= mid]
        halves = []
        for name, idx in (("above", hi), ("below", lo)):
            if len(idx) > 1 or (idx and xs[idx[0]] != mid):
                hx, hm, hi_ = [xs[i] for i in idx], [ms[i] for i in idx], [inferred[i] for i in idx]
                halves.append(f"from {ctx.names.fmt(along, mid)} {name}: "
                              + runs_text(ctx, along, hx, hm, plain=True, inferred=hi_))
        return " and ".join(halves)
    return runs_text(ctx, along, xs, ms, inferred=inferred)


def runs_text(ctx, along, xs, ms, plain=False, inferred=None, partly=False):
    """'helps up to 45°, is undecided at 90°, hurts from 135° on (the sign changes between 45° and 135°)'.
    plain: every run as 'at a–b' (a half-line read from its unshifted end). inferred (per x): the inferred
    cells of a run are said after it ('(inferred)', or '(150° inferred)'; partly: '(partly inferred)')."""
    f = lambda v: ctx.names.fmt(along, v)  # noqa: E731
    inferred = inferred or [False] * len(xs)
    parts_of = runs(xs, ms)
    notes, i = [], 0
    for m, a, b, k in parts_of:
        inf = [x for x, y in zip(xs[i:i + k], inferred[i:i + k]) if y]
        notes.append("" if not inf else " (inferred)" if len(inf) == k else " (partly inferred)" if partly else
                     f" ({', '.join(f(x) for x in inf)} inferred)")
        i += k
    if len(parts_of) == 1:
        m, a, b, k = parts_of[0]
        text = (f"{VERB[m]} at {f(a)}" if k == 1 else f"{VERB[m]} at {f(a)}–{f(b)}" if plain
                else f"{VERB[m]} at every {ctx.names.axis_name(along)} swept ({f(a)}–{f(b)})") + notes[0]
    else:
        parts = []
        for i, (m, a, b, k) in enumerate(parts_of):
            if k == 1:
                parts.append(f"{VERB[m]} at {f(a)}")
            elif plain or 0 < i < len(parts_of) - 1:
                parts.append(f"{VERB[m]} at {f(a)}–{f(b)}")
            elif i == 0:
                parts.append(f"{VERB[m]} up to {f(b)}")
            else:
                parts.append(f"{VERB[m]} from {f(a)} on")
            parts[-1] += notes[i]
        text = ", ".join(parts)
    where = [f"between {f(ch['after'])} and {f(ch['before'])}" for ch in changes(xs, ms)]
    if where:
        text += " (the sign changes " + " and ".join(where) + ")"
    return text


def other_axes_sentences(ctx):
    """Along every ordered axis but the primary one: the lines where the decided sign changes."""
    axes = [a for a in ctx.bounds if a != ctx.primary]
    if not axes:
        return []
    parts = []
    for a in axes:
        b = ctx.bounds[a]
        hit = b[b["changes"].map(len) > 0]
        others = [x for x in b.columns if x not in ROW_COLUMNS]
        for _, r in hit.iterrows():
            c = r["comparison"]
            where = ", ".join(setting(ctx, c, x, r[x]) for x in others if ctx.dec.sizes[x] > 1)
            parts.append(f"along {html.escape(ctx.names.axis_name(a))}, {html.escape(comparison_name(ctx, c))}"
                         + (f" at {where}" if where else "") + f" {line_text(ctx, a, r, kind_of(ctx, r))}")
    names = " or ".join(html.escape(ctx.names.axis_name(a)) for a in axes)
    if not parts:
        return [f"No sign change along {names}: no line of cells along {'them' if len(axes) > 1 else 'it'} has both "
                "a decided helps and a decided hurts."]
    return ["Sign changes along the other axes: " + "; ".join(parts) + "."]


def negative_sentence(ctx):
    """Negative transfer as decided cells: the transfer method decided below the baseline."""
    c = f"{ctx.trans}:{ctx.base}"
    if ctx.dec is None or c not in [str(x) for x in ctx.dec["comparison"].values]:
        return ""
    k = tally(ctx.dec)[c]
    n_ = ctx.names
    return (f"<b>Negative transfer</b> ({n_.short(ctx.trans)} decided below {n_.short(ctx.base)}) in "
            f"<b>{k['hurts']} of {k['cells']} cells</b> ({pct(k['hurts'] / max(k['cells'], 1))}"
            + (f"; {k['inferred_hurts']} of them inferred by the map" if k["inferred_hurts"] else "")
            + f"); decided not negative (helps or equivalent) in {k['helps'] + k['equivalent']}, undecided in "
            f"{k['undecided']}" + (f" ({k['given_up']} given up)" if k["given_up"] else "")
            + (f", not known in {k['no_data']}" if k["no_data"] else "") + ".")


# ---------------------------------------------------------------- tuning and selection

def descriptive(ctx):
    """In the decide modes the seeds a cell took depend on its results: means over them are no test."""
    if ctx.dec is not None and ctx.dec.attrs.get("source") == "file":
        return ("; the seeds of a sequential run depend on each cell's results, so this mean and interval describe "
                "the seeds run and test nothing")
    return ""


def n_seeds(ctx, method):
    """Seeds with at least one finished configuration of method."""
    ok = R.method_done(ctx.ds, method)
    return int(ok.any([d for d in ok.dims if d != "seed"]).sum())


def best_sentences(ctx):
    """Per tuning axis that varies: its best value and how much lower the others are."""
    ds, n_ = ctx.ds, ctx.names
    out = []
    k = n_seeds(ctx, ctx.trans)
    for a, b in ctx.best.items():
        if ds.sizes[a] < 2 or not np.isfinite(b["accuracy"].iloc[0]):
            continue
        first = b.index[0]
        rest = ", ".join(f"{setting(ctx, ctx.trans, a, v)} is {abs(r['diff_to_best']):.3f} lower"
                         + (f" (± {r['diff_to_best_ci95']:.3f})" if np.isfinite(r["diff_to_best_ci95"]) else "")
                         for v, r in b.iloc[1:].iterrows() if np.isfinite(r["accuracy"]))
        out.append(f"Best {n_.axis_name(a)} for {n_.short(ctx.trans)}: <b>{setting(ctx, ctx.trans, a, first)}</b>, "
                   f"mean accuracy {b['accuracy'].iloc[0]:.3f} over the {int(b['configurations'].iloc[0])} "
                   f"configurations where every {n_.axis_name(a)} finished"
                   + (f"; {rest} (paired, 95% CI over {k} seeds{few(k)}{descriptive(ctx)})." if rest else "."))
    return out


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
        flag = few(o["n_seeds"])
        if n == "reference":
            out.append(f"<b>Never adapting</b> ({ref_txt} always) loses <b>{o['regret']:.3f}</b>"
                       + (f" ± {o['regret_ci95']:.3f} (95% CI over {o['n_seeds']} seeds{flag})"
                          if o["regret_ci95"] is not None else "")
                       + f" to the oracle{where}.")
            continue
        gain = (f"; against {ref_txt} {pm(o['gain'], o['gain_ci95'])}"
                f" (below it in {pct(o['share_below_reference'])} of the cells × seeds)"
                if o["gain"] is not None and o["share_below_reference"] is not None else "")
        out.append(f"Choosing {n_.axis_name(over)} by <b>{html.escape(str(n_.score(n)))}</b>: regret "
                   f"<b>{o['regret']:.3f}</b>" + (f" ± {o['regret_ci95']:.3f}" if o["regret_ci95"] is not None else "")
                   + f" (oracle − picked accuracy, mean over the cells, 95% CI over {o['n_seeds']} seeds{flag}){gain}"
                   f"{where}.")
    if out and descriptive(ctx):
        out.append(f"Choosing {n_.axis_name(over)}: the seeds of a sequential run depend on each cell's results, so "
                   "the regrets and intervals above describe the seeds run and test nothing.")
    return out
