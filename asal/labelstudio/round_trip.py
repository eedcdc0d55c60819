"""The loop's stop for labels through Label Studio: push what a run asks for, pull the
labels given there into labels.csv.

push makes (or finds again, by its exact title) one project per run and keeps it in step
with the run: one task per asked image, keyed by its pool key, so pushing twice adds
nothing; a prediction per task of this cycle's model version whose score is the
classifier's confidence, so the project, in the browser as through the API, serves the
least sure image first; the guess itself is not shown. pull reads the project's JSON
export and writes its labels through asal.data.labels.set_labels, the same checked rows
notebook 05 writes. Whatever pull refuses, it refuses before writing anything, so
labels.csv stays as it was, byte for byte.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from asal.data.folders import key_in_pool
from asal.data.labels import LABEL_OF, set_labels
from asal.errors import AsalError
from asal.io import exclusive, json_text, write_bytes, write_text
from asal.labelstudio.asks import (LABEL_CONFIG, LABELS, WaitingRun, heatmap_name, inside,
                                   p_defect_of, prediction, served_url, task_data)
from asal.labelstudio.client import UNCERTAINTY, LabelStudio, LabelStudioRefused
from asal.stages.label_studio_note import NOTE
from asal.style import CLASS_WORDS

DOCUMENT_ROOT_ENV = "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"


@dataclass
class Pushed:
    project: int
    title: str
    url: str
    model_version: str
    asked: int          # tasks waiting for a label in this cycle
    added: int          # of them new in the project
    removed: int        # tasks no longer asked for, never labeled, taken out
    maps_missing: str | None   # why the heat maps are the images themselves


@dataclass
class Pulled:
    title: str
    labels_file: Path
    new: int            # labels written to labels.csv
    known: int          # labels labels.csv held already, the same
    waiting: int        # images the run asks for that have no label yet


def document_root(given=None) -> Path:
    """The folder Label Studio serves local files below: given, or the server's variable."""
    root = given or os.environ.get(DOCUMENT_ROOT_ENV)
    if not root:
        raise AsalError("Label Studio serves the images from below its document root, and "
                        f"none is known; pass --document-root (the {DOCUMENT_ROOT_ENV} "
                        "Label Studio was started with) or set that variable.")
    return Path(os.path.abspath(os.path.expanduser(str(root))))


def _check_served(run: WaitingRun, root: Path) -> None:
    for what, folder in (("The pool", run.pool_folder), ("The heat maps' folder",
                                                          run.heatmap_folder)):
        if not inside(folder, root):
            raise AsalError(f"{what} {folder} is not below Label Studio's document root "
                            f"{root}, so Label Studio cannot serve it; start Label Studio "
                            f"with {DOCUMENT_ROOT_ENV} set to a folder that holds both the "
                            "data and the runs folder (such as the project folder) and pass "
                            "the same --document-root.")


def _project(client: LabelStudio, run: WaitingRun) -> dict:
    project = client.find_project(run.title)
    if project is None:
        project = client.create_project(
            run.title, LABEL_CONFIG, description=f"The images asal's run {run.folder} asks "
            f"for; pull the labels with: asal label-studio pull {run.folder}")
    return project


def _storages(client: LabelStudio, project: int, run: WaitingRun, with_maps: bool) -> None:
    folders = [("asal pool", run.pool_folder)]
    if with_maps:
        folders.append(("asal heat maps", run.heatmap_folder))
    for title, folder in folders:
        try:
            client.ensure_local_storage(project, str(folder), title=title)
        except LabelStudioRefused as err:
            raise AsalError(f"Label Studio at {client.url} cannot serve {folder} "
                            f"({err.detail}); start it with {DOCUMENT_ROOT_ENV} set to a "
                            "folder above it and LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="
                            "true, and pass the same --document-root.") from None


def _sync_tasks(client: LabelStudio, project: int, wanted: dict[str, dict],
                run: WaitingRun) -> tuple[dict[str, dict], int, int]:
    """Add the asked images' tasks that are missing, update changed data, and remove the
    tasks nobody labeled that are no longer asked for (or labeled elsewhere, in 05, say)
    and second tasks of one image; the asked tasks by pool key."""
    existing: dict[str, dict] = {}
    removed = 0
    for task in client.tasks(project):
        key = task["data"].get("asal_path")
        if key in wanted and key not in existing:
            existing[key] = task
            if task["data"] != wanted[key]:
                client.update_task_data(task["id"], wanted[key])
        elif not task.get("total_annotations") and not task.get("cancelled_annotations"):
            client.delete_task(task["id"])
            removed += 1
    new = [k for k in wanted if k not in existing]
    ids = client.import_tasks(project, [{"data": wanted[k]} for k in new])
    for key, tid in zip(new, ids, strict=True):
        existing[key] = {"id": tid, "predictions": []}
    return existing, len(new), removed


def _predict(client: LabelStudio, project: int, tasks: dict[str, dict],
             run: WaitingRun) -> None:
    """This cycle's predictions, then its model version, then no other version."""
    version, n_pool = run.model_version, len(run.file_of)
    rows = {row.path: row for row in run.asked.itertuples(index=False)}
    missing = [{"task": task["id"], **prediction(p_defect_of(rows[key], n_pool), version)}
               for key, task in tasks.items()
               if not any(p.get("model_version") == version for p in task["predictions"])]
    client.add_predictions(project, missing)
    client.update_project(project, model_version=version, show_collab_predictions=False,
                          sampling=UNCERTAINTY)
    for old in client.model_versions(project):
        if old != version:
            client.drop_model_version(project, old)


def _check_first_image(client: LabelStudio, run: WaitingRun, root: Path) -> None:
    """Label Studio serves the first asked image as it is on disk, or push says why not."""
    image = run.file_of[run.asked.path[0]]
    url = served_url(image, root)
    try:
        same = client.file(url) == image.read_bytes()
    except LabelStudioRefused as err:
        same, why = False, f"{err.status} {err.detail}"
    else:
        why = "other bytes"
    if not same:
        raise AsalError(f"Label Studio at {client.url} does not serve {image} at {url} "
                        f"({why}); start it with {DOCUMENT_ROOT_ENV}={root} (the "
                        "--document-root given here) and LABEL_STUDIO_LOCAL_FILES_SERVING_"
                        "ENABLED=true.")


def write_heatmaps(run: WaitingRun, keys: list[str]) -> tuple[dict[str, Path], str | None]:
    """The heat map of every asked image, written once below heatmaps/ (the scorer does not
    change within a run); why there are none, where there are none. The caller holds the
    run folder's lock."""
    made = {key: run.heatmap_folder / heatmap_name(key) for key in keys}
    if all(path.exists() for path in made.values()):
        return made, None            # pushed before: the scorer need not be loaded again
    from asal.stages.anomaly_maps import AnomalyMaps  # torch: only where maps are made

    try:
        maps = AnomalyMaps.of(run.cfg)
        if maps is None or not maps.has_maps:
            return {}, ("the scorer that ranked the pool is not on this disk" if maps is None
                        else "the scorer that ranked the pool makes no maps")
        for key, out in made.items():
            if not out.exists():
                buffer = io.BytesIO()
                maps.overlay(run.file_of[key]).save(buffer, format="PNG")
                write_bytes(out, buffer.getvalue())
    except Exception as err:  # noqa: BLE001  (a help for the person, never a stop)
        return {}, f"they could not be made ({type(err).__name__}: {err})"
    return made, None


def push(run_dir, client: LabelStudio, *, document_root_dir=None) -> Pushed:
    """Put the images a waiting run asks for into its project, least sure first; record
    the project in <run>/label_studio.json."""
    run = WaitingRun.of(run_dir)
    root = document_root(document_root_dir)
    _check_served(run, root)
    client.check()
    keys = list(run.asked.path)
    with exclusive(run.folder, f"pushing {run.folder} to Label Studio"):
        maps, why = write_heatmaps(run, keys)
    project = _project(client, run)
    _storages(client, project["id"], run, bool(maps))
    if keys:
        _check_first_image(client, run, root)         # before a task names a wrong URL
    wanted = {row.path: task_data(run, row, root, maps.get(row.path))
              for row in run.asked.itertuples(index=False)}
    tasks, added, removed = _sync_tasks(client, project["id"], wanted, run)
    if tasks:
        _predict(client, project["id"], tasks, run)
        client.ensure_least_sure_view(project["id"])
    pushed = Pushed(project["id"], run.title, client.url, run.model_version, len(tasks),
                    added, removed, why)
    note = {"url": client.url, "id": pushed.project, "title": pushed.title,
            "cycle": run.cycle, "model_version": pushed.model_version, "asked": len(tasks)}
    with exclusive(run.folder, f"pushing {run.folder} to Label Studio"):
        write_text(run.folder / NOTE, json_text(note))
    return pushed


# --------------------------------------------------------------------------- pull

def _choice(annotation: dict) -> str | None:
    """The one choice an annotation gives; None where it gives none or several."""
    chosen = [c for r in annotation.get("result") or [] if r.get("type") == "choices"
              for c in r.get("value", {}).get("choices", [])]
    return chosen[0] if len(chosen) == 1 else None


def label_of_task(task: dict, run: WaitingRun, title: str) -> tuple[str, int] | None:
    """The pool key and label a task's annotations give; None for a task nobody annotated.
    Refused, each in one sentence: an image outside the pool, a skip with no label, no
    or several choices, two labels, a label other than good or defect."""
    annotations = task.get("annotations") or []
    if not annotations:
        return None
    path = str(task.get("data", {}).get("asal_path") or task.get("data", {}).get("image"))
    where = f"Task {task['id']} of Label Studio project '{title}'"
    key = key_in_pool(path, run.cfg.data_root, set(run.file_of))
    if key is None:
        raise AsalError(f"{where} labels '{path}', which is not an image of the pool of "
                        f"{run.cfg.category}; delete the task in Label Studio, then pull "
                        "again.")
    given = [a for a in annotations if not a.get("was_cancelled")]
    if not given:
        raise AsalError(f"{where} ({key}) was skipped and has no label; open it in Label "
                        "Studio, label it good or defect, then pull again.")
    chosen = [_choice(a) for a in given]
    if None in chosen:
        raise AsalError(f"{where} ({key}) has an annotation without exactly one choice; "
                        "label it good or defect in Label Studio, then pull again.")
    if len(set(chosen)) > 1:
        said = " and ".join(sorted(set(chosen)))
        raise AsalError(f"{where} ({key}) has annotations that say {said}; delete the wrong "
                        "one in Label Studio, then pull again.")
    if chosen[0] not in LABELS:
        raise AsalError(f"{where} ({key}) is labeled '{chosen[0]}', and a label is good or "
                        "defect; change it in Label Studio, then pull again.")
    return key, LABEL_OF[chosen[0]]


def pull(run_dir, client: LabelStudio) -> Pulled:
    """Write the labels given in the run's project to labels.csv, all or none."""
    run = WaitingRun.of(run_dir, waiting=False)
    title = run.title
    client.check()
    project = client.find_project(title)
    if project is None:
        raise AsalError(f"Label Studio at {client.url} has no project '{title}'; push the "
                        f"run first: asal label-studio push {run.folder} --url {client.url}.")
    given: dict[str, int] = {}
    for task in client.export(project["id"]):
        found = label_of_task(task, run, title)
        if found is None:
            continue
        key, label = found
        old = run.labels.get(key, given.get(key))
        if old is not None and old != label:
            where = run.labels_file if key in run.labels else f"another task of '{title}'"
            raise AsalError(f"'{key}' is labeled {CLASS_WORDS[label]} in Label Studio (task "
                            f"{task['id']} of '{title}') and {CLASS_WORDS[old]} in {where}; "
                            "an image is never labeled twice, so correct the wrong one, "
                            "then pull again.")
        given[key] = label
    new = {k: v for k, v in given.items() if k not in run.labels}
    if new:
        set_labels(run.labels_file, new, list(run.file_of), run.cfg.data_root)
    waiting = sum(k not in given for k in run.asked.path)
    return Pulled(title, run.labels_file, len(new), len(given) - len(new), waiting)
