"""When more labels stop paying: stabilizing predictions (Bloodgood & Vijay-Shanker, CoNLL
2009), with guards for tiny labeled sets.

After every cycle the classifier predicts good or defect for every image of the pool, a
fixed stop set (as small-text feeds its KappaAverage). Cohen's kappa between two
successive cycles' predictions says how much they agree; once the mean of the last
`window` kappas reaches `threshold`, the predictions have stabilised and the rule would
stop. Identical predictions agree perfectly (kappa 1, where Cohen's formula divides zero by
zero), as in small-text since 1.3.3.

With ten labels a classifier that calls everything good agrees with itself perfectly,
cycle after cycle: a false stop. So the rule never stops
- before the labeled set holds `min_defects` defects,
- while the classifier predicts a single class for the whole pool;
and it stops at the latest at `max_labels` labels (the budget), whatever kappa says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import cohen_kappa_score


def kappa(previous: np.ndarray, current: np.ndarray) -> float:
    """Cohen's kappa of two good/defect prediction arrays over the same images; 1 where
    they are identical."""
    if np.array_equal(previous, current):
        return 1.0
    return float(cohen_kappa_score(previous, current, labels=[0, 1]))


@dataclass(frozen=True)
class StoppingRule:
    threshold: float = 0.99
    window: int = 3
    min_defects: int = 2
    max_labels: int | None = None

    def decide(self, kappas: list[float], predictions: np.ndarray, labels: int,
               defects: int) -> tuple[float, bool, str]:
        """The mean of the last `window` kappas (NaN until there are that many), whether
        the rule would stop now, and why (or why not, while it would not)."""
        recent = [k for k in kappas[-self.window:] if not np.isnan(k)]
        mean = float(np.mean(recent)) if len(recent) == self.window else float("nan")
        if self.max_labels is not None and labels >= self.max_labels:
            return mean, True, "label budget reached"
        if defects < self.min_defects:
            return mean, False, f"fewer than {self.min_defects} labeled defects"
        if len(np.unique(predictions)) < 2:
            return mean, False, "one class predicted for the whole pool"
        if np.isnan(mean):
            return mean, False, f"fewer than {self.window} kappas"
        if mean >= self.threshold:
            return mean, True, "predictions stable"
        return mean, False, "predictions still changing"
