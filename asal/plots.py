"""Figures the notebooks show: small functions that take data and return a Figure."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from asal.io import write_bytes

LABEL_NAMES = {0: "good", 1: "anomaly"}
PALETTE = {"good": "#4C72B0", "anomaly": "#C44E52"}


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
    frame = scores.assign(truth=scores.label.map(LABEL_NAMES))
    sns.histplot(frame, x="score", hue="truth", palette=PALETTE, bins=bins, ax=ax,
                 multiple="stack", hue_order=["good", "anomaly"], legend=legend)


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


def batch_boundaries(batches: pd.DataFrame) -> list[float]:
    """Scores where one batch ends and the next begins (between their edge scores)."""
    if "score" not in batches or batches.score.isna().all():
        return []
    edges = []
    for b in range(int(batches.batch.max())):
        low = batches.score[batches.batch == b].min()
        high = batches.score[batches.batch == b + 1].max()
        edges.append((low + high) / 2)
    return edges


def anomaly_share_by_batch(batches: pd.DataFrame, title: str = ""):
    share = batches.groupby("batch").label.agg(["mean", "sum", "count"]).reset_index()
    fig, ax = plt.subplots(figsize=(4.5, 2.8))
    sns.barplot(share, x="batch", y="mean", color=PALETTE["anomaly"], ax=ax)
    for i, row in share.iterrows():
        ax.text(i, row["mean"] + 0.01, f"{int(row['sum'])}/{int(row['count'])}",
                ha="center", fontsize=8)
    ax.set_ylabel("share of anomalies")
    ax.set_ylim(0, 1.1)
    ax.set_title(title or "anomalies per batch (batch 0 = highest scores)")
    fig.tight_layout()
    return fig


def learning_curves(cycles: pd.DataFrame, title: str = ""):
    """AUROC, accuracy and balanced accuracy against the number of labels."""
    metrics = ["auroc", "accuracy", "balanced_accuracy"]
    long = cycles.melt("n_labels", metrics, "metric", "value")
    fig, ax = plt.subplots(figsize=(5, 3))
    sns.lineplot(long, x="n_labels", y="value", hue="metric", marker="o", ax=ax)
    ax.set_xlabel("labeled images")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def anomalies_per_cycle(cycles: pd.DataFrame, title: str = ""):
    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.bar(cycles.n_labels, cycles.n_anomalies, color=PALETTE["anomaly"], label="anomalies")
    ax.bar(cycles.n_labels, cycles.n_labels - cycles.n_anomalies,
           bottom=cycles.n_anomalies, color=PALETTE["good"], label="good")
    ax.set_xlabel("labeled images")
    ax.set_ylabel("in the labeled set")
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------- 04: the experiment

def plot_learning_curves(cycles: pd.DataFrame, ceiling: dict | None = None,
                         metric: str = "auroc"):
    """One panel per category: mean over seeds with a standard-deviation band, per init
    (dashed: another query), and the supervised ceiling where there is one."""
    several = cycles["query"].nunique() > 1 if "query" in cycles else False
    grid = sns.relplot(cycles, x="n_labels", y=metric, hue="init", col="category",
                       kind="line", errorbar="sd", marker="o", height=2.6, aspect=1.1,
                       style="query" if several else None, facet_kws={"sharey": True})
    for cat, ax in grid.axes_dict.items():
        if ceiling and cat in ceiling:
            ax.axhline(ceiling[cat], color="black", lw=0.8, ls=":", label="ceiling")
    grid.set_axis_labels("labeled images", metric)
    return grid.figure


def plot_mean_curve(cycles: pd.DataFrame, metric: str = "auroc"):
    """Mean over categories (of the per-category means over seeds), band over categories."""
    per_cat = cycles.groupby(["category", "init", "n_labels"])[metric].mean().reset_index()
    fig, ax = plt.subplots(figsize=(4.5, 3))
    sns.lineplot(per_cat, x="n_labels", y=metric, hue="init", errorbar="sd", marker="o", ax=ax)
    ax.set_xlabel("labeled images")
    ax.set_title(f"mean {metric} over categories")
    fig.tight_layout()
    return fig


def plot_anomalies(cycles: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(4.5, 3))
    sns.lineplot(cycles, x="n_labels", y="n_anomalies", hue="init", errorbar="sd",
                 marker="o", ax=ax)
    ax.set_xlabel("labeled images")
    ax.set_ylabel("defects in the labeled set")
    fig.tight_layout()
    return fig


def plot_score_distributions(batches: dict[str, pd.DataFrame]):
    cats = sorted(batches)
    fig, axes = plt.subplots(1, len(cats), figsize=(3.2 * len(cats), 2.6), squeeze=False)
    for ax, cat in zip(axes[0], cats):
        score_bars(ax, batches[cat], bins=25, legend=ax is axes[0][0])
        for b in batch_boundaries(batches[cat]):
            ax.axvline(b, color="black", lw=0.7, ls="--")
        ax.set_title(cat, fontsize=9)
    fig.tight_layout()
    return fig


def plot_comparison(table: pd.DataFrame):
    """Bars: final AUROC per category for every init (error bar: std) and DRAEM."""
    inits = [c[:-5] for c in table.columns if c.endswith("_mean")]
    rows = []
    for _, r in table.iterrows():
        for i in inits:
            rows.append((r.category, i, r[f"{i}_mean"], r[f"{i}_std"]))
        for d in ("DRAEM_mixed", "DRAEM_normal"):
            if d in table:
                rows.append((r.category, d, r[d], 0.0))
    long = pd.DataFrame(rows, columns=["category", "method", "auroc", "std"])
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(table), 3))
    methods = list(dict.fromkeys(long.method))
    width = 0.8 / len(methods)
    x = np.arange(len(table))
    for k, m in enumerate(methods):
        part = long[long.method == m].set_index("category").reindex(table.category)
        spread = None if m.startswith("DRAEM") else part["std"].fillna(0)
        ax.bar(x + k * width - 0.4 + width / 2, part.auroc, width, yerr=spread,
               label=m, capsize=2)
    ax.set_xticks(x)
    ax.set_xticklabels(table.category, rotation=20, fontsize=8)
    ax.set_ylabel("test AUROC")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def save_figure(fig, folder: Path, name: str, dpi: int = 90):
    """PNG for notebooks and PDF for papers."""
    save(fig, folder / f"{name}.png", dpi=dpi)
    save(fig, folder / f"{name}.pdf")
