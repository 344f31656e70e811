"""A minimal DevTools-protocol client for headless Chromium over `--remote-debugging-pipe` (file
descriptors 3 and 4, JSON messages ending in a NUL byte): Python's standard library only, no websocket.

    with Browser(width=1280, height=800) as b:
        b.open("file:///.../report.html")
        b.evaluate("document.title")
        b.screenshot("shot.png")
        b.console_errors  # console errors, uncaught exceptions and error log entries seen so far

Used by the report's browser test; the command line is Debian's chromium package's.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import signal
import tempfile
import time

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--remote-debugging-pipe")


def _spawn(argv: list[str], read_end: int, write_end: int) -> int:
    """Start `argv` with `read_end` as its fd 3 and `write_end` as its fd 4, stdio on /dev/null; its pid.
    posix_spawn, not fork: a process that imported JAX warns (an error under this suite) at every fork."""
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (read_end, write_end)]  # neither clobbers the other
    actions = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    actions += [(os.POSIX_SPAWN_DUP2, high[0], 3), (os.POSIX_SPAWN_DUP2, high[1], 4)]
    try:
        return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    finally:
        for fd in high:
            os.close(fd)


class BrowserError(RuntimeError):
    """Chromium did not start, answered with an error, or took too long."""


class Browser:
    """One headless Chromium with one page of `width` x `height` CSS pixels."""

    def __init__(self, width: int = 1280, height: int = 800, timeout: float = 30.0):
        self.width, self.height, self.timeout = width, height, timeout
        self.console_errors: list[str] = []
        self._events: list[dict] = []
        self._id = 0
        self._buf = b""

    def __enter__(self) -> "Browser":
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_child, self._write = os.pipe()   # we write commands on fd 3 of the child
        self._read, from_child = os.pipe()  # it answers on fd 4
        if not os.access(CHROMIUM, os.X_OK):
            raise BrowserError(f"{CHROMIUM} is not installed (Debian: apt-get install chromium)")
        self.pid = _spawn([CHROMIUM, *FLAGS, f"--user-data-dir={self._profile}", f"--window-size={self.width},{self.height}",
                           "about:blank"], to_child, from_child)
        os.close(to_child)
        os.close(from_child)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.call("Browser.close")
        except (BrowserError, OSError):
            pass
        deadline = time.monotonic() + 10
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)  # our own child only
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        for fd in (self._write, self._read):
            os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)

    def call(self, method: str, session: bool = False, **params) -> dict:
        """Send one command and wait for its answer (events seen meanwhile are kept)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._write, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._next(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise BrowserError(f"{method}: {m['error']}")
                return m.get("result", {})
            self._event(m)

    def _next(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise BrowserError(f"no answer from chromium within {self.timeout} s")
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise BrowserError("chromium closed the pipe (did it start? is /usr/bin/chromium installed?)")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def _event(self, m: dict) -> None:
        self._events.append(m)
        method, p = m.get("method", ""), m.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            self.console_errors.append(p.get("exceptionDetails", {}).get("text", "exception"))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            self.console_errors.append(f"{e.get('source')}: {e.get('text')} {e.get('url', '')}".strip())

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self._events.clear()
        self.call("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            self._event(self._next(deadline))

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (JSON-serialisable results only)."""
        r = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise BrowserError(f"evaluate failed: {r['exceptionDetails'].get('text')}: {expression[:80]}")
        return r["result"].get("value")

    def screenshot(self, path, full_page: bool = False) -> None:
        """A PNG of the first viewport, or of the whole page."""
        params = {"format": "png"}
        if full_page:
            w, h = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": w, "height": h, "scale": 1})
        data = self.call("Page.captureScreenshot", session=True, **params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
