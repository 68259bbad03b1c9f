"""What the tables call things, and the old names that still read.

A results file names the transfer network's approach `mmd` (acc_mmd,
seconds_mmd, score_entropy_mmd, mmd2_epoch) whatever align.loss aligns it
with: MMD, CORAL, DANN or nothing. The tables (summary(), to_frame(),
summary.csv, summary.json) call it `transfer`, with the alignment in the
align_loss axis where the sweep varies it and in results.alignment(ds)
(the report's settings, report.json) where it does not. Counts of seeds are
`seeds_<approach>` (seeds_target_mlp), not n_<approach>, which read like
the n_target axis next to them.

Code written for the old names keeps working: the tables are Table
objects, pandas DataFrames in which df["acc_mmd"], df[["n_mmd", ...]] and
row["n_mmd"] of a row (df.loc[...], df.iterrows()) read the renamed column
(a DeprecationWarning says its new name). The CSV and JSON files hold the
new names only."""
import warnings

import pandas as pd

TRANSFER = "mmd"  # the file's name of the transfer network's approach
TRANSFER_NAME = "transfer"  # what the tables call it


def table_name(m):
    """What the tables call the file's approach m: transfer for mmd, else m."""
    return TRANSFER_NAME if m == TRANSFER else m


def file_name(m):
    """The file's name of an approach named m in the tables (mmd for transfer), else m."""
    return TRANSFER if m == TRANSFER_NAME else m


def _resolve(key, columns, aliases):
    if isinstance(key, str) and key not in columns and key in aliases:
        warnings.warn(f"column {key!r} is now {aliases[key]!r}", DeprecationWarning, stacklevel=3)
        return aliases[key]
    return key


class TableRow(pd.Series):
    """A row of a Table: row["n_mmd"] reads row["seeds_transfer"]."""
    _metadata = ["name", "aliases"]  # pandas.Series keeps its name through its _metadata

    @property
    def _constructor(self):
        return TableRow

    @property
    def _constructor_expanddim(self):
        return Table

    def __getitem__(self, key):
        return super().__getitem__(_resolve(key, self.index, getattr(self, "aliases", None) or {}))


class Table(pd.DataFrame):
    """A DataFrame whose old column names (aliases: old -> new) still read."""
    _metadata = ["aliases"]

    @property
    def _constructor(self):
        return Table

    @property
    def _constructor_sliced(self):
        return TableRow

    def __getitem__(self, key):
        aliases = getattr(self, "aliases", None) or {}
        if isinstance(key, list):
            key = [_resolve(k, self.columns, aliases) for k in key]
        else:
            key = _resolve(key, self.columns, aliases)
        return super().__getitem__(key)


def table(df, renames):
    """df with its columns renamed (renames: old -> new), as a Table in
    which the old names still read."""
    renames = {k: v for k, v in renames.items() if k != v}
    out = Table(df.rename(columns=renames))
    out.aliases = renames
    return out


def summary_renames(columns):
    """old -> new for the columns of summary() and summary_regret(): the
    transfer approach (acc_mmd -> acc_transfer, gain_mmd_vs_scratch ->
    gain_transfer_vs_scratch, gain_direct_vs_mmd ...), counts of seeds
    (n_<approach> or n_<score> -> seeds_<...>; n_done, n_failed, n_pending
    count configurations and stay)."""
    out = {}
    for c in columns:
        new = c
        parts = c.split("_vs_")
        if c.startswith(("acc_", "gain_", "seconds_")) or len(parts) > 1:
            head, _, rest = c.partition("_")
            body = rest
            tail = ""
            if body.endswith("_ci95"):
                body, tail = body[:-5], "_ci95"
            sides = body.split("_vs_")
            sides = [table_name(s) for s in sides]
            new = f"{head}_{'_vs_'.join(sides)}{tail}"
        elif c.startswith("n_") and c not in ("n_done", "n_failed", "n_pending"):
            new = "seeds_" + table_name(c[2:])
        out[c] = new
    return out
