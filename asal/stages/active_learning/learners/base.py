"""One interface for the classifiers a cycle trains (asal/models/learner_names.py).

A learner is made once per run from the parameters, the body's weights and the pool and
test splits. It trains on the labeled positions of the pool and exposes its logits of any
pool or test images; the loop evaluates them, queries on them and asks the learner for
its threshold and what model.pt keeps. The state a cycle ends with is a dict of tensors
(the checkpoint keeps it), and the next cycle starts from it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import torch

from asal.models.threshold import pool_share_threshold
from asal.stages.active_learning.protocols import query_probabilities


@dataclass
class Trained:
    """A cycle's fit: one row per epoch (epoch, train_loss, and the test metrics of the
    epochs the learner evaluated itself), and the state it ends with."""

    rows: list[dict]
    state: dict


@dataclass
class ArtefactParts:
    """What model.pt keeps of a learner (asal/stages/artefact.py): the ResNet18's
    state_dict; for a head on frozen features, the head (feature names, weight, bias, and
    beta where it reads the evidence); for the evidence, the pool's scores."""

    state_dict: dict
    head: dict | None = None
    evidence: dict | None = field(default=None)


class Learner(ABC):
    name: str
    protocol_of_queries = "clean"      # how its logits become query probabilities

    def __init__(self, cfg, weights: str, pool, test, device):
        self.cfg, self.weights, self.pool, self.test, self.device = \
            cfg, weights, pool, test, device

    @abstractmethod
    def logits(self, state: dict | None, cycle: int, split: str,
               indices=None) -> torch.Tensor:
        """(N, 2) logits of the `split` ("pool" or "test") images at `indices` (all when
        None), on the CPU; their softmax is the classifier's probability."""

    @abstractmethod
    def train(self, state: dict | None, cycle: int, labeled: list[int], labels: list[int],
              gen, timer, evaluate) -> Trained:
        """Fit on the labeled pool positions; `evaluate(logits)` gives the test metrics of
        test logits, for a learner that reports epochs (the loop evaluates the end)."""

    @abstractmethod
    def features(self, state: dict | None, cycle: int, indices) -> np.ndarray:
        """The features a clustered query and the cold-start baselines pick on."""

    @abstractmethod
    def artefact_parts(self, state: dict) -> ArtefactParts:
        """What model.pt keeps of the finished classifier."""

    def probabilities(self, state, cycle: int, indices, timer=None) -> torch.Tensor:
        """(N, 2) class probabilities of pool images, as the query reads them."""
        return query_probabilities(self.logits(state, cycle, "pool", indices),
                                   self.protocol_of_queries)

    def p_defect(self, state, cycle: int, split: str = "pool", indices=None) -> np.ndarray:
        """p(defect): the softmax of the logits, as predict computes it."""
        return torch.softmax(self.logits(state, cycle, split, indices).double(), 1)[:, 1] \
            .numpy()

    def threshold(self, state, cycle: int, labeled: list[int], labels: list[int]
                  ) -> tuple[float, str]:
        """The decision threshold on p(defect) and its rule (asal/models/threshold.py)."""
        return pool_share_threshold(self.p_defect(state, cycle), labeled, labels)
