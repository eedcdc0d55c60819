"""Stage 02: sort the pool by stage 01's anomaly scores (of the profile's scorer) and cut it
into K batches: runs/<exp>/<cat>/batches/<scorer>/seed<d>/."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from asal.config.layout import SCORES_CSV, batches_dir, scores_dir
from asal.data.batchfiles import (check_against_pool, frame_from_batches, read_batches,
                                  write_batches)
from asal.data.folders import UNKNOWN, pool_key
from asal.data.images import list_pool
from asal.errors import AsalError
from asal.io import exclusive
from asal.models.ranking import sort_scores, split_batches

if TYPE_CHECKING:
    from asal.config.schema import Params


def make_batches(cfg: Params) -> pd.DataFrame:
    """Stage 02: batches from stage 01's scores (or from cfg.batches_dir), written out."""
    paths, labels = list_pool(cfg.data_root, cfg.category)
    # an unlabeled pool's labels are unknown: batches.csv leaves its label column empty
    truth = {pool_key(p): (pd.NA if lab == UNKNOWN else lab) for p, lab in zip(paths, labels)}
    if cfg.batches_dir:
        given = read_batches(cfg.batches_dir)
        check_against_pool(given, list(truth), cfg.batches_dir)
        frame = frame_from_batches(given, truth)
    else:
        scores = read_pool_scores(cfg)
        check_against_pool([list(scores.path)], list(truth), "stage 01's scores.csv")
        frame = split_batches(sort_scores(scores), cfg.n_batches)
        frame["label"] = frame.path.map(truth)
    frame["label"] = frame.label.astype("Int64")
    with exclusive(batches_dir(cfg), f"writing the {cfg.scorer} batches of {cfg.category}"):
        write_batches(batches_dir(cfg), frame)
    return frame


def read_pool_scores(cfg: Params) -> pd.DataFrame:
    """The pool scores stage 01 wrote with train_on=mixed, ASAL's setting."""
    path = scores_dir(cfg, "mixed") / SCORES_CSV
    if not path.exists():
        raise AsalError(f"No anomaly scores at {path}; run notebooks/01_scores.ipynb with "
                        f"-p category {cfg.category} -p scorer {cfg.scorer} -p scorer_seed "
                        f"{cfg.scorer_seed} first.")
    return pd.read_csv(path)
