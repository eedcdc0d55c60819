"""The anomaly evidence a classifier with head `evidence` reads: the scores of the scorer
that ranked the pool, 01's scores.csv of the pool and test_scores.csv of the test split,
in the pool's and the test split's order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from asal.config.layout import SCORES_CSV, TEST_SCORES_CSV, scores_dir
from asal.errors import AsalError

if TYPE_CHECKING:
    from asal.config.schema import Params
    from asal.data.images import Split


@dataclass
class Evidence:
    pool_scores: np.ndarray
    test_scores: np.ndarray | None


def _aligned(path, keys: list[str]) -> np.ndarray:
    scores = pd.read_csv(path).set_index("path").score
    missing = [k for k in keys if k not in scores.index]
    if missing:
        raise AsalError(f"{path} has no score for {len(missing)} images (first: "
                        f"{missing[0]}); run notebooks/01_scores.ipynb again on these images.")
    return scores.loc[keys].to_numpy(dtype=np.float64)


def read_evidence(cfg: Params, pool: Split, test: Split | None) -> Evidence:
    folder = scores_dir(cfg, "mixed")
    if cfg.batches_dir is not None or not (folder / SCORES_CSV).exists():
        raise AsalError(f"head 'evidence' reads the anomaly scores of the scorer that ranked "
                        f"the pool, and there are none in {folder}; run "
                        f"notebooks/01_scores.ipynb with -p scorer {cfg.scorer} -p "
                        f"scorer_seed {cfg.scorer_seed} first, or use head 'lbfgs'.")
    test_path = folder / TEST_SCORES_CSV
    return Evidence(_aligned(folder / SCORES_CSV, pool.keys()),
                    _aligned(test_path, test.keys()) if test is not None
                    and test_path.exists() else None)
