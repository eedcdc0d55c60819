"""How a cycle's classifier learns from the labeled set, and how it scores images.

- `NetworkLearner` (head adam): the ResNet18 trained for `epochs` of minibatches with
  Adam, all of it or only its head on a frozen body, as the paper trains it.
- `LinearLearner` (head lbfgs): the frozen body's features are computed once per run,
  and every cycle fits the head as a logistic regression to convergence
  (asal/models/linear_head.py).
- `EvidenceLearner` (head evidence): the same, with the anomaly evidence of the scorer
  that ranked the pool as one more input under a prior (asal/models/evidence_head.py):
  the classifier starts as the scorer and the labels correct it.

Each takes the model state the cycle starts from and returns the one it ends with, which
the checkpoint keeps: the whole network's for the first, the head (`fc`, and `beta` for
the evidence) for the others.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from asal.data.cache import cached_features
from asal.models.classifier import evaluate, predict_logits, train_epoch
from asal.models.evidence_head import EvidenceHead, normal_scores
from asal.models.linear_head import LinearHead
from asal.models.networks import Normalizer, Timer, pool_features
from asal.models.resnet import build_resnet18
from asal.runtime import adam, model_to
from asal.config.layout import scores_dir
from asal.stages.active_learning.evidence import read_evidence
from asal.stages.scorer_files import saved_scorer
from asal.stages.active_learning.protocols import (METRICS, EpochPick, auroc_on, evaluates,
                                                   query_probabilities)


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


class NetworkLearner:
    def __init__(self, cfg, weights: str, pool, test, device):
        self.cfg, self.weights, self.device = cfg, weights, device
        self.pool_images = pool.images.to(device)
        self.test = test
        self.test_images = test.images.to(device) if test is not None else None
        self.norm = Normalizer(cfg.normalize_mean, cfg.normalize_std, device)

    def model(self, state: dict | None, cycle: int):
        model = fresh_model(self.weights, self.cfg.seed, cycle, self.device)
        if state is not None:
            model.load_state_dict(state)
        return model

    def probabilities(self, state: dict | None, cycle: int, indices, timer) -> torch.Tensor:
        logits = predict_logits(self.model(state, cycle), self.pool_images[indices], self.norm,
                                timer)
        return query_probabilities(logits, self.cfg.protocol)

    def features(self, state: dict | None, cycle: int, indices) -> np.ndarray:
        """The current network's pooled features of pool images (a clustered query)."""
        return pool_features(self.model(state, cycle), self.pool_images[indices], self.norm)

    def train(self, state: dict | None, cycle: int, labeled: list[int], labels: list[int],
              gen, timer) -> tuple[list[dict], dict, dict]:
        """The cycle's epoch rows, its reported metrics and the state it ends with."""
        cfg = self.cfg
        model = self.model(None if cfg.reinit_each_cycle else state, cycle)
        optimizer = adam(trained_parameters(model, cfg.freeze_body), lr=cfg.lr,
                         weight_decay=cfg.weight_decay)
        images = self.pool_images[torch.tensor(labeled, device=self.device)]
        y = torch.tensor(labels, device=self.device)
        pick, rows = EpochPick(cfg.protocol), []
        for epoch in range(1, cfg.epochs + 1):
            loss = train_epoch(model, optimizer, images, y, self.norm, cfg.batch_size, gen,
                               timer, frozen_body=cfg.freeze_body)
            if self.test is not None and evaluates(cfg, epoch):
                logits = predict_logits(model, self.test_images, self.norm, timer)
                metrics = evaluate(logits, self.test.labels.numpy(), auroc_on(cfg.protocol))
            else:
                metrics = dict.fromkeys(METRICS, float("nan"))
            rows.append({"epoch": epoch, "train_loss": loss, **metrics})
            pick.see(model, metrics)
        result, end_state = pick.result(model, rows)
        return rows, result, end_state

    def full_state(self, state: dict) -> dict:
        return state

    def p_defect(self, state: dict, cycle: int, indices) -> np.ndarray:
        """p(defect) of pool images as predict computes it (a plain softmax)."""
        logits = predict_logits(self.model(state, cycle), self.pool_images[indices],
                                self.norm, Timer(self.pool_images.device))
        return torch.softmax(logits, 1)[:, 1].numpy()

    def evidence_record(self, state: dict) -> None:
        return None


def body_identity(cfg, weights: str) -> str:
    """What a frozen body's features depend on: its weights (the seed's random ones, or a
    file's digest), the image size and the normalisation."""
    if weights == "none":
        source = f"random body, seed {cfg.seed}"
    else:
        source = hashlib.sha1(Path(weights).read_bytes()).hexdigest()
    return json.dumps([source, cfg.image_size, cfg.use_grayscale, list(cfg.normalize_mean),
                       list(cfg.normalize_std)])


class LinearLearner:
    def __init__(self, cfg, weights: str, pool, test, device):
        self.cfg, self.weights, self.test = cfg, weights, test
        torch.manual_seed(cfg.seed)
        body = model_to(build_resnet18(weights), device)
        # the body the features come from, kept for model.pt: a random body ("none") is
        # this seed's, and a fresh build_resnet18 would be another
        self.body_state = {k: v.detach().cpu().clone() for k, v in body.state_dict().items()}
        norm = Normalizer(cfg.normalize_mean, cfg.normalize_std, device)
        identity = body_identity(cfg, weights)

        def features(split, name):    # the same body's for every init and query of a seed
            return cached_features(cfg.data_root, cfg.category, split, name, identity,
                                   lambda: torch.from_numpy(pool_features(body, split.images,
                                                                          norm)))
        self.pool_x = features(pool, "train").numpy().astype(np.float64)
        self.test_x = (features(test, "test").numpy().astype(np.float64)
                       if test is not None else None)
        self.head = LinearHead(self.pool_x, cfg.head_c, cfg.head_balanced)

    @staticmethod
    def _logits(state: dict, x: np.ndarray) -> torch.Tensor:
        w, b = state["fc.weight"].double().numpy(), state["fc.bias"].double().numpy()
        return torch.from_numpy(x @ w.T + b)

    def probabilities(self, state: dict, cycle: int, indices, timer) -> torch.Tensor:
        return query_probabilities(self._logits(state, self.pool_x[indices]), "clean")

    def features(self, state: dict, cycle: int, indices) -> np.ndarray:
        """The frozen body's features of pool images (a clustered query)."""
        return self.pool_x[indices]

    def train(self, state: dict | None, cycle: int, labeled: list[int], labels: list[int],
              gen, timer) -> tuple[list[dict], dict, dict]:
        """One fit to convergence: a single row, whose loss is the labeled set's at the
        optimum; the state is the head as the network's fc layer."""
        loss = self.head.fit(self.pool_x[labeled], labels)
        end_state = self.head.fc_state()
        if self.test is not None:
            logits = self._logits(end_state, self.test_x)
            metrics = evaluate(logits, self.test.labels.numpy(), "probability")
        else:
            metrics = dict.fromkeys(METRICS, float("nan"))
        return [{"epoch": 1, "train_loss": loss, **metrics}], metrics, end_state

    def p_defect(self, state: dict, cycle: int, indices) -> np.ndarray:
        return torch.softmax(self._logits(state, self.pool_x[indices]), 1)[:, 1].numpy()

    def evidence_record(self, state: dict) -> None:
        return None

    def full_state(self, state: dict) -> dict:
        """The whole ResNet18 (the body its features came from, the fitted head) for
        model.pt."""
        return {**self.body_state, **{k: v.clone() for k, v in state.items()}}


class EvidenceLearner(LinearLearner):
    def __init__(self, cfg, weights: str, pool, test, device):
        super().__init__(cfg, weights, pool, test, device)
        evidence = read_evidence(cfg, pool, test)
        self.pool_scores = evidence.pool_scores
        self.pool_z = normal_scores(evidence.pool_scores)
        self.test_z = None if evidence.test_scores is None else \
            normal_scores(evidence.pool_scores, evidence.test_scores)
        self.head = EvidenceHead(self.pool_x, feature_c=cfg.head_c, score_c=cfg.evidence_c,
                                 beta_prior=cfg.evidence_prior, balanced=cfg.head_balanced)

    @staticmethod
    def _logits_z(state: dict, x: np.ndarray, z: np.ndarray) -> torch.Tensor:
        logits = LinearLearner._logits(state, x)
        logits[:, 1] += float(state["evidence.beta"]) * torch.from_numpy(z)
        return logits

    def probabilities(self, state: dict, cycle: int, indices, timer) -> torch.Tensor:
        return query_probabilities(self._logits_z(state, self.pool_x[indices],
                                                  self.pool_z[indices]), "clean")

    def train(self, state: dict | None, cycle: int, labeled: list[int], labels: list[int],
              gen, timer) -> tuple[list[dict], dict, dict]:
        loss = self.head.fit(self.pool_x[labeled], self.pool_z[labeled], labels)
        end_state = self.head.fc_state()
        if self.test is not None and self.test_z is not None:
            logits = self._logits_z(end_state, self.test_x, self.test_z)
            metrics = evaluate(logits, self.test.labels.numpy(), "probability")
        else:
            metrics = dict.fromkeys(METRICS, float("nan"))
        return [{"epoch": 1, "train_loss": loss, **metrics}], metrics, end_state

    def p_defect(self, state: dict, cycle: int, indices) -> np.ndarray:
        logits = self._logits_z(state, self.pool_x[indices], self.pool_z[indices])
        return torch.softmax(logits, 1)[:, 1].numpy()

    def evidence_record(self, state: dict) -> dict:
        """What model.pt keeps of the evidence: its weight, the pool's scores, the scorer."""
        return {"beta": float(state["evidence.beta"]),
                "pool_scores": torch.from_numpy(self.pool_scores.copy()),
                "scorer": saved_scorer(scores_dir(self.cfg, "mixed"))}

    def full_state(self, state: dict) -> dict:
        """The ResNet18 with the head's feature part as its fc layer; the evidence's weight
        travels beside it (asal/stages/artefact.py)."""
        return {**self.body_state, **{k: v.clone() for k, v in state.items()
                                      if k.startswith("fc.")}}


LEARNERS = {"adam": NetworkLearner, "lbfgs": LinearLearner, "evidence": EvidenceLearner}
