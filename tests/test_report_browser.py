"""The report in a real browser: Debian's chromium, headless, loads
report/index.html from file:// (as a user opens it) and, through the
DevTools protocol over --remote-debugging-pipe (no websocket library
needed), the test checks that every image and script loaded, that nothing
was fetched from the network (plotly.js is next to the page), that the
interactive view drew its plot, and that no console error, uncaught
exception or failed load happened. It keeps screenshots under the test's
tmp dir; with TLSWEEP_UPDATE_DOCS=1 it copies the top of the page to
docs/img/report.png (the README's picture), so that a test run leaves the
working tree as it was."""
import base64
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from tlstest import ROOT, mpirun

sys.path.insert(0, ROOT)

CHROMIUM = shutil.which("chromium")
# the README's screenshot: a sweep that shows every kind of figure, small enough for 2 busy cores
GRID = ["--set", "grid.shift=[0,45,90,135,180]", "--set", "grid.lambda=[0,0.5,2]", "--set", "grid.n_target=[10,50]",
        "--set", "grid.seed=[0,1,2]", "--set", "train.epochs=10", "--set", "train.finetune_epochs=10",
        "--set", "data.n_source=200", "--set", "data.n_test=100", "--set", "baselines.target_epochs=100"]
WIDTH, HEIGHT = 1400, 1400  # the README picture: headline, settings and the first figure


class Browser:
    """Headless chromium driven through the DevTools protocol on a pipe:
    JSON messages separated by NUL bytes, commands on fd 3, replies on fd 4 (bash
    puts our pipes there: dash refuses descriptors above 9)."""

    def __init__(self, tmp):
        self.profile = tempfile.mkdtemp(dir=tmp, prefix="chromium-profile-")
        cmd_r, self.cmd_w = os.pipe()
        self.res_r, res_w = os.pipe()
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={self.profile}",
                 f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-pipe", "about:blank"]
        self.log = open(os.path.join(tmp, "chromium.log"), "w")
        self.proc = subprocess.Popen(["/bin/bash", "-c", f'exec "$@" 3<&{cmd_r} 4>&{res_w}', "bash", CHROMIUM] + flags,
                                     pass_fds=(cmd_r, res_w), stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, start_new_session=True)
        os.close(cmd_r)
        os.close(res_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def _recv(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from chromium")
            ready, _, _ = select.select([self.res_r], [], [], left)
            if ready:
                chunk = os.read(self.res_r, 1 << 20)
                if not chunk:
                    raise EOFError("chromium closed the pipe (see chromium.log)")
                self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, params=None, timeout=60, browser_level=False):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session and not browser_level:
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._recv(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, name, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            for m in self.events:
                if m.get("method") == name:
                    return m
            self.events.append(self._recv(deadline))

    def open(self, url):
        target = self.call("Target.createTarget", {"url": "about:blank"}, browser_level=True)
        self.session = self.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                                 browser_level=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1,
                                                         "mobile": False})
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", timeout=120)

    def js(self, expression, timeout=60):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                      timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path, full=False):
        params = {"format": "png"}
        if full:
            w, h = self.js("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": w, "height": h, "scale": 1})
        data = self.call("Page.captureScreenshot", params, timeout=120)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", browser_level=True, timeout=10)
            self.proc.wait(timeout=10)
        except Exception:
            pass
        if self.proc.poll() is None:  # our own process group only
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        os.close(self.cmd_w)
        os.close(self.res_r)
        self.log.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("browser")
    results = str(d / "results.h5")
    mpirun(2, ["run", "-o", results] + GRID, extra_env={"OMPI_MCA_mpi_yield_when_idle": "1"})
    out = d / "report"
    p = subprocess.run([sys.executable, "-m", "analysis.report", results, "-o", str(out)], capture_output=True,
                       text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    return out, expected_figures(results)


def expected_figures(results):
    """The images the page must show: the report's table of figures (analysis/report/contents.py) for this file."""
    from analysis import load
    from analysis.report import Context, figure_files
    ds = load(results).load()
    ds.close()
    return figure_files(Context(results, ds))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup.sh test installs it)")
def test_report_in_chromium(report, tmp_path):
    report, expected = report
    b = Browser(str(tmp_path))
    try:
        b.open((report / "index.html").as_uri())
        # the interactive view draws after the load event: wait for its SVG
        deadline = time.monotonic() + 60
        while not b.js("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0"):
            assert time.monotonic() < deadline, "the plotly view did not draw"
            time.sleep(0.2)
        images = b.js("Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
        scripts = b.js("Array.from(document.scripts).filter(s => s.src).map(s => s.getAttribute('src'))")
        traces = b.js("document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length")
        # the view's menus: x and lines among every axis that varies, one menu per other axis (entries: a sum
        # over the axes, not the product of their sizes)
        x_menu = b.js("Array.from(document.querySelectorAll('select.tls-x option')).map(o => o.value)")
        options = b.js("document.querySelectorAll('.tls-menus option').length")
        first = b.js("document.querySelector('.tls-plot').data.map(t => t.name)")
        b.js("(() => { const s = document.querySelector('select.tls-x'); s.value = 'n_target';"
             " s.dispatchEvent(new Event('change')); })()")
        by_nt = b.js("document.querySelector('.tls-plot').data[0].x")
        b.js("(() => { const s = document.querySelector('select.tls-colour'); s.value = 'lambda';"
             " s.dispatchEvent(new Event('change')); })()")
        by_lambda = b.js("document.querySelector('.tls-plot').data.map(t => t.name)")
        axis_menus = b.js("Array.from(document.querySelectorAll('.tls-menu')).map(m => m.textContent.split(' ')[0])")
        has_plotly = b.js("typeof window.Plotly === 'object' && typeof Plotly.newPlot === 'function'")
        headline = b.js("document.querySelector('.headline').innerText")
        time.sleep(0.5)  # let late console messages arrive
        b.js("1")
        b.screenshot(str(tmp_path / "report.png"))
        b.screenshot(str(tmp_path / "report-full.png"), full=True)
    finally:
        b.close()

    events = b.events
    errors = []
    for m in events:
        name, p = m.get("method"), m.get("params", {})
        if name == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append(("console", [a.get("value", a.get("description")) for a in p.get("args", [])]))
        elif name == "Runtime.exceptionThrown":
            errors.append(("exception", p["exceptionDetails"].get("exception", {}).get("description")))
        elif name == "Log.entryAdded" and p["entry"]["level"] == "error":
            errors.append(("log", p["entry"].get("text"), p["entry"].get("url")))
        elif name == "Network.loadingFailed":
            errors.append(("load failed", p.get("errorText")))
    assert errors == [], errors

    requested = [m["params"]["request"]["url"] for m in events if m.get("method") == "Network.requestWillBeSent"]
    assert requested and all(u.startswith("file://") or u.startswith("data:") for u in requested), requested
    status = {m["params"]["response"]["url"]: m["params"]["response"]["status"] for m in events
              if m.get("method") == "Network.responseReceived"}
    assert [src for src, _, _ in images] == expected and len(expected) >= 11, (images, expected)
    for src, complete, width in images:
        assert complete and width > 0, f"image {src} did not load"
        assert status.get((report / src).as_uri()) == 200, src
    assert scripts == ["plotly.js"] and status.get((report / "plotly.js").as_uri()) == 200
    assert has_plotly and traces > 0
    assert x_menu == ["shift", "lambda", "n_target"] and len(first) == 5  # one line per method to begin with
    assert options == 3 + (1 + 2) + (3 + 2)  # x: 3 axes; lines: the methods or another axis; λ (3) and n_target (2) held
    assert by_nt == [10, 50]  # x is now n_target
    assert len(by_lambda) == 3 and all(", λ = " in n for n in by_lambda), by_lambda  # one line per λ of a method
    assert axis_menus[:3] == ["x", "lines", "of"] and axis_menus[3:] == ["shift"], axis_menus  # shift held
    assert "MMD transfer" in headline and "Negative transfer" in headline

    for shot in ("report.png", "report-full.png"):
        with open(tmp_path / shot, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # the README's picture: the top of the page (headline, settings, the first figure)
    if os.environ.get("TLSWEEP_UPDATE_DOCS") != "1":
        return
    os.makedirs(os.path.join(ROOT, "docs", "img"), exist_ok=True)
    shutil.copyfile(tmp_path / "report.png", os.path.join(ROOT, "docs", "img", "report.png"))
