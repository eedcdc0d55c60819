"""head evidence: the anomaly evidence of the scorer that ranked the pool beside the frozen
body's features, anchored at the scorer, its prior on the features chosen by the labels
every cycle (asal/models/anchored_head.py). Before any label it ranks as the scorer;
every label can move it."""

from __future__ import annotations

import torch

from asal.models.anchored_head import AnchoredHead
from asal.models.evidence_ranks import normal_scores
from asal.models.frozen_features import head_logit, two_way
from asal.stages.active_learning.evidence import read_evidence
from asal.stages.active_learning.learners.base import ArtefactParts, Trained
from asal.stages.active_learning.learners.linear import LinearLearner


class EvidenceLearner(LinearLearner):
    name = "evidence"

    def __init__(self, cfg, weights: str, pool, test, device):
        super().__init__(cfg, weights, pool, test, device)
        evidence = read_evidence(cfg, pool, test)
        self.pool_scores = evidence.pool_scores
        self.z = {"pool": normal_scores(evidence.pool_scores)}
        if evidence.test_scores is not None:
            self.z["test"] = normal_scores(evidence.pool_scores, evidence.test_scores)
        self.head = AnchoredHead(self.pool_x, beta_prior=cfg.evidence_prior,
                                 beta_var=cfg.evidence_c, tau_scale=cfg.head_tau_scale,
                                 cv_from=cfg.head_cv_from,
                                 anchor_bf=cfg.head_anchor_bf, cv_se=cfg.head_cv_se)

    def logits(self, state, cycle, split, indices=None) -> torch.Tensor:
        z = self.z[split] if indices is None else self.z[split][indices]
        return two_way(head_logit(self.inputs(split, indices), state, torch.from_numpy(z)))

    def train(self, state, cycle, labeled, labels, gen, timer, evaluate) -> Trained:
        loss = self.head.fit(self.pool_x[labeled], self.z["pool"][labeled], labels)
        return Trained([{"epoch": 1, "train_loss": loss}], self.head.head_state())

    def threshold(self, state, cycle, labeled, labels):
        return super(LinearLearner, self).threshold(state, cycle, labeled, labels)

    def artefact_parts(self, state) -> ArtefactParts:
        """The head, and the pool's scores that a new image's evidence is ranked among
        (asal/stages/artefact.py adds the scorer that scores it)."""
        return ArtefactParts(self.body.state, head=self.saved_head(state),
                             evidence={"pool_scores": torch.from_numpy(self.pool_scores.copy())})
