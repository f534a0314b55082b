"""The report in real headless Chromium, driven over the DevTools protocol with the standard library only.

Each page is opened from file://; the test collects console errors, failed resource loads and
uncaught exceptions, checks that every <img> loaded (naturalWidth > 0), that the Table 5 table
has its 8 rows, and saves a full-page screenshot. Without chromium the test skips, unless
HARNESS_REQUIRE_BROWSER=1 (CI), which makes that a failure.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from test_report_fixture import make_results

from harness.report import build_report

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--window-size=1280,1600",
                  "--remote-debugging-port=0"]
PAGE_STATE = """JSON.stringify({
  images: Array.from(document.images).map(i => ({src: i.getAttribute('src'), complete: i.complete,
                                                  width: i.naturalWidth})),
  resultRows: Array.from(document.querySelectorAll('table.results')).map(t => t.tBodies[0].rows.length),
  height: document.documentElement.scrollHeight,
})"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


class DevTools:
    """A minimal WebSocket (RFC 6455) client speaking the Chrome DevTools protocol to one page."""

    def __init__(self, ws_url: str, timeout: float = 60.0):
        url = urlparse(ws_url)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {url.path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head.decode(errors='replace')}")
        self.next_id = 0
        self.events: list[dict] = []

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x80 | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _message(self) -> dict:
        parts = []
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if b0 & 0x80:
                    return json.loads(b"".join(parts))

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self._send_frame(0x1, json.dumps({"id": self.next_id, "method": method, "params": params}).encode())
        while True:
            msg = self._message()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, event: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        for msg in self.events:
            if msg["method"] == event:
                return msg
        while time.monotonic() < deadline:
            msg = self._message()
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == event:
                    return msg
        raise TimeoutError(f"no {event} within {timeout} s")

    def close(self) -> None:
        self.sock.close()


def errors_in(events: list[dict]) -> list[str]:
    """Console errors, failed loads (Log.entryAdded level error) and uncaught exceptions."""
    out = []
    for e in events:
        p = e.get("params", {})
        if e["method"] == "Runtime.exceptionThrown":
            out.append(str(p.get("exceptionDetails", {}).get("text")))
        elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(" ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
        elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(f"{p['entry'].get('text')} ({p['entry'].get('url', '')})")
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    path = find_chromium()
    if path is None:
        reason = "headless chromium not found (Debian: apt-get install chromium)"
        if os.environ.get("HARNESS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"HARNESS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    profile = tmp_path_factory.mktemp("chromium-profile")
    log = open(profile.parent / "chromium.log", "wb")
    proc = subprocess.Popen([path, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start its DevTools endpoint (exit {proc.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as fh:
            targets = json.load(fh)
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"):
            tools.call(f"{domain}.enable")
        yield tools
        tools.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def open_page(tools: DevTools, path: Path, screenshot: Path) -> tuple[dict, list[str]]:
    """Load `path`, return (DOM state, errors) and save a full-page screenshot."""
    tools.events.clear()
    tools.call("Page.navigate", url=path.resolve().as_uri())
    tools.wait_for("Page.loadEventFired")
    state = json.loads(tools.call("Runtime.evaluate", expression=PAGE_STATE, returnByValue=True)["result"]["value"])
    shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": 1280, "height": min(state["height"], 6000), "scale": 1})
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    return state, errors_in(tools.events)


@pytest.mark.browser
def test_pages_in_headless_chromium(browser, tmp_path):
    index = build_report(make_results(tmp_path / "results"), tmp_path / "out")
    out = index.parent
    pages = sorted(out.glob("*.html"))
    assert {"index.html", "cost.html", "table7.html", "study-table5.html"} <= {p.name for p in pages}
    total_images = 0
    for page in pages:
        shot = tmp_path / f"{page.stem}.png"
        state, errors = open_page(browser, page, shot)
        assert errors == [], f"{page.name}: {errors}"
        broken = [i["src"] for i in state["images"] if not (i["complete"] and i["width"] > 0)]
        assert broken == [], f"{page.name}: images that did not load: {broken}"
        total_images += len(state["images"])
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
        if page.name == "study-table5.html":
            assert state["resultRows"] == [8]
    assert total_images >= 15


@pytest.mark.browser
def test_the_browser_check_sees_a_broken_page(browser, tmp_path):
    """The checks above can fail: a missing image is an error and has naturalWidth 0."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>x</title></head>'
                    '<body><img src="nope.png" alt="x"></body></html>')
    state, errors = open_page(browser, page, tmp_path / "broken.png")
    assert state["images"] == [{"src": "nope.png", "complete": True, "width": 0}]
    assert any("nope.png" in e or "ERR_FILE_NOT_FOUND" in e for e in errors), errors
