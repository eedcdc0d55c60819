"""The stopping rule (asal/models/stopping.py): its kappa is small-text's KappaAverage's,
and its guards hold on the tiny labeled sets the loop starts from."""

import numpy as np
import pytest

from asal.models.stopping import StoppingRule, kappa

small_text = pytest.importorskip("small_text.stopping_criteria")


def sequences():
    """Made-up prediction sequences over one stop set of 40 images, cycle after cycle: a
    classifier that settles, one that keeps flipping, one that predicts one class
    throughout, and one that starts with one class and then splits."""
    rng = np.random.default_rng(0)
    settle = [rng.integers(0, 2, 40)]
    for flips in (8, 4, 2, 1, 0, 0, 0):
        nxt = settle[-1].copy()
        nxt[rng.choice(40, flips, replace=False)] ^= 1
        settle.append(nxt)
    flipping = [rng.integers(0, 2, 40) for _ in range(8)]
    single = [np.zeros(40, dtype=int) for _ in range(8)]
    split = [np.zeros(40, dtype=int)] * 3 + [np.r_[np.zeros(30, int), np.ones(10, int)]] * 5
    return {"settle": settle, "flipping": flipping, "single": single, "split": split}


@pytest.mark.parametrize("name", ["settle", "flipping", "single", "split"])
@pytest.mark.parametrize("threshold", [0.99, 0.9])
def test_kappa_and_its_window_agree_with_small_text(name, threshold):
    theirs = small_text.KappaAverage(num_classes=2, window_size=3, kappa=threshold)
    rule = StoppingRule(threshold, window=3, min_defects=0)
    seq, kappas = sequences()[name], []
    for t, predictions in enumerate(seq):
        their_stop = theirs.stop(predictions=predictions)
        if t:
            kappas.append(kappa(seq[t - 1], predictions))
            assert kappas[-1] == pytest.approx(theirs.kappa_history[-1], abs=1e-12)
        mean, _, _ = rule.decide([float("nan")] + kappas, np.array([0, 1]), 20, 5)
        # small-text stops on the kappas alone; the rule's own guards aside, they agree
        assert (not np.isnan(mean) and mean >= threshold) == their_stop


def test_a_classifier_that_predicts_one_class_never_stops():
    rule = StoppingRule(0.99, window=3, min_defects=0)
    everything_good = np.zeros(40, dtype=int)
    mean, stop, why = rule.decide([float("nan"), 1.0, 1.0, 1.0], everything_good, 19, 3)
    assert mean == 1.0 and not stop and why == "one class predicted for the whole pool"


def test_the_other_guards_few_defects_and_the_budget():
    rule = StoppingRule(0.99, window=3, min_defects=2, max_labels=30)
    both = np.r_[np.zeros(30, int), np.ones(10, int)]
    assert rule.decide([1.0] * 4, both, 19, 1)[1:] == (False, "fewer than 2 labeled defects")
    assert rule.decide([1.0] * 4, both, 19, 2)[1:] == (True, "predictions stable")
    assert rule.decide([0.5] * 4, both, 19, 2)[1:] == (False, "predictions still changing")
    assert rule.decide([0.5] * 4, both, 30, 0)[1:] == (True, "label budget reached")
    assert rule.decide([1.0, 1.0], both, 19, 5)[1:] == (False, "fewer than 3 kappas")
