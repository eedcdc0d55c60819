"""DRAEM's training (resumable, the official schedule) and its image scores."""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from asal.errors import AsalError
from asal.models.draem import Draem, check_image_size, draem_loss, gaussian_window
from asal.models.networks import channels_last
from asal.models.synthesis import synthesize
from asal.io import resume_training, save_training
from asal.runtime import adam, autocast, model_to

CHECKPOINT = "draem_checkpoint.pt"
FILTER_SIZE = 21           # mean filter of the image score at 256 px (the paper's)


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


def _check_images(images: torch.Tensor, batch_size: int) -> None:
    check_image_size(images.shape[-1])
    if len(images) == 0:
        raise AsalError("The pool holds no images to train DRAEM on; check the category's "
                        "train folder (and, for train_on='normal', its good images).")
    if len(images) < batch_size:
        raise AsalError(f"DRAEM needs at least draem_batch_size={batch_size} training "
                        f"images, the pool has {len(images)}; lower draem_batch_size.")


def _epoch(model, optimizer, images, bank, settings: FitSettings, gen, window,
           result: FitResult, device) -> dict:
    """One pass over the images in random batches; the mean of each loss term."""
    n = len(images)
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
    return sums


def fit(images: torch.Tensor, bank: torch.Tensor, settings: FitSettings,
        out_dir: Path, device: torch.device, data_key: str = "",
        on_epoch: Callable[[int, dict], None] | None = None,
        stop_after: int | None = None) -> FitResult:
    """Train DRAEM on uint8 images (N, 3, H, W); resume from out_dir's checkpoint if any.

    The last epoch's model is the result (no model selection). `stop_after` ends the run
    after that many epochs, as an interruption would (used by tests).
    """
    _check_images(images, settings.batch_size)
    torch.manual_seed(settings.seed)
    model = model_to(Draem(settings.recon_width, settings.disc_width), device)
    optimizer = adam(model.parameters(), lr=settings.lr)
    scheduler = _scheduler(optimizer, settings.epochs)
    gen = torch.Generator().manual_seed(settings.seed)
    window = gaussian_window().to(device)
    result = FitResult(model)
    fingerprint = settings.fingerprint(len(images), data_key)
    ckpt_path = Path(out_dir) / CHECKPOINT
    start_epoch = 0
    state = resume_training(ckpt_path, fingerprint, device, model, optimizer, scheduler, gen)
    if state is not None:                            # else: none, or other settings
        torch.set_rng_state(state["torch_rng"])
        result.history = json.loads(state["history"])
        start_epoch = result.resumed_from = int(state["epoch"])
    t0 = time.perf_counter()
    model.train()
    for epoch in range(start_epoch, settings.epochs):
        sums = _epoch(model, optimizer, images, bank, settings, gen, window, result, device)
        scheduler.step()
        done = epoch + 1
        result.history.append({"epoch": done, **sums})
        if on_epoch:
            on_epoch(done, result.history[-1])
        if done % settings.checkpoint_every == 0 or done == settings.epochs:
            save_training(ckpt_path, fingerprint, model, optimizer, scheduler, gen,
                          torch_rng=torch.get_rng_state(), epoch=done,
                          history=json.dumps(result.history))
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
