"""The decision threshold of the good/defect classifier, from the pool and its labels,
never from a test split.

A run's labeled set is chosen by its images (anomaly scores, features, the classifier's
own uncertainty), never by their labels. So a classifier fitted on it without class
weights estimates p(defect | image) for the whole pool, while the labeled set's own defect
share can be far from the pool's: an init that takes the top-scored images holds 90 %
defects from a pool of 5 %. A threshold placed on the labeled images (the best balanced
accuracy among them) inherits that share; on the validation parts of the four ELPV pools
it gave a lower balanced accuracy than the rule below on each.

The rule: balanced accuracy is highest where the likelihood ratio of the two classes is 1,
which is where p(defect | image) equals the pool's defect share; that share is estimated
as the mean over the pool of the labels where known and p(defect) elsewhere (the share the
classifier implies for the pool). A labeled set of one class still gives a share (its
smoothed share enters through p(defect)).
"""

from __future__ import annotations

import numpy as np

RULE = ("p_defect at or above the pool's estimated defect share (the mean over the pool "
        "of its labels where known and p_defect elsewhere): the likelihood ratio 1 that "
        "maximises balanced accuracy; never chosen on a test split")


def pool_share_threshold(p_pool, labeled: list[int], labels) -> tuple[float, str]:
    """(threshold, the rule that chose it) from the classifier's p(defect) of every pool
    image and the labels of those at the positions `labeled`."""
    p = np.array(p_pool, dtype=np.float64)
    p[np.asarray(labeled, dtype=int)] = np.asarray(labels, dtype=np.float64)
    return float(p.mean()), RULE


def balanced_accuracy_at(p, y, threshold: float) -> float:
    """Balanced accuracy of `p >= threshold` against labels y (both classes present)."""
    p, y = np.asarray(p), np.asarray(y)
    flagged = p >= threshold
    return float(((flagged & (y == 1)).sum() / (y == 1).sum()
                  + (~flagged & (y == 0)).sum() / (y == 0).sum()) / 2)


BALANCED_RULE = ("p_defect at or above 0.5: a class-balanced fit's likelihood ratio 1, which "
                 "maximises balanced accuracy; never chosen on a test split")
