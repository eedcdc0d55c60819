"""The evidence head (head: evidence): it starts from the scorer's ranking and the labels
move it only as far as they outweigh its prior; through the loop, asking labels never
leaves the classifier below the scorer it started from."""

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from asal.config.layout import batches_dir
from asal.config.profiles import resolve
from asal.models.evidence_head import EvidenceHead, normal_scores
from asal.stages.active_learning.loop import run_active_learning
from asal.stages.batches import make_batches
from asal.stages.scores import run_scores

CAT = "synth_tiles"


def pool(n=400, d=32, seed=0):
    """Labels, a score that ranks them well (AUROC about 0.9) and features that carry a
    weaker signal along 4 of d dimensions."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(int)
    score = y * 1.8 + rng.normal(size=n)
    x = rng.normal(size=(n, d))
    x[:, :4] += 0.5 * y[:, None]
    return x, normal_scores(score), y


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


def test_one_class_keeps_the_scorers_ranking_and_the_smoothed_share():
    x, z, _ = pool()
    head = EvidenceHead(x, feature_c=0.001, score_c=0.1, beta_prior=2.0, balanced=True)
    head.fit(x[:10], z[:10], np.zeros(10, dtype=int))
    assert head.beta == 2.0 and not head.w.any()
    assert head.decision(x[:10], z[:10]).mean() == pytest.approx(np.log(1 / 11), rel=1e-9)
    assert roc_auc_score(np.arange(len(z)) % 2, head.decision(x, z)) == pytest.approx(
        roc_auc_score(np.arange(len(z)) % 2, z))


def test_few_labels_stay_near_the_scorer_and_many_let_the_features_in():
    x, z, y = pool()
    scorer = roc_auc_score(y, z)
    few = EvidenceHead(x, feature_c=0.001, score_c=0.1, beta_prior=2.0, balanced=True)
    few.fit(x[:12], z[:12], y[:12]) if len(set(y[:12])) == 2 else None
    assert roc_auc_score(y, few.decision(x, z)) >= scorer - 0.01
    many = EvidenceHead(x, feature_c=1.0, score_c=0.1, beta_prior=2.0, balanced=True)
    many.fit(x, z, y)
    assert roc_auc_score(y, many.decision(x, z)) > scorer + 0.02    # the features help
    assert np.abs(many.w).max() > 10 * np.abs(few.w).max()


def test_the_fit_is_the_penalised_optimum():
    x, z, y = pool(seed=1)
    head = EvidenceHead(x, feature_c=0.01, score_c=0.1, beta_prior=2.0, balanced=False)
    head.fit(x[:60], z[:60], y[:60])
    xs, t = head._scaled(x[:60]), head.decision(x[:60], z[:60])
    g = expit(t) - y[:60]
    assert abs(g.sum()) < 1e-4
    assert abs(g @ z[:60] + (head.beta - 2.0) / 0.1) < 1e-4
    assert np.abs(xs.T @ g + head.w / 0.01).max() < 1e-4
    assert head.beta != 2.0 and np.abs(head.w).max() > 1e-3       # the labels moved both


@pytest.fixture(scope="module")
def weak_features_run(synth_root, tmp_path_factory):
    """A category ranked by a weight-free scorer (pixels), and a loop whose body is an
    untrained network at 32 px: its features know little, the scores much."""
    runs = tmp_path_factory.mktemp("runs")

    def cfg(**kw):
        base = dict(category=CAT, data_root=str(synth_root), runs_root=str(runs),
                    image_size=32, cycles=1, device="cpu", pretrained="none",
                    freeze_body=True, head="evidence", evidence_prior=2.0, evidence_c=0.1,
                    head_c=0.0001, scorer="pixels", cpu_threads=1)
        return resolve(**{**base, **kw})

    scored = run_scores(cfg())
    make_batches(cfg())
    return cfg, scored.metrics["test_image_auroc"]


@pytest.mark.parametrize("init", ["asal", "random"])
def test_at_ten_labels_the_classifier_is_not_below_its_scorer(weak_features_run, init):
    """A head that ignores the scores (lbfgs, features only) falls well below them here."""
    cfg, scorer = weak_features_run
    assert scorer > 0.8
    result = run_active_learning(cfg(init=init), progress=False)
    assert result.cycles.auroc.iloc[0] >= scorer - 0.01
    blind = run_active_learning(cfg(init=init, head="lbfgs", exp="blind",
                                    batches_dir=str(batches_dir(cfg()))), progress=False)
    assert blind.cycles.auroc.iloc[0] < scorer - 0.05
