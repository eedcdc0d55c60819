"""Stage 00: pretrain the classifier's ResNet18 on a category's unlabeled pool (no labels).

Writes runs/<exp>/<cat>/pretext/<task>/seed<pretext_seed>/: backbone.pt (a ResNet18
state_dict without its head, what `pretrained: self_supervised` loads), metrics.json
(settings, time, and the representation measured before any active learning: linear-probe
and k-NN test AUROC of the pool features, against the same network untrained), loss.csv,
config.json and, for rotation, rotation_scores.csv (PT4AL's ranking). Training resumes
from checkpoint.pt after an interruption. A folder holding a network trained with other
parameters is refused (asal/stages/claims.py); changed images retrain it, and say so.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import torch
import torch.nn as nn

from asal.config.layout import (BACKBONE, CONFIG_JSON, METRICS_JSON, PROVENANCE_JSON,
                               ROTATION_SCORES, pretext_dir)
from asal.data.images import Split, load_split, load_test
from asal.data.textures import anomaly_source
from asal.io import csv_text, exclusive, json_text, torch_bytes, write_set
from asal.models.networks import Normalizer, pool_features
from asal.models.pretext import (CHECKPOINT, TASKS, PretextSettings, backbone_state,
                                 build_network, representation_quality, rotation_losses, train,
                                 weights_digest)
from asal.provenance import provenance, run_record
from asal.runtime import configure, model_to
from asal.stages.claims import refuse_other_parameters

if TYPE_CHECKING:
    from asal.config.schema import Params


def load_pool(cfg: Params) -> Split:
    """The pool as the classifier sees it (its image size and grayscale setting)."""
    return load_split(cfg.data_root, cfg.category, "train", cfg.image_size, cfg.use_grayscale)


def read_metrics(cfg: Params, task: str | None = None) -> dict | None:
    path = pretext_dir(cfg, task) / METRICS_JSON
    return json.loads(path.read_text()) if path.exists() else None


def run_pretext(cfg: Params, task: str | None = None, progress: bool = True,
                stop_after: int | None = None) -> dict:
    """Train (or resume, or reuse) the pretext network of one category; its metrics."""
    settings = PretextSettings.of(cfg, task)
    out = pretext_dir(cfg, settings.task)
    with exclusive(out, f"training the {settings.task} network of {cfg.category}"):
        refuse_other_parameters(out, cfg.model_copy(update={"pretext_task": settings.task}),
                                "pretext")
        return _run_pretext(cfg, settings, out, progress, stop_after)


def measure(model: nn.Module, settings: PretextSettings, pool: Split, test: Split | None,
            norm: Normalizer, device) -> dict:
    """Linear-probe and 5-NN test AUROCs of the network and of the same one untrained.

    They need the pool's and the test split's labels; without them they are left out,
    with the reason in `left_out`.
    """
    if not pool.labeled or test is None:
        why = ("the pool is unlabeled (train/unlabeled/)" if not pool.labeled
               else "the category has no test split")
        return {"left_out": {"representation_quality": why}}
    quality = representation_quality(
        pool_features(model, pool.images, norm), pool.labels.numpy(),
        pool_features(model, test.images, norm), test.labels.numpy())
    torch.manual_seed(settings.seed)                # the same network, untrained
    scratch = model_to(build_network(TASKS[settings.task]), device)
    baseline = representation_quality(
        pool_features(scratch, pool.images, norm), pool.labels.numpy(),
        pool_features(scratch, test.images, norm), test.labels.numpy())
    return {**quality, **{f"scratch_{k}": v for k, v in baseline.items()}}


def _reusable(cfg: Params, settings: PretextSettings, out: Path, fingerprint: str) -> dict:
    """The finished network's metrics when it can be used as it is; else {} (saying why)."""
    done = read_metrics(cfg, settings.task)
    if done and done.get("fingerprint") == fingerprint and (out / BACKBONE).exists():
        return done
    if done and done.get("fingerprint") != fingerprint:
        print(f"The images of {cfg.category} changed since the pretext network in {out} was "
              "trained; training it again on these.")
    elif done:
        print(f"The weights of the pretext network in {out} are not there (they are not "
              "committed); training it again.")
    return {}


def _run_pretext(cfg: Params, settings: PretextSettings, out: Path, progress: bool,
                 stop_after: int | None) -> dict:
    device = configure(cfg)
    pool = load_pool(cfg)
    fingerprint = settings.fingerprint(pool.images)
    if done := _reusable(cfg, settings, out, fingerprint):
        return done
    bank = (anomaly_source(settings.anomaly_source_dir, settings.image_size, settings.seed,
                           device) if settings.task == "synthesis" else None)
    model, record = train(pool.images, settings, bank, out, device, progress, stop_after,
                          name=cfg.category)
    if len(record["history"]) < settings.epochs:
        return {}                                   # interrupted on purpose (tests)
    norm = Normalizer(settings.normalize_mean, settings.normalize_std, device)
    test = load_test(cfg.data_root, cfg.category, cfg.image_size, cfg.use_grayscale)
    files = {}
    if settings.task == "rotation":
        losses = rotation_losses(model, pool.images, norm)
        files[ROTATION_SCORES] = csv_text(pd.DataFrame(
            {"path": pool.keys(), "score": losses, "label": pool.label_column()}))
    history = pd.DataFrame(record["history"])
    backbone = backbone_state(model)
    metrics = {"category": cfg.category, "task": settings.task, "fingerprint": fingerprint,
               "backbone_sha1": weights_digest(backbone),
               **measure(model, settings, pool, test, norm, device),
               "final_loss": float(history.loss.iloc[-1]),
               "final_pretext_accuracy": float(history.accuracy.iloc[-1]),
               "train_images": len(pool),
               "resumed_from_epoch": record["resumed_from"], "settings": asdict(settings)}
    config = cfg.model_copy(update={"pretext_task": settings.task})
    made = provenance(device, train_seconds=record["seconds"])
    files.update({"loss.csv": csv_text(history), BACKBONE: torch_bytes(backbone),
                  CONFIG_JSON: json_text(run_record(config)),
                  PROVENANCE_JSON: json_text(made), METRICS_JSON: json_text(metrics)})
    # one set; the training checkpoint goes with it, since the backbone holds the result now
    write_set(out, files, remove=[CHECKPOINT])
    return metrics
