"""04's tables of what the labels bought, on runs whose numbers the test sets."""

import numpy as np
import pandas as pd

from asal.stages.learning_tables import (labels_saved_table, learning_table, query_effect_table,
                                         query_labels_table)
from asal.stages.mark_tables import marks_table
from asal.stages.statistics import against_scorer


def _runs(curves: dict[tuple[str, str, int], list[float]]) -> pd.DataFrame:
    rows = []
    for (cat, init, seed), aurocs in curves.items():
        for cycle, auroc in enumerate(aurocs):
            rows.append({"category": cat, "init": init, "seed": seed, "cycle": cycle,
                         "n_labels": 10 + cycle, "auroc": auroc,
                         "balanced_accuracy": auroc - 0.1, "train_loss": 0.1})
    return pd.DataFrame(rows)


def test_labels_saved_counts_the_first_cycle_that_closes_half_the_gap():
    """Scorer 0.70, ceiling 0.90: the target is 0.80. A run that never reaches it counts
    past the budget, so Random (one run of two) has no median, where a median over the
    runs that reach it would say 12 labels."""
    cycles = _runs({("c", "asal", 0): [0.5, 0.7, 0.8, 0.9], ("c", "asal", 1): [0.6, 0.8, 0.9, 0.9],
                    ("c", "random", 0): [0.5, 0.5, 0.6, 0.7],
                    ("c", "random", 1): [0.5, 0.7, 0.81, 0.8]})
    scorer = pd.DataFrame({"category": ["c", "c"], "scorer_seed": [0, 1],
                           "test_image_auroc": [0.70, 0.70]})
    ceiling = pd.DataFrame({"category": ["c", "c"], "seed": [0, 1], "auroc": [0.9, 0.9]})
    table = labels_saved_table(cycles, scorer, ceiling).set_index("init")
    assert np.isclose(table.target_auroc["asal"], 0.80)
    # 0.8 >= 0.80 first at 12 labels (seed 0) and at 11 (seed 1)
    assert table.labels_median["asal"] == 11.5
    assert table.answer["asal"] == "11.5 labels (median)"
    assert table.runs_reaching["random"] == 1 and np.isnan(table.labels_median["random"])
    assert table.answer["random"] == "not within 13 labels in 1 of 2 runs"
    three = pd.concat([cycles, _runs({("c", "random", 2): [0.5, 0.6, 0.85, 0.9]})])
    row = labels_saved_table(three, scorer, ceiling).set_index("init").loc["random"]
    assert row.labels_median == 12 and row.answer == ("12 labels (median); not within 13 "
                                                      "labels in 1 of 3 runs")
    # a ceiling not above the scorer: no gap, no target, no row
    assert labels_saved_table(cycles, scorer.assign(test_image_auroc=0.95), ceiling).empty


def test_learning_reports_the_gain_from_first_to_last_cycle():
    cycles = _runs({("c", "asal", 0): [0.5, 0.7], ("c", "asal", 1): [0.6, 0.6]})
    row = learning_table(cycles).iloc[0]
    assert np.isclose(row.gain_mean, 0.1) and np.isclose(row.gain_std, np.std([0.2, 0.0],
                                                                                ddof=1))


def test_the_query_effect_pairs_runs_of_one_init_and_seed():
    first = _runs({("c", "asal", s): [0.5, 0.6 + 0.01 * s] for s in range(6)})
    other = _runs({("c", "asal", s): [0.5, 0.55] for s in range(6)})
    table = query_effect_table({"least_confidence": first, "random": other},
                               "least_confidence")
    row = table.iloc[0]
    assert (row.init, row.against, row.final_pairs, row.final_wins) == ("asal", "random", 6, 6)
    assert row.final_mean_difference > 0 and row.final_wilcoxon_p < 0.05


def test_the_answer_at_marks_reads_each_mark_the_gain_and_the_labels_to_half_the_gap():
    """Scorer 0.80 and ceiling 0.90 on every category: half the gap is 0.85. ASAL reaches
    it at 12 labels, Random at 13; the natural share and the
    10 % share are told apart."""
    curves = {}
    for cat in ("c", "c_10pct"):
        curves.update({(cat, "asal", 0): [0.80, 0.82, 0.86, 0.88],
                       (cat, "asal", 1): [0.80, 0.84, 0.86, 0.87],
                       (cat, "random", 0): [0.80, 0.80, 0.84, 0.86],
                       (cat, "random", 1): [0.80, 0.81, 0.82, 0.86]})
    cycles = _runs(curves)
    scorer = pd.DataFrame({"category": ["c", "c", "c_10pct", "c_10pct"], "scorer_seed": [0, 1] * 2,
                           "test_image_auroc": 0.8})
    ceiling = pd.DataFrame({"category": ["c", "c_10pct"], "seed": [0, 0], "auroc": 0.9})
    table = marks_table(cycles, scorer, ceiling, [10, 11, 13])
    assert table.share.tolist() == ["10 %", "10 %", "natural", "natural"]   # share_order
    row = table.set_index(["share", "init"]).loc[("10 %", "asal")]
    assert np.isclose(row.auroc_11, 0.83) and np.isclose(row.auroc_13, 0.875)
    assert "auroc_12" not in table                       # only the marks asked for
    assert np.isclose(row.balanced_accuracy_10, 0.70)
    assert np.isclose(row.gain_over_scorer, 0.075)       # at 13 labels, the last mark
    assert row.labels_to_half_gap == 12 and row.runs_closing_half_gap == "2 of 2"
    random = table.set_index(["share", "init"]).loc[("natural", "random")]
    assert random.labels_to_half_gap == 13 and random.runs_closing_half_gap == "2 of 2"
    assert np.isclose(row.labels_ratio_to_random, 12 / 13)
    # the paired labels test: two pairs that differ (12 against 13), p defined; Random
    # against itself has none
    assert 0 < row.labels_wilcoxon_p <= 1 and np.isnan(random.labels_wilcoxon_p)
    # within 0.02 of the ceiling (0.88): ASAL's seed 0 at 13 labels, its seed 1 never, so
    # the median is past the budget (counting only seed 0 would say 13)
    assert np.isnan(row["labels_to_ceiling_less_0.02"]) and row["runs_within_0.02"] == "1 of 2"


def test_against_the_scorer_pairs_each_run_with_its_own_seeds_scorer():
    """ASAL is 0.02 above its seed's scorer on 6 pairs: a difference; Random equals its
    scorer but for noise of both signs: none. Category d's scorer has seed 0 only, so its
    other seeds are paired with that scorer's mean."""
    runs = [{"category": c, "seed": s, "init": i, "auroc": a}
            for c in ("c", "d") for s in range(3)
            for i, a in (("asal", 0.80 + 0.01 * s + 0.02), ("random", 0.80 + 0.01 * s
                                                              + (0.002 if s % 2 else -0.002)))]
    final = pd.DataFrame(runs)
    scorer = pd.DataFrame({"category": ["c", "c", "c", "d"], "scorer_seed": [0, 1, 2, 0],
                           "test_image_auroc": [0.80, 0.81, 0.82, 0.81]})
    table = against_scorer(final, scorer).set_index("init")
    assert table.final_pairs["asal"] == 6
    assert np.isclose(table.final_mean_difference["asal"], (0.02 * 3 + 0.01 + 0.02 + 0.03) / 6)
    assert table.final_p_holm["asal"] < 0.1 and table.final_p_holm["random"] > 0.5
    assert against_scorer(final, scorer.iloc[:0]).empty


def test_the_labels_test_counts_a_run_that_never_closes_the_gap_after_every_one_that_does():
    """Six seeds: ASAL closes half the gap at 11 labels, Random never within 13: a run
    that never does counts at 14, so every pair favours ASAL and the test finds it."""
    curves = {}
    for s in range(6):
        curves[("c", "asal", s)] = [0.80, 0.86, 0.87, 0.88]
        curves[("c", "random", s)] = [0.80, 0.80, 0.81, 0.82]
    scorer = pd.DataFrame({"category": ["c"] * 6, "scorer_seed": range(6),
                           "test_image_auroc": 0.8})
    ceiling = pd.DataFrame({"category": ["c"], "seed": [0], "auroc": 0.9})
    table = marks_table(_runs(curves), scorer, ceiling, [10, 13]).set_index("init")
    assert table.labels_to_half_gap["asal"] == 11
    assert np.isnan(table.labels_to_half_gap["random"])     # past the budget
    assert table.labels_wilcoxon_p["asal"] < 0.05


def test_the_query_labels_pair_each_start_s_runs_and_count_those_that_never_close_the_gap():
    """Scorer 0.80, ceiling 0.90: half the gap is 0.85. From ASAL's start, least
    confidence closes it at 11 labels on six seeds and random queries at 13 on five and
    never on the sixth: medians 11 and 13, a ratio of 11/13, and the paired test sees
    six pairs, the sixth counted at 14. At the 10 % share random queries never do: no
    median, no ratio."""
    first = _runs({**{("c", "asal", s): [0.80, 0.86, 0.87, 0.88] for s in range(6)},
                   **{("c_10pct", "asal", s): [0.80, 0.86, 0.87, 0.88] for s in range(6)}})
    other = _runs({**{("c", "asal", s): [0.80, 0.81, 0.82, 0.86 if s < 5 else 0.84]
                      for s in range(6)},
                   **{("c_10pct", "asal", s): [0.80, 0.80, 0.80, 0.80] for s in range(6)}})
    scorer = pd.DataFrame({"category": ["c", "c_10pct"], "scorer_seed": [0, 0],
                           "test_image_auroc": 0.8})
    ceiling = pd.DataFrame({"category": ["c", "c_10pct"], "seed": [0, 0], "auroc": 0.9})
    table = query_labels_table({"least_confidence": first, "random": other},
                               "least_confidence", scorer, ceiling).set_index("share")
    row = table.loc["natural"]
    assert (row.init, row.labels_least_confidence, row.labels_random) == ("asal", 11, 13)
    assert np.isclose(row.labels_ratio, 11 / 13)
    assert (row.runs_closing, row.runs_closing_against) == ("6 of 6", "5 of 6")
    assert row.labels_wilcoxon_p < 0.05              # every pair favours least confidence
    low = table.loc["10 %"]
    assert np.isnan(low.labels_random) and np.isnan(low.labels_ratio)
    assert low.runs_closing_against == "0 of 6" and low.labels_wilcoxon_p < 0.05
