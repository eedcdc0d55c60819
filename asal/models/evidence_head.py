"""A logistic-regression head that starts from the anomaly evidence and lets the labels
correct it: logit p(defect) = b + beta * z + w . x, where z is the image's anomaly score
as a normal score of its rank among the pool and x the frozen body's features,
standardised with the pool's statistics.

The prior says what is known before any label: beta ~ N(beta_prior, score_c),
w ~ N(0, feature_c) (a Gaussian prior is an L2 penalty towards its mean; feature_c is
scikit-learn's C for the features, and the log-likelihood is weighed as there). With
ten labels the penalty keeps beta near its prior and w small, so the classifier ranks the
test images much as the scorer does, and the labels move it only as far as they
outweigh the prior; with hundreds, the features take over. A labeled set of one class says
nothing about the other: then w = 0 and beta = beta_prior exactly, and the intercept is
the smoothed class share, so asking for labels never leaves the classifier below the
scorer it started from. The fit is a deterministic L-BFGS on the penalised, optionally
class-balanced log-likelihood (scipy), to convergence.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from scipy.stats import norm

TOL = 1e-10


def normal_scores(pool_scores: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
    """z: the normal quantile of each score's rank among the pool's scores (ties share their
    mean rank), for the pool itself or for other images scored against it."""
    knots = EvidenceKnots.of(pool_scores)
    s = pool_scores if scores is None else scores
    return knots.z(torch.as_tensor(np.asarray(s, dtype=np.float64))).numpy()


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


class EvidenceHead:
    def __init__(self, pool_features: np.ndarray, *, feature_c: float, score_c: float,
                 beta_prior: float, balanced: bool):
        x = np.asarray(pool_features, dtype=np.float64)
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        self.feature_c, self.score_c, self.beta_prior = feature_c, score_c, beta_prior
        self.balanced = balanced
        self.beta, self.w, self.b = beta_prior, np.zeros(x.shape[1]), 0.0

    def _scaled(self, x) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def decision(self, x, z) -> np.ndarray:
        return self.b + self.beta * np.asarray(z, dtype=np.float64) + self._scaled(x) @ self.w

    def fit(self, x, z, y) -> float:
        """Fit on the labeled images' features x, evidence z and labels y; the labeled
        set's mean log-loss at the optimum."""
        x, z, y = self._scaled(x), np.asarray(z, dtype=np.float64), np.asarray(y)
        n, d = x.shape
        if len(np.unique(y)) < 2:
            self.beta, self.w = self.beta_prior, np.zeros(d)
            share = (y.sum() + 1) / (n + 2)
            self.b = float(np.log(share / (1 - share)) - np.mean(self.beta * z))
        else:
            weights = np.where(y == 1, n / (2 * y.sum()), n / (2 * (n - y.sum()))) \
                if self.balanced else np.ones(n)
            sign = 2.0 * y - 1

            def loss(theta):
                b, beta, w = theta[0], theta[1], theta[2:]
                t = sign * (b + beta * z + x @ w)
                value = -(weights * log_expit(t)).sum() \
                    + (beta - self.beta_prior) ** 2 / (2 * self.score_c) \
                    + w @ w / (2 * self.feature_c)
                g = -weights * sign * expit(-t)
                grad = np.concatenate([[g.sum(),
                                        g @ z + (beta - self.beta_prior) / self.score_c],
                                       x.T @ g + w / self.feature_c])
                return value, grad

            start = np.concatenate([[0.0, self.beta_prior], np.zeros(d)])
            fit = minimize(loss, start, jac=True, method="L-BFGS-B",
                           options={"maxiter": 10_000, "gtol": TOL, "ftol": TOL})
            self.b, self.beta, self.w = float(fit.x[0]), float(fit.x[1]), fit.x[2:]
        t = (2.0 * y - 1) * self.decision_scaled(x, z)
        return float(-log_expit(t).mean())

    def decision_scaled(self, x_scaled, z) -> np.ndarray:
        return self.b + self.beta * z + x_scaled @ self.w

    def fc_state(self) -> dict[str, torch.Tensor]:
        """The features' part as the network's fc layer on the unscaled features (logits
        [0, w.x + b]); beta, the evidence's weight, stands beside it."""
        w = self.w / self.std
        b = self.b - float(w @ self.mean)
        weight = torch.from_numpy(np.stack([np.zeros_like(w), w])).float()
        return {"fc.weight": weight, "fc.bias": torch.tensor([0.0, b], dtype=torch.float32),
                "evidence.beta": torch.tensor(self.beta, dtype=torch.float64)}
