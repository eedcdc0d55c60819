"""head adam: the ResNet18 trained for `epochs` of minibatches with Adam, all of it or only
its head on a frozen body, as the paper trains it. Its state is the whole network's."""

from __future__ import annotations

import numpy as np
import torch

from asal.models.classifier import predict_logits, train_epoch
from asal.models.networks import Normalizer, Timer, pool_features
from asal.models.resnet import build_resnet18
from asal.runtime import adam, model_to
from asal.stages.active_learning.learners.base import ArtefactParts, Learner, Trained
from asal.stages.active_learning.protocols import METRICS, EpochPick, evaluates


def fresh_model(weights: str, seed: int, cycle: int, device):
    """The classifier as a cycle starts it, seeded by (seed, cycle)."""
    torch.manual_seed(seed * 1000 + cycle)
    return model_to(build_resnet18(weights), device)


def trained_parameters(model, freeze_body: bool) -> list:
    """What the optimizer trains: everything, or only the 2-way head on a frozen body."""
    if not freeze_body:
        return list(model.parameters())
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("fc."))
    return list(model.fc.parameters())


class NetworkLearner(Learner):
    name = "adam"

    def __init__(self, cfg, weights: str, pool, test, device):
        super().__init__(cfg, weights, pool, test, device)
        self.protocol_of_queries = cfg.protocol
        self.images = {"pool": pool.images.to(device)}
        if test is not None:
            self.images["test"] = test.images.to(device)
        self.norm = Normalizer(cfg.normalize_mean, cfg.normalize_std, device)

    def model(self, state: dict | None, cycle: int):
        model = fresh_model(self.weights, self.cfg.seed, cycle, self.device)
        if state is not None:
            model.load_state_dict(state)
        return model

    def logits(self, state, cycle, split, indices=None) -> torch.Tensor:
        images = self.images[split] if indices is None else self.images[split][indices]
        return predict_logits(self.model(state, cycle), images, self.norm,
                              Timer(self.device))

    def features(self, state, cycle, indices) -> np.ndarray:
        """The current network's pooled features of pool images (a clustered query)."""
        return pool_features(self.model(state, cycle), self.images["pool"][indices],
                             self.norm)

    def train(self, state, cycle, labeled, labels, gen, timer, evaluate) -> Trained:
        cfg = self.cfg
        model = self.model(None if cfg.reinit_each_cycle else state, cycle)
        optimizer = adam(trained_parameters(model, cfg.freeze_body), lr=cfg.lr,
                         weight_decay=cfg.weight_decay)
        images = self.images["pool"][torch.tensor(labeled, device=self.device)]
        y = torch.tensor(labels, device=self.device)
        pick, rows = EpochPick(cfg.protocol), []
        for epoch in range(1, cfg.epochs + 1):
            loss = train_epoch(model, optimizer, images, y, self.norm, cfg.batch_size, gen,
                               timer, frozen_body=cfg.freeze_body)
            metrics = dict.fromkeys(METRICS, float("nan"))
            if self.test is not None and evaluates(cfg, epoch):
                metrics = evaluate(predict_logits(model, self.images["test"], self.norm,
                                                  timer))
            rows.append({"epoch": epoch, "train_loss": loss, **metrics})
            pick.see(model, metrics)
        return Trained(rows, pick.state(model))

    def artefact_parts(self, state) -> ArtefactParts:
        return ArtefactParts(state)
