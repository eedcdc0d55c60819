"""Sort the pool by anomaly score and cut it into K batches; read and write batch files.

The files keep the paper's format: one image path per line, highest score first
(batch.txt for the whole pool, batch0.txt .. batch{K-1}.txt for the batches). Scores are
sorted as numbers, high to low (the published PT4AL rankings were sorted as text, which
puts 9.1e-05 above 0.5), ties label-blind (asal/order.py): a tie broken by path would put
`train/anomaly/` before `train/good/`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from asal.config import Config
from asal.data import pool_key
from asal.errors import AsalError
from asal.io import csv_text, exclusive, write_set
from asal.order import blind_order


def sort_scores(scores: pd.DataFrame, salt: int = 0) -> pd.DataFrame:
    """Rows ordered by numeric score, high to low, ties label-blind; with a 0-based rank."""
    frame = scores.copy()
    frame["score"] = pd.to_numeric(frame["score"], errors="raise").astype(float)
    frame = frame.iloc[blind_order(frame.score, frame.path.tolist(), salt)]
    return frame.reset_index(drop=True).assign(rank=lambda f: f.index)


def batch_sizes(n: int, k: int) -> list[int]:
    """The paper's cut: K-1 batches of floor(N/K), the last one the rest."""
    if k < 1 or k > n:
        raise AsalError(f"Cannot cut a pool of {n} images into n_batches={k} batches; "
                        f"use between 1 and {n} batches.")
    size = n // k
    return [size] * (k - 1) + [n - size * (k - 1)]


def split_batches(sorted_scores: pd.DataFrame, k: int) -> pd.DataFrame:
    """Add a `batch` column: contiguous blocks of the sorted pool."""
    sizes = batch_sizes(len(sorted_scores), k)
    labels = [b for b, size in enumerate(sizes) for _ in range(size)]
    return sorted_scores.assign(batch=labels)


def batches_dir(cfg: Config) -> Path:
    return cfg.run_dir / "batches"


def source_dir(cfg: Config) -> Path:
    """The batches stage 03 reads: the given batches_dir, else stage 02's."""
    return Path(cfg.batches_dir) if cfg.batches_dir else batches_dir(cfg)


def ranking(folder) -> pd.DataFrame:
    """path and rank (0 = most anomalous) of a batches folder, with the score where known."""
    csv = Path(folder) / "batches.csv"
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
    files["batches.csv"] = csv_text(frame[columns])
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
    frame.insert(1, "rank", range(len(frame)))
    if labels is not None:
        frame["label"] = frame.path.map(labels)
    return frame


def make_batches(cfg: Config) -> pd.DataFrame:
    """Stage 02: batches from stage 01's scores (or from cfg.batches_dir), written out."""
    from asal.anomaly_scores import read_scores
    from asal.data import UNKNOWN, list_split
    from asal.synthetic import ensure_synthetic

    ensure_synthetic(cfg.data_root, cfg.category)
    paths, labels = list_split(cfg.data_root, cfg.category, "train")
    # an unlabeled pool's labels are unknown: batches.csv leaves its label column empty
    truth = {pool_key(p): (pd.NA if lab == UNKNOWN else lab) for p, lab in zip(paths, labels)}
    if cfg.batches_dir:
        given = read_batches(cfg.batches_dir)
        check_against_pool(given, list(truth), cfg.batches_dir)
        frame = frame_from_batches(given, truth)
    else:
        scores = read_scores(cfg, "mixed")
        check_against_pool([list(scores.path)], list(truth), "stage 01's scores.csv")
        frame = split_batches(sort_scores(scores), cfg.n_batches)
        frame["label"] = frame.path.map(truth)
    frame["label"] = frame.label.astype("Int64")
    with exclusive(batches_dir(cfg), f"writing the batches of {cfg.category}"):
        write_batches(batches_dir(cfg), frame)
    return frame
