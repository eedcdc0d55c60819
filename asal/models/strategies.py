"""Initial selections and queries, each in a registry; unknown names list the known ones.

An initial selection returns pool keys in order of acquisition, as many as ASAL picks
(per_batch x the number of batches). A query ranks candidate images by the classifier's
class probabilities and returns the positions to label.

Besides ASAL's pick on the DRAEM ranking, the cold-start baselines need other views of the
pool, given lazily by a `PoolViews` (the loop builds it; tests can give their own):
`pt4al` and `asal_rotation` a rotation-loss ranking, `typiclust` and `probcover` features of
the pretrained network.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from asal.errors import AsalError
from asal.models.ranking import sort_scores, split_batches
from asal.order import blind_order

if TYPE_CHECKING:
    import torch


@dataclass
class PoolViews:
    """What the baselines select on; each is a function so only what an init needs is built."""

    keys: list[str]                                        # the pool keys, in pool order
    features: Callable[[], np.ndarray] | None = None       # (N, D), rows in `keys` order
    rotation_scores: Callable[[], pd.DataFrame] | None = None   # columns path, score


def _lookup(registry: dict, name: str, what: str):
    if name not in registry:
        raise AsalError(f"Unknown {what} '{name}'; use one of {sorted(registry)}.")
    return registry[name]


# ------------------------------------------------------------------- initial selections

def init_asal(batches: list[list[str]], per_batch: int, seed: int,
              views: PoolViews | None = None) -> list[str]:
    """The paper's pick: the first `per_batch` of every batch, interleaved
    (b0[0], b1[0], ..., b4[0], b0[1], ..., b4[1])."""
    short = [i for i, b in enumerate(batches) if len(b) < per_batch]
    if short:
        raise AsalError(f"Batch {short[0]} holds {len(batches[short[0]])} images, fewer than "
                        f"per_batch={per_batch}; use fewer batches or a smaller per_batch.")
    return [batches[b][j] for j in range(per_batch) for b in range(len(batches))]


def init_random(batches: list[list[str]], per_batch: int, seed: int,
                views: PoolViews | None = None) -> list[str]:
    """As many images as `asal` picks, uniformly from the whole pool, seeded.

    The generator also hashes the pool, so two categories with the same layout do not get
    the same positions for one seed.
    """
    pool = sorted(p for b in batches for p in b)       # independent of the score order
    n = per_batch * len(batches)
    rng = np.random.default_rng([seed, zlib.crc32("\n".join(pool).encode())])
    return [pool[i] for i in rng.choice(len(pool), size=n, replace=False)]


def init_top(batches: list[list[str]], per_batch: int, seed: int,
             views: PoolViews | None = None) -> list[str]:
    """Ablation: the highest scores only (the first per_batch * K of the ranking)."""
    ranking = [p for b in batches for p in b]
    return ranking[:per_batch * len(batches)]


def _rotation_batches(views: PoolViews | None, k: int, init: str) -> list[list[str]]:
    """The pool sorted by rotation-prediction loss (high first, as numbers), cut into k."""
    if views is None or views.rotation_scores is None:
        raise AsalError(f"init '{init}' ranks the pool by rotation loss, and no rotation "
                        "scores were given; run notebooks/00_pretext.ipynb with -p "
                        "pretext_task rotation first.")
    frame = split_batches(sort_scores(views.rotation_scores()), k)
    return [frame.path[frame.batch == b].tolist() for b in range(k)]


def init_pt4al(batches: list[list[str]], per_batch: int, seed: int,
               views: PoolViews | None = None) -> list[str]:
    """PT4AL's first set: evenly spaced picks from the top batch of the rotation-loss ranking.

    PT4AL (Yi et al., WACV 2022) sorts the pool by the loss of a rotation-prediction network,
    cuts it into batches and samples its first labels at an even stride from the first,
    hardest batch (`samples[[j * 5 for j in range(1000)]]` in its main.py).
    """
    n = per_batch * len(batches)
    top = _rotation_batches(views, len(batches), "pt4al")[0]
    if len(top) < n:
        raise AsalError(f"pt4al picks {n} images from the top batch of {len(top)}; use fewer "
                        "n_batches or a smaller per_batch.")
    return [top[i * len(top) // n] for i in range(n)]


def init_asal_rotation(batches: list[list[str]], per_batch: int, seed: int,
                       views: PoolViews | None = None) -> list[str]:
    """ASAL's pick on the rotation-loss ranking instead of DRAEM's scores."""
    return init_asal(_rotation_batches(views, len(batches), "asal_rotation"), per_batch, seed,
                     views)


def _pool_features(views: PoolViews | None, init: str, n: int) -> np.ndarray:
    if views is None or views.features is None:
        raise AsalError(f"init '{init}' selects on a pretrained network's features, and none "
                        "were given; set pretrained to self_supervised, imagenet or a weights "
                        "file.")
    if n > len(views.keys):
        raise AsalError(f"init '{init}' was asked for {n} picks, and the pool holds "
                        f"{len(views.keys)} images; lower per_batch or n_batches.")
    x = np.asarray(views.features(), dtype=np.float64)
    # unit length: ProbCover's radii (0.1 .. 2) are meant for normalised embeddings
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)


def _skactiveml_pick(strategy, x: np.ndarray, n: int, keys: list[str]) -> list[str]:
    y = np.full(len(x), np.nan)                     # nothing is labeled yet
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # ProbCover warns when it falls back
        picks = strategy.query(x, y, batch_size=n)
    return [keys[i] for i in np.asarray(picks).tolist()]


def init_typiclust(batches: list[list[str]], per_batch: int, seed: int,
                   views: PoolViews | None = None) -> list[str]:
    """TypiClust (Hacohen et al., ICML 2022) from scikit-activeml on pretrained features."""
    from skactiveml.pool import TypiClust

    n = per_batch * len(batches)
    x = _pool_features(views, "typiclust", n)
    strategy = TypiClust(random_state=seed, cluster_algo_dict={"n_init": 10})
    return _skactiveml_pick(strategy, x, n, views.keys)


def init_probcover(batches: list[list[str]], per_batch: int, seed: int,
                   views: PoolViews | None = None) -> list[str]:
    """ProbCover (Yehuda et al., NeurIPS 2022) from scikit-activeml on pretrained features."""
    from skactiveml.pool import ProbCover

    n = per_batch * len(batches)
    x = _pool_features(views, "probcover", n)
    strategy = ProbCover(n_classes=2, random_state=seed, cluster_algo_dict={"n_init": 10})
    return _skactiveml_pick(strategy, x, n, views.keys)


@dataclass(frozen=True)
class Init:
    """An initial selection: every pick has one signature, (batches, per_batch, seed,
    views), and `needs` says which of the pool's other views it selects on, so the loop
    and the workflow build only those: "rotation" (stage 00's rotation network) or
    "features" (the classifier's network)."""

    pick: Callable[..., list[str]]
    needs: frozenset[str] = frozenset()


INITS: dict[str, Init] = {
    "asal": Init(init_asal), "random": Init(init_random), "top": Init(init_top),
    "pt4al": Init(init_pt4al, frozenset({"rotation"})),
    "asal_rotation": Init(init_asal_rotation, frozenset({"rotation"})),
    "typiclust": Init(init_typiclust, frozenset({"features"})),
    "probcover": Init(init_probcover, frozenset({"features"}))}
INIT_NAMES = tuple(INITS)


def initial_selection(name: str, batches, per_batch: int, seed: int,
                      views: PoolViews | None = None) -> list[str]:
    total = sum(len(b) for b in batches)
    if per_batch * len(batches) > total:
        raise AsalError(f"The initial set of {per_batch * len(batches)} images is larger than "
                        f"the pool of {total}; lower per_batch.")
    picks = _lookup(INITS, name, "initial selection").pick(batches, per_batch, seed, views)
    if len(set(picks)) != len(picks):
        raise AsalError(f"init '{name}' picked an image twice; this is a bug, please report it.")
    return picks


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
    # torch only here: the schema imports this module for its names, and the Snakefile that
    # every SLURM job parses again should not wait 3 s for torch
    import torch

    return torch.rand(len(prob), generator=gen, dtype=torch.float64)


QUERIES: dict[str, Callable] = {"least_confidence": least_confidence, "margin": margin,
                                "entropy": entropy, "random": random_query}
QUERY_NAMES = tuple(QUERIES)


QUERY_BATCHES = ("top", "clustered")
SHORTLIST = 5          # clustered: k-means over the SHORTLIST x k most uncertain


def query(name: str, prob: torch.Tensor, k: int, gen, keys: list[str], salt: int = 0,
          batch: str = "top", features: Callable[[], np.ndarray] | None = None) -> list[int]:
    """Positions of the k rows to label, most uncertain first, ties label-blind (by the
    rows' pool `keys`: the pool lists good images first, so "the earlier row" would pick
    those). `batch="top"`: the k most uncertain. `batch="clustered"`: see clustered_pick;
    `features()` gives the rows' features."""
    fn = _lookup(QUERIES, name, "query strategy")
    order = blind_order(fn(prob.double(), gen).numpy(), keys, salt)
    if batch == "top" or k == 1:
        return order[:k].tolist()
    return clustered_pick(order, features(), k, salt)


def clustered_pick(order: np.ndarray, features: np.ndarray, k: int, seed: int) -> list[int]:
    """k picks that are not near-copies of each other: the SHORTLIST x k most uncertain rows
    (`order`: rows most uncertain first) are cut by k-means into k clusters on their
    standardised features, and each cluster gives its most uncertain row; most uncertain
    first. A person labels the round at once, so five images of one kind would teach the
    classifier about as much as one."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    shortlist = order[:SHORTLIST * k]
    if len(shortlist) <= k:
        return shortlist.tolist()
    x = StandardScaler().fit_transform(np.asarray(features, dtype=np.float64)[shortlist])
    clusters = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)
    first = {}
    for rank, cluster in enumerate(clusters):        # shortlist is most uncertain first
        first.setdefault(cluster, rank)
    picks = sorted(first.values())
    if len(picks) < k:          # k-means left a cluster empty (identical features): top up
        picks += [r for r in range(len(shortlist)) if r not in set(picks)][:k - len(picks)]
    return [int(shortlist[r]) for r in sorted(picks)]
