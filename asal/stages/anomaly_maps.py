"""The anomaly score and map of an image from the scorer that ranked its pool, for the
person labeling it (05) and for predict's anomaly_score.

The scorer is the one in runs/<exp>/<cat>/scores/<scorer>/mixed/seed<d>/model.pt
(asal/stages/scorer_files.py). A scorer with maps says where in an image it suspects a
defect; 05 shows the map beside the image as a heat map, bright where the map exceeds
what the pool's images show (its scale: the 99th percentile of the pool's map values,
kept in model.pt). The image's score is 01's score of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from asal.config.layout import ranking_scorer
from asal.data.decode import decode_image
from asal.stages.claims import recorded
from asal.stages.scorer_files import load_scorer, map_scale_of


class AnomalyMaps:
    """One scorer, loaded from its scores folder; None from `of` where there is none."""

    def __init__(self, folder: Path, image_size: int, grayscale: bool):
        self.scorer = load_scorer(folder)
        self.scale = map_scale_of(folder)
        self.size, self.grayscale = image_size, grayscale

    @classmethod
    def of(cls, cfg) -> "AnomalyMaps | None":
        """The scorer that ranked cfg's pool, loaded; None where there is none on disk."""
        folder = ranking_scorer(cfg)
        if folder is None:
            return None
        # the scorer sees images at the size it was fitted at, whatever cfg says now
        made = recorded(folder) or {}
        return cls(folder, made.get("image_size", cfg.image_size), cfg.use_grayscale)

    @property
    def has_maps(self) -> bool:
        return self.scorer.has_maps

    def scores(self, images: torch.Tensor) -> np.ndarray:
        """Anomaly scores of decoded uint8 images (N, 3, size, size)."""
        return self.scorer.anomaly_scores(images)

    def map_and_score(self, path) -> tuple[np.ndarray | None, float]:
        """The map (size, size) in [0, 1] (None for a scorer without maps) and the image's
        anomaly score, as 01 scores it. The scorers see colour, as in 01."""
        image = torch.from_numpy(decode_image(Path(path), self.size))[None]
        score = float(self.scorer.anomaly_scores(image)[0])
        if not self.has_maps:
            return None, score
        amap = self.scorer.anomaly_maps(image)[0]
        return np.clip(amap / self.scale, 0, 1), score

    def overlay(self, path) -> Image.Image | None:
        """The image with its map as a heat map over it, at the image's own size."""
        import matplotlib

        amap, _ = self.map_and_score(path)
        if amap is None:
            return None
        heat = matplotlib.colormaps["inferno"](amap)[..., :3]
        with Image.open(path) as img:
            size = img.size
            base = np.asarray(img.convert("RGB").resize((self.size, self.size)),
                              dtype=np.float64) / 255
        blend = (0.45 * base + 0.55 * heat) * 255
        return Image.fromarray(blend.clip(0, 255).astype(np.uint8)).resize(size,
                                                                            Image.BILINEAR)
