"""A logged-in headless Chromium on a Label Studio page, with the standard library alone.

`chromium --headless --screenshot` cannot show the labeling page: the page needs a login
session, and the API token is not accepted for HTML pages. So this logs in as a browser
does (the login form and its CSRF token, keeping the `sessionid` cookie), starts Chromium
with a DevTools port, sets the cookie and drives the page over the Chrome DevTools
Protocol through a small websocket client (no Playwright, no websocket package). It
records every request the page makes: the labeling stream's calls, and any address
outside this machine (there must be none).
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps",
         "--disable-extensions", "--metrics-recording-only", "--mute-audio",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]
# ready: two decoded images wider than 100 px on screen, and the choices drawn
IMAGES_SHOWN = ("(() => { const shown = [...document.images].filter(i => i.complete && "
                "i.naturalWidth > 0 && i.getBoundingClientRect().width > 100); "
                "return shown.length >= 2 && document.body.innerText.includes('defect'); })()")


def session_cookie(url: str, email: str, password: str) -> str:
    """The `sessionid` cookie of a form login."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = url.rstrip("/") + "/user/login/"
    page = opener.open(login, timeout=30).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if csrf is None:
        raise RuntimeError(f"no login form at {login}")
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf.group(1), "email": email,
                                   "password": password}).encode()
    opener.open(urllib.request.Request(login, data=form, headers={"Referer": login}),
                timeout=30).read()
    for cookie in jar:
        if cookie.name == "sessionid":
            return cookie.value
    raise RuntimeError(f"the login of {email} at {login} gave no session")


class WebSocket:
    """RFC 6455, client side: masked text frames out, unmasked frames in."""

    def __init__(self, url: str, timeout: float = 60):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the websocket closed during its handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket handshake refused: {head[:80]!r}")
        self.buffer = head.split(b"\r\n\r\n", 1)[1]

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the websocket closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def send(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        n = len(payload)
        head = struct.pack("!BB", 0x81, 0x80 | n) if n < 126 else \
            struct.pack("!BBH", 0x81, 0xFE, n) if n < 1 << 16 else \
            struct.pack("!BBQ", 0x81, 0xFF, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self) -> str:
        parts = []
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            data, opcode = self._read(n), first & 0x0F
            if opcode == 8:
                raise ConnectionError("the browser closed the websocket")
            if opcode in (9, 10):                     # ping, pong
                continue
            parts.append(data)
            if first & 0x80:
                return b"".join(parts).decode()


class DevTools:
    """Commands to one page; the events that arrive meanwhile are kept in `events`."""

    def __init__(self, ws_url: str):
        self.ws, self.last, self.events = WebSocket(ws_url), 0, []

    def call(self, method: str, **params) -> dict:
        self.last += 1
        self.ws.send(json.dumps({"id": self.last, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == self.last:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True).get("result", {}).get("value")

    def requests(self) -> list[tuple[str, str, str | None]]:
        """(method, URL, body) of every request the page made so far."""
        return [(e["params"]["request"]["method"], e["params"]["request"]["url"],
                 e["params"]["request"].get("postData")) for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]


def _open_chromium(profile: str, size: tuple[int, int]) -> tuple[subprocess.Popen, str]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise RuntimeError("no Chromium (Debian: apt-get install chromium)")
    process = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}",
                                f"--window-size={size[0]},{size[1]}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file, start = Path(profile) / "DevToolsActivePort", time.monotonic()
    while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
        if process.poll() is not None or time.monotonic() - start > 30:
            process.kill()
            raise RuntimeError("Chromium did not open its DevTools port")
        time.sleep(0.2)
    port = int(port_file.read_text().split()[0])
    pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                              timeout=10).read())
    return process, next(p for p in pages if p.get("type") == "page")["webSocketDebuggerUrl"]


def _path(url: str) -> str:
    u = urllib.parse.urlparse(url)
    return u.path + (f"?{u.query}" if u.query else "")


def screenshot(url: str, page: str, email: str, password: str, out: str, *,
               size: tuple[int, int] = (1400, 900), ready: str = IMAGES_SHOWN,
               timeout: float = 90) -> dict:
    """A PNG of url+page, logged in, once `ready` holds; what the page showed and asked."""
    session = session_cookie(url, email, password)
    profile = tempfile.mkdtemp(prefix="asal-chromium-")
    process, ws_url = _open_chromium(profile, size)
    try:
        tools = DevTools(ws_url)
        tools.call("Network.enable")
        tools.call("Page.enable")
        tools.call("Network.setCookie", name="sessionid", value=session,
                   url=url.rstrip("/") + "/", httpOnly=True)
        tools.call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1],
                   deviceScaleFactor=1, mobile=False)
        tools.call("Page.navigate", url=url.rstrip("/") + page)
        start, shown = time.monotonic(), False
        while not shown and time.monotonic() - start < timeout:
            shown = bool(tools.evaluate(ready))
            time.sleep(0.5)
        time.sleep(1.0)                               # let the layout settle
        png = base64.b64decode(tools.call("Page.captureScreenshot", format="png")["data"])
        with open(out, "wb") as f:
            f.write(png)
        host = urllib.parse.urlparse(url).hostname
        made = tools.requests()
        return {"ready": shown, "seconds": round(time.monotonic() - start, 1),
                "text": tools.evaluate("document.body.innerText") or "",
                "outside": [u for _, u, _ in made if u.startswith(("http", "ws"))
                            and urllib.parse.urlparse(u).hostname
                            not in (host, "127.0.0.1", "localhost")],
                "api": [(m, _path(u), b) for m, u, b in made if "/api/" in u]}
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)
