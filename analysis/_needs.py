"""What the analysis package needs from the Python running it, checked
before anything imports it: a conda or pyenv python3 without Debian's
packages gets one line naming what is missing and the way out, not a
ModuleNotFoundError from deep inside pandas. Standard library only."""
import importlib.util
import os
import sys

# import name -> (Debian package, PyPI name); the first five are needed by `import analysis`
PACKAGES = {"numpy": ("python3-numpy", "numpy"), "pandas": ("python3-pandas", "pandas"),
            "scipy": ("python3-scipy", "scipy"), "xarray": ("python3-xarray", "xarray"),
            "h5py": ("python3-h5py", "h5py"), "h5netcdf": ("python3-h5netcdf", "h5netcdf"),
            "matplotlib": ("python3-matplotlib", "matplotlib"), "seaborn": ("python3-seaborn", "seaborn"),
            "sklearn": ("python3-sklearn", "scikit-learn"), "plotly": ("python3-plotly", "plotly"),
            "yaml": ("python3-yaml", "PyYAML")}
CORE = ("numpy", "pandas", "scipy", "xarray", "h5py")
REPORT = CORE + ("matplotlib",)  # the report's own; the rest only cost it a figure or the interactive view


def missing(names):
    return [n for n in names if importlib.util.find_spec(n) is None]


def message(names):
    """One line: what this Python lacks (names: import names) and how to run with what has it."""
    lacks = missing(PACKAGES)  # everything the package can use, so that one install fixes it all
    shown = [PACKAGES[n][1] for n in lacks] or [PACKAGES[n][1] for n in names]
    return (f"analysis: this Python ({sys.executable or 'python3'}) lacks {', '.join(shown)}: run it with "
            f"Debian's /usr/bin/python3 (apt-get install {' '.join(PACKAGES[n][0] for n in lacks or names)}; "
            "scripts/setup.sh installs them), or from a venv made with /usr/bin/python3 -m venv "
            "--system-site-packages (README.md, Install), or install them into this Python")


def command():
    """Whether a command is starting (python3 -m analysis..., tlsweep-report) rather than an import."""
    return sys.argv[:1] == ["-m"] or os.path.basename(sys.argv[0] if sys.argv else "") == "tlsweep-report"


def check(names=CORE):
    """Returns when every module of names can be imported. Else a command
    prints message() on stderr and exits 2; an import raises
    ModuleNotFoundError with it."""
    lacks = missing(names)
    if not lacks:
        return
    text = message(lacks)
    if command():
        print(text, file=sys.stderr)
        raise SystemExit(2)
    raise ModuleNotFoundError(text, name=lacks[0])
