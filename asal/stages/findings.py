"""04's closing section: the findings as sentences generated from the tables.

Every sentence is built from the numbers it states, so a rebuilt experiment says what its
own tables say (never a sentence typed once). A difference is called one only where its
Holm-corrected p is below ALPHA; for the others the sentences say "no difference".
"""

from __future__ import annotations

import pandas as pd

ALPHA = 0.05


def _signed(x: float) -> str:
    """+0.012, and +0.000 where rounding leaves a negative zero."""
    return f"{round(x, 3) + 0.0:+.3f}"


def _p(p: float) -> str:
    if pd.isna(p):                  # Wilcoxon needs two pairs that differ
        return "p not defined: fewer than two pairs differ"
    return f"p = {p:.2f}" if p >= 0.01 else "p < 0.01"


def _verdict(p_holm: float) -> str:
    """A paired difference in words: significant only below ALPHA after Holm's correction."""
    if not pd.isna(p_holm) and p_holm < ALPHA:
        return f"a difference (Holm-corrected {_p(p_holm)})"
    return f"no difference (Holm-corrected {_p(p_holm)})"


def against_random(table: pd.DataFrame, measure: str, words: str) -> str:
    """Which initial selections differ from Random on a measure (final or aubc)."""
    rest = table[table.init != "random"]
    if rest.empty or rest[f"{measure}_mean_difference"].isna().all():
        return ""
    diff, p = rest[f"{measure}_mean_difference"], rest[f"{measure}_p_holm"]
    found = p < ALPHA           # above or below, a difference Holm does not find is none
    parts = [f"`{init}` {'beats Random' if d > 0 else 'is worse'} ({d:+.3f}, Holm {_p(q)})"
             for init, d, q in sorted(zip(rest.init[found], diff[found], p[found]),
                                      key=lambda t: -t[1])]
    if (~found).any():
        low = p[~found].min()
        told = ("Holm-corrected p not defined: fewer than two pairs differ" if pd.isna(low)
                else "every Holm-corrected p is 1.00" if low >= 0.995
                else f"the lowest Holm-corrected p is {low:.2f}")
        parts.append(("no other initial selection differs from Random" if parts else
                      "no difference between any initial selection and Random")
                     + f" ({told})")
    return f"{words}: " + "; ".join(parts) + "."


def initial_defects(table: pd.DataFrame) -> str:
    """ASAL's premise: defects in its initial set against Random's."""
    by = table.set_index("init").initial_defects_mean
    if "asal" not in by or "random" not in by:
        return ""
    most = by.idxmax()
    return (f"ASAL's initial set holds {by['asal']:.1f} defects on average, Random's "
            f"{by['random']:.1f}" + (f"; the most is `{most}`'s ({by[most]:.1f})."
                                     if most != "asal" else ", and no other holds more."))


def scorer_against_classifier(comparison: pd.DataFrame, at: str, scorer: str,
                              paired: pd.DataFrame | None = None) -> str:
    """The ranking scorer's own test AUROC against the best classifier, over the
    categories' mean, and whether the paired test (the against_scorer table) finds a
    difference."""
    mean, column = comparison[comparison.category == "mean"], f"{scorer}_mixed"
    if mean.empty or column not in mean:
        return ""
    row = mean.iloc[0]
    inits = [c[:-5] for c in comparison.columns if c.endswith("_mean")
             and pd.notna(row[c])]
    if not inits or pd.isna(row[column]):       # no test split: no test AUROC
        return ""
    best = max(inits, key=lambda i: row[f"{i}_mean"])
    gap = row[f"{best}_mean"] - row[column]
    test = paired.set_index("init").loc[best] if paired is not None and len(paired) and \
        best in set(paired.init) else None
    told = f"{_signed(gap)}" + ("" if test is None else f", {_verdict(test.final_p_holm)}")
    return (f"The best classifier {at} (`{best}`, {row[f'{best}_mean']:.3f}) against the "
            f"test AUROC of {scorer}, the scorer that ranked the pool, with no label "
            f"({row[column]:.3f}): {told}, averaged over the categories.")


def learning(table: pd.DataFrame) -> str:
    """What the labels bought: the gain in test AUROC from the first to the last cycle."""
    table = table.dropna(subset=["gain_mean"])
    if table.empty:
        return ""
    runs = table.runs.sum()
    gain = (table.gain_mean * table.runs).sum() / runs
    low, high = table.loc[table.gain_mean.idxmin()], table.loc[table.gain_mean.idxmax()]
    spread = (f"{_signed(low.gain_mean)} for every init"
              if _signed(low.gain_mean) == _signed(high.gain_mean) else
              f"from {_signed(low.gain_mean)} for `{low.init}` to "
              f"{_signed(high.gain_mean)} for `{high.init}`")
    return (f"From the first to the last cycle the test AUROC rises by {_signed(gain)} on "
            f"average over the {runs} runs ({spread}).")


def labels_saved(table: pd.DataFrame) -> str:
    """Labels to close half the gap from the scorer to the ceiling, ASAL against Random."""
    parts = []
    for cat, rows in table.groupby("category"):
        by = rows.set_index("init").answer
        if "asal" in by and "random" in by:
            parts.append(f"{cat}: ASAL {by['asal']}, Random {by['random']}")
    return ("To close half the gap from the scorer's test AUROC to the supervised "
            "ceiling's: " + "; ".join(parts) + ".") if parts else ""


def per_share(table: pd.DataFrame, at: str) -> list[str]:
    """One sentence per defect share (the by_share table): the start and the end."""
    sentences = []
    for share, rows in table.groupby("share", sort=False):
        by = rows.set_index("init")
        if "random" not in by.index:
            continue
        rnd, scored = by.loc["random"], by.drop(index="random")
        start = scored.initial_defects_mean.idxmax()
        end = scored.final_auroc_mean.idxmax()
        line = (f"At the {share} share of defects: Random's first labels hold "
                f"{rnd.initial_defects_mean:.1f} defects and "
                f"{rnd.runs_without_defect:.0%} of its runs start with none; `{start}`'s hold "
                f"{by.loc[start].initial_defects_mean:.1f}, "
                f"{by.loc[start].runs_without_defect:.0%} without. Test AUROC {at}: "
                f"`{end}` {by.loc[end].final_auroc_mean:.3f}, Random "
                f"{rnd.final_auroc_mean:.3f}: {_verdict(by.loc[end].final_p_holm)}.")
        sentences.append(line)
    return sentences


def at_marks(table: pd.DataFrame) -> list[str]:
    """One sentence per defect share (the at_marks table): the best init from the first
    labels to the most, against the scorer, its balanced accuracy, and the labels to half
    the gap to the ceiling against Random's."""
    sizes = sorted(int(c.split("_")[1]) for c in table.columns if c.startswith("auroc_"))
    first, last = sizes[0], sizes[-1]
    sentences = []
    for share, rows in table.groupby("share", sort=False):
        by = rows.set_index("init")
        best = by[f"auroc_{last}"].idxmax()
        r = by.loc[best]
        line = (f"At the {share} share of defects, with the most labels: `{best}`, test "
                f"AUROC {r[f'auroc_{first}']:.3f} at {first} labels and "
                f"{r[f'auroc_{last}']:.3f} at {last} ({_signed(r.gain_over_scorer)} over the "
                f"scorer), balanced accuracy {r[f'balanced_accuracy_{first}']:.3f} and "
                f"{r[f'balanced_accuracy_{last}']:.3f}.")
        line += " " + _half_gap(by, last)
        sentences.append(line)
    return sentences


def _half_gap(by: pd.DataFrame, last: int) -> str:
    """The labels to close half the scorer-to-ceiling gap: the fastest init that does in
    more than half its runs (the medians count a run that never does past the budget)."""
    if by.runs_closing_half_gap.str.endswith(" of 0").all():
        return "The ceiling is not above the scorer here: there is no gap to close."
    scored = by.drop(index="random", errors="ignore")
    closing = scored.labels_to_half_gap.dropna()
    if len(closing):
        fastest = closing.idxmin()
        ratio = scored.labels_ratio_to_random[fastest]
        versus = (f"{ratio:.2f} times Random's" if pd.notna(ratio) else
                  "Random does not in more than half its runs")
        if "labels_p_holm" in scored:
            versus += f", {_verdict(scored.labels_p_holm[fastest])}"
        return (f"To close half the gap from the scorer to the ceiling, `{fastest}` needs "
                f"{closing[fastest]:.0f} labels (median; {versus}; runs that do: "
                f"{by.loc[fastest].runs_closing_half_gap}).")
    if "random" in by.index and pd.notna(by.loc["random"].labels_to_half_gap):
        return (f"To close half the gap from the scorer to the ceiling, Random needs "
                f"{by.loc['random'].labels_to_half_gap:.0f} labels (median); no other init "
                "does in more than half its runs.")
    return (f"Within {last} labels, no init closes half the gap from the scorer to the "
            "ceiling in more than half its runs.")


def findings(tables: dict[str, pd.DataFrame], budget: int | None,
             scorer: str = "draem") -> list[str]:
    """The closing sentences, in the order a reader asks."""
    at = f"at {budget} labels" if budget else "after the last cycle"
    vs = tables["inits_vs_random"]
    sentences = [against_random(vs, "final", f"Test AUROC {at}"),
                 against_random(vs, "aubc", "Area under the budget curve"),
                 initial_defects(vs),
                 scorer_against_classifier(tables["comparison_auroc"], at, scorer,
                                           tables.get("against_scorer")),
                 learning(tables["learning"])]
    # with the answer at marks, the labels per share are its sentences
    if "labels_saved" in tables and "at_marks" not in tables:
        sentences.append(labels_saved(tables["labels_saved"]))
    if "by_share" in tables:
        sentences += per_share(tables["by_share"], at)
    if "at_marks" in tables:
        sentences += at_marks(tables["at_marks"])
    if "query_effect" in tables:
        sentences.append(query_effect(tables["query_effect"], at))
    if "query_labels" in tables:
        sentences += query_labels(tables["query_labels"])
    return [s for s in sentences if s]


def query_effect(table: pd.DataFrame, at: str) -> str:
    """Active learning against passive labeling: the first query against each other one,
    from the same initial sets."""
    if table.empty:
        return ""
    parts = [f"from `{r['init']}`'s start {_signed(r['final_mean_difference'])} "
             f"({r['final_wins']:.0f} wins, {r['final_losses']:.0f} losses of "
             f"{r['final_pairs']:.0f} pairs; {_verdict(r['final_p_holm'])})"
             for r in table.to_dict("records")]
    first, other = table["query"].iloc[0], table["against"].iloc[0]
    return (f"Test AUROC {at}, {first.replace('_', ' ')} queries against {other} ones: "
            + "; ".join(parts) + ".")


def query_labels(table: pd.DataFrame) -> list[str]:
    """One sentence per defect share: the labels each query needs to close half the gap
    from the scorer to the ceiling, from each init's start (the query_labels table)."""
    sentences = []
    for share, rows in table.groupby("share", sort=False):
        parts = []
        for r in rows.to_dict("records"):
            said = [f"{q.replace('_', ' ')} " + (f"{v:.0f} labels" if pd.notna(v) else
                                                "never in half its runs or more")
                    for q, v in ((r[k], r[f"labels_{r[k]}"]) for k in ("query", "against"))]
            ratio = f"ratio {r['labels_ratio']:.2f}, " if pd.notna(r["labels_ratio"]) else ""
            parts.append(f"from `{r['init']}`'s start, {said[0]} and {said[1]} "
                         f"({ratio}{_verdict(r['labels_p_holm'])})")
        sentences.append(f"At the {share} share of defects, the labels each query needs "
                         "to close half the gap from the scorer to the ceiling (median): "
                         + "; ".join(parts) + ".")
    return sentences


def run_summary(cycles: pd.DataFrame) -> str:
    """One line on what a run's cycle table shows (03)."""
    if cycles.empty:
        return "No cycle is trained yet."
    first, last = cycles.iloc[0], cycles.iloc[-1]
    line = (f"The labeled set grew from {first.n_labels:.0f} to {last.n_labels:.0f} images "
            f"({first.n_anomalies:.0f} to {last.n_anomalies:.0f} defects)")
    if cycles.auroc.notna().any():
        best = cycles.loc[cycles.auroc.idxmax()]
        line += (f"; test AUROC went from {first.auroc:.2f} to {last.auroc:.2f} (highest "
                 f"{best.auroc:.2f}, at {best.n_labels:.0f} labels), balanced accuracy from "
                 f"{first.balanced_accuracy:.2f} to {last.balanced_accuracy:.2f}. Accuracy "
                 "counts the classifier's argmax on a test split with few defects, so AUROC "
                 "and balanced accuracy are the numbers to read")
    return line + "."
