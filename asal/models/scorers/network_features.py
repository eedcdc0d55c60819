"""The network the features and patches scorers look through: torchvision's ResNet18, as
the classifier builds it (asal/models/resnet.py), untrained with the scorer's seed or
loaded from a weights file (a pretext network's backbone.pt), in eval mode and frozen.
Nothing is downloaded and nothing is trained.

Each image is normalised with the project's mean and spread, then by its own (instance
normalisation: every channel z-scored over the image), so that a brighter or dimmer part,
or another tint, is not an anomaly; on the pools this was the largest single gain of the
weight-free scorers (docs/scorers.md). At 64 px the maps are layer1 64 x 16 x 16, layer2
128 x 8 x 8, layer3 256 x 4 x 4 and layer4 512 x 2 x 2; only the layers up to the deepest
one asked for are run.
"""

from __future__ import annotations

import numpy as np
import torch

from asal.models.networks import Normalizer
from asal.models.resnet import build_resnet18

LAYERS = ("layer1", "layer2", "layer3", "layer4")
BATCH = 128


def body(seed: int, weights: str = "none") -> torch.nn.Module:
    """The seed's untrained ResNet18 (the same as the classifier's random body of that
    seed), or one loaded from a state_dict file; eval mode, on the CPU."""
    torch.manual_seed(seed)
    return build_resnet18(weights).eval()


@torch.no_grad()
def feature_maps(network: torch.nn.Module, images: torch.Tensor, layers, mean,
                 std) -> dict[str, torch.Tensor]:
    """The network's maps at `layers` of uint8 images (N, 3, H, W), float32 on the CPU."""
    norm = Normalizer(mean, std, torch.device("cpu"))
    deepest = max(LAYERS.index(name) for name in layers)
    out = {name: [] for name in layers}
    for start in range(0, len(images), BATCH):
        x = norm(images[start:start + BATCH]).contiguous()
        x = (x - x.mean((2, 3), keepdim=True)) / (x.std((2, 3), keepdim=True) + 1e-3)
        h = network.maxpool(network.relu(network.bn1(network.conv1(x))))
        for name in LAYERS[:deepest + 1]:
            h = getattr(network, name)(h)
            if name in out:
                out[name].append(h.float().contiguous())
    return {name: torch.cat(maps) for name, maps in out.items()}


def robust_z(scores: np.ndarray, centre: float | None = None,
             spread: float | None = None) -> np.ndarray:
    """(s - median) / (1.4826 x MAD), with the pool's median and MAD unless given: scores
    on a common scale that a minority of anomalies cannot move."""
    s = np.asarray(scores, dtype=np.float64)
    centre, spread = robust_scale(s) if centre is None else (centre, spread)
    return (s - centre) / spread


def robust_scale(scores: np.ndarray) -> tuple[float, float]:
    """The median and 1.4826 x MAD of a pool's scores (the sd where the MAD is 0)."""
    s = np.asarray(scores, dtype=np.float64)
    centre = float(np.median(s))
    spread = float(np.median(np.abs(s - centre)) * 1.4826)
    return centre, spread if spread > 0 else float(np.std(s) + 1e-12)


def standardiser(x: np.ndarray, widths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The pool's per-column mean and scale: z-scores, each layer's block weighted by
    1/sqrt(its width) so that every layer counts alike in a distance."""
    mean, sd = x.mean(0), x.std(0)
    sd = np.where(sd > 1e-8, sd, 1.0)
    weight = np.concatenate([np.full(w, 1 / np.sqrt(w)) for w in widths])
    return mean, sd / weight


def knn_distances(queries: np.ndarray, reference: np.ndarray, k: int,
                  exclude_self: bool, chunk: int = 1024) -> np.ndarray:
    """(N, k) Euclidean distances of each query row to its k nearest reference rows; with
    exclude_self, query i is reference i and never its own neighbour. Chunked: memory is
    O(chunk x M), 40 MB a step for 10,000 references; float64 throughout."""
    q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float64))
    r = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float64))
    rn = (r * r).sum(1)
    out = np.empty((len(q), k))
    for start in range(0, len(q), chunk):
        a = q[start:start + chunk]
        d2 = (a * a).sum(1, keepdim=True) + rn[None] - 2.0 * a @ r.T
        if exclude_self:
            rows = torch.arange(len(a))
            d2[rows, rows + start] = float("inf")
        out[start:start + len(a)] = d2.clamp_min_(0).topk(k, 1, largest=False).values \
            .sqrt().numpy()
    return out
