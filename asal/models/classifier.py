"""The good/defect classifier: torchvision's ResNet18 with a 2-way head, trained and
evaluated on in-memory uint8 tensors on the device, batched."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from sklearn.metrics import (accuracy_score, average_precision_score, balanced_accuracy_score,
                             roc_auc_score)

from asal.models.networks import Normalizer, Timer, minibatches
from asal.runtime import autocast


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


def evaluate(logits: torch.Tensor, labels: np.ndarray, auroc_on: str = "probability",
             threshold: float | None = None) -> dict:
    """Accuracy, balanced accuracy, AUROC and average precision of class-1 predictions.

    The predicted class is p(defect) >= `threshold` (the classifier's own, chosen without
    the test split), or the argmax where none is given. `auroc_on="logit"` ranks by the
    raw class-1 logit, as the published code does.
    """
    labels = np.asarray(labels)
    p = torch.softmax(logits.double(), 1)[:, 1].numpy()
    pred = logits.argmax(1).numpy() if threshold is None else (p >= threshold).astype(int)
    rank = logits[:, 1].numpy() if auroc_on == "logit" else p
    both = len(np.unique(labels)) == 2
    return {"accuracy": float(accuracy_score(labels, pred)),
            "balanced_accuracy": float(balanced_accuracy_score(labels, pred)),
            "auroc": float(roc_auc_score(labels, rank)) if both else float("nan"),
            "ap": float(average_precision_score(labels, rank)) if both else float("nan")}
