"""The two protocols of a cycle, and the classifier each cycle starts from.

`clean` (default): a cycle's result is its last epoch, the next query uses the last-epoch
model, only unlabeled images are queried and confidence is a plain softmax. `paper`
reproduces the published main.py, faults included (reference/original-asal.md, 1-3): the
best of the epochs on the test split is reported, the best-accuracy checkpoint makes the
next query and starts the next cycle, the whole pool is queried (an image can be labeled
twice), logits are L2-normalised before the softmax and the AUROC ranks by the raw class-1
logit.
"""

from __future__ import annotations

import copy
import math

import pandas as pd
import torch
import torch.nn.functional as F

METRICS = ("accuracy", "balanced_accuracy", "auroc", "ap")


def query_probabilities(logits: torch.Tensor, protocol: str) -> torch.Tensor:
    """Class probabilities for the query; the paper L2-normalises the logits first."""
    if protocol == "paper":
        logits = F.normalize(logits, dim=1)
    return torch.softmax(logits, dim=1)


def query_candidates(pool_size: int, labeled: list[int], protocol: str) -> list[int]:
    """The positions a query may pick: the unlabeled ones, or the whole pool (paper)."""
    if protocol == "paper":
        return list(range(pool_size))                 # fault 2: the whole pool
    taken = set(labeled)
    return [i for i in range(pool_size) if i not in taken]


def query_size_at(cfg, n_labeled: int) -> int:
    """How many images a cycle asks for when the labeled set holds `n_labeled`: query_size,
    or query_growth of the labeled set (rounded up) where that is more, never past the
    next of label_marks."""
    size = max(cfg.query_size, math.ceil(cfg.query_growth * n_labeled - 1e-9))
    above = [m for m in cfg.label_marks if m > n_labeled]
    return min(size, above[0] - n_labeled) if above else size


def auroc_on(protocol: str) -> str:
    return "logit" if protocol == "paper" else "probability"


def evaluates(cfg, epoch: int) -> bool:
    """Whether an epoch is evaluated on the test split.

    The clean protocol reports the state a cycle ends with, which the loop evaluates, so
    the epochs are evaluated only when eval_every_epoch asks for per-epoch curves. The
    paper protocol picks its epoch on the test split and needs every one. Evaluation
    changes no state (eval mode, no random numbers), so the reported numbers are the same
    either way.
    """
    return cfg.protocol == "paper" or cfg.eval_every_epoch


class EpochPick:
    """Which epoch a cycle reports and continues from: the last (clean), or the one of
    best test accuracy (paper, fault 1: picked on the test split)."""

    def __init__(self, protocol: str):
        self.protocol, self.best_accuracy, self.best_state = protocol, -1.0, None

    def see(self, model, metrics: dict) -> None:
        if self.protocol == "paper" and metrics["accuracy"] > self.best_accuracy:
            self.best_accuracy = metrics["accuracy"]
            self.best_state = copy.deepcopy(model.state_dict())

    def state(self, model) -> dict:
        """The state the next cycle continues from: the last epoch's, or (paper) the one of
        best test accuracy."""
        state = self.best_state if self.protocol == "paper" else model.state_dict()
        return {k: v.detach().cpu().clone() for k, v in state.items()}


def reported_metrics(protocol: str, rows: list[dict], end: dict) -> dict:
    """A cycle's reported test metrics: those of the state it ends with (`end`, which the
    loop evaluates), or (paper, fault 1) the best of its evaluated epochs."""
    if protocol == "paper":
        frame = pd.DataFrame(rows)
        return {m: float(frame[m].max()) for m in METRICS}
    return end
