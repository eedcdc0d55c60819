"""A frozen body's pooled features and the linear head on them: one owner of both, so the
loop, `predict` and the ONNX export compute a classifier's logit the same way.

The features of an image are the concatenation, in the order named, of ResNet18 stages'
maps averaged (`_mean`) or maximised (`_max`) over their places (asal/models/
learner_names.py: BODY_FEATURES); `layer4_mean` is what the network's own fc layer reads.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from asal.models.networks import Normalizer


class PooledFeatures(nn.Module):
    """normalised images (N, 3, H, W) -> (N, D) pooled features of a ResNet18's stages."""

    def __init__(self, resnet: nn.Module, names):
        super().__init__()
        self.resnet, self.names = resnet, tuple(names)
        self.depth = max(int(n[len("layer")]) for n in self.names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.resnet
        x = r.maxpool(r.relu(r.bn1(r.conv1(x))))
        maps = {}
        for k in range(1, self.depth + 1):
            x = getattr(r, f"layer{k}")(x)
            maps[k] = x
        parts = [maps[int(n[5])].float().mean((2, 3)) if n.endswith("_mean")
                 else maps[int(n[5])].float().amax((2, 3)) for n in self.names]
        return torch.cat(parts, 1)


@torch.no_grad()
def frozen_features(resnet: nn.Module, images: torch.Tensor, norm: Normalizer, names,
                    batch_size: int = 256) -> np.ndarray:
    """(N, D) float32 features of uint8 images, the body in eval mode."""
    resnet.eval()
    body = PooledFeatures(resnet, names)
    out = [body(norm(images[s:s + batch_size].to(norm.mean.device))).cpu()
           for s in range(0, len(images), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def head_logit(features: torch.Tensor, head: dict, evidence: torch.Tensor | None = None
               ) -> torch.Tensor:
    """The logit of p(defect): bias + weight . features (+ beta * evidence where the head
    reads the scorer's evidence), in the head's float64."""
    logit = features.double() @ head["weight"].double() + head["bias"].double()
    if "beta" in head:
        logit = logit + head["beta"].double() * evidence.double()
    return logit


def two_way(logit: torch.Tensor) -> torch.Tensor:
    """(N,) logit -> (N, 2) logits [0, logit], whose softmax is the head's probability."""
    return torch.stack([torch.zeros_like(logit), logit], 1)
