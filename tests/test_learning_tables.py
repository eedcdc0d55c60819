"""04's tables of what the labels bought, on runs whose numbers the test sets."""

import numpy as np
import pandas as pd

from asal.stages.learning_tables import labels_saved_table, learning_table, query_effect_table
from asal.stages.mark_tables import marks_table


def _runs(curves: dict[tuple[str, str, int], list[float]]) -> pd.DataFrame:
    rows = []
    for (cat, init, seed), aurocs in curves.items():
        for cycle, auroc in enumerate(aurocs):
            rows.append({"category": cat, "init": init, "seed": seed, "cycle": cycle,
                         "n_labels": 10 + cycle, "auroc": auroc,
                         "balanced_accuracy": auroc - 0.1, "train_loss": 0.1})
    return pd.DataFrame(rows)


def test_labels_saved_counts_the_first_cycle_at_the_share_of_the_ceiling():
    cycles = _runs({("c", "asal", 0): [0.5, 0.7, 0.8, 0.9], ("c", "asal", 1): [0.6, 0.8, 0.9, 0.9],
                    ("c", "random", 0): [0.5, 0.5, 0.6, 0.7],
                    ("c", "random", 1): [0.5, 0.7, 0.81, 0.8]})
    ceiling = pd.DataFrame({"category": ["c", "c"], "seed": [0, 1], "auroc": [0.9, 0.9]})
    table = labels_saved_table(cycles, ceiling, 0.9).set_index("init")
    assert table.target_auroc["asal"] == 0.81
    # 0.9 >= 0.81 first at 13 labels (seed 0) and at 12 (seed 1)
    assert table.labels_median["asal"] == 12.5 and table.answer["asal"] == "12.5 labels (median)"
    assert table.runs_reaching["random"] == 1
    assert table.answer["random"] == "not within 13 labels in 1 of 2 runs"


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
    it at 12 labels, Random at 13 (seed 0) and never (seed 1); the natural share and the
    10 % share are told apart."""
    curves = {}
    for cat in ("c", "c_10pct"):
        curves.update({(cat, "asal", 0): [0.80, 0.82, 0.86, 0.88],
                       (cat, "asal", 1): [0.80, 0.84, 0.86, 0.87],
                       (cat, "random", 0): [0.80, 0.80, 0.84, 0.86],
                       (cat, "random", 1): [0.80, 0.81, 0.82, 0.83]})
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
    assert random.labels_to_half_gap == 13 and random.runs_closing_half_gap == "1 of 2"
    assert np.isclose(row.labels_ratio_to_random, 12 / 13)
    # within 0.02 of the ceiling (0.88): ASAL's seed 0 at 13 labels, its seed 1 never
    assert row["labels_to_ceiling_less_0.02"] == 13 and row["runs_within_0.02"] == "1 of 2"
