"""The boundary mode's map (include/tlsweep/bmap.h), written again from its
description, in NumPy terms: which cells a map needs given the decisions of
the cells it ran, their levels, the budget's cut, and the inference.

    needed, level, inferred = boundary_map(shape, decisions_of, max_seeds, budget, seeds_of)

shape: the lengths of the ordered axes (a map of its own per value of the
other axes: call it once per map); decisions_of(cell) -> tuple of decisions
per comparison (0 undecided, 1 helps, 2 hurts, 3 equivalent) for a cell that
stopped, None for one that did not; seeds_of(cell): the seeds it took.
Cells are tuples of indices."""
import itertools

COARSE = 4


def lattice(n):
    s = 1
    while 2 * s <= (n - 1) // COARSE:
        s *= 2
    pts = sorted(set(range(0, n, s)) | {n - 1})
    return pts


def corners(lo, hi):
    return [tuple(h if b else l for l, h, b in zip(lo, hi, bits))
            for bits in itertools.product((0, 1), repeat=len(lo))]


def boundary_map(shape, decisions_of, max_seeds=None, budget=0, seeds_of=None):
    """needed: {cell: level}; ran: cells run in the canonical order within the
    budget; cut: cells needed but left out by the budget; inferred: {cell:
    decisions}; boxes: list of (lo, hi, state)."""
    d = len(shape)
    pts = [lattice(n) for n in shape]
    level = {c: 0 for c in itertools.product(*pts)}
    boxes = [(tuple(p[i] for p, i in zip(pts, idx)), tuple(p[i + 1] for p, i in zip(pts, idx)), 0)
             for idx in itertools.product(*[range(len(p) - 1) for p in pts])]
    state = {}  # box index -> uniform / atomic / split
    ran, cut, stopped = [], [], {}
    spent, done_level = 0, -1
    processed = set()
    while True:
        todo = [c for c, lv in level.items() if c not in processed]
        if not todo:
            break
        lv = min(level[c] for c in todo)
        for c in sorted((c for c in todo if level[c] == lv), key=lambda c: ravel(c, shape)):
            processed.add(c)
            if cut or (budget and spent + max_seeds > budget):
                cut.append(c)
                continue
            ran.append(c)
            dec = decisions_of(c)
            spent += seeds_of(c) if seeds_of else 0
            if dec is None:
                continue
            stopped[c] = dec
            # examine every waiting box whose corners have all stopped (and their sub-boxes)
            changed = True
            while changed:
                changed = False
                for i, (lo, hi, depth) in enumerate(list(boxes)):
                    if i in state or not all(k in stopped for k in corners(lo, hi)):
                        continue
                    ds = [stopped[k] for k in corners(lo, hi)]
                    uniform = all(x == ds[0] for x in ds)  # undecided is a decision like the others
                    atomic = all(h - l <= 1 for l, h in zip(lo, hi))
                    state[i] = "uniform" if uniform else "atomic" if atomic else "split"
                    if state[i] != "split":
                        continue
                    halves = [[(l, h)] if h - l < 2 else [(l, l + (h - l) // 2), (l + (h - l) // 2, h)]
                              for l, h in zip(lo, hi)]
                    for part in itertools.product(*halves):
                        clo, chi = tuple(a for a, _ in part), tuple(b for _, b in part)
                        boxes.append((clo, chi, depth + 1))
                        for k in corners(clo, chi):
                            if k not in level or level[k] > depth + 1:
                                level[k] = depth + 1
                    changed = True
    inferred = {}
    ran_set = set(ran)
    for i, (lo, hi, _) in enumerate(boxes):
        if state.get(i) != "uniform":
            continue
        dec = stopped[lo]
        for c in itertools.product(*[range(l, h + 1) for l, h in zip(lo, hi)]):
            if c not in ran_set and c not in inferred:
                inferred[c] = dec
    return level, ran, cut, inferred, [(lo, hi, state.get(i, "waiting")) for i, (lo, hi, _) in enumerate(boxes)]


def ravel(c, shape):
    i = 0
    for x, n in zip(c, shape):
        i = i * n + x
    return i
