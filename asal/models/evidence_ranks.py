"""The scorer's anomaly evidence as the classifier reads it: z, the normal score of an
image's score among the pool's scores, a rank-based scale on which every scorer's scores
mean the same (asal/models/anchored_head.py puts its weight beside the features')."""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import norm


def normal_scores(pool_scores: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
    """z: the normal quantile of each score's rank among the pool's scores (ties share their
    mean rank), for the pool itself or for other images scored against it."""
    knots = EvidenceKnots.of(pool_scores)
    s = pool_scores if scores is None else scores
    return knots.z(torch.tensor(np.asarray(s), dtype=torch.float64)).numpy()


class EvidenceKnots(torch.nn.Module):
    """The pool's distinct scores and the normal score of each one's mid-rank: a pool score
    maps to its knot's z, another image's score to the straight line between the knots
    around it, and past the pool's range it goes on at one z per pool standard deviation.
    So the map is strictly increasing: images the scorer tells apart stay apart (a rank
    table would tie every test image between two pool scores, and all those past the
    extremes, which are the likeliest defects). A module, so the exported classifier's
    graph holds the same map (ONNX has no inverse normal)."""

    def __init__(self, values: np.ndarray, z: np.ndarray, unit: float):
        super().__init__()
        self.register_buffer("values", torch.as_tensor(values))
        self.register_buffer("knot_z", torch.as_tensor(z))
        self.unit = unit

    @classmethod
    def of(cls, pool_scores) -> "EvidenceKnots":
        pool = np.asarray(pool_scores, dtype=np.float64)
        n = len(pool)
        values, first, counts = np.unique(np.sort(pool), return_index=True,
                                          return_counts=True)    # first: the scores below
        share = (2 * first + counts) / (2 * n)
        z = norm.ppf(np.clip(share, 0.5 / n, 1 - 0.5 / n))
        return cls(values, z, float(pool.std()) or 1.0)

    def z(self, scores: torch.Tensor) -> torch.Tensor:
        values, knot_z = self.values.to(scores.dtype), self.knot_z.to(scores.dtype)
        last = len(values) - 1
        k = (values[None] <= scores[:, None]).sum(1)        # knots at or below each score
        lo, hi = (k - 1).clamp(0, last), k.clamp(0, last)
        x0, x1, z0, z1 = values[lo], values[hi], knot_z[lo], knot_z[hi]
        gap = x1 - x0
        t = torch.where(gap > 0, (scores - x0) / torch.where(gap > 0, gap, 1), 0)
        beyond = torch.where(k == 0, scores - values[0], 0) + \
            torch.where(k == last + 1, scores - values[last], 0)
        return z0 + t * (z1 - z0) + beyond / self.unit

    forward = z
