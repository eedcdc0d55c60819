"""The head fitted to convergence (head: lbfgs): it learns from more labels, its labeled
loss is the optimum's, and its state on the unscaled features (head_logit, as the loop,
predict and the export compute it) gives the fitted model's probabilities."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from asal.models.frozen_features import head_logit
from asal.models.linear_head import LinearHead


def p_defect(head: LinearHead, x) -> np.ndarray:
    """p(defect) of features x from the head's state, as head_logit computes it."""
    return torch.sigmoid(head_logit(torch.from_numpy(x), head.head_state())).numpy()


def gaussian_classes(n: int, rng, d: int = 64, shift: float = 0.6):
    """Two classes whose means differ along 8 of d dimensions: a few labels estimate that
    direction poorly, more labels better."""
    y = (rng.random(n) < 0.3).astype(int)
    x = rng.normal(size=(n, d))
    x[:, :8] += shift * y[:, None]
    return x, y


def optimal(head: LinearHead, x, y) -> bool:
    """Whether the fit is the penalised optimum: the objective's gradient vanishes."""
    m = head.model
    assert np.array_equal(head.coef, m.coef_[0])
    z = head._scaled(x)
    weights = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
    p = 1 / (1 + np.exp(-(z @ m.coef_[0] + m.intercept_[0])))
    grad_w = m.coef_[0] + m.C * (weights * (p - y)) @ z
    grad_b = m.C * (weights * (p - y)).sum()
    return np.abs(grad_w).max() < 1e-4 and abs(grad_b) < 1e-4


def test_more_labels_give_a_better_head_and_every_fit_reaches_a_low_labeled_loss():
    rng = np.random.default_rng(0)
    pool_x, pool_y = gaussian_classes(2000, rng)
    test_x, test_y = gaussian_classes(2000, rng)
    aurocs = {n: [] for n in (10, 20, 40, 80, 160)}
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(len(pool_x))
        for n in aurocs:
            picked = order[:n]
            if pool_y[picked].min() == pool_y[picked].max():
                picked = np.concatenate([picked, np.flatnonzero(pool_y != pool_y[picked[0]])[:1]])
            head = LinearHead(pool_x, c=0.1, balanced=True)
            loss = head.fit(pool_x[picked], pool_y[picked])
            # below half of log 2, the loss of no head at all (w = 0); Adam's heads ended
            # between 0.28 and 0.75 on the synthetic profile's labeled sets
            assert loss < 0.5 * math.log(2), (seed, n, loss)
            assert optimal(head, pool_x[picked], pool_y[picked])
            aurocs[n].append(roc_auc_score(test_y, p_defect(head, test_x)))
    means = [np.mean(v) for v in aurocs.values()]
    assert all(b > a for a, b in zip(means, means[1:])), means    # the curve rises
    assert means[-1] - means[0] > 0.1


def test_the_state_on_unscaled_features_gives_the_fitted_models_probabilities():
    rng = np.random.default_rng(1)
    x, y = gaussian_classes(300, rng, d=512)
    head = LinearHead(x, c=1.0, balanced=False)
    head.fit(x[:40], y[:40])
    assert np.allclose(p_defect(head, x), head.model.predict_proba(head._scaled(x))[:, 1],
                       rtol=0, atol=1e-12)


def test_a_fit_that_cannot_converge_is_not_taken_silently(monkeypatch):
    from sklearn.exceptions import ConvergenceWarning

    import asal.models.linear_head as linear_head
    rng = np.random.default_rng(2)
    x, y = gaussian_classes(100, rng)
    monkeypatch.setattr(linear_head, "MAX_ITER", 1)
    with pytest.raises(ConvergenceWarning):
        LinearHead(x, c=100.0, balanced=False).fit(x, y)


def test_a_labeled_set_of_one_class_gives_a_flat_head_of_the_smoothed_share():
    rng = np.random.default_rng(3)
    x, _ = gaussian_classes(200, rng)
    head = LinearHead(x, c=1.0, balanced=True)
    loss = head.fit(x[:10], np.zeros(10, dtype=int))
    assert np.allclose(p_defect(head, x), 1 / 12) and loss == pytest.approx(-math.log(11 / 12))
