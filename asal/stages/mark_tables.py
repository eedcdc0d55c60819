"""Stage 04's answer at the labeled-set sizes a team plans with (10, 20, 50, 100, 200):
per defect share and init, the test AUROC and balanced accuracy at each, the gain over the
scorer that ranked the pool, the labels each init needs to close half of the gap between
that scorer and the supervised ceiling, against Random's, and to come within NEAR of the
ceiling."""

from __future__ import annotations

import numpy as np
import pandas as pd

from asal.stages.statistics import (censored_median, half_gap_targets, holm,
                                    labels_paired_p, labels_to_reach, paired_comparison,
                                    runs_reaching, scorer_auroc_of_runs)
from asal.stages.share_tables import share_of, share_order

NEAR = 0.02      # of test AUROC: "within reach of the ceiling"


def at_marks(every_cycle: pd.DataFrame, marks: list[int]) -> pd.DataFrame:
    """Per run and mark: the cycle whose labeled set holds exactly `mark` labels."""
    return every_cycle[every_cycle.n_labels.isin(marks)]


def marks_table(every_cycle: pd.DataFrame, scorer: pd.DataFrame, ceiling: pd.DataFrame,
                marks: list[int], baseline: str = "random") -> pd.DataFrame:
    """Per share and init (its categories x seeds pooled): AUROC and balanced accuracy at
    each mark (mean), the gain over the scorer at the last mark (mean, and its Wilcoxon
    p against Random's, Holm over the inits of a share), and the labels to close half the
    scorer-to-ceiling gap and to come within NEAR of the ceiling (censored medians over
    the runs: none where half of them or more never do; the ratio to Random's, and a
    paired test of the labels against Random's, Holm over the inits of a share)."""
    seen = at_marks(every_cycle, marks)
    last = max(m for m in marks if (seen.n_labels == m).any())
    end = seen[seen.n_labels == last]
    end = end.assign(gain=end.auroc - scorer_auroc_of_runs(end, scorer))
    targets = half_gap_targets(scorer, ceiling)
    reach = labels_to_reach(every_cycle, targets)
    near = labels_to_reach(every_cycle, (ceiling.groupby("category").auroc.mean() - NEAR)
                           .to_dict() if len(ceiling) else {})
    rows = []
    for group in sorted({share_of(c) for c in every_cycle.category}, key=share_order):
        cats = [c for c in every_cycle.category.unique() if share_of(c) == group]
        part = seen[seen.category.isin(cats)]
        hits, close = reach[reach.category.isin(cats)], near[near.category.isin(cats)]
        base = censored_median(hits[hits.init == baseline].labels)
        gains = end[end.category.isin(cats)]
        for init in sorted(part.init.unique(), key=lambda i: (i == baseline, i)):
            mine = part[part.init == init]
            row = {"share": group, "init": init}
            for m in marks:
                at = mine[mine.n_labels == m]
                row[f"auroc_{m}"] = at.auroc.mean()
                row[f"balanced_accuracy_{m}"] = at.balanced_accuracy.mean()
            row["gain_over_scorer"] = gains[gains.init == init].gain.mean()
            row["final_wilcoxon_p"] = paired_comparison(gains, init, baseline)["wilcoxon_p"] \
                if init != baseline else np.nan
            hit = hits[hits.init == init].labels
            row["labels_to_half_gap"] = censored_median(hit)
            row["runs_closing_half_gap"] = runs_reaching(hit)
            row["labels_ratio_to_random"] = row["labels_to_half_gap"] / base if base else np.nan
            row["labels_wilcoxon_p"] = labels_paired_p(hits, init, baseline) \
                if init != baseline else np.nan
            within = close[close.init == init].labels
            row["labels_to_ceiling_less_0.02"] = censored_median(within)
            row["runs_within_0.02"] = runs_reaching(within)
            rows.append(row)
    return holm(pd.DataFrame(rows), within="share", measures=("final", "labels"))
