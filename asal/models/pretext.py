"""Self-supervised pretraining of the classifier's ResNet18 on an unlabeled pool.

No labels are used. Two pretext tasks:

- `synthesis` (CutPaste-style, Li et al. 2021, with this project's DRAEM synthesis): tell
  a pool image from the same kind of image with an anomaly pasted in. Its decision is
  close to the downstream good/defect one, so the features it learns separate defects.
- `rotation` (PT4AL's task): predict which of 0/90/180/270 degrees an image was turned.
  Its per-image loss is also PT4AL's ranking of the pool.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from asal.errors import AsalError
from asal.models.networks import Normalizer, minibatches
from asal.models.scorers.draem.synthesis import synthesize
from asal.models.training import Training, train_resumably
from asal.order import content_order
from asal.progress import Progress
from asal.runtime import adam, autocast, model_to

TASKS = {"synthesis": 2, "rotation": 4}        # task -> classes of its head
CHECKPOINT = "checkpoint.pt"
KNN_K = 5


@dataclass
class PretextSettings:
    """Everything that changes the trained weights; its fingerprint keys the cache."""

    task: str
    epochs: int
    batch_size: int
    lr: float
    seed: int
    image_size: int
    grayscale: bool
    normalize_mean: list
    normalize_std: list
    anomaly_source_dir: str | None

    @classmethod
    def of(cls, cfg, task: str | None = None) -> PretextSettings:
        """The settings a run's parameters give for one task (its pretext_task by default)."""
        task = task or cfg.pretext_task
        if task not in TASKS:
            raise AsalError(f"Unknown pretext_task '{task}'; use one of {sorted(TASKS)}.")
        epochs = cfg.synthesis_epochs if task == "synthesis" else cfg.rotation_epochs
        return cls(task, epochs, cfg.pretext_batch_size, cfg.pretext_lr, cfg.pretext_seed,
                   cfg.image_size, cfg.use_grayscale, list(cfg.normalize_mean),
                   list(cfg.normalize_std), cfg.anomaly_source_dir)

    def fingerprint(self, images: torch.Tensor) -> str:
        """Settings and pool images: equal only for the same training."""
        text = json.dumps([asdict(self), data_key(images)], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def data_key(images: torch.Tensor) -> str:
    """The pool's images, whatever their order (asal/order.py: content_order)."""
    return hashlib.sha1(images[torch.from_numpy(content_order(images))].numpy()
                        .tobytes()).hexdigest()[:16]


# ------------------------------------------------------------------------------- network

def build_network(classes: int) -> nn.Module:
    """torchvision's ResNet18 with a `classes`-way head, as the classifier uses it."""
    import torchvision

    model = torchvision.models.resnet18(weights=None)
    model.fc = nn.Linear(model.fc.in_features, classes)
    return model


def weights_digest(state: dict) -> str:
    """A fingerprint of the weights themselves: equal only for bit-identical networks (the
    same settings on other CPU kernels train another network)."""
    h = hashlib.sha1()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def backbone_state(model: nn.Module) -> dict:
    """The weights without the head: the classifier gets its own 2-way head."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()
            if not k.startswith("fc.")}


# --------------------------------------------------------------------------- the batches

def rotations(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image in its 4 rotations (k * 90 degrees), and k as the target."""
    turned = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])
    target = torch.arange(4).repeat_interleave(len(x))
    return turned, target.to(x.device)


def pretext_batch(task: str, x: torch.Tensor, bank: torch.Tensor | None, gen):
    """Inputs in [0, 1] and targets of one training batch from pool images in [0, 1]."""
    if task == "rotation":
        return rotations(x)
    sample = synthesize(x, bank, gen)
    return sample.image, sample.label.to(x.device)


# ------------------------------------------------------------------------------ training

def _epoch(t: Training, images, settings: PretextSettings, norm: Normalizer,
           bank: torch.Tensor | None, device) -> dict:
    """One pass over the pool; its mean loss and pretext accuracy."""
    total, correct, count = 0.0, 0, 0
    for idx in minibatches(len(images), settings.batch_size, t.gen):
        x = images[idx].to(device).float() / 255
        inputs, target = pretext_batch(settings.task, x, bank, t.gen)
        with autocast(device):
            logits = t.model(norm.scaled(inputs))
        loss = F.cross_entropy(logits.float(), target)
        t.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t.optimizer.step()
        total += loss.item() * len(target)
        correct += int((logits.argmax(1) == target).sum())
        count += len(target)
    return {"loss": total / count, "accuracy": correct / count}


def train(images: torch.Tensor, settings: PretextSettings, bank: torch.Tensor | None,
          out_dir: Path, device, progress: bool = True,
          stop_after: int | None = None, name: str = "") -> tuple[nn.Module, dict]:
    """Train on uint8 pool images (N, 3, H, W); resume from out_dir's checkpoint if any
    (asal/models/training.py, the loop DRAEM trains with too).

    `bank` is the anomaly source of the synthesis task. The last epoch's network is the
    result. `stop_after` ends the run after that many epochs, as an interruption would
    (used by tests). Returns the network and a record (history, seconds, resumed_from,
    fingerprint).
    """
    if len(images) < 2:
        raise AsalError(f"Self-supervised pretraining needs at least 2 pool images, the pool "
                        f"has {len(images)}; add images to the category's train folder.")
    images = images[torch.from_numpy(content_order(images))]   # the listing plays no part
    torch.manual_seed(settings.seed)
    model = model_to(build_network(TASKS[settings.task]), device)
    optimizer = adam(model.parameters(), lr=settings.lr)
    t = Training(model, optimizer,
                 torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, settings.epochs),
                 torch.Generator().manual_seed(settings.seed))
    norm = Normalizer(settings.normalize_mean, settings.normalize_std, device)
    fingerprint = settings.fingerprint(images)
    bar = Progress(f"pretext {settings.task} {name}".rstrip(), settings.epochs, "epoch",
                   start=None, enabled=progress)     # name: the category, in the line
    record = train_resumably(t, settings.epochs,
                             lambda: _epoch(t, images, settings, norm, bank, device),
                             Path(out_dir) / CHECKPOINT, fingerprint,
                             on_epoch=lambda epoch, row: bar.update(epoch, loss=row["loss"]),
                             stop_after=stop_after)
    return model, {"history": record.history, "seconds": record.seconds,
                   "resumed_from": record.resumed_from, "fingerprint": fingerprint}


# ------------------------------------------------------------------ what it has learned

@torch.no_grad()
def rotation_losses(model: nn.Module, images: torch.Tensor, norm: Normalizer,
                    batch_size: int = 64) -> np.ndarray:
    """PT4AL's score: each image's rotation-prediction loss, the mean over its 4 copies."""
    model.eval()
    out = []
    for s in range(0, len(images), batch_size):
        x = images[s:s + batch_size].to(norm.mean.device).float() / 255
        inputs, target = rotations(x)
        loss = F.cross_entropy(model(norm.scaled(inputs)).float(), target, reduction="none")
        out.append(loss.view(4, -1).mean(0).cpu())
    return torch.cat(out).double().numpy()


def representation_quality(pool_x: np.ndarray, pool_y, test_x: np.ndarray, test_y) -> dict:
    """Test AUROC of a linear probe and of a k-NN vote, both fitted on the labeled pool.

    A measurement only: the active-learning loop never sees these labels.
    """
    if len(np.unique(pool_y)) < 2 or len(np.unique(test_y)) < 2:
        return {"linear_probe_auroc": None, "knn_auroc": None}
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
    probe.fit(pool_x, pool_y)
    knn = KNeighborsClassifier(KNN_K, metric="cosine").fit(pool_x, pool_y)
    return {"linear_probe_auroc": float(roc_auc_score(test_y, probe.predict_proba(test_x)[:, 1])),
            "knn_auroc": float(roc_auc_score(test_y, knn.predict_proba(test_x)[:, 1]))}
