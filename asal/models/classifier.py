"""The good/defect classifier: torchvision's ResNet18 with a 2-way head, trained and
evaluated on in-memory uint8 tensors on the device, batched."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torchvision
from sklearn.metrics import (accuracy_score, average_precision_score, balanced_accuracy_score,
                             roc_auc_score)

from asal.errors import AsalError
from asal.models.networks import Normalizer, Timer, minibatches
from asal.runtime import autocast


def _imagenet_state() -> dict:
    """ImageNet weights from torchvision's cache, or downloaded into it."""
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    target = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    try:
        return weights.get_state_dict(progress=False, check_hash=False)
    except Exception as err:   # offline: URLError, socket errors, proxies ...
        raise AsalError(f"ImageNet weights for ResNet18 are neither at {target} nor "
                        f"downloadable ({type(err).__name__}); copy {Path(weights.url).name} "
                        "there, pass pretrained=<path to a state_dict>, or use "
                        "pretrained='none'.") from None


def _file_state(path: str) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise AsalError(f"Cannot load weights from {path} ({err}); give a ResNet18 "
                        "state_dict file, 'imagenet' or 'none'.") from None
    if not isinstance(state, dict):
        raise AsalError(f"{path} does not hold a state_dict; save model.state_dict().")
    return state


def build_resnet18(pretrained: str = "none") -> nn.Module:
    """ResNet18 with a 2-way head; `pretrained` is 'imagenet', 'none' or a state_dict path."""
    model = torchvision.models.resnet18(weights=None)
    if pretrained == "imagenet":
        model.load_state_dict(_imagenet_state())
    model.fc = nn.Linear(model.fc.in_features, 2)
    if pretrained not in ("imagenet", "none"):
        state = _file_state(pretrained)
        state = {k.removeprefix("module."): v for k, v in state.items()}   # DataParallel
        if state.get("fc.weight", torch.zeros(2, 1)).shape[0] != 2:      # a 1000-way head
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.startswith("fc.")]:
            raise AsalError(f"{pretrained} is not a ResNet18 state_dict (missing "
                            f"{len(missing)}, unexpected {len(unexpected)} keys).")
    return model


def train_epoch(model, optimizer, images, labels, norm: Normalizer, batch_size: int, gen,
                timer: Timer, frozen_body: bool = False) -> float:
    """One pass over the labeled images (already on the device); the mean loss.

    With a frozen body the whole network stays in eval mode, so BatchNorm keeps the
    pretrained statistics instead of those of a batch of ten.
    """
    model.train(not frozen_body)
    device = images.device
    total, count = 0.0, 0
    for idx in minibatches(len(images), batch_size, gen):
        idx = idx.to(device)
        x, y = norm(images[idx]), labels[idx]
        with timer:
            with autocast(device):
                logits = model(x)
            loss = nn.functional.cross_entropy(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        total += loss.item() * len(idx)
        count += len(idx)
    return total / max(count, 1)


@torch.no_grad()
def predict_logits(model, images, norm: Normalizer, timer: Timer,
                   batch_size: int = 256) -> torch.Tensor:
    """Logits (N, 2) as float32 on the CPU, in eval mode."""
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = norm(images[start:start + batch_size])
        with timer:
            with autocast(images.device):
                out.append(model(x).float())
    return torch.cat(out).cpu() if out else torch.zeros(0, 2)


def evaluate(logits: torch.Tensor, labels: np.ndarray, auroc_on: str = "probability") -> dict:
    """Accuracy, balanced accuracy, AUROC and average precision of class-1 predictions.

    `auroc_on="logit"` ranks by the raw class-1 logit, as the published code does.
    """
    labels = np.asarray(labels)
    pred = logits.argmax(1).numpy()
    rank = logits[:, 1] if auroc_on == "logit" else torch.softmax(logits, 1)[:, 1]
    rank = rank.numpy()
    both = len(np.unique(labels)) == 2
    return {"accuracy": float(accuracy_score(labels, pred)),
            "balanced_accuracy": float(balanced_accuracy_score(labels, pred)),
            "auroc": float(roc_auc_score(labels, rank)) if both else float("nan"),
            "ap": float(average_precision_score(labels, rank)) if both else float("nan")}
