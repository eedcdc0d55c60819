"""Stage 04's table of the scorers: how each ranked the pools and what it gave ASAL's pick.
What each cost differs run to run, so it is the manifest's (results.manifest), not this
table's."""

from __future__ import annotations

import numpy as np
import pandas as pd

SPREADS = ("pool_auroc_std", "test_auroc_std")


def scorer_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per category and scorer run (scorer, train_on): pool and test AUROC (mean, std over
    the scorer seeds), the defects in ASAL's initial set on its ranking (mean) and the
    seeds; then, per scorer run, the mean over the categories (its spreads
    the seed sd pooled over them, the root mean square)."""
    keys = ["scorer", "train_on"]
    stats = scores.groupby(["category", *keys], sort=False).agg(
        pool_auroc_mean=("pool_image_auroc", "mean"),
        pool_auroc_std=("pool_image_auroc", "std"),
        test_auroc_mean=("test_image_auroc", "mean"),
        test_auroc_std=("test_image_auroc", "std"),
        asal_defects=("asal_defects", "mean"),
        seeds=("scorer_seed", "size")).reset_index()
    rows = []
    for (scorer, train_on), g in stats.groupby(keys, sort=False):
        row = {"category": "mean", "scorer": scorer, "train_on": train_on,
               **g.drop(columns=["category", *keys]).mean(numeric_only=True).to_dict(),
               "seeds": int(g.seeds.iloc[0])}
        for col in SPREADS:
            row[col] = float(np.sqrt((g[col] ** 2).mean()))
        rows.append(row)
    return pd.concat([stats, pd.DataFrame(rows, columns=stats.columns)], ignore_index=True)
