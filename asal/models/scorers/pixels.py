"""Per-pixel robust statistics against the pool, for registered images.

The assumption: every image shows its part in the same framing (ELPV's cells, a fixtured
part under a fixed camera), so a pixel position means the same place on every part. Each
pixel of an image (grayscale, blurred over 3 x 3 against pixel noise) is then compared with
the same pixel across the pool: a robust z-score against the pool's median and median
absolute deviation (scaled to a standard deviation, with a floor where the pool barely
varies). An image's score is the mean of its most deviant `pixels_share` of pixels, in the
direction `pixels_tail` says: dark (cracks and dead areas in electroluminescence, the
default, chosen on the pools: the two-sided tail lost 0.04 of pool AUROC on elpv_mono),
bright (back-lit parts), or both. The image itself is one of the pool whose median it is
compared with: a median moves by at most one order statistic for it.

Images of mixed sizes are not registered; asal/stages/scores.py refuses them for this
scorer before they are resized to one size.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from asal.models.scorers.base import Fitting, Scorer

MAD_TO_SD = 1.4826          # a normal distribution's sd per median absolute deviation
FLOOR = 1e-3                # of the pool's typical deviation: where a pixel never varies


class PixelsScorer(Scorer):
    name = "pixels"
    registered = True           # it needs every image in the same framing (stages check)
    has_maps = True

    def _gray(self, images: torch.Tensor) -> torch.Tensor:
        """(N, H, W) float in [0, 1]: the mean of the channels, lightly blurred (3 x 3)."""
        g = images.float().mean(1, keepdim=True) / 255
        return F.avg_pool2d(g, 3, 1, 1, count_include_pad=False)[:, 0]

    def fit(self, pool: torch.Tensor, fitting: Fitting | None = None) -> "PixelsScorer":
        gray = self._gray(pool)
        self.median = gray.median(0).values
        absolute = (gray - self.median).abs()
        self.spread = absolute.median(0).values * MAD_TO_SD + \
            FLOOR * (absolute.median() + 1e-6)
        self.pool = pool
        self.fitted = True
        return self

    def _deviation(self, images: torch.Tensor) -> torch.Tensor:
        z = (self._gray(images) - self.median) / self.spread
        tail = self.settings["pixels_tail"]
        return -z if tail == "dark" else z if tail == "bright" else z.abs()

    def anomaly_scores(self, images: torch.Tensor) -> np.ndarray:
        self._check_fitted()
        v = self._deviation(images).flatten(1)
        m = max(1, round(self.settings["pixels_share"] * v.shape[1]))
        return v.topk(m, dim=1).values.mean(1).double().numpy()

    def pool_scores(self) -> np.ndarray:
        return self.anomaly_scores(self.pool)

    def anomaly_maps(self, images: torch.Tensor) -> np.ndarray:
        self._check_fitted()
        return self._deviation(images).clamp_min(0).numpy()

    def state(self) -> dict:
        return {"median": self.median, "spread": self.spread}

    @classmethod
    def from_state(cls, state: dict, *, seed: int, device=None, **settings) -> "PixelsScorer":
        scorer = cls(seed=seed, device=device, **settings)
        scorer.median, scorer.spread, scorer.fitted = state["median"], state["spread"], True
        return scorer
