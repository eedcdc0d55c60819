"""Several scorers as one. Each member scores the pool; its scores are put on the pool's
robust scale, z = (s - median) / (1.4826 x MAD), so no member weighs more for its units,
and `ensemble_rule` combines them:

- guarded (the default): the first member's z, or the members' Stouffer combination
  (sum z / sqrt(n)) where that is higher. The first member carries the evidence on any
  pool; the others can raise an image above it, never push it below. With [patches,
  pixels] the pixel member, which assumes registered images, lifts the dark cracks of a
  solar cell without demoting a washer's defect it cannot see.
- rank: the mean of the members' ranks within the pool (in (0, 1]).

Chosen on the pools (docs/scorers.md): a fixed rank average of patches and pixels lost 0.07
of pool AUROC on synth_washer, where the pixel member is blind; the guarded rule kept it.
A new image takes each member's score on the same scale (the pool's median and MAD, or its
rank among the pool) and the same rule. A map is the mean of the members' maps that have
one, each in units of its member's pool spread. The members come made (the stage builds
them from the registry, asal/stages/scorer_files.py), so this module knows no registry.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import rankdata

from asal.models.scorers.base import Fitting, Scorer
from asal.models.scorers.network_features import robust_scale, robust_z


def ranks_among(pool_scores: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """For each score, the share of the pool scored below it, ties counted half."""
    ordered = np.sort(pool_scores)
    below = np.searchsorted(ordered, scores, side="left")
    at_or_below = np.searchsorted(ordered, scores, side="right")
    return (below + at_or_below) / (2 * len(ordered))


class EnsembleScorer(Scorer):
    name = "ensemble"
    needs = ("members",)    # name -> scorer, made by the stage
    trains = False          # a trained member (draem) resumes from its own checkpoint

    def __init__(self, *, members: dict[str, Scorer], **kwargs):
        super().__init__(**kwargs)
        self.members = members

    @property
    def has_maps(self) -> bool:
        return any(m.has_maps for m in self.members.values())

    def fit(self, pool: torch.Tensor, fitting: Fitting | None = None) -> "EnsembleScorer":
        self.member_pool_scores = {}
        for name, member in self.members.items():
            member.fit(pool, fitting)
            self.member_pool_scores[name] = member.pool_scores()
        self.fitted = True
        return self

    def _combine(self, per_member: dict[str, np.ndarray]) -> np.ndarray:
        pools = self.member_pool_scores
        if self.settings["ensemble_rule"] == "rank":
            return np.mean([ranks_among(pools[n], s) for n, s in per_member.items()], axis=0)
        z = [robust_z(s, *robust_scale(pools[n])) for n, s in per_member.items()]
        return np.maximum(z[0], np.sum(z, axis=0) / np.sqrt(len(z)))

    def pool_scores(self) -> np.ndarray:
        self._check_fitted()
        if self.settings["ensemble_rule"] == "rank":      # the pool's own ranks, exactly
            return np.mean([rankdata(s) / len(s) for s in self.member_pool_scores.values()],
                           axis=0)
        return self._combine(self.member_pool_scores)

    def anomaly_scores(self, images: torch.Tensor) -> np.ndarray:
        self._check_fitted()
        return self._combine({n: m.anomaly_scores(images) for n, m in self.members.items()})

    def anomaly_maps(self, images: torch.Tensor) -> np.ndarray | None:
        self._check_fitted()
        maps = [m.anomaly_maps(images) / robust_scale(self.member_pool_scores[n])[1]
                for n, m in self.members.items() if m.has_maps]
        return np.mean(maps, axis=0) if maps else None

    def state(self) -> dict:
        return {"members": {n: m.state() for n, m in self.members.items()},
                "pool_scores": {n: torch.from_numpy(s)
                                for n, s in self.member_pool_scores.items()}}

    @classmethod
    def from_state(cls, state: dict, *, seed: int, device=None, members=None,
                   **settings) -> "EnsembleScorer":
        """`members`: the members rebuilt from state["members"] (the stage does that)."""
        scorer = cls(seed=seed, device=device, members=members, **settings)
        scorer.member_pool_scores = {n: s.numpy() for n, s in state["pool_scores"].items()}
        scorer.fitted = True
        return scorer
