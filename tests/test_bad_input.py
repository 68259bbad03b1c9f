"""Bad input: one clear line (WHERE: key: what is wrong; allowed: ...), exit
status 2, and nothing written. The corpus under tests/bad_input/ holds one
file per mistake; its first line says `# expect: LINE KEY MESSAGE`."""
import glob
import os
import re
import subprocess

import numpy as np
import pytest

from tlstest import BIN, ROOT, env, mpirun, run, tree_snapshot

CORPUS = sorted(glob.glob(os.path.join(ROOT, "tests", "bad_input", "*.yaml")))


def expectation(path):
    with open(path) as f:
        m = re.match(r"# expect: (\d+) (\([^)]*\)|\S+) (.*)", f.readline())
    assert m, f"{path}: first line must be '# expect: LINE KEY MESSAGE'"
    return int(m.group(1)), m.group(2), m.group(3).strip()


def assert_one_clear_line(p, *parts):
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])
    assert "allowed" in lines[0], lines[0]
    assert p.stdout == ""


def test_corpus_is_not_empty():
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: os.path.basename(p)[:-5])
def test_bad_config_file(path, tmp_path):
    line, key, message = expectation(path)
    out = tmp_path / "out.h5"
    before = tree_snapshot(tmp_path)
    p = run(["run", path, "-o", str(out)], check=False)  # MPI singleton
    assert_one_clear_line(p, f"{path}:{line}: {key}: ", message)
    assert tree_snapshot(tmp_path) == before  # nothing written
    # the same message, from the serial commands too
    q = run(["config", path], check=False)
    assert_one_clear_line(q, f"{path}:{line}: {key}: ", message)


@pytest.mark.parametrize("name", ["negative_lambda", "yaml_syntax", "unknown_key"])
def test_bad_config_file_under_mpirun(name, tmp_path):
    """Two ranks read the file; only rank 0 speaks, once."""
    path = os.path.join(ROOT, "tests", "bad_input", name + ".yaml")
    line, key, message = expectation(path)
    p = mpirun(2, ["run", path, "-o", str(tmp_path / "out.h5")], check=False)
    assert_one_clear_line(p, f"{path}:{line}: {key}: ", message)
    assert list(tmp_path.iterdir()) == []


SET_CASES = [
    (["--set", "train.epochs"], "--set train.epochs: --set expects KEY=VALUE"),
    (["--set", "train.epochs", "5"], "--set expects KEY=VALUE; allowed: e.g. --set train.epochs=5"),
    (["--set", "=5"], "--set: expected KEY=VALUE"),
    (["--set", "train.epoch=5"], "did you mean train.epochs"),
    (["--set", "train.epochs=lots"], "--set train.epochs=lots: train.epochs: 'lots' is not an integer"),
    (["--set", "grid.seed=[0,1"], "YAML syntax error"),
    (["--set", "grid.seed=[0,1] garbage"], "YAML syntax error"),
    (["--set", "grid.train.lr=[0.1,0.1]"], "grid.train.lr: element 2 (0.1) repeats element 1"),
    (["--set", "grid.output.sync_seconds=[1,2]"], "cannot be swept"),
    (["--set", "grid.seed=[]"], "grid.seed: empty list"),
    (["--set", "grid.lambda=[0,-1]"], "grid.lambda: element 2: -1 is out of range"),
    (["--set", "train.lr=1000.0001"], "train.lr: 1000.0001 is out of range; allowed: a number in (0, 1000]"),
    (["--set", "grid.lambda=[0,1000001]"], "element 2: 1000001 is out of range; allowed: a non-empty list of distinct numbers from 0 to 1000000"),
    (["--set", "align.target_batch=-1"], "align.target_batch: -1 is out of range; allowed: all"),
    (["--set", "grid.data.n_source=[-1, 10]"], "grid.data.n_source: element 1: -1 is out of range"),
    (["--set", "grid.seed=[x]"], "--set grid.seed=[x]: grid.seed: element 1: 'x' is not an integer"),
    (["--set", "grid.train.lr=[0.1,x]"], "grid.train.lr: element 2: 'x' is not a number"),
    (["--set", "svm.gamma=scalee"], "svm.gamma: 'scalee' is not auto, scale or a number"),
    (["--set", "train.lr="], "train.lr: no value given"),
    # did-you-mean: a swept key without its section, a named axis misspelt, a word of an enum
    (["--set", "grid.lr=[0.1,0.2]"], "grid.lr: unknown key; did you mean grid.train.lr?"),
    (["--set", "grid.sed=[0,1]"], "grid.sed: unknown key; did you mean grid.seed?"),
    (["--set", "data.shift_kind=lable"], "'lable' is not one of its words; did you mean label? allowed: rotation"),
    # Hydra's comma list: how to sweep the key instead
    (["--set", "train.lr=0.001,0.01"], "'0.001,0.01' is not a number; to sweep it: --set 'grid.train.lr=[0.001, 0.01]'"),
    (["--set", "grid.seed=0,1,2"], "to sweep it: --set 'grid.seed=[0, 1, 2]'"),
    # the key the user set is blamed, not the built-in default it collides with
    (["--set", "data.shift_kind=label"], "data.shift_kind: label makes the shift a share in [0, 1] of class 0, and the "
     "built-in grid.shift holds 45; allowed: grid.shift with numbers from 0 to 1 as well"),
]


@pytest.mark.parametrize("args,message", SET_CASES, ids=[c[0][1] for c in SET_CASES])
def test_bad_set(args, message, tmp_path):
    before = tree_snapshot(tmp_path)
    p = run(["run", "-o", str(tmp_path / "o.h5")] + args, check=False)
    assert_one_clear_line(p, message)
    assert tree_snapshot(tmp_path) == before


OPTION_CASES = [
    (["one", "--lambda", "-1"], "--lambda: '-1' is not allowed"),
    (["one", "--shift", "nan"], "--shift: 'nan' is not allowed"),
    (["one", "--n-target", "1"], "--n-target: 1 is below data.classes"),
    (["one", "--set", "data.shift_kind=label"], "tlsweep one: --shift 45 (the default): 45 is not a share in [0, 1]"),
    (["one", "--set", "data.shift_kind=label", "--shift", "2"], "tlsweep one: --shift 2: 2 is not a share"),
    (["one", "--seed", "x"], "--seed: 'x' is not allowed"),
    (["one", "--bogus"], "unknown option --bogus"),
    (["one", "--shift"], "--shift needs a value"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["one", "/nonexistent/config.yaml"], "/nonexistent/config.yaml: (file): cannot read the configuration"),
    (["status"], "missing FILE"),
]


@pytest.mark.parametrize("args,message", OPTION_CASES, ids=[" ".join(c[0]) for c in OPTION_CASES])
def test_bad_command_line(args, message):
    assert_one_clear_line(run(args, check=False), message)


@pytest.mark.parametrize("args,message", [(["run", "--bogus"], "unknown option --bogus"),
                                          (["run", "--batch=-3"], "--batch: '-3' is not allowed"),
                                          (["frobnicate"], "unknown command 'frobnicate'")])
def test_bad_command_line_under_mpirun_is_said_once(args, message, tmp_path):
    """Every rank reads the command line before MPI starts: only rank 0 says what is wrong."""
    p = mpirun(3, args + ["-o", str(tmp_path / "out.h5")], check=False)
    assert_one_clear_line(p, message)
    assert list(tmp_path.iterdir()) == []


def test_missing_output_directory(tmp_path):
    p = mpirun(1, ["run", "-o", str(tmp_path / "no" / "such" / "r.h5")], check=False)
    assert_one_clear_line(p, "does not exist")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "afile").write_text("")  # a file where the directory should be
    p = mpirun(1, ["run", "-o", str(tmp_path / "afile" / "r.h5")], check=False)
    assert_one_clear_line(p, f"output directory {tmp_path / 'afile'} is not a directory")
    assert [x.name for x in tmp_path.iterdir()] == ["afile"]


def test_refuses_a_sweep_larger_than_the_free_disk(tmp_path):
    # 10^7 source points with embeddings: over a GiB per configuration
    p = mpirun(1, ["run", "-o", str(tmp_path / "r.h5"), "--set", "data.n_source=10000000",
                   "--set", "grid.seed=[0,1,2,3,4,5,6,7,8,9]", "--set", "grid.shift=[0,1,2,3,4,5,6,7,8,9]"],
               check=False)
    assert_one_clear_line(p, "GiB free", "--force")
    assert list(tmp_path.iterdir()) == []


def test_status_of_a_foreign_file(tmp_path):
    f = tmp_path / "foreign.h5"
    f.write_bytes(b"not hdf5 at all")
    assert_one_clear_line(run(["status", str(f)], check=False), "not a tlsweep results file")


@pytest.mark.parametrize("hints, message", [("romio_cb_write", "is not KEY=VALUE"),
                                            ("=enable", "is not KEY=VALUE"),
                                            ("striping_factor=", "is not KEY=VALUE"),
                                            ("a=b," + "x" * 1100 + "=1", "longer than")])
def test_bad_mpiio_hints_are_refused_before_any_work(hints, message, tmp_path):
    """The hints are read when the file is created, at the end of the sweep:
    a mistake must be caught before the first configuration, not after all."""
    p = mpirun(2, ["run", "-o", str(tmp_path / "r.h5")], check=False,
               extra_env={"TLSWEEP_MPIIO_HINTS": hints})
    assert_one_clear_line(p, "TLSWEEP_MPIIO_HINTS", message)
    assert list(tmp_path.iterdir()) == []


def test_a_setup_error_on_one_rank_ends_every_rank(tmp_path):
    """Rank 1 cannot read the data files (given with --set, they are relative
    to its working directory, which lacks them): every rank ends, with that
    rank's message printed once and status 2, instead of rank 0 waiting
    forever."""
    import subprocess
    import h5py
    import numpy as np
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "data").mkdir(parents=True)
    b.mkdir()
    rng = np.random.default_rng(0)
    for name in ("src", "tgt"):
        with h5py.File(a / "data" / f"{name}.h5", "w") as f:
            f["X"] = rng.standard_normal((60, 2)).astype(np.float32)
            f["y"] = np.repeat([0, 1], 30).astype(np.int32)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: {n_test: 20}\n"
                   "grid: {n_target: [4], seed: [0], shift: [0], lambda: [0]}\ntrain: {epochs: 1, finetune_epochs: 1}\n")
    out = str(tmp_path / "r.h5")
    from tlstest import env as tenv, BIN
    exe = os.path.abspath(BIN)
    files = ["--set", "data.source=data/src.h5", "--set", "data.target=data/tgt.h5"]
    cmd = ["mpirun", "-q", "-n", "1", "-wdir", str(a), exe, "run", str(cfg), "-o", out] + files + [":",
           "-n", "1", "-wdir", str(b), exe, "run", str(cfg), "-o", out] + files
    p = subprocess.run(cmd, capture_output=True, text=True, env=tenv(), timeout=120)
    assert_one_clear_line(p, "data/src.h5: data.source: cannot read the file")
    assert not os.path.exists(out) and not os.path.exists(out + ".tlsweep.d")


def test_data_paths_in_a_file_are_read_from_its_directory(tmp_path):
    """Relative data paths written in a configuration file are read from that file's directory, wherever tlsweep
    runs (given with --set: from the current directory); a missing file's message names the path searched and the
    line that set it."""
    import h5py
    (tmp_path / "exp" / "data").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    rng = np.random.default_rng(0)
    for name in ("src", "tgt"):
        with h5py.File(tmp_path / "exp" / "data" / f"{name}.h5", "w") as f:
            f["X"] = rng.standard_normal((60, 2)).astype(np.float32)
            f["y"] = np.repeat([0, 1], 30).astype(np.int32)
    cfg = tmp_path / "exp" / "c.yaml"
    cfg.write_text("data:\n  source: data/src.h5\n  target: data/tgt.h5\n  n_test: 20\n"
                   "grid: {n_target: [4], seed: [0], shift: [0], lambda: [0]}\n")
    for cwd, path in ((tmp_path / "elsewhere", "../exp/c.yaml"), (tmp_path, "exp/c.yaml"), (tmp_path / "exp", "c.yaml")):
        p = subprocess.run([os.path.abspath(BIN), "run", path, "--dry-run", "-o", str(tmp_path / "o.h5")],
                           cwd=cwd, capture_output=True, text=True, env=env())
        assert p.returncode == 0, (cwd, p.stderr)
    p = subprocess.run([os.path.abspath(BIN), "config", "../exp/c.yaml"], cwd=tmp_path / "elsewhere",
                       capture_output=True, text=True, env=env())
    assert 'source: "../exp/data/src.h5"' in p.stdout, p.stdout
    cfg.write_text(cfg.read_text().replace("data/tgt.h5", "data/nope.h5"))
    p = subprocess.run([os.path.abspath(BIN), "run", "../exp/c.yaml", "--dry-run", "-o", str(tmp_path / "o.h5")],
                       cwd=tmp_path / "elsewhere", capture_output=True, text=True, env=env())
    assert_one_clear_line(p, "../exp/data/nope.h5: data.target (set at ../exp/c.yaml:3): cannot read the file")
    # --set: from the current directory, as a shell user expects
    p = subprocess.run([os.path.abspath(BIN), "run", "c.yaml", "--dry-run", "-o", str(tmp_path / "o.h5"),
                        "--set", "data.target=data/tgt.h5"], cwd=tmp_path / "exp", capture_output=True, text=True,
                       env=env())
    assert p.returncode == 0, p.stderr
