"""Tensors computed once and kept beside the images (<category>/.cache/): decoded splits,
and a frozen network's features of them. The features' cache lives here, not in models/,
because it is keyed by the images and builds nothing itself: the caller passes the
network as `build`, and data/ is below models/ (asal/data/textures.py imports them)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from asal.io import write_torch

if TYPE_CHECKING:
    from asal.data.images import Split


def cached(cache_dir: Path, stem: str, key: str, build):
    """Return build()'s tensor dict, read from cache_dir/stem-key.pt when it is there."""
    target = cache_dir / f"{stem}-{key}.pt"
    if target.exists():
        try:
            return torch.load(target, weights_only=True, mmap=True)
        except (RuntimeError, OSError, EOFError):
            pass  # a damaged cache file is simply rebuilt
    value = build()
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob(f"{stem}-*.pt"):
        old.unlink(missing_ok=True)   # stale entries of the same split and size
    write_torch(target, value)
    return value


def cached_features(data_root, category: str, split: Split, name: str, body: str,
                    build) -> torch.Tensor:
    """A network's features of a split's images, computed once: cached beside the images,
    keyed by the images themselves and `body` (what the network and its inputs are)."""
    key = hashlib.sha1(split.images.numpy().tobytes() + body.encode()).hexdigest()[:16]
    stem = f"features-{name}-{hashlib.sha1(body.encode()).hexdigest()[:8]}"
    return cached(Path(data_root) / category / ".cache", stem, key,
                   lambda: {"features": build()})["features"]
