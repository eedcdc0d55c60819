"""Labeling in Label Studio, against a real server: push what a waiting run asks for, label
as a person's browser does, pull the labels into labels.csv, run 03 on; and every refusal
in one sentence, labels.csv unchanged byte for byte.

One server serves the session (asal/tools/label_studio_server.py; its document root is
pytest's temporary folder, which holds the data and the runs). Without a label-studio
command, or when it cannot start, the tests that need it are skipped with the reason;
ASAL_LABEL_STUDIO_REQUIRED=1 (CI) makes that a failure.
"""

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import requests

from asal.__main__ import main
from asal.config.layout import al_dir, batches_dir, labels_path
from asal.config.profiles import resolve
from asal.data.labels import read_to_label, set_labels
from asal.errors import AsalError
from asal.labelstudio.asks import LABEL_CONFIG, title_of
from asal.labelstudio.backend import basic_auth
from asal.labelstudio.client import LabelStudio, LabelStudioRefused
from asal.labelstudio.round_trip import pull, push
from asal.stages.label_studio_note import project_note
from asal.stages.active_learning.loop import run_active_learning
from asal.tools.label_studio_server import free_port, start, stop

pytestmark = pytest.mark.label_studio
REQUIRED = os.environ.get("ASAL_LABEL_STUDIO_REQUIRED") == "1"


def unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"ASAL_LABEL_STUDIO_REQUIRED=1, and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def studio(tmp_path_factory):
    """The session's Label Studio, serving local files from below pytest's temporary
    folder."""
    root = tmp_path_factory.getbasetemp()
    try:
        server = start(root, tmp_path_factory.mktemp("label_studio_data"))
    except AsalError as err:
        unavailable(str(err))
    yield server
    stop(server)


@pytest.fixture
def client(studio):
    return LabelStudio(studio.url, studio.token)


@pytest.fixture
def token(studio, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_TOKEN", studio.token)
    return studio.token


def waiting_run(unlabeled_root, runs_root, exp: str, scored: bool = False, **values):
    """A run on the unlabeled pool that waits for its initial set: ranked by the profile's
    scorer (real heat maps, about 10 s), or by the pool's file order (no scorer, no map)."""
    cfg = resolve(category="own", data_root=str(unlabeled_root), runs_root=str(runs_root),
                  exp=exp, **{**dict(image_size=32, device="cpu", cycles=2, epochs=1,
                                     pretrained="none", freeze_body=False, head="adam",
                                     oracle="file", batches_dir=None), **values})
    if scored:
        from asal.stages.batches import make_batches
        from asal.stages.scores import run_scores

        run_scores(cfg, progress=False)
        make_batches(cfg)
    else:
        folder = batches_dir(cfg)
        folder.mkdir(parents=True)
        truth = pd.read_csv(unlabeled_root / "truth.csv")
        for b in range(5):
            (folder / f"batch{b}.txt").write_text("\n".join(truth.path[b * 32:(b + 1) * 32]))
    run_active_learning(cfg, progress=False)
    return cfg


def truth_of(unlabeled_root) -> dict[str, str]:
    """Every pool key's true label, as a person would give it."""
    truth = pd.read_csv(unlabeled_root / "truth.csv")
    return dict(zip(truth.path, truth.label.map({0: "good", 1: "defect"})))


# --------------------------------------------------------------- a person's browser
def annotate(client, task: int, project: int, label: str | None) -> dict:
    """What Chromium sends on Submit (a label) or Skip (None), captured from the real UI."""
    body = {"lead_time": 2.5, "result": [] if label is None else [
        {"value": {"choices": [label]}, "id": uuid.uuid4().hex[:10], "from_name": "label",
         "to_name": "img", "type": "choices", "origin": "manual"}],
        "draft_id": 0, "parent_prediction": None, "parent_annotation": None,
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "unique_id": str(uuid.uuid4()), "project": str(project)}
    if label is None:
        body["was_cancelled"] = True
    return client.post(f"/api/tasks/{task}/annotations?project={project}", body)


def browser_next(client, project: int) -> dict | None:
    """The labeling stream's next task as the browser asks for it: the data manager's tab,
    with the tab's ordering in the body; None when nothing is left."""
    view = client.get("/api/dm/views/", params={"project": project})[0]
    try:
        return client.post(f"/api/dm/actions?id=next_task&tabID={view['id']}&project="
                           f"{project}", {"ordering": view["data"]["ordering"],
                                          "selectedItems": {"all": False, "included": []},
                                          "filters": view["data"]["filters"],
                                          "project": str(project)})
    except LabelStudioRefused as err:
        assert err.status == 404 and "There are no tasks" in err.detail
        return None


def confidence(row, n_pool=160) -> float:
    p = 1 - (row["rank"] - 1) / n_pool if pd.isna(row["p_defect"]) else row["p_defect"]
    return max(p, 1 - p)


def by_key(client, project: int) -> dict[str, dict]:
    return {t["data"]["asal_path"]: t for t in client.tasks(project)}


# ------------------------------------------------------------------ the round trip
def test_push_label_pull_and_the_next_cycle(studio, client, token, unlabeled_root, tmp_path,
                                            capfd):
    cfg = waiting_run(unlabeled_root, tmp_path, "ls-round-trip", scored=True)
    run, root, truth = al_dir(cfg), str(studio.document_root), truth_of(unlabeled_root)
    asked = pd.read_csv(run / "to_label.csv")
    assert main(["label-studio", "push", str(run), "--url", studio.url,
                 "--document-root", root]) == 0
    assert "10 images to label in Label Studio project" in capfd.readouterr().out
    project = client.find_project(title_of(cfg))
    assert (project["sampling"], project["show_collab_predictions"], project["model_version"]) \
        == ("Uncertainty sampling", False, "cycle-0")
    tasks = by_key(client, project["id"])
    assert sorted(tasks) == sorted(asked.path)
    # the least sure first: through the API's queue and through the browser's
    confidences = {r["path"]: confidence(r) for _, r in asked.iterrows()}
    least = min(confidences, key=confidences.get)
    first, second = sorted(confidences.values())[:2]
    assert first < second                              # one image is the least sure
    assert client.get(f"/api/projects/{project['id']}/next/")["data"]["asal_path"] == least
    # images served from the pool as they are; heat maps from the run folder
    task = tasks[least]
    assert client.file(task["data"]["image"]) == (unlabeled_root / least).read_bytes()
    heat = run / "label_studio" / "heatmaps" / "train" / "unlabeled" / Path(least).name
    assert client.file(task["data"]["heatmap"]) == heat.read_bytes()
    assert heat.read_bytes()[:4] == b"\x89PNG" and task["data"]["rank"] != "n/a"

    # a person labels them all in the browser's order (one was labeled in 05 meanwhile)
    first = asked.path[0]
    set_labels(labels_path(cfg), {first: {"good": 0, "defect": 1}[truth[first]]}, truth,
               cfg.data_root)
    served = []
    while (task := browser_next(client, project["id"])) is not None:
        served.append(task["data"]["asal_path"])
        annotate(client, task["id"], project["id"], truth[served[-1]])
    assert served[0] == least and len(served) == 10
    assert [confidences[k] for k in served] == sorted(confidences[k] for k in served)

    assert main(["label-studio", "pull", str(run), "--url", studio.url]) == 0
    assert "9 new labels" in capfd.readouterr().out          # and the one of 05 once
    labels = pd.read_csv(labels_path(cfg))
    assert labels.path[0] == first and len(labels) == 10
    assert dict(zip(labels.path, labels.label)) == {k: truth[k] for k in served}

    # 03 goes on to cycle 1 and names the project; pushing it twice adds nothing twice
    capfd.readouterr()
    result = run_active_learning(cfg, progress=False)
    assert len(result.cycles) == 1 and len(result.to_label) == 1
    assert project_note(run) in capfd.readouterr().err
    for _ in range(2):
        assert main(["label-studio", "push", str(run), "--url", studio.url,
                     "--document-root", root]) == 0
        tasks = client.tasks(project["id"])
        assert len(tasks) == 11 and len({t["data"]["asal_path"] for t in tasks}) == 11
        assert client.model_versions(project["id"]) == {"cycle-1": 1}
    assert browser_next(client, project["id"])["data"]["asal_path"] == result.to_label[0]
    assert "least sure first (cycle-1)" in capfd.readouterr().out


# ---------------------------------------------------------------------- refusals
def _skipped(client, project, tasks, cfg):
    annotate(client, tasks[0]["id"], project, None)
    return "was skipped and has no label"


def _outside_pool(client, project, tasks, cfg):
    data = {**tasks[0]["data"], "asal_path": "own/train/unlabeled/not_in_the_pool.png"}
    task = client.post(f"/api/projects/{project}/import", [{"data": data}],
                       params={"return_task_ids": "true"})["task_ids"][0]
    annotate(client, task, project, "defect")
    return "which is not an image of the pool of own"


def _other_label(client, project, tasks, cfg):
    defect = '<Choice value="defect" hotkey="d"/>'
    config = LABEL_CONFIG.replace(defect, defect + '<Choice value="scratch"/>')
    client.patch(f"/api/projects/{project}/", {"label_config": config})
    annotate(client, tasks[0]["id"], project, "scratch")
    return "is labeled 'scratch', and a label is good or defect"


def _labeled_twice(client, project, tasks, cfg):
    set_labels(labels_path(cfg), {tasks[0]["data"]["asal_path"]: 0},
               pd.read_csv(cfg.data_root + "/truth.csv").path, cfg.data_root)
    annotate(client, tasks[0]["id"], project, "defect")
    return "is never labeled twice"


@pytest.mark.parametrize("case", [_skipped, _outside_pool, _other_label, _labeled_twice],
                         ids=lambda f: f.__name__.strip("_"))
def test_pull_refuses_in_one_sentence_and_leaves_labels_csv_as_it_was(
        case, studio, client, unlabeled_root, tmp_path):
    cfg = waiting_run(unlabeled_root, tmp_path, f"ls-{case.__name__.strip('_')}")
    run = al_dir(cfg)
    push(run, client, document_root_dir=studio.document_root)
    project = client.find_project(title_of(cfg))["id"]
    tasks = sorted(client.tasks(project), key=lambda t: t["id"])
    truth = truth_of(unlabeled_root)
    other = next(k for k in truth if k not in read_to_label(run))
    set_labels(labels_path(cfg), {other: 1}, truth, cfg.data_root)   # labeled in 05 before
    annotate(client, tasks[1]["id"], project, "good")       # a good label stays unwritten
    said = case(client, project, tasks, cfg)
    before = labels_path(cfg).read_bytes()
    with pytest.raises(AsalError) as err:
        pull(run, client)
    assert said in str(err.value) and str(err.value).count(". ") == 0
    assert labels_path(cfg).read_bytes() == before


def test_a_skip_followed_by_a_label_and_a_label_given_twice_the_same_are_taken(
        studio, client, unlabeled_root, tmp_path):
    cfg = waiting_run(unlabeled_root, tmp_path, "ls-relabeled")
    run = al_dir(cfg)
    push(run, client, document_root_dir=studio.document_root)
    project = client.find_project(title_of(cfg))["id"]
    tasks = sorted(client.tasks(project), key=lambda t: t["id"])
    annotate(client, tasks[0]["id"], project, None)
    annotate(client, tasks[0]["id"], project, "defect")
    annotate(client, tasks[1]["id"], project, "good")
    annotate(client, tasks[1]["id"], project, "good")
    done = pull(run, client)
    assert (done.new, done.known, done.waiting) == (2, 0, 8)
    again = pull(run, client)
    assert (again.new, again.known) == (0, 2)
    assert len(pd.read_csv(labels_path(cfg))) == 2


def test_pushing_again_drops_the_tasks_of_images_labeled_in_05_meanwhile(
        studio, client, unlabeled_root, tmp_path):
    cfg = waiting_run(unlabeled_root, tmp_path, "ls-again")
    run = al_dir(cfg)
    first = push(run, client, document_root_dir=studio.document_root)
    assert (first.asked, first.added, first.removed) == (10, 10, 0)
    assert first.maps_missing == "the scorer that ranked the pool is not on this disk"
    set_labels(labels_path(cfg), {read_to_label(run)[0]: 0}, truth_of(unlabeled_root),
               cfg.data_root)
    again = push(run, client, document_root_dir=studio.document_root)
    assert (again.project, again.asked, again.added, again.removed) == (first.project, 9, 0, 1)
    assert len(client.tasks(first.project)) == 9


@pytest.fixture
def labeled_once(unlabeled_root, tmp_path):
    """A waiting run whose labels.csv holds one label: what no refusal may change."""
    cfg = waiting_run(unlabeled_root, tmp_path, "ls-wrong")
    set_labels(labels_path(cfg), {read_to_label(al_dir(cfg))[0]: 1}, truth_of(unlabeled_root),
               cfg.data_root)
    return cfg


def test_an_unreachable_server(labeled_once, monkeypatch, capsys):
    before = labels_path(labeled_once).read_bytes()
    monkeypatch.setenv("LABEL_STUDIO_TOKEN", "some-token")
    dead = f"http://127.0.0.1:{free_port()}"
    assert main(["label-studio", "pull", str(al_dir(labeled_once)), "--url", dead]) == 2
    assert capsys.readouterr().err == (f"error: No Label Studio answers at {dead} (connection "
                                       "refused); start it (docs/label-studio.md) or pass "
                                       "--url.\n")
    assert labels_path(labeled_once).read_bytes() == before


def test_a_wrong_token_and_no_token(studio, labeled_once, monkeypatch, capsys):
    cfg, run = labeled_once, str(al_dir(labeled_once))
    before = labels_path(cfg).read_bytes()
    monkeypatch.setenv("LABEL_STUDIO_TOKEN", "not-the-token")
    assert main(["label-studio", "pull", run, "--url", studio.url]) == 2
    assert capsys.readouterr().err == (f"error: Label Studio at {studio.url} refused the token "
                                       "in $LABEL_STUDIO_TOKEN (401 Invalid token); copy the "
                                       "token from Account & Settings into it.\n")
    assert main(["label-studio", "push", run, "--url", studio.url, "--token-env", "NO_SUCH"]) \
        == 2
    assert "$NO_SUCH holds no Label Studio token" in capsys.readouterr().err
    assert labels_path(cfg).read_bytes() == before


def test_a_personal_access_token_works_as_well(studio, client):
    pat = client.post("/api/token/")["token"]
    assert LabelStudio(studio.url, pat).check()["email"] == studio.email
    with pytest.raises(AsalError, match=r"refused the token in \$LABEL_STUDIO_TOKEN \(401"):
        LabelStudio(studio.url, pat[:-4] + "abcd").check()


def test_push_refuses_a_pool_outside_the_document_root_and_a_run_that_asks_nothing(
        unlabeled_root, tmp_path):
    cfg = waiting_run(unlabeled_root, tmp_path, "ls-root")
    client = LabelStudio(f"http://127.0.0.1:{free_port()}", "unused")   # never reached
    with pytest.raises(AsalError, match="is not below Label Studio's document root"):
        push(al_dir(cfg), client, document_root_dir=tmp_path / "elsewhere")
    with pytest.raises(AsalError, match="holds no config.json, so it is not a run of 03"):
        push(tmp_path, client, document_root_dir=tmp_path)
    (al_dir(cfg) / "to_label.csv").unlink()
    with pytest.raises(AsalError, match="asks for no labels now"):
        push(al_dir(cfg), client, document_root_dir=tmp_path)


def test_a_long_run_name_gives_a_title_label_studio_takes():
    cfg = resolve(category="a_category_with_a_rather_long_name", exp="an_experiment")
    title = title_of(cfg)
    assert len(title) == 50 and title.startswith("asal: an_experiment/a_category")
    assert title_of(cfg) == title != title_of(resolve(category=cfg.category, exp="other"))


# ------------------------------------------------------------------ the ML backend
SECRET = "the-tests-shared-secret-0123456789"


class Backend:
    """`asal label-studio backend` as its own process, as a team starts it."""

    def __init__(self, run: Path, studio, log: Path):
        self.run, self.studio, self.log = run, studio, log
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process = None

    def start(self) -> "Backend":
        env = {**os.environ, "LABEL_STUDIO_TOKEN": self.studio.token,
               "ASAL_BACKEND_SECRET": SECRET}
        with open(self.log, "a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "asal", "label-studio", "backend", str(self.run),
                 "--url", self.studio.url, "--document-root", str(self.studio.document_root),
                 "--port", self.url.rsplit(":", 1)[1], "--poll", "1"],
                stdout=out, stderr=subprocess.STDOUT, env=env)
        wait_for(lambda: self.get("/health").status_code == 200, 120, self.log)
        return self

    def get(self, path, secret=SECRET):
        headers = {"Authorization": basic_auth(secret)} if secret else {}
        try:
            return requests.get(self.url + path, headers=headers, timeout=5)
        except requests.ConnectionError:
            return requests.Response()

    def post(self, path, body, secret=SECRET):
        headers = {"Authorization": basic_auth(secret)} if secret else {}
        return requests.post(self.url + path, json=body, headers=headers, timeout=30)

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)


def wait_for(condition, timeout: float, log: Path | None = None):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return
        time.sleep(0.3)
    said = log.read_text()[-3000:] if log is not None and log.exists() else ""
    pytest.fail(f"not so after {timeout:.0f} s; the backend said:\n{said[-600:]}")


@pytest.fixture
def backend_run(studio, client, token, unlabeled_root, tmp_path, monkeypatch):
    """A waiting run pushed to its project, the project connected to a running backend."""
    def make(exp: str, **values):
        cfg = waiting_run(unlabeled_root, tmp_path, exp, **values)
        run = al_dir(cfg)
        backend = Backend(run, studio, tmp_path / "backend.log").start()
        made.append(backend)
        monkeypatch.setenv("ASAL_BACKEND_SECRET", SECRET)
        assert main(["label-studio", "push", str(run), "--url", studio.url, "--document-root",
                     str(studio.document_root), "--backend", backend.url]) == 0
        project = client.find_project(title_of(cfg))["id"]
        return cfg, run, backend, project
    made = []
    yield make
    for backend in made:
        backend.stop()


def _labels(cfg) -> pd.DataFrame:
    path = labels_path(cfg)
    return pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["path", "label"])


def test_the_backend_runs_the_next_cycle_when_a_person_has_labeled_its_asks(
        backend_run, client, unlabeled_root):
    cfg, run, backend, project = backend_run("ls-backend")
    truth = truth_of(unlabeled_root)
    connected = client.get("/api/ml", params={"project": project})
    assert [m["url"] for m in connected] == [backend.url]
    wait_for(lambda: "cycle 0 of 2, 10 images to label" in client.get(
        f"/api/projects/{project}/")["description"], 30, backend.log)
    for _ in range(10):                     # the initial set, as a person's browser serves it
        task = browser_next(client, project)
        annotate(client, task["id"], project, truth[task["data"]["asal_path"]])
    # no asal command by hand: the next cycle ran and its asks are in Label Studio; the
    # sync ends by saying where the run stands, after the push of cycle 1's asks
    wait_for(lambda: client.get(f"/api/projects/{project}/")["description"].startswith(
        "asal: cycle 1 of 2, "), 180, backend.log)
    assert len(pd.read_csv(run / "metrics_cycle.csv")) == 1
    asked = [k for k in read_to_label(run) if k not in set(_labels(cfg).path)]
    assert client.get(f"/api/projects/{project}/")["description"].startswith(
        f"asal: cycle 1 of 2, {len(asked)} image") and asked
    assert any(t["data"]["asal_path"] in asked for t in client.tasks(project))
    labels = _labels(cfg)
    assert len(labels) == 10 and labels.path.is_unique
    assert dict(zip(labels.path, labels.label)) == {
        k: truth[k] for k in labels.path}
    before = labels_path(cfg).read_bytes()
    pulled = pull(run, client)                          # what pull would write: the same
    assert (pulled.new, pulled.known) == (0, 10) and labels_path(cfg).read_bytes() == before
    nxt = browser_next(client, project)
    assert nxt["data"]["asal_path"] in asked
    nxt = by_key(client, project)[nxt["data"]["asal_path"]]
    assert {p["model_version"] for p in nxt["predictions"]} == {"cycle-1"}
    got = backend.post("/predict", {"tasks": [nxt]}).json()["results"]
    assert got[0]["model_version"] == "cycle-1" and 0.5 <= got[0]["score"] <= 1


def test_a_backend_killed_during_a_cycle_loses_no_label_and_finishes_the_cycle_once(
        backend_run, client, unlabeled_root):
    cfg, run, backend, project = backend_run("ls-backend-killed", epochs=80)
    truth = truth_of(unlabeled_root)
    for task in client.tasks(project):
        annotate(client, task["id"], project, truth[task["data"]["asal_path"]])
    wait_for(lambda: "the next cycle runs" in backend.log.read_text(), 60, backend.log)
    backend.stop(signal.SIGKILL)              # inside the cycle: 80 epochs take a while
    assert len(_labels(cfg)) == 10 and not (run / "metrics_cycle.csv").exists()
    backend.start()
    wait_for(lambda: (run / "metrics_cycle.csv").exists() and (run / "to_label.csv").exists()
             and len(pd.read_csv(run / "metrics_cycle.csv")) == 1, 240, backend.log)
    labels = _labels(cfg)
    assert len(labels) == 10 and labels.path.is_unique
    cycles = pd.read_csv(run / "metrics_cycle.csv")
    assert cycles.cycle.tolist() == [0] and cycles.n_labels.tolist() == [10]


def test_two_webhooks_at_once_keep_both_labels_once_and_a_skip_changes_nothing(
        backend_run, client, unlabeled_root):
    cfg, run, backend, project = backend_run("ls-backend-twice")
    truth = truth_of(unlabeled_root)
    tasks = sorted(client.tasks(project), key=lambda t: t["id"])
    for task in tasks[:2]:
        annotate(client, task["id"], project, truth[task["data"]["asal_path"]])
    annotate(client, tasks[2]["id"], project, None)               # a skip
    hooks = [threading.Thread(target=backend.post, args=("/webhook", {
        "action": "ANNOTATION_CREATED", "task": {"id": t["id"]}})) for t in tasks[:2]]
    for hook in hooks:
        hook.start()
    for hook in hooks:
        hook.join()
    wait_for(lambda: len(_labels(cfg)) == 2, 60, backend.log)
    time.sleep(2.5)                                   # two polls more: still the same two
    labels = _labels(cfg)
    assert sorted(labels.path) == sorted(t["data"]["asal_path"] for t in tasks[:2])
    assert "was skipped and has no label" in backend.log.read_text()
    assert not (run / "metrics_cycle.csv").exists()


def test_a_request_without_the_secret_is_refused_and_changes_nothing(
        backend_run, client, unlabeled_root):
    cfg, run, backend, project = backend_run("ls-backend-secret")
    before = sorted(p.name for p in run.iterdir())
    for secret in (None, "not-the-secret-at-all-0000"):
        assert backend.get("/health", secret=secret).status_code == 401
        assert backend.post("/predict", {"tasks": []}, secret=secret).status_code == 401
        assert backend.post("/webhook", {"action": "ANNOTATION_CREATED"},
                            secret=secret).status_code == 401
    assert sorted(p.name for p in run.iterdir()) == before and not labels_path(cfg).exists()
