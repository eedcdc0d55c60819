"""A folder of unlabeled images as an inspection team has it, made from a built-in synthetic
category: its pool copied into <name>/train/unlabeled/ under names that do not tell the
label (part_000.png, ... in a seeded order), optionally with the category's test split.

The true labels are returned, never written beside the images, so whatever reads the
folder cannot see them; the tests, the benchmarks and the pictures of the labeler answer a
run's questions from them, as a person would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from asal.data.folders import list_split, pool_key
from asal.data.synthetic import ensure_synthetic


def unlabeled_copy(data_root, source: str = "synth_washer", name: str = "demo",
                   with_test: bool = False, limit: int | None = None,
                   seed: int = 0) -> dict[str, int]:
    """Write data_root/<name>/train/unlabeled/ from `source`'s pool (its first `limit`
    images in the seeded order, or all); the label of every new pool key."""
    data_root = Path(data_root)
    ensure_synthetic(data_root, source)
    paths, labels = list_split(data_root, source, "train")
    order = np.random.default_rng(seed).permutation(len(paths))[:limit]
    truth = {}
    for n, i in enumerate(order):
        dest = data_root / name / "train" / "unlabeled" / f"part_{n:03d}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths[i], dest)
        truth[pool_key(dest)] = int(labels[i])
    if with_test:
        shutil.copytree(data_root / source / "test", data_root / name / "test",
                        dirs_exist_ok=True)
    return truth
