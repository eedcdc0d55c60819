"""Stage 04's answer per defect share: an experiment whose categories come at several
shares of defects (ELPV's natural share, and `<name>_10pct`, `<name>_5pct` made with
--defect-ratio) asks per share whether the anomaly-score start helps, and whether it ends
higher. The categories of one share are pooled; Random is the baseline."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from asal.stages.statistics import aubc_per_run, holm, last_cycle, paired_comparison

NATURAL = "natural"


def share_of(category: str) -> str:
    """"10 %" for elpv_mono_10pct, "natural" for a category as published."""
    m = re.search(r"_(\d+)pct$", category)
    return f"{int(m.group(1))} %" if m else NATURAL


def share_table(cycles: pd.DataFrame, baseline: str = "random") -> pd.DataFrame:
    """Per defect share and init, over its categories x seeds: the defects in the first
    labels (mean) and the share of runs that start with none; the test AUROC at the
    budget and the AUBC (mean), each paired against `baseline` (Wilcoxon, Holm over the
    inits of the share). The labels each init needs are the labels_saved and at_marks
    tables'."""
    final, areas = last_cycle(cycles), aubc_per_run(cycles)
    first = cycles[cycles.cycle == 0]
    rows = []
    for group in sorted({share_of(c) for c in cycles.category}, key=share_order):
        cats = [c for c in cycles.category.unique() if share_of(c) == group]
        part = {k: v[v.category.isin(cats)] for k, v in
                (("first", first), ("final", final), ("areas", areas))}
        for init in sorted(part["final"].init.unique(), key=lambda i: (i == baseline, i)):
            rows.append({"share": group, "init": init, **_one(part, init, baseline)})
    return holm(pd.DataFrame(rows), within="share")


def _one(part: dict, init: str, baseline: str) -> dict:
    f0 = part["first"][part["first"].init == init]
    row = {"runs": len(f0), "initial_defects_mean": f0.n_anomalies.mean(),
           "runs_without_defect": float((f0.n_anomalies == 0).mean()),
           "final_auroc_mean": part["final"][part["final"].init == init].auroc.mean(),
           "aubc_mean": part["areas"][part["areas"].init == init].aubc.mean()}
    for name, frame, value in (("final", part["final"], "auroc"),
                               ("aubc", part["areas"], "aubc")):
        test = paired_comparison(frame[frame.init.isin([init, baseline])], init, baseline,
                                 value) if init != baseline else {}
        row[f"{name}_difference"] = test.get("mean_difference", np.nan)
        row[f"{name}_wilcoxon_p"] = test.get("wilcoxon_p", np.nan)
    return row


def share_order(group: str) -> float:
    return -1.0 if group == NATURAL else -float(group.split()[0])
