"""Label-blind order: how ties are broken wherever images are sorted or picked.

The ASAL layout puts an image's label in its path (`<cat>/train/anomaly/<file>`), and a
pool is listed good images first. So a tie broken by path sorts the defects first, and a
tie broken by position ("the earlier row") picks good images: either way the label leaks
into a ranking that must not see it. Here every tie is broken by a seeded hash of the
file name instead (the name alone, not the folder that holds the label), then, for two
files of the same name in different folders, by a hash of the whole pool key. The hash
is pseudo-random, the same on every machine, and values without ties keep their order.

A network that trains on a pool goes through it in its own order too (minibatches of a
seeded permutation): `content_order` gives it the pool sorted by the images' content, so
that order owes nothing to how the pool was listed either.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _hash(text: str, salt: int) -> int:
    digest = hashlib.blake2b(f"{salt}\0{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def tie_break(keys, salt: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two uint64 arrays, by file name and by whole key: the secondary sort keys.

    The keys are pool keys, which are NFC already (asal/data/folders.py: pool_key)."""
    keys = [str(k) for k in keys]
    names = np.array([_hash(k.rsplit("/", 1)[-1], salt) for k in keys], dtype=np.uint64)
    whole = np.array([_hash(k, salt) for k in keys], dtype=np.uint64)
    return names, whole


def blind_order(values, keys, salt: int = 0, descending: bool = True) -> np.ndarray:
    """Positions that sort `values` (high first unless descending=False), ties label-blind."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) != len(keys):
        raise ValueError(f"{len(values)} values for {len(keys)} keys")
    names, whole = tie_break(keys, salt)
    primary = -values if descending else values
    return np.lexsort((whole, names, primary))       # the last key sorts first


def content_order(images) -> np.ndarray:
    """Positions that sort images (N, ...) uint8 by a hash of their bytes: the order a
    network trains through a pool in, the same however the pool was listed (by path,
    good images first). Identical images may come in any order: nothing tells them apart."""
    arrays = np.ascontiguousarray(np.asarray(images))
    digests = [hashlib.blake2b(a.tobytes(), digest_size=8).digest() for a in arrays]
    return np.array(sorted(range(len(digests)), key=digests.__getitem__), dtype=np.int64)
