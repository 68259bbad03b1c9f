"""Results do not depend on the compiler: tlsweep built by clang
(scripts/test.sh makes it in build-clang/) prints, for configurations across
the grid, exactly what the GCC build prints, and its numerical tests pass.
This holds because the kernels fix their operation order and their use of
fused multiply-adds (docs/performance.md: same bits)."""
import json
import os
import subprocess

import pytest

from tlstest import BIN, ROOT, one

CLANG = os.environ.get("TLSWEEP_CLANG_BUILD", os.path.join(ROOT, "build-clang"))
pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(CLANG, "tlsweep")),
                                reason="no clang build (scripts/test.sh makes build-clang/)")

CONFIGS = [["--shift", "45", "--lambda", "0.5", "--n-target", "50", "--seed", "42"],
           ["--shift", "90", "--lambda", "1", "--n-target", "10", "--seed", "3"],
           ["--shift", "135", "--lambda", "0.1", "--n-target", "100", "--seed", "7",
            "--set", "train.epochs=30"]]


def results(binary, args):
    return {k: v for k, v in one(*args, binary=binary).items() if not k.startswith("seconds")}


@pytest.mark.parametrize("args", CONFIGS, ids=lambda a: "_".join(a[1:8:2]))
def test_clang_and_gcc_builds_agree_bit_for_bit(args):
    gcc, clang = results(BIN, args), results(os.path.join(CLANG, "tlsweep"), args)
    assert gcc.keys() == clang.keys()
    differ = [k for k in gcc if json.dumps(gcc[k]) != json.dumps(clang[k])]  # NaN equals NaN here
    assert not differ, {k: (gcc[k], clang[k]) for k in differ}


def test_clang_build_numerics():
    p = subprocess.run([os.path.join(CLANG, "tests", "test_numerics")], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-2000:]
    assert " 0 failed" in p.stdout
