"""The captions of 04's tables: what each holds, and over what (written into every CSV,
Markdown and LaTeX file, and shown above each table in the notebook)."""


def table_captions(share: float) -> dict[str, str]:
    """One caption per table: what it holds, over what."""
    return {
        "comparison_auroc": "Test AUROC after the last cycle (mean, std over seeds) and "
                            "DRAEM's own test image AUROC",
        "comparison_accuracy": "Test accuracy after the last cycle (mean, std over seeds)",
        "comparison_balanced_accuracy": "Test balanced accuracy after the last cycle",
        "aubc_auroc": "Area under the budget curve of the test AUROC, normalised to [0, 1]",
        "paired_asal_vs_random": "ASAL against Random, paired over categories and seeds "
                                 "(tie: |difference| <= 0.001; Wilcoxon signed-rank)",
        "inits_vs_random": "Every initial selection against Random, paired over categories "
                           "and seeds: final test AUROC and AUBC (mean, std), defects in the "
                           "initial set, wins / losses, Wilcoxon p and Holm-corrected p",
        "initial_anomalies": "Defects in the initial labeled set (cycle 0) over seeds",
        "pretext_representation": "Stage 00's pretext networks before any active learning: "
                                  "test AUROC of a linear probe and of a 5-NN vote on their "
                                  "pool features, against the same network untrained",
        "learning": "What the loop learned from its labels, per init over categories and "
                    "seeds: test AUROC and balanced accuracy at the first and the last cycle, "
                    "the gain (mean, std), the labeled set's loss at the last cycle's end",
        "ceiling": "The supervised ceiling: the same network and recipe trained on every "
                   "pool label (test AUROC, mean and std over seeds)",
        "labels_saved": f"Labels each init needs to reach {share:.0%} of the ceiling's "
                        "test AUROC, over every cycle of the runs (median over the runs "
                        "that reach it)",
        "query_effect": "The active part: the first query against each other one, from the "
                        "same initial sets, paired over categories and seeds (Wilcoxon, "
                        "Holm over the inits)",
    }
