"""DRAEM's anomaly source: a folder of texture images (the paper's DTD), or the built-in
procedural textures when none is given (DTD cannot be downloaded offline)."""

from __future__ import annotations

from pathlib import Path

import torch

from asal.data.decode import decode_image, decode_many
from asal.data.folders import IMAGE_SUFFIXES
from asal.errors import AsalError
from asal.models.scorers.draem.synthesis import procedural_textures


def load_source_folder(folder, size: int) -> torch.Tensor:
    """Every image below `folder` (for DTD: dtd/images/*/*.jpg) as (n, 3, size, size) uint8."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES) \
        if folder.is_dir() else []
    if not files:
        raise AsalError(f"Anomaly source folder {folder} holds no images; point "
                        "anomaly_source_dir at a folder of textures (e.g. dtd/images) or "
                        "leave it empty for the built-in procedural textures.")
    return torch.from_numpy(decode_many(files, decode_image, size))


def anomaly_source(source_dir, size: int, seed: int, device, n_procedural: int = 64):
    """The anomaly source bank on the device: a folder's images, or procedural textures."""
    if source_dir:
        return load_source_folder(source_dir, size).to(device)
    gen = torch.Generator().manual_seed(seed + 7919)
    return procedural_textures(n_procedural, size, gen, device)
