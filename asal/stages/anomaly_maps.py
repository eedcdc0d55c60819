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

from asal.config.layout import CONFIG_JSON, scores_dir
from asal.data.decode import decode_image
from asal.models.draem_training import load_model, score

MODEL = "model.pt"


class AnomalyMaps:
    """Maps of single images from one DRAEM run; None from `of` where there is none."""

    def __init__(self, folder: Path, image_size: int, grayscale: bool):
        made = json.loads((folder / CONFIG_JSON).read_text())
        self.device = torch.device("cpu")
        self.model = load_model(folder / MODEL, made["draem_recon_width"],
                                made["draem_disc_width"], self.device)
        self.filter_size = made["draem_score_filter"]
        self.size, self.grayscale = image_size, grayscale

    @classmethod
    def of(cls, cfg) -> "AnomalyMaps | None":
        """The maps of the DRAEM run that ranked cfg's pool, if its model is on disk."""
        folder = scores_dir(cfg, "mixed")
        if cfg.batches_dir is not None or not (folder / MODEL).is_file():
            return None
        return cls(folder, cfg.image_size, cfg.use_grayscale)

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
