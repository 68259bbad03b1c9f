"""docs/FORMAT.md lists exactly the variables a results file holds: the table of result fields
(include/tlsweep/result.h) is what the store writes, and this test holds the documentation to it."""
import re

from tlstest import ROOT, run

SECTIONS = ("## Per-configuration variables", "## Curves and matrices", "## Group `embeddings/`")
CELLS = ("## Cells and their decisions",)
METHODS = ["scratch", "direct", "mmd", "target_mlp", "ensemble"]
NETWORKS = ["mmd", "target_mlp", "ensemble"]
SCORES = ["leep", "nleep", "logme", "hscore", "hscore_shrink", "nce", "gbc", "transrate", "knn", "ft_loss_rise",
          "ft_loss_rebound"]
EXPAND = {"<approach>": METHODS, "<network>": NETWORKS, "<score>": SCORES}


def documented(sections=SECTIONS):
    text = open(f"{ROOT}/docs/FORMAT.md").read()
    names = set()
    for part in re.split(r"\n(?=## )", text):
        if not part.startswith(sections):
            continue
        for line in part.splitlines():
            if not line.startswith("| `"):
                continue
            cell = line.split("|")[1]
            for name in re.findall(r"`([^`]+)`", cell):
                what = [k for k in EXPAND if k in name]
                names.update(name.replace(what[0], m) for m in EXPAND[what[0]]) if what else names.add(name)
    return names


def written():
    """The variables `tlsweep run --dry-run` lists for a file with embeddings (the store's)."""
    p = run(["run", "--dry-run", "--set", "output.embeddings=true", "-o", "/nonexistent/x.h5"])
    out = p.stdout.split("output layout", 1)[1]
    names = set()
    for line in out.splitlines()[1:]:
        m = re.match(r"  (embeddings/)?(\S+)\s+\(", line)
        if m:
            names.add(m.group(2))
    return names


def test_format_md_lists_exactly_the_variables():
    doc, file = documented(), written()
    assert len(file) > 30
    assert doc == file, {"in the file, not in FORMAT.md": sorted(file - doc),
                         "in FORMAT.md, not in the file": sorted(doc - file)}
