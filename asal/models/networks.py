"""Tensor plumbing the networks share: normalised inputs in channels_last format, shuffled
minibatches, timing of the model's passes, and a network's pooled features."""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """An input batch in channels_last format, matching model_to."""
    return x.contiguous(memory_format=torch.channels_last)


class Normalizer:
    """uint8 (N, 3, H, W) -> float, scaled to [0, 1] and normalised per channel, on device."""

    def __init__(self, mean, std, device):
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.scaled(images.float() / 255)

    def scaled(self, x: torch.Tensor) -> torch.Tensor:
        """The same for float images already in [0, 1]."""
        return channels_last((x - self.mean) / self.std)


class Timer:
    """Seconds spent in the model's forward and backward passes."""

    def __init__(self, device):
        self.device, self.seconds = device, 0.0

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.seconds += time.perf_counter() - self.start


def minibatches(n: int, batch_size: int, gen) -> list[torch.Tensor]:
    """Shuffled index batches; a last batch of one joins the one before (BatchNorm needs 2)."""
    order = torch.randperm(n, generator=gen)
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2] = torch.cat(batches[-2:])
        batches.pop()
    return batches


@torch.no_grad()
def pool_features(backbone: nn.Module, images: torch.Tensor, norm: Normalizer,
             batch_size: int = 256) -> np.ndarray:
    """Pooled 512-d features (N, 512) of uint8 images, in eval mode."""
    head, backbone.fc = backbone.fc, nn.Identity()
    backbone.eval()
    try:
        out = [backbone(norm(images[s:s + batch_size].to(norm.mean.device))).float().cpu()
               for s in range(0, len(images), batch_size)]
    finally:
        backbone.fc = head
    return torch.cat(out).numpy() if out else np.zeros((0, 512), np.float32)
