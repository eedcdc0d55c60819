"""head lbfgs: a logistic regression on a frozen body's pooled features, computed once per
run and fitted to convergence every cycle (asal/models/linear_head.py). Its state is the
head on those features; model.pt keeps the body beside it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from asal.data.cache import cached_features
from asal.models.frozen_features import frozen_features, head_logit, two_way
from asal.models.linear_head import LinearHead
from asal.models.networks import Normalizer
from asal.models.resnet import build_resnet18
from asal.models.threshold import BALANCED_RULE
from asal.runtime import model_to
from asal.stages.active_learning.learners.base import ArtefactParts, Learner, Trained


def body_identity(cfg, weights: str) -> str:
    """What a frozen body's features depend on: its weights (the seed's random ones, or a
    file's digest), the features taken, the image size and the normalisation."""
    if weights == "none":
        source = f"random body, seed {cfg.seed}"
    else:
        source = hashlib.sha1(Path(weights).read_bytes()).hexdigest()
    return json.dumps([source, list(cfg.body_features), cfg.image_size, cfg.use_grayscale,
                       list(cfg.normalize_mean), list(cfg.normalize_std)])


class FrozenBody:
    """The seed's (or the weights') ResNet18, frozen, and its features of the pool and the
    test split, computed once and cached beside the images (the same body's for every
    init and query of a seed)."""

    def __init__(self, cfg, weights: str, pool, test, device):
        torch.manual_seed(cfg.seed)
        body = model_to(build_resnet18(weights), device)
        # kept for model.pt: a random body ("none") is this seed's, and a fresh
        # build_resnet18 would be another
        self.state = {k: v.detach().cpu().clone() for k, v in body.state_dict().items()}
        norm = Normalizer(cfg.normalize_mean, cfg.normalize_std, device)
        identity = body_identity(cfg, weights)

        def features(split, name):
            return cached_features(
                cfg.data_root, cfg.category, split, name, identity,
                lambda: torch.from_numpy(frozen_features(body, split.images, norm,
                                                         cfg.body_features))
            ).numpy().astype(np.float64)
        self.x = {"pool": features(pool, "train")}
        if test is not None:
            self.x["test"] = features(test, "test")


class LinearLearner(Learner):
    name = "lbfgs"

    def __init__(self, cfg, weights: str, pool, test, device):
        super().__init__(cfg, weights, pool, test, device)
        self.body = FrozenBody(cfg, weights, pool, test, device)
        self.pool_x = self.body.x["pool"]
        self.head = LinearHead(self.pool_x, cfg.head_c, cfg.head_balanced)

    def inputs(self, split: str, indices):
        """The features of a split's images at `indices` (all when None), as a tensor."""
        x = self.body.x[split]
        return torch.from_numpy(x if indices is None else x[indices])

    def logits(self, state, cycle, split, indices=None) -> torch.Tensor:
        return two_way(head_logit(self.inputs(split, indices), state))

    def features(self, state, cycle, indices) -> np.ndarray:
        """The frozen body's features of pool images (a clustered query)."""
        return self.pool_x[indices]

    def train(self, state, cycle, labeled, labels, gen, timer, evaluate) -> Trained:
        """One fit to convergence: a single row, whose loss is the labeled set's at the
        optimum."""
        loss = self.head.fit(self.pool_x[labeled], labels)
        return Trained([{"epoch": 1, "train_loss": loss}], self.head.head_state())

    def threshold(self, state, cycle, labeled, labels):
        """A class-balanced fit's p(defect) holds for equal classes: its likelihood ratio is
        1 at 0.5 (asal/models/threshold.py)."""
        if self.cfg.head_balanced:
            return 0.5, BALANCED_RULE
        return super().threshold(state, cycle, labeled, labels)

    def artefact_parts(self, state) -> ArtefactParts:
        return ArtefactParts(self.body.state, head=self.saved_head(state))

    def saved_head(self, state) -> dict:
        return {"features": list(self.cfg.body_features),
                **{k: v.clone() for k, v in state.items() if k in ("weight", "bias", "beta")}}
