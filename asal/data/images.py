"""Decode-once image tensors with an on-disk cache.

`load_split` decodes every image of a split once, resizes it and returns one uint8 tensor;
the result is cached in <category>/.cache/, keyed by the file names, their modification
times and sizes, the image size and the grayscale flag, so any change to a file, or a file
added or removed, invalidates it. It is also the one place that makes the built-in
synthetic categories on first use (every stage loads its images through it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from asal.data.cache import cached
from asal.data.decode import (decode_image, decode_many, decode_mask, image_size_of,
                              report_non_square)
from asal.data.folders import (SPLITS, UNKNOWN, list_split, mask_path, pool_is_unlabeled,
                               pool_key)
from asal.data.synthetic import ensure_synthetic
from asal.errors import AsalError

CACHE_VERSION = 2           # 2: the original image sizes are kept too


@dataclass
class Split:
    """One split of one category, decoded: images (N, 3, H, W) uint8, labels (N,) int64,
    and the files' own (width, height) before they were resized, where known."""

    images: torch.Tensor
    labels: torch.Tensor
    paths: list[str]
    sizes: torch.Tensor | None = None

    def __len__(self):
        return len(self.paths)

    @property
    def labeled(self) -> bool:
        """Whether every image's label is known (from its folder)."""
        return bool((self.labels != UNKNOWN).all())

    def label_column(self) -> pd.arrays.IntegerArray:
        """The labels for a CSV column: 0 / 1, empty (NA) where unknown."""
        labels = pd.array(self.labels.numpy(), dtype="Int64")
        labels[labels == UNKNOWN] = pd.NA
        return labels

    def keys(self) -> list[str]:
        """The images' pool keys (see pool_key), in order."""
        return [pool_key(p) for p in self.paths]

    def subset(self, index) -> "Split":
        index = torch.as_tensor(index, dtype=torch.long)
        return Split(self.images[index], self.labels[index], [self.paths[i] for i in index],
                     None if self.sizes is None else self.sizes[index])


def _cache_key(paths: list[Path], size: int, grayscale: bool, kind: str) -> str:
    h = hashlib.sha1(f"{CACHE_VERSION}|{kind}|{size}|{grayscale}".encode())
    for p in paths:
        st = p.stat() if p.exists() else None
        stamp = f"{st.st_mtime_ns}|{st.st_size}" if st else "absent"
        h.update(f"\n{p.as_posix()}|{stamp}".encode())
    return h.hexdigest()[:16]


def list_pool(data_root, category: str, split: str = "train") -> tuple[list[Path], list[int]]:
    """A split's files and labels, the built-in synthetic category made on first use."""
    if split not in SPLITS:
        raise AsalError(f"Split '{split}' is unknown; use one of {SPLITS}.")
    ensure_synthetic(data_root, category)
    return list_split(data_root, category, split)


def load_split(data_root, category: str, split: str, size: int,
               grayscale: bool = False, cache: bool = True) -> Split:
    """Decode one split of a category to a uint8 tensor (N, 3, size, size), once."""
    paths, labels = list_pool(data_root, category, split)

    def build():
        images = torch.from_numpy(decode_many(paths, decode_image, size, grayscale))
        sizes = [image_size_of(p) for p in paths]
        return {"images": images, "labels": torch.tensor(labels, dtype=torch.long),
                "sizes": torch.tensor(sizes, dtype=torch.long).reshape(-1, 2)}

    if cache:
        key = _cache_key(paths, size, grayscale, "images")
        stem = f"{split}-{size}-{'gray' if grayscale else 'rgb'}"
        value = cached(Path(data_root) / category / ".cache", stem, key, build)
    else:
        value = build()
    report_non_square(paths, value["sizes"].tolist(), size, f"{category}/{split}")
    return Split(value["images"], value["labels"], [str(p) for p in paths], value["sizes"])


def load_test(data_root, category: str, size: int, grayscale: bool = False) -> Split | None:
    """The test split; None for an unlabeled pool that comes without one (no test metrics)."""
    if pool_is_unlabeled(data_root, category) \
            and not (Path(data_root) / category / "test").is_dir():
        return None
    return load_split(data_root, category, "test", size, grayscale)


def load_masks(paths: list[str], size: int) -> torch.Tensor:
    """Masks (N, size, size) uint8 of the given images; zeros where none exists."""
    masks = [mask_path(Path(p)) for p in paths]
    return torch.from_numpy(decode_many(masks, decode_mask, size))


def has_masks(paths: list[str]) -> bool:
    return any(mask_path(Path(p)).exists() for p in paths)

