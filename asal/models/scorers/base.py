"""The one interface of an anomaly scorer, in the manner of scikit-learn's estimators and
anomalib's models: made with its parameters, fitted on a pool, then it scores images.

- `fit(pool, fitting)` learns from the unlabeled pool's uint8 images (N, 3, H, W) and
  returns the scorer. `fitting` carries what a fit may use besides the images: the pool's
  keys, a folder for a resumable checkpoint, the device, a progress callback.
- `pool_scores()`: the pool's own scores (N,), higher is more anomalous. The pool is
  scored transductively, as ASAL uses it: a scorer that compares an image with the pool
  leaves the image itself out.
- `anomaly_scores(images)`: new images (the test split, tomorrow's parts) against the
  whole pool. `anomaly_maps(images)`: (N, H, W), higher where the scorer suspects a
  defect, for a scorer that localises (`has_maps`); None otherwise.
- `state()` / `from_state(state, ...)`: what the scores folder's model.pt keeps, and the
  scorer rebuilt from it (its parameters and seed come with it).

The project's parameters a scorer takes are keyword arguments of its constructor
(scorer_names.py lists them, without importing torch). Its class says whether it trains
(`trains`: then a killed fit resumes), whether it has maps, and what else its constructor
needs that the stage prepares (`needs`: DRAEM's anomaly source, a user's scores). Scorers
read no files and know no config: asal/stages/scorer_files.py builds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np
import torch

from asal.errors import AsalError
from asal.models.scorer_names import PARAMETERS


@dataclass
class Fitting:
    """What a fit may use besides the pool's images."""

    keys: list[str] | None = None                   # the pool keys, in image order
    workdir: Path | None = None                     # for a trained scorer's checkpoint
    device: torch.device = torch.device("cpu")
    on_epoch: Callable[[int, dict], None] | None = None
    on_step: Callable[[int, int], None] | None = None   # a weight-free fit's (done, total)
    stop_after: int | None = None                   # epochs, as a kill would (tests)


class Scorer:
    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()
    trains: ClassVar[bool] = False
    has_maps: ClassVar[bool] = False

    def __init__(self, *, seed: int = 0, device: torch.device | None = None, **settings):
        self.seed, self.device = seed, device or torch.device("cpu")
        self.settings = settings
        self.fitted = False

    @classmethod
    def parameters(cls) -> tuple[str, ...]:
        """The project's parameters it takes (asal.models.scorer_names.py owns them)."""
        return PARAMETERS[cls.name]

    # ------------------------------------------------------------------- the interface
    def fit(self, pool: torch.Tensor, fitting: Fitting | None = None) -> "Scorer":
        raise NotImplementedError

    def pool_scores(self) -> np.ndarray:
        raise NotImplementedError

    def anomaly_scores(self, images: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def anomaly_maps(self, images: torch.Tensor) -> np.ndarray | None:
        return None

    def state(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_state(cls, state: dict, *, seed: int, device=None, **settings) -> "Scorer":
        raise NotImplementedError

    # ---------------------------------------------------------------------- helpers
    def _check_fitted(self) -> None:
        if not self.fitted:
            raise AsalError(f"The {self.name} scorer is not fitted yet; call fit(pool) first.")

    @property
    def finished(self) -> bool:
        """Whether the fit ran to its end (a trained scorer stopped on purpose has not)."""
        return self.fitted
