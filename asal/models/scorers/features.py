"""Distance to the pool's other images on an untrained network's multi-scale features.

Each image becomes one vector: the global average of the network's maps at all four depths
(asal/models/scorers/network_features.py, instance-normalised input), z-scored with the
pool's mean and spread and each depth weighted alike. Its score is the mean Euclidean distance to its
`features_k` nearest pool images; a pool image's neighbours are the other pool images,
never itself (transductive, as ASAL uses it). A defect that changes what the network
sees, at any depth, moves the image away from the good majority; a defect shared by many
pool images is near its like, which is why the pool's share of defects matters.
"""

from __future__ import annotations

import numpy as np
import torch

from asal.models.scorers.base import Fitting, Scorer
from asal.models.scorers.network_features import body, feature_maps, knn_distances, standardiser

LAYERS = ("layer1", "layer2", "layer3", "layer4")


class FeaturesScorer(Scorer):
    name = "features"

    def _vectors(self, images: torch.Tensor) -> np.ndarray:
        maps = feature_maps(self.network, images, LAYERS, self.settings["normalize_mean"],
                            self.settings["normalize_std"])
        return torch.cat([maps[name].mean((2, 3)) for name in LAYERS], 1).double().numpy()

    def _network(self):
        self.network = body(self.seed, self.settings["scorer_body"])

    def fit(self, pool: torch.Tensor, fitting: Fitting | None = None) -> "FeaturesScorer":
        self._network()
        x = self._vectors(pool)
        widths = [self.network.get_submodule(name)[-1].conv2.out_channels for name in LAYERS]
        self.mean, self.scale = standardiser(x, widths)
        self.bank = (x - self.mean) / self.scale
        self.fitted = True
        return self

    def pool_scores(self) -> np.ndarray:
        self._check_fitted()
        return knn_distances(self.bank, self.bank, self.settings["features_k"],
                             exclude_self=True).mean(1)

    def anomaly_scores(self, images: torch.Tensor) -> np.ndarray:
        self._check_fitted()
        x = (self._vectors(images) - self.mean) / self.scale
        return knn_distances(x, self.bank, self.settings["features_k"],
                             exclude_self=False).mean(1)

    def state(self) -> dict:
        return {name: torch.from_numpy(getattr(self, name)) for name in ("bank", "mean",
                                                                          "scale")}

    @classmethod
    def from_state(cls, state: dict, *, seed: int, device=None, **settings) -> "FeaturesScorer":
        scorer = cls(seed=seed, device=device, **settings)
        scorer._network()
        for name in ("bank", "mean", "scale"):
            setattr(scorer, name, state[name].numpy())
        scorer.fitted = True
        return scorer
