"""Headless Chromium driven over the DevTools protocol: load a page, collect console errors,
uncaught exceptions and dialogs, evaluate JavaScript, take a screenshot.

Used by the browser test and by `python -m tests.messagelog.screenshot`. Needs
Debian's `chromium` (/usr/bin/chromium) and the `websockets` test dependency.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.request import urlopen

CHROMIUM = Path("/usr/bin/chromium")

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-port=0",
)

_LISTENING = re.compile(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/")


class BrowserError(RuntimeError):
    pass


class Chromium:
    """A headless Chromium with a fresh profile, for one `with` block."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._drain: threading.Thread | None = None

    def __enter__(self) -> Chromium:
        from websockets.sync.client import connect

        self._profile = tempfile.mkdtemp(prefix="chargebox-chromium-")
        self._process = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # a browser that never says where it listens is killed, which ends the read below
        self._watchdog = threading.Timer(self.timeout, self._process.kill)
        self._watchdog.start()
        port = None
        assert self._process.stderr is not None
        for line in self._process.stderr:
            m = _LISTENING.search(line)
            if m:
                port = m.group(1)
                break
        self._watchdog.cancel()
        if port is None:
            self._stop()
            raise BrowserError("chromium did not start its DevTools endpoint")
        # keep reading chromium's chatter so its pipe never fills up
        self._drain = threading.Thread(target=self._process.stderr.read, daemon=True)
        self._drain.start()
        with urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout) as answer:
            targets = json.load(answer)
        page = next(t for t in targets if t["type"] == "page")
        self._connection = connect(
            page["webSocketDebuggerUrl"], max_size=None, open_timeout=self.timeout
        )
        self._ws = self._connection.__enter__()
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._connection.__exit__(None, None, None)
        finally:
            self._stop()

    def _stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._drain is not None:
            self._drain.join(timeout=10)  # the pipe ends with the process
        if self._process.stderr is not None:
            self._process.stderr.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a DevTools method and return its result; events seen meanwhile are kept."""
        self._next_id += 1
        ident = self._next_id
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._receive(deadline, method)
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrowserError(f"no answer from chromium for {waiting_for}")
        message = json.loads(self._ws.recv(timeout=remaining))
        if "method" in message:
            self.events.append(message)
            if message["method"] == "Page.javascriptDialogOpening":
                # an alert() blocks the page: record it (see problems) and dismiss it
                self._next_id += 1
                dismiss = {"accept": False}
                self._ws.send(
                    json.dumps(
                        {
                            "id": self._next_id,
                            "method": "Page.handleJavaScriptDialog",
                            "params": dismiss,
                        }
                    )
                )
        return message

    def load(self, url: str, width: int = 1400, height: int = 900) -> None:
        """Navigate and wait for the load event."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.events.clear()
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + self.timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            self._receive(deadline, "Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, log errors and dialogs so far."""
        found = []
        for e in self.events:
            method, params = e["method"], e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                found.append(f"console.{params['type']}: {params['args']}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(f"log: {params['entry']}")
            elif method == "Page.javascriptDialogOpening":
                found.append(f"dialog: {params}")
        return found

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
