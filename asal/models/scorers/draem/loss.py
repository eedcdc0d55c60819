"""DRAEM's loss: L2 and SSIM of the reconstruction, focal loss of the segmentation."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(a: torch.Tensor, b: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of two image batches in [0, 1], per channel, Gaussian 11x11 window."""
    c = a.shape[1]
    w = window.to(a)[None, None].expand(c, 1, *window.shape)
    pad = window.shape[-1] // 2

    def filt(x):
        return F.conv2d(x, w, padding=pad, groups=c)

    mu_a, mu_b = filt(a), filt(b)
    var_a = filt(a * a) - mu_a ** 2
    var_b = filt(b * b) - mu_b ** 2
    cov = filt(a * b) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) *
                                                     (var_a + var_b + c2))
    return s.mean()


def focal_loss(logits: torch.Tensor, mask: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Focal loss on softmax probabilities against a binary mask (B, 1, H, W)."""
    prob = torch.softmax(logits.float(), dim=1)
    pt = prob.gather(1, mask.long()).clamp_min(1e-6)
    return (-(1 - pt) ** gamma * torch.log(pt)).mean()


def draem_loss(recon, target, logits, mask, window) -> dict[str, torch.Tensor]:
    recon = recon.float()
    parts = {"l2": F.mse_loss(recon, target), "ssim": 1 - ssim(recon, target, window),
             "focal": focal_loss(logits, mask)}
    parts["total"] = parts["l2"] + parts["ssim"] + parts["focal"]
    return parts
