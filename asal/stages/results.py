"""Stage 04: gather every run of an experiment into the paper's tables and figures.

Tables: the comparison of the initial selections after the last cycle (mean and standard
deviation over seeds) next to the test AUROC of the scorer that ranked the pool (and of
DRAEM on the good images, the paper's DRAEM_normal), the scorers compared (pool and test
AUROC, defects in ASAL's initial set), the area under the budget curve, a paired
comparison across categories and seeds (wins / ties / losses and a Wilcoxon signed-rank
p-value), every initial selection against Random in one table (with Holm's correction over
the selections), the anomalies in the initial labeled set, and what stage 00's pretext
networks learned. The runs are read by asal/stages/gathered.py; runs that are expected
but absent are listed, and tables built without them say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch

from asal.errors import AsalError
from asal.io import json_text, write_text
from asal.stages.statistics import (against_scorer, aubc_per_run, initial_anomalies,
                                    inits_against, last_cycle, mean_std, paired_comparison)
from asal.plots import save_figure
from asal.provenance import provenance
from asal.report import captioned_markdown
from asal.result_figures import (figure_captions, plot_comparison, plot_defects,
                                 plot_learning_curves, plot_mean_curve,
                                 plot_score_distributions)
from asal.stages.captions import table_captions
from asal.stages.findings import findings
from asal.stages.gathered import METRICS, Gathered
from asal.stages.learning_tables import (ceiling_table, labels_saved_table, learning_table,
                                         query_effect_table, query_labels_table)
from asal.stages.mark_tables import marks_table
from asal.stages.scorer_tables import scorer_table
from asal.stages.share_tables import share_of, share_table
from asal.stages.stopping_tables import stopping_table, stops_per_run

# ----------------------------------------------------------------------------- output

def comparison_table(g: Gathered, metric: str = "auroc") -> pd.DataFrame:
    """Final-cycle metric per category and init (mean, std over seeds) and the test AUROC
    of the scorer that ranked the pool (<scorer>_mixed) and of DRAEM on the good images
    (draem_normal)."""
    final = last_cycle(g.cycles)
    mean, std = mean_std(final, metric)
    table = pd.DataFrame(index=mean.index)
    for init in mean.columns:
        table[f"{init}_mean"] = mean[init]
        table[f"{init}_std"] = std[init]
    if metric == "auroc":
        for name, train_on in dict.fromkeys([(g.scorer, "mixed"), ("draem", "normal")]):
            runs = g.scorer_runs(train_on, name)
            if not len(runs):
                continue
            # the mean over the scorer seeds the runs used (one, unless seeds are replicates)
            means = runs.groupby("category").test_image_auroc.mean()
            means.loc["mean"] = means.mean()
            table[f"{name}_{train_on}"] = means
            if runs.scorer_seed.nunique() > 1:
                table[f"{name}_{train_on}_std"] = runs.groupby("category") \
                    .test_image_auroc.std()
    table.index.name = "category"
    return table.reset_index()


def provenance_line(g: Gathered) -> str:
    """What a table was computed over; the commits and machines are in manifest.json, so a
    rebuild that reproduces rewrites no table."""
    status = "complete" if g.complete else f"INCOMPLETE: {len(g.missing)} expected runs missing"
    return (f"experiment={g.exp}; protocol={','.join(g.protocols) or '?'}; "
            f"seeds={','.join(map(str, g.seeds))}; {status}; made by: manifest.json")


def manifest(g: Gathered) -> dict:
    """figures/<exp>/manifest.json: what made the runs (their commits, whether the code was
    dirty, the CPUs, devices and package versions, each with its number of runs, from their
    provenance.json), the scorers' mean seconds to fit and score a category, and the
    commit that built these tables."""
    def counted(values) -> dict[str, int]:
        return dict(sorted(pd.Series(values, dtype=object).value_counts().items()))

    records = [r for r in g.provenances if r]
    commits = [str(r.get("git_commit", "unknown")) for r in records]
    seconds = pd.to_numeric(g.scores.seconds).groupby([g.scores.scorer,
                                                       g.scores.train_on]).mean().dropna()
    return {"experiment": g.exp, "seeds": list(g.seeds), "protocols": g.protocols,
            "runs": len(g.provenances), "missing_runs": len(g.missing),
            # a clone holds no provenance.json (git ignores them): runs made elsewhere
            "runs_without_provenance": len(g.provenances) - len(records),
            "commits": counted(c.removesuffix("+dirty") for c in commits),
            "runs_made_from_a_dirty_tree": sum(c.endswith("+dirty") for c in commits),
            "cpus": counted(r.get("cpu", "not recorded") for r in records),
            "devices": counted(r.get("device", "not recorded") for r in records),
            "packages": counted(json.dumps(r.get("packages", {}), sort_keys=True)
                                for r in records),
            "scorer_seconds_per_category": {f"{scorer}_{train_on}": round(float(s), 1)
                                            for (scorer, train_on), s in seconds.items()},
            "tables_built_at": provenance(torch.device("cpu"))}


def write_table(frame: pd.DataFrame, folder: Path, name: str, g: Gathered, caption: str,
                latex: bool = False):
    """CSV (first line a '#' comment), Markdown and optionally LaTeX, each with provenance."""
    line = provenance_line(g)
    write_text(folder / f"{name}.csv", f"# {caption}; {line}\n"
               + frame.to_csv(index=False, float_format="%.4f"))
    write_text(folder / f"{name}.md", captioned_markdown(frame, caption, line))
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
    if len(gain := against_scorer(final, g.scorer_runs())):
        tables["against_scorer"] = gain
    tables["initial_anomalies"] = initial_anomalies(g.cycles)
    if len(g.scores):
        tables["scorers"] = scorer_table(g.scores)
    if len(g.pretext):      # one network per category and task, unless seeds are replicates
        several = g.pretext.pretext_seed.nunique() > 1
        tables["pretext_representation"] = g.pretext if several else \
            g.pretext.drop(columns="pretext_seed")
    tables["learning"] = learning_table(g.cycles)
    if len(g.ceiling):
        tables["ceiling"] = ceiling_table(g.ceiling)
        first = g.every_cycle[g.every_cycle["query"] == g.queries[0]]
        tables["labels_saved"] = labels_saved_table(first, g.scorer_runs(), g.ceiling)
    if len(g.queries) > 1:
        every = {q: g.every_cycle[g.every_cycle["query"] == q] for q in g.queries}
        by_query = {q: g.within_budget(cycles) for q, cycles in every.items()}
        tables["query_effect"] = query_effect_table(by_query, g.queries[0])
        # the labels to a target read every cycle, as labels_saved does
        if len(g.ceiling) and len(labels := query_labels_table(
                every, g.queries[0], g.scorer_runs(), g.ceiling)):
            tables["query_labels"] = labels
    first = g.every_cycle[g.every_cycle["query"] == g.queries[0]]
    if "would_stop" in first and first.auroc.notna().any():
        tables["stopping"] = stopping_table(first)
    if g.marks:          # the first labeled set's size and every mark
        sizes = sorted({int(first[first.cycle == 0].n_labels.min()), *g.marks})
        tables["at_marks"] = marks_table(first, g.scorer_runs(), g.ceiling, sizes)
    if len({share_of(c) for c in g.cycles.category}) > 1:
        tables["by_share"] = share_table(g.cycles)
    return tables


def write_figure_list(g: Gathered, folder: Path) -> None:
    """figures.md: every figure written, with its caption (the docs include it)."""
    captions = figure_captions(len(g.seeds), g.cycles.category.nunique(), g.budget,
                               len(g.ceiling) > 0, g.scorer)
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
    captions = table_captions(g.scorer, g.rule, g.budget)
    for name, table in tables.items():
        write_table(table, folder, name, g, captions[name], latex=name.startswith("comparison"))
    write_text(folder / "missing_runs.txt", "".join(f"{m}\n" for m in g.missing))
    write_text(folder / "manifest.json", json_text(manifest(g)))
    # the findings as sentences, generated from these tables, for the pages that quote them
    write_text(folder / "findings.md", "".join(
        f"- {line}\n" for line in findings(tables, g.budget, g.scorer)))
    # runs on a category without a test split (your own images) have no test metrics
    curves = ("learning_curves", "mean_learning_curve", "comparison_auroc")
    if g.cycles.auroc.notna().any():
        ceiling = g.ceiling.groupby("category").auroc.mean().to_dict() if len(g.ceiling) \
            else {}
        scorer = g.scorer_runs().groupby("category").test_image_auroc.mean().dropna()
        first = g.every_cycle[g.every_cycle["query"] == g.queries[0]]
        stops = stops_per_run(first) if "would_stop" in first else None
        save_figure(plot_learning_curves(g.every_cycle, ceiling, scorer.to_dict(), g.scorer,
                                         budget=g.budget, stops=stops), folder, curves[0])
        save_figure(plot_mean_curve(g.cycles, scorer.mean() if len(scorer) else None,
                                    g.scorer), folder, curves[1])
        save_figure(plot_comparison(tables["comparison_auroc"]), folder, curves[2])
    else:
        for name in curves:                   # not a stale one of an earlier build either
            for suffix in (".png", ".pdf"):
                (folder / f"{name}{suffix}").unlink(missing_ok=True)
    shares = {cat: b.label.mean() for cat, b in g.batches.items() if b.label.notna().all()}
    save_figure(plot_defects(g.cycles, shares), folder, "anomalies_per_cycle")
    if g.batches:
        save_figure(plot_score_distributions(g.batches, g.per_batch, g.scorer), folder,
                    "score_distributions")
    plt.close("all")
    write_figure_list(g, folder)
    return tables
