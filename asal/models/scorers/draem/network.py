"""DRAEM (Zavrtanik et al., ICCV 2021), written from reference/draem.md.

A reconstructive autoencoder (no skips) learns to restore images with pasted anomalies;
a discriminative U-Net sees (reconstruction, input) and segments the pasted region.
Widths are parameters: the paper's are 128 (reconstructive) and 64 (discriminative).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from asal.errors import AsalError

# ----------------------------------------------------------------------------- networks

def block(cin: int, cout: int, mid: int | None = None) -> nn.Sequential:
    """Conv3x3 -> BN -> ReLU, twice (cin -> mid -> cout; mid defaults to cout)."""
    mid = mid or cout
    return nn.Sequential(
        nn.Conv2d(cin, mid, 3, padding=1), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
        nn.Conv2d(mid, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def up(cin: int, cout: int) -> nn.Sequential:
    """Bilinear x2 -> Conv3x3 -> BN -> ReLU."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
        nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Reconstructive(nn.Module):
    """Autoencoder without skips: widths w, 2w, 4w, 8w, 8w and 4 poolings, mirrored."""

    def __init__(self, width: int = 128):
        super().__init__()
        w = [width, 2 * width, 4 * width, 8 * width, 8 * width]
        self.encoder = nn.Sequential(
            block(3, w[0]), nn.MaxPool2d(2), block(w[0], w[1]), nn.MaxPool2d(2),
            block(w[1], w[2]), nn.MaxPool2d(2), block(w[2], w[3]), nn.MaxPool2d(2),
            block(w[3], w[4]))
        # Each decoder block keeps its width in the first conv and narrows in the second.
        self.decoder = nn.Sequential(
            up(w[4], w[3]), block(w[3], w[2], mid=w[3]), up(w[2], w[2]),
            block(w[2], w[1], mid=w[2]), up(w[1], w[1]), block(w[1], w[0], mid=w[1]),
            up(w[0], w[0]), block(w[0], w[0]), nn.Conv2d(w[0], 3, 3, padding=1))

    def forward(self, x):
        return self.decoder(self.encoder(x))


class Discriminative(nn.Module):
    """U-Net, 6 channels in (reconstruction, image), 2 logits out; 5 poolings."""

    def __init__(self, width: int = 64):
        super().__init__()
        w = [width, 2 * width, 4 * width, 8 * width, 8 * width, 8 * width]   # encoder
        d = [width, width, 2 * width, 4 * width, 8 * width]                  # decoder
        self.down = nn.ModuleList([block(6, w[0])] + [block(w[i], w[i + 1]) for i in range(5)])
        below = [d[i + 1] for i in range(4)] + [w[5]]
        self.ups = nn.ModuleList(up(below[i], d[i]) for i in reversed(range(5)))
        self.merge = nn.ModuleList(block(d[i] + w[i], d[i]) for i in reversed(range(5)))
        self.head = nn.Conv2d(d[0], 2, 3, padding=1)

    def forward(self, x):
        skips = []
        for i, layer in enumerate(self.down):
            x = layer(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for upsample, merge in zip(self.ups, self.merge):
            x = merge(torch.cat((upsample(x), skips.pop()), dim=1))
        return self.head(x)


def init_weights(module: nn.Module):
    """The official initialisation: conv N(0, 0.02), BN gamma N(1, 0.02), beta 0."""
    if isinstance(module, nn.Conv2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Draem(nn.Module):
    def __init__(self, recon_width: int = 128, disc_width: int = 64):
        super().__init__()
        self.reconstructive = Reconstructive(recon_width)
        self.discriminative = Discriminative(disc_width)
        self.apply(init_weights)

    def forward(self, x):
        """Reconstruction and segmentation logits of images in [0, 1]."""
        recon = self.reconstructive(x)
        return recon, self.discriminative(torch.cat((recon, x), dim=1))


def check_image_size(size: int):
    if size < 32 or size % 32:
        raise AsalError(f"image_size {size} cannot pass DRAEM's 5 poolings; use a multiple "
                        "of 32 (e.g. 64 or 256).")
