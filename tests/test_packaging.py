"""Install and packaging:

* `cmake --install` of the test build tree into a temporary prefix: the
  binary, tlsweep-report, the configs, the job scripts, the analysis package,
  the docs and the man page generated from the binary;
* the .deb CPack builds from the same rules: its control fields, and the
  unpacked package's tlsweep (--version, a one-configuration sweep under
  mpirun) and tlsweep-report;
* pyproject.toml: the analysis package installed offline into a venv made with
  --system-site-packages, then tlsweep-report run from it outside the
  repository;
* packaging/spack/package.py (Spack itself cannot run here): its depends_on()
  list against what CMakeLists.txt looks for, and its cmake_args() and smoke
  tests run with a stand-in for Spack's API against the build tree's binary.
"""
import ast
import glob
import os
import re
import shutil
import subprocess
import sys
import tomllib
import types

import pytest

from tlstest import BIN, ROOT, env

BUILD = os.environ.get("TLSWEEP_BUILD_TREE") or os.path.dirname(os.path.abspath(BIN))
CMAKELISTS = os.path.join(ROOT, "CMakeLists.txt")
RECIPE = os.path.join(ROOT, "packaging", "spack", "package.py")
TINY = ["--set", "grid.shift=[0]", "--set", "grid.lambda=[0]", "--set", "grid.n_target=[4]", "--set", "grid.seed=[0]",
        "--set", "train.epochs=1", "--set", "train.finetune_epochs=1", "--set", "data.n_source=40",
        "--set", "data.n_test=20"]
JOB_SCRIPTS = ["local.sh", "sweep.sbatch", "sweep-array.sbatch", "submit-array.sh"]


def project_version():
    m = re.search(r"project\(\s*tlsweep\s+VERSION\s+([0-9.]+)", open(CMAKELISTS).read())
    assert m, "no project(tlsweep VERSION ...) in CMakeLists.txt"
    return m.group(1)


def tiny_sweep(binary, workdir, out="tiny.h5"):
    p = subprocess.run(["mpirun", "-q", "-n", "1", binary, "run"] + TINY + ["-o", out], cwd=workdir,
                       capture_output=True, text=True, env=env(), timeout=120)
    assert p.returncode == 0, p.stderr
    status = subprocess.run([binary, "status", out], cwd=workdir, capture_output=True, text=True, env=env())
    assert status.returncode == 0 and "1 done" in status.stdout and "complete" in status.stdout, status.stdout
    return os.path.join(workdir, out)


def python_files(top):
    """Every file under top (the analysis package and its subpackages), relative to it, without bytecode."""
    found = []
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        found += [os.path.relpath(os.path.join(root, f), top) for f in files if not f.endswith(".pyc")]
    return sorted(found)


def check_layout(prefix, docdir="share/doc/tlsweep"):
    """What the install rules put under prefix (a cmake --install prefix or the unpacked /usr)."""
    for rel in ["bin/tlsweep", "bin/tlsweep-report"] + [f"share/tlsweep/jobs/{j}" for j in JOB_SCRIPTS]:
        path = os.path.join(prefix, rel)
        assert os.access(path, os.X_OK), f"{rel} missing or not executable"
    shipped = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "configs", "*")))
    installed = sorted(os.listdir(os.path.join(prefix, "share", "tlsweep", "configs")))
    assert installed == shipped
    shipped = python_files(os.path.join(ROOT, "analysis"))
    installed = python_files(os.path.join(prefix, "share", "tlsweep", "python", "analysis"))
    assert installed == shipped and "report/figures/accuracy.py" in shipped
    for doc in ("README.md", "LICENSE", "FORMAT.md", "tlsweep-help.txt"):
        assert os.path.isfile(os.path.join(prefix, docdir, doc)), doc
    # the installed README's links into docs/ find their pages and pictures
    readme = open(os.path.join(prefix, docdir, "README.md"), encoding="utf-8").read()
    targets = set(re.findall(r"\]\((docs/[^)#\s]+)", readme))
    assert "docs/findings/remedies.md" in targets, sorted(targets)
    for t in sorted(targets):
        assert os.path.isfile(os.path.join(prefix, docdir, t)), f"README links to {t}, not installed"
    # the help text is the binary's
    main_help = subprocess.run([os.path.join(prefix, "bin", "tlsweep"), "--help"], capture_output=True,
                               text=True).stdout
    assert open(os.path.join(prefix, docdir, "tlsweep-help.txt")).read().startswith(main_help)
    man = os.path.join(prefix, "share", "man", "man1", "tlsweep.1")
    assert os.path.isfile(man), "no man page (help2man missing when the build tree was configured?)"
    text = open(man).read()
    assert re.search(r'^\.TH TLSWEEP "1" ".*" "tlsweep ' + re.escape(project_version()), text, re.M), text[:300]
    assert "tlsweep run" in text and ".SH \"SEE ALSO\"" in text
    # tlsweep-report finds the analysis package next to it, from any directory
    p = subprocess.run([os.path.join(prefix, "bin", "tlsweep-report"), "--help"], capture_output=True, text=True,
                       cwd="/", env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert p.returncode == 0 and "results" in p.stdout, p.stderr
    assert p.stdout.startswith("usage: tlsweep-report "), p.stdout[:200]  # its own name, not python3 -m ...


# ---- the docs generated from the binary


FAKE = r"""#!/bin/sh
# a tlsweep whose run command has help of its own, one that prints the global
# help and merge that refuses --help
main='usage: tlsweep COMMAND [OPTIONS]

commands:
  one     run one configuration
  run     run a sweep
  merge   merge parts

exit status: 0 complete'
case "$1 $2" in
"--help "|"one --help") echo "$main" ;;
"--version ") echo "tlsweep 9.8.7" ;;
"run --help") printf 'usage: tlsweep run [CONFIG]\n.starts with a dot\n  --set K=V   a backslash \\\\ here\n' ;;
*) echo "tlsweep: unknown option" >&2; exit 2 ;;
esac
"""


def test_help_docs_follow_the_commands(tmp_path):
    fake = tmp_path / "tlsweep"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    cmd = ["cmake", f"-DTLSWEEP={fake}", f"-DOUT={tmp_path}", "-P", os.path.join(ROOT, "packaging", "help-docs.cmake")]
    help2man = shutil.which("help2man")
    if help2man:
        cmd.insert(1, f"-DHELP2MAN={help2man}")
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "tlsweep-help.txt").read_text()
    assert text.startswith("usage: tlsweep COMMAND")
    assert "$ tlsweep run --help" in text and ".starts with a dot" in text
    assert "tlsweep one --help" not in text and "tlsweep merge --help" not in text
    if help2man:
        man = (tmp_path / "tlsweep.1").read_text()
        assert '.SH "COMMAND RUN"' in man and "\\&.starts with a dot" in man and "\\e" in man
        assert '"tlsweep 9.8.7"' in man


# ---- cmake --install


def test_cmake_install(tmp_path):
    prefix = tmp_path / "prefix"
    p = subprocess.run(["cmake", "--install", BUILD, "--prefix", str(prefix)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    check_layout(str(prefix))
    v = subprocess.run([str(prefix / "bin" / "tlsweep"), "--version"], capture_output=True, text=True)
    assert v.stdout.split()[:2] == ["tlsweep", project_version()], v.stdout  # then maybe "(commit ...)"


# ---- the Debian package


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    if not shutil.which("dpkg-shlibdeps"):
        pytest.skip("dpkg-dev is not installed (scripts/setup.sh test installs it)")
    d = tmp_path_factory.mktemp("deb")
    p = subprocess.run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", str(d)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    path = d / f"tlsweep_{project_version()}_{arch}.deb"
    assert path.is_file(), sorted(os.listdir(d))
    root = d / "root"
    subprocess.run(["dpkg-deb", "-x", str(path), str(root)], check=True)
    return path, root


def test_deb_control(deb):
    path, _ = deb
    info = subprocess.run(["dpkg-deb", "-f", str(path)], capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", info, re.M))
    assert fields["Package"] == "tlsweep" and fields["Version"] == project_version()
    depends = fields["Depends"]
    # from dpkg-shlibdeps: the libraries the binary links, plus mpirun
    for pkg in ("openmpi-bin", "libopenmpi", "libhdf5-openmpi", "libsvm", "libyaml", "libopenblas", "libc6"):
        assert pkg in depends, f"{pkg} not in Depends: {depends}"
    assert "python3-xarray" in fields.get("Recommends", "")
    files = subprocess.run(["dpkg-deb", "-c", str(path)], capture_output=True, text=True, check=True).stdout
    assert "./usr/bin/tlsweep\n" in files and "./usr/share/tlsweep/python/analysis/report/figures/tsne.py" in files
    assert "/usr/lib/python3" not in files  # no top-level "analysis" module in Python's own path
    if shutil.which("apt-get"):  # its dependencies resolve (a simulation: nothing is installed)
        p = subprocess.run(["apt-get", "-s", "install", str(path)], capture_output=True, text=True)
        assert p.returncode == 0 and "Inst tlsweep (" in p.stdout, p.stdout + p.stderr


def test_deb_unpacked_runs(deb, tmp_path):
    _, root = deb
    usr = str(root / "usr")
    check_layout(usr)
    binary = os.path.join(usr, "bin", "tlsweep")
    v = subprocess.run([binary, "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.split()[:2] == ["tlsweep", project_version()], v.stdout
    tiny_sweep(binary, str(tmp_path))
    # the installed workstation launcher finds the installed binary (not on PATH here)
    e = {k: v for k, v in env().items() if k != "TLSWEEP_BIN"}
    e.update(TLSWEEP_RANKS="1")
    assert not shutil.which("tlsweep", path=e["PATH"]), "a tlsweep on PATH would hide what this checks"
    p = subprocess.run([os.path.join(usr, "share", "tlsweep", "jobs", "local.sh")] + TINY + ["-o", "local.h5"],
                       cwd=tmp_path, capture_output=True, text=True, env=e, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (tmp_path / "local.h5").is_file()


# ---- pyproject.toml: the analysis package in a venv


def test_pyproject_matches_cmake():
    meta = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))
    assert meta["project"]["version"] == project_version()
    assert meta["project"]["scripts"]["tlsweep-report"] == "analysis.report:main"
    # every package under analysis/ (setuptools installs only those listed)
    packages = sorted(os.path.relpath(r, ROOT).replace(os.sep, ".")
                      for r, _, fs in os.walk(os.path.join(ROOT, "analysis")) if "__init__.py" in fs)
    assert sorted(meta["tool"]["setuptools"]["packages"]) == packages and "analysis.report.figures" in packages


def test_venv_install_and_report(tmp_path):
    src = tmp_path / "src"  # a copy: setuptools writes build files next to pyproject.toml
    src.mkdir()
    for f in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(os.path.join(ROOT, f), src)
    shutil.copytree(os.path.join(ROOT, "analysis"), src / "analysis",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    e = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")}
    e.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    p = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-index", "--no-build-isolation", "--no-deps",
                        str(src)], capture_output=True, text=True, env=e, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    work = tmp_path / "elsewhere"  # not the repository: nothing found through the current directory
    work.mkdir()
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import analysis; print(analysis.__file__)"],
                           capture_output=True, text=True, cwd=work, env=e)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    modules = {f for f in python_files(os.path.join(ROOT, "analysis")) if f.endswith(".py")}
    missing = modules - set(python_files(os.path.dirname(where.stdout.strip())))
    assert not missing, missing  # e.g. a subpackage not in pyproject's packages
    results = tiny_sweep(BIN, str(work))
    p = subprocess.run([str(venv / "bin" / "tlsweep-report"), results, "-o", "report"], capture_output=True,
                       text=True, cwd=work, env=e, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (work / "report" / "index.html").is_file()
    pngs = list((work / "report").glob("*.png"))
    assert pngs and all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in pngs)


# ---- a Python without the packages (a conda or pyenv python3)


def without_site(tmp_path):
    """An interpreter that sees none of the installed packages: Debian's python3 -S."""
    py = tmp_path / "bare-python3"
    py.write_text('#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n')
    py.chmod(0o755)
    return str(py)


def test_a_python_without_the_packages_gets_one_line(tmp_path):
    """python3 -m analysis.report, tlsweep-report and `import analysis` in a
    Python that lacks numpy and the rest: one line naming what is missing and
    the way out (Debian's /usr/bin/python3, the venv recipe), not a bare
    ModuleNotFoundError from inside the first import."""
    bare = without_site(tmp_path)
    e = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def one_line(p):
        lines = p.stderr.strip().splitlines()
        assert p.returncode == 2 and len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
        line = lines[0]
        assert line.startswith("analysis: this Python (") and "lacks numpy, pandas, scipy, xarray, h5py" in line
        assert "/usr/bin/python3" in line and "venv" in line and "README.md, Install" in line
        return line
    one_line(subprocess.run([bare, "-m", "analysis.report", "r.h5", "-o", str(tmp_path / "out")], cwd=ROOT, env=e,
                            capture_output=True, text=True, timeout=60))
    # tlsweep-report as installed: bin/ next to share/tlsweep/python/analysis, TLSWEEP_PYTHON the bare one
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "share" / "tlsweep" / "python").mkdir(parents=True)
    os.symlink(os.path.join(ROOT, "analysis"), prefix / "share" / "tlsweep" / "python" / "analysis")
    text = open(os.path.join(ROOT, "packaging", "tlsweep-report.in")).read()
    text = text.replace("@TLSWEEP_REPORT_PYTHON@", "/usr/bin/python3").replace(
        "@TLSWEEP_REPORT_RELDIR@", "../share/tlsweep/python").replace("@TLSWEEP_REPORT_PYDIR@", "share/tlsweep/python")
    wrapper = prefix / "bin" / "tlsweep-report"
    wrapper.write_text(text)
    wrapper.chmod(0o755)
    one_line(subprocess.run([str(wrapper), "r.h5", "-o", str(tmp_path / "out")], cwd=tmp_path,
                            env=dict(e, TLSWEEP_PYTHON=bare), capture_output=True, text=True, timeout=60))
    ok = subprocess.run([str(wrapper), "--help"], cwd=tmp_path, env=e, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("usage: tlsweep-report "), ok.stdout[:200] + ok.stderr
    # import analysis in a script or a notebook: an ImportError whose message is that line
    script = tmp_path / "use.py"
    script.write_text(f"import sys\nsys.path.insert(0, {ROOT!r})\ntry:\n    import analysis\n"
                      "except ModuleNotFoundError as e:\n    print(e.name, e)\n")
    p = subprocess.run([bare, str(script)], env=e, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("numpy analysis: this Python (") and "venv" in p.stdout, p.stdout


# ---- the Spack recipe


def cmake_dependencies(text):
    """What CMakeLists.txt looks for: (command, name) pairs."""
    text = re.sub(r"#.*", "", text)
    found = [("find_package", n) for n in re.findall(r"\bfind_package\(\s*(\w+)", text)]
    found += [("pkg_check_modules", n) for n in re.findall(
        r"\bpkg_check_modules\(\s*\w+\s+(?:(?:REQUIRED|QUIET|IMPORTED_TARGET|GLOBAL|NO_CMAKE_PATH|"
        r"NO_CMAKE_ENVIRONMENT_PATH)\s+)*([\w.+-]+)", text)]
    found += [("find_library", n) for n in re.findall(r"\bfind_library\(\s*\w+\s+(?:NAMES\s+)?([\w.+-]+)", text)]
    found += [("find_path", n) for n in re.findall(r"\bfind_path\(\s*\w+\s+(?:NAMES\s+)?([\w./+-]+)", text)]
    return found


# how each thing CMake looks for is called in Spack
SPACK_NAME = {
    ("find_package", "PkgConfig"): "pkgconfig",
    ("find_package", "MPI"): "mpi",
    ("find_package", "HDF5"): "hdf5",
    ("find_package", "ZLIB"): "zlib-api",
    ("pkg_check_modules", "openblas"): "openblas",
    ("pkg_check_modules", "yaml-0.1"): "libyaml",
    ("find_library", "svm"): "libsvm",
    ("find_path", "libsvm/svm.h"): "libsvm",
    ("find_library", "deflate"): "libdeflate",
    ("find_path", "libdeflate.h"): "libdeflate",
}


def recipe_dependencies(text):
    """The depends_on() specs of the recipe, as {name: spec}."""
    deps = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "depends_on":
            spec = node.args[0].value
            deps[re.match(r"[\w-]+", spec).group(0)] = spec
    return deps


def mismatches(cmake_text, recipe_text):
    problems = []
    wanted = {"c", "cmake"}  # the language and the build tool
    for dep in cmake_dependencies(cmake_text):
        if dep not in SPACK_NAME:
            problems.append(f"CMakeLists.txt: {dep[0]}({dep[1]}) has no Spack name in tests/test_packaging.py "
                            "SPACK_NAME: add it there and a depends_on() to packaging/spack/package.py")
        else:
            wanted.add(SPACK_NAME[dep])
    deps = recipe_dependencies(recipe_text)
    for name in sorted(wanted - set(deps)):
        problems.append(f"packaging/spack/package.py: no depends_on(\"{name}\") for what CMakeLists.txt finds")
    for name in sorted(set(deps) - wanted):
        problems.append(f"packaging/spack/package.py: depends_on(\"{deps[name]}\") but CMakeLists.txt does not "
                        "look for it")
    m = re.search(r"cmake_minimum_required\(\s*VERSION\s+([0-9.]+)", cmake_text)
    if m and deps.get("cmake") != f"cmake@{m.group(1)}:":
        problems.append(f"cmake version: CMakeLists.txt needs {m.group(1)}, the recipe says {deps.get('cmake')}")
    if "hdf5" in deps:
        if re.search(r"find_package\(\s*HDF5[^)]*\bHL\b", cmake_text) and "+hl" not in deps["hdf5"]:
            problems.append("hdf5: CMake needs the HL component, the recipe lacks +hl")
        if "HDF5_IS_PARALLEL" in cmake_text and "+mpi" not in deps["hdf5"]:
            problems.append("hdf5: CMake needs a parallel HDF5, the recipe lacks +mpi")
    return problems


def test_spack_recipe_dependencies_match_cmake():
    cmake_text, recipe_text = open(CMAKELISTS).read(), open(RECIPE).read()
    assert mismatches(cmake_text, recipe_text) == []
    assert set(recipe_dependencies(recipe_text)) == {"c", "cmake", "pkgconfig", "mpi", "hdf5", "openblas",
                                                     "libsvm", "libyaml", "zlib-api", "libdeflate"}


@pytest.mark.parametrize("change, expected", [
    (lambda c, r: (c + "\nfind_package(FFTW3)\n", r), "find_package(FFTW3) has no Spack name"),
    (lambda c, r: (c + "\npkg_check_modules(LAPACK QUIET lapack)\n", r), "pkg_check_modules(lapack)"),
    (lambda c, r: (c.replace("pkg_check_modules(YAML yaml-0.1)", ""), r), 'depends_on("libyaml")'),
    (lambda c, r: (c, r.replace('depends_on("libsvm")', "")), 'no depends_on("libsvm")'),
    (lambda c, r: (c, r.replace('depends_on("hdf5@1.10:+mpi+hl")', 'depends_on("hdf5@1.10:+mpi")')), "lacks +hl"),
    (lambda c, r: (c.replace("VERSION 3.25", "VERSION 3.27", 1), r), "cmake version"),
])
def test_a_dependency_on_one_side_only_fails(change, expected):
    cmake_text, recipe_text = change(open(CMAKELISTS).read(), open(RECIPE).read())
    problems = mismatches(cmake_text, recipe_text)
    assert any(expected in p for p in problems), problems


class Executable:
    """The part of spack.util.executable.Executable the recipe uses."""

    def __init__(self, path):
        self.path = path

    def __call__(self, *args, output=None, error=None):
        p = subprocess.run([self.path] + [str(a) for a in args], capture_output=True, text=True, env=env())
        if p.returncode != 0:
            raise RuntimeError(f"{self.path} {args} exited {p.returncode}: {p.stderr}")
        return p.stdout + (p.stderr if error in (str, str.split) else "") if output in (str, str.split) else None


class Prefix(str):
    def __getattr__(self, name):
        return Prefix(os.path.join(self, name))


def load_recipe():
    """The recipe's class, with a stand-in for `from spack.package import *`."""
    api = types.ModuleType("spack.package")

    def directive(*args, **kw):
        return None

    def which(*names, path=None):
        for n in names:
            for d in (path or []) + os.environ["PATH"].split(os.pathsep):
                if os.access(os.path.join(d, n), os.X_OK):
                    return Executable(os.path.join(d, n))
            if os.access(n, os.X_OK):
                return Executable(n)
        return None

    class CMakePackage:
        def define(self, name, value):
            value = ("ON" if value else "OFF") if isinstance(value, bool) else value
            return f"-D{name}={value}"

    api.__dict__.update(CMakePackage=CMakePackage, depends_on=directive, version=directive, license=directive,
                        maintainers=directive, variant=directive, which=which, join_path=os.path.join,
                        mkdirp=lambda *p: [os.makedirs(x, exist_ok=True) for x in p])
    api.__all__ = list(api.__dict__)
    spack = types.ModuleType("spack")
    spack.package = api
    saved = {k: sys.modules.get(k) for k in ("spack", "spack.package")}
    sys.modules.update({"spack": spack, "spack.package": api})
    try:
        namespace = {"__name__": "tlsweep_recipe"}
        exec(compile(open(RECIPE).read(), RECIPE, "exec"), namespace)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return namespace["Tlsweep"]


def test_spack_recipe_runs_against_a_stand_in(tmp_path, monkeypatch):
    Tlsweep = load_recipe()
    # a libsvm laid out as Spack's recipe installs it
    libsvm = tmp_path / "libsvm"
    (libsvm / "include").mkdir(parents=True)
    (libsvm / "lib").mkdir()
    (libsvm / "include" / "svm.h").write_text("/* svm.h */\n")
    (libsvm / "lib" / "libsvm.so.3").write_text("")
    (libsvm / "lib" / "libsvm.a").write_text("")
    # an installed tlsweep: the build tree's binary
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    os.symlink(os.path.abspath(BIN), prefix / "bin" / "tlsweep")
    mpi = types.SimpleNamespace(prefix=Prefix(os.path.dirname(shutil.which("mpirun"))[:-len("/bin")]))
    pkg = Tlsweep()
    pkg.spec = {"libsvm": types.SimpleNamespace(prefix=Prefix(str(libsvm))), "mpi": mpi}
    pkg.stage = types.SimpleNamespace(path=str(tmp_path / "stage"))
    pkg.prefix = Prefix(str(prefix))
    args = pkg.cmake_args()
    include = next(a for a in args if a.startswith("-DLIBSVM_INCLUDE_DIR=")).split("=", 1)[1]
    assert open(os.path.join(include, "libsvm", "svm.h")).read() == "/* svm.h */\n"
    assert f"-DLIBSVM_LIBRARY={libsvm}/lib/libsvm.so.3" in args
    assert "-DBUILD_TESTING=OFF" in args
    # the smoke tests `spack test run` would run
    monkeypatch.chdir(tmp_path)
    pkg.test_version()
    pkg.test_tiny_sweep()
    assert (tmp_path / "smoke.h5").is_file()
