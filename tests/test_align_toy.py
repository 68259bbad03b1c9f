"""What adding an alignment loss takes (docs/HACKING.md): src/align.c alone. tests/align_toy.py
adds the toy loss of tests/align_toy.c to a copy of it (its functions and its row), and tlsweep and
test_numerics linked with that copy (tests/CMakeLists.txt: tlsweep_align_toy,
test_numerics_align_toy) accept the loss, run it and check it -- no other file changed."""
import difflib
import json
import os
import subprocess

import pytest

from tlstest import BIN, ROOT, run

TOY_BIN = os.environ.get("TLSWEEP_ALIGN_TOY_BIN", "")
TOY_NUMERICS = os.environ.get("TLSWEEP_ALIGN_TOY_NUMERICS", "")
TOY_SRC = os.environ.get("TLSWEEP_ALIGN_TOY_SRC", "")
pytestmark = pytest.mark.skipif(not os.path.exists(TOY_BIN), reason="no tlsweep_align_toy (ctest sets it)")
SMALL = ["--set", "train.epochs=6", "--set", "train.finetune_epochs=3", "--set", "baselines.target_epochs=10",
         "--set", "data.n_source=120", "--set", "data.n_test=40", "--shift", "90"]


def one(binary, *args):
    p = run(["one", *SMALL, *args], binary=binary, check=False)
    assert p.returncode in (0, 3), p.stderr
    return {k: v for k, v in json.loads(p.stdout).items() if not k.startswith("seconds")}


def test_align_c_only_grows():
    with open(os.path.join(ROOT, "src", "align.c")) as f, open(TOY_SRC) as g:
        diff = list(difflib.ndiff(f.read().split("\n"), g.read().split("\n")))
    assert not [d for d in diff if d.startswith("- ")]
    added = [d[2:] for d in diff if d.startswith("+ ")]
    assert '    {"toy", "toy", toy_work_floats, 0, toy_step},' in added


def test_numerics_checks_the_new_row_with_every_other():
    p = subprocess.run([TOY_NUMERICS], capture_output=True, text=True)
    assert p.returncode == 0 and " 0 failed" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    assert "alignment methods: mmd coral dann none toy" in p.stdout


def test_config_accepts_and_lists_it():
    p = run(["config", "--set", "align.loss=toy"], binary=TOY_BIN)
    assert "toy" in p.stdout
    p = run(["config", "--set", "align.loss=tyo"], binary=TOY_BIN, check=False)
    assert p.returncode == 2 and "allowed: mmd, coral, dann, none or toy" in p.stderr, p.stderr
    p = run(["config", "--set", "align.loss=toy"], check=False)  # tlsweep itself has no such loss
    assert p.returncode == 2 and "allowed: mmd, coral, dann or none" in p.stderr


def test_it_trains_the_transfer_network():
    mmd0, toy0 = one(BIN, "--lambda", "0"), one(TOY_BIN, "--lambda", "0", "--set", "align.loss=toy")
    # at lambda 0 the loss is only recorded: every other result is the article's method's
    assert {k: v for k, v in mmd0.items() if k != "mmd2_epoch"} == \
        {k: v for k, v in toy0.items() if k != "mmd2_epoch"}
    assert toy0["mmd2_epoch"] != mmd0["mmd2_epoch"] and all(v > 0 for v in toy0["mmd2_epoch"])
    toy = one(TOY_BIN, "--lambda", "5", "--set", "align.loss=toy")
    assert toy["status"] == "done" and toy["ce_epoch"] != toy0["ce_epoch"]
    assert toy["mmd2_epoch"][-1] < 0.5 * toy0["mmd2_epoch"][-1]  # it pulls the feature means together
