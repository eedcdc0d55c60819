"""The evidence head (asal/models/anchored_head.py): anchored at the scorer, its prior on
the features chosen by the labels, so it ranks as the scorer with few labels and learns
from the features with many; and the evidence scale it reads (asal/models/evidence_ranks.py)."""

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from asal.models import anchored_head
from asal.models.anchored_head import BIAS_VAR, AnchoredHead, NoConvergence
from asal.models.evidence_ranks import normal_scores

PRIOR = dict(beta_prior=2.0, beta_var=0.1, tau_scale=0.5)      # the profiles' values


def pool(n=600, d=32, seed=0, score_signal=0.0, feature_signal=1.5):
    """Labels (15 % defects), a score and features: each carries `*_signal` standard
    deviations between the classes (the features along 4 of d dimensions)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(int)
    score = y * score_signal + rng.normal(size=n)
    x = rng.normal(size=(n, d))
    x[:, :4] += feature_signal * y[:, None]
    return x, normal_scores(score), y


def labeled_draw(y, m, seed):
    """m positions drawn at random, with both classes."""
    rng = np.random.default_rng(seed)
    while True:
        idx = rng.choice(len(y), m, replace=False)
        if 0 < y[idx].sum() < m:
            return idx


def test_normal_scores_are_rank_based_and_order_free():
    s = np.array([3.0, -1.0, 7.0, 3.0, 0.5])
    z = normal_scores(s)
    assert np.array_equal(np.argsort(z, kind="stable"), np.argsort(s, kind="stable"))
    assert z[0] == z[3]                             # ties share their rank
    perm = np.array([4, 2, 0, 1, 3])
    assert np.array_equal(normal_scores(s[perm]), z[perm])
    beyond = normal_scores(s, np.array([-1e9, 1e9]))     # other images, past the pool's range
    assert beyond[0] < z.min() and beyond[1] > z.max() and np.isfinite(beyond).all()
    between = normal_scores(s, np.array([0.6, 0.7, 2.9]))   # apart where the scores are
    assert between[0] < between[1] < between[2] < z[0]


def test_features_that_separate_teach_it_from_10_to_100_labels():
    """At one fixed prior: the scorer is noise and the features separate the classes; the
    head rises by at least 0.1 of AUROC from 10 to 100 labels (averaged over 4 draws). A
    head whose prior kept it at the scorer (tau fixed at 0) stays at chance and fails."""
    x, z, y = pool(score_signal=0.0, feature_signal=1.5)

    def auroc(m, taus=anchored_head.TAU_GRID):
        values = []
        for draw in range(4):
            idx = labeled_draw(y, m, draw)
            head = AnchoredHead(x, **PRIOR, taus=taus)
            head.fit(x[idx], z[idx], y[idx])
            values.append(roc_auc_score(y, head.decision(x, z)))
        return np.mean(values)

    assert auroc(100) - auroc(10) >= 0.1
    assert auroc(100, taus=(0.0,)) - auroc(10, taus=(0.0,)) < 0.05     # pinned: no rise


def test_with_noise_features_ten_labels_keep_the_scorers_ranking():
    """The scorer is right and the features are noise: at 10 labels the head is not below
    the scorer - 0.01 (every draw)."""
    x, z, y = pool(score_signal=2.0, feature_signal=0.0)
    scorer = roc_auc_score(y, z)
    for draw in range(5):
        idx = labeled_draw(y, 10, draw)
        head = AnchoredHead(x, **PRIOR)
        head.fit(x[idx], z[idx], y[idx])
        assert roc_auc_score(y, head.decision(x, z)) >= scorer - 0.01


def test_the_prior_widens_as_labels_accumulate():
    x, z, y = pool(score_signal=1.0, feature_signal=1.0)
    taus = []
    for m in (10, 40, 400):
        head = AnchoredHead(x, **PRIOR)
        head.fit(x[:m], z[:m], y[:m])
        taus.append(head.tau)
    assert taus[0] < taus[-1] and taus == sorted(taus)


def test_one_class_keeps_the_scorers_ranking_and_the_smoothed_share():
    x, z, _ = pool()
    head = AnchoredHead(x, **PRIOR)
    head.fit(x[:10], z[:10], np.zeros(10, dtype=int))
    assert head.beta == 2.0 and not head.w.any()
    assert head.decision(x[:10], z[:10]).mean() == pytest.approx(np.log(1 / 11), rel=1e-9)
    assert np.array_equal(np.argsort(head.decision(x, z)), np.argsort(z))


def test_the_fit_is_the_posterior_mode_of_the_chosen_prior():
    """The gradient of the penalised log-likelihood, with tau the fit chose, is zero."""
    x, z, y = pool(seed=1, score_signal=1.0)
    head = AnchoredHead(x, **PRIOR)
    head.fit(x[:80], z[:80], y[:80])
    assert head.tau > 0 and head.beta != 2.0 and np.abs(head.w).max() > 1e-3
    xs, t = head.scaled(x[:80]), head.decision(x[:80], z[:80])
    g = expit(t) - y[:80]
    d = x.shape[1]
    assert abs(g.sum() + head.b / BIAS_VAR) < 1e-6
    assert abs(g @ z[:80] + (head.beta - 2.0) / 0.1) < 1e-6
    assert np.abs(xs.T @ g + head.w * d / head.tau ** 2).max() < 1e-6


def test_the_chosen_prior_has_the_highest_penalised_evidence():
    x, z, y = pool(seed=2, score_signal=1.0)
    head = AnchoredHead(x, **PRIOR)
    head.fit(x[:60], z[:60], y[:60])
    best = max(head.evidence_by_tau, key=head.evidence_by_tau.get)
    assert head.tau == best and len(head.evidence_by_tau) == len(anchored_head.TAU_GRID)


def test_the_anchor_is_left_only_for_the_bayes_factor_it_asks():
    """anchor_bf: the features join only where the chosen tau's evidence beats tau 0 by
    that Bayes factor; just below it the head keeps the scorer's ranking, just above it
    fits as the head without the guard."""
    x, z, y = pool(seed=2, score_signal=1.0)
    free = AnchoredHead(x, **PRIOR)
    free.fit(x[:60], z[:60], y[:60])
    gain = max(free.evidence_by_tau.values()) - free.evidence_by_tau[0.0]
    assert free.tau > 0 and gain > 0.1
    kept = AnchoredHead(x, **PRIOR, anchor_bf=np.exp(gain + 0.01))
    kept.fit(x[:60], z[:60], y[:60])
    assert kept.tau == 0.0 and not kept.w.any() and kept.rule == "evidence"
    assert np.array_equal(np.argsort(kept.decision(x, z)), np.argsort(z))
    left = AnchoredHead(x, **PRIOR, anchor_bf=np.exp(gain - 0.01))
    left.fit(x[:60], z[:60], y[:60])
    assert left.tau == free.tau and np.array_equal(left.w, free.w)


def test_a_fit_that_does_not_converge_is_an_error(monkeypatch):
    x, z, y = pool(seed=3, score_signal=1.0)
    monkeypatch.setattr(anchored_head, "NEWTON_STEPS", 1)
    with pytest.raises(NoConvergence):
        AnchoredHead(x, **PRIOR).fit(x[:60], z[:60], y[:60])


def test_order_of_the_labeled_set_does_not_matter():
    x, z, y = pool(seed=4, score_signal=1.0)
    a, b = AnchoredHead(x, **PRIOR), AnchoredHead(x, **PRIOR)
    perm = np.random.default_rng(0).permutation(50)
    a.fit(x[:50], z[:50], y[:50])
    b.fit(x[:50][perm], z[:50][perm], y[:50][perm])
    assert a.tau == b.tau
    assert np.abs(a.decision(x, z) - b.decision(x, z)).max() < 1e-8


def test_cross_validation_takes_over_only_from_cv_from_labels_of_each_class():
    """Below cv_from labels of either class tau is the evidence's; from there on it is the
    grid's tau with the best held-out AUROC, and the fit is the mode at that tau."""
    x, z, y = pool(seed=5, score_signal=1.0, feature_signal=1.0)
    idx = labeled_draw(y, 120, 0)
    few = min(y[idx].sum(), len(idx) - y[idx].sum())
    below = AnchoredHead(x, **PRIOR, cv_from=few + 1)
    below.fit(x[idx], z[idx], y[idx])
    assert below.rule == "evidence" and not below.cv_auroc_by_tau
    head = AnchoredHead(x, **PRIOR, cv_from=few)
    head.fit(x[idx], z[idx], y[idx])
    best = max(head.cv_auroc_by_tau.values())
    assert head.rule == "cross-validation" and not head.evidence_by_tau
    assert head.tau == min(t for t, a in head.cv_auroc_by_tau.items() if a == best)
    assert max(head.cv_auroc_by_tau) == anchored_head.CV_TAU_MAX
    at_tau = AnchoredHead(x, **PRIOR, taus=(head.tau,))
    at_tau.fit(x[idx], z[idx], y[idx])
    assert np.abs(at_tau.decision(x, z) - head.decision(x, z)).max() < 1e-8


def test_cross_validation_beats_the_evidence_where_the_features_rank_better():
    """Features that separate, a weak scorer, 150 labels: the held-out ranking widens the
    prior past the evidence's choice and ranks the pool better (mean of 3 draws); a head
    that ignored the held-out AUROC (tau from the evidence) does not."""
    x, z, y = pool(n=1500, d=256, seed=6, score_signal=1.0, feature_signal=0.6)
    gains = []
    for draw in range(3):
        idx = labeled_draw(y, 150, draw)
        heads = {k: AnchoredHead(x, **PRIOR, cv_from=k) for k in (None, 10)}
        for head in heads.values():
            head.fit(x[idx], z[idx], y[idx])
        assert heads[10].tau > heads[None].tau
        gains.append(roc_auc_score(y, heads[10].decision(x, z))
                     - roc_auc_score(y, heads[None].decision(x, z)))
    assert np.mean(gains) > 0.01


def test_cross_validation_leaves_the_anchor_only_by_the_standard_errors_it_asks():
    """cv_se: from cv_from on, the features join only where the chosen tau's held-out gain
    over tau 0, fold by fold, is above cv_se standard errors; just above that gain the head
    keeps the scorer's ranking, just below it fits as the head without the guard."""
    x, z, y = pool(n=1500, d=256, seed=6, score_signal=1.0, feature_signal=0.6)
    idx = labeled_draw(y, 150, 0)
    free = AnchoredHead(x, **PRIOR, cv_from=10)
    free.fit(x[idx], z[idx], y[idx])
    gain = free.cv_gain_in_se
    assert free.tau > 0 and 0 < gain < np.inf
    kept = AnchoredHead(x, **PRIOR, cv_from=10, cv_se=gain + 0.01)
    kept.fit(x[idx], z[idx], y[idx])
    assert kept.tau == 0.0 and not kept.w.any() and kept.rule == "cross-validation"
    assert np.array_equal(np.argsort(kept.decision(x, z)), np.argsort(z))
    left = AnchoredHead(x, **PRIOR, cv_from=10, cv_se=gain - 0.01)
    left.fit(x[idx], z[idx], y[idx])
    assert left.tau == free.tau and np.array_equal(left.w, free.w)


def test_cross_validations_folds_do_not_depend_on_the_labeled_sets_order():
    x, z, y = pool(seed=7, score_signal=1.0)
    idx = labeled_draw(y, 150, 1)
    perm = np.random.default_rng(0).permutation(len(idx))
    a, b = AnchoredHead(x, **PRIOR, cv_from=5), AnchoredHead(x, **PRIOR, cv_from=5)
    a.fit(x[idx], z[idx], y[idx])
    b.fit(x[idx][perm], z[idx][perm], y[idx][perm])
    assert a.rule == "cross-validation" and a.cv_auroc_by_tau == b.cv_auroc_by_tau
    assert np.abs(a.decision(x, z) - b.decision(x, z)).max() < 1e-8
