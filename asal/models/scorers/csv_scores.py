"""A user's own scores as a scorer: another detector's CSV (path, score), read by the stage
(asal/stages/scores.py) and given to it by pool key. It knows the pool's scores only: it
has no model to score other images with."""

from __future__ import annotations

import numpy as np
import torch

from asal.errors import AsalError
from asal.models.scorers.base import Fitting, Scorer


class CsvScorer(Scorer):
    name = "csv"
    needs = ("given_scores",)           # pool key -> score, every pool image checked

    def fit(self, pool: torch.Tensor, fitting: Fitting | None = None) -> "CsvScorer":
        fitting = fitting or Fitting()
        given = self.settings["given_scores"]
        if fitting.keys is None or len(fitting.keys) != len(pool):
            raise AsalError("The csv scorer matches its scores to the pool by path; give the "
                            "pool's keys with its images.")
        self.scores = np.array([given[k] for k in fitting.keys], dtype=np.float64)
        self.fitted = True
        return self

    def pool_scores(self) -> np.ndarray:
        self._check_fitted()
        return self.scores

    def anomaly_scores(self, images: torch.Tensor) -> np.ndarray:
        raise AsalError("The csv scorer holds another detector's scores of the pool only, "
                        "and cannot score other images; score them with that detector.")

    def state(self) -> dict:
        return {"scores": torch.from_numpy(self.scores)}

    @classmethod
    def from_state(cls, state: dict, *, seed: int, device=None, **settings) -> "CsvScorer":
        scorer = cls(seed=seed, device=device, **settings)
        scorer.scores, scorer.fitted = state["scores"].numpy(), True
        return scorer
