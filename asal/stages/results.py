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
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from asal.config.layout import CONFIG_JSON, METRICS_CYCLE, METRICS_JSON, RunLayout
from asal.data.batchfiles import BATCHES_CSV
from asal.errors import AsalError
from asal.io import write_text
from asal.models.statistics import (aubc_per_run, initial_anomalies, inits_against, last_cycle,
                                    mean_std, paired_comparison)
from asal.plots import save_figure
from asal.result_figures import (figure_captions, plot_comparison, plot_defects,
                                 plot_learning_curves, plot_mean_curve,
                                 plot_score_distributions)
from asal.stages.captions import table_captions
from asal.stages.learning_tables import (ceiling_table, labels_saved_table, learning_table,
                                         query_effect_table)

if TYPE_CHECKING:
    from asal.config.schema import Params

METRICS = ("auroc", "accuracy", "balanced_accuracy")
# no training time: a table is the same wherever and however its jobs ran (a SLURM run's
# tables equal a local one's byte for byte); the times stay in each network's metrics.json
PRETEXT_COLUMNS = ("linear_probe_auroc", "knn_auroc", "scratch_linear_probe_auroc",
                   "scratch_knn_auroc", "final_pretext_accuracy")


@dataclass
class Gathered:
    exp: str
    every_cycle: pd.DataFrame          # metrics_cycle.csv rows + category, init, query, seed
    draem: pd.DataFrame                # category, train_on, test_image_auroc
    pretext: pd.DataFrame              # category, task, representation AUROCs
    batches: dict[str, pd.DataFrame]
    missing: list[str]
    protocols: list[str]
    commits: list[str]
    seeds: list[int]
    queries: list[str]
    ceiling: pd.DataFrame              # category, seed, test metrics of the ceiling
    budget: int | None = None          # labels at which final numbers are read
    share: float = 0.9                 # of the ceiling, for the labels saved
    per_batch: int = 2                 # ASAL's picks per batch (score_distributions)

    @property
    def complete(self) -> bool:
        return not self.missing

    def within_budget(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame if self.budget is None else frame[frame.n_labels <= self.budget]

    @property
    def cycles(self) -> pd.DataFrame:
        """The first query's cycles up to the budget: what the paper's tables read."""
        first = self.every_cycle[self.every_cycle["query"] == self.queries[0]]
        return self.within_budget(first).reset_index(drop=True)


def gather(cfg: Params) -> Gathered:
    """Read the experiment's expected runs (RunLayout): DRAEM's scores for every DRAEM seed
    its runs use (mixed, and normal where draem_normal asks for it), the pretext networks,
    the batches and every category x init x seed of 03."""
    layout, missing = RunLayout.of(cfg), []
    train_ons = ("mixed", "normal") if cfg.draem_normal else ("mixed",)
    # DRAEM_normal, a baseline, is trained with the first DRAEM seed only
    draem = [row for cat in cfg.categories for train_on in train_ons
             for row in _draem_rows(layout, cat, train_on, cfg.draem_seeds if
                                    train_on == "mixed" else cfg.draem_seeds[:1], missing)]
    networks = list(layout.pretext_runs())
    pretext = [{"category": cat, "task": task, "pretext_seed": seed,
                **{k: m.get(k) for k in PRETEXT_COLUMNS}}
               for cat in cfg.categories for c, task, seed, folder in networks
               if c == cat and seed in cfg.pretext_seeds
               and (m := _json(folder / METRICS_JSON))]
    batches = {}
    for cat in cfg.categories:
        path = layout.batches(cat, cfg.draem_seeds[0]) / BATCHES_CSV
        if path.exists():
            batches[cat] = pd.read_csv(path)
        else:
            missing.append(f"{cat}/batches/seed{cfg.draem_seeds[0]}")
    frames, configs = [], []
    for cat in cfg.categories:
        for init, query in cfg.runs():
            for seed in cfg.seeds:
                run = layout.al(cat, init, query, seed)
                if not (run / METRICS_CYCLE).exists():
                    missing.append(f"{cat}/al/{init}/{query}/seed{seed}")
                    continue
                configs.append(_json(run / CONFIG_JSON) or {})
                frames.append(_run_cycles(run).assign(category=cat, init=init, query=query,
                                                      seed=seed))
    cycles = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["category", "init", "query", "seed", "cycle", "n_labels", "n_anomalies",
                 "train_loss", *METRICS])
    return Gathered(cfg.exp, cycles,
                    pd.DataFrame(draem, columns=["category", "train_on", "draem_seed",
                                                 "test_image_auroc", "source"]),
                    pd.DataFrame(pretext, columns=["category", "task", "pretext_seed",
                                                   *PRETEXT_COLUMNS]),
                    batches, missing, sorted({c.get("protocol", "?") for c in configs}),
                    sorted({str(c.get("provenance", c).get("git_commit", "unknown"))[:12]
                            for c in configs}),
                    list(cfg.seeds), list(cfg.queries), _ceilings(cfg, layout, missing),
                    cfg.budget_labels, cfg.ceiling_share, cfg.per_batch)


def _run_cycles(run: Path) -> pd.DataFrame:
    """A run's cycles, with the labeled set's training loss at each cycle's end."""
    frame = pd.read_csv(run / METRICS_CYCLE, keep_default_na=False, na_values=[""])
    epochs = run / "metrics_epoch.csv"
    if epochs.exists():
        ends = pd.read_csv(epochs).groupby("cycle").train_loss.last()
        frame["train_loss"] = frame.cycle.map(ends)
    return frame


def _ceilings(cfg: Params, layout: RunLayout, missing: list) -> pd.DataFrame:
    rows = []
    for cat in cfg.categories if cfg.ceiling else []:
        for seed in cfg.seeds:
            m = _json(layout.ceiling(cat, seed) / METRICS_JSON)
            if m is None:
                missing.append(f"{cat}/ceiling/seed{seed}")
                continue
            rows.append({"category": cat, "seed": seed,
                         **{k: m.get(k) for k in ("auroc", "balanced_accuracy", "ap",
                                                  "pool_labels", "train_loss")}})
    return pd.DataFrame(rows, columns=["category", "seed", "auroc", "balanced_accuracy", "ap",
                                       "pool_labels", "train_loss"])


def _json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _draem_rows(layout: RunLayout, cat: str, train_on: str, seeds, missing: list):
    for seed in seeds:
        m = _json(layout.scores(cat, train_on, seed) / METRICS_JSON)
        if m is None:
            missing.append(f"{cat}/scores/{train_on}/seed{seed}")
            continue
        yield {"category": cat, "train_on": train_on, "draem_seed": seed,
               "test_image_auroc": m.get("test_image_auroc"),
               "source": m.get("anomaly_source", m.get("source"))}


# ----------------------------------------------------------------------------- output

def comparison_table(g: Gathered, metric: str = "auroc") -> pd.DataFrame:
    """Final-cycle metric per category and init (mean, std over seeds) and DRAEM's AUROC."""
    final = last_cycle(g.cycles)
    mean, std = mean_std(final, metric)
    table = pd.DataFrame(index=mean.index)
    for init in mean.columns:
        table[f"{init}_mean"] = mean[init]
        table[f"{init}_std"] = std[init]
    if metric == "auroc" and len(g.draem):
        # the mean over the DRAEM seeds the runs used (one, unless seeds are replicates)
        d = g.draem.pivot_table(index="category", columns="train_on",
                                values="test_image_auroc", aggfunc="mean", dropna=False)
        d.loc["mean"] = d.mean()
        spread = g.draem.groupby(["category", "train_on"]).test_image_auroc.std().unstack()
        seeds = g.draem.groupby("train_on").draem_seed.nunique()
        for train_on in ("mixed", "normal"):
            if train_on in d:
                table[f"DRAEM_{train_on}"] = d[train_on]
                if seeds.get(train_on, 0) > 1:
                    table[f"DRAEM_{train_on}_std"] = spread[train_on]
    table.index.name = "category"
    return table.reset_index()


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
    # one pretext network per category and task, unless seeds are replicates
    several = g.pretext.pretext_seed.nunique() > 1
    tables["pretext_representation"] = g.pretext if several else \
        g.pretext.drop(columns="pretext_seed")
    tables["learning"] = learning_table(g.cycles)
    if len(g.ceiling):
        tables["ceiling"] = ceiling_table(g.ceiling)
        first = g.every_cycle[g.every_cycle["query"] == g.queries[0]]
        tables["labels_saved"] = labels_saved_table(first, g.ceiling, g.share)
    if len(g.queries) > 1:
        by_query = {q: g.within_budget(g.every_cycle[g.every_cycle["query"] == q])
                    for q in g.queries}
        tables["query_effect"] = query_effect_table(by_query, g.queries[0])
    return tables


def write_figure_list(g: Gathered, folder: Path) -> None:
    """figures.md: every figure written, with its caption (the docs include it)."""
    captions = figure_captions(len(g.seeds), g.cycles.category.nunique(), g.budget,
                               len(g.ceiling) > 0)
    shown = [(n, c) for n, c in captions.items() if (folder / f"{n}.png").exists()]
    write_text(folder / "figures.md", "".join(
        f"![{n.replace('_', ' ')}](figures/{folder.name}/{n}.png)\n\n*{c}*\n\n"
        for n, c in shown))


def write_results(g: Gathered, folder) -> dict[str, pd.DataFrame]:
    """Every table and figure of the experiment into `folder` (figures/<exp>/)."""
    folder = Path(folder)
    if g.cycles.empty:
        raise AsalError(f"No active-learning runs found for experiment '{g.exp}'; run the "
                        "workflow (docs/pipeline.md) or notebooks 01-03 first.")
    tables = build_tables(g)
    captions = table_captions(g.share)
    for name, table in tables.items():
        write_table(table, folder, name, g, captions[name], latex=name.startswith("comparison"))
    write_text(folder / "missing_runs.txt", "".join(f"{m}\n" for m in g.missing))
    # runs on a category without a test split (your own images) have no test metrics
    curves = ("learning_curves", "mean_learning_curve", "comparison_auroc")
    if g.cycles.auroc.notna().any():
        ceiling = g.ceiling.groupby("category").auroc.mean().to_dict() if len(g.ceiling) \
            else {}
        draem = g.draem[g.draem.train_on == "mixed"].groupby("category").test_image_auroc.mean()
        save_figure(plot_learning_curves(g.within_budget(g.every_cycle), ceiling,
                                         draem.to_dict()), folder, curves[0])
        save_figure(plot_mean_curve(g.cycles, draem.mean() if len(draem) else None), folder,
                    curves[1])
        save_figure(plot_comparison(tables["comparison_auroc"]), folder, curves[2])
    else:
        for name in curves:                   # not a stale one of an earlier build either
            for suffix in (".png", ".pdf"):
                (folder / f"{name}{suffix}").unlink(missing_ok=True)
    shares = {cat: b.label.mean() for cat, b in g.batches.items() if b.label.notna().all()}
    save_figure(plot_defects(g.cycles, shares), folder, "anomalies_per_cycle")
    if g.batches:
        save_figure(plot_score_distributions(g.batches, g.per_batch), folder,
                    "score_distributions")
    plt.close("all")
    write_figure_list(g, folder)
    return tables
