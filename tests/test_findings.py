"""04's closing sentences are built from the tables' numbers, so they change with them."""

import pandas as pd

from asal.stages.findings import against_random, findings, learning, run_summary


def _vs(p_holm, diff):
    return pd.DataFrame({"init": ["asal", "random", "top"],
                         "final_mean_difference": [diff, 0.0, -0.2],
                         "final_p_holm": [p_holm, 1.0, 0.03],
                         "aubc_mean_difference": [0.01, 0.0, 0.01],
                         "aubc_p_holm": [0.9, 1.0, 0.8],
                         "initial_defects_mean": [3.0, 1.5, 9.0]})


def test_a_difference_is_named_only_where_holm_says_so():
    text = against_random(_vs(0.8, 0.01), "final", "Test AUROC")
    assert "no initial selection beats Random (Holm p ≥ 0.80" in text
    assert "`top` is worse (-0.200, Holm p = 0.03)" in text
    text = against_random(_vs(0.004, 0.05), "final", "Test AUROC")
    assert "`asal` beats Random (+0.050, Holm p < 0.01)" in text


def test_the_sentences_follow_the_tables():
    comparison = pd.DataFrame({"category": ["a", "mean"], "asal_mean": [0.7, 0.7],
                               "random_mean": [0.6, 0.6], "ensemble_mixed": [0.9, 0.9]})
    learned = pd.DataFrame({"init": ["asal", "random"], "gain_mean": [0.02, 0.06],
                            "runs": [5, 5]})
    said = findings({"inits_vs_random": _vs(0.8, 0.01), "comparison_auroc": comparison,
                     "learning": learned}, budget=19, scorer="ensemble")
    assert said[0].startswith("Test AUROC at 19 labels:")
    assert any("The test AUROC of ensemble, the scorer that ranked the pool, with no label "
               "(0.900), is above" in s for s in said)
    assert any("ASAL's initial set holds 3.0 defects on average, Random's 1.5" in s
               for s in said)
    assert "+0.040 on average over the 10 runs" in learning(learned)


def test_03s_line_on_its_cycle_table():
    cycles = pd.DataFrame({"n_labels": [10, 11, 12], "n_anomalies": [2, 3, 3],
                           "auroc": [0.6, 0.8, 0.7], "balanced_accuracy": [0.5, 0.6, 0.6]})
    line = run_summary(cycles)
    assert "from 10 to 12 images (2 to 3 defects)" in line
    assert "from 0.60 to 0.70 (highest 0.80, at 11 labels)" in line
