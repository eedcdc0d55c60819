"""The classifier's 2-way head as a logistic regression on a frozen body's features,
fitted to convergence (L-BFGS) at every cycle.

With 10 to 19 labels, minibatch Adam on the head did not converge in its epochs: the
labeled set's loss ended between 0.28 and 0.75 from cycle to cycle, so the least-confident
picks were close to arbitrary. A logistic regression has one optimum, reached every cycle,
and deterministic given its data. The features are standardised with the pool's mean and
spread (no labels needed); the fitted coefficients fold back onto the unscaled features.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

MAX_ITER = 10_000


class LinearHead:
    def __init__(self, pool_features: np.ndarray, c: float, balanced: bool):
        x = np.asarray(pool_features, dtype=np.float64)
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        self.model = LogisticRegression(C=c, class_weight="balanced" if balanced else None,
                                        max_iter=MAX_ITER, tol=1e-6)

    def _scaled(self, x) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def fit(self, x, y) -> float:
        """Fit on the labeled features; the labeled set's mean log-loss at the optimum.

        A labeled set of one class (a Random start without a defect, say) says nothing
        about the other: the head is then the smoothed class share alone, w = 0 and
        p(defect) = (defects + 1) / (labels + 2), so every image scores alike and the next
        query is the label-blind tie-break's.
        """
        y = np.asarray(y)
        if len(np.unique(y)) < 2:
            self.coef = np.zeros(len(self.mean))
            self.intercept = float(np.log((y.sum() + 1) / (len(y) - y.sum() + 1)))
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error", ConvergenceWarning)   # never a silent stop
                self.model.fit(self._scaled(x), y)
            self.coef, self.intercept = self.model.coef_[0], float(self.model.intercept_[0])
        z = self._decision(x)
        p = np.where(y == 1, 1 / (1 + np.exp(-z)), 1 / (1 + np.exp(z)))
        return float(-np.log(np.clip(p, 1e-15, 1)).mean())

    def _decision(self, x) -> np.ndarray:
        return self._scaled(x) @ self.coef + self.intercept

    def head_state(self) -> dict[str, torch.Tensor]:
        """The head on the unscaled features (asal/models/frozen_features.py: head_logit)."""
        weight = self.coef / self.std
        return {"weight": torch.from_numpy(weight),
                "bias": torch.tensor(self.intercept - float(weight @ self.mean),
                                     dtype=torch.float64)}
