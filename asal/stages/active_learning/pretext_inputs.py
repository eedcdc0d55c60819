"""The pretext networks a run of 03 starts from or picks with, as stage 00 left them.

03 never trains one: a missing network, or one made with other parameters or on other
images, stops the run with a message naming notebook 00 (the workflow runs 00 first).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pandas as pd
import torch

from asal.config.layout import BACKBONE, METRICS_JSON, ROTATION_SCORES, pretext_dir
from asal.errors import AsalError
from asal.models.networks import Normalizer, pool_features
from asal.models.pretext import PretextSettings
from asal.models.resnet import build_resnet18
from asal.models.strategies import PoolViews
from asal.runtime import model_to
from asal.stages.claims import recorded

if TYPE_CHECKING:
    from asal.config.schema import Params
    from asal.data.images import Split


def _checked(cfg: Params, task: str, pool: Split, wanted: str):
    """The pretext folder of `task` holding `wanted`, made with this run's parameters."""
    folder = pretext_dir(cfg, task)
    command = (f"run notebooks/00_pretext.ipynb with -p category {cfg.category} -p "
               f"pretext_task {task} -p pretext_seed {cfg.pretext_seed} (and this run's "
               "profile) first; the workflow runs it before 03")
    if not (folder / wanted).exists() or not (folder / METRICS_JSON).exists():
        raise AsalError(f"No {task} pretext network for {cfg.category} in {folder} "
                        f"({wanted} is missing); {command}.")
    task_cfg = cfg.model_copy(update={"pretext_task": task})
    made = recorded(folder) or {}
    key = task_cfg.first_difference(made, "pretext") if made else None
    trained = json.loads((folder / METRICS_JSON).read_text()).get("fingerprint")
    if key is not None or trained != PretextSettings.of(cfg, task).fingerprint(pool.images):
        why = (f"with {key}={made.get(key)!r}, and this run has "
               f"{task_cfg.record()[key]!r}" if key else "on other images")
        raise AsalError(f"The {task} pretext network in {folder} was trained {why}; {command}.")
    return folder


def initial_weights(cfg: Params, pool: Split) -> str:
    """What build_resnet18 starts from: stage 00's backbone for `self_supervised`."""
    if cfg.uses_pretext_network:
        return str(_checked(cfg, cfg.pretext_task, pool, BACKBONE) / BACKBONE)
    return cfg.pretrained


def rotation_ranking(cfg: Params, pool: Split) -> pd.DataFrame:
    """PT4AL's ranking: the rotation network's loss of every pool image (path, score)."""
    return pd.read_csv(_checked(cfg, "rotation", pool, ROTATION_SCORES) / ROTATION_SCORES)


def pool_views(cfg: Params, pool: Split, weights: str, device,
               frozen_features=None) -> PoolViews:
    """The rotation ranking and pretrained features the cold-start baselines pick on,
    each made only when an initial selection asks for it. `frozen_features` are those of
    the frozen body the classifier itself uses (head lbfgs or evidence): then even a
    random body's features are the classifier's own, and the baselines select on them."""
    def features():
        if frozen_features is not None:
            return frozen_features()
        if weights == "none":
            raise AsalError(f"init '{cfg.init}' selects on a pretrained network's features, "
                            "and pretrained is 'none'; set pretrained to self_supervised, "
                            "imagenet or a weights file (or freeze the body and fit its "
                            "head: head lbfgs or evidence).")
        torch.manual_seed(cfg.seed)
        model = model_to(build_resnet18(weights), device)
        norm = Normalizer(cfg.normalize_mean, cfg.normalize_std, device)
        return pool_features(model, pool.images, norm)

    return PoolViews(pool.keys(), features, lambda: rotation_ranking(cfg, pool))
