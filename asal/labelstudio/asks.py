"""What a run of 03 that waits for labels asks a person for, made into Label Studio tasks.

The run folder alone is enough: its config.json holds the run's parameters, its
to_label.csv the images it waits for (with the classifier's p_defect and the anomaly score
and rank), metrics_cycle.csv how many cycles are done. Images are never copied: a task
names the pool's own file, which Label Studio serves from a local-files storage; the
anomaly heat maps are written once into the run folder and served the same way.
"""

from __future__ import annotations

import hashlib
import math
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from asal.categories import GRAYSCALE_CATEGORIES
from asal.config.layout import CONFIG_JSON, METRICS_CYCLE, al_dir, labels_path
from asal.data.folders import list_split, pool_key
from asal.data.labels import TO_LABEL_CSV, read_labels
from asal.errors import AsalError
from asal.project import absolute
from asal.stages.claims import recorded

RUN_FOLDER = "runs/<exp>/<category>/al/<init>/<query>/seed<k>"
PATHS = ("data_root", "runs_root", "figures_root", "labels_csv", "batches_dir")
UNRECORDED = {"labels_csv": None, "batches_dir": None, "grayscale": "auto",
              "figures_root": "figures"}       # what an older record may lack
TITLE_MAX = 50                      # Label Studio's longest project title
LABELS = ("good", "defect")
FROM_NAME, TO_NAME = "label", "img"
# The image and its heat map side by side, the anomaly score and rank above them, one
# required choice of good or defect. The classifier's guess is not shown (no prefill).
LABEL_CONFIG = """<View>
  <Header value="Anomaly score $score (rank $rank of $n_pool; 1 = most anomalous)"/>
  <View style="display: flex; gap: 12px;">
    <View style="flex: 50%">
      <Header value="Image" size="5"/>
      <Image name="img" value="$image" zoom="true"/>
    </View>
    <View style="flex: 50%">
      <Header value="$map_note" size="5"/>
      <Image name="heat" value="$heatmap" zoom="true"/>
    </View>
  </View>
  <Choices name="label" toName="img" choice="single-radio" required="true" showInline="true">
    <Choice value="good" hotkey="g"/>
    <Choice value="defect" hotkey="d"/>
  </Choices>
</View>"""
MAP_NOTE = "Anomaly heat map (bright = suspect)"
FOLDER = "label_studio"             # in the run folder: heatmaps/, served by Label Studio


class RunRecord(SimpleNamespace):
    """A run's parameters as its config.json records them, read as attributes the way
    asal.config.layout and the anomaly maps read them. Not asal.config.schema.Params: the
    record was checked when the run was made, and the schema would put the command line
    several levels deeper in the import graph (tests/test_house.py)."""

    @property
    def use_grayscale(self) -> bool:
        """As Params.use_grayscale."""
        if self.grayscale == "auto":
            return self.category in GRAYSCALE_CATEGORIES
        return bool(self.grayscale)


def run_record(folder: Path) -> RunRecord:
    """The run's parameters, with the runs root and experiment of the folder's own place
    (runs/<exp>/<category>/al/<init>/<query>/seed<k>), so a moved runs folder still finds
    its labels.csv and scorer."""
    made = recorded(folder) if (folder / CONFIG_JSON).is_file() else None
    if made is None:
        why = "does not exist" if not folder.exists() else f"holds no {CONFIG_JSON}"
        raise AsalError(f"{folder} {why}, so it is not a run of 03; give {RUN_FOLDER} of a "
                        "run that waits for labels.")
    values = {**UNRECORDED, **made}
    if len(folder.parents) > 5:
        values.update(runs_root=str(folder.parents[5]), exp=folder.parents[4].name)
    for key in PATHS:
        if values.get(key) is not None:
            values[key] = absolute(values[key])
    record = RunRecord(**values)
    if al_dir(record).resolve() != folder.resolve():
        raise AsalError(f"{folder} is not where its {CONFIG_JSON} puts the run "
                        f"({al_dir(record)}); give the run folder itself, {RUN_FOLDER}.")
    return record


def _rows(path: Path) -> int:
    return len(pd.read_csv(path)) if path.is_file() else 0


def title_of(cfg) -> str:
    """The project's title, found again by it: the run's experiment, category, init, query
    and seed (cut, with a digest of the whole, where Label Studio's 50 characters end)."""
    title = f"asal: {cfg.exp}/{cfg.category} {cfg.init}/{cfg.query}/seed{cfg.seed}"
    if len(title) <= TITLE_MAX:
        return title
    return title[:TITLE_MAX - 8] + " #" + hashlib.sha1(title.encode()).hexdigest()[:6]


def refuse_not_waiting(folder: Path, record: RunRecord) -> None:
    """Stop, with what to do, when the run waits for no labels."""
    if _rows(folder / TO_LABEL_CSV):
        return
    if _rows(folder / METRICS_CYCLE) >= int(record.cycles):
        raise AsalError(f"{folder} is a finished run and asks for no labels; to label more, "
                        "raise cycles and run 03 again, then push what it asks for.")
    raise AsalError(f"{folder} asks for no labels now (no {TO_LABEL_CSV}); run 03 again with "
                    "the same parameters until it stops for labels, then push.")


@dataclass
class WaitingRun:
    """A run of 03, its pool and labels, and the images it waits for that labels.csv does
    not hold yet (`asked`: rows of to_label.csv)."""

    folder: Path
    cfg: RunRecord
    cycle: int
    file_of: dict[str, Path]
    labels: dict[str, int]
    asked: pd.DataFrame

    @classmethod
    def of(cls, run_dir, *, waiting: bool = True) -> WaitingRun:
        folder = Path(run_dir)
        cfg = run_record(folder)
        if waiting:
            refuse_not_waiting(folder, cfg)
        paths, _ = list_split(cfg.data_root, cfg.category, "train")
        file_of = {pool_key(p): Path(p) for p in paths}
        labels = read_labels(labels_path(cfg), list(file_of), cfg.data_root)
        asked = read_asked(folder)
        unknown = [k for k in asked.path if k not in file_of]
        if unknown:
            raise AsalError(f"{folder / TO_LABEL_CSV} asks for {unknown[0]}, which is not in "
                            f"the pool of {cfg.category}; run 03 again to renew it.")
        asked = asked[~asked.path.isin(list(labels))].reset_index(drop=True)
        return cls(folder, cfg, _rows(folder / METRICS_CYCLE), file_of, labels, asked)

    @property
    def title(self) -> str:
        return title_of(self.cfg)

    @property
    def model_version(self) -> str:
        return f"cycle-{self.cycle}"

    @property
    def labels_file(self) -> Path:
        return labels_path(self.cfg)

    @property
    def pool_folder(self) -> Path:
        """The folder holding every pool image (train/unlabeled/ or train/)."""
        return Path(os.path.commonpath([str(p.parent) for p in self.file_of.values()]))

    @property
    def heatmap_folder(self) -> Path:
        return self.folder / FOLDER / "heatmaps"


def read_asked(folder: Path) -> pd.DataFrame:
    """to_label.csv's rows (path, p_defect, score, rank; any of the last three may be
    absent or empty), none where there is no such file."""
    path = folder / TO_LABEL_CSV
    columns = ["path", "p_defect", "score", "rank"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    frame = pd.read_csv(path, dtype={"path": str})
    return frame.reindex(columns=columns)


def p_defect_of(row, n_pool: int) -> float:
    """The classifier's p_defect; for the initial set, which no classifier has seen yet,
    the image's share of the pool by anomaly rank, 1 - (rank - 1) / n_pool (rank 1, the
    most anomalous, 1.0); 0.5 where neither is known."""
    for value, share in ((row.p_defect, False), (row.rank, True)):
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return 1 - (float(value) - 1) / n_pool if share else float(value)
    return 0.5


def prediction(p_defect: float, model_version: str) -> dict:
    """The classifier's label at 0.5 with its confidence max(p, 1 - p) as the score: the
    project serves the lowest score, the least sure image, first."""
    label = "defect" if p_defect >= 0.5 else "good"
    return {"result": [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
                        "value": {"choices": [label]}}],
            "score": round(max(p_defect, 1 - p_defect), 6), "model_version": model_version}


def inside(folder: Path, root: Path) -> bool:
    """Whether `folder` lies strictly below `root` (Label Studio refuses the root itself)."""
    rel = os.path.relpath(os.path.abspath(folder), os.path.abspath(root))
    return rel != "." and not rel.startswith("..")


def served_url(path: Path, root: Path) -> str:
    """The URL under which Label Studio serves a file below its document root."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return "/data/local-files/?d=" + urllib.parse.quote(Path(rel).as_posix())


def heatmap_name(key: str) -> str:
    """The heat map's file below heatmaps/: the key's split, folder and stem, as PNG."""
    return str(Path(*Path(key).parts[1:]).with_suffix(".png"))


def task_data(run: WaitingRun, row, root: Path, heatmap: Path | None) -> dict:
    """A task's data: the image, its heat map (the image again where there is none), the
    anomaly score and rank, the pool's size and the pool key."""
    key, image = row.path, run.file_of[row.path]

    def text(value, form):
        return "n/a" if value is None or pd.isna(value) else form.format(value)

    return {"image": served_url(image, root),
            "heatmap": served_url(heatmap or image, root),
            "map_note": MAP_NOTE if heatmap else "No anomaly map: the image again",
            "score": text(row.score, "{:.4f}"), "rank": text(row.rank, "{:.0f}"),
            "n_pool": str(len(run.file_of)), "asal_path": key}
