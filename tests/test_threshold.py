"""The decision threshold (asal/models/threshold.py): a labeled set drawn from the top of
the scores holds far more defects than the pool, and the pool-share rule corrects for it
where a threshold placed on the labeled images does not."""

import numpy as np
import pytest
from scipy.special import expit

from asal.models.anchored_head import AnchoredHead
from asal.models.evidence_ranks import normal_scores
from asal.models.threshold import balanced_accuracy_at, pool_share_threshold


def labeled_set_threshold(p, y) -> float:
    """The uncorrected rule: the best balanced accuracy among the labeled images
    themselves (midpoints between their probabilities)."""
    values = np.unique(p)
    candidates = (values[1:] + values[:-1]) / 2
    return max(candidates, key=lambda t: balanced_accuracy_at(p, y, t))


@pytest.mark.parametrize("seed", range(3))
def test_a_labeled_set_from_the_top_scores_gets_a_corrected_threshold(seed):
    """A pool of 2000 with 8 % defects, a score that separates them (2 standard deviations)
    and uninformative features; the labeled set is the 40 top-scored images (about 60 %
    defects). The pool-share threshold's balanced accuracy on the pool beats the one
    placed on the labeled images by at least 0.05 (it measured 0.20 to 0.28 on these
    seeds), and its estimate of the pool's share is nearer the truth than the labeled
    set's own share."""
    rng = np.random.default_rng(seed)
    n = 2000
    y = (rng.random(n) < 0.08).astype(int)
    z = normal_scores(2.0 * y + rng.normal(size=n))
    x = rng.normal(size=(n, 8))
    top = np.argsort(-z)[:40]
    assert y[top].mean() > 0.4
    head = AnchoredHead(x, beta_prior=2.0, beta_var=0.1, tau_scale=0.5)
    head.fit(x[top], z[top], y[top])
    p = expit(head.decision(x, z))
    corrected, _ = pool_share_threshold(p, top, y[top])
    uncorrected = labeled_set_threshold(p[top], y[top])
    assert abs(corrected - y.mean()) < abs(y[top].mean() - y.mean())
    assert balanced_accuracy_at(p, y, corrected) > balanced_accuracy_at(p, y, uncorrected) + 0.05


def test_the_pool_share_counts_known_labels_as_they_are():
    p = np.array([0.2, 0.2, 0.2, 0.2])
    assert pool_share_threshold(p, [0, 1], [1, 1])[0] == pytest.approx((1 + 1 + 0.4) / 4)
    assert pool_share_threshold(p, [], [])[0] == pytest.approx(0.2)
