"""Stage 04's account of the stopping rule (asal/models/stopping.py): where each run's rule
would have stopped, the test AUROC there against at the run's end, and the labels that
stop would have saved."""

from __future__ import annotations

import numpy as np
import pandas as pd

LOSS = 0.02            # the AUROC a stop may cost against the run's end (the target)


def stops_per_run(every_cycle: pd.DataFrame) -> pd.DataFrame:
    """Per run (category, init, seed): the labels and test AUROC at the first cycle whose
    rule says stop (NaN where it never does), and at the run's last cycle."""
    rows = []
    for (cat, init, seed), g in every_cycle.groupby(["category", "init", "seed"], sort=False):
        g = g.sort_values("cycle")
        stopped = g[g.would_stop.astype(bool)] if "would_stop" in g else g.iloc[:0]
        first = stopped.iloc[0] if len(stopped) else None
        rows.append({"category": cat, "init": init, "seed": seed,
                     "stop_labels": np.nan if first is None else first.n_labels,
                     "stop_auroc": np.nan if first is None else first.auroc,
                     "end_labels": g.n_labels.iloc[-1], "end_auroc": g.auroc.iloc[-1]})
    return pd.DataFrame(rows, columns=["category", "init", "seed", "stop_labels",
                                       "stop_auroc", "end_labels", "end_auroc"])


def stopping_table(every_cycle: pd.DataFrame) -> pd.DataFrame:
    """Per category and init, over the seeds: the runs whose rule stops, the labels at the
    stop (median), the test AUROC there and at the end (mean), the AUROC a stop costs
    (mean), the runs that stop within LOSS of their end, and the labels saved (median)."""
    runs = stops_per_run(every_cycle)
    runs["loss"] = runs.end_auroc - runs.stop_auroc
    runs["saved"] = runs.end_labels - runs.stop_labels
    rows = []
    for (cat, init), g in runs.groupby(["category", "init"], sort=False):
        s = g.dropna(subset=["stop_labels"])
        rows.append({"category": cat, "init": init, "runs": len(g), "runs_stopping": len(s),
                     "stop_labels_median": s.stop_labels.median(),
                     "stop_auroc_mean": s.stop_auroc.mean(),
                     "end_labels": int(g.end_labels.max()), "end_auroc_mean": g.end_auroc.mean(),
                     "loss_mean": s.loss.mean(),
                     f"runs_within_{LOSS:g}": int((s.loss <= LOSS).sum()),
                     "labels_saved_median": s.saved.median()})
    return pd.DataFrame(rows)
