"""04's figures: every init in its one colour and marker (asal/style.py), the legend
outside the data, the axis named for what it shows, a range that shows the differences,
and the reference lines a reader compares with. `figure_captions` says what each band and
error bar is, and over what.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from asal import style
from asal.plots import batch_cuts, score_bars

METRIC_WORDS = {"auroc": "test AUROC", "accuracy": "test accuracy",
                "balanced_accuracy": "test balanced accuracy"}
REFERENCE = {"ceiling": dict(color="black", lw=1.0, ls=":"),
             "scorer": dict(color=style.SCORER_COLOUR, lw=1.2, ls="-.")}


def _limits(values, floor: float = 0.0, ceil: float = 1.0, pad: float = 0.03):
    """A value axis from the data: a small margin, within [floor, ceil]."""
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)])
    if not len(values):
        return floor, ceil
    lo, hi = values.min(), values.max()
    margin = max(pad, 0.08 * (hi - lo))
    return max(floor, lo - margin), min(ceil + 0.005, hi + margin)


def _mean_band(ax, frame: pd.DataFrame, x: str, y: str, name: str, ls: str, label: str):
    """Mean of `y` over the rows at each `x`, with a band of one standard deviation."""
    stats = frame.groupby(x)[y].agg(["mean", "std"]).reset_index()
    c = style.colour(name)
    ax.plot(stats[x], stats["mean"], color=c, marker=style.marker(name), ms=4, ls=ls,
            lw=1.4, label=label)
    ax.fill_between(stats[x], stats["mean"] - stats["std"].fillna(0),
                    stats["mean"] + stats["std"].fillna(0), color=c, alpha=0.15, lw=0)
    return stats["mean"].tolist()      # the axis follows the means; a wide band may leave it


def _legend_right(fig, axes, extra=()) -> None:
    """One legend for the figure, to the right of the data (never over a curve); `extra`
    adds (handle, label) pairs drawn by no line, such as the classes of a histogram."""
    handles, labels = {lab: h for h, lab in extra}, [lab for _, lab in extra]
    for ax in np.atleast_1d(axes).flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles:
                handles[lab] = h
                labels.append(lab)
    fig.legend([handles[lab] for lab in labels], labels, loc="upper left",
               bbox_to_anchor=(1.0, 0.95), fontsize=8, frameon=False)


# panels per row: six categories in one row drew 1920 x 243 px, too small to read on a page
PANELS_PER_ROW = 3


def _panels(n: int, width: float, height: float, **shared):
    """A figure of n panels, PANELS_PER_ROW to a row (the unused ones hidden), and the
    panels in reading order."""
    ncols = min(n, PANELS_PER_ROW)
    nrows = -(-n // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, **shared)
    for ax in grid.flat[n:]:
        ax.set_visible(False)
    return fig, list(grid.flat[:n])


def _runs_by_init(cycles: pd.DataFrame):
    queries = list(dict.fromkeys(cycles["query"])) if "query" in cycles else [None]
    for init in style.ordered(cycles.init.unique()):
        for q, ls in zip(queries, style.QUERY_LINES):
            part = cycles[(cycles.init == init) & ((cycles["query"] == q) if q else True)]
            if len(part):
                label = init if q == queries[0] else f"{init}, {q.replace('_', ' ')} query"
                yield init, ls, label, part


def plot_learning_curves(cycles: pd.DataFrame, ceiling: dict | None = None,
                         scorer: dict | None = None, scorer_name: str = "scorer",
                         metric: str = "auroc", budget: int | None = None,
                         stops: pd.DataFrame | None = None):
    """One panel per category, over every cycle of the runs: per init (and query), the mean
    over seeds and a band of one standard deviation; the ranking scorer's own test AUROC
    and the supervised ceiling as lines, the budget the tables read at as a grey line, and
    where the stopping rule would have stopped (the median over seeds, a triangle on the
    first query's curve)."""
    cats = sorted(cycles.category.unique())
    fig, axes = _panels(len(cats), 3.1, 2.8, sharey=True)
    seen = []
    for ax, cat in zip(axes, cats):
        for init, ls, label, part in _runs_by_init(cycles[cycles.category == cat]):
            seen += _mean_band(ax, part, "n_labels", metric, init, ls, label)
        for name, refs in (("scorer", scorer), ("ceiling", ceiling)):
            if metric == "auroc" and refs and cat in refs and refs[cat] is not None:
                ax.axhline(refs[cat], label=f"{scorer_name} (test AUROC)" if name == "scorer"
                           else "supervised ceiling", **REFERENCE[name])
                seen.append(refs[cat])
        if budget and cycles.n_labels.max() > budget:
            ax.axvline(budget, color="#999999", lw=0.8, ls="--",
                       label=f"the tables' budget ({budget} labels)")
        if stops is not None and metric == "auroc":
            _stop_marks(ax, cycles[cycles.category == cat], stops[stops.category == cat])
        ax.set_title(cat, fontsize=9)
        ax.set_xlabel("labeled images")
    for ax in axes[::PANELS_PER_ROW]:
        ax.set_ylabel(METRIC_WORDS.get(metric, metric))
    axes[0].set_ylim(*_limits(seen))
    _legend_right(fig, axes)
    fig.tight_layout()
    return fig


def _stop_marks(ax, cycles: pd.DataFrame, stops: pd.DataFrame) -> None:
    """A triangle at the median stop of each init, on its first query's mean curve."""
    first = cycles[cycles["query"] == cycles["query"].iloc[0]] if "query" in cycles \
        else cycles
    for init, g in stops.groupby("init"):
        at = g.stop_labels.median()
        if np.isnan(at):
            continue
        curve = first[first.init == init].groupby("n_labels").auroc.mean()
        y = float(np.interp(at, curve.index, curve.to_numpy()))
        ax.plot(at, y, marker="v", ms=7, color=style.colour(init), mec="black", mew=0.6,
                ls="none", label="where the stopping rule stops (median)")


def plot_mean_curve(cycles: pd.DataFrame, scorer_mean: float | None = None,
                    scorer_name: str = "scorer", metric: str = "auroc"):
    """The mean over categories and seeds; the band is the standard deviation over the
    seeds of the categories' mean (the spread over categories would mostly show how the
    categories differ, and fill the plot)."""
    per_seed = cycles.groupby(["seed", "init", "n_labels"])[metric].mean().reset_index()
    fig, ax = plt.subplots(figsize=(4.6, 3))
    seen = []
    for init in style.ordered(per_seed.init.unique()):
        seen += _mean_band(ax, per_seed[per_seed.init == init], "n_labels", metric, init, "-",
                           init)
    if metric == "auroc" and scorer_mean is not None:
        ax.axhline(scorer_mean, label=f"{scorer_name} (test AUROC)", **REFERENCE["scorer"])
        seen.append(scorer_mean)
    ax.set_xlabel("labeled images")
    ax.set_ylabel(f"{METRIC_WORDS.get(metric, metric)}, mean over categories")
    ax.set_ylim(*_limits(seen))
    _legend_right(fig, ax)
    fig.tight_layout()
    return fig


def plot_defects(cycles: pd.DataFrame, defect_share: dict[str, float]):
    """Defects in the labeled set against its size, per init (mean over categories and
    seeds, band one standard deviation), and what a random set is expected to hold."""
    fig, ax = plt.subplots(figsize=(4.6, 3))
    for init in style.ordered(cycles.init.unique()):
        _mean_band(ax, cycles[cycles.init == init], "n_labels", "n_anomalies", init, "-", init)
    shares = [defect_share[c] for c in cycles.category.unique() if c in defect_share]
    if shares:
        n = np.sort(cycles.n_labels.unique())
        ax.plot(n, n * float(np.mean(shares)), color="black", lw=1.0, ls=":",
                label="expected in a random set")
    ax.set_xlabel("labeled images")
    ax.set_ylabel(f"{style.DEFECT}s in the labeled set")
    ax.set_ylim(bottom=0)
    _legend_right(fig, ax)
    fig.tight_layout()
    return fig


def asal_picks(batches: pd.DataFrame, per_batch: int) -> pd.DataFrame:
    """The rows ASAL's initial set takes: the first `per_batch` of every batch by rank."""
    return batches.sort_values("rank").groupby("batch").head(per_batch)


def plot_score_distributions(batches: dict[str, pd.DataFrame], per_batch: int,
                             scorer: str = "scorer"):
    """Per category: the pool's anomaly scores by true class, the cuts between ASAL's
    batches (batch 0 holds the highest scores) and the images ASAL labels first."""
    cats = sorted(batches)
    fig, axes = _panels(len(cats), 3.3, 2.9)
    for ax, cat in zip(axes, cats):
        frame = batches[cat]
        score_bars(ax, frame, bins=25, legend=False)
        cuts = batch_cuts(frame)
        for b, x in enumerate(cuts):
            ax.axvline(x, color="black", lw=0.7, ls="--",
                       label="cut between batches" if b == 0 else None)
        picks = asal_picks(frame, per_batch)
        ax.plot(picks.score, np.full(len(picks), ax.get_ylim()[1] * 0.97), ls="none",
                marker="v", color=style.colour("asal"), ms=5, label="ASAL's initial picks")
        ax.set_title(cat, fontsize=9)
        ax.set_xlabel(f"anomaly score ({scorer})")
    _legend_right(fig, axes, [(Patch(color=style.CLASS_COLOURS[t]), t)
                              for t in (style.GOOD, style.DEFECT)])
    fig.tight_layout()
    return fig


def plot_comparison(table: pd.DataFrame):
    """Bars: test AUROC after the last cycle per category, every init (error bar: standard
    deviation over seeds; over categories for 'mean') and the scorers' own."""
    inits = style.ordered(c[:-5] for c in table.columns if c.endswith("_mean"))
    methods = inits + scorer_columns(table)
    fig, ax = plt.subplots(figsize=(1.8 + 1.3 * len(table), 3))
    width, x, seen = 0.8 / len(methods), np.arange(len(table)), []
    for k, m in enumerate(methods):
        value = table[f"{m}_mean"] if m in inits else table[m]
        spread = table.get(f"{m}_std")
        ax.bar(x + k * width - 0.4 + width / 2, value, width,
               color=style.SCORER_COLOUR if m not in inits else style.colour(m),
               hatch="//" if m.endswith("_normal") else None,
               yerr=None if spread is None else spread.fillna(0), capsize=2, label=m,
               error_kw={"lw": 0.8})
        seen += list(value)
    ax.set_xticks(x)
    ax.set_xticklabels(table.category, rotation=20, fontsize=8)
    ax.set_ylabel("final test AUROC")
    # from the bars' heights: an error bar may leave the axis, a 0.01 difference shows
    ax.set_ylim(*_limits(seen, pad=0.05))
    _legend_right(fig, ax)
    fig.tight_layout()
    return fig


def scorer_columns(table: pd.DataFrame) -> list[str]:
    """The comparison table's columns of a scorer's own test AUROC (<scorer>_<train_on>)."""
    return [c for c in table.columns if c.endswith(("_mixed", "_normal"))]


def figure_captions(n_seeds: int, n_categories: int, budget: int | None,
                    has_ceiling: bool, scorer: str) -> dict[str, str]:
    """One line per figure: what it shows, what each band or bar is, and over what."""
    seeds, cats = f"{n_seeds} seed{'s' * (n_seeds != 1)}", f"{n_categories} categories"
    budget_line = f"; dashed grey: the {budget} labels the tables read at" if budget else ""
    final = f"at {budget} labels" if budget else "after the last cycle"
    return {
        "learning_curves": "Test AUROC against the labeled images, over every cycle, per "
                           f"category: the mean over {seeds}, band one standard deviation "
                           "over them; triangles: where the stopping rule would stop "
                           f"(median over the seeds){budget_line}; "
                           f"dash-dot: the test AUROC of {scorer}, which ranked the pool"
                           + ("; dotted: the supervised ceiling" if has_ceiling else "") + ".",
        "mean_learning_curve": f"Test AUROC against the labeled images, the mean over {cats} "
                               f"and {seeds}; band one standard deviation over the seeds of "
                               f"the categories' mean; dash-dot: {scorer}'s test AUROC, mean "
                               "over the categories.",
        "anomalies_per_cycle": f"Defects in the labeled set against its size: mean over {cats} "
                               f"and {seeds}, band one standard deviation; dotted: the "
                               "defects a random set of that size holds on average.",
        "score_distributions": f"The pool's anomaly scores ({scorer}) by true class (first "
                               "scorer seed); dashed: the cuts between the batches, from b4 "
                               "(lowest scores, left) to b0 (highest); triangles: ASAL's "
                               "initial picks, the top of every batch.",
        "comparison_auroc": f"Final test AUROC ({final}): bars the mean over {seeds}, "
                            "error bars one standard deviation over them; for 'mean', over "
                            f"the {cats}; the scorers' bars (hatched: fitted on the good "
                            "images only) are their own test AUROC.",
    }
