"""04's tables of what the labels bought, on runs whose numbers the test sets."""

import numpy as np
import pandas as pd

from asal.stages.learning_tables import labels_saved_table, learning_table, query_effect_table


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
