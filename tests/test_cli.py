"""The command line: tlsweep one, config and --help, and the shipped configs."""
import glob
import os
import re
import subprocess

from tlstest import ROOT, one, run


def test_one_prints_the_documented_json_and_is_deterministic():
    a = one("--shift", "45", "--lambda", "0.5", "--n-target", "50", "--seed", "42", "--set", "train.epochs=20")
    b = one("--shift", "45", "--lambda", "0.5", "--n-target", "50", "--seed", "42", "--set", "train.epochs=20")
    for k in ("acc_scratch", "acc_direct", "acc_mmd", "mmd2_input", "mmd2_feat_before", "mmd2_feat_after",
              "pad_input", "pad_feat", "negative_transfer", "confusion_mmd", "ce_epoch", "finetune_ce"):
        assert k in a
    timing = {k for k in a if k.startswith("seconds_")}
    assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}
    assert a["status"] == "done" and len(a["ce_epoch"]) == 20 and len(a["finetune_ce"]) == 50
    assert 0.9 <= a["acc_scratch"] <= 1 and 0.85 <= a["acc_direct"] <= 1 and 0.9 <= a["acc_mmd"] <= 1
    assert a["mmd2_feat_after"] < a["mmd2_feat_before"]  # training with lambda > 0 aligns the domains
    assert a["negative_transfer"] == (a["acc_mmd"] < a["acc_scratch"])


def test_one_takes_an_axis_of_one_value_and_refuses_more():
    """tlsweep one uses an extra axis's one value (it was silently ignored)
    and refuses an axis of several: there is no one configuration to run."""
    def no_time(d):
        return {k: v for k, v in d.items() if not k.startswith("seconds_")}
    axis = no_time(one("--set", "grid.train.lr=[0.05]", "--set", "train.epochs=3"))
    key = no_time(one("--set", "train.lr=0.05", "--set", "train.epochs=3"))
    assert axis == key and axis != no_time(one("--set", "train.epochs=3"))
    p = run(["one", "--set", "grid.train.lr=[0.05, 0.1]"], check=False)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert "grid.train.lr: 2 values" in p.stderr and "allowed: one value" in p.stderr


def test_common_random_numbers_pair_lambdas():
    """Configurations that differ only in lambda see the same data and init:
    the SVM baselines and the input-space distances are identical."""
    a = one("--lambda", "0", "--set", "train.epochs=2")
    b = one("--lambda", "2", "--set", "train.epochs=2")
    for k in ("acc_scratch", "acc_direct", "mmd2_input", "mmd2_feat_before", "pad_input"):
        assert a[k] == b[k], k
    assert a["acc_mmd"] != b["acc_mmd"] or a["mmd2_feat_after"] != b["mmd2_feat_after"]


def test_help_documents_every_option():
    main = run(["--help"]).stdout
    for cmd in ("one", "run", "config", "status", "snapshot", "merge", "export", "exit status"):
        assert cmd in main, cmd
    options = {"one": ("--shift", "--lambda", "--n-target", "--seed", "--set"),
               "run": ("--set", "--part", "--force", "--resume", "--retry-failed", "--dry-run", "--drain-seconds",
                       "--time-limit", "--progress-seconds", "--batch", "-o"),
               "config": ("--set",), "status": ("FILE",), "snapshot": ("-o",), "merge": ("--allow-partial", "-o"),
               "export": ("-o", "--force", "pyarrow")}
    for cmd, opts in options.items():
        for flag in ("--help", "-h"):
            p = run([cmd, flag])
            assert p.stdout.startswith("usage: ") and p.stdout != main, (cmd, p.stdout)
            for opt in opts:
                assert opt in p.stdout, (cmd, opt)


def test_builtin_default_is_configs_default_yaml():
    builtin = run(["config"]).stdout.splitlines()[1:]
    shipped = run(["config", os.path.join(ROOT, "configs", "default.yaml")]).stdout.splitlines()[1:]
    assert builtin == shipped
    assert "= 120 configurations" in run(["config"]).stdout


def keys_of_config_text(text):
    """The dotted keys of `tlsweep config`'s canonical YAML (its key table, in order)."""
    keys, section = [], None
    for line in text.splitlines():
        m = re.match(r"^(\w+):$", line)
        if m:
            section = m.group(1)
        m = re.match(r"^  (?:# )?(\w+):", line)
        if m and section:
            keys.append(section + "." + m.group(1))
    return keys


def test_configs_readme_lists_every_key():
    """configs/README.md's key table names exactly the configuration's keys
    (src/keys.c): a new key is documented there, a removed one leaves it."""
    keys = keys_of_config_text(run(["config"]).stdout)
    assert len(keys) >= 40 and "grid.seed" in keys and "output.sync_seconds" in keys
    with open(os.path.join(ROOT, "configs", "README.md"), encoding="utf-8") as f:
        table = f.read().split("\n## Keys\n", 1)[1].split("\n## ", 1)[0]
    documented = []
    for row in table.splitlines():
        if row.startswith("| `"):
            documented += re.findall(r"`([\w.]+)`", row.split("|")[1])
    assert sorted(documented) == sorted(keys)


def test_every_shipped_config_is_valid():
    files = glob.glob(os.path.join(ROOT, "configs", "*.yaml"))
    assert len(files) >= 4
    for f in files:
        p = run(["config", f])
        assert "configurations" in p.stdout, f
    assert "= 1 configurations" in run(["config", os.path.join(ROOT, "configs", "seed-article.yaml")]).stdout
    assert "= 3600 configurations" in run(["config", os.path.join(ROOT, "configs", "cluster-large.yaml")]).stdout


def test_set_overrides_and_effective_config_roundtrips(tmp_path):
    p = run(["config", "--set", "grid.seed=[0,1,2]", "--set", "train.epochs=5", "--set", "svm.gamma=scale"])
    text = p.stdout
    assert "seed: [0, 1, 2]" in text and "epochs: 5" in text and "gamma: scale" in text
    f = tmp_path / "eff.yaml"
    f.write_text(text)
    q = run(["config", str(f)])
    assert q.stdout.splitlines()[1:] == text.splitlines()[1:]  # same config, same hash


def test_distance_points_subsample_the_distances_only():
    base = ["--set", "train.epochs=3", "--set", "data.n_source=3000"]
    full = one(*base)
    sub = one(*base, "--set", "mmd.distance_points=600")
    same = one(*base, "--set", "mmd.distance_points=3000")  # not fewer than the points: all of them
    for k in ("mmd2_input", "mmd2_feat_before", "mmd2_feat_after"):
        assert same[k] == full[k]
        assert sub[k] != full[k] and abs(sub[k] - full[k]) < 0.05 + 0.2 * abs(full[k]), (k, sub[k], full[k])
    for k in ("acc_scratch", "acc_direct", "acc_mmd", "pad_input", "pad_feat"):
        assert sub[k] == full[k], k  # training and everything else untouched


def test_numbers_print_in_their_shortest_exact_form():
    out = run(["one", "--set", "train.epochs=3"]).stdout
    assert '"acc_direct": 0.95,' in out, out  # 0.94999999999999996 before
    assert '"shift": 0.1,' in run(["one", "--set", "train.epochs=1", "--shift", "0.1"]).stdout
    cfg = run(["config", "--set", "train.lr=0.6", "--set", "data.source_std=0.3"]).stdout
    assert "lr: 0.6\n" in cfg and "source_std: 0.3\n" in cfg


def test_resume_message_names_the_launcher(tmp_path):
    """The commands the messages suggest start with the program as it was started (argv[0]:
    here the build tree's binary), not a literal `tlsweep` that is not on PATH in a clone."""
    from tlstest import BIN, mpirun
    grid = ["--set", "grid.seed=[0,1,2,3,4,5,6,7,8,9]", "--set", "train.epochs=200", "--time-limit", "6"]
    p = mpirun(2, ["run", "-o", str(tmp_path / "a.h5")] + grid, check=False)
    assert p.returncode == 75 and f"continue with: mpirun -n 2 {BIN} run -o {tmp_path}/a.h5 --resume" in p.stderr
    st = run(["status", str(tmp_path / "a.h5")], check=False)
    assert st.returncode == 75 and f"resumable with: {BIN} run -o {tmp_path}/a.h5 --resume" in st.stdout
    rel = os.path.relpath(BIN, tmp_path)  # as typed in another directory: ../../build/tlsweep
    st = subprocess.run([rel, "status", "a.h5"], cwd=tmp_path, capture_output=True, text=True)
    assert f"resumable with: {rel} run -o a.h5 --resume" in st.stdout, st.stdout
    p = mpirun(2, ["run", "-o", str(tmp_path / "b.h5")] + grid, check=False,
               extra_env={"TLSWEEP_RESUME_WITH": "jobs/local.sh"})
    assert p.returncode == 75 and f"continue with: jobs/local.sh -o {tmp_path}/b.h5 --resume" in p.stderr


def test_an_axis_of_one_value_is_said_to_be_held_fixed(tmp_path):
    """grid: {train.lr: [0.01]} adds a dimension of size 1 to every variable: config and run say
    so on stderr as they start, with the way to leave it out; an axis of several values, or a
    named axis of one, says nothing."""
    line = ("tlsweep: grid.train.lr has one value (0.01): held fixed, as a dimension train_lr of size 1 in the "
            "results file; without the dimension: train: {lr: 0.01}, or --set train.lr=0.01")
    p = run(["config", "--set", "grid.train.lr=[0.01]", "--set", "grid.seed=[3]"])
    assert p.stderr.splitlines() == [line]
    assert run(["config", "--set", "grid.train.lr=[0.01,0.1]"]).stderr == ""
    out = str(tmp_path / "r.h5")
    p = run(["run", "-o", out, "--set", "grid.train.lr=[0.01]", "--set", "grid.shift=[0]", "--set", "grid.lambda=[0]",
             "--set", "grid.n_target=[4]", "--set", "grid.seed=[0]", "--set", "train.epochs=1",
             "--set", "train.finetune_epochs=1", "--set", "baselines.target_epochs=2", "--set", "data.n_source=40",
             "--set", "data.n_test=20", "--set", "output.embeddings=false"])
    assert p.stderr.splitlines()[0] == line
    import h5py
    with h5py.File(out, "r") as f:
        assert f["acc_mmd"].shape == (1, 1, 1, 1, 1) and list(f["train_lr"][()]) == [0.01]


def test_status_before_the_sweep_has_started(tmp_path):
    """Before a sweep's state exists (a job still queued, a typo), status says the sweep may not
    have started yet, in one line."""
    p = run(["status", str(tmp_path / "r.h5")], check=False)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert "neither a results file nor a sweep's state" in p.stderr and "may not have started yet" in p.stderr


def test_range_in_a_flow_mapping(tmp_path):
    """grid: {seed: range(0, 40)}, as the short examples write grids: YAML splits the flow mapping at
    the range's comma, and tlsweep joins it back (it said "'range(0' is not range(START, STOP)")."""
    def config(text):
        f = tmp_path / "c.yaml"
        f.write_text(text)
        return run(["config", str(f)], check=False)
    block = config("grid:\n  seed: range(0, 40)\n  shift: [0, 90]\n").stdout.splitlines()[1:]
    for text in ("grid: {seed: range(0, 40), shift: [0, 90]}\n", "grid: {shift: [0, 90], seed: range(0,40)}\n"):
        p = config(text)
        assert p.returncode == 0 and p.stdout.splitlines()[1:] == block, (text, p.stderr)
    p = config("grid: {seed: range(0, 40, 2)}\n")
    assert p.returncode == 0 and "seed: [0, 2, 4," in p.stdout and " 20 seed = " in p.stdout
    p = config("grid: {seed: range(0, 40}\n")
    assert p.returncode == 2 and "'range(0, 40' is not range(START, STOP)" in p.stderr


def test_range_is_the_list_it_stands_for(tmp_path):
    """grid.KEY: range(START, STOP[, STEP]) gives the values of the list it
    stands for: the same canonical text and hash; an axis of 1000 or more
    values in arithmetic progression prints as a range either way, so a
    million seeds stay one line in the stored configuration and parse back."""
    def config(*sets):
        return run(["config"] + [a for s in sets for a in ("--set", s)]).stdout.splitlines()[1:]

    assert config("grid.seed=range(0, 10, 3)") == config("grid.seed=[9, 3, 6, 0]")
    assert config("grid.shift=range(180, -1, -45)") == config("grid.shift=[0, 45, 90, 135, 180]")
    assert "  seed: [0, 3, 6, 9]" in config("grid.seed=range(0, 10, 3)")
    listed = "[" + ",".join(str(s) for s in range(5, 2005, 2)) + "]"
    text = config("grid.seed=" + listed)
    assert text == config("grid.seed=range(5, 2004, 2)") and "  seed: range(5, 2005, 2)" in text
    # not a progression: a list
    assert "  seed: [0, 5, 7," in "\n".join(config("grid.seed=[0," + listed[1:]))
    f = tmp_path / "eff.yaml"
    f.write_text("\n".join(text) + "\n")
    assert run(["config", str(f)]).stdout.splitlines()[1:] == text
    big = config("grid.seed=range(0, 1000000)", "grid.shift=[0]", "grid.lambda=[0]", "grid.n_target=[10]")
    assert "  seed: range(0, 1000000)" in big and big[-2].endswith("= 1000000 configurations")


def test_range_printing_keeps_earlier_hashes():
    """The hash is over the axis written out, as before range() existed: a
    sweep started by an earlier tlsweep (1000 seeds written as a list)
    resumes, and its stored hash matches. 0ebc863957237551 is what tlsweep
    printed for this configuration at 58e8878, the commit before range().
    A list holding -0 is not the range that gives 0: it stays a list, and
    its hash differs."""
    def config(*sets):
        return run(["config"] + [a for s in sets for a in ("--set", s)]).stdout
    listed = "[" + ",".join(str(s) for s in range(1000)) + "]"
    for text in (config("grid.seed=range(0, 1000)"), config("grid.seed=" + listed)):
        assert "# config_hash: 0ebc863957237551" in text and "  seed: range(0, 1000)" in text
    minus0 = config("grid.shift=[-0.0," + ",".join(str(s) for s in range(1, 1000)) + "]")
    assert "  shift: [-0," in minus0
    h = [ln for ln in minus0.splitlines() if ln.startswith("# config_hash")]
    assert h and h[0] not in config("grid.shift=range(0, 1000)")
