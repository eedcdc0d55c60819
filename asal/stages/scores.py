"""Stage 01: anomaly scores of the unlabeled pool, from DRAEM or from a user's CSV.

Writes runs/<exp>/<cat>/scores/<train_on>/seed<draem_seed>/: scores.csv (path, score,
label), test_scores.csv, metrics.json (test AUROCs, epochs, time, device, provenance),
config.json (the parameters), model.pt (a state_dict) and loss.csv, as one set.
`train_on="mixed"` is ASAL's setting (the whole pool, no labels used); `train_on="normal"`
uses the pool's good images only and gives the DRAEM_normal baseline. Labels in the
outputs serve analysis only. On an unlabeled pool (train/unlabeled/) only `mixed` is
possible, and the metrics that need labels are left out with the reason in metrics.json's
`left_out`. A folder holding scores made with other parameters is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from asal.config.layout import CONFIG_JSON, METRICS_JSON, MODEL, SCORES_CSV, scores_dir
from asal.data.csvfile import read_rows
from asal.data.folders import expected_key_form, key_in_pool
from asal.data.images import Split, has_masks, load_masks, load_split, load_test
from asal.data.textures import anomaly_source
from asal.errors import AsalError
from asal.io import csv_text, exclusive, json_text, torch_bytes, write_set
from asal.models.draem import check_image_size
from asal.models.draem_training import FitSettings, fit, score
from asal.progress import Progress
from asal.provenance import provenance, run_record
from asal.runtime import configure, pick_device
from asal.stages.claims import refuse_other_parameters

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
    model: torch.nn.Module | None = None
    bank: torch.Tensor | None = None


def _auroc(labels, scores) -> float | None:
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def load_pool_and_test(cfg: Params) -> tuple[Split, Split | None]:
    """DRAEM sees the images in colour, whatever the classifier's grayscale setting."""
    check_image_size(cfg.image_size)
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


def training_images(pool: Split, train_on: str) -> torch.Tensor:
    if train_on == "mixed":
        return pool.images
    if not pool.labeled:
        raise AsalError("train_on='normal' trains on the pool's good images, and this pool "
                        "is unlabeled (train/unlabeled/); use train_on='mixed'.")
    good = pool.images[pool.labels == 0]
    if len(good) == 0:
        raise AsalError("train_on='normal' needs good images in the pool, and it holds none; "
                        "use train_on='mixed'.")
    return good


def fit_settings(cfg: Params) -> FitSettings:
    return FitSettings(epochs=cfg.draem_epochs, batch_size=cfg.draem_batch_size,
                       lr=cfg.draem_lr, recon_width=cfg.draem_recon_width,
                       disc_width=cfg.draem_disc_width, seed=cfg.draem_seed,
                       checkpoint_every=cfg.draem_checkpoint_every)


def run_draem(cfg: Params, progress: bool = True, stop_after: int | None = None) -> ScoreRun:
    """Train DRAEM on the pool (or its good part), score pool and test, write the outputs."""
    device = configure(cfg)
    pool, test = load_pool_and_test(cfg)
    images = training_images(pool, cfg.train_on)
    bank = anomaly_source(cfg.anomaly_source_dir, cfg.image_size, cfg.draem_seed, device)
    out = scores_dir(cfg)
    data_key = hashlib.sha1(images.numpy().tobytes()).hexdigest()[:16]
    # start=None: after a resume from the checkpoint, the first epoch reported is a later one
    bar = Progress(f"DRAEM {cfg.category} ({cfg.train_on})", cfg.draem_epochs, "epoch",
                   start=None, enabled=progress)

    def on_epoch(epoch, row):
        bar.update(epoch, loss=row["total"])

    result = fit(images, bank, fit_settings(cfg), out, device, data_key, on_epoch, stop_after)
    history = pd.DataFrame(result.history)
    if stop_after is not None and len(history) < cfg.draem_epochs:
        return ScoreRun(out, pool, test, np.array([]), None, {}, history, result.model, bank)

    k = cfg.draem_score_filter
    pool_scores = score(result.model, pool.images, device, filter_size=k).numpy()
    test_scores = test_maps = None
    if test is not None:
        test_scores, test_maps = score(result.model, test.images, device, keep_maps=True,
                                       filter_size=k)
        test_scores = test_scores.numpy()
    if result.resumed_from == cfg.draem_epochs and (out / METRICS_JSON).exists():
        # nothing was trained: keep the outputs and provenance of the run that trained it
        metrics = json.loads((out / METRICS_JSON).read_text())
        return ScoreRun(out, pool, test, pool_scores, test_scores, metrics, history,
                        result.model, bank)
    metrics = {
        "category": cfg.category, "train_on": cfg.train_on, "source": "draem",
        "test_image_auroc": None if test is None else _auroc(test.labels, test_scores),
        "test_pixel_auroc": None,
        "pool_image_auroc": _auroc(pool.labels, pool_scores) if pool.labeled else None,
        "epochs": cfg.draem_epochs, "resumed_from_epoch": result.resumed_from,
        "train_images": len(images), "train_seconds": round(result.seconds, 2),
        "synthesis_share": round(result.synthesis_seconds / max(result.seconds, 1e-9), 4),
        "anomaly_source": cfg.anomaly_source_dir or "procedural textures (no DTD)",
    }
    if reasons := left_out(pool, test):
        metrics["left_out"] = reasons
    if test is not None and has_masks(test.paths):
        masks = load_masks(test.paths, cfg.image_size)
        metrics["test_pixel_auroc"] = _auroc(masks.flatten().numpy(),
                                             test_maps.flatten().numpy())
    write_outputs(cfg, out, pool, pool_scores, test, test_scores, metrics, device,
                  history, result.model)
    return ScoreRun(out, pool, test, pool_scores, test_scores, metrics, history,
                    result.model, bank)


def _scores_frame(split: Split, scores) -> pd.DataFrame:
    """path, score, label; the label column is empty where the label is unknown."""
    return pd.DataFrame({"path": split.keys(),
                         "score": np.asarray(scores, dtype=np.float64),
                         "label": split.label_column()})


def write_outputs(cfg, out, pool, pool_scores, test, test_scores, metrics, device,
                  history, model):
    """Every output of stage 01 as one set (asal/io.py: write_set)."""
    files = {SCORES_CSV: csv_text(_scores_frame(pool, pool_scores)),
             CONFIG_JSON: json_text(run_record(cfg, device)),
             METRICS_JSON: json_text({**metrics, **provenance(device)})}
    if test_scores is not None:
        files["test_scores.csv"] = csv_text(_scores_frame(test, test_scores))
    if len(history):
        files["loss.csv"] = csv_text(history)
    if model is not None:
        files[MODEL] = torch_bytes(model.state_dict())
    write_set(out, files)


def import_scores(cfg: Params) -> ScoreRun:
    """Use another detector's scores: a CSV with columns path and score for every pool image."""
    device = pick_device("cpu")
    pool = load_split(cfg.data_root, cfg.category, "train", cfg.image_size)
    csv = Path(cfg.scores_csv)
    if not csv.exists():
        raise AsalError(f"scores_csv {csv} does not exist; give a CSV with columns path and "
                        "score.")
    scores = read_given_scores(csv, pool.keys(), cfg.data_root, cfg.category)
    metrics = {"category": cfg.category, "train_on": cfg.train_on, "source": str(csv),
               "pool_image_auroc": _auroc(pool.labels, scores) if pool.labeled else None,
               "test_image_auroc": None}
    if not pool.labeled:
        metrics["left_out"] = {"pool_image_auroc": left_out(pool, None)["pool_image_auroc"]}
    out = scores_dir(cfg)
    write_outputs(cfg, out, pool, scores, None, None, metrics, device, pd.DataFrame(), None)
    return ScoreRun(out, pool, None, scores, None, metrics, pd.DataFrame())


def read_given_scores(csv: Path, keys: list[str], data_root, category: str) -> np.ndarray:
    """The scores of a user's CSV (path, score) in pool order; every row checked."""
    pool, given, line_of = set(keys), {}, {}
    for n, row in read_rows(csv, ("path", "score")):
        where = f"Line {n} of {csv}"
        key = key_in_pool(row["path"], data_root, pool)
        if key is None:
            raise AsalError(f"{where} names '{row['path']}', which is not an image of "
                            f"{category}/train; a path is {expected_key_form(pool)}: "
                            "correct it or delete the line.")
        if key in given:
            raise AsalError(f"{where} scores '{key}' a second time (line {line_of[key]} did "
                            "first); keep one row per image.")
        try:
            value = float(row["score"])
        except ValueError:
            value = None
        if value is None or not np.isfinite(value):
            raise AsalError(f"{where} gives '{key}' the score '{row['score']}'; every score "
                            "must be a finite number.")
        given[key], line_of[key] = value, n
    missing = [k for k in keys if k not in given]
    if missing:
        raise AsalError(f"{csv} has no score for {len(missing)} pool images (first: "
                        f"{missing[0]}); score every image of {category}/train.")
    return np.array([given[k] for k in keys], dtype=np.float64)


def run_scores(cfg: Params, progress: bool = True) -> ScoreRun:
    """Stage 01 as the notebook runs it: a user's scores CSV if given, else DRAEM."""
    with exclusive(scores_dir(cfg), f"scoring {cfg.category} (train_on={cfg.train_on})"):
        refuse_other_parameters(scores_dir(cfg), cfg, "scores")
        return import_scores(cfg) if cfg.scores_csv else run_draem(cfg, progress)
