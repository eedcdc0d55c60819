"""DRAEM's training-data synthesis, batched in torch on the training device.

Per sample (reference/draem.md): with probability 0.3 the clean image is first rotated
by up to +-90 degrees (the rotated image is the reconstruction target); with probability
0.5 the sample stays clean; otherwise a Perlin-noise mask (scales 2^0..2^5 per axis,
rotated, thresholded at 0.5) cuts a patch out of an anomaly source image that went
through 3 of 10 augmentations, blended in with a random opacity.

All random numbers come from one CPU `torch.Generator`, so a seed gives the same samples
on any device and a saved generator state resumes the exact sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

CLEAN_PROB = 0.5
ROTATE_PROB = 0.3
MAX_SCALE_EXP = 5          # Perlin cells per axis: 2^0 .. 2^5
THRESHOLD = 0.5
BLEND_BETA_MAX = 0.8       # official code: beta = 0.8 * U(0, 1), source opacity (0.2, 1]


def _uniform(gen, lo, hi, n=()):
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def perlin_noise(size: int, res_y: int, res_x: int, gen, device) -> torch.Tensor:
    """One octave of 2-D Perlin noise (size, size) with res_y x res_x cells."""
    angles = 2 * math.pi * torch.rand(res_y + 1, res_x + 1, generator=gen).to(device)
    grads = torch.stack((torch.cos(angles), torch.sin(angles)), dim=-1)
    # Position of every pixel in cell units: integer cell and fraction inside it.
    ys = torch.arange(size, device=device, dtype=torch.float32) * res_y / size
    xs = torch.arange(size, device=device, dtype=torch.float32) * res_x / size
    cy, cx = ys.long(), xs.long()
    fy, fx = (ys - cy)[:, None], (xs - cx)[None, :]

    def corner(dy, dx):
        g = grads[(cy + dy)[:, None], (cx + dx)[None, :]]          # (size, size, 2)
        return g[..., 0] * (fy - dy) + g[..., 1] * (fx - dx)

    def fade(t):
        return 6 * t ** 5 - 15 * t ** 4 + 10 * t ** 3

    uy, ux = fade(fy), fade(fx)
    top = torch.lerp(corner(0, 0), corner(0, 1), ux)
    bottom = torch.lerp(corner(1, 0), corner(1, 1), ux)
    return math.sqrt(2) * torch.lerp(top, bottom, uy)


def rotate_batch(x: torch.Tensor, degrees: torch.Tensor, mode="bilinear") -> torch.Tensor:
    """Rotate each image of (B, C, H, W) by its own angle, zero fill outside."""
    rad = degrees.to(x.device, torch.float32) * math.pi / 180
    cos, sin = torch.cos(rad), torch.sin(rad)
    zero = torch.zeros_like(cos)
    theta = torch.stack((torch.stack((cos, -sin, zero), 1),
                         torch.stack((sin, cos, zero), 1)), 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid.to(x.dtype), mode=mode, padding_mode="zeros",
                         align_corners=False)


def perlin_masks(n: int, size: int, gen, device) -> torch.Tensor:
    """n binary masks (n, 1, size, size): rotated Perlin noise above the threshold."""
    exps = torch.randint(0, MAX_SCALE_EXP + 1, (n, 2), generator=gen)
    noise = torch.stack([perlin_noise(size, 2 ** int(ey), 2 ** int(ex), gen, device)
                         for ey, ex in exps])[:, None]
    noise = rotate_batch(noise, _uniform(gen, -90, 90, n))
    return (noise > THRESHOLD).float()


# --- the ten augmentations of the anomaly source (torchvision equivalents of imgaug's) ---

def _to_uint8(img):
    return (img * 255).round().clamp(0, 255).to(torch.uint8)


AUGMENTATIONS = (
    ("gamma", lambda img, g: TF.adjust_gamma(img, float(_uniform(g, 0.5, 2.0)))),
    ("brightness", lambda img, g: (img * float(_uniform(g, 0.8, 1.2))
                                   + float(_uniform(g, -30, 30)) / 255).clamp(0, 1)),
    ("sharpness", lambda img, g: TF.adjust_sharpness(img, float(_uniform(g, 0.0, 3.0)))),
    ("hue_saturation", lambda img, g: TF.adjust_saturation(
        TF.adjust_hue(img, float(_uniform(g, -50, 50)) / 360), float(_uniform(g, 0.5, 1.5)))),
    ("solarize", lambda img, g: TF.solarize(img, float(_uniform(g, 32, 128)) / 255)),
    ("posterize", lambda img, g: TF.posterize(
        _to_uint8(img), int(torch.randint(1, 8, (), generator=g))).float() / 255),
    ("invert", lambda img, g: TF.invert(img)),
    ("autocontrast", lambda img, g: TF.autocontrast(img)),
    ("equalize", lambda img, g: TF.equalize(_to_uint8(img)).float() / 255),
    ("rotate", lambda img, g: TF.rotate(img, float(_uniform(g, -45, 45)))),
)


def augment_source(img: torch.Tensor, gen) -> torch.Tensor:
    """Apply 3 of the 10 augmentations, chosen without replacement, to one (3, H, W)."""
    for k in torch.randperm(len(AUGMENTATIONS), generator=gen)[:3].tolist():
        img = AUGMENTATIONS[k][1](img, gen)
    return img


# --- anomaly sources: a folder of images (DTD) or built-in procedural textures ---

def procedural_textures(n: int, size: int, gen, device) -> torch.Tensor:
    """n textures (n, 3, size, size) uint8: noise, stripes, blobs and checks in random colours.

    Stands in for DTD, which cannot be downloaded here; results that use it say so.
    """
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size, device=device),
                            torch.linspace(0, 1, size, device=device), indexing="ij")
    out = []
    for i in range(n):
        c1, c2 = torch.rand(2, 3, 1, 1, generator=gen).to(device)
        kind = i % 4
        if kind == 0:      # multi-octave noise
            t = sum(perlin_noise(size, 2 ** k, 2 ** k, gen, device) / 2 ** (k - 1)
                    for k in range(1, 5))
        elif kind == 1:    # stripes at a random angle and frequency
            a, f = float(_uniform(gen, 0, math.pi)), float(_uniform(gen, 3, 20))
            t = torch.sin(2 * math.pi * f * (xx * math.cos(a) + yy * math.sin(a)))
        elif kind == 2:    # blobs
            res = 2 ** int(torch.randint(1, 4, (), generator=gen))
            t = (perlin_noise(size, res, res, gen, device) > 0).float() * 2 - 1
        else:              # checks
            f = float(_uniform(gen, 2, 12))
            t = torch.sign(torch.sin(2 * math.pi * f * xx) * torch.sin(2 * math.pi * f * yy))
        t = (t - t.min()) / (t.max() - t.min() + 1e-8)
        out.append(c1 * t + c2 * (1 - t))
    return _to_uint8(torch.stack(out).clamp(0, 1))


@dataclass
class Synthesized:
    image: torch.Tensor      # (B, 3, H, W) the network input, anomalies pasted in
    target: torch.Tensor     # (B, 3, H, W) the clean image to reconstruct
    mask: torch.Tensor       # (B, 1, H, W) 1 where an anomaly was pasted
    label: torch.Tensor      # (B,) 1 when the mask is not empty


def blend(image, source, mask, beta):
    """Inside the mask: (1 - beta) * source + beta * image; outside: the image unchanged."""
    beta = beta.view(-1, 1, 1, 1)
    return image * (1 - mask) + ((1 - beta) * source + beta * image) * mask


def synthesize(images: torch.Tensor, bank: torch.Tensor, gen) -> Synthesized:
    """Training samples from clean images (B, 3, H, W) in [0, 1] on the device."""
    b, _, h, w = images.shape
    device = images.device
    rotate = torch.rand(b, generator=gen) < ROTATE_PROB
    degrees = torch.where(rotate, _uniform(gen, -90, 90, b), torch.zeros(b))
    target = rotate_batch(images, degrees) if rotate.any() else images

    anomalous = torch.rand(b, generator=gen) >= CLEAN_PROB
    mask = torch.zeros(b, 1, h, w, device=device)
    source = torch.zeros_like(images)
    idx = anomalous.nonzero().flatten().tolist()
    if idx:
        mask[idx] = perlin_masks(len(idx), h, gen, device)
        picks = torch.randint(0, len(bank), (len(idx),), generator=gen).tolist()
        source[idx] = torch.stack([augment_source(bank[p].float() / 255, gen) for p in picks])
    beta = _uniform(gen, 0, BLEND_BETA_MAX, b).to(device, images.dtype)
    image = blend(target, source, mask, beta)
    label = (mask.flatten(1).amax(1) > 0).long()
    return Synthesized(image, target, mask, label)
