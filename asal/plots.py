"""Figures the notebooks show: small functions that take data and return a Figure."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from asal import style
from asal.io import write_bytes


def _rgb(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) uint8 or float tensor to an (H, W, 3) array for imshow."""
    arr = image.detach().cpu().float()
    if arr.max() > 1.5:
        arr = arr / 255
    return arr.clamp(0, 1).permute(1, 2, 0).numpy()


def loss_curve(history: pd.DataFrame, title: str = "DRAEM training loss"):
    fig, ax = plt.subplots(figsize=(5, 3))
    long = history.melt("epoch", ["l2", "ssim", "focal", "total"], "term", "loss")
    sns.lineplot(long, x="epoch", y="loss", hue="term", ax=ax)
    ax.set_yscale("log")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def pretext_curve(history: pd.DataFrame, title: str = "pretext training"):
    """Loss and accuracy of the pretext task per epoch (loss.csv of stage 00)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(7, 2.8))
    sns.lineplot(history, x="epoch", y="loss", ax=a)
    sns.lineplot(history, x="epoch", y="accuracy", ax=b)
    b.set_ylim(0, 1)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def synthesized_samples(sample, n: int = 6):
    """Rows: the network input with its pasted anomaly, the target, the mask."""
    n = min(n, len(sample.image))
    fig, axes = plt.subplots(3, n, figsize=(1.5 * n, 4.6), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(_rgb(sample.image[i]))
        axes[1, i].imshow(_rgb(sample.target[i]))
        axes[2, i].imshow(sample.mask[i, 0].cpu(), cmap="gray", vmin=0, vmax=1)
    for row, name in enumerate(("input", "target", "mask")):
        axes[row, 0].set_ylabel(name)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("synthesised training samples")
    fig.tight_layout()
    return fig


def score_bars(ax, scores: pd.DataFrame, bins: int, legend: bool = True):
    """A score histogram stacked by true label; one grey one for an unlabeled pool."""
    if scores.label.isna().all():
        sns.histplot(scores, x="score", bins=bins, ax=ax, color="grey")
        return
    frame = scores.assign(truth=scores.label.map(style.CLASS_WORDS))
    sns.histplot(frame, x="score", hue="truth", palette=style.CLASS_COLOURS, bins=bins, ax=ax,
                 multiple="stack", hue_order=[style.GOOD, style.DEFECT], legend=legend)


def score_histogram(scores: pd.DataFrame, boundaries=None, title: str = "pool scores"):
    """Score distribution by true label; optional vertical lines at batch boundaries."""
    fig, ax = plt.subplots(figsize=(5.5, 3))
    score_bars(ax, scores, bins=30)
    for b in boundaries or []:
        ax.axvline(b, color="black", lw=0.8, ls="--")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def image_grid(images, titles, ncols: int = 6, title: str = ""):
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols, 1.8 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, t in zip(axes.flat, images, titles):
        ax.imshow(_rgb(img))
        ax.set_title(t, fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def save(fig, path, dpi: int = 90):
    """Save a figure as PNG (and PDF when the path asks for it), folders included."""
    path = Path(path)
    # no creation date in the file, so a rebuild with equal content changes no bytes
    metadata = {"CreationDate": None} if path.suffix == ".pdf" else {}
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix[1:], dpi=dpi, bbox_inches="tight",
                metadata=metadata)
    write_bytes(path, buffer.getvalue())        # whole or not at all
    return path


def batch_cuts(batches: pd.DataFrame) -> list[float]:
    """Scores where one batch ends and the next begins (between their edge scores)."""
    if "score" not in batches or batches.score.isna().all():
        return []
    return [(batches.score[batches.batch == b].min()
             + batches.score[batches.batch == b + 1].max()) / 2
            for b in range(int(batches.batch.max()))]


def anomaly_share_by_batch(batches: pd.DataFrame, title: str = ""):
    share = batches.groupby("batch").label.agg(["mean", "sum", "count"]).reset_index()
    fig, ax = plt.subplots(figsize=(4.5, 2.8))
    sns.barplot(share, x="batch", y="mean", color=style.CLASS_COLOURS[style.DEFECT], ax=ax)
    for i, row in share.iterrows():
        ax.text(i, row["mean"] + 0.01, f"{int(row['sum'])}/{int(row['count'])}",
                ha="center", fontsize=8)
    ax.set_ylabel(f"share of {style.DEFECT}s")
    ax.set_ylim(0, 1.1)
    ax.set_title(title or f"{style.DEFECT}s per batch (batch 0 = highest scores)")
    fig.tight_layout()
    return fig


def learning_curves(cycles: pd.DataFrame, title: str = ""):
    """Test AUROC, accuracy and balanced accuracy against the number of labels."""
    metrics = {"auroc": "test AUROC", "accuracy": "test accuracy",
               "balanced_accuracy": "test balanced accuracy"}
    long = cycles.rename(columns=metrics).melt("n_labels", list(metrics.values()), "metric",
                                               "value")
    fig, ax = plt.subplots(figsize=(5, 3))
    sns.lineplot(long, x="n_labels", y="value", hue="metric", marker="o", ax=ax)
    ax.set_xlabel("labeled images")
    ax.set_ylabel("on the test split")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def anomalies_per_cycle(cycles: pd.DataFrame, title: str = ""):
    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.bar(cycles.n_labels, cycles.n_anomalies, color=style.CLASS_COLOURS[style.DEFECT],
           label=f"{style.DEFECT}s")
    ax.bar(cycles.n_labels, cycles.n_labels - cycles.n_anomalies,
           bottom=cycles.n_anomalies, color=style.CLASS_COLOURS[style.GOOD], label=style.GOOD)
    ax.set_xlabel("labeled images")
    ax.set_ylabel("in the labeled set")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def save_figure(fig, folder: Path, name: str, dpi: int = 90):
    """PNG for notebooks and PDF for papers."""
    save(fig, folder / f"{name}.png", dpi=dpi)
    save(fig, folder / f"{name}.pdf")
