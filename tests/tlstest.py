"""Shared helpers for tlsweep's Python tests: run the real binary, with
mpirun at the rank counts a test needs."""
import hashlib
import json
import os
import subprocess

import h5py
import numpy as np

BIN = os.environ.get("TLSWEEP_BIN", os.path.join(os.path.dirname(__file__), "..", "build", "tlsweep"))
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# a tiny grid that still exercises every axis
TINY = ["--set", "grid.shift=[0,90]", "--set", "grid.lambda=[0,1]", "--set", "grid.n_target=[4,10]",
        "--set", "grid.seed=[0,1]", "--set", "train.epochs=3", "--set", "train.finetune_epochs=2",
        "--set", "data.n_source=120", "--set", "data.n_test=40"]

# fields that legitimately differ between runs: who computed (these) and how long it took
# (every variable in seconds: units "s", volatile() below)
NONDETERMINISTIC = {"rank", "host", "hosts"}


def volatile(path):
    """The variables of a results file that differ between runs of the same configurations:
    who computed them and every wall time (units "s")."""
    out = set(NONDETERMINISTIC)
    with h5py.File(path, "r") as f:
        def see(name, obj):
            u = obj.attrs.get("units") if isinstance(obj, h5py.Dataset) else None
            if (u.decode() if isinstance(u, bytes) else u) == "s":
                out.add(name.split("/")[-1])
        f.visititems(see)
    return out


def env(**extra):
    e = dict(os.environ)
    e.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
             OMPI_MCA_rmaps_base_oversubscribe="1")
    e.update(extra)
    return e


def run(args, check=True, timeout=600, binary=BIN, **kw):
    p = subprocess.run([binary] + list(args), capture_output=True, text=True, env=env(),
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"tlsweep {' '.join(args)} exited {p.returncode}\n{p.stderr}")
    return p


def mpirun(n, args, check=True, timeout=600, extra_env=None, **kw):
    cmd = ["mpirun", "-q", "-n", str(n), "--oversubscribe", BIN] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env(**(extra_env or {})), timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\n{p.stderr}")
    return p


# a small, fast network and data set: for the tests of what runs, not of what it learns
FAST = ["--set", "train.epochs=6", "--set", "train.finetune_epochs=3", "--set", "baselines.target_epochs=30",
        "--set", "data.n_source=100", "--set", "data.n_test=50", "--set", "output.embeddings=false",
        "--set", "output.sync_seconds=0.05"]


def baseline_run(tmp_path_factory, args, name="base.h5", ranks=2):
    """A module's reference run: (path, result digest, stderr)."""
    path = str(tmp_path_factory.mktemp("base") / name)
    p = mpirun(ranks, ["run", "-o", path] + list(args))
    return path, result_digest(path), p.stderr


def one(*args, binary=BIN):
    return json.loads(run(["one"] + list(args), binary=binary).stdout)


def datasets(path):
    """Every dataset of a results file as {name: numpy array}."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def result_digest(path):
    """Hash of every result dataset, bit for bit, leaving out timing, rank and host."""
    h, skip = hashlib.sha256(), volatile(path)
    for name, arr in sorted(datasets(path).items()):
        if name.split("/")[-1] in skip:
            continue
        h.update(name.encode())
        if arr.dtype == object:  # variable-length strings: their text, not pointers
            h.update("\x00".join(x.decode() if isinstance(x, bytes) else str(x) for x in arr.ravel()).encode())
        else:
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def tree_snapshot(d):
    """Names, sizes and mtimes of everything under d: to show nothing was written."""
    snap = []
    for root, dirs, files in os.walk(d):
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            st = os.stat(p)
            snap.append((p, st.st_size, st.st_mtime_ns))
    return sorted(snap)


# ---- journal records (journal.h: a 40-byte header, then tls_record_meta, tls_scalars, arrays) ----
JOURNAL_HEADER = "<IHHQqQII"  # magic, version, header bytes, sweep id, index, payload bytes, crc, zero
META_BYTES = 96  # tls_record_meta: index, rank, reserved, seconds, finished, host[64]
# offsets inside tls_scalars (include/tlsweep/result.h)
SCALAR = {"acc": 0, "seconds": 80, "negative_transfer": 120, "negative_transfer_mlp": 124, "status": 128,
          "mstatus": 132, "seconds_ts": 536}
SCALARS_BYTES = 544  # sizeof(tls_scalars), result.h's static assertion


def journal_bytes(state):
    """The bytes in a state directory's journals (0 before it exists): > 0 once a record is in."""
    if not os.path.isdir(state):
        return 0
    return sum(os.path.getsize(os.path.join(state, x)) for x in os.listdir(state) if x.startswith("journal-"))


def journal_records(path):
    """[(offset, header tuple, payload bytes)] of a journal file."""
    import struct
    data = open(path, "rb").read()
    out, at = [], 0
    while at + 40 <= len(data):
        h = struct.unpack_from(JOURNAL_HEADER, data, at)
        out.append((at, h, data[at + 40:at + 40 + h[5]]))
        at += 40 + h[5]
    return out


def rewrite_record(path, i, edit):
    """Rewrites record i of a journal with edit(bytearray payload) applied and a valid CRC: what a
    journal damaged or forged with intact framing looks like."""
    import struct
    import zlib
    recs = journal_records(path)
    at, h, payload = recs[i]
    p = bytearray(payload)
    edit(p)
    head = bytearray(struct.pack(JOURNAL_HEADER, h[0], h[1], h[2], h[3], h[4], len(p), 0, 0))
    crc = zlib.crc32(bytes(p), zlib.crc32(bytes(head)))
    struct.pack_into(JOURNAL_HEADER, head, 0, h[0], h[1], h[2], h[3], h[4], len(p), crc, 0)
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(bytes(head) + bytes(p))
