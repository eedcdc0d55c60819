"""Stage 04's tables of what the labels bought: how much the classifier learned from
them, the supervised ceiling, the labels each init needs to close half the gap from its
scorer to it, and the active part of active learning (its queries against random ones
from the same initial sets)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from asal.stages.share_tables import share_of, share_order
from asal.stages.statistics import (aubc_per_run, censored_median, half_gap_targets, holm,
                                    labels_paired_p, labels_to_reach, last_cycle,
                                    learning_gain, paired_comparison, runs_reaching)


def learning_table(cycles: pd.DataFrame) -> pd.DataFrame:
    """Per init, over categories x seeds: test AUROC and balanced accuracy at the first and
    the last cycle, the gain (mean, std), and the labeled set's loss at the last cycle's end
    (median, largest)."""
    runs = learning_gain(cycles)
    rows = []
    for init, g in runs.groupby("init", sort=False):
        rows.append({"init": init, "first_auroc": g.first_auroc.mean(),
                     "last_auroc": g.last_auroc.mean(), "gain_mean": g.gain.mean(),
                     "gain_std": g.gain.std(),
                     "first_balanced_accuracy": g.first_balanced_accuracy.mean(),
                     "last_balanced_accuracy": g.last_balanced_accuracy.mean(),
                     "train_loss_median": g.last_train_loss.median(),
                     "train_loss_max": g.last_train_loss.max(), "runs": len(g)})
    return pd.DataFrame(rows)


def ceiling_table(ceiling: pd.DataFrame) -> pd.DataFrame:
    """Per category: the ceiling's test AUROC and balanced accuracy (mean, std over seeds),
    and beside it, where the ceiling recorded them, the features-only head's and the
    scorer's test AUROC (means)."""
    parts = {f"{name}_mean": (name, "mean") for name in ("features_only_auroc", "scorer_auroc")
             if name in ceiling and ceiling[name].notna().any()}
    stats = ceiling.groupby("category").agg(
        auroc_mean=("auroc", "mean"), auroc_std=("auroc", "std"),
        balanced_accuracy_mean=("balanced_accuracy", "mean"), **parts,
        pool_labels=("pool_labels", "first"), seeds=("seed", "size"))
    return stats.reset_index()


def labels_saved_table(every_cycle: pd.DataFrame, scorer: pd.DataFrame,
                       ceiling: pd.DataFrame) -> pd.DataFrame:
    """Per category and init: the labels at which the test AUROC first closes half the gap
    from the scorer's test AUROC to the ceiling's (means over seeds), over every cycle of
    the runs (a censored median: none where half the runs or more never do); the runs that
    never do are counted, and the labels they had are named."""
    targets = half_gap_targets(scorer, ceiling)
    runs = labels_to_reach(every_cycle, targets)
    rows = []
    for (cat, init), g in runs.groupby(["category", "init"], sort=False):
        hit, median = g.labels.dropna(), censored_median(g.labels)
        budget = int(g.most_labels.max())
        missed = f"not within {budget} labels in {len(g) - len(hit)} of {len(g)} runs"
        rows.append({"category": cat, "init": init, "target_auroc": targets[cat],
                     "runs_reaching": len(hit), "runs": len(g), "labels_median": median,
                     "labels_max": hit.max() if len(hit) else np.nan,
                     "budget_labels": budget,
                     "answer": missed if np.isnan(median) else
                     f"{median:g} labels (median)" + ("" if len(hit) == len(g) else
                                                     f"; {missed}")})
    return pd.DataFrame(rows)


def query_effect_table(cycles_by_query: dict[str, pd.DataFrame], first: str) -> pd.DataFrame:
    """Per init and other query: `first` against it from the same initial sets, paired over
    categories x seeds, on the final AUROC and the AUBC; Holm over the inits (one family
    per measure and query)."""
    rows = []
    base = cycles_by_query[first]
    for query, other in cycles_by_query.items():
        if query == first:
            continue
        both = pd.concat([base.assign(init=base.init + "|" + first),
                          other.assign(init=other.init + "|" + query)])
        final, areas = last_cycle(both), aubc_per_run(both)
        for init in sorted(set(base.init) & set(other.init)):
            a, b = f"{init}|{first}", f"{init}|{query}"
            row = {"init": init, "query": first, "against": query}
            for name, frame, value in (("final", final, "auroc"), ("aubc", areas, "aubc")):
                test = paired_comparison(frame[frame.init.isin([a, b])], a, b, value)
                row.update({f"{name}_{k}": test[k] for k in
                            ("pairs", "wins", "losses", "mean_difference", "wilcoxon_p")})
            rows.append(row)
    return holm(pd.DataFrame(rows), within="against")


def query_labels_table(cycles_by_query: dict[str, pd.DataFrame], first: str,
                       scorer: pd.DataFrame, ceiling: pd.DataFrame) -> pd.DataFrame:
    """Per defect share, init and other query: the labels to close half the gap from the
    scorer to the ceiling (labels_saved's target) with `first` and with the other query,
    from the same initial sets (censored medians over categories x seeds), their ratio,
    and the paired Wilcoxon of the labels (labels_paired_p), Holm over the inits of a
    share. The issue's question: does active learning need fewer labels than passive?"""
    targets = half_gap_targets(scorer, ceiling)
    reach = {q: labels_to_reach(c, targets).assign(query=q) for q, c in
             cycles_by_query.items()}
    rows = []
    for query in (q for q in reach if q != first):
        both = pd.concat([reach[first], reach[query]])
        for group in sorted({share_of(c) for c in both.category}, key=share_order):
            part = both[both.category.map(share_of) == group]
            for init in sorted(set(reach[first].init) & set(reach[query].init)):
                mine = part[part.init == init]
                arms = mine.assign(init=mine["query"])
                a, b = (censored_median(arms[arms.init == q].labels) for q in (first, query))
                rows.append({"share": group, "init": init, "query": first, "against": query,
                             f"labels_{first}": a, f"labels_{query}": b,
                             "labels_ratio": a / b if b else np.nan,
                             "runs_closing": runs_reaching(arms[arms.init == first].labels),
                             "runs_closing_against":
                                 runs_reaching(arms[arms.init == query].labels),
                             "labels_wilcoxon_p": labels_paired_p(arms, first, query)})
    return holm(pd.DataFrame(rows), within="share", measures=("labels",)) if rows \
        else pd.DataFrame()

