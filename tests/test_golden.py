"""The golden record: what tlsweep prints and writes, kept under tests/data/golden/ and compared
after every change of structure. Behaviour that is meant to change updates the record in the
same commit (and says so); anything else that moves is a regression.

    /usr/bin/python3 tests/test_golden.py --update    # rewrite tests/data/golden/ from build/tlsweep

What is recorded (volatile fields -- timings, ranks, hosts, dates, versions, build flags,
the machine's kernel copy -- masked):
  one.jsonl        `tlsweep one` for settings covering every method, alignment loss, fine-tuning
                   strategy, MMD variant, shift kind, holdout and data files
  cli.txt          stdout, stderr and exit status of `config`, `--dry-run`, `status` and every
                   bad-input case (the corpus, --set mistakes, option mistakes)
  sweep.txt        a 2-rank sweep with an extra axis and embeddings: every object in creation
                   order, its type, shape, fill value, attributes in creation order and a hash of
                   its data
  journal.txt      the payloads of a sweep's journal records (the final write made to fail on a
                   full disk, so that the journals stay)
  report.txt       the report's report.json, summary.json and summary.csv of that sweep
"""
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tlstest import BIN, ROOT, SCALAR, env, volatile  # noqa: E402

GOLDEN = os.path.join(ROOT, "tests", "data", "golden")
PY = "/usr/bin/python3"
SMALL = ["--set", "train.epochs=4", "--set", "train.finetune_epochs=3", "--set", "baselines.target_epochs=20",
         "--set", "data.n_source=120", "--set", "data.n_test=40"]
ONE = [
    [],  # the article's configuration, full training
    "--shift 135 --lambda 2 --n-target 10 --seed 3".split(),
    ["--set", "align.loss=coral"] + SMALL,
    ["--set", "align.loss=dann", "--set", "align.disc_hidden=8"] + SMALL,
    ["--set", "align.loss=none"] + SMALL,
    ["--set", "finetune.strategy=classifier"] + SMALL,
    ["--set", "finetune.strategy=l2sp", "--set", "finetune.l2sp_alpha=0.5"] + SMALL,
    ["--set", "mmd.gammas=[0.5,2]", "--set", "mmd.bandwidth=median", "--set", "mmd.estimator=unbiased",
     "--set", "align.target_batch=16"] + SMALL,
    ["--set", "data.shift_kind=translation", "--shift", "1.5"] + SMALL,
    ["--set", "data.shift_kind=scale", "--shift", "2"] + SMALL,
    ["--set", "data.shift_kind=label", "--shift", "0.2"] + SMALL,
    ["--set", "data.shift_kind=conditional", "--shift", "0.3"] + SMALL,
    ["--set", "selection.source_holdout=0.2", "--set", "selection.target_holdout=0.25", "--n-target", "20"] + SMALL,
    ["--set", "data.classes=3", "--set", "data.dim=5", "--set", "mmd.distance_points=30", "--n-target", "12"] + SMALL,
    ["--set", "svm.gamma=scale", "--set", "svm.C=3", "--set", "train.lr=0.01", "--set", "train.batch_size=50"] + SMALL,
]
SWEEP = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[4,10]",
         "--set", "grid.seed=[0,1]", "--set", "grid.align.loss=[mmd,coral]", "--set", "train.epochs=3",
         "--set", "train.finetune_epochs=2", "--set", "baselines.target_epochs=10",
         "--set", "data.n_source=60", "--set", "data.n_test=30"]
# what differs between runs or machines, not between versions of the code
# (the data: tlstest.volatile -- who computed, and every variable in seconds)
VOLATILE_ATTRS = {"history", "started", "finished", "tlsweep_version", "tlsweep_commit", "compiler", "cflags",
                  "hdf5_version", "mpi_version", "openblas_config", "libsvm_version", "mmd_kernel",
                  "DIMENSION_LIST", "REFERENCE_LIST"}


def sh(args, cwd=ROOT, **kw):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env(**kw), timeout=900)
    return p


def mask(text, tmp):
    """Temporary paths, timings and machine facts out of a command's output."""
    text = text.replace(tmp, "<TMP>").replace(BIN, "<BIN>")
    text = re.sub(r"\b\d+(\.\d+)? s\b", "<T> s", text)
    text = re.sub(r'"seconds_(\w+)": [-+.0-9e]+', r'"seconds_\1": <T>', text)
    text = re.sub(r"estimate: .*", "estimate: <MASKED>", text)
    text = re.sub(r"(about )\d+(\.\d+)? (MiB|GiB|s|min|h)", r"\1<N> \3", text)
    text = re.sub(r"pid \d+ on \S+ since \S+", "pid <P> on <HOST> since <T>", text)
    text = re.sub(r"\d+(\.\d+)? (configurations|cfg)/s", "<R> \\2/s", text)
    return text


def run_one():
    lines = []
    for args in ONE:
        p = sh([BIN, "one"] + args)
        d = json.loads(p.stdout) if p.returncode in (0, 3) else {}
        d = {k: v for k, v in d.items() if not k.startswith("seconds_")}
        lines.append(json.dumps({"args": args, "exit": p.returncode, "out": d}))
    return "\n".join(lines) + "\n"


def record(out, tmp, name, args, **kw):
    p = sh(args, **kw)
    out.append(f"## {mask(name, tmp)}\n$ {mask(' '.join(args), tmp)}\nexit {p.returncode}\n"
               f"--- stdout\n{mask(p.stdout, tmp)}--- stderr\n{mask(p.stderr, tmp)}")


def run_cli(tmp):
    out = []
    record(out, tmp, "config default", [BIN, "config"])
    record(out, tmp, "config extra axes", [BIN, "config"] + SWEEP)
    record(out, tmp, "config remedies", [BIN, "config", "configs/remedies.yaml"])
    record(out, tmp, "dry-run", [BIN, "run", "--dry-run", "-o", f"{tmp}/d.h5"] + SWEEP)
    record(out, tmp, "dry-run part", [BIN, "run", "--dry-run", "--part", "2/3", "-o", f"{tmp}/d.h5"] + SWEEP)
    for f in sorted(os.listdir(os.path.join(ROOT, "tests", "bad_input"))):
        record(out, tmp, f"bad {f}", [BIN, "config", f"tests/bad_input/{f}"])
        record(out, tmp, f"bad run {f}", [BIN, "run", f"tests/bad_input/{f}", "-o", f"{tmp}/bad.h5"])
    sets = ["train.epochs", "=5", "train.epoch=5", "train.epochs=lots", "grid.seed=[0,1", "grid.train.lr=[0.1,0.1]",
            "grid.output.sync_seconds=[1,2]", "grid.seed=[]", "grid.lambda=[0,-1]", "train.lr=1000.0001",
            "align.target_batch=-1", "grid.data.n_source=[-1, 10]", "svm.gamma=scalee", "train.lr=",
            "grid.seed=range(0,0)", "grid.align.loss=[mmd,mmdd]", "data.classes=1", "grid.data.shift_kind=[label]"]
    for s in sets:
        record(out, tmp, f"set {s}", [BIN, "config", "--set", s])
    opts = [["run", "--part", "0/2"], ["run", "--part", "3/2"], ["run", "--batch", "0"], ["run", "--force", "--resume"],
            ["run", "--retry-failed"], ["run", "--time-limit", "x"], ["run", "--drain-seconds", "-1"],
            ["run", "--outptu", "x"], ["run", "a.yaml", "b.yaml"], ["one", "--shift", "x"], ["one", "--lambda", "-1"],
            ["one", "--n-target", "1"], ["one", "--seed", "-1"], ["one", "--part", "1/2"], ["status"],
            ["status", f"{tmp}/missing.h5"], ["status", tmp], ["merge"], ["merge", f"{tmp}/missing.h5", "-o", f"{tmp}/m.h5"],
            ["snapshot", "x.h5"], ["bogus"], ["rum"], ["config", "--set"], ["one", "--set", "grid.seed=[0,1]"]]
    for o in opts:
        record(out, tmp, "option " + " ".join(o[:2]), [BIN] + o)
    return "".join(out)


def hashed(arr):
    h = hashlib.sha256()
    if arr.dtype == object or arr.dtype.kind in "SO":
        h.update("\x00".join(x.decode() if isinstance(x, bytes) else str(x) for x in np.ravel(arr)).encode())
    else:
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


def attr_value(name, v):
    if name in VOLATILE_ATTRS or name.startswith("run_"):
        return "<MASKED>"
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, np.ndarray):
        v = [x.decode() if isinstance(x, bytes) else x.item() if hasattr(x, "item") else x for x in v.ravel()]
    elif hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v != v:
        return "nan"
    return v


def attrs_in_order(obj):
    names = []
    try:
        h5py.h5a.iterate(obj.id, lambda n: names.append(n.decode()), index_type=h5py.h5.INDEX_CRT_ORDER)
    except Exception:  # creation order not tracked: name order
        names = sorted(obj.attrs.keys())
    return [(n, attr_value(n, obj.attrs[n])) for n in names]


def structure(path):
    """Every object of a results file in creation order, with its attributes and a hash of its data."""
    lines, volatile_data = [], volatile(path)
    with h5py.File(path, "r") as f:
        lines.append(f"/ {json.dumps(attrs_in_order(f))}")

        def walk(group, prefix):
            names = []
            try:
                group.id.links.iterate(lambda n: names.append(n.decode()), idx_type=h5py.h5.INDEX_CRT_ORDER)
            except Exception:
                names = sorted(group.keys())
            for n in names:
                obj = group[n]
                full = prefix + n
                if isinstance(obj, h5py.Group):
                    lines.append(f"{full}/ group {json.dumps(attrs_in_order(obj))}")
                    walk(obj, full + "/")
                    continue
                fill = obj.fillvalue
                fill = attr_value("", fill) if not isinstance(fill, (bytes, str)) else str(fill)
                data = "<MASKED>" if n in volatile_data else hashed(obj[()])
                attrs = [(a, "<MASKED>" if a == "crc32" and n in volatile_data else v)  # the sum of masked data
                         for a, v in attrs_in_order(obj)]
                lines.append(f"{full} {obj.dtype} {obj.shape} fill={fill} data={data} {json.dumps(attrs)}")
        walk(f, "")
    return "\n".join(lines) + "\n"


def journal_payloads(state):
    """index, payload length and a hash of each journal record's payload, volatile fields zeroed:
    tls_record_meta (rank, seconds, finished, host) and tls_scalars.seconds."""
    out = []
    for name in sorted(os.listdir(state)):
        if not (name.startswith("journal-") and name.endswith(".bin")):
            continue
        data = open(os.path.join(state, name), "rb").read()
        at = 0
        while at + 40 <= len(data):
            magic, version, header, _sweep, index, payload, _crc, _zero = struct.unpack_from("<IHHQqQII", data, at)
            assert magic == 0x52534C54 and header == 40, (name, at)
            p = bytearray(data[at + 40:at + 40 + payload])
            p[8:16] = bytes(8)      # meta.rank, reserved
            p[16:32] = bytes(16)    # meta.seconds, finished
            p[32:96] = bytes(64)    # meta.host
            p[96 + 80:96 + 120] = bytes(40)  # scalars.seconds[5]
            p[96 + SCALAR["seconds_ts"]:96 + SCALAR["seconds_ts"] + 8] = bytes(8)
            out.append((index, f"{index} v{version} {payload} {hashlib.sha256(bytes(p)).hexdigest()[:16]}"))
            at += 40 + payload
    return "\n".join(line for _, line in sorted(out)) + "\n"


def run_sweep(tmp):
    out = os.path.join(tmp, "sweep.h5")
    p = sh(["mpirun", "-q", "-n", "2", "--oversubscribe", BIN, "run", "-o", out] + SWEEP,
           OMPI_MCA_mpi_yield_when_idle="1")
    assert p.returncode == 0, p.stderr
    st = sh([BIN, "status", out])
    text = structure(out) + f"## status\nexit {st.returncode}\n{mask(st.stdout + st.stderr, tmp)}"
    return out, text


def run_journal(tmp):
    """The journals of a sweep whose results file cannot be written (a full disk): they stay."""
    disk = os.path.join(tmp, "disk")
    os.mkdir(disk)
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", disk],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        with open(os.path.join(disk, "ballast"), "wb") as f:
            f.write(b"\0" * (1536 * 1024))
        out = os.path.join(disk, "j.h5")
        args = SWEEP[:8] + ["--set", "train.epochs=3", "--set", "train.finetune_epochs=2",
                            "--set", "baselines.target_epochs=10", "--set", "data.n_source=60",
                            "--set", "data.n_test=30"]
        p = sh([BIN, "run", "-o", out, "--force"] + args)
        assert p.returncode == 1, p.stderr
        return journal_payloads(out + ".tlsweep.d")
    finally:
        subprocess.run(["umount", "-l", disk], check=False)


def run_report(tmp, sweep):
    rep = os.path.join(tmp, "report")
    p = sh([PY, "-m", "analysis.report", sweep, "-o", rep], MPLBACKEND="Agg")
    assert p.returncode in (0, 1), p.stderr  # 1: a figure failed; the page and tables are written
    text = f"exit {p.returncode}\n"
    for name in ["report.json", "summary.json", "summary.csv"]:
        body = open(os.path.join(rep, name)).read()
        if name.endswith(".json"):
            body = re.sub(r'"(history|started|finished|tlsweep_version|tlsweep_commit|compiler|cflags|'
                          r'hdf5_version|mpi_version|openblas_config|libsvm_version|mmd_kernel|hosts|host|'
                          r'run_\w+|version|commit|date|dates|generated)": ("[^"]*"|\[[^\]]*\])',
                          r'"\1": "<MASKED>"', body)
        text += f"## {name}\n{mask(body, tmp)}\n"
    return text


def capture():
    tmp = tempfile.mkdtemp(prefix="tlsweep-golden-")
    try:
        got = {"one.jsonl": run_one(), "cli.txt": run_cli(tmp)}
        sweep, got["sweep.txt"] = run_sweep(tmp)
        got["journal.txt"] = run_journal(tmp)
        got["report.txt"] = run_report(tmp, sweep)
        return got
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def captured():
    return capture()


@pytest.mark.parametrize("name", ["one.jsonl", "cli.txt", "sweep.txt", "journal.txt", "report.txt"])
def test_golden(captured, name):
    want = open(os.path.join(GOLDEN, name)).read()
    got = captured[name]
    if got != want:
        import difflib
        diff = "".join(list(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "now"))[:80])
        pytest.fail(f"{name} differs from the golden record:\n{diff}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: test_golden.py --update")
    os.makedirs(GOLDEN, exist_ok=True)
    for name, text in capture().items():
        with open(os.path.join(GOLDEN, name), "w") as f:
            f.write(text)
        print(f"wrote {os.path.join(GOLDEN, name)} ({len(text.splitlines())} lines)")
