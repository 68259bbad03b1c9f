"""What the page calls things: one Names per results file -- the methods
(the transfer method is named after the file's align.loss), the meaning of
the shift axis (data.shift_kind), the axes' titles and a grid value as
text -- and the colours, line styles and markers every figure shares."""

from .. import results as R
from ..tables import table_name

LABELS = {"scratch": "from scratch (SVM on the target labels)", "direct": "direct transfer (SVM trained on the source)",
          "mmd": "MMD transfer (MLP, CE + λ·MMD², fine-tuned)", "target_mlp": "the same MLP on the target labels only",
          "ensemble": "ensemble (mean of the MMD and target-only MLPs' softmax)"}
SHORT = {"scratch": "training from scratch", "direct": "direct transfer", "mmd": "MMD transfer",
         "target_mlp": "the target-only MLP", "ensemble": "the ensemble"}
LEGEND = {"scratch": "scratch (SVM, target labels)", "direct": "direct (SVM trained on source)", "mmd": "MMD transfer",
          "target_mlp": "MLP, target labels only", "ensemble": "ensemble (MMD + target MLP)"}
# Okabe-Ito without its yellow, then Tol's muted colours: distinguishable for colour-blind readers; the
# orange comes late (next to the vermillion of the first line it is hard to tell apart)
PALETTE = ["#D55E00", "#009E73", "#0072B2", "#CC79A7", "#999933", "#56B4E9", "#000000", "#882255", "#E69F00",
           "#44AA99", "#AA4499", "#7F7F7F"]
STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
DPI = 100
# what the shift axis means, per data.shift_kind: (axis title, unit after a value)
SHIFT_TITLES = {"rotation": ("shift: target rotation (°)", "°"),
                "translation": ("shift: target translation (source class spreads)", ""),
                "scale": ("shift: factor of the target classes' spread", ""),
                "label": ("shift: share of class 0 in the target", ""),
                "conditional": ("shift: share of target labels swapped", ""),
                "mixed": ("shift (its meaning per data.shift_kind)", "")}
# what aligns the transfer network (align.loss; None: several, the align_loss axis): (the loss in words,
# what mmd2_epoch holds, its unit)
ALIGN_TITLES = {"mmd": ("MMD²", "Alignment loss (MMD²)", "MMD² (source batch vs target)"),
                "coral": ("the CORAL loss", "Alignment loss (CORAL)", "CORAL loss (source batch vs target)"),
                "dann": ("the adversarial loss", "Alignment loss (DANN discriminator)", "discriminator BCE (nats)"),
                "none": ("nothing: no alignment", "Alignment loss (none)", "none"),
                None: ("the alignment loss", "Alignment loss (per align.loss)", "alignment loss")}
SCORE_LABELS = {"entropy": "prediction entropy", "snd": "soft neighbourhood density (SND)",
                "mmd2": "MMD² of the features", "pad": "proxy A-distance of the features",
                "iwcv": "importance-weighted validation (IWCV)", "dev": "deep embedded validation (DEV)",
                "target_val": "target validation (held-out labelled target points)",
                "reference": "never aligning (λ = 0)"}


def pct(x):
    return f"{100 * x:.0f}%"


def signed(x):
    t = f"{x:+.3f}"
    return "0.000" if t in ("+0.000", "-0.000") else t.replace("-", "−")


class Names:
    """The words for one results file (ds: its xarray.Dataset)."""

    def __init__(self, ds):
        self.ds = ds
        self.labels, self.shorts, self.legends = dict(LABELS), dict(SHORT), dict(LEGEND)
        self.shift_title, self.shift_unit = SHIFT_TITLES.get(R.shift_kind(ds), SHIFT_TITLES["mixed"])
        self._name_transfer()

    def _name_transfer(self):
        """The mmd method is the transfer network whatever align.loss aligns it
        with: call it MMD transfer only when the alignment is MMD throughout."""
        self.alignment = R.alignment(self.ds)  # None: the grid sweeps align.loss
        what = self.alignment
        self.align_title = ALIGN_TITLES.get(what, ALIGN_TITLES[None])
        if what == "mmd":
            return
        name = "transfer without alignment" if what == "none" else f"{what.upper()} transfer" if what else \
            "aligned transfer"
        self.shorts["mmd"] = self.legends["mmd"] = name
        loss = "alignment loss" if what is None else what.upper()
        self.labels["mmd"] = f"{name} (MLP, CE" + ("" if what == "none" else f" + λ·{loss}") + ", fine-tuned)"
        self.legends["ensemble"] = "ensemble (transfer + target MLP)"

    def var(self, m):
        """The name of m's accuracy in the tables: acc_transfer for the file's mmd, acc_scratch."""
        return f"acc_{table_name(m)}"

    def label(self, m):
        return self.labels.get(m, m)

    def short(self, m):
        return self.shorts.get(m, m)

    def legend(self, m):
        return self.legends.get(m, m)

    def score(self, n):
        return SCORE_LABELS.get(n, n)

    def axis_title(self, a):
        return {"shift": self.shift_title, "lambda": f"λ (weight of {self.align_title[0]})",
                "n_target": "n_target (labelled target points)", "seed": "seed"}.get(a, R.axis_key(self.ds, a))

    def axis_name(self, a):
        return {"lambda": "λ"}.get(a, R.axis_key(self.ds, a))

    def fmt(self, a, v):
        """A grid value as text: 45°, 0.5, 10, adam, true."""
        ds = self.ds
        v = R._py(v)
        meanings = str(ds[a].attrs.get("flag_meanings", "")).split() if a in ds.coords else []
        if meanings and isinstance(v, int) and 0 <= v < len(meanings):  # a boolean axis: 0 false, 1 true
            return meanings[v]
        if isinstance(v, float):
            s = f"{v:g}"
        else:
            s = str(v)
        return s + self.shift_unit if a == "shift" else s

    def setting(self, a, v):
        return f"{self.axis_name(a)} = {self.fmt(a, v)}"

    def title_of(self, c):
        """A configuration (axis -> index) in words: shift = 45°, λ = 0.5, ..."""
        return ", ".join(self.setting(a, self.ds[a].values[i]) for a, i in c.items())

    def numeric(self, a):
        return self.ds[a].values.dtype.kind in "iuf"
