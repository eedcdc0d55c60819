"""asal as a Label Studio ML backend: a team labels in Label Studio and the loop follows,
with no command run between two batches (docs/label-studio.md).

The backend serves one run of 03 that asks for labels (oracle: file). It speaks Label
Studio's ML backend protocol (GET /health, POST /setup, /predict, /webhook) with the
standard library's threaded HTTP server, since the `label-studio-ml` package pins its own
Flask, rq and label-studio-sdk into an environment. Every request must carry the shared
secret as HTTP basic auth (user `asal`), which is how Label Studio authenticates to an ML
backend; any other request is answered 401 and changes nothing. It listens on 127.0.0.1
unless told otherwise, and it serves no file at all: the images come from Label Studio's
own local-files storage.

What follows the labels is one `Follower`, a thread that syncs the run with its project
one sync at a time: every labeled task of the project whose label is valid (as `pull`
checks it) goes into labels.csv, once; once the cycle's asks all have a label, it runs the
next cycle in this process and pushes that cycle's asks, least sure first, with their
predictions of the new model version; and it writes where the run stands into the
project's description, where a labeler sees it. A webhook (an annotation created or
changed) asks for a sync at once; without one (Label Studio refuses to call a backend on a
private address unless told, see docs/label-studio.md) the follower looks every
`poll_s` seconds. Since every sync starts from the project and labels.csv, a backend that
was killed loses nothing: started again, its first sync takes the labels given meanwhile
and the loop resumes its cycle from the run's checkpoint.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asal.config.layout import METRICS_CYCLE
from asal.data.labels import set_labels
from asal.errors import AsalError
from asal.labelstudio.asks import (WaitingRun, p_defect_of, prediction, read_asked,
                                   refuse_not_waiting)
from asal.labelstudio.client import UNCERTAINTY, LabelStudio
from asal.labelstudio.round_trip import label_of_task, push
from asal.style import CLASS_WORDS

USER = "asal"                       # the basic-auth user Label Studio sends
SECRET_ENV = "ASAL_BACKEND_SECRET"
POLL_S = 5.0
FOLLOWED = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED",
            "START_TRAINING")
log = logging.getLogger("asal.backend")


@dataclass
class Synced:
    """What one sync did: labels taken, refused (each a sentence), whether a cycle ran."""
    taken: int
    refused: list[str]
    cycle_ran: bool
    state: str


def take_labels(run: WaitingRun, client: LabelStudio, project: int) -> tuple[int, list[str]]:
    """Every valid label of the project that labels.csv lacks, written once; the sentence
    of each task that pull would refuse (it changes nothing)."""
    new: dict[str, int] = {}
    refused = []
    for task in client.export(project):
        try:
            found = label_of_task(task, run, run.title)
        except AsalError as err:
            refused.append(str(err))
            continue
        if found is None:
            continue
        key, label = found
        old = run.labels.get(key, new.get(key))
        if old is not None and old != label:
            refused.append(f"'{key}' is labeled {CLASS_WORDS[label]} in task {task['id']} "
                           f"and {CLASS_WORDS[old]} already; an image is never labeled "
                           "twice, so the first label stands.")
            continue
        if key not in run.labels:
            new[key] = label
    if new:
        set_labels(run.labels_file, new, list(run.file_of), run.cfg.data_root)
    return len(new), refused


def run_params(run: WaitingRun):
    """The run's parameters as 03 takes them (the schema's check once more)."""
    from asal.config.profiles import FIELDS, validate

    values = {k: v for k, v in vars(run.cfg).items() if k in FIELDS}
    return validate(values, str(run.folder / "config.json"))


def state_words(run: WaitingRun) -> str:
    """Where the run stands, for the project's description: the cycle and budget, the
    labeled set's classes, the stopping rule's last word."""
    import pandas as pd

    from asal.stages.active_learning.stopping import stop_words

    cycles = int(run.cfg.cycles)
    good, defect = (sum(v == c for v in run.labels.values()) for c in (0, 1))
    classes = (f"{good} good and {defect} defect labels" if good and defect else
               f"only {good} good labels so far: the classifier knows no defect yet" if good
               else f"only {defect} defect labels so far: the classifier knows no good part "
                    "yet" if defect else "no label yet")
    rows = pd.read_csv(run.folder / METRICS_CYCLE) if (run.folder / METRICS_CYCLE).exists() \
        else None
    rule = f" The stopping rule: {stop_words(rows.iloc[-1])}." if rows is not None and \
        len(rows) else ""
    if run.cycle >= cycles:
        return (f"asal: the run is finished, {run.cycle} of {cycles} cycles (the budget's "
                f"end); {classes}.{rule}")
    return (f"asal: cycle {run.cycle} of {cycles}, {len(run.asked)} image"
            f"{'s' * (len(run.asked) != 1)} to label (least sure first); {classes}.{rule}")


class Follower:
    """Keeps a run in step with its project, one sync at a time (see the module)."""

    def __init__(self, run_dir, client: LabelStudio, *, document_root, poll_s: float = POLL_S):
        self.run_dir, self.client, self.document_root = Path(run_dir), client, document_root
        self.poll_s = poll_s
        self.wanted, self.stopped = threading.Event(), threading.Event()
        self.said: set[str] = set()     # a refusal is logged once, not at every poll
        self.thread = threading.Thread(target=self._follow, name="asal-follower", daemon=True)

    def start(self) -> Follower:
        self.wanted.set()               # the first sync at once: what was labeled meanwhile
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.wanted.set()
        self.thread.join()

    def ask(self) -> None:
        self.wanted.set()

    def _follow(self) -> None:
        while not self.stopped.is_set():
            self.wanted.wait(self.poll_s)
            self.wanted.clear()
            if self.stopped.is_set():
                return
            try:
                self.sync()
            except AsalError as err:        # the server away, a token refused: said, retried
                log.warning("%s", err)
            except Exception:               # noqa: BLE001  (a backend outlives one sync)
                log.exception("the sync failed; it is tried again at the next label")

    def sync(self) -> Synced:
        """One sync; only the follower's thread runs it, so two never overlap."""
        run = WaitingRun.of(self.run_dir, waiting=False)
        project = self.client.find_project(run.title)
        if project is None:
            raise AsalError(f"Label Studio at {self.client.url} has no project "
                            f"'{run.title}'; push the run first: asal label-studio push "
                            f"{run.folder} --backend URL.")
        taken, refused = take_labels(run, self.client, project["id"])
        for sentence in refused:
            if sentence not in self.said:
                self.said.add(sentence)
                log.warning("%s", sentence)
        run = WaitingRun.of(self.run_dir, waiting=False)
        ran = run.cycle < int(run.cfg.cycles) and len(read_asked(run.folder)) > 0 \
            and run.asked.empty
        if ran:
            from asal.stages.active_learning.loop import run_active_learning

            log.info("every image of cycle %d is labeled: the next cycle runs", run.cycle)
            run_active_learning(run_params(run), progress=False)
            run = WaitingRun.of(self.run_dir, waiting=False)
            if run.cycle < int(run.cfg.cycles):
                refuse_not_waiting(run.folder, run.cfg)
                push(self.run_dir, self.client, document_root_dir=self.document_root)
                run = WaitingRun.of(self.run_dir, waiting=False)
        state = state_words(run)
        if project.get("description") != state:
            self.client.update_project(project["id"], description=state)
        if taken or ran:
            log.info("%d new label%s; %s", taken, "s" * (taken != 1), state)
        return Synced(taken, refused, ran, state)

    def predictions(self, tasks: list[dict]) -> list[dict]:
        """Per task, the classifier's p(defect) as a choice with its confidence as the
        score and the cycle as the model version; no result for an image not asked."""
        run = WaitingRun.of(self.run_dir, waiting=False)
        rows = {r.path: r for r in read_asked(run.folder).itertuples(index=False)}
        out = []
        for task in tasks:
            row = rows.get((task.get("data") or {}).get("asal_path"))
            out.append(prediction(p_defect_of(row, len(run.file_of)), run.model_version)
                       if row is not None else
                       {"result": [], "score": 0.0, "model_version": run.model_version})
        return out


def basic_auth(secret: str) -> str:
    """The Authorization header Label Studio sends for user `asal` and this secret."""
    return "Basic " + base64.b64encode(f"{USER}:{secret}".encode()).decode()


def handler(follower: Follower, secret: str):
    expected = basic_auth(secret).encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "asal-backend"

        def log_message(self, format, *args):       # noqa: A002  (the base's name)
            log.debug("%s %s", self.address_string(), format % args)

        def _answer(self, status: HTTPStatus, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _allowed(self) -> bool:
            given = (self.headers.get("Authorization") or "").encode()
            if hmac.compare_digest(given, expected):
                return True
            self._answer(HTTPStatus.UNAUTHORIZED, {"detail": "the backend's secret is "
                                                   "missing or wrong"})
            return False

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return {}
            return body if isinstance(body, dict) else {}

        def do_GET(self):
            if not self._allowed():
                return
            if self.path.rstrip("/") in ("/health", ""):
                self._answer(HTTPStatus.OK, {"status": "UP", "model_class": "asal"})
            else:
                self._answer(HTTPStatus.NOT_FOUND, {"detail": "no such endpoint"})

        def do_POST(self):
            if not self._allowed():
                return
            body, path = self._body(), self.path.split("?")[0].rstrip("/")
            if path == "/setup":
                run = WaitingRun.of(follower.run_dir, waiting=False)
                self._answer(HTTPStatus.OK, {"model_version": run.model_version})
            elif path == "/predict":
                self._answer(HTTPStatus.OK, {
                    "results": follower.predictions(body.get("tasks") or [])})
            elif path == "/webhook":
                if body.get("action") in FOLLOWED:
                    follower.ask()
                self._answer(HTTPStatus.OK, {"status": "ok"})
            else:
                self._answer(HTTPStatus.NOT_FOUND, {"detail": "no such endpoint"})

    return Handler


def serve(follower: Follower, secret: str, *, host: str = "127.0.0.1",
          port: int = 9090) -> ThreadingHTTPServer:
    """The backend's HTTP server, bound (serve_forever() runs it)."""
    try:
        return ThreadingHTTPServer((host, port), handler(follower, secret))
    except OSError as err:
        raise AsalError(f"The backend cannot listen on {host}:{port} ({err.strerror}); pass "
                        "another --port.") from None


def connect(client: LabelStudio, project: int, url: str, secret: str, *,
            model_version: str) -> dict:
    """Connect a project to the backend at `url` (Label Studio checks it answers), give the
    webhook Label Studio made for it the secret, as the backend asks of every call, and
    keep the project's model version the run's (connecting names it after the backend)."""
    body = {"project": project, "url": url, "title": "asal", "auth_method": "BASIC_AUTH",
            "basic_auth_user": USER, "basic_auth_pass": secret, "is_interactive": False}
    known = [m for m in client.get("/api/ml", params={"project": project}) or []
             if m["url"].rstrip("/") == url.rstrip("/")]
    backend = client.patch(f"/api/ml/{known[0]['id']}", body) if known else \
        client.post("/api/ml", body)
    hook = url.rstrip("/") + "/webhook"
    for webhook in client.get("/api/webhooks/", params={"project": project}) or []:
        if webhook["url"] == hook:
            client.patch(f"/api/webhooks/{webhook['id']}/",
                         {"headers": {"Authorization": basic_auth(secret)}})
    client.update_project(project, model_version=model_version, show_collab_predictions=False,
                          sampling=UNCERTAINTY)
    return backend
