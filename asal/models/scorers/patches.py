"""Nearest patches, PatchCore-style, on untrained networks: a defect is a patch unlike any
other image's patch at that place.

Every image gives locally aware patch features (PatchCore, Roth et al., CVPR 2022): the
untrained network's layer1 map, 64 x 16 x 16 at 64 px, averaged over each 3 x 3
neighbourhood. A patch is scored by its distance to the nearest patch of another image
within `patches_radius` grid cells of its place (the memory of that place), and an image
by the mean of its `patches_top` highest patch scores (1: PatchCore's maximum). The pool
holds defects, so its memory holds defect patches too; SoftPatch (Jiang et al., NeurIPS
2022) drops the patches the pool itself marks as outliers before they can vouch for a
defect elsewhere: with `patches_denoise` > 0, that share of each place's patches, those
farthest from the rest, leaves the memory.

The memory is every other pool image, or a seeded sample of `patches_reference` of them in
a larger pool (chosen on the pool sorted by content, so the pool's order plays no part).
A pool image never meets its own patches (transductive). `patches_networks` untrained
networks (seeds n x seed + j) each score the pool; their scores, in robust z units over
the pool, are averaged, which cuts the seed's spread.

Chosen on the pools (docs/scorers.md): layer1 against layer2 + layer3 (8 x 8 and 4 x 4 at
64 px, too coarse), a place's neighbourhood against PatchCore's position-free memory (its
greedy k-center coreset was weaker on ELPV and took 443 s on elpv_poly), no denoising (no
gain on the pools), three networks against one.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from asal.models.scorers.base import Fitting, Scorer
from asal.models.scorers.network_features import body, feature_maps, robust_scale, robust_z
from asal.order import content_order

CHUNK = 512


def patch_features(network, images: torch.Tensor, mean, std) -> torch.Tensor:
    """(N, P, 64): layer1 averaged over 3 x 3 neighbourhoods, one row per grid cell."""
    parts = []
    for start in range(0, len(images), 256):         # layer1 maps are freed batch by batch
        m = feature_maps(network, images[start:start + 256], ("layer1",), mean, std)["layer1"]
        m = F.avg_pool2d(m, 3, 1, 1, count_include_pad=False)
        parts.append(m.flatten(2).transpose(1, 2))
    return torch.cat(parts).contiguous()


def neighbourhoods(grid: int, radius: int) -> list[np.ndarray]:
    """For every grid cell, the cells within `radius` of it (Chebyshev)."""
    ys, xs = np.divmod(np.arange(grid * grid), grid)
    return [np.flatnonzero((abs(ys - y) <= radius) & (abs(xs - x) <= radius))
            for y, x in zip(ys, xs)]


def nearest_by_place(queries: torch.Tensor, memory: torch.Tensor, places: list,
                     owner: torch.Tensor | None, kept: torch.Tensor | None) -> torch.Tensor:
    """(N, P) distances of each query patch to the nearest memory patch at its place.
    memory: (R, P, D); owner[i]: the memory row of query i, or -1 (never its own patches);
    kept: (R, P) the memory patches that may match (after denoising)."""
    n, p, d = queries.shape
    out = torch.empty(n, p, dtype=torch.float32)
    for pos, near in enumerate(places):
        mem = memory[:, near].reshape(-1, d)                    # R * L rows, owner-major
        sq = (mem * mem).sum(1)
        if kept is not None:
            sq = sq.masked_fill(~kept[:, near].reshape(-1), float("inf"))
        for start in range(0, n, CHUNK):
            a = queries[start:start + CHUNK, pos]
            d2 = torch.addmm(sq, a, mem.T, alpha=-2.0)          # |m|^2 - 2 a.m
            if owner is not None:
                rows = torch.arange(len(a))
                mine = owner[start:start + len(a)]
                hit = mine >= 0
                d2.view(len(a), -1, len(near))[rows[hit], mine[hit]] = float("inf")
            best = d2.amin(1) + (a * a).sum(1)
            out[start:start + len(a), pos] = best.clamp_min(0).sqrt()
    return out


class PatchesScorer(Scorer):
    name = "patches"
    has_maps = True

    def _networks(self) -> list:
        s = self.settings
        count = 1 if s["scorer_body"] != "none" else s["patches_networks"]
        return [body(count * self.seed + j, s["scorer_body"]) for j in range(count)]

    def _features(self, network, images) -> torch.Tensor:
        return patch_features(network, images, self.settings["normalize_mean"],
                              self.settings["normalize_std"])

    def _reference(self, pool: torch.Tensor) -> torch.Tensor:
        """The memory's images: the pool sorted by content, or a seeded sample of it."""
        ordered = pool[torch.from_numpy(content_order(pool))]
        limit = self.settings["patches_reference"]
        if len(ordered) <= limit:
            return ordered
        gen = torch.Generator().manual_seed(self.seed)
        return ordered[torch.randperm(len(ordered), generator=gen)[:limit].sort().values]

    def _denoised(self, memory: torch.Tensor, places: list) -> torch.Tensor | None:
        """SoftPatch: the memory patches kept, each place without its outlying share."""
        share = self.settings["patches_denoise"]
        if share == 0:
            return None
        own = torch.arange(len(memory))
        first = nearest_by_place(memory, memory, places, own, None)
        return first <= torch.quantile(first, 1 - share, dim=0, keepdim=True)

    def _place_scores(self, j: int, images: torch.Tensor, owner=None) -> torch.Tensor:
        """(N, P) patch scores of network j against the memory."""
        return nearest_by_place(self._features(self.networks[j], images), self.memories[j],
                                self.places, owner, self.kept[j])

    def _image_scores(self, place_scores: torch.Tensor) -> np.ndarray:
        return place_scores.topk(self.settings["patches_top"], 1).values.mean(1) \
            .double().numpy()

    def fit(self, pool: torch.Tensor, fitting: Fitting | None = None) -> "PatchesScorer":
        self.networks, self.reference = self._networks(), self._reference(pool)
        self.memories = [self._features(net, self.reference) for net in self.networks]
        grid = int(round(self.memories[0].shape[1] ** 0.5))
        self.places = neighbourhoods(grid, self.settings["patches_radius"])
        self.kept = [self._denoised(m, self.places) for m in self.memories]
        owner = self._owners(pool)
        raw = []
        for j in range(len(self.networks)):      # the fit's long part: a step per network
            raw.append(self._image_scores(self._place_scores(j, pool, owner)))
            if fitting is not None and fitting.on_step is not None:
                fitting.on_step(j + 1, len(self.networks))
        self.scales = [robust_scale(r) for r in raw]
        self.pool_raw = raw
        self.grid, self.fitted = grid, True
        return self

    def _owners(self, pool: torch.Tensor) -> torch.Tensor:
        """Each image's row in the memory's images, or -1 where it is not among them (by
        content: an image of the pool, however it reached the scorer, never meets itself)."""
        keys = {img.numpy().tobytes(): i for i, img in enumerate(self.reference)}
        return torch.tensor([keys.get(img.numpy().tobytes(), -1) for img in pool])

    def _combined(self, raw: list[np.ndarray]) -> np.ndarray:
        """The networks' scores in robust z units of the pool, averaged."""
        return np.mean([robust_z(r, *scale) for r, scale in zip(raw, self.scales)], axis=0)

    def pool_scores(self) -> np.ndarray:
        self._check_fitted()
        return self._combined(self.pool_raw)

    def anomaly_scores(self, images: torch.Tensor) -> np.ndarray:
        self._check_fitted()
        owner = self._owners(images)     # a pool image scored again: as in 01, not by itself
        return self._combined([self._image_scores(self._place_scores(j, images, owner))
                               for j in range(len(self.networks))])

    def anomaly_maps(self, images: torch.Tensor) -> np.ndarray:
        """The patch scores on the grid, each network's in units of its pool spread,
        averaged and brought to the image's size."""
        self._check_fitted()
        owner = self._owners(images)
        maps = torch.stack([self._place_scores(j, images, owner) / self.scales[j][1]
                            for j in range(len(self.networks))]).mean(0)
        maps = maps.view(len(images), 1, self.grid, self.grid)
        return F.interpolate(maps, size=images.shape[-2:], mode="bilinear",
                             align_corners=False)[:, 0].numpy()

    def state(self) -> dict:
        """The memory's images, not their features: a tenth of the size, and the features
        come back from the networks (the seeds) in a second."""
        return {"reference": self.reference,
                "scales": torch.tensor(self.scales, dtype=torch.float64)}

    @classmethod
    def from_state(cls, state: dict, *, seed: int, device=None, **settings) -> "PatchesScorer":
        scorer = cls(seed=seed, device=device, **settings)
        scorer.networks, scorer.reference = scorer._networks(), state["reference"]
        scorer.memories = [scorer._features(n, scorer.reference) for n in scorer.networks]
        scorer.grid = int(round(scorer.memories[0].shape[1] ** 0.5))
        scorer.places = neighbourhoods(scorer.grid, settings["patches_radius"])
        scorer.kept = [scorer._denoised(m, scorer.places) for m in scorer.memories]
        scorer.scales = [tuple(s) for s in state["scales"].tolist()]
        scorer.fitted = True
        return scorer
