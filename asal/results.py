"""Stage 04: gather every run of an experiment into the paper's tables and figures.

Tables: the comparison of the initial selections after the last cycle (mean and standard
deviation over seeds) next to DRAEM_mixed and DRAEM_normal, the area under the budget
curve, a paired comparison across categories and seeds (wins / ties / losses and a
Wilcoxon signed-rank p-value), every initial selection against Random in one table (with
Holm's correction over the selections), the anomalies in the initial labeled set, and what
stage 00's pretext networks learned. Runs that are expected but absent are listed, and
tables built without them say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy.stats import wilcoxon
from statsmodels.stats.multitest import multipletests

from asal.errors import AsalError
from asal.io import write_text
from asal.plots import batch_boundaries, save, score_bars

METRICS = ("auroc", "accuracy", "balanced_accuracy")
PRETEXT_COLUMNS = ("linear_probe_auroc", "knn_auroc", "scratch_linear_probe_auroc",
                   "scratch_knn_auroc", "final_pretext_accuracy", "train_seconds")


@dataclass
class Gathered:
    exp: str
    cycles: pd.DataFrame               # metrics_cycle.csv rows + category, init, seed
    draem: pd.DataFrame                # category, train_on, test_image_auroc
    pretext: pd.DataFrame              # category, task, representation AUROCs, seconds
    batches: dict[str, pd.DataFrame]
    missing: list[str]
    protocols: list[str]
    commits: list[str]
    seeds: list[int]

    @property
    def complete(self) -> bool:
        return not self.missing


def gather(runs_root, exp: str, categories, inits, seeds,
           train_ons=("mixed", "normal")) -> Gathered:
    """Read runs/<exp>/<category>/{scores,batches,al} of the expected runs (DRAEM's for
    each of `train_ons`)."""
    root = Path(runs_root) / exp
    frames, draem, pretext, batches, missing = [], [], [], {}, []
    protocols, commits = set(), set()
    for cat in categories:
        for train_on in train_ons:
            path = root / cat / "scores" / train_on / "metrics.json"
            if path.exists():
                m = json.loads(path.read_text())
                draem.append({"category": cat, "train_on": train_on,
                              "test_image_auroc": m.get("test_image_auroc"),
                              "source": m.get("anomaly_source", m.get("source"))})
            else:
                missing.append(f"{cat}/scores/{train_on}")
        for path in sorted((root / cat / "pretext").glob("*/metrics.json")):
            m = json.loads(path.read_text())
            pretext.append({"category": cat, "task": m.get("task", path.parent.name),
                            **{k: m.get(k) for k in PRETEXT_COLUMNS}})
        bpath = root / cat / "batches" / "batches.csv"
        if bpath.exists():
            batches[cat] = pd.read_csv(bpath)
        else:
            missing.append(f"{cat}/batches")
        for init in inits:
            for seed in seeds:
                run = root / cat / "al" / init / f"seed{seed}"
                if not (run / "metrics_cycle.csv").exists():
                    missing.append(f"{cat}/al/{init}/seed{seed}")
                    continue
                config = json.loads((run / "config.json").read_text())
                protocols.add(config.get("protocol", "?"))
                commits.add(str(config.get("git_commit", "unknown"))[:12])
                frame = pd.read_csv(run / "metrics_cycle.csv", keep_default_na=False,
                                    na_values=[""])
                frames.append(frame.assign(category=cat, init=init, seed=seed))
    cycles = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["category", "init", "seed", "cycle", "n_labels", "n_anomalies", *METRICS])
    return Gathered(exp, cycles, pd.DataFrame(draem, columns=["category", "train_on",
                                                              "test_image_auroc", "source"]),
                    pd.DataFrame(pretext, columns=["category", "task", *PRETEXT_COLUMNS]),
                    batches, missing, sorted(protocols), sorted(commits), list(seeds))


# ------------------------------------------------------------------------- statistics

def last_cycle(cycles: pd.DataFrame) -> pd.DataFrame:
    """One row per (category, init, seed): the run's final cycle."""
    idx = cycles.groupby(["category", "init", "seed"]).cycle.idxmax()
    return cycles.loc[idx].reset_index(drop=True)


def aubc(n_labels, values) -> float:
    """Area under the budget curve: trapezoid over the label range, normalised to [0, 1]."""
    x, y = np.asarray(n_labels, float), np.asarray(values, float)
    if len(x) < 2 or x[-1] == x[0]:
        return float(y[0]) if len(y) else float("nan")
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def aubc_per_run(cycles: pd.DataFrame, metric: str = "auroc") -> pd.DataFrame:
    rows = [{"category": c, "init": i, "seed": s,
             "aubc": aubc(g.sort_values("n_labels").n_labels, g.sort_values("n_labels")[metric])}
            for (c, i, s), g in cycles.groupby(["category", "init", "seed"])]
    return pd.DataFrame(rows, columns=["category", "init", "seed", "aubc"])


def mean_std(frame: pd.DataFrame, value: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """category x init table of 'mean ± std' over seeds, with a mean-over-categories row."""
    stats = frame.groupby(["category", "init"])[value].agg(["mean", "std"]).reset_index()
    per_cat = stats.pivot(index="category", columns="init", values="mean")
    spread = stats.pivot(index="category", columns="init", values="std")
    per_cat.loc["mean"] = per_cat.mean()
    # spread of the mean row: std over categories of the per-category means
    spread.loc["mean"] = per_cat.drop(index="mean").std()
    return per_cat, spread


def comparison_table(g: Gathered, metric: str = "auroc") -> pd.DataFrame:
    """Final-cycle metric per category and init (mean, std over seeds) and DRAEM's AUROC."""
    final = last_cycle(g.cycles)
    mean, std = mean_std(final, metric)
    table = pd.DataFrame(index=mean.index)
    for init in mean.columns:
        table[f"{init}_mean"] = mean[init]
        table[f"{init}_std"] = std[init]
    if metric == "auroc" and len(g.draem):
        d = g.draem.pivot(index="category", columns="train_on", values="test_image_auroc")
        d.loc["mean"] = d.mean()
        for train_on in ("mixed", "normal"):
            if train_on in d:
                table[f"DRAEM_{train_on}"] = d[train_on]
    table.index.name = "category"
    return table.reset_index()


def paired_comparison(values: pd.DataFrame, a: str = "asal", b: str = "random",
                      value: str = "auroc", tie: float = 1e-3) -> dict:
    """Wins / ties / losses of `a` against `b` over (category, seed) pairs, and Wilcoxon."""
    wide = values.pivot_table(index=["category", "seed"], columns="init", values=value)
    if a not in wide or b not in wide:
        return {"pairs": 0, "wins": 0, "ties": 0, "losses": 0, "mean_difference": np.nan,
                "wilcoxon_p": np.nan}
    diff = (wide[a] - wide[b]).dropna()
    wins, losses = int((diff > tie).sum()), int((diff < -tie).sum())
    nonzero = diff[diff.abs() > tie]
    p = float(wilcoxon(nonzero).pvalue) if len(nonzero) >= 2 else np.nan
    return {"pairs": int(len(diff)), "wins": wins, "ties": int(len(diff)) - wins - losses,
            "losses": losses, "mean_difference": float(diff.mean()), "wilcoxon_p": p}


def inits_against(final: pd.DataFrame, areas: pd.DataFrame, cycles: pd.DataFrame,
                  baseline: str = "random") -> pd.DataFrame:
    """Every initial selection in one table, each paired against `baseline`.

    Per init: final test AUROC and AUBC (mean and std over categories x seeds), the defects
    in its initial set (mean), and for each of the two measures the paired Wilcoxon test
    against the baseline over (category, seed) pairs, its p-value corrected by Holm over
    the inits compared (one family per measure).
    """
    first = cycles[cycles.cycle == 0].groupby("init").n_anomalies.mean()
    rows = []
    for init in sorted(final.init.unique(), key=lambda i: (i != "asal", i == baseline, i)):
        f, a = final[final.init == init], areas[areas.init == init]
        row = {"init": init, "final_auroc_mean": f.auroc.mean(), "final_auroc_std": f.auroc.std(),
               "aubc_mean": a.aubc.mean(), "aubc_std": a.aubc.std(),
               "initial_defects_mean": first.get(init, np.nan), "runs": len(f)}
        for name, frame, value in (("final", final, "auroc"), ("aubc", areas, "aubc")):
            pair = frame[frame.init.isin([init, baseline])]
            test = (paired_comparison(pair, init, baseline, value) if init != baseline
                    else dict.fromkeys(("pairs", "wins", "losses", "mean_difference",
                                        "wilcoxon_p"), np.nan))
            row.update({f"{name}_{k}": test[k] for k in ("wins", "losses", "mean_difference",
                                                          "wilcoxon_p")})
        rows.append(row)
    table = pd.DataFrame(rows)
    for name in ("final", "aubc"):
        p = table[f"{name}_wilcoxon_p"]
        ok = p.notna()
        table[f"{name}_p_holm"] = np.nan
        if ok.any():
            table.loc[ok, f"{name}_p_holm"] = multipletests(p[ok], method="holm")[1]
    return table


def initial_anomalies(cycles: pd.DataFrame) -> pd.DataFrame:
    """Anomalies in the initial labeled set (cycle 0), per category and init, over seeds."""
    first = cycles[cycles.cycle == 0]
    table = first.groupby(["category", "init"]).n_anomalies.agg(
        ["mean", "min", "max"]).reset_index()
    labels = first.groupby(["category", "init"]).n_labels.first().reset_index(drop=True)
    return table.assign(initial_labels=labels.to_numpy())


# ----------------------------------------------------------------------------- output

def provenance_line(g: Gathered) -> str:
    status = "complete" if g.complete else f"INCOMPLETE: {len(g.missing)} expected runs missing"
    return (f"experiment={g.exp}; protocol={','.join(g.protocols) or '?'}; "
            f"seeds={','.join(map(str, g.seeds))}; commit={','.join(g.commits) or '?'}; "
            f"{status}")


def write_table(frame: pd.DataFrame, folder: Path, name: str, g: Gathered, caption: str,
                latex: bool = False):
    """CSV (first line a '#' comment), Markdown and optionally LaTeX, each with provenance."""
    line = provenance_line(g)
    write_text(folder / f"{name}.csv", f"# {caption}; {line}\n"
               + frame.to_csv(index=False, float_format="%.4f"))
    write_text(folder / f"{name}.md", f"**{caption}**  \n_{line}_\n\n"
               + frame.to_markdown(index=False, floatfmt=".3f") + "\n")
    if latex:
        body = frame.to_latex(index=False, float_format="%.3f", na_rep="--")
        write_text(folder / f"{name}.tex", f"% {caption}; {line}\n{body}")


def plot_learning_curves(cycles: pd.DataFrame, metric: str = "auroc"):
    """One panel per category: mean over seeds with a standard-deviation band, per init."""
    grid = sns.relplot(cycles, x="n_labels", y=metric, hue="init", col="category",
                       kind="line", errorbar="sd", marker="o", height=2.6, aspect=1.1,
                       facet_kws={"sharey": True})
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


def build_tables(g: Gathered) -> dict[str, pd.DataFrame]:
    final = last_cycle(g.cycles) if len(g.cycles) else g.cycles
    areas = aubc_per_run(g.cycles)
    tables = {f"comparison_{m}": comparison_table(g, m) for m in METRICS}
    mean, std = mean_std(areas, "aubc")
    aubc_table = pd.DataFrame(index=mean.index)
    for init in mean.columns:
        aubc_table[f"{init}_mean"], aubc_table[f"{init}_std"] = mean[init], std[init]
    tables["aubc_auroc"] = aubc_table.reset_index()
    tables["paired_asal_vs_random"] = pd.DataFrame([
        {"measure": "final AUROC", **paired_comparison(final, value="auroc")},
        {"measure": "final balanced accuracy",
         **paired_comparison(final, value="balanced_accuracy")},
        {"measure": "AUBC (AUROC)", **paired_comparison(areas, value="aubc")}])
    tables["inits_vs_random"] = inits_against(final, areas, g.cycles)
    tables["initial_anomalies"] = initial_anomalies(g.cycles)
    tables["pretext_representation"] = g.pretext.copy()
    return tables


def write_results(g: Gathered, folder) -> dict[str, pd.DataFrame]:
    """Every table and figure of the experiment into `folder` (figures/<exp>/)."""
    folder = Path(folder)
    if g.cycles.empty:
        raise AsalError(f"No active-learning runs found for experiment '{g.exp}'; run the "
                        "workflow (see README) or notebooks 01-03 first.")
    tables = build_tables(g)
    captions = {
        "comparison_auroc": "Test AUROC after the last cycle (mean, std over seeds) and DRAEM's"
                            " own test image AUROC",
        "comparison_accuracy": "Test accuracy after the last cycle (mean, std over seeds)",
        "comparison_balanced_accuracy": "Test balanced accuracy after the last cycle",
        "aubc_auroc": "Area under the budget curve of the test AUROC, normalised to [0, 1]",
        "paired_asal_vs_random": "ASAL against Random, paired over categories and seeds "
                                 "(tie: |difference| <= 0.001; Wilcoxon signed-rank)",
        "inits_vs_random": "Every initial selection against Random, paired over categories "
                           "and seeds: final test AUROC and AUBC (mean, std), defects in the "
                           "initial set, wins / losses, Wilcoxon p and Holm-corrected p",
        "initial_anomalies": "Defects in the initial labeled set (cycle 0) over seeds",
        "pretext_representation": "Stage 00's pretext networks before any active learning: "
                                  "test AUROC of a linear probe and of a 5-NN vote on their "
                                  "pool features, against the same network untrained",
    }
    for name, table in tables.items():
        write_table(table, folder, name, g, captions[name], latex=name.startswith("comparison"))
    write_text(folder / "missing_runs.txt", "".join(f"{m}\n" for m in g.missing))
    # runs on a category without a test split (your own images) have no test metrics
    curves = ("learning_curves", "mean_learning_curve", "comparison_auroc")
    if g.cycles.auroc.notna().any():
        save_figure(plot_learning_curves(g.cycles), folder, curves[0])
        save_figure(plot_mean_curve(g.cycles), folder, curves[1])
        save_figure(plot_comparison(tables["comparison_auroc"]), folder, curves[2])
    else:
        for name in curves:                   # not a stale one of an earlier build either
            for suffix in (".png", ".pdf"):
                (folder / f"{name}{suffix}").unlink(missing_ok=True)
    save_figure(plot_anomalies(g.cycles), folder, "anomalies_per_cycle")
    if g.batches:
        save_figure(plot_score_distributions(g.batches), folder, "score_distributions")
    plt.close("all")
    return tables
