"""What a folder under runs/ holds, told apart by its files: an active-learning run
(finished, with or without its model.pt, or waiting), a ceiling, or another stage's result.

`predict` and `export` need a finished run's model.pt and say, for any other folder, what
it is and what to give instead; 05 says why a run asks for nothing. The files decide, not
the folder's name, so a moved or renamed run folder is still recognised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from asal.config.layout import (BACKBONE, CONFIG_JSON, METRICS_CYCLE, METRICS_JSON, MODEL,
                                ROTATION_SCORES, SCORES_CSV)
from asal.data.batchfiles import BATCHES_CSV
from asal.data.labels import TO_LABEL_CSV

RUN_FOLDER = "runs/<exp>/<category>/al/<init>/<query>/seed<k>"
AL_FILES = (METRICS_CYCLE, "checkpoint.pt", TO_LABEL_CSV, "labeled.txt")


@dataclass(frozen=True)
class FolderKind:
    """kind: missing, al, ceiling, scores, pretext, batches, parent (holds runs below it)
    or other; for an active-learning run, its cycles done and asked for, the images it
    waits for, and whether its model.pt is there."""

    kind: str
    cycles_done: int = 0
    cycles_wanted: int | None = None
    waiting: int = 0
    has_model: bool = False

    @property
    def finished(self) -> bool:
        return self.kind == "ceiling" or (self.cycles_wanted is not None
                                          and self.cycles_done >= self.cycles_wanted)


def _cycles_wanted(folder: Path) -> int | None:
    try:
        return int(json.loads((folder / CONFIG_JSON).read_text())["cycles"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _rows(path: Path) -> int:
    return len(pd.read_csv(path)) if path.is_file() else 0


def folder_kind(folder) -> FolderKind:
    folder = Path(folder)
    if not folder.exists():
        return FolderKind("missing")
    if not folder.is_dir():
        return FolderKind("other")
    has = {p.name for p in folder.iterdir()}
    if any(name in has for name in AL_FILES):
        return FolderKind("al", _rows(folder / METRICS_CYCLE), _cycles_wanted(folder),
                          _rows(folder / TO_LABEL_CSV), MODEL in has)
    if SCORES_CSV in has:
        return FolderKind("scores")
    if BACKBONE in has or ROTATION_SCORES in has:
        return FolderKind("pretext")
    if BATCHES_CSV in has or "batch0.txt" in has:
        return FolderKind("batches")
    if METRICS_JSON in has:
        metrics = json.loads((folder / METRICS_JSON).read_text())
        if "pool_labels" in metrics:
            return FolderKind("ceiling", has_model=MODEL in has)
        if "task" in metrics:
            return FolderKind("pretext")
    if any(folder.glob("**/" + METRICS_CYCLE)):
        return FolderKind("parent")
    return FolderKind("other")


def finished_runs_below(folder: Path, limit: int = 3) -> list[Path]:
    """Run folders below `folder` whose model.pt is there (a few, for a message)."""
    return sorted(p.parent for p in Path(folder).glob(f"**/al/*/*/seed*/{MODEL}"))[:limit]


def why_no_model(folder) -> str:
    """One sentence: why `folder` has no classifier to load, and what to give instead."""
    folder = Path(folder)
    k = folder_kind(folder)
    give = f"give a finished active-learning run's folder, {RUN_FOLDER} (or a ceiling's)"
    if k.kind == "missing":
        return f"{folder} does not exist; {give}."
    stage = {"scores": "anomaly scores (stage 01, notebook 01_scores)",
             "pretext": "a pretext network (stage 00, notebook 00_pretext)",
             "batches": "a ranked pool cut into batches (stage 02)"}
    if k.kind in stage:
        return f"{folder} holds {stage[k.kind]}, not a classifier; {give}."
    if k.kind == "parent":
        runs = finished_runs_below(folder)
        found = (f" (such as {runs[0]})" if runs else
                 ", and none below it has its model.pt yet")
        return f"{folder} holds runs below it, not one run; {give}{found}."
    if k.kind in ("al", "ceiling") and k.finished:
        return (f"{folder} is a finished run whose model.pt is not on this disk: model.pt "
                "files are never committed (git ignores runs/**/*.pt), so a cloned run has "
                "its tables without its weights; run notebooks/03_active_learning.ipynb "
                "with the run's parameters (its config.json) to rebuild it, to the same "
                "numbers on the same CPU, or give a run you trained yourself.")
    if k.kind == "al":
        done = (f"{k.cycles_done} of its {k.cycles_wanted} cycles are done"
                + (f", and it waits for {k.waiting} labels listed in its {TO_LABEL_CSV}"
                   if k.waiting else ""))
        return (f"{folder} is an active-learning run that is not finished ({done}), so it "
                "has no model.pt yet; run notebooks/03_active_learning.ipynb to its end "
                "with the same parameters first.")
    return f"{folder} is not a run folder of asal; {give}."
