"""DRAEM's anomaly map of one pool image, for the person labeling it (05).

The detector that ranked the pool (runs/<exp>/<cat>/scores/mixed/seed<d>/model.pt) says
where in an image it suspects a defect: its map is the discriminative network's defect
probability per pixel, and the image's anomaly score is the maximum of that map after
the same mean filter 01 uses. 05 shows the map beside the image, as a heat map over it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from asal.config.layout import CONFIG_JSON, MODEL, ranking_detector
from asal.data.decode import decode_image
from asal.models.draem_training import load_model, score


class AnomalyMaps:
    """One DRAEM run, loaded from its folder: the scores and maps of images, as 01 makes
    them (predict's anomaly_score, 05's map); None from `of` where there is no model."""

    def __init__(self, folder: Path, image_size: int, grayscale: bool):
        made = json.loads((folder / CONFIG_JSON).read_text())
        self.device = torch.device("cpu")
        self.model = load_model(folder / MODEL, made["draem_recon_width"],
                                made["draem_disc_width"], self.device)
        self.filter_size = made["draem_score_filter"]
        self.size, self.grayscale = image_size, grayscale

    @classmethod
    def of(cls, cfg) -> "AnomalyMaps | None":
        """The DRAEM run that ranked cfg's pool, loaded; None where there is none."""
        folder = ranking_detector(cfg)
        return None if folder is None else cls(folder, cfg.image_size, cfg.use_grayscale)

    def scores(self, images: torch.Tensor) -> np.ndarray:
        """Anomaly scores of decoded uint8 images (N, 3, size, size)."""
        return score(self.model, images, self.device, filter_size=self.filter_size).numpy()

    def map_and_score(self, path) -> tuple[np.ndarray, float]:
        """The map (size, size) in [0, 1] and the image's anomaly score, as 01 scores it."""
        image = torch.from_numpy(decode_image(Path(path), self.size, self.grayscale))[None]
        scores, maps = score(self.model, image, self.device, keep_maps=True,
                             filter_size=self.filter_size)
        return maps[0].numpy(), float(scores[0])

    def overlay(self, path) -> Image.Image:
        """The image with its map as a heat map over it, at the image's own size."""
        import matplotlib

        amap, _ = self.map_and_score(path)
        heat = matplotlib.colormaps["inferno"](amap)[..., :3]
        with Image.open(path) as img:
            size = img.size
            base = np.asarray(img.convert("RGB").resize((self.size, self.size)),
                              dtype=np.float64) / 255
        blend = (0.45 * base + 0.55 * heat) * 255
        return Image.fromarray(blend.clip(0, 255).astype(np.uint8)).resize(size,
                                                                            Image.BILINEAR)
