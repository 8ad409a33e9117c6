"""A minimal Chrome DevTools Protocol driver over --remote-debugging-pipe.

Pure Python, no packages: chromium reads commands from fd 3 and writes
replies and events to fd 4, each a JSON message ended by a NUL byte.

    with Browser() as b:               # None when no chromium is installed
        page = b.new_page(1920, 1080)
        page.goto("file:///tmp/report.html")
        page.eval("document.title")
        page.screenshot("/tmp/shot.png")
"""

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium():
    """Path of a chromium binary (DETGRID_CHROMIUM, else on PATH) or None."""
    env = os.environ.get("DETGRID_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    for c in CANDIDATES:
        p = shutil.which(c)
        if p:
            return p
    return None


class CDPError(RuntimeError):
    pass


class Browser:
    """One headless chromium process driven over the pipe."""

    def __init__(self, binary=None, timeout=60):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise CDPError("no chromium found")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="dg-chromium-")
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        # Chromium's ends move to numbers above 4, so that the shell below
        # can put them on 3 and 4 and close the originals.
        hi = []
        for fd in (to_chrome_r, from_chrome_w):
            h = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
            os.close(fd)
            hi.append(h)
        to_chrome_r, from_chrome_w = hi
        args = [self.binary, "--headless=new", "--remote-debugging-pipe",
                "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-sync",
                "--mute-audio", "--hide-scrollbars",
                "--user-data-dir=" + self.profile, "about:blank"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        # fds 3 and 4 of chromium are our pipe ends (bash moves them; dash
        # cannot name fds above 9).
        cmd = 'exec "$@" 3<&%d 4>&%d %d<&- %d>&-' % (
            to_chrome_r, from_chrome_w, to_chrome_r, from_chrome_w)
        self.proc = subprocess.Popen(
            [shutil.which("bash") or "/bin/bash", "-c", cmd, "sh"] + args,
            pass_fds=(to_chrome_r, from_chrome_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next = 0
        self._lock = threading.Lock()
        self._replies = {}
        self._cv = threading.Condition()
        self._events = queue.Queue()
        self._closed = False
        self._stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # -- transport --------------------------------------------------------

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self._stderr.append(line.decode("utf-8", "replace"))
            del self._stderr[:-50]

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self._r, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                m = json.loads(msg)
                if "id" in m:
                    with self._cv:
                        self._replies[m["id"]] = m
                        self._cv.notify_all()
                else:
                    self._events.put(m)
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    def send(self, method, params=None, session=None, timeout=None):
        """Sends one command and returns its result (raises on error)."""
        with self._lock:
            self._next += 1
            mid = self._next
        m = {"id": mid, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        data = json.dumps(m).encode() + b"\0"
        os.write(self._w, data)
        end = time.monotonic() + (timeout or self.timeout)
        with self._cv:
            while mid not in self._replies:
                if self._closed:
                    raise CDPError("chromium exited: %s" % "".join(self._stderr[-10:]))
                left = end - time.monotonic()
                if left <= 0:
                    raise CDPError("%s: no reply in time" % method)
                self._cv.wait(left)
            r = self._replies.pop(mid)
        if "error" in r:
            raise CDPError("%s: %s" % (method, r["error"]))
        return r.get("result", {})

    def wait_event(self, method, session=None, timeout=None):
        """The next event named method (others are dropped)."""
        end = time.monotonic() + (timeout or self.timeout)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise CDPError("no %s event in time" % method)
            try:
                e = self._events.get(timeout=left)
            except queue.Empty:
                continue
            if e.get("method") == method and (
                    session is None or e.get("sessionId") == session):
                return e.get("params", {})

    # -- pages ------------------------------------------------------------

    def new_page(self, width=1920, height=1080):
        t = self.send("Target.createTarget", {"url": "about:blank"})
        s = self.send("Target.attachToTarget",
                      {"targetId": t["targetId"], "flatten": True})
        return Page(self, s["sessionId"], width, height)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except (CDPError, OSError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Page:
    def __init__(self, browser, session, width, height):
        self.b = browser
        self.s = session
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.resize(width, height)

    def call(self, method, params=None, timeout=None):
        return self.b.send(method, params, self.s, timeout)

    def resize(self, width, height):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1,
                   "mobile": False})

    def goto(self, url, timeout=None):
        self.call("Page.navigate", {"url": url})
        self.b.wait_event("Page.loadEventFired", self.s, timeout)

    def eval(self, expr, timeout=None):
        """Value of a JavaScript expression (promises awaited)."""
        r = self.call("Runtime.evaluate",
                      {"expression": expr, "returnByValue": True,
                       "awaitPromise": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError("JavaScript: %s" % (
                d.get("exception", {}).get("description") or d.get("text")))
        return r["result"].get("value")

    def wait_for(self, expr, timeout=60):
        """Waits until the JavaScript expression is truthy; returns it."""
        return self.eval(
            "new Promise((ok, fail) => { const end = performance.now() + %d;"
            " const f = () => { let v; try { v = (%s); } catch (e) { v = null; }"
            " if (v) ok(v); else if (performance.now() > end) fail(new Error("
            "'timed out waiting for: ' + %s)); else setTimeout(f, 10); }; f(); })"
            % (int(timeout * 1000), expr, json.dumps(expr)), timeout + 5)

    def screenshot(self, path, full_page=False):
        p = {"format": "png"}
        if full_page:
            p["captureBeyondViewport"] = True
            m = self.call("Page.getLayoutMetrics")
            c = m.get("cssContentSize") or m["contentSize"]
            p["clip"] = {"x": 0, "y": 0, "width": c["width"],
                         "height": min(c["height"], 8000), "scale": 1}
        r = self.call("Page.captureScreenshot", p)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        return path
