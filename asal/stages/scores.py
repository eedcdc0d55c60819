"""Stage 01: the profile's scorer, fitted on the unlabeled pool, scores pool and test.

Writes runs/<exp>/<cat>/scores/<scorer>/<train_on>/seed<d>/ as one set: scores.csv (path,
score, label), test_scores.csv, metrics.json (the metrics every scorer shares: pool and
test AUROC, ...), config.json (the parameters), provenance.json (what ran it, its seconds),
model.pt (the fitted scorer, asal/stages/scorer_files.py) and, for a scorer that trains,
loss.csv.
`train_on="mixed"` is ASAL's setting (the whole pool, no labels used); `train_on="normal"`
fits on the pool's good images only, a baseline (DRAEM_normal in the paper). Labels in the
outputs serve analysis only: the scorer never sees them. On an unlabeled pool
(train/unlabeled/) only `mixed` is possible, and the metrics that need labels are left out
with the reason in metrics.json's `left_out`. A folder holding scores made with other
parameters is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from asal.config.layout import (CONFIG_JSON, METRICS_JSON, MODEL, PROVENANCE_JSON, SCORES_CSV,
                                TEST_SCORES_CSV, scores_dir)
from asal.data.images import Split, has_masks, load_masks, load_split, load_test
from asal.errors import AsalError
from asal.io import csv_text, exclusive, json_text, torch_bytes, write_set
from asal.models.scorers import SCORERS, Fitting, Scorer
from asal.progress import Progress, duration, say
from asal.provenance import provenance, run_record
from asal.runtime import configure
from asal.stages.claims import refuse_other_parameters
from asal.stages.scorer_files import build_scorer, given_scores, scorer_file

if TYPE_CHECKING:
    from asal.config.schema import Params


@dataclass
class ScoreRun:
    out_dir: Path
    pool: Split
    test: Split | None
    pool_scores: np.ndarray
    test_scores: np.ndarray | None
    metrics: dict
    history: pd.DataFrame
    scorer: Scorer | None = None


def auroc(labels, scores) -> float | None:
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def load_pool_and_test(cfg: Params) -> tuple[Split, Split | None]:
    """A scorer sees the images in colour, whatever the classifier's grayscale setting."""
    pool = load_split(cfg.data_root, cfg.category, "train", cfg.image_size)
    test = load_test(cfg.data_root, cfg.category, cfg.image_size)
    return pool, test


def left_out(pool: Split, test: Split | None) -> dict[str, str]:
    """The label-based metrics an unlabeled pool or a missing test split rules out, and why."""
    reasons = {}
    if not pool.labeled:
        reasons["pool_image_auroc"] = "the pool is unlabeled (train/unlabeled/)"
    if test is None:
        reasons["test_image_auroc"] = "the category has no test split (test/good, test/anomaly)"
        reasons["test_pixel_auroc"] = reasons["test_image_auroc"]
    return reasons


def training_part(pool: Split, train_on: str) -> Split:
    """What the scorer is fitted on: the whole pool, or its good images."""
    if train_on == "mixed":
        return pool
    if not pool.labeled:
        raise AsalError("train_on='normal' fits on the pool's good images, and this pool is "
                        "unlabeled (train/unlabeled/); use train_on='mixed'.")
    good = torch.nonzero(pool.labels == 0).flatten()
    if len(good) == 0:
        raise AsalError("train_on='normal' needs good images in the pool, and it holds none; "
                        "use train_on='mixed'.")
    return pool.subset(good)


def check_registered(cfg: Params, pool: Split) -> None:
    """A scorer that compares pixel with pixel (pixels) needs one framing: images of mixed
    sizes are refused before they are resized to one."""
    names = [cfg.scorer] + (list(cfg.ensemble) if cfg.scorer == "ensemble" else [])
    if not any(getattr(SCORERS[n], "registered", False) for n in names) or pool.sizes is None:
        return
    sizes = sorted({tuple(s) for s in pool.sizes.tolist()})
    if len(sizes) > 1:
        shown = ", ".join(f"{w} x {h}" for w, h in sizes[:3]) + (" ..." if len(sizes) > 3
                                                                   else "")
        raise AsalError(f"The pool of {cfg.category} mixes image sizes ({shown} px), and the "
                        "pixels scorer compares each pixel with the same pixel of the other "
                        "images, so it needs registered images of one framing; crop them to "
                        "one framing, or use a scorer without pixels (scorer features or "
                        "patches, or an ensemble without pixels).")


def score_pool(cfg: Params, scorer: Scorer, pool: Split, fitted_on: Split) -> np.ndarray:
    """The pool's scores: transductive (each against the others) where the scorer was fitted
    on the pool itself; against the fitted images otherwise (train_on normal)."""
    if fitted_on is pool:
        return scorer.pool_scores()
    return scorer.anomaly_scores(pool.images)


def _steps(cfg: Params, enabled: bool):
    """A weight-free scorer's progress: a line per step of its fit (the patch scorer's
    networks), with the time so far and left; one Progress per member that reports."""
    bars, began = {}, time.perf_counter()

    def update(done: int, total: int):
        if total not in bars or done == 1:
            bars[total] = Progress(f"{cfg.scorer} {cfg.category} ({cfg.train_on}): matching "
                                   "the pool's patches", total, "network", enabled=enabled,
                                   every=0.0)
            bars[total].began = began      # the fit's time so far, its features included
        bars[total].update(done)
    return update


def _progress(cfg: Params, scorer: Scorer, enabled: bool):
    if not scorer.trains:
        return None
    epochs = cfg.draem_epochs
    # start=None: after a resume from the checkpoint, the first epoch reported is a later one
    bar = Progress(f"{cfg.scorer} {cfg.category} ({cfg.train_on})", epochs, "epoch",
                   start=None, enabled=enabled)
    return lambda epoch, row: bar.update(epoch, loss=row["total"])


def _scoring(cfg: Params, start: float, enabled: bool):
    """A line before each scoring pass after the fit: the patch scorer's matching of the
    test split takes a quarter of its fit, and said nothing."""
    def told(what: str, images: int) -> None:
        if enabled:
            say(f"{cfg.scorer} {cfg.category} ({cfg.train_on}): scoring {what} "
                f"({images} images), {duration(time.perf_counter() - start)} so far")
    return told


def fit_and_score(cfg: Params, progress: bool = True,
                  stop_after: int | None = None) -> ScoreRun:
    """Fit the profile's scorer on the pool (or its good part), score pool and test, write
    the outputs; a fit stopped on purpose (stop_after, tests) writes nothing."""
    device = configure(cfg)
    pool, test = load_pool_and_test(cfg)
    check_registered(cfg, pool)
    part = training_part(pool, cfg.train_on)
    out = scores_dir(cfg)
    scorer = build_scorer(cfg, device)
    start = time.perf_counter()
    scorer.fit(part.images, Fitting(keys=part.keys(), workdir=out, device=device,
                                    on_epoch=_progress(cfg, scorer, progress),
                                    on_step=_steps(cfg, progress),
                                    stop_after=stop_after))
    history = pd.DataFrame(getattr(getattr(scorer, "record", None), "history", []))
    if not scorer.finished:
        return ScoreRun(out, pool, test, np.array([]), None, {}, history, scorer)
    told = _scoring(cfg, start, progress)
    told("the pool", len(pool))
    pool_scores = score_pool(cfg, scorer, pool, part)
    test_scores = None
    if test is not None and cfg.scorer != "csv":
        told("the test split", len(test))
        test_scores = scorer.anomaly_scores(test.images)
    seconds = time.perf_counter() - start
    metrics = {"category": cfg.category, "scorer": cfg.scorer, "train_on": cfg.train_on,
               "scorer_seed": cfg.scorer_seed,
               "pool_image_auroc": auroc(pool.labels, pool_scores) if pool.labeled else None,
               "test_image_auroc": (None if test_scores is None
                                    else auroc(test.labels, test_scores)),
               "test_pixel_auroc": pixel_auroc(cfg, scorer, test),
               "train_images": len(part)}
    costs = {"seconds": seconds}            # provenance.json's: they differ run to run
    if scorer.trains:
        metrics["resumed_from_epoch"] = scorer.record.resumed_from
        costs["train_seconds"] = scorer.record.seconds
    if cfg.scorer == "draem":
        metrics["anomaly_source"] = cfg.anomaly_source_dir or "procedural textures (no DTD)"
    if cfg.scorer == "csv":
        metrics["source"] = str(cfg.scores_csv)
    if reasons := left_out(pool, test):
        metrics["left_out"] = reasons
    write_outputs(cfg, out, scorer, pool, pool_scores, test, test_scores, metrics,
                  provenance(device, **costs), history)
    return ScoreRun(out, pool, test, pool_scores, test_scores, metrics, history, scorer)


def pixel_auroc(cfg: Params, scorer: Scorer, test: Split | None) -> float | None:
    """The maps' AUROC over the test split's pixels, where it has defect masks."""
    if test is None or not scorer.has_maps or not has_masks(test.paths):
        return None
    maps = scorer.anomaly_maps(test.images)
    masks = load_masks(test.paths, cfg.image_size)
    return auroc(masks.flatten().numpy(), maps.reshape(-1))


def scores_frame(split: Split, scores) -> pd.DataFrame:
    """path, score, label; the label column is empty where the label is unknown."""
    return pd.DataFrame({"path": split.keys(),
                         "score": np.asarray(scores, dtype=np.float64),
                         "label": split.label_column()})


def write_outputs(cfg: Params, out: Path, scorer: Scorer, pool: Split, pool_scores,
                  test: Split | None, test_scores, metrics: dict, made: dict,
                  history: pd.DataFrame) -> None:
    """Every output of stage 01 as one set (asal/io.py: write_set)."""
    files = {SCORES_CSV: csv_text(scores_frame(pool, pool_scores)),
             CONFIG_JSON: json_text(run_record(cfg)),
             METRICS_JSON: json_text(metrics), PROVENANCE_JSON: json_text(made),
             MODEL: torch_bytes(scorer_file(cfg, scorer, pool.images))}
    if test_scores is not None:
        files[TEST_SCORES_CSV] = csv_text(scores_frame(test, test_scores))
    if len(history):
        files["loss.csv"] = csv_text(history)
    write_set(out, files)


def run_scores(cfg: Params, progress: bool = True) -> ScoreRun:
    """Stage 01 as the notebook runs it, the scores folder locked meanwhile."""
    with exclusive(scores_dir(cfg), f"scoring {cfg.category} with {cfg.scorer} "
                                    f"(train_on={cfg.train_on})"):
        if cfg.scorer == "csv":
            given_scores(cfg)      # a bad line is named first, whatever the folder holds
        refuse_other_parameters(scores_dir(cfg), cfg, "scores")
        return fit_and_score(cfg, progress)
