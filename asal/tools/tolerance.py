"""Tolerances for trained numbers, derived from their seed spread; verdicts.

Three kinds of output (docs/reproducing.md):
- deterministic given their inputs (data, batches from scores, initial picks, tables from
  runs): compared exactly;
- trained numbers (the scorers' AUROCs, the classifier's metrics): compared within a
  tolerance;
- timings: never compared.

How a tolerance is derived. On another CPU the same seed trains to other numbers: the
kernels sum in another order, and training grows those last-bit differences into another
trajectory, so a rebuilt number varies like a run with another seed (measured: docs/reproducing.md).
If one run's value has seed standard deviation sigma, the difference of two runs has
standard deviation sigma * sqrt(2), and that of two means over n seeds sigma * sqrt(2 / n).
A value fails when |rebuilt - committed| > z * sigma * sqrt(2 / n), where z is the
two-sided normal quantile for a family-wise false-alarm rate ALPHA over the m values checked
together (Bonferroni): z = Phi^-1(1 - ALPHA / (2 m)). sigma is pooled (root mean square)
over the cells of a table, because three seeds alone estimate a standard deviation poorly.
The seed spreads come from the committed experiment (asal/tools/checks.py,
asal/tools/reproduction.py).
"""


from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from asal.errors import AsalError

ALPHA = 0.01                 # family-wise chance that a faithful rebuild fails a check
# The widest tolerance a verdict may rest on. A seed spread so large that its derived
# tolerance exceeds this says that the recipe is too unstable for a rebuild to show
# anything: such a cell fails, with that reason, instead of passing whatever it holds.
TOLERANCE_CEILING = 0.10


def z_value(m: int, alpha: float = ALPHA) -> float:
    """Two-sided normal quantile with a Bonferroni correction over m checks."""
    return float(norm.ppf(1 - alpha / (2 * max(m, 1))))


def tolerance(sigma: float, n: int, m: int) -> float:
    """Largest |rebuilt - committed| accepted for a mean over n seeds among m checks."""
    return z_value(m) * sigma * math.sqrt(2 / n)


def pooled_sd(values) -> float:
    """Root mean square of standard deviations (NaNs left out)."""
    arr = np.asarray([v for v in values if v is not None and not pd.isna(v)], dtype=float)
    if not len(arr):
        raise AsalError("No seed spread is recorded to derive a tolerance from; run the "
                        "experiment with at least two seeds (and `asal scorer-spread` for "
                        "the scorers).")
    return float(np.sqrt(np.mean(arr ** 2)))


@dataclass
class Verdict:
    """One compared value: exact when tolerance is None; a tolerance above `ceiling` is too
    wide to call anything reproduced."""

    name: str
    committed: float | str
    rebuilt: float | str
    tolerance: float | None = None
    shown: str | None = None         # how the tolerance is described, if not by its value
    ceiling: float | None = None

    @property
    def too_wide(self) -> bool:
        return None not in (self.tolerance, self.ceiling) and self.tolerance > self.ceiling

    @property
    def ok(self) -> bool:
        if self.tolerance is None:
            return self.committed == self.rebuilt
        if self.too_wide:
            return False
        if pd.isna(self.committed) or pd.isna(self.rebuilt):
            return pd.isna(self.committed) and pd.isna(self.rebuilt)
        return abs(float(self.rebuilt) - float(self.committed)) <= self.tolerance

    @property
    def why(self) -> str:
        """Why a cell failed, in one sentence; empty where it did not."""
        if self.ok:
            return ""
        if self.too_wide:
            return (f"its seed spread gives a tolerance of {self.tolerance:.3f}, above the "
                    f"ceiling of {self.ceiling:.2f}: too large for a rebuild to say anything")
        return "the rebuilt value lies outside the tolerance"

    def row(self) -> dict:
        return {"cell": self.name, "committed": self.committed, "rebuilt": self.rebuilt,
                "tolerance": "exact" if self.tolerance is None else round(self.tolerance, 4),
                "verdict": "ok" if self.ok else "TOO WIDE" if self.too_wide else "DIFFERS"}


def verdict_table(verdicts: list[Verdict]) -> pd.DataFrame:
    return pd.DataFrame([v.row() for v in verdicts],
                        columns=["cell", "committed", "rebuilt", "tolerance", "verdict"])


def tolerance_lines(verdicts: list[Verdict]) -> str:
    """What is checked and how closely: the same text on every machine (no values)."""
    return "\n".join(f"{v.name}: " + (v.shown or "exact" if v.tolerance is None else v.shown
                                      or f"within {v.tolerance:.3f} of the committed value")
                     for v in verdicts)


def require(verdicts: list[Verdict], what: str) -> None:
    """Stop with the cells that differ beyond their tolerance, if any."""
    bad = [v for v in verdicts if not v.ok]
    if bad:
        cells = "; ".join(f"{v.name}: committed {v.committed}, rebuilt {v.rebuilt}"
                          + ("" if v.tolerance is None else f", tolerance {v.tolerance:.3f}")
                          for v in bad)
        raise AsalError(f"{what} did not reproduce the committed result ({cells}); see "
                        "docs/reproducing.md.")


def scorer_sd(runs: pd.DataFrame, metric: str = "test_image_auroc") -> float:
    """Seed standard deviation of a scorer's metric over its runs (columns category,
    train_on and the metric), pooled over categories and train_on."""
    return pooled_sd(runs.groupby(["category", "train_on"])[metric].std())


def classifier_sigma(seed_sd: float, pretext: pd.DataFrame | None, value: str,
                     n_seeds: int) -> float:
    """The sd to derive a classifier tolerance from, for means over n_seeds seeds that share
    one pretext network per category.

    The committed and a rebuilt mean differ by the classifier seeds' noise (variance
    seed_sd^2 / n each) and, on another CPU, by another pretext network (variance pt^2 each,
    not averaged over the seeds). tolerance() divides by n, so it gets the sd whose square
    is seed_sd^2 + n * pt^2. pt is the sd over pretext seeds of the same (category, init,
    seed), pooled; without a recorded pretext spread it is 0.
    """
    if pretext is None or value not in pretext:
        return seed_sd
    pt = pooled_sd(pretext.groupby(["category", "init", "seed"])[value].std())
    return math.sqrt(seed_sd ** 2 + n_seeds * pt ** 2)
