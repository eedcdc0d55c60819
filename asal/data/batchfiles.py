"""Batch files, the paper's format: one image path per line, highest score first.

batch.txt holds the whole pool, batch0.txt .. batch{K-1}.txt the batches, and this
project adds batches.csv (path, score, rank, batch, label). The paper's published files
(`./DATA/<category>/train/<label>/<file>`) are read as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from asal.data.folders import pool_key
from asal.errors import AsalError
from asal.io import csv_text, write_set

BATCHES_CSV = "batches.csv"       # path, score, rank, batch, label: the whole ranking


def ranking(folder) -> pd.DataFrame:
    """path and rank (1 = most anomalous) of a batches folder, with the score where known."""
    csv = Path(folder) / BATCHES_CSV
    if csv.exists():
        frame = pd.read_csv(csv)
        return frame[[c for c in ("path", "score", "rank") if c in frame]]
    return frame_from_batches(read_batches(folder))[["path", "rank"]]


def write_batches(out: Path, frame: pd.DataFrame):
    """batch.txt, batch0.txt .. and batches.csv, as one set: the folder holds the old set
    or the new one, never a mix (no stale batch files of an earlier, larger K either)."""
    k = int(frame.batch.max()) + 1
    files = {"batch.txt": "".join(f"{p}\n" for p in frame.path)}
    for b in range(k):
        files[f"batch{b}.txt"] = "".join(f"{p}\n" for p in frame.path[frame.batch == b])
    columns = [c for c in ("path", "score", "rank", "batch", "label") if c in frame]
    files[BATCHES_CSV] = csv_text(frame[columns])
    write_set(out, files, keep_others=False)


def _read_lines(path: Path) -> list[str]:
    return [pool_key(line) for line in path.read_text().splitlines() if line.strip()]


def read_batches(folder) -> list[list[str]]:
    """The batches of a folder of batch0.txt .. batch{K-1}.txt, paths as pool keys.

    Reads this project's files and the paper's published ones alike
    (`./DATA/<category>/train/<label>/<file>` becomes `<category>/train/<label>/<file>`).
    """
    folder = Path(folder)
    files = {int(m.group(1)): p for p in folder.glob("batch*.txt")
             if (m := re.fullmatch(r"batch(\d+)\.txt", p.name))}
    if not files:
        raise AsalError(f"No batch files (batch0.txt ...) in {folder}; run "
                        "notebooks/02_split_batches.ipynb for this category first, or pass "
                        "batches_dir pointing at the paper's loss_batch/<scores>/<category>.")
    if sorted(files) != list(range(len(files))):
        raise AsalError(f"Batch files in {folder} are not numbered 0..K-1 without gaps: "
                        f"{sorted(files)}; restore the missing ones.")
    return [_read_lines(files[b]) for b in range(len(files))]


def check_against_pool(batches: list[list[str]], pool_keys: list[str], where) -> None:
    """Every batch path must be a pool image, and no image may appear twice."""
    flat = [p for b in batches for p in b]
    unknown = sorted(set(flat) - set(pool_keys))
    if unknown:
        raise AsalError(f"{len(unknown)} paths in the batches of {where} are not in the pool "
                        f"(first: {unknown[0]}); the batches belong to other data, rebuild "
                        "them with 02_split_batches.")
    if len(set(flat)) != len(flat):
        raise AsalError(f"The batches of {where} list an image more than once; rebuild them "
                        "with 02_split_batches.")


def frame_from_batches(batches: list[list[str]], labels: dict[str, int] | None = None):
    """A batches.csv-like frame (path, rank, batch[, label]) from batch lists."""
    rows = [(p, b) for b, paths in enumerate(batches) for p in paths]
    frame = pd.DataFrame(rows, columns=["path", "batch"])
    frame.insert(1, "rank", range(1, len(frame) + 1))
    if labels is not None:
        frame["label"] = frame.path.map(labels)
    return frame
