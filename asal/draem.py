"""DRAEM (Zavrtanik et al., ICCV 2021), written from reference/draem.md.

A reconstructive autoencoder (no skips) learns to restore images with pasted anomalies;
a discriminative U-Net sees (reconstruction, input) and segments the pasted region.
Widths are parameters: the paper's are 128 (reconstructive) and 64 (discriminative).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from asal.errors import AsalError
from asal.runtime import adam, autocast, channels_last, model_to, resume_training, save_training
from asal.synthesis import synthesize

CHECKPOINT = "draem_checkpoint.pt"
FILTER_SIZE = 21           # mean filter of the image score at 256 px (the paper's)


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


# ---------------------------------------------------------------------------------- loss

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


# ------------------------------------------------------------------------------ training

@dataclass
class FitSettings:
    epochs: int
    batch_size: int = 8
    lr: float = 1e-4
    recon_width: int = 128
    disc_width: int = 64
    seed: int = 0
    checkpoint_every: int = 10

    def fingerprint(self, n_images: int, data_key: str) -> str:
        text = json.dumps([self.__dict__, n_images, data_key], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass
class FitResult:
    model: Draem
    history: list[dict] = field(default_factory=list)   # one row of mean losses per epoch
    seconds: float = 0.0
    synthesis_seconds: float = 0.0
    resumed_from: int = 0


def _scheduler(optimizer, epochs: int):
    milestones = [int(0.8 * epochs), int(0.9 * epochs)]
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.2)


def fit(images: torch.Tensor, bank: torch.Tensor, settings: FitSettings,
        out_dir: Path, device: torch.device, data_key: str = "",
        on_epoch: Callable[[int, dict], None] | None = None,
        stop_after: int | None = None) -> FitResult:
    """Train DRAEM on uint8 images (N, 3, H, W); resume from out_dir's checkpoint if any.

    The last epoch's model is the result (no model selection). `stop_after` ends the run
    after that many epochs, as an interruption would (used by tests).
    """
    n = len(images)
    check_image_size(images.shape[-1])
    if n == 0:
        raise AsalError("The pool holds no images to train DRAEM on; check the category's "
                        "train folder (and, for train_on='normal', its good images).")
    if n < settings.batch_size:
        raise AsalError(f"DRAEM needs at least draem_batch_size={settings.batch_size} "
                        f"training images, the pool has {n}; lower draem_batch_size.")
    torch.manual_seed(settings.seed)
    model = model_to(Draem(settings.recon_width, settings.disc_width), device)
    optimizer = adam(model.parameters(), lr=settings.lr)
    scheduler = _scheduler(optimizer, settings.epochs)
    gen = torch.Generator().manual_seed(settings.seed)
    window = gaussian_window().to(device)
    result = FitResult(model)
    fingerprint = settings.fingerprint(n, data_key)

    ckpt_path = Path(out_dir) / CHECKPOINT
    start_epoch = 0
    state = resume_training(ckpt_path, fingerprint, device, model, optimizer, scheduler, gen)
    if state is not None:                            # else: none, or other settings
        torch.set_rng_state(state["torch_rng"])
        result.history = json.loads(state["history"])
        start_epoch = result.resumed_from = int(state["epoch"])

    def save_checkpoint(epoch):
        save_training(ckpt_path, fingerprint, model, optimizer, scheduler, gen,
                      torch_rng=torch.get_rng_state(), epoch=epoch,
                      history=json.dumps(result.history))

    t0 = time.perf_counter()
    model.train()
    for epoch in range(start_epoch, settings.epochs):
        sums = {"l2": 0.0, "ssim": 0.0, "focal": 0.0, "total": 0.0}
        order = torch.randperm(n, generator=gen)
        steps = math.ceil(n / settings.batch_size)
        for step in range(steps):
            idx = order[step * settings.batch_size:(step + 1) * settings.batch_size]
            x = images[idx].to(device, non_blocking=True).float() / 255
            ts = time.perf_counter()
            sample = synthesize(x, bank, gen)
            result.synthesis_seconds += time.perf_counter() - ts
            with autocast(device):
                recon, logits = model(channels_last(sample.image))
            parts = draem_loss(recon, sample.target, logits, sample.mask, window)
            optimizer.zero_grad(set_to_none=True)
            parts["total"].backward()
            optimizer.step()
            for k in sums:
                sums[k] += parts[k].item() / steps
        scheduler.step()
        row = {"epoch": epoch + 1, **sums}
        result.history.append(row)
        if on_epoch:
            on_epoch(epoch + 1, row)
        done = epoch + 1
        if done % settings.checkpoint_every == 0 or done == settings.epochs:
            save_checkpoint(done)
        if stop_after is not None and done >= stop_after:
            break
    result.seconds = time.perf_counter() - t0
    model.eval()
    return result


# ------------------------------------------------------------------------------- scoring

def image_scores(maps: torch.Tensor, filter_size: int = FILTER_SIZE) -> torch.Tensor:
    """Max of the mean-filtered anomaly map (zeros counted at the border)."""
    smooth = F.avg_pool2d(maps[:, None], filter_size, stride=1, padding=filter_size // 2,
                          count_include_pad=True)
    return smooth.flatten(1).amax(1)


@torch.no_grad()
def score(model: Draem, images: torch.Tensor, device: torch.device,
          batch_size: int = 32, keep_maps: bool = False, filter_size: int = FILTER_SIZE):
    """Image scores (N,) and, if asked, anomaly maps (N, H, W) of uint8 images."""
    model.eval()
    scores, maps = [], []
    for start in range(0, len(images), batch_size):
        x = channels_last(images[start:start + batch_size].to(device).float() / 255)
        with autocast(device):
            _, logits = model(x)
        amap = torch.softmax(logits.float(), dim=1)[:, 1]
        scores.append(image_scores(amap, filter_size).cpu())
        if keep_maps:
            maps.append(amap.cpu())
    scores = torch.cat(scores) if scores else torch.zeros(0)
    return (scores, torch.cat(maps)) if keep_maps else scores


def load_model(path, recon_width: int, disc_width: int, device) -> Draem:
    model = Draem(recon_width, disc_width)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model_to(model, device).eval()
