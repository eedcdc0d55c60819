"""Stage 00: self-supervised pretraining of the classifier's ResNet18 on the unlabeled pool.

No labels are used. Two pretext tasks:

- `synthesis` (CutPaste-style, Li et al. 2021, with this project's DRAEM synthesis): tell
  a pool image from the same kind of image with an anomaly pasted in (asal/synthesis.py).
  Its decision is close to the downstream good/defect one, so the features it learns
  separate real defects.
- `rotation` (PT4AL's task): predict which of 0/90/180/270 degrees an image was turned.
  Its per-image loss is also PT4AL's ranking of the pool (`rotation_scores.csv`).

Writes runs/<exp>/<cat>/pretext/<task>/: backbone.pt (a ResNet18 state_dict without its
head, what `pretrained: self_supervised` loads), metrics.json (settings, time, and the
representation measured before any active learning: linear-probe and k-NN test AUROC of
the pool features, against the same network untrained), loss.csv, config.json and, for
rotation, rotation_scores.csv. Training resumes from checkpoint.pt after an interruption;
a checkpoint made with other settings is not reused.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

from asal.config import Config
from asal.data import Split, load_split, load_test
from asal.errors import AsalError
from asal.io import csv_text, exclusive, json_text, torch_bytes, write_set
from asal.learner import Normalizer, minibatches
from asal.runtime import (adam, autocast, configure, model_to, provenance, resume_training,
                          save_training)
from asal.synthesis import anomaly_source, synthesize
from asal.synthetic import ensure_synthetic

TASKS = {"synthesis": 2, "rotation": 4}        # task -> classes of its head
CHECKPOINT = "checkpoint.pt"
BACKBONE = "backbone.pt"
ROTATION_SCORES = "rotation_scores.csv"
SELF_SUPERVISED = "self_supervised"            # the `pretrained` value that loads BACKBONE
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

    def fingerprint(self, data_key: str) -> str:
        text = json.dumps([asdict(self), data_key], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def settings_of(cfg: Config, task: str | None = None) -> PretextSettings:
    task = task or cfg.pretext_task
    if task not in TASKS:
        raise AsalError(f"Unknown pretext_task '{task}'; use one of {sorted(TASKS)}.")
    epochs = cfg.synthesis_epochs if task == "synthesis" else cfg.rotation_epochs
    return PretextSettings(task, epochs, cfg.pretext_batch_size, cfg.pretext_lr,
                           cfg.pretext_seed, cfg.image_size, cfg.use_grayscale,
                           list(cfg.normalize_mean), list(cfg.normalize_std),
                           cfg.anomaly_source_dir)


def pretext_dir(cfg: Config, task: str | None = None) -> Path:
    return cfg.run_dir / "pretext" / (task or cfg.pretext_task)


def data_key(images: torch.Tensor) -> str:
    return hashlib.sha1(images.numpy().tobytes()).hexdigest()[:16]


def load_pool(cfg: Config) -> Split:
    """The pool as the classifier sees it (its image size and grayscale setting)."""
    ensure_synthetic(cfg.data_root, cfg.category)
    return load_split(cfg.data_root, cfg.category, "train", cfg.image_size, cfg.use_grayscale)


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

def train(images: torch.Tensor, settings: PretextSettings, out_dir: Path, device,
          progress: bool = True, stop_after: int | None = None) -> tuple[nn.Module, dict]:
    """Train on uint8 pool images (N, 3, H, W); resume from out_dir's checkpoint if any.

    The last epoch's network is the result. `stop_after` ends the run after that many
    epochs, as an interruption would (used by tests). Returns the network and a record
    (history, seconds, resumed_from, fingerprint).
    """
    n = len(images)
    if n < 2:
        raise AsalError(f"Self-supervised pretraining needs at least 2 pool images, the pool "
                        f"has {n}; add images to the category's train folder.")
    torch.manual_seed(settings.seed)
    model = model_to(build_network(TASKS[settings.task]), device)
    optimizer = adam(model.parameters(), lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, settings.epochs)
    gen = torch.Generator().manual_seed(settings.seed)
    norm = Normalizer(settings.normalize_mean, settings.normalize_std, device)
    bank = (anomaly_source(settings.anomaly_source_dir, settings.image_size, settings.seed,
                           device) if settings.task == "synthesis" else None)
    fingerprint = settings.fingerprint(data_key(images))
    record = {"history": [], "seconds": 0.0, "resumed_from": 0, "fingerprint": fingerprint}

    ckpt = Path(out_dir) / CHECKPOINT
    state = resume_training(ckpt, fingerprint, device, model, optimizer, scheduler, gen)
    if state is not None:                            # else: none, or other settings
        record.update(json.loads(state["record"]))
        record["resumed_from"] = len(record["history"])
    start = len(record["history"])
    bar = tqdm(total=settings.epochs, initial=start, disable=not progress, unit="epoch",
               desc=f"pretext {settings.task}")
    t0 = time.perf_counter()
    model.train()
    for epoch in range(start, settings.epochs):
        total, correct, count = 0.0, 0, 0
        for idx in minibatches(n, settings.batch_size, gen):
            x = images[idx].to(device).float() / 255
            inputs, target = pretext_batch(settings.task, x, bank, gen)
            with autocast(device):
                logits = model(norm.scaled(inputs))
            loss = F.cross_entropy(logits.float(), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(target)
            correct += int((logits.argmax(1) == target).sum())
            count += len(target)
        scheduler.step()
        record["history"].append({"epoch": epoch + 1, "loss": total / count,
                                  "accuracy": correct / count})
        record["seconds"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        save_training(ckpt, fingerprint, model, optimizer, scheduler, gen,
                      record=json.dumps(record))
        bar.update(1)
        bar.set_postfix(loss=f"{total / count:.3f}", refresh=False)
        if stop_after is not None and epoch + 1 >= stop_after:
            break
    bar.close()
    model.eval()
    return model, record


# ------------------------------------------------------------------ what it has learned

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


# -------------------------------------------------------------------------------- stage 00

def read_metrics(cfg: Config, task: str | None = None) -> dict | None:
    path = pretext_dir(cfg, task) / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def run_pretext(cfg: Config, task: str | None = None, progress: bool = True,
                stop_after: int | None = None) -> dict:
    """Train (or resume, or reuse) the pretext network of one category; its metrics."""
    settings = settings_of(cfg, task)
    out = pretext_dir(cfg, settings.task)
    with exclusive(out, f"training the {settings.task} network of {cfg.category}"):
        return _run_pretext(cfg, settings, out, progress, stop_after)


def measure(model: nn.Module, settings: PretextSettings, pool: Split, test: Split | None,
            norm: Normalizer, device) -> dict:
    """Linear-probe and 5-NN test AUROCs of the network and of the same one untrained.

    They need the pool's and the test split's labels; without them they are left out,
    with the reason in `left_out`.
    """
    if not pool.labeled or test is None:
        why = ("the pool is unlabeled (train/unlabeled/)" if not pool.labeled
               else "the category has no test split")
        return {"left_out": {"representation_quality": why}}
    quality = representation_quality(
        pool_features(model, pool.images, norm), pool.labels.numpy(),
        pool_features(model, test.images, norm), test.labels.numpy())
    torch.manual_seed(settings.seed)                # the same network, untrained
    scratch = model_to(build_network(TASKS[settings.task]), device)
    baseline = representation_quality(
        pool_features(scratch, pool.images, norm), pool.labels.numpy(),
        pool_features(scratch, test.images, norm), test.labels.numpy())
    return {**quality, **{f"scratch_{k}": v for k, v in baseline.items()}}


def _run_pretext(cfg: Config, settings: PretextSettings, out: Path, progress: bool,
                 stop_after: int | None) -> dict:
    device = configure(cfg)
    pool = load_pool(cfg)
    fingerprint = settings.fingerprint(data_key(pool.images))
    done = read_metrics(cfg, settings.task)
    if done and done.get("fingerprint") == fingerprint and (out / BACKBONE).exists():
        return done
    if done and done.get("fingerprint") != fingerprint:
        print(f"The pretext network in {out} was trained with other settings or images; "
              "training it again with these.")
    elif done:
        print(f"The weights of the pretext network in {out} are not there (they are not "
              "committed); training it again.")
    model, record = train(pool.images, settings, out, device, progress, stop_after)
    if len(record["history"]) < settings.epochs:
        return {}                                   # interrupted on purpose (tests)
    norm = Normalizer(settings.normalize_mean, settings.normalize_std, device)
    test = load_test(cfg.data_root, cfg.category, cfg.image_size, cfg.use_grayscale)
    quality = measure(model, settings, pool, test, norm, device)
    files = {}
    if settings.task == "rotation":
        losses = rotation_losses(model, pool.images, norm)
        files[ROTATION_SCORES] = csv_text(pd.DataFrame(
            {"path": pool.keys(), "score": losses, "label": pool.label_column()}))
    history = pd.DataFrame(record["history"])
    backbone = backbone_state(model)
    metrics = {"category": cfg.category, "task": settings.task, "fingerprint": fingerprint,
               "backbone_sha1": weights_digest(backbone), **quality,
               "final_loss": float(history.loss.iloc[-1]),
               "final_pretext_accuracy": float(history.accuracy.iloc[-1]),
               "train_images": len(pool), "train_seconds": round(record["seconds"], 2),
               "resumed_from_epoch": record["resumed_from"], "settings": asdict(settings),
               **provenance(device)}
    files.update({"loss.csv": csv_text(history), BACKBONE: torch_bytes(backbone),
                  "config.json": json_text({**dict(cfg), **provenance(device)}),
                  "metrics.json": json_text(metrics)})
    # one set; the training checkpoint goes with it, since the backbone holds the result now
    write_set(out, files, remove=[CHECKPOINT])
    return metrics


def backbone_path(cfg: Config) -> Path:
    """The backbone `pretrained: self_supervised` loads; trained first when it is absent.

    One trained with other settings or on other images is refused with a message, not
    reused: its weights would silently change every run that starts from it.
    """
    settings = settings_of(cfg)
    out = pretext_dir(cfg)
    done = read_metrics(cfg)
    if done is None or not (out / BACKBONE).exists():
        print(f"No pretext network for {cfg.category} yet; training it "
              f"({settings.task}, {settings.epochs} epochs) in {out}.")
        run_pretext(cfg)
        return out / BACKBONE
    fingerprint = settings.fingerprint(data_key(load_pool(cfg).images))
    if done.get("fingerprint") != fingerprint:
        raise AsalError(f"The pretext network in {out} was trained with other settings or "
                        "images than this run's; run notebooks/00_pretext.ipynb with this "
                        f"run's parameters (-p category {cfg.category}) to retrain it.")
    return out / BACKBONE
