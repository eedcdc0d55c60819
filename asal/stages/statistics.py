"""The statistics of the results: budget curves, means over seeds, paired tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon
from statsmodels.stats.multitest import multipletests


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
    return holm(pd.DataFrame(rows))


def scorer_auroc_of_runs(runs: pd.DataFrame, scorer: pd.DataFrame) -> pd.Series:
    """Per row of `runs` (category, seed): the test AUROC of the scorer that ranked its
    pool, with no label: the same seed's where the scorer has it (tied seeds), else the
    scorer's mean over its seeds."""
    own = scorer.groupby(["category", "scorer_seed"]).test_image_auroc.mean()
    mean = scorer.groupby("category").test_image_auroc.mean()
    return pd.Series([own.get((c, s), mean.get(c, np.nan))
                      for c, s in zip(runs.category, runs.seed)], index=runs.index,
                     dtype=float)


def against_scorer(final: pd.DataFrame, scorer: pd.DataFrame) -> pd.DataFrame:
    """Per init, paired over (category, seed): its test AUROC at the budget against the
    test AUROC of the scorer that ranked its pool (scorer_auroc_of_runs). Wilcoxon, Holm
    over the inits (a gain as small as the seeds' spread is then no difference)."""
    if not len(scorer) or scorer.test_image_auroc.isna().all():
        return pd.DataFrame()
    runs = final[["category", "seed"]].drop_duplicates()
    baseline = runs.assign(init="scorer", auroc=scorer_auroc_of_runs(runs, scorer))
    both = pd.concat([final[["category", "seed", "init", "auroc"]], baseline])
    rows = [{"init": init, **{f"final_{k}": v for k, v in
                              paired_comparison(both, init, "scorer").items()}}
            for init in final.init.unique()]
    return holm(pd.DataFrame(rows), measures=("final",))


def holm(table: pd.DataFrame, within: str | None = None,
         measures=("final", "aubc")) -> pd.DataFrame:
    """`<measure>_p_holm`: each measure's Wilcoxon p-values corrected by Holm, one family
    per measure (and per value of the column `within`, where given); NaN stays NaN."""
    groups = table.groupby(within).groups.values() if within else [table.index]
    for name in measures:
        table[f"{name}_p_holm"] = np.nan
        for idx in groups:
            p = table.loc[idx, f"{name}_wilcoxon_p"]
            ok = p.notna()
            if ok.any():
                table.loc[p[ok].index, f"{name}_p_holm"] = multipletests(p[ok],
                                                                         method="holm")[1]
    return table


def initial_anomalies(cycles: pd.DataFrame) -> pd.DataFrame:
    """Anomalies in the initial labeled set (cycle 0), per category and init, over seeds."""
    first = cycles[cycles.cycle == 0]
    table = first.groupby(["category", "init"]).n_anomalies.agg(
        ["mean", "min", "max"]).reset_index()
    labels = first.groupby(["category", "init"]).n_labels.first().reset_index(drop=True)
    return table.assign(initial_labels=labels.to_numpy())


def learning_gain(cycles: pd.DataFrame) -> pd.DataFrame:
    """Per run: test AUROC and balanced accuracy at the first and the last cycle, the gain,
    and the labeled set's training loss at the last cycle's end."""
    rows = []
    for (c, i, s), g in cycles.groupby(["category", "init", "seed"]):
        g = g.sort_values("cycle")
        first, last = g.iloc[0], g.iloc[-1]
        rows.append({"category": c, "init": i, "seed": s, "first_auroc": first.auroc,
                     "last_auroc": last.auroc, "gain": last.auroc - first.auroc,
                     "first_balanced_accuracy": first.balanced_accuracy,
                     "last_balanced_accuracy": last.balanced_accuracy,
                     "last_train_loss": last.get("train_loss", np.nan)})
    return pd.DataFrame(rows)


def labels_to_reach(cycles: pd.DataFrame, targets: dict[str, float]) -> pd.DataFrame:
    """Per run of a category with a target: the fewest labels at which the test AUROC
    reaches it (NaN when no cycle of the run does)."""
    rows = []
    for (c, i, s), g in cycles[cycles.category.isin(targets)].groupby(
            ["category", "init", "seed"]):
        g = g.sort_values("n_labels")
        hit = g.n_labels[g.auroc >= targets[c]]
        rows.append({"category": c, "init": i, "seed": s,
                     "labels": float(hit.iloc[0]) if len(hit) else np.nan,
                     "most_labels": int(g.n_labels.max())})
    return pd.DataFrame(rows, columns=["category", "init", "seed", "labels", "most_labels"])


def half_gap_targets(scorer: pd.DataFrame, ceiling: pd.DataFrame) -> dict[str, float]:
    """Per category: halfway from the scorer's test AUROC to the ceiling's (means over
    seeds), the labels-to-reach target of 04's tables; a fraction of the ceiling alone can
    lie below the scorer with no label, where every run reaches it. Categories whose
    ceiling is not above the scorer have no gap to close."""
    if not len(scorer) or not len(ceiling):
        return {}
    low = scorer.groupby("category").test_image_auroc.mean()
    high = ceiling.groupby("category").auroc.mean()
    both = low.index.intersection(high.index)
    return {c: float((low[c] + high[c]) / 2) for c in both if high[c] > low[c]}


def censored_median(labels: pd.Series) -> float:
    """The median labels to a target over runs, a run that never reaches it counted as
    needing more than it had: NaN when half the runs or more never do, since the median is
    then past the budget. (A median over only the runs that reach it would compare
    different runs: an init that reaches early in 3 runs of 10 would look fast.)"""
    if not len(labels):
        return np.nan
    median = labels.fillna(np.inf).median()
    return float(median) if np.isfinite(median) else np.nan


def labels_paired_p(hits: pd.DataFrame, a: str, b: str) -> float:
    """Wilcoxon on the paired labels to a target (labels_to_reach's rows, `init` naming
    the arms), over (category, seed): a run that never gets there is counted at its most
    labels + 1, so it ranks after every run that does (the test is then conservative for
    it)."""
    counted = hits.assign(labels=hits.labels.fillna(hits.most_labels + 1))
    return paired_comparison(counted, a, b, "labels")["wilcoxon_p"]


def runs_reaching(labels: pd.Series) -> str:
    """"k of n": the runs (labels_to_reach's labels) that reach the target within their
    budget."""
    return f"{int(labels.notna().sum())} of {len(labels)}"
