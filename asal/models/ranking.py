"""A pool ranked by score and cut into K batches, as ASAL cuts it.

Scores are sorted as numbers, high to low (the published PT4AL rankings were sorted as
text, which puts 9.1e-05 above 0.5), ties label-blind (asal/order.py): a tie broken by
path would put `train/anomaly/` before `train/good/`.
"""

from __future__ import annotations

import pandas as pd

from asal.errors import AsalError
from asal.order import blind_order


def sort_scores(scores: pd.DataFrame, salt: int = 0) -> pd.DataFrame:
    """Rows ordered by numeric score, high to low, ties label-blind; with their rank (1 =
    the highest score, as a person counts it in to_label.csv and in 05)."""
    frame = scores.copy()
    frame["score"] = pd.to_numeric(frame["score"], errors="raise").astype(float)
    frame = frame.iloc[blind_order(frame.score, frame.path.tolist(), salt)]
    return frame.reset_index(drop=True).assign(rank=lambda f: f.index + 1)


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
