"""tlsweep-report --watch FILE: the report of a sweep while it runs.

Every --every seconds: `tlsweep status FILE` says where the sweep is (exit
0 or 3: complete, 4: running, 75: interrupted, 2: no results file nor
state yet); while it runs (or is interrupted), `tlsweep snapshot FILE -o
DIR/.snapshot.h5 --force` writes what is done so far, and the report of
that snapshot goes into DIR, its page saying so and reloading itself; once
the sweep is complete, the report of FILE itself, and the watch ends with
that report's exit status."""
import os
import shutil
import subprocess
import sys
import time

from .context import log

SNAPSHOT = ".snapshot.h5"  # in the report directory, removed at the end
COMPLETE, COMPLETE_ALL_FAILED, BAD, RUNNING, INTERRUPTED = 0, 3, 2, 4, 75  # tlsweep status's exit statuses


def find_tlsweep(given=None):
    """The tlsweep program: given (--tlsweep), TLSWEEP_BIN, next to this
    command (an install's bin/), the repository's build/, PATH; None."""
    if given:
        return given if os.path.isfile(given) and os.access(given, os.X_OK) else None
    here = os.path.dirname(os.path.abspath(sys.argv[0] or "."))
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for c in (os.environ.get("TLSWEEP_BIN"), os.path.join(here, "tlsweep"),
              os.path.join(root, "build", "tlsweep"), shutil.which("tlsweep")):
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def status(binary, results):
    """(exit status, first line) of tlsweep status."""
    p = subprocess.run([binary, "status", results], capture_output=True, text=True)
    text = (p.stdout or p.stderr).strip().splitlines()
    return p.returncode, text[0] if text else ""


def watch(a, plt, report):
    """The watch loop for the parsed arguments a; report(results, out, config, plt, banner, refresh) makes one
    report and gives its exit status. Returns the final report's status, 2 without tlsweep, 130 on Ctrl-C."""
    from .cli import prog
    from .page import esc
    results = a.results[0]
    binary = find_tlsweep(a.tlsweep)
    if binary is None:
        what = f"--tlsweep {a.tlsweep}: not an executable file" if a.tlsweep else "the tlsweep program was not found"
        print(f"{prog()}: --watch: {what}; allowed: --tlsweep PATH, TLSWEEP_BIN=PATH, or tlsweep on PATH",
              file=sys.stderr)
        return 2
    snap = os.path.join(a.out, SNAPSHOT)
    said = None
    try:
        while True:
            code, line = status(binary, results)
            if code in (COMPLETE, COMPLETE_ALL_FAILED):
                log(f"watch: {line}: the report of the file itself")
                return report([results], a.out, a.config, plt)
            if code in (RUNNING, INTERRUPTED):
                p = subprocess.run([binary, "snapshot", results, "-o", snap, "--force"], capture_output=True,
                                   text=True)
                if p.returncode == 0:
                    when = time.strftime("%H:%M:%S")
                    state = "running" if code == RUNNING else "interrupted: waiting for it to be resumed"
                    log(f"watch: {line} ({state}); the report of a snapshot taken at {when}")
                    banner = (f"A snapshot of <code>{esc(os.path.abspath(results))}</code> taken at {esc(when)} "
                              f"while the sweep is {esc(state)}: this page is remade every {a.every:g} s "
                              "(tlsweep-report --watch) until the sweep is complete.")
                    report([snap], a.out, a.config, plt, banner=banner, refresh=max(5, int(a.every)), shown=results)
                else:
                    log(f"watch: no snapshot this time: {(p.stderr or p.stdout).strip()}")
            elif said != line:
                log(f"watch: waiting for the sweep to start ({line})")
            said = line
            time.sleep(a.every)
    except KeyboardInterrupt:
        log("watch: interrupted")
        return 130
    finally:
        if os.path.exists(snap):
            os.remove(snap)
