"""The decision threshold of the good/defect classifier, chosen on labeled images only.

A run's test split is for reporting, so it never sets the threshold (a test swaps the
test labels and checks that the threshold stays). The rule, stated with every prediction:
the threshold on p(defect) that maximises balanced accuracy on the labeled set, among the
midpoints between neighbouring probabilities; ties go to the one nearest 0.5 (the
classifier's own argmax). On the labeled set the classifier was trained on, so this is an
in-sample choice: with 10 to 19 labels there is no validation part to spare.
"""

from __future__ import annotations

import numpy as np

RULE = ("the threshold on p_defect that maximises balanced accuracy on the run's labeled "
        "images (midpoints between their probabilities; ties nearest 0.5), never on a test "
        "split")
ONE_CLASS_RULE = "0.5 (the labeled images hold one class only, so they cannot place it)"


def labeled_threshold(p_defect, labels) -> tuple[float, str]:
    """(threshold, the rule that chose it) from the labeled images' p(defect) and labels."""
    p, y = np.asarray(p_defect, dtype=np.float64), np.asarray(labels)
    if len(np.unique(y)) < 2:
        return 0.5, ONE_CLASS_RULE
    values = np.unique(p)
    candidates = np.concatenate([[values[0] / 2], (values[1:] + values[:-1]) / 2,
                                 [(values[-1] + 1) / 2]])
    predicted = p[None, :] >= candidates[:, None]
    recall_defect = (predicted & (y == 1)).sum(1) / (y == 1).sum()
    recall_good = (~predicted & (y == 0)).sum(1) / (y == 0).sum()
    balanced = (recall_defect + recall_good) / 2
    best = np.flatnonzero(np.isclose(balanced, balanced.max(), rtol=0, atol=1e-12))
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]]), RULE
