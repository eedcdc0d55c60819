"""Initial selections and queries, each in a registry; unknown names list the known ones.

An initial selection returns pool keys in order of acquisition. A query ranks candidate
images by the classifier's class probabilities and returns the positions to label.
"""

from __future__ import annotations

import zlib
from typing import Callable

import numpy as np
import torch

from asal.errors import AsalError


def _lookup(registry: dict, name: str, what: str):
    if name not in registry:
        raise AsalError(f"Unknown {what} '{name}'; use one of {sorted(registry)}.")
    return registry[name]


# ------------------------------------------------------------------- initial selections

def init_asal(batches: list[list[str]], per_batch: int, seed: int) -> list[str]:
    """The paper's pick: the first `per_batch` of every batch, interleaved
    (b0[0], b1[0], ..., b4[0], b0[1], ..., b4[1])."""
    short = [i for i, b in enumerate(batches) if len(b) < per_batch]
    if short:
        raise AsalError(f"Batch {short[0]} holds {len(batches[short[0]])} images, fewer than "
                        f"per_batch={per_batch}; use fewer batches or a smaller per_batch.")
    return [batches[b][j] for j in range(per_batch) for b in range(len(batches))]


def init_random(batches: list[list[str]], per_batch: int, seed: int) -> list[str]:
    """As many images as `asal` picks, uniformly from the whole pool, seeded.

    The generator also hashes the pool, so two categories with the same layout do not get
    the same positions for one seed.
    """
    pool = sorted(p for b in batches for p in b)       # independent of the score order
    n = per_batch * len(batches)
    rng = np.random.default_rng([seed, zlib.crc32("\n".join(pool).encode())])
    return [pool[i] for i in rng.choice(len(pool), size=n, replace=False)]


def init_top(batches: list[list[str]], per_batch: int, seed: int) -> list[str]:
    """Ablation: the highest scores only (the first per_batch * K of the ranking)."""
    ranking = [p for b in batches for p in b]
    return ranking[:per_batch * len(batches)]


INITS: dict[str, Callable] = {"asal": init_asal, "random": init_random, "top": init_top}


def initial_selection(name: str, batches, per_batch: int, seed: int) -> list[str]:
    total = sum(len(b) for b in batches)
    if per_batch * len(batches) > total:
        raise AsalError(f"The initial set of {per_batch * len(batches)} images is larger than "
                        f"the pool of {total}; lower per_batch.")
    return _lookup(INITS, name, "initial selection")(batches, per_batch, seed)


# -------------------------------------------------------------------------------- queries
# Each takes class probabilities (N, 2) and returns an uncertainty: highest is queried first.

def least_confidence(prob: torch.Tensor, gen) -> torch.Tensor:
    return 1 - prob.max(dim=1).values


def margin(prob: torch.Tensor, gen) -> torch.Tensor:
    top2 = prob.topk(2, dim=1).values
    return -(top2[:, 0] - top2[:, 1])


def entropy(prob: torch.Tensor, gen) -> torch.Tensor:
    return -(prob * prob.clamp_min(1e-12).log()).sum(dim=1)


def random_query(prob: torch.Tensor, gen) -> torch.Tensor:
    return torch.rand(len(prob), generator=gen, dtype=torch.float64)


QUERIES: dict[str, Callable] = {"least_confidence": least_confidence, "margin": margin,
                                "entropy": entropy, "random": random_query}


def query(name: str, prob: torch.Tensor, k: int, gen) -> list[int]:
    """Positions of the k most uncertain rows; ties go to the earlier row (stable)."""
    fn = _lookup(QUERIES, name, "query strategy")
    uncertainty = fn(prob.double(), gen).numpy()
    order = np.argsort(-uncertainty, kind="stable")
    return order[:k].tolist()


def check_names(init: str, query_name: str):
    _lookup(INITS, init, "initial selection")
    _lookup(QUERIES, query_name, "query strategy")
