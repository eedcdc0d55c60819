"""The captions of 04's tables: what each holds, and over what (written into every CSV,
Markdown and LaTeX file, and shown above each table in the notebook)."""


# labels-to-reach medians (asal/stages/statistics.py: censored_median)
CENSORED = ("(medians over the runs, a run that never does counted past the budget: none "
            "where half the runs or more never do)")


# the captions that depend on no parameter
FIXED = {
    "aubc_auroc": "Area under the budget curve of the test AUROC, normalised to [0, 1]",
    "paired_asal_vs_random": "ASAL against Random, paired over categories and seeds "
                             "(tie: |difference| <= 0.001; Wilcoxon signed-rank)",
    "inits_vs_random": "Every initial selection against Random, paired over categories "
                       "and seeds: final test AUROC and AUBC (mean, std), defects in the "
                       "initial set, wins / losses, Wilcoxon p and Holm-corrected p",
    "initial_anomalies": "Defects in the initial labeled set (cycle 0) over seeds",
    "scorers": "The scorers on the pools: pool and test image AUROC (mean, std over the "
               "scorer seeds; pool labels read to measure only), defects in ASAL's "
               "initial set on each one's ranking (the seconds each took are in "
               "manifest.json); 'mean' "
               "averages the categories, its spreads pooled",
    "pretext_representation": "Stage 00's pretext networks before any active learning: "
                              "test AUROC of a linear probe and of a 5-NN vote on their "
                              "pool features, against the same network untrained",
    "ceiling": "The supervised ceiling: the same network and recipe trained on every "
               "pool label (test AUROC, mean and std over seeds); beside it, where "
               "recorded, its parts alone (means): a features-only logistic head on the "
               "same frozen features, its C cross-validated on the pool labels, and the "
               "scorer's own test AUROC",
    "labels_saved": "Labels each init needs to close half the gap from the scorer's "
                    "test AUROC to the ceiling's (the target), over every cycle of the "
                    f"runs {CENSORED}",
    "by_share": "Per defect share (its categories pooled) and init, over categories x "
                "seeds: defects in the initial set (mean) and the share of runs "
                "without one; test AUROC at the budget and AUBC (mean), each against "
                "Random (mean difference, Wilcoxon p, Holm over the inits of the "
                "share)",
    "at_marks": "Per defect share (its categories pooled) and init, over categories x "
                "seeds, the first query's runs: test AUROC and balanced accuracy (at the "
                "run's own threshold) at each labeled-set size; the gain over the "
                "scorer's own test AUROC at the largest (mean; Wilcoxon p against "
                "Random, Holm over the inits of the share); the labels to close half "
                "the gap from the scorer to the ceiling, their ratio to Random's and "
                "Wilcoxon p against Random's (paired; a run that never does counted at "
                "its most labels + 1; Holm over the inits of the share), "
                f"and to come within 0.02 of the ceiling {CENSORED}",
    "query_effect": "The active part: the first query against each other one, from the "
                    "same initial sets, paired over categories and seeds (Wilcoxon, "
                    "Holm over the inits)",
    "query_labels": "The active part in labels: per defect share (its categories pooled) "
                    "and init, the labels the first query and each other one need to "
                    "close half the gap from the scorer to the ceiling, from the same "
                    "initial sets, over every cycle of the runs; their ratio, and the "
                    "paired Wilcoxon p of the labels (a run that never does counted at "
                    f"its most labels + 1; Holm over the inits of the share) {CENSORED}",
}


def table_captions(scorer: str, rule: str = "",
                   budget: int | None = None) -> dict[str, str]:
    """One caption per table: what it holds, over what; the final numbers are read at the
    budget's labels where the profile sets one, else after the last cycle."""
    at = f"at {budget} labels" if budget else "after the last cycle"
    return {
        "comparison_auroc": f"Test AUROC {at} (mean, std over seeds) and the "
                            f"own test image AUROC of {scorer}, the scorer that ranked the "
                            f"pool ({scorer}_mixed; draem_normal: DRAEM fitted on the good "
                            "images only)",
        "comparison_accuracy": f"Test accuracy {at} (mean, std over seeds)",
        "comparison_balanced_accuracy": f"Test balanced accuracy {at}",
        "against_scorer": f"Each init's test AUROC {at} against the test AUROC of {scorer}, "
                          "the scorer that ranked its pool, with no label: paired over "
                          "categories x seeds (the same seed's scorer where the seeds are "
                          "tied), Wilcoxon, Holm over the inits",
        "learning": "What the loop learned from its labels, per init over categories and "
                    f"seeds: test AUROC and balanced accuracy at the first cycle and {at}, "
                    "the gain (mean, std), the labeled set's loss at that cycle's end",
        "stopping": f"The stopping rule ({rule}) over every cycle of the first query's runs, "
                    "per category and init over the seeds: the runs whose rule stops, the "
                    "labels at the stop (median), the test AUROC there and at the run's end "
                    "(mean), the AUROC the stop costs (mean), the runs that stop within 0.02 "
                    "of their end, and the labels saved (median)",
        **FIXED,
    }
