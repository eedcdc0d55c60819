"""04's closing sentences are built from the tables' numbers, so they change with them."""

import pandas as pd

from asal.stages.findings import against_random, at_marks, findings, learning, run_summary


def _vs(p_holm, diff):
    return pd.DataFrame({"init": ["asal", "random", "top"],
                         "final_mean_difference": [diff, 0.0, -0.2],
                         "final_p_holm": [p_holm, 1.0, 0.03],
                         "aubc_mean_difference": [0.01, 0.0, 0.01],
                         "aubc_p_holm": [0.9, 1.0, 0.8],
                         "initial_defects_mean": [3.0, 1.5, 9.0]})


def test_a_difference_is_named_only_where_holm_says_so():
    text = against_random(_vs(0.8, 0.01), "final", "Test AUROC")
    assert text == ("Test AUROC: `top` is worse (-0.200, Holm p = 0.03); no other initial "
                    "selection differs from Random (the lowest Holm-corrected p is 0.80).")
    # below Random but not significantly: no difference, as above it
    text = against_random(_vs(0.8, -0.01).assign(final_p_holm=[0.8, 1.0, 0.9]), "final",
                          "Test AUROC")
    assert text == ("Test AUROC: no difference between any initial selection and Random "
                    "(the lowest Holm-corrected p is 0.80).")
    text = against_random(_vs(0.004, 0.05), "final", "Test AUROC")
    assert "`asal` beats Random (+0.050, Holm p < 0.01)" in text
    text = against_random(_vs(float("nan"), 0.05), "final", "Test AUROC")
    assert "(Holm-corrected p not defined: fewer than two pairs differ)" in text
    assert "nan" not in text


def test_the_sentences_follow_the_tables():
    comparison = pd.DataFrame({"category": ["a", "mean"], "asal_mean": [0.7, 0.7],
                               "asal_std": [0.02, None], "random_mean": [0.6, 0.6],
                               "random_std": [0.02, None], "ensemble_mixed": [0.9, 0.9]})
    learned = pd.DataFrame({"init": ["asal", "random"], "gain_mean": [0.02, 0.06],
                            "runs": [5, 5]})
    paired = pd.DataFrame({"init": ["asal", "random"], "final_p_holm": [0.004, 0.5]})
    said = findings({"inits_vs_random": _vs(0.8, 0.01), "comparison_auroc": comparison,
                     "learning": learned, "against_scorer": paired}, budget=19,
                    scorer="ensemble")
    assert said[0].startswith("Test AUROC at 19 labels:")
    assert any("The best classifier at 19 labels (`asal`, 0.700) against the test AUROC "
               "of ensemble, the scorer that ranked the pool, with no label (0.900): -0.200, "
               "a difference (Holm-corrected p < 0.01)" in s for s in said)
    close = comparison.assign(ensemble_mixed=0.705)     # the paired test finds none
    said = findings({"inits_vs_random": _vs(0.8, 0.01), "comparison_auroc": close,
                     "learning": learned, "against_scorer": paired.assign(final_p_holm=0.6)},
                    budget=19, scorer="ensemble")
    assert any("(0.705): -0.005, no difference (Holm-corrected p = 0.60)" in s for s in said)
    assert any("ASAL's initial set holds 3.0 defects on average, Random's 1.5" in s
               for s in said)
    assert "+0.040 on average over the 10 runs" in learning(learned)


def test_03s_line_on_its_cycle_table():
    cycles = pd.DataFrame({"n_labels": [10, 11, 12], "n_anomalies": [2, 3, 3],
                           "auroc": [0.6, 0.8, 0.7], "balanced_accuracy": [0.5, 0.6, 0.6]})
    line = run_summary(cycles)
    assert "from 10 to 12 images (2 to 3 defects)" in line
    assert "from 0.60 to 0.70 (highest 0.80, at 11 labels)" in line


def test_the_answer_at_marks_names_the_best_init_and_the_labels_to_half_the_gap():
    table = pd.DataFrame({"share": ["5 %", "5 %"], "init": ["top", "random"],
                          "auroc_10": [0.80, 0.78], "auroc_200": [0.86, 0.84],
                          "balanced_accuracy_10": [0.6, 0.55],
                          "balanced_accuracy_200": [0.75, 0.7],
                          "gain_over_scorer": [0.04, 0.02], "labels_to_half_gap": [50, 100],
                          "runs_closing_half_gap": ["5 of 5", "4 of 5"],
                          "labels_ratio_to_random": [0.5, 1.0]})
    line = at_marks(table)[0]
    assert line.startswith("At the 5 % share of defects, with the most labels: `top`, test "
                           "AUROC 0.800 at 10 labels and 0.860 at 200 (+0.040 over the scorer)")
    assert "`top` needs 50 labels (median; 0.50 times Random's; runs that do: 5 of 5)" in line
    none = table.assign(labels_to_half_gap=float("nan"), labels_ratio_to_random=float("nan"),
                        runs_closing_half_gap="0 of 5")
    assert at_marks(none)[0].endswith("Within 200 labels, no init closes half the gap from "
                                      "the scorer to the ceiling in more than half its runs.")
    no_gap = none.assign(runs_closing_half_gap="0 of 0")
    assert at_marks(no_gap)[0].endswith("there is no gap to close.")
    # Random's median past the budget: no ratio, said so; only Random: named alone
    slow = table.assign(labels_to_half_gap=[50, float("nan")],
                        labels_ratio_to_random=float("nan"), labels_p_holm=[0.02, float("nan")])
    assert "`top` needs 50 labels (median; Random does not in more than half its runs, " \
        "a difference (Holm-corrected p = 0.02); runs that do: 5 of 5)" in at_marks(slow)[0]
    alone = table.assign(labels_to_half_gap=[float("nan"), 100],
                         labels_ratio_to_random=float("nan"))
    assert at_marks(alone)[0].endswith("Random needs 100 labels (median); no other init does "
                                       "in more than half its runs.")


def test_a_share_line_says_no_difference_unless_holm_finds_one():
    from asal.stages.findings import per_share

    def table(p_holm):
        return pd.DataFrame({"share": ["5 %", "5 %"], "init": ["asal", "random"],
                             "initial_defects_mean": [2.0, 0.5],
                             "runs_without_defect": [0.0, 0.6],
                             "final_auroc_mean": [0.81, 0.80],
                             "final_p_holm": [p_holm, float("nan")]})
    assert "`asal` 0.810, Random 0.800: no difference (Holm-corrected p = 0.44)." in \
        per_share(table(0.44), "at 200 labels")[0]
    assert "`asal` 0.810, Random 0.800: a difference (Holm-corrected p < 0.01)." in \
        per_share(table(0.001), "at 200 labels")[0]


def test_the_query_sentence_names_each_start_and_its_verdict():
    from asal.stages.findings import query_effect

    table = pd.DataFrame({"init": ["asal", "random"], "query": ["least_confidence"] * 2,
                          "against": ["random"] * 2, "final_pairs": [30, 30],
                          "final_wins": [22, 15], "final_losses": [7, 14],
                          "final_mean_difference": [0.012, 0.001],
                          "final_p_holm": [0.03, 0.9]})
    said = query_effect(table, "at 200 labels")
    assert said.startswith("Test AUROC at 200 labels, least confidence queries against "
                           "random ones: from `asal`'s start +0.012 (22 wins, 7 losses of 30 "
                           "pairs; a difference (Holm-corrected p = 0.03))")
    assert "from `random`'s start +0.001 (15 wins, 14 losses of 30 pairs; no difference" \
        in said


def test_the_query_labels_sentence_says_each_query_s_labels_or_that_it_never_gets_there():
    from asal.stages.findings import query_labels

    table = pd.DataFrame({"share": ["5 %", "5 %"], "init": ["asal", "random"],
                          "query": ["least_confidence"] * 2, "against": ["random"] * 2,
                          "labels_least_confidence": [55.0, 48.0],
                          "labels_random": [35.0, float("nan")],
                          "labels_ratio": [55 / 35, float("nan")],
                          "labels_p_holm": [0.5, 0.004]})
    said = query_labels(table)
    assert len(said) == 1 and said[0].startswith("At the 5 % share of defects, the labels")
    assert ("from `asal`'s start, least confidence 55 labels and random 35 labels (ratio "
            "1.57, no difference (Holm-corrected p = 0.50))") in said[0]
    assert ("from `random`'s start, least confidence 48 labels and random never in half "
            "its runs or more (a difference (Holm-corrected p < 0.01))") in said[0]
