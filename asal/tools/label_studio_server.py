"""A local Label Studio that reaches nothing outside this machine, for the tests and the
documentation's screenshot: a free port, a fresh data folder, one user and token.

The server is whatever `label-studio` $ASAL_LABEL_STUDIO names (default: the one on PATH),
installed in an environment of its own (docs/label-studio.md). Its first start migrates an
empty database for 40 to 90 s on two cores; the migrated database is kept once as a
template in a cache folder outside the checkout ($ASAL_LABEL_STUDIO_CACHE, default
~/.cache/asal/label-studio), and later starts copy it and are ready in about 5 s.

What the start relies on (Label Studio 1.23.2): it is one process; a busy port makes it
move silently to the next one, so the real port is read from its log; it is ready when
GET /health answers 200; it reads HOST, PORT, USERNAME, PASSWORD, USER_TOKEN and DEBUG
without a prefix, so those are taken out of its environment; the Sentry and version-check
defaults would call out, so they are switched off.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from asal.errors import AsalError

EXECUTABLE_ENV, CACHE_ENV = "ASAL_LABEL_STUDIO", "ASAL_LABEL_STUDIO_CACHE"
OFFLINE = {"LATEST_VERSION_CHECK": "false", "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
           "COLLECT_ANALYTICS": "false", "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
           "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true"}
# asal's ML backend runs on this machine (asal/labelstudio/backend.py): Label Studio
# refuses to call an ML backend or a webhook on a loopback or private address unless told
LOCAL_BACKEND = {"ML_BLOCK_LOCAL_IP": "false", "SSRF_PROTECTION_ENABLED": "false"}
UNPREFIXED = ("HOST", "PORT", "USERNAME", "PASSWORD", "USER_TOKEN", "DEBUG",
              "LABEL_STUDIO_HOST", "LABEL_STUDIO_PORT", "DATABASE_NAME")
DATABASE = "label_studio.sqlite3"
STARTED = re.compile(rb"Starting development server at http://127\.0\.0\.1:(\d+)/")


@dataclass
class Server:
    url: str
    document_root: Path
    token: str
    email: str
    password: str
    process: subprocess.Popen
    data_dir: Path
    log: Path
    ready_s: float


def executable() -> str:
    """The label-studio command: $ASAL_LABEL_STUDIO, else the one on PATH."""
    named = os.environ.get(EXECUTABLE_ENV)
    found = shutil.which(named or "label-studio")
    if found is None:
        what = (f"${EXECUTABLE_ENV} names {named}, which is no command" if named
                else "label-studio is not on PATH")
        raise AsalError(f"No Label Studio to start: {what}; install it (docs/label-studio.md) "
                        f"and put it on PATH or name it in ${EXECUTABLE_ENV}.")
    return found


def template_path(exe: str) -> Path:
    """The migrated-database template of this installation (its path and date decide)."""
    real = os.path.realpath(exe)
    key = hashlib.sha1(f"{real}:{os.stat(real).st_mtime_ns}".encode()).hexdigest()[:12]
    cache = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "asal" / "label-studio"
    return Path(cache) / f"migrated-{key}.sqlite3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(data_dir: Path, document_root: Path, extra: dict | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in UNPREFIXED}
    env.update(OFFLINE, **LOCAL_BACKEND,
               LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(document_root),
               LABEL_STUDIO_BASE_DATA_DIR=str(data_dir))
    env.update(extra or {})
    return env


def _wait(process: subprocess.Popen, log: Path, timeout: float) -> str:
    """The server's URL once GET /health answers; its port read from the log."""
    start, url = time.monotonic(), None
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            raise AsalError(f"label-studio stopped with exit status {process.returncode} "
                            f"before it was ready; read {log} for why.")
        if url is None and (m := STARTED.search(log.read_bytes())):
            url = f"http://127.0.0.1:{int(m.group(1))}"
        if url is not None:
            try:
                if requests.get(url + "/health", timeout=5).status_code == 200:
                    return url
            except requests.RequestException:
                pass
        time.sleep(0.3)
    raise AsalError(f"label-studio was not ready after {timeout:.0f} s; read {log} for why.")


def _keep_template(database: Path, template: Path) -> None:
    """Copy a migrated database (SQLite's online backup) to the template, atomically."""
    template.parent.mkdir(parents=True, exist_ok=True)
    partial = template.with_suffix(f".{os.getpid()}.partial")
    source, copy = sqlite3.connect(database), sqlite3.connect(partial)
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    os.replace(partial, template)


def start(document_root, data_dir, *, exe: str | None = None, use_template: bool = True,
          timeout: float = 300, extra_env: dict | None = None) -> Server:
    """Start a server on a free port with a new user and token; stop it with `stop`."""
    exe = exe or executable()
    root = Path(os.path.abspath(document_root))     # as push names the files below it
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    template = template_path(exe) if use_template else None
    if template is not None and template.exists() and not (data_dir / DATABASE).exists():
        shutil.copyfile(template, data_dir / DATABASE)
    # a new user each start: a template's user exists already, and keeps its old token
    email, password = f"asal-{secrets.token_hex(4)}@localhost", secrets.token_hex(12)
    token = secrets.token_hex(20)                  # more than 5 characters, or it is ignored
    log = data_dir / "label-studio.log"
    command = [exe, "start", "--no-browser", "--internal-host=127.0.0.1",
               f"--port={free_port()}", f"--data-dir={data_dir}", f"--username={email}",
               f"--password={password}", f"--user-token={token}", "--enable-legacy-api-token"]
    began = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   env=_environment(data_dir, root, extra_env))
    try:
        url = _wait(process, log, timeout)
    except BaseException:
        stop_process(process)
        raise
    if template is not None and not template.exists():
        _keep_template(data_dir / DATABASE, template)
    return Server(url, root, token, email, password, process, data_dir, log,
                  round(time.monotonic() - began, 1))


def stop_process(process: subprocess.Popen, grace: float = 20) -> int:
    """SIGTERM (Django's runserver stops at once), SIGKILL after `grace` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def stop(server: Server) -> int:
    return stop_process(server.process)
